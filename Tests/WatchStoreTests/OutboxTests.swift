import Foundation
import Testing
import WatchModel
import WatchStore

@Suite struct OutboxTests {
    /// A store with three events of order A, each routed to journald and ops, polled at `Sample.at(0)`:
    /// their deliveries are due from then.
    private func seeded(_ store: StateStore) async throws -> (StateStore, [Event]) {
        let events = try await store.commit(Sample.success(events: [Sample.event(at: 0), Sample.event(at: 1), Sample.lineItemEvent(at: 2)]),
                                            route: Sample.twoSinks)
        return (store, events)
    }

    @Test(arguments: StoreBackend.allCases) func dueDeliveriesAreOldestFirstAndFiltered(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fresh, _ in
            let (store, events) = try await seeded(fresh)
            let now = Sample.at(0)
            let due = try await store.dueDeliveries(now: now)
            #expect(due.count == 6)
            #expect(due.map(\.id) == due.map(\.id).sorted())
            #expect(due.map(\.eventId) == events.flatMap { [$0.id, $0.id] })
            #expect(due.allSatisfy { $0.state == .pending && $0.attempts == 0 && $0.lastAttemptAt == nil && $0.pendingSince == $0.createdAt })
            #expect(due[0].event == events[0])
            let ops = try await store.dueDeliveries(now: now, sink: "ops", limit: 2)
            #expect(ops.map(\.sink) == ["ops", "ops"] && ops.map(\.eventId) == [events[0].id, events[1].id])
            #expect(try await store.dueDeliveries(now: Date.distantPast).isEmpty)
            #expect(try await store.dueDeliveries(now: now, sink: "nobody").isEmpty)
            let next = try #require(try await store.nextDueDate())
            #expect(next <= now && next == due.map(\.nextAttemptAt).min())
            #expect(try await store.nextDueDate(sink: "nobody") == nil)
        }
    }

    @Test("in order: an event waits while an earlier one of its order is pending for the sink",
          arguments: StoreBackend.allCases)
    func inOrderHoldsLaterEventsBack(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fresh, _ in
            let (store, events) = try await seeded(fresh)
            let first = try #require(try await store.dueDeliveries(now: Sample.at(0), sink: "ops").first)
            let retryAt = Sample.at(600)
            try await store.recordAttempt(deliveryId: first.id, at: Sample.at(1),
                                          result: .retry(at: retryAt, status: 429, error: "HTTP 429"))
            let unordered = try await store.dueDeliveries(now: Sample.at(2), sink: "ops")
            #expect(unordered.map(\.eventId) == [events[1].id, events[2].id], "without order the later ones go")
            #expect(try await store.dueDeliveries(now: Sample.at(2), sink: "ops", inOrder: true).isEmpty,
                    "the backing-off first event holds its order's later events back")
            #expect(try await store.nextDueDate(sink: "ops", inOrder: true) == retryAt,
                    "the timer waits for the first event, not for the held-back ones (no busy loop)")
            #expect(try await store.dueDeliveries(now: Sample.at(2), sink: "journald", inOrder: true).map(\.eventId)
                    == [events[0].id], "another sink's first event is not held back by this one's")
            try await store.recordAttempt(deliveryId: first.id, at: Sample.at(3), result: .delivered(status: 202))
            let next = try await store.dueDeliveries(now: Sample.at(4), sink: "ops", inOrder: true)
            #expect(next.map(\.eventId) == [events[1].id], "then the next in sequence, one at a time")
        }
    }

    @Test(arguments: StoreBackend.allCases) func attemptsMoveRowsOnAndAreLogged(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fresh, _ in
            let (store, _) = try await seeded(fresh)
            let due = try await store.dueDeliveries(now: Sample.at(0), sink: "ops")
            let (a, b, c) = (due[0], due[1], due[2])
            let retryAt = Sample.at(3600)

            try await store.recordAttempt(deliveryId: a.id, at: Sample.at(10), result: .retry(at: retryAt, status: 503, error: "HTTP 503"))
            try await store.recordAttempt(deliveryId: a.id, at: Sample.at(20), result: .delivered(status: 204))
            try await store.recordAttempt(deliveryId: b.id, at: Sample.at(30), result: .retry(at: retryAt, status: nil, error: "connection refused"))
            try await store.recordAttempt(deliveryId: c.id, at: Sample.at(40), result: .failed(status: 400, error: "HTTP 400"))

            let all = Dictionary(uniqueKeysWithValues: try await store.deliveries(sink: "ops").map { ($0.id, $0) })
            let delivered = try #require(all[a.id])
            #expect(delivered.state == .delivered && delivered.attempts == 2 && delivered.lastStatus == 204)
            #expect(delivered.deliveredAt == Sample.at(20) && delivered.lastAttemptAt == Sample.at(20) && delivered.lastError == nil)
            let retrying = try #require(all[b.id])
            #expect(retrying.state == .pending && retrying.attempts == 1 && retrying.nextAttemptAt == retryAt)
            #expect(retrying.lastStatus == nil && retrying.lastError == "connection refused")
            let failed = try #require(all[c.id])
            #expect(failed.state == .failed && failed.attempts == 1 && failed.lastStatus == 400 && failed.lastError == "HTTP 400")

            let log = try await store.attempts(deliveryId: a.id)
            #expect(log == [DeliveryAttempt(deliveryId: a.id, at: Sample.at(10), outcome: "retry", status: 503, error: "HTTP 503"),
                            DeliveryAttempt(deliveryId: a.id, at: Sample.at(20), outcome: "delivered", status: 204, error: nil)])

            // Only journald's rows are due now; b waits for its retry time.
            #expect(try await store.dueDeliveries(now: Sample.at(0), sink: "ops").isEmpty)
            #expect(try await store.nextDueDate(sink: "ops") == retryAt)
            #expect(try await store.pendingCounts() == ["journald": 3, "ops": 1])

            let missing = await storeError {
                try await store.recordAttempt(deliveryId: 9999, at: Sample.at(0), result: .delivered(status: 200))
            }
            #expect(missing?.kind == .notFound)
        }
    }

    @Test(arguments: StoreBackend.allCases) func deliveriesListNewestFirstByStateAndSink(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fresh, _ in
            let (store, _) = try await seeded(fresh)
            let due = try await store.dueDeliveries(now: Sample.at(0))
            try await store.recordAttempt(deliveryId: due[0].id, at: Sample.at(1), result: .delivered(status: 200))
            try await store.recordAttempt(deliveryId: due[1].id, at: Sample.at(1), result: .failed(status: 410, error: "gone"))
            let all = try await store.deliveries()
            #expect(all.map(\.id) == due.map(\.id).reversed())
            #expect(try await store.deliveries(state: .delivered).map(\.id) == [due[0].id])
            #expect(try await store.deliveries(state: .failed).map(\.id) == [due[1].id])
            #expect(try await store.deliveries(state: .pending, sink: "journald").map(\.id) == [due[4].id, due[2].id])
            #expect(try await store.deliveries(limit: 1).map(\.id) == [due[5].id])
        }
    }

    @Test(arguments: StoreBackend.allCases) func failPendingDeadLettersOneSink(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fresh, _ in
            let (store, _) = try await seeded(fresh)
            #expect(try await store.failPending(sink: "ops", error: "HTTP 410 Gone", at: Sample.at(50)) == 3)
            #expect(try await store.failPending(sink: "ops", error: "again", at: Sample.at(60)) == 0)
            let failed = try await store.deliveries(state: .failed)
            #expect(failed.count == 3 && failed.allSatisfy { $0.sink == "ops" && $0.lastError == "HTTP 410 Gone" })
            #expect(try await store.pendingCounts() == ["journald": 3])
        }
    }

    @Test(arguments: StoreBackend.allCases) func redeliverResetsOrCreatesRows(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fresh, _ in
            let (store, events) = try await seeded(fresh)
            let due = try await store.dueDeliveries(now: Sample.at(0))
            let opsRow = try #require(due.first { $0.eventId == events[0].id && $0.sink == "ops" })
            let journaldRow = try #require(due.first { $0.eventId == events[0].id && $0.sink == "journald" })
            try await store.recordAttempt(deliveryId: opsRow.id, at: Sample.at(1), result: .failed(status: 500, error: "HTTP 500"))
            try await store.recordAttempt(deliveryId: journaldRow.id, at: Sample.at(1), result: .delivered(status: 0))

            let now = Sample.at(5)
            let again = try await store.redeliver(eventId: events[0].id, sinks: ["ops"], now: now)
            #expect(again.map(\.id) == [opsRow.id])   // the same row, not a new one
            #expect(again[0].state == .pending && again[0].nextAttemptAt == now && again[0].pendingSince == now)
            #expect(again[0].attempts == 1 && again[0].createdAt == opsRow.createdAt)
            #expect(try await store.attempts(deliveryId: opsRow.id).count == 1)   // the log is kept

            // Every sink it had: journald (delivered) comes back too.
            let all = try await store.redeliver(eventId: events[0].id, sinks: [], now: now)
            #expect(Set(all.map(\.id)) == [opsRow.id, journaldRow.id])
            #expect(all.allSatisfy { $0.deliveredAt == nil && $0.state == .pending })

            // A sink the event never had gets a new row.
            let created = try await store.redeliver(eventId: events[0].id, sinks: ["slack"], now: now)
            #expect(created.count == 1 && created[0].sink == "slack" && created[0].attempts == 0)
            #expect(try await store.dueDeliveries(now: now, sink: "slack").map(\.eventId) == [events[0].id])

            let unknown = await storeError { _ = try await store.redeliver(eventId: "evt_nope", sinks: [], now: now) }
            #expect(unknown?.kind == .notFound)
            #expect(unknown?.message.contains("evt_nope") == true)
        }
    }

    @Test(arguments: StoreBackend.allCases) func pruneDeletesFinishedRowsAndOldEvents(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            let old = try await store.commit(Sample.success(events: [Sample.event(at: 0), Sample.event(at: 1)]), route: Sample.twoSinks)
            let recent = try await store.commit(Sample.success(at: 1000, events: [Sample.event(at: 1000)]), route: Sample.twoSinks)
            let due = try await store.dueDeliveries(now: Sample.at(5000))
            for row in due where row.eventId == old[0].id {
                try await store.recordAttempt(deliveryId: row.id, at: Sample.at(10), result: .delivered(status: 200))
            }
            for row in due where row.eventId == recent[0].id && row.sink == "ops" {
                try await store.recordAttempt(deliveryId: row.id, at: Sample.at(2000), result: .failed(status: 400, error: "bad"))
            }
            // Finished before 100: old[0]'s two deliveries. The failure at 2000 and pending rows stay.
            var pruned = try await store.prune(deliveriesBefore: Sample.at(100), eventsBefore: nil)
            #expect(pruned.deliveries == 2 && pruned.events == 0)
            #expect(try await store.deliveries().count == 4)
            #expect(try await store.history().count == 3)

            // Events before 500 go, with their (pending) deliveries and attempt logs.
            pruned = try await store.prune(deliveriesBefore: Sample.at(100), eventsBefore: Sample.at(500))
            #expect(pruned.deliveries == 2 && pruned.events == 2)
            #expect(try await store.history().map(\.id) == [recent[0].id])
            #expect(Set(try await store.deliveries().map(\.eventId)) == [recent[0].id])
            // Sequences continue after pruning.
            #expect(try await store.commit(Sample.success(at: 3000, events: [Sample.event(at: 3000)]), route: Sample.twoSinks)
                .map(\.sequence) == [4])
        }
    }
}
