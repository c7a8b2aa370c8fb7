import Foundation
import Testing
import WatchConfig
import WatchEngine
import WatchModel

/// A deterministic generator, so the jitter statistics below do not depend on luck.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct PollTimingTests {
    @Test func startupSpreadIsEvenAndStartsAtOnce() {
        let offsets = PollTiming.startupOffsets(count: 4, interval: .seconds(300))
        #expect(offsets == [.zero, .seconds(15), .seconds(30), .seconds(45)])
        // Short intervals spread over the interval itself.
        #expect(PollTiming.startupOffsets(count: 2, interval: .seconds(10)) == [.zero, .seconds(5)])
        #expect(PollTiming.startupOffsets(count: 0, interval: .seconds(10)).isEmpty)
    }

    @Test func thousandOrdersDoNotFireTogether() {
        let offsets = PollTiming.startupOffsets(count: 1000, interval: .seconds(300))
        #expect(offsets.count == 1000)
        #expect(offsets.last! < PollTiming.startupWindow)
        let gaps = zip(offsets.dropFirst(), offsets).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 >= .milliseconds(59) && $0 <= .milliseconds(61) })
    }

    @Test func jitterStaysWithinItsShareAndSpreads() {
        var rng = SplitMix64(state: 42)
        let delays = (0..<2000).map { _ in PollTiming.jittered(.seconds(100), jitter: 0.1, using: &rng) }
        #expect(delays.allSatisfy { $0 >= .seconds(90) && $0 <= .seconds(110) })
        #expect(delays.min()! < .seconds(91) && delays.max()! > .seconds(109))
        #expect(PollTiming.jittered(.seconds(100), jitter: 0, using: &rng) == .seconds(100))
    }

    @Test func terminalOrdersUseTheTerminalInterval() {
        let poll = PollSettings(interval: .seconds(300), terminalInterval: .seconds(21600))
        let off = PollSettings(interval: .seconds(300), terminalInterval: nil)
        for status in ["COMPLETED", "CANCELLED"] {
            let s = OrderSnapshot(orderId: "oo-0123456789abcdef0", status: status)
            #expect(PollTiming.interval(for: s, poll: poll) == .seconds(21600))
            #expect(PollTiming.interval(for: s, poll: off) == nil)
        }
        let open = OrderSnapshot(orderId: "oo-0123456789abcdef0", status: "IN_PROGRESS")
        #expect(PollTiming.interval(for: open, poll: off) == .seconds(300))
        #expect(PollTiming.interval(for: nil, poll: off) == .seconds(300))
    }
}

@Suite struct AdaptiveRateLimiterTests {
    let start = ContinuousClock.now

    @Test func spacesCallsAtOneOverTheRate() {
        var limiter = AdaptiveRateLimiter(maxRate: 5)
        let grants = [
            limiter.tryAcquire(now: start),
            limiter.tryAcquire(now: start + .milliseconds(199)),
        ]
        #expect(grants == [true, false])
        #expect(limiter.nextAvailable(now: start) == start + .milliseconds(200))
        // No burst credit accumulates while idle: at most one call at once, ever.
        let later = [
            limiter.tryAcquire(now: start + .milliseconds(200)),
            limiter.tryAcquire(now: start + .seconds(10)),
            limiter.tryAcquire(now: start + .seconds(10)),
        ]
        #expect(later == [true, true, false])
    }

    @Test func neverMoreThanMaxRPSInAnySecond() {
        var limiter = AdaptiveRateLimiter(maxRate: 5)
        var granted: [ContinuousClock.Instant] = []
        for ms in stride(from: 0, to: 10_000, by: 7) {
            let now = start + .milliseconds(ms)
            if limiter.tryAcquire(now: now) { granted.append(now) }
        }
        for (i, t) in granted.enumerated() {
            let inWindow = granted[i...].prefix { $0 < t + .seconds(1) }.count
            #expect(inWindow <= 5)
        }
        #expect(granted.count >= 45)
    }

