import Foundation
import WatchConfig
import WatchModel

/// When orders are polled: the startup spread, jittered intervals and the terminal-order rule.
///
/// Kept apart from the ``Poller`` actor as plain functions so the arithmetic is tested exactly,
/// without clocks or sleeps.
public enum PollTiming {
    /// First polls after start are spread over `min(interval, startupWindow)`.
    ///
    /// Not over the whole interval: with `interval = "1h"` an operator restarting the daemon would
    /// otherwise wait up to an hour to see anything; 60 s is enough to keep 1000 orders from firing
    /// at once, and the rate limiter paces whatever the spread does not.
    public static let startupWindow: Duration = .seconds(60)

    /// Orders added by a reload or a discovery sweep start within this window.
    public static let addedWindow: Duration = .seconds(5)

    /// Offsets of the first polls of `count` orders: evenly spaced from 0 (the first order is polled
    /// at once) over `min(interval, startupWindow)`.
    public static func startupOffsets(count: Int, interval: Duration, window: Duration = startupWindow) -> [Duration] {
        guard count > 0 else { return [] }
        let span = min(interval, window)
        return (0..<count).map { span * (Double($0) / Double(count)) }
    }

    /// `interval` spread by a uniform ± `jitter` share, so orders polled together drift apart
    /// instead of hitting the API in lockstep forever.
    public static func jittered(_ interval: Duration, jitter: Double,
                                using rng: inout some RandomNumberGenerator) -> Duration {
        let spread = min(max(jitter, 0), 1)
        guard spread > 0 else { return interval }
        return interval * Double.random(in: (1 - spread)...(1 + spread), using: &rng)
    }

    /// The interval an order is polled at: `terminal_interval` once it is terminal (COMPLETED,
    /// CANCELLED), where `nil` ("off") means it is no longer polled; `interval` otherwise.
    public static func interval(for snapshot: OrderSnapshot?, poll: PollSettings) -> Duration? {
        interval(terminal: snapshot?.isTerminal ?? false, poll: poll)
    }

    /// The interval of an order that is (or is not) terminal.
    public static func interval(terminal: Bool, poll: PollSettings) -> Duration? {
        terminal ? poll.terminalInterval : poll.interval
    }
}
