import Foundation
import Sinks
import Testing
import WatchModel
import WatchStore

/// The delivery worker's decisions, driven without a store, a clock or a network.
@Suite struct DeliveryStateMachineTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let c0 = ContinuousClock.now
    /// One event for every row, so rows compare equal by value.
    static let event = shippedEvent()

    func row(_ id: Int64, attempts: Int = 0, pendingSince: Date? = nil) -> Delivery {
        Delivery(id: id, eventId: "evt_\(id)", sink: "ops", state: .pending, attempts: attempts,
                 createdAt: pendingSince ?? t0, nextAttemptAt: t0, lastAttemptAt: nil, lastStatus: nil,
                 lastError: nil, deliveredAt: nil, event: Self.event, pendingSince: pendingSince)
    }

    func machine(_ mode: DeliveryStateMachine.Mode, limit: Int = 2,
                 maxAge: Duration = .seconds(3600)) -> DeliveryStateMachine {
        DeliveryStateMachine(mode: mode, limit: limit, maxAge: maxAge,
                             policy: RetryPolicy(base: .seconds(2), cap: .seconds(3600)))
    }

    @Test("continuous: reads a batch, starts up to the bound, then asks when the next row is due")
    func continuousStartsWithinTheBound() {
        var m = machine(.continuous, limit: 2)
        let r1 = m.next()
        #expect(r1 == .fetchDue(limit: 16))
        let r2 = m.fetched([row(1), row(2), row(3)])
        #expect(r2 == .send([row(1), row(2)]))
        let r3 = m.afterStart()
        #expect(r3 == .wait, "at the bound: wait for a completion, no timer")
        #expect(m.inFlightCount == 2)
        let r4 = m.attemptFinished(row(1), outcome: .delivered(status: 200), at: t0, cancelled: false)
        #expect(r4
            == .write(.delivered(status: 200), failSink: nil))
        let r5 = m.recorded(.delivered(status: 200), now: c0)
        #expect(r5 == .init())
        let r6 = m.next()
        #expect(r6 == .send([row(3)]), "the queued row starts without another query")
        let r7 = m.afterStart()
        #expect(r7 == .wait)
    }

    @Test("continuous: with a free slot it sleeps until the next due row, or briefly when one is due already")
    func sleepsUntilNextDue() {
        var m = machine(.continuous, limit: 2)
        _ = m.next()
        let r8 = m.fetched([])
        #expect(r8 == .queryNextDue)
        let r9 = m.nextDue(t0.addingTimeInterval(5), now: t0)
        #expect(r9 == .sleep(timeout: .seconds(5)))
        let r10 = m.next()
        #expect(r10 == .fetchDue(limit: 16), "a timer is armed: reads again on each round")
        let r11 = m.fetched([])
        #expect(r11 == .wait, "the armed timer is not armed twice")
        m.woken()
        _ = m.next()
        let r12 = m.fetched([])
        #expect(r12 == .queryNextDue)
        let r13 = m.nextDue(nil, now: t0)
        #expect(r13 == .sleep(timeout: nil), "nothing pending: sleep until a commit")
        m.woken()
        _ = m.next()
        _ = m.fetched([])
        let r14 = m.nextDue(t0.addingTimeInterval(-1), now: t0)
        #expect(r14 == .sleep(timeout: .milliseconds(20)),
                "due already but not handed out: a short nap, not a busy loop")
    }

    @Test("a timer without deadline because the due rows are in flight is re-armed by the next completion")
    func timerAwaitingCompletionIsRearmed() {
        var m = machine(.continuous, limit: 2)
        _ = m.next()
        let r15 = m.fetched([row(1)])
        #expect(r15 == .send([row(1)]))
        let r16 = m.afterStart()
        #expect(r16 == .queryNextDue)
        let r17 = m.nextDue(t0, now: t0)
        #expect(r17 == .sleep(timeout: nil))
        _ = m.attemptFinished(row(1), outcome: .delivered(status: 200), at: t0, cancelled: false)
        let r18 = m.recorded(.delivered(status: 200), now: c0)
        #expect(r18.rearm)
    }

    @Test("retry: backoff within max_age, Retry-After honoured, then failed at the deadline")
    func retryPolicy() {
        var m = machine(.continuous, maxAge: .seconds(3600))
        _ = m.next()
        _ = m.fetched([row(1), row(2)])
        let retried = m.attemptFinished(row(1), outcome: .retry(status: 429, error: "slow", retryAfter: .seconds(30)),
                                        at: t0, cancelled: false)
        #expect(retried == .write(.retry(at: t0.addingTimeInterval(30), status: 429, error: "slow"), failSink: nil))
        let r19 = m.recorded(.retry(at: t0.addingTimeInterval(30), status: 429, error: "slow"), now: c0)
        #expect(r19.rearm,
                "a retry may be due before the timer: re-arm")
        let late = t0.addingTimeInterval(3600)
        let givenUp = m.attemptFinished(row(2), outcome: .retry(status: 503, error: "down", retryAfter: nil),
                                        at: late, cancelled: false)
        #expect(givenUp == .write(.failed(status: 503, error: "down (gave up: older than max_age 3600s)"), failSink: nil))
    }

    @Test("a permanent error fails the delivery; nothing else")
    func permanentFails() {
        var m = machine(.drain)
        _ = m.next()
        _ = m.fetched([row(1)])
        let r20 = m.attemptFinished(row(1), outcome: .permanent(status: nil, error: "cannot encode"), at: t0, cancelled: false)
        #expect(r20
            == .write(.failed(status: nil, error: "cannot encode"), failSink: nil))
    }

    @Test("410 Gone: the sink's queue fails, attempts already under way fail unless delivered, nothing more starts")
    func goneFailsTheSink() {
        var m = machine(.drain, limit: 3)
        let r21 = m.next()
        #expect(r21 == .fetchDue(limit: 100))
        let r22 = m.fetched([row(1), row(2), row(3), row(4)])
        #expect(r22 == .send([row(1), row(2), row(3)]))
        let gone = m.attemptFinished(row(1), outcome: .gone(status: 410, error: "HTTP 410"), at: t0, cancelled: false)
        #expect(gone == .write(.failed(status: 410, error: "HTTP 410"), failSink: "receiver answered 410 Gone: HTTP 410"))
        let r23 = m.attemptFinished(row(2), outcome: .retry(status: 503, error: "HTTP 503", retryAfter: nil), at: t0,
                                  cancelled: false)
        #expect(r23
            == .write(.failed(status: 503, error: "HTTP 503 (the receiver answered 410 Gone)"), failSink: nil))
        let r24 = m.attemptFinished(row(3), outcome: .delivered(status: 200), at: t0, cancelled: false)
        #expect(r24
            == .write(.delivered(status: 200), failSink: nil), "one that got through stays delivered")
        let r25 = m.next()
        #expect(r25 == .finished, "row 4 was failed with the sink's queue: never sent")
    }

    @Test("redeliver (rows) and drain follow the same policy as the daemon")
    func sameOutcomePolicyEverywhere() {
        let outcomes: [SinkOutcome] = [
            .delivered(status: 204), .retry(status: 500, error: "e", retryAfter: .seconds(60)),
            .permanent(status: nil, error: "p"), .gone(status: 410, error: "g"),
        ]
        for outcome in outcomes {
            var results: [DeliveryStateMachine.Record] = []
            for mode in [DeliveryStateMachine.Mode.continuous, .drain, .rows([row(1)])] {
                var m = machine(mode)
                if case .rows = mode {
                    let r26 = m.next()
                    #expect(r26 == .send([row(1)]))
                } else {
                    _ = m.next()
                    _ = m.fetched([row(1)])
                }
                results.append(m.attemptFinished(row(1), outcome: outcome, at: t0, cancelled: false))
            }
            #expect(Set(results.map { "\($0)" }).count == 1, "\(outcome): \(results)")
        }
    }

    @Test("rows mode sends exactly the given rows, then finishes")
    func rowsMode() {
        var m = machine(.rows([row(7), row(8), row(9)]), limit: 2)
        let r27 = m.next()
        #expect(r27 == .send([row(7), row(8)]))
        let r28 = m.afterStart()
        #expect(r28 == .wait)
        _ = m.attemptFinished(row(7), outcome: .delivered(status: 200), at: t0, cancelled: false)
        let r29 = m.next()
        #expect(r29 == .send([row(9)]))
        _ = m.attemptFinished(row(8), outcome: .delivered(status: 200), at: t0, cancelled: false)
        _ = m.attemptFinished(row(9), outcome: .delivered(status: 200), at: t0, cancelled: false)
        let r30 = m.next()
        #expect(r30 == .finished)
    }

    @Test("drain sends each row at most once and finishes when nothing new is due")
    func drainEachOnce() {
        var m = machine(.drain, limit: 1)
        _ = m.next()
        let r31 = m.fetched([row(1)])
        #expect(r31 == .send([row(1)]))
        _ = m.attemptFinished(row(1), outcome: .retry(status: 500, error: "e", retryAfter: .zero), at: t0, cancelled: false)
        let r32 = m.next()
        #expect(r32 == .fetchDue(limit: 101))
        let r33 = m.fetched([row(1)])
        #expect(r33 == .finished, "row 1 is due again (Retry-After 0) but was attempted")
    }

    @Test("a cancelled attempt is not recorded, unless it was delivered")
    func cancelledAttempts() {
        var m = machine(.continuous)
        _ = m.next()
        _ = m.fetched([row(1), row(2)])
        let r34 = m.attemptFinished(row(1), outcome: .retry(status: nil, error: "cancelled", retryAfter: nil), at: t0,
                                  cancelled: true)
        #expect(r34 == .ignore)
        let r35 = m.attemptFinished(row(2), outcome: .delivered(status: 200), at: t0, cancelled: true)
        #expect(r35
            == .write(.delivered(status: 200), failSink: nil))
    }

    @Test("receiver back: the first success after failures expedites, at most once per hold-off")
    func receiverBack() {
        var m = machine(.continuous)
        let retry = AttemptResult.retry(at: t0.addingTimeInterval(60), status: 503, error: "down")
        _ = m.recorded(retry, now: c0)
        let r36 = m.recorded(.delivered(status: 200), now: c0)
        #expect(r36.expedite)
        let r37 = m.expedited(3)
        #expect(r37 == .init(rearm: true))
        _ = m.recorded(retry, now: c0 + .seconds(1))
        let r38 = m.recorded(.delivered(status: 200), now: c0 + .seconds(2))
        #expect(!r38.expedite, "within the hold-off")
        let r39 = m.recorded(.delivered(status: 200), now: c0 + .seconds(31))
        #expect(r39.expedite,
                "still failed since the last expedite: after the hold-off it expedites")
        let r40 = m.recorded(.delivered(status: 200), now: c0 + .seconds(100))
        #expect(!r40.expedite, "no failure since")
        var drain = machine(.drain)
        _ = drain.recorded(retry, now: c0)
        let r41 = drain.recorded(.delivered(status: 200), now: c0)
        #expect(!r41.expedite, "a drain never expedites")
    }

    @Test("store faults: reading backs off and retries; a refused record pauses with backoff and re-reads")
    func storeFaults() {
        var m = machine(.continuous)
        _ = m.next()
        let r42 = m.storeReadFailed()
        #expect(r42 == .sleep(timeout: .seconds(2)))
        m.woken()
        _ = m.next()
        let r43 = m.storeReadFailed()
        #expect(r43 == .sleep(timeout: .seconds(4)))
        m.woken()
        _ = m.next()
        let r44 = m.fetched([row(1), row(2), row(3)])
        #expect(r44 == .send([row(1), row(2)]))
        _ = m.attemptFinished(row(1), outcome: .delivered(status: 200), at: t0, cancelled: false)
        let r45 = m.recordFailed()
        #expect(r45 == .init(pause: .seconds(2)))
        let r46 = m.recordFailed()
        #expect(r46 == .init(pause: .seconds(4)))
        let r47 = m.next()
        #expect(r47 == .fetchDue(limit: 17), "the queue is dropped: re-read after the pause")
        for _ in 0..<10 { _ = m.recordFailed() }
        let r48 = m.recordFailed()
        #expect(r48 == .init(pause: .seconds(30)), "capped")
        var drain = machine(.drain)
        _ = drain.next()
        let r49 = drain.storeReadFailed()
        #expect(r49 == .finished, "a drain reports the error and ends")
    }
}
