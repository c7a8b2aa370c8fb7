import Foundation
import Testing
import WatchConfig
import WatchEngine
import WatchStore

/// The poll loop's decisions, driven with made-up instants: no clock, no store, no network.
@Suite struct PollScheduleTests {
    let t0 = ContinuousClock.now

    func entry(_ n: Int, status: String? = "IN_PROGRESS", failing: Bool = false, lastPoll: Date? = nil) -> ScheduleEntry {
        ScheduleEntry(orderId: orderId(n), status: status, failing: failing, lastPollAt: lastPoll)
    }

    func poll(interval: Duration = .seconds(60), jitter: Double = 0, concurrency: Int = 2, maxRPS: Double = 100,
              terminal: Duration? = .seconds(3600)) -> PollSettings {
        PollSettings(interval: interval, jitter: jitter, concurrency: concurrency, maxRPS: maxRPS,
                     terminalInterval: terminal)
    }

    func polls(_ next: PollSchedule.Next) -> [String] {
        next.work.compactMap { if case .poll(let id) = $0 { id } else { nil } }
    }

    @Test("continuous: first polls spread over min(interval, 60 s), the longest unpolled first")
    func startupSpread() {
        var s = PollSchedule(mode: .continuous, poll: poll(interval: .seconds(40)), discover: [], seed: 1)
        s.load([entry(1, lastPoll: Date(timeIntervalSince1970: 200)), entry(2, lastPoll: nil),
                entry(3, lastPoll: Date(timeIntervalSince1970: 100)),
                entry(4, status: "COMPLETED", lastPoll: Date(timeIntervalSince1970: 300))], now: t0)
        #expect(s.watching == 4)
        #expect(s.dueAt(orderId(2)) == t0, "never polled: first")
        #expect(s.dueAt(orderId(3)) == t0 + .seconds(10))
        #expect(s.dueAt(orderId(1)) == t0 + .seconds(20))
        #expect(s.dueAt(orderId(4)) == t0 + .seconds(30), "terminal orders are polled at terminal_interval")
        var off = PollSchedule(mode: .continuous, poll: poll(terminal: nil), discover: [], seed: 1)
        off.load([entry(4, status: "CANCELLED")], now: t0)
        #expect(off.dueAt(orderId(4)) == nil, "terminal_interval = off: not polled")
    }

    @Test("concurrency bounds the polls handed out; a completion that frees a slot wakes the loop")
    func concurrencyBound() {
        var s = PollSchedule(mode: .once(throttleAttempts: 3), poll: poll(concurrency: 2), discover: [], seed: 1)
        s.load((1...3).map { entry($0) }, now: t0)
        let first = s.next(now: t0)
        #expect(polls(first) == [orderId(1)], "one token per instant: the bucket holds one call")
        let r1 = s.next(now: t0 + .milliseconds(100))
        #expect(polls(r1) == [orderId(2)])
        #expect(s.inFlight == 2 && !first.finished)
        let r2 = s.next(now: t0 + .milliseconds(200))
        #expect(polls(r2) == [], "both slots busy")
        let r3 = s.pollCompleted(orderId(1), .recorded(terminal: false, failing: false, heldPollTimes: false, answered: true),
                                now: t0)
        #expect(r3 == .wakeLoop)
        let r4 = s.next(now: t0 + .milliseconds(300))
        #expect(polls(r4) == [orderId(3)])
        _ = s.pollCompleted(orderId(2), .recorded(terminal: false, failing: false, heldPollTimes: false, answered: true),
                            now: t0)
        _ = s.pollCompleted(orderId(3), .recorded(terminal: false, failing: true, heldPollTimes: false, answered: false),
                            now: t0)
        #expect(s.failing == 1)
        let r5 = s.next(now: t0 + .milliseconds(400))
        #expect(r5.finished, "once: every order polled one time")
    }

    @Test("the rate limiter spaces the calls and the loop sleeps until the next token")
    func rateLimit() {
        var s = PollSchedule(mode: .once(throttleAttempts: 3), poll: poll(concurrency: 10, maxRPS: 2), discover: [], seed: 1)
        s.load((1...3).map { entry($0) }, now: t0)
        let first = s.next(now: t0)
        #expect(polls(first) == [orderId(1)])
        #expect(first.wakeAt == t0 + .milliseconds(500))
        let r6 = s.next(now: t0 + .milliseconds(499))
        #expect(polls(r6) == [])
        let r7 = s.next(now: t0 + .milliseconds(500))
        #expect(polls(r7) == [orderId(2)])
    }

