import Foundation
import Sinks
import Testing
import WatchModel
import WatchStore

/// How the delivery state machine groups rows for a sink that takes several events per call
/// (EventBridge): within the entry and byte limits, one group per call, calls bounded by the limit.
@Suite struct DeliveryGroupingTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let event = shippedEvent()

    func row(_ id: Int64) -> Delivery {
        Delivery(id: id, eventId: "evt_\(id)", sink: "bus", state: .pending, attempts: 0, createdAt: t0,
                 nextAttemptAt: t0, lastAttemptAt: nil, lastStatus: nil, lastError: nil, deliveredAt: nil,
                 event: Self.event)
    }

    func rows(_ range: ClosedRange<Int64>) -> [Delivery] { range.map(row) }

    func machine(_ mode: DeliveryStateMachine.Mode, limit: Int, maxEntries: Int = 10, maxBytes: Int = 1000,
                 size: @escaping @Sendable (Delivery) -> Int = { _ in 10 }) -> DeliveryStateMachine {
        DeliveryStateMachine(mode: mode, limit: limit, maxAge: .seconds(3600),
                             policy: RetryPolicy(base: .seconds(2), cap: .seconds(3600)),
                             grouping: .init(maxEntries: maxEntries, maxBytes: maxBytes, size: size))
    }

    @Test("due rows go out in groups of at most maxEntries, one call per group, calls within the limit")
    func groupsByEntries() {
        var m = machine(.continuous, limit: 2)
        let fetch = m.next()
        #expect(fetch == .fetchDue(limit: 80), "a query reads enough rows to fill every call")
        let send = m.fetched(rows(1...25))
        #expect(send == .sendBatches([rows(1...10), rows(11...20)]))
        #expect(m.callsInFlight == 2)
        #expect(m.inFlightCount == 20)
        let full = m.afterStart()
        #expect(full == .wait, "both calls in flight: no third")
        // The first call ends: its ten rows are recorded, one by one.
        for delivery in rows(1...9) {
            _ = m.attemptFinished(delivery, outcome: .delivered(status: 200), at: t0, cancelled: false)
        }
        let stillBusy = m.next()
        #expect(stillBusy == .wait, "a call is in flight until its last row is recorded")
        _ = m.attemptFinished(row(10), outcome: .delivered(status: 200), at: t0, cancelled: false)
        #expect(m.callsInFlight == 1)
        let rest = m.next()
        #expect(rest == .sendBatches([rows(21...25)]), "the queued rows go in the freed call")
    }

    @Test("a group stops before the byte limit; a row larger than the limit goes alone")
    func groupsByBytes() {
        let sizes: [Int64: Int] = [1: 400, 2: 400, 3: 400, 4: 5000, 5: 10]
        var m = machine(.drain, limit: 4, maxBytes: 1000, size: { sizes[$0.id] ?? 0 })
        _ = m.next()
        let send = m.fetched(rows(1...5))
        #expect(send == .sendBatches([rows(1...2), [row(3)], [row(4)], [row(5)]]))
    }

    @Test("an entry retried alone: its siblings are recorded delivered, it comes back as its own group")
    func partialRetry() {
        var m = machine(.rows(rows(1...3)), limit: 1)
        let send = m.next()
        #expect(send == .sendBatches([rows(1...3)]))
        let ok1 = m.attemptFinished(row(1), outcome: .delivered(status: 200), at: t0, cancelled: false)
        #expect(ok1 == .write(.delivered(status: 200), failSink: nil))
        let failed = m.attemptFinished(row(2), outcome: .retry(status: 200, error: "PutEvents entry failed: InternalFailure",
                                                               retryAfter: nil), at: t0, cancelled: false)
        guard case .write(.retry(_, _, let error), nil) = failed else {
            Issue.record("expected a retry, got \(failed)")
            return
        }
        #expect(error.contains("InternalFailure"))
        let ok3 = m.attemptFinished(row(3), outcome: .delivered(status: 200), at: t0, cancelled: false)
        #expect(ok3 == .write(.delivered(status: 200), failSink: nil))
        let done = m.next()
        #expect(done == .finished)
    }

    @Test("without a grouping nothing changes: one row per attempt")
    func ungroupedUnchanged() {
        var m = DeliveryStateMachine(mode: .drain, limit: 2, maxAge: .seconds(60))
        _ = m.next()
        let send = m.fetched(rows(1...3))
        #expect(send == .send(rows(1...2)))
        #expect(m.callsInFlight == 2)
    }
}
