import Support

/// The client-side ceiling on API calls per second, which backs off when AWS throttles.
///
/// A token bucket of capacity one: calls are spaced at least `1 / rate` apart, so no one-second
/// window ever sees more than `max_rps` calls (a larger bucket would allow bursts of twice that).
/// Every call takes a token, retries included (docs/service.md, throttling).
///
/// Above 500 calls per second (a spacing under ``catchUp``, shorter than a sleeping loop can
/// keep to: such a ceiling means "no pacing" in practice, AWS's own limits are a few calls per
/// second), the spacing is kept on the limiter's own timeline instead of from each grant: a
/// loop that wakes late takes every token that came due meanwhile in one go (at most
/// ``catchUp``'s worth, so a second holds at most that many calls over `max_rps`), and sleeps
/// until the next one it needs rather than once per token.
///
/// The rate follows AIMD, as TCP does, but from the rate actually observed: on throttling it is
/// halved from what the poller was really sending (the calls granted over the last
/// ``observationWindow``), not from `max_rps`, so a poller whose demand is far below its ceiling
/// slows down at the first throttle instead of after several halvings (with fewer than
/// ``minimumEvidence`` recent calls there is no rate to observe, and the rate in force is
/// halved). It then recovers additively, by a twentieth of `max_rps` per successful call, so a
/// throttled account climbs back over a few dozen calls rather than jumping back into the limit
/// it just hit.
package struct AdaptiveRateLimiter: Sendable {
    /// The slowest the poller ever gets: one call every 10 s.
    package static let minimumRate = 0.1
    /// Throttle signals closer together than this are one congestion event (all the calls in flight
    /// at once tend to be throttled together), so they halve the rate once, not once per call.
    package static let decreaseHoldOff: Duration = .seconds(1)
    /// The calls granted within this long before a throttle are the rate observed.
    package static let observationWindow: Duration = .seconds(10)
    /// Fewer calls than this in the window say nothing about a rate.
    package static let minimumEvidence = 4
    /// At spacings shorter than this, tokens that came due while the caller slept are granted
    /// together, up to this long's worth.
    package static let catchUp: Duration = .milliseconds(2)

    /// `max_rps`.
    package private(set) var maxRate: Double
    /// The rate in force now, between ``minimumRate`` and ``maxRate``.
    package private(set) var rate: Double
    private var nextAllowed: ContinuousClock.Instant?
    private var lastDecrease: ContinuousClock.Instant?
    /// The instants of recent grants, oldest first (at most ``maxObserved``).
    private var granted: [ContinuousClock.Instant] = []
    private static let maxObserved = 256

    package init(maxRate: Double) {
        let ceiling = Self.sanitized(maxRate)
        self.maxRate = ceiling
        self.rate = ceiling
    }

    /// When the next call may start (`now` if it may start at once).
    package func nextAvailable(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        guard let nextAllowed else { return now }
        return max(now, nextAllowed)
    }

    /// Takes the token if a call may start now.
    package mutating func tryAcquire(now: ContinuousClock.Instant) -> Bool {
        guard nextAvailable(now: now) <= now else { return false }
        let spacing = self.spacing
        if let nextAllowed, spacing < Self.catchUp {
            self.nextAllowed = max(nextAllowed, now - Self.catchUp) + spacing
        } else {
            nextAllowed = now + spacing
        }
        if granted.count == Self.maxObserved { granted.removeFirst(Self.maxObserved / 2) }
        granted.append(now)
        return true
    }

    /// Calls per second granted over the ``observationWindow`` before `now` (over at least 1 s,
    /// so a burst does not read as a huge rate); `nil` with fewer than ``minimumEvidence`` calls.
    package func observedRate(now: ContinuousClock.Instant) -> Double? {
        let since = now - Self.observationWindow
        guard let first = granted.firstIndex(where: { $0 >= since }),
              granted.count - first >= Self.minimumEvidence else { return nil }
        let span = max(1, (now - granted[first]).seconds)
        return Double(granted.count - first) / span
    }

    /// AWS answered with throttling: halve the rate observed (or in force, if lower) and wait a
    /// full (new) spacing before the next call.
    package mutating func recordThrottle(now: ContinuousClock.Instant) {
        if let lastDecrease, now - lastDecrease < Self.decreaseHoldOff {
            // Same congestion event: already slowed down for it.
        } else {
            let base = observedRate(now: now).map { min(rate, $0) } ?? rate
            rate = max(min(Self.minimumRate, maxRate), base / 2)
            lastDecrease = now
        }
        nextAllowed = max(nextAllowed ?? now, now + spacing)
    }

    /// A call went through: creep back towards `max_rps`.
    package mutating func recordSuccess() {
        rate = min(maxRate, rate + maxRate / 20)
    }

    /// A reload changed `max_rps`: a limiter running at full speed moves to the new ceiling, one
    /// that is backing off stays where it is (but never above the new ceiling).
    package mutating func updateMaxRate(_ newMax: Double) {
        let ceiling = Self.sanitized(newMax)
        rate = rate >= maxRate ? ceiling : min(rate, ceiling)
        maxRate = ceiling
    }

    private var spacing: Duration { .seconds(1 / rate) }

    private static func sanitized(_ rate: Double) -> Double {
        rate.isFinite && rate > 0 ? rate : minimumRate
    }
}