    @Test("after a poll the order is due one jittered interval later; terminal orders at terminal_interval")
    func nextPoll() {
        var s = PollSchedule(mode: .continuous, poll: poll(interval: .seconds(60), jitter: 0.1), discover: [], seed: 7)
        s.load([entry(1), entry(2)], now: t0)
        _ = s.next(now: t0 + .seconds(60))
        _ = s.next(now: t0 + .seconds(60) + .milliseconds(100))
        _ = s.pollCompleted(orderId(1), .recorded(terminal: false, failing: false, heldPollTimes: false, answered: true),
                            now: t0 + .seconds(60))
        let due = try! #require(s.dueAt(orderId(1)))
        #expect(due >= t0 + .seconds(60) + .seconds(54) && due <= t0 + .seconds(60) + .seconds(66))
        _ = s.pollCompleted(orderId(2), .recorded(terminal: true, failing: false, heldPollTimes: false, answered: true),
                            now: t0 + .seconds(60))
        let terminalDue = try! #require(s.dueAt(orderId(2)))
        #expect(terminalDue >= t0 + .seconds(60 + 3240), "COMPLETED: terminal_interval (1 h ± 10 %)")
    }

    @Test("throttled: retried at the limiter's slowed pace, never a failure; once gives up after its attempts")
    func throttled() {
        var s = PollSchedule(mode: .continuous, poll: poll(maxRPS: 8), discover: [], seed: 1)
        s.load([entry(1)], now: t0)
        _ = s.next(now: t0)
        let r8 = s.pollCompleted(orderId(1), .throttled, now: t0)
        #expect(r8 == .wakeLoop, "the retry is earlier than the planned wake")
        #expect(s.effectiveRate == 4, "halved (no rate observed yet: from the rate in force)")
        #expect(s.dueAt(orderId(1)) == t0 + .milliseconds(250))
        #expect(s.failing == 0)

        var once = PollSchedule(mode: .once(throttleAttempts: 2), poll: poll(), discover: [], seed: 1)
        once.load([entry(1)], now: t0)
        _ = once.next(now: t0)
        let r9 = once.pollCompleted(orderId(1), .throttled, now: t0)
        #expect(r9 != .gaveUp(attempts: 1))
        let retry = once.next(now: t0 + .seconds(5))
        #expect(polls(retry) == [orderId(1)])
        let r10 = once.pollCompleted(orderId(1), .throttled, now: t0 + .seconds(5))
        #expect(r10 == .gaveUp(attempts: 2))
        let r11 = once.next(now: t0 + .seconds(10))
        #expect(r11.finished)
    }

    @Test("client retries take tokens from the same bucket as polls")
    func retryTokens() {
        var s = PollSchedule(mode: .once(throttleAttempts: 3), poll: poll(maxRPS: 4), discover: [], seed: 1)
        s.load([entry(1), entry(2)], now: t0)
        let r12 = s.next(now: t0)
        #expect(polls(r12) == [orderId(1)])
        let r13 = s.acquireRetryToken(now: t0)
        #expect(r13 == t0 + .milliseconds(250), "the poll took this instant's token")
        let r14 = s.acquireRetryToken(now: t0 + .milliseconds(250))
        #expect(r14 == nil)
        let r15 = s.next(now: t0 + .milliseconds(250))
        #expect(polls(r15) == [], "the retry took the token order 2 waited for")
        s.throttled(now: t0 + .milliseconds(300))
        #expect(s.effectiveRate == 2, "a throttled answer the client retries slows the schedule too")
    }

    @Test("a store error retries after 30 s (or the interval, if shorter), without jitter")
    func storeError() {
        var s = PollSchedule(mode: .continuous, poll: poll(interval: .seconds(300), jitter: 0.5), discover: [], seed: 1)
        s.load([entry(1)], now: t0)
        _ = s.next(now: t0)
        _ = s.pollCompleted(orderId(1), .storeError, now: t0)
        #expect(s.dueAt(orderId(1)) == t0 + .seconds(30))
    }

