import Foundation
import Support

/// How an AWS sink slows down while AWS throttles it (docs/delivery.md): after a throttled call
/// the sink's next calls wait, 0.5 s after the first throttle, doubling while throttling goes on,
/// at most 20 s; each call that is not throttled halves the wait. The throttled deliveries
/// themselves are retried with the usual backoff. Pure: the time is passed in.
package struct ThrottlePacing: Sendable, Equatable {
    package static let first: Duration = .milliseconds(500)
    package static let cap: Duration = .seconds(20)

    /// The pause after the last throttled call (zero: not throttled lately).
    package private(set) var delay: Duration = .zero
    /// Calls wait until this instant.
    package private(set) var resumeAt: ContinuousClock.Instant?

    package init() {}

    /// A call ended, throttled or not, at `now`.
    package mutating func record(throttled: Bool, now: ContinuousClock.Instant) {
        if throttled {
            delay = delay == .zero ? Self.first : min(delay * 2, Self.cap)
            resumeAt = now + delay
        } else {
            delay = delay / 2 < Self.first ? .zero : delay / 2
        }
    }

    /// How long a call starting at `now` waits first (`nil`: none).
    package func wait(now: ContinuousClock.Instant) -> Duration? {
        guard let resumeAt, resumeAt > now else { return nil }
        return resumeAt - now
    }
}

/// One sink's ``ThrottlePacing``, shared by its calls in flight.
package actor ThrottleGate {
    private var pacing = ThrottlePacing()

    package init() {}

    /// Waits out a throttling pause, if one is on (returns early when the task is cancelled).
    package func waitTurn() async {
        while let wait = pacing.wait(now: .now) {
            do { try await LoopSleep.sleep(for: wait) } catch { return }
        }
    }

    package func record(throttled: Bool) {
        pacing.record(throttled: throttled, now: .now)
    }
}
