import Foundation
import Sinks
import Testing

/// An AWS sink under throttling: its calls pause, growing while throttling goes on.
@Suite struct ThrottlePacingTests {
    let t0 = ContinuousClock.now

    @Test("a throttle pauses the next calls 0.5 s, doubling to 20 s; calls that pass halve it")
    func pacing() {
        var pacing = ThrottlePacing()
        #expect(pacing.wait(now: t0) == nil, "no pause before any throttle")
        pacing.record(throttled: true, now: t0)
        #expect(pacing.wait(now: t0) == .milliseconds(500))
        #expect(pacing.wait(now: t0 + .milliseconds(200)) == .milliseconds(300))
        #expect(pacing.wait(now: t0 + .seconds(1)) == nil, "the pause is over")
        pacing.record(throttled: true, now: t0)
        #expect(pacing.delay == .seconds(1))
        for _ in 0..<10 { pacing.record(throttled: true, now: t0) }
        #expect(pacing.delay == .seconds(20), "capped")
        pacing.record(throttled: false, now: t0)
        #expect(pacing.delay == .seconds(10))
        for _ in 0..<6 { pacing.record(throttled: false, now: t0) }
        #expect(pacing.delay == .zero, "below 0.5 s it is gone")
    }
}
