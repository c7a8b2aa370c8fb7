import Foundation
import Support
import WatchStore

/// When a failed delivery is tried again, and what an attempt's outcome does to its row: the one
/// outcome policy of every sink and every command (docs/delivery.md).
///
/// Backoff is exponential with full jitter, capped: full jitter spreads the retries of many
/// deliveries that failed together (a receiver outage) instead of hammering the receiver in
/// lock-step when it comes back.
public struct RetryPolicy: Sendable, Equatable {
    /// The upper bound of the first retry's delay.
    public var base: Duration
    /// The largest delay between two attempts.
    public var cap: Duration

    public init(base: Duration = .seconds(2), cap: Duration = .seconds(3600)) {
        self.base = base
        self.cap = cap
    }

    /// 2 s growing to one hour.
    public static let standard = RetryPolicy()

    /// The delay after the `attempts`-th failed attempt: uniform in (0, min(cap, base·2^(attempts-1))],
    /// with a small floor so a retry is never immediate.
    public func delay(afterAttempts attempts: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let exponent = Double(min(max(attempts - 1, 0), 62))
        let ceiling = min(cap.seconds, base.seconds * pow(2, exponent))
        let floor = min(ceiling, base.seconds / 20)
        return .seconds(floor + (ceiling - floor) * random)
    }

    /// What the store records for an attempt that ended with `outcome`.
    ///
    /// A delivery pending for longer than its sink's `max_age` that fails again is given up (failed, the dead
    /// letter); a retry never lands after that deadline, so the last attempt happens at it. A 410
    /// fails this row (the state machine fails the sink's other rows), a permanent error fails it.
    public func result(of outcome: SinkOutcome, for delivery: Delivery, maxAge: Duration, now: Date) -> AttemptResult {
        switch outcome {
        case .delivered(let status):
            return .delivered(status: status)
        case .gone(let status, let error):
            return .failed(status: status, error: error)
        case .permanent(let status, let error):
            return .failed(status: status, error: error)
        case .retry(let status, let error, let retryAfter):
            // From pendingSince, not createdAt: a redelivered old event gets its full retry window.
            let deadline = delivery.pendingSince.addingTimeInterval(maxAge.seconds)
            if now >= deadline {
                return .failed(status: status, error: "\(error) (gave up: older than max_age \(maxAge.seconds.formattedSeconds))")
            }
            let delay = retryAfter ?? self.delay(afterAttempts: delivery.attempts + 1)
            return .retry(at: min(now.addingTimeInterval(delay.seconds), deadline), status: status, error: error)
        }
    }
}

extension Double {
    /// `2.5s`: how delays read in logs and errors.
    var formattedSeconds: String {
        self >= 10 ? "\(Int(self.rounded()))s" : String(format: "%.1fs", self)
    }
}