    @Test("held poll times are flushed within 2 s; a failed flush is retried")
    func heldPollTimes() {
        var s = PollSchedule(mode: .continuous, poll: poll(), discover: [], heartbeat: .seconds(5), seed: 1)
        s.load([entry(1)], now: t0)
        _ = s.next(now: t0)
        let r16 = s.pollCompleted(orderId(1), .recorded(terminal: nil, failing: false, heldPollTimes: true, answered: true),
                                now: t0)
        #expect(r16 == .wakeLoop, "the loop must plan the flush")
        let next = s.next(now: t0 + .seconds(1))
        #expect(!next.flushPollTimes && next.wakeAt == t0 + .seconds(2))
        let r17 = s.next(now: t0 + .seconds(2))
        #expect(r17.flushPollTimes)
        let r18 = s.next(now: t0 + .seconds(2))
        #expect(!r18.flushPollTimes, "flushed once")
        s.pollTimesFlushFailed(now: t0 + .seconds(2))
        let r19 = s.next(now: t0 + .seconds(4))
        #expect(r19.flushPollTimes)
    }

    @Test("the loop wakes at least every heartbeat, and no earlier than needed")
    func heartbeat() {
        var s = PollSchedule(mode: .continuous, poll: poll(interval: .seconds(600)), discover: [], heartbeat: .seconds(5),
                             seed: 1)
        s.load([], now: t0)
        let r20 = s.next(now: t0)
        #expect(r20.wakeAt == t0 + .seconds(5))
    }

    @Test("refresh: added orders start within 5 s, removed ones stop, a shrunk interval applies now")
    func refresh() {
        var s = PollSchedule(mode: .continuous, poll: poll(interval: .seconds(600)), discover: [], seed: 1)
        s.load([entry(1), entry(2)], now: t0)
        s.reload(poll: poll(interval: .seconds(60)), discover: [], now: t0 + .seconds(1))
        s.refresh([entry(2), entry(3)], now: t0 + .seconds(1))
        #expect(s.dueAt(orderId(1)) == nil && s.watching == 2)
        #expect(s.dueAt(orderId(2))! <= t0 + .seconds(61))
        #expect(s.dueAt(orderId(3)) == t0 + .seconds(1))
    }

