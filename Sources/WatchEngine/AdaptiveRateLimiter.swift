import Foundation

/// The client-side ceiling on API calls per second, which backs off when AWS throttles.
///
/// A token bucket of capacity one: calls are spaced at least `1 / rate` apart, so no one-second
/// window ever sees more than `max_rps` calls (a larger bucket would allow bursts of twice that).
/// The rate follows AIMD, as TCP does: halved on throttling (floor ``minimumRate``), and raised by
/// a twentieth of `max_rps` per successful call, so it recovers over a few dozen calls rather than
/// jumping straight back into the limit it just hit.
public struct AdaptiveRateLimiter: Sendable {
    /// The slowest the poller ever gets: one call every 10 s.
    public static let minimumRate = 0.1
    /// Throttle signals closer together than this are one congestion event (all the calls in flight
    /// at once tend to be throttled together), so they halve the rate once, not once per call.
    public static let decreaseHoldOff: Duration = .seconds(1)

    /// `max_rps`.
    public private(set) var maxRate: Double
    /// The rate in force now, between ``minimumRate`` and ``maxRate``.
    public private(set) var rate: Double
    private var nextAllowed: ContinuousClock.Instant?
    private var lastDecrease: ContinuousClock.Instant?

    public init(maxRate: Double) {
        let ceiling = Self.sanitized(maxRate)
        self.maxRate = ceiling
        self.rate = ceiling
    }

    /// When the next call may start (`now` if it may start at once).
    public func nextAvailable(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        guard let nextAllowed else { return now }
        return max(now, nextAllowed)
    }

    /// Takes the token if a call may start now.
    public mutating func tryAcquire(now: ContinuousClock.Instant) -> Bool {
        guard nextAvailable(now: now) <= now else { return false }
        nextAllowed = now + spacing
        return true
    }

    /// AWS answered with throttling: halve the rate and wait a full (new) spacing before the next call.
    public mutating func recordThrottle(now: ContinuousClock.Instant) {
        if let lastDecrease, now - lastDecrease < Self.decreaseHoldOff {
            // Same congestion event: already slowed down for it.
        } else {
            rate = max(min(Self.minimumRate, maxRate), rate / 2)
            lastDecrease = now
        }
        nextAllowed = max(nextAllowed ?? now, now + spacing)
    }

    /// A call went through: creep back towards `max_rps`.
    public mutating func recordSuccess() {
        rate = min(maxRate, rate + maxRate / 20)
    }

    /// A reload changed `max_rps`: a limiter running at full speed moves to the new ceiling, one
    /// that is backing off stays where it is (but never above the new ceiling).
    public mutating func updateMaxRate(_ newMax: Double) {
        let ceiling = Self.sanitized(newMax)
        rate = rate >= maxRate ? ceiling : min(rate, ceiling)
        maxRate = ceiling
    }

    private var spacing: Duration { .seconds(1 / rate) }

    private static func sanitized(_ rate: Double) -> Double {
        rate.isFinite && rate > 0 ? rate : minimumRate
    }
}