    @Test func aboveFiveHundredPerSecondALateCallerTakesTheTokensThatCameDue() {
        var limiter = AdaptiveRateLimiter(maxRate: 100_000)  // 10 µs apart
        let first = limiter.tryAcquire(now: start)
        #expect(first)
        // Woken 100 µs late: the tokens of the 100 µs at once, then the next one is in the future.
        let late = start + .microseconds(100)
        var granted = 0
        while limiter.tryAcquire(now: late) { granted += 1 }
        #expect((9...10).contains(granted), "\(granted)")
        #expect(limiter.nextAvailable(now: late) > late)
        // After an idle spell, no more than `catchUp`'s worth (2 ms of tokens) at once.
        let idle = start + .seconds(10)
        var burst = 0
        while limiter.tryAcquire(now: idle) { burst += 1 }
        #expect((200...201).contains(burst), "\(burst)")
    }

    @Test func throttlingHalvesOncePerEventDownToTheFloorAndRecoversSlowly() {
        var limiter = AdaptiveRateLimiter(maxRate: 4)
        limiter.recordThrottle(now: start)
        #expect(limiter.rate == 2)
        limiter.recordThrottle(now: start + .milliseconds(100))
        #expect(limiter.rate == 2, "throttles of one burst are one congestion event")
        let tooSoon = limiter.tryAcquire(now: start + .milliseconds(499))
        #expect(!tooSoon, "a full spacing at the new rate after a throttle")
        var t = start
        for _ in 0..<20 {
            t = t + .seconds(2)
            limiter.recordThrottle(now: t)
        }
        #expect(limiter.rate == AdaptiveRateLimiter.minimumRate)
        limiter.recordSuccess()
        #expect(abs(limiter.rate - 0.3) < 1e-9, "additive increase of max/20 per success")
        for _ in 0..<100 { limiter.recordSuccess() }
        #expect(limiter.rate == 4)
    }

    @Test func throttlingHalvesTheObservedRateNotTheCeiling() {
        // Demand of 4 calls per second under a ceiling of 50: the first throttle must slow the
        // calls down at once, not halve 50 to 25 (still far above what is sent).
        var limiter = AdaptiveRateLimiter(maxRate: 50)
        var t = start
        for _ in 0..<40 {
            let granted = limiter.tryAcquire(now: t)
            #expect(granted)
            t = t + .milliseconds(250)
        }
        let observed = limiter.observedRate(now: t)
        #expect(observed.map { abs($0 - 4) < 0.2 } == true, "\(String(describing: observed))")
        limiter.recordThrottle(now: t)
        #expect(abs(limiter.rate - 2) < 0.1, "half of the 4 calls per second observed: \(limiter.rate)")
        #expect(AdaptiveRateLimiter(maxRate: 50).observedRate(now: t) == nil, "no calls: nothing observed")
        limiter.recordSuccess()
        #expect(abs(limiter.rate - 4.5) < 0.1, "recovers additively, max_rps / 20 per success")
    }

    @Test func reloadMovesTheCeiling() {
        var full = AdaptiveRateLimiter(maxRate: 5)
        full.updateMaxRate(10)
        #expect(full.rate == 10 && full.maxRate == 10)
        var backingOff = AdaptiveRateLimiter(maxRate: 8)
        backingOff.recordThrottle(now: start)
        backingOff.updateMaxRate(10)
        #expect(backingOff.rate == 4)
        backingOff.updateMaxRate(2)
        #expect(backingOff.rate == 2)
        var nonsense = AdaptiveRateLimiter(maxRate: 0)
        #expect(nonsense.rate == AdaptiveRateLimiter.minimumRate)
        nonsense.updateMaxRate(.nan)
        #expect(nonsense.rate == AdaptiveRateLimiter.minimumRate)
    }
}