    @Test("discovery: due at start, every interval after, a throttled sweep retried; a reload restarts it")
    func discovery() {
        let sweeps = [DiscoverSettings(outpost: nil, interval: .seconds(3600))]
        var s = PollSchedule(mode: .continuous, poll: poll(), discover: sweeps, seed: 1)
        s.load([], now: t0)
        let first = s.next(now: t0)
        #expect(first.work == [.discover(index: 0, generation: 0)])
        let r21 = s.discoveryCompleted(index: 0, generation: 0, throttled: true, now: t0)
        #expect(r21 == .wakeLoop)
        let retry = s.next(now: t0 + .seconds(1))
        #expect(retry.work == [.discover(index: 0, generation: 0)])
        _ = s.discoveryCompleted(index: 0, generation: 0, throttled: false, now: t0 + .seconds(1))
        let r22 = s.next(now: t0 + .seconds(3600))
        #expect(r22.work == [], "next sweep one interval after the last")
        let r23 = s.next(now: t0 + .seconds(3601))
        #expect(r23.work == [.discover(index: 0, generation: 0)])
        s.reload(poll: poll(), discover: [DiscoverSettings(outpost: "op-0123456789abcdef0")], now: t0 + .seconds(3602))
        let r24 = s.discoveryCompleted(index: 0, generation: 0, throttled: false, now: t0 + .seconds(3602))
        #expect(r24 == .none,
                "a sweep of the replaced list does not reschedule")
        let r25 = s.next(now: t0 + .seconds(3602))
        #expect(r25.work == [.discover(index: 0, generation: 1)])
    }

    @Test("once: orders found by discovery are polled too, each one time")
    func onceWithDiscovery() {
        var s = PollSchedule(mode: .once(throttleAttempts: 3), poll: poll(), discover: [DiscoverSettings()], seed: 1)
        s.load([entry(1)], now: t0)
        let r26 = s.next(now: t0)
        #expect(r26.work == [.discover(index: 0, generation: 0)], "sweeps first")
        let r27 = s.next(now: t0 + .milliseconds(100))
        #expect(polls(r27) == [orderId(1)])
        _ = s.pollCompleted(orderId(1), .recorded(terminal: false, failing: false, heldPollTimes: false, answered: true),
                            now: t0 + .milliseconds(100))
        s.refresh([entry(1), entry(2)], now: t0 + .milliseconds(200))
        _ = s.discoveryCompleted(index: 0, generation: 0, throttled: false, now: t0 + .milliseconds(200))
        let r28 = s.next(now: t0 + .seconds(1))
        #expect(polls(r28) == [orderId(2)], "the discovered order, not order 1 again")
        _ = s.pollCompleted(orderId(2), .unwatched, now: t0 + .seconds(1))
        let r29 = s.next(now: t0 + .seconds(1))
        #expect(r29.finished)
    }

    @Test("stalls: checked at start and after a change, the loop wakes for a threshold, no token or slot taken")
    func stallChecks() {
        var s = PollSchedule(mode: .continuous, poll: poll(interval: .seconds(600), concurrency: 1), discover: [],
                             heartbeat: .seconds(5), stallDetection: true, seed: 1)
        s.load([entry(1)], now: t0)
        let first = s.next(now: t0)
        #expect(first.work == [.poll(orderId(1)), .checkStalls(orderId(1))], "a check needs neither a token nor a slot")
        let stalled = s.stallsChecked(orderId(1), next: t0 + .seconds(3), now: t0)
        #expect(stalled == .wakeLoop, "the threshold passes before the planned wake-up")
        let r1 = s.next(now: t0 + .seconds(1))
        #expect(r1.wakeAt == t0 + .seconds(3), "the loop wakes for the threshold")
        let r2 = s.next(now: t0 + .seconds(3))
        #expect(r2.work == [.checkStalls(orderId(1))])
        _ = s.stallsChecked(orderId(1), next: nil, now: t0 + .seconds(3))
        _ = s.pollCompleted(orderId(1), .recorded(terminal: false, failing: false, heldPollTimes: false, answered: true,
                                                  changed: true), now: t0 + .seconds(4))
        let r3 = s.next(now: t0 + .seconds(4))
        #expect(r3.work == [.checkStalls(orderId(1))], "a change starts a new stay: check again")
        _ = s.stallsChecked(orderId(1), next: nil, now: t0 + .seconds(4))
        _ = s.pollCompleted(orderId(1), .recorded(terminal: false, failing: false, heldPollTimes: true, answered: true),
                            now: t0 + .seconds(700))
        let r4 = s.next(now: t0 + .seconds(700))
        #expect(r4.work == [], "a repeated answer needs no check")
        s.reload(poll: poll(interval: .seconds(600), concurrency: 1), discover: [], stallDetection: false,
                 now: t0 + .seconds(701))
        _ = s.pollCompleted(orderId(1), .recorded(terminal: false, failing: false, heldPollTimes: false, answered: true,
                                                  changed: true), now: t0 + .seconds(702))
        let r5 = s.next(now: t0 + .seconds(702))
        #expect(!r5.work.contains(.checkStalls(orderId(1))), "thresholds removed: no checks")
    }

    @Test("once: stall checks run before the run finishes; a later threshold does not hold it open")
    func onceStallChecks() {
        var s = PollSchedule(mode: .once(throttleAttempts: 3), poll: poll(), discover: [], stallDetection: true, seed: 1)
        s.load([entry(1)], now: t0)
        let r6 = s.next(now: t0)
        #expect(r6.work == [.poll(orderId(1)), .checkStalls(orderId(1))])
        _ = s.stallsChecked(orderId(1), next: t0 + .seconds(86_400), now: t0)
        _ = s.pollCompleted(orderId(1), .recorded(terminal: false, failing: false, heldPollTimes: false, answered: true,
                                                  changed: true), now: t0)
        let next = s.next(now: t0 + .milliseconds(10))
        #expect(next.work == [.checkStalls(orderId(1))] && !next.finished)
        _ = s.stallsChecked(orderId(1), next: t0 + .seconds(86_400), now: t0 + .milliseconds(10))
        let r7 = s.next(now: t0 + .milliseconds(20))
        #expect(r7.finished)
    }
}
