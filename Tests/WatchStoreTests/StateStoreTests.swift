import Foundation
import Testing
import WatchModel
import WatchStore

@Suite struct WatchSetTests {
    @Test(arguments: StoreBackend.allCases) func configSyncAddsRelabelsDeactivatesAndReactivates(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            try await store.syncWatchSet([(Sample.orderA, "rack 1"), (Sample.orderB, nil)], source: .config)
            var orders = try await store.watchedOrders()
            #expect(orders.map(\.orderId) == [Sample.orderA, Sample.orderB])
            #expect(orders.allSatisfy { $0.active && $0.source == .config && $0.lastSequence == 0 && $0.snapshot == nil })
            #expect(orders[0].label == "rack 1")

            _ = try await store.commit(Sample.success(Sample.orderB, events: [Sample.event(Sample.orderB)]), route: { _ in [] })
            try await store.syncWatchSet([(Sample.orderA, "rack 1 (moved)")], source: .config)
            orders = try await store.watchedOrders()
            #expect(orders[0].label == "rack 1 (moved)" && orders[0].active)
            #expect(!orders[1].active)
            // Deactivation keeps the history and the state.
            #expect(orders[1].lastSequence == 1 && orders[1].snapshot != nil)
            #expect(try await store.history(orderId: Sample.orderB).count == 1)

            try await store.syncWatchSet([(Sample.orderA, nil), (Sample.orderB, "back")], source: .config)
            let b = try #require(try await store.watchedOrder(Sample.orderB))
            #expect(b.active && b.label == "back" && b.lastSequence == 1)
            #expect(try await store.watchedOrder(Sample.orderA)?.label == nil)
            #expect(try await store.watchedOrder("oo-00000000000000000") == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func discoveryNeverOverridesTheConfig(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            try await store.syncWatchSet([(Sample.orderA, "configured")], source: .config)
            let added = try await store.addDiscovered([Sample.orderA, Sample.orderB, Sample.orderB])
            #expect(added == [Sample.orderB])
            #expect(try await store.addDiscovered([Sample.orderB]).isEmpty)
            var a = try #require(try await store.watchedOrder(Sample.orderA))
            #expect(a.source == .config && a.label == "configured")

            // A discovery sweep that no longer returns A does not deactivate the configured order.
            try await store.syncWatchSet([], source: .discovered)
            a = try #require(try await store.watchedOrder(Sample.orderA))
            let b = try #require(try await store.watchedOrder(Sample.orderB))
            #expect(a.active && !b.active && b.source == .discovered)
            try await store.syncWatchSet([(Sample.orderB, nil), (Sample.orderA, "other")], source: .discovered)
            #expect(try await store.watchedOrder(Sample.orderB)?.active == true)
            #expect(try await store.watchedOrder(Sample.orderA)?.label == "configured")

            // The config takes over a discovered order.
            try await store.syncWatchSet([(Sample.orderA, "configured"), (Sample.orderB, "now configured")], source: .config)
            let taken = try #require(try await store.watchedOrder(Sample.orderB))
            #expect(taken.source == .config && taken.label == "now configured")
        }
    }
}

@Suite struct CommitTests {
    @Test(arguments: StoreBackend.allCases) func firstPollStoresStateEventsAndDeliveries(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            try await store.syncWatchSet([(Sample.orderA, "Seattle rack 2")], source: .config)
            let snapshot = Sample.snapshot()
            let first = Sample.event(type: .orderFirstSeen, from: nil, to: "IN_PROGRESS")
            let second = Sample.lineItemEvent()
            let stored = try await store.commit(Sample.success(at: 5, snapshot: snapshot, events: [first, second]),
                                                route: { $0.type == .orderFirstSeen ? ["journald"] : ["journald", "ops", "ops"] })
            #expect(stored.map(\.sequence) == [1, 2])
            #expect(stored.map(\.id) == [first.id, second.id])
            var expectedFirst = first
            expectedFirst.sequence = 1
            #expect(stored[0] == expectedFirst)

            let order = try #require(try await store.watchedOrder(Sample.orderA))
            #expect(order.snapshot == snapshot)   // bit-identical dates
            #expect(order.label == "Seattle rack 2" && order.source == .config)
            #expect(order.lastSequence == 2 && order.consecutiveFailures == 0 && !order.failing && !order.notFound)
            #expect(order.lastPollAt == Sample.at(5) && order.lastSuccessAt == Sample.at(5) && order.lastChangeAt == Sample.at(5))
            #expect(order.lineItemStatusCounts == ["BUILDING": 2])

            #expect(try await store.history() == stored)
            #expect(try await store.event(id: second.id) == stored[1])
            #expect(try await store.event(id: "evt_missing") == nil)
            // Duplicate sinks from the route give one delivery.
            #expect(try await store.pendingCounts() == ["journald": 2, "ops": 1])
        }
    }

    @Test func storedBodyIsTheExactWebhookBody() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            let store = try StateStore(path: path)
            let stored = try await store.commit(Sample.success(events: [Sample.lineItemEvent()]), route: Sample.twoSinks)
            let db = try Database(path: path, mode: .readOnly)
            let body = try db.scalar("SELECT body FROM events WHERE id = ?", [stored[0].id], as: String.self)
            #expect(body == String(decoding: try EventJSON.encode(stored[0]), as: UTF8.self))
            #expect(body?.contains("\"sequence\":1") == true)
        }
    }

    @Test(arguments: StoreBackend.allCases) func returnedEventsEqualTheStoredOnes(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            var event = Sample.event()
            event.occurredAt = Date(timeIntervalSince1970: 1_780_000_000.123_456)   // finer than the JSON's milliseconds
            let stored = try await store.commit(Sample.success(events: [event]), route: Sample.twoSinks)
            #expect(stored == (try await store.history()))
            #expect(stored == (try await store.dueDeliveries(now: Sample.at(0), sink: "ops")).map(\.event))
            #expect(abs(stored[0].occurredAt.timeIntervalSince(event.occurredAt)) < 0.001)
        }
    }

    @Test(arguments: StoreBackend.allCases) func failedPollKeepsSnapshotAndRecordsFailure(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            _ = try await store.commit(Sample.success(at: 0, events: [Sample.event()]), route: Sample.twoSinks)
            _ = try await store.commit(Sample.failure(at: 60, failures: 1), route: Sample.twoSinks)
            var order = try #require(try await store.watchedOrder(Sample.orderA))
            #expect(order.snapshot == Sample.snapshot())
            #expect(order.consecutiveFailures == 1 && !order.failing && order.lastError == "GetOrder: connection refused")
            #expect(order.lastPollAt == Sample.at(60) && order.lastSuccessAt == Sample.at(0) && order.lastChangeAt == Sample.at(0))

            let failing = Event(type: .watchFailing, occurredAt: Sample.at(120), order: OrderRef(id: Sample.orderA),
                                change: Change(field: .watch, from: .string("ok"), to: .string("failing")), error: "timeout")
            let stored = try await store.commit(Sample.failure(at: 120, failures: 3, failing: true, error: "timeout", events: [failing]),
                                                route: Sample.twoSinks)
            #expect(stored.map(\.sequence) == [2])
            order = try #require(try await store.watchedOrder(Sample.orderA))
            #expect(order.failing && order.consecutiveFailures == 3 && order.lastChangeAt == Sample.at(120))
            #expect(order.lastSuccessAt == Sample.at(0))

            // Recovery clears the failure state.
            _ = try await store.commit(Sample.success(at: 180, events: []), route: Sample.twoSinks)
            order = try #require(try await store.watchedOrder(Sample.orderA))
            #expect(!order.failing && order.consecutiveFailures == 0 && order.lastError == nil && order.lastSuccessAt == Sample.at(180))
            #expect(order.lastChangeAt == Sample.at(120))   // no events, no change
        }
    }

    @Test(arguments: StoreBackend.allCases) func sequencesIncreaseByExactlyOnePerOrder(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            var expected: [String: Int64] = [Sample.orderA: 0, Sample.orderB: 0]
            for round in 0..<40 {
                let orderId = round % 3 == 0 ? Sample.orderB : Sample.orderA
                let count = round % 4   // 0 to 3 events per poll
                let events = (0..<count).map { Sample.event(orderId, at: Double(round * 10 + $0)) }
                let stored = try await store.commit(Sample.success(orderId, at: Double(round * 10), events: events), route: Sample.twoSinks)
                let start = expected[orderId]! + 1
                #expect(stored.map(\.sequence) == Array(start..<(start + Int64(count))))
                expected[orderId]! += Int64(count)
            }
            for (orderId, last) in expected {
                #expect(try await store.history(orderId: orderId).map(\.sequence) == Array(1...last))
                #expect(try await store.watchedOrder(orderId)?.lastSequence == last)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func failedCommitWritesNothing(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            let earlier = try await store.commit(Sample.success(at: 0, events: [Sample.event()]), route: Sample.twoSinks)
            let before = try await store.watchedOrder(Sample.orderA)

            // The second event reuses a stored id: the constraint fails after the order row and the
            // first event were written; all of it must go.
            let fresh = Sample.event(at: 100)
            let clash = Sample.event(at: 101, id: earlier[0].id)
            let changed = Sample.snapshot(status: "COMPLETED")
            let error = await storeError {
                _ = try await store.commit(Sample.success(at: 100, snapshot: changed, events: [fresh, clash]), route: Sample.twoSinks)
            }
            #expect(error?.kind == .other)
            let uniqueness = backend == .sqlite ? "UNIQUE constraint failed: events.id" : "events_pkey"
            #expect(error?.message.contains(uniqueness) == true)
            #expect(try await store.watchedOrder(Sample.orderA) == before)
            #expect(try await store.event(id: fresh.id) == nil)
            #expect(try await store.history().map(\.id) == [earlier[0].id])
            #expect(try await store.pendingCounts() == ["journald": 1, "ops": 1])

            // An event about another order is refused before anything is written.
            let stray = await storeError {
                _ = try await store.commit(Sample.success(at: 200, events: [Sample.event(Sample.orderB)]), route: Sample.twoSinks)
            }
            #expect(stray?.kind == .misuse)
            #expect(try await store.watchedOrder(Sample.orderA) == before)
            #expect(try await store.watchedOrder(Sample.orderB) == nil)

            // The retry of the failed poll works and continues the sequence.
            let retried = try await store.commit(Sample.success(at: 300, snapshot: changed, events: [fresh]), route: Sample.twoSinks)
            #expect(retried.map(\.sequence) == [2])
        }
    }
}

@Suite struct HistoryTests {
    @Test(arguments: StoreBackend.allCases) func historyOrdersByOrderSequenceOrTime(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            // B's events happen between A's, and one of A's has an earlier occurred_at than its predecessor.
            _ = try await store.commit(Sample.success(Sample.orderA, events: [Sample.event(at: 10), Sample.event(at: 5)]), route: { _ in [] })
            _ = try await store.commit(Sample.success(Sample.orderB, events: [Sample.event(Sample.orderB, at: 7)]), route: { _ in [] })
            _ = try await store.commit(Sample.success(Sample.orderA, events: [Sample.event(at: 20)]), route: { _ in [] })

            let a = try await store.history(orderId: Sample.orderA)
            #expect(a.map(\.sequence) == [1, 2, 3])
            let all = try await store.history()
            #expect(all.map(\.occurredAt) == [5, 7, 10, 20].map(Sample.at))
            #expect(try await store.history(since: Sample.at(7)).map(\.occurredAt) == [7, 10, 20].map(Sample.at))
            #expect(try await store.history(orderId: Sample.orderA, since: Sample.at(6)).map(\.sequence) == [1, 3])
            #expect(try await store.history(limit: 2).map(\.occurredAt) == [5, 7].map(Sample.at))
            #expect(try await store.history(orderId: "oo-ffffffffffffffff0").isEmpty)
        }
    }
}

@Suite struct HeldPollTimeTests {
    /// A poll that changed nothing but its time.
    static func quiet(_ orderId: String = Sample.orderA, at seconds: Double) -> PollCommit {
        var commit = Sample.success(orderId, at: seconds, events: [])
        commit.onlyPollTimesChanged = true
        return commit
    }

    @Test func quietPollTimesAreHeldThenWrittenByFlushCommitOrClose() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            let store = try StateStore(path: path)
            try await store.syncWatchSet([(Sample.orderA, nil), (Sample.orderB, nil)], source: .config)
            _ = try await store.commit(Sample.success(Sample.orderA, at: 0, events: [Sample.event()]), route: { _ in [] })
            func fromDisk(_ orderId: String) async throws -> WatchedOrder? {
                try await StateStore(path: path, readOnly: true).watchedOrder(orderId)
            }

            // Held: this store sees the new time at once, another connection does not yet.
            #expect(try await store.commit(Self.quiet(at: 10), route: { _ in [] }).isEmpty)
            #expect(await store.hasUnwrittenPollTimes)
            let seen = try #require(try await store.watchedOrder(Sample.orderA))
            #expect(seen.lastPollAt == Sample.at(10) && seen.lastSuccessAt == Sample.at(10))
            #expect(seen.lastChangeAt == Sample.at(0) && seen.lastSequence == 1)
            #expect(try await fromDisk(Sample.orderA)?.lastPollAt == Sample.at(0))

            // flushPollTimes writes them.
            try await store.flushPollTimes()
            #expect(!(await store.hasUnwrittenPollTimes))
            var disk = try #require(try await fromDisk(Sample.orderA))
            #expect(disk.lastPollAt == Sample.at(10) && disk.lastSuccessAt == Sample.at(10))
            #expect(disk.snapshot == Sample.snapshot() && disk.lastSequence == 1, "only the times changed")

            // The next real commit (of another order) carries them in its transaction.
            _ = try await store.commit(Self.quiet(at: 20), route: { _ in [] })
            _ = try await store.commit(Sample.success(Sample.orderB, at: 21, events: [Sample.event(Sample.orderB)]),
                                       route: { _ in [] })
            #expect(!(await store.hasUnwrittenPollTimes))
            #expect(try await fromDisk(Sample.orderA)?.lastPollAt == Sample.at(20))

            // A failed poll is never held; a held time of the same order is written before it.
            _ = try await store.commit(Self.quiet(at: 30), route: { _ in [] })
            _ = try await store.commit(Sample.failure(at: 31, failures: 1), route: { _ in [] })
            disk = try #require(try await fromDisk(Sample.orderA))
            #expect(disk.lastPollAt == Sample.at(31) && disk.lastSuccessAt == Sample.at(30))
            #expect(disk.consecutiveFailures == 1)

            // close() writes what is held.
            _ = try await store.commit(Self.quiet(Sample.orderB, at: 40), route: { _ in [] })
            await store.close()
            #expect(try await fromDisk(Sample.orderB)?.lastPollAt == Sample.at(40))
        }
    }
}

@Suite struct ScheduleTests {
    @Test(arguments: StoreBackend.allCases) func activeScheduleReadsStatusWithoutSnapshotsAndSeesHeldPollTimes(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            let orderC = "oo-0123456789abcdef2"
            try await store.syncWatchSet([(Sample.orderA, nil), (Sample.orderB, nil), (orderC, nil)], source: .config)
            _ = try await store.commit(Sample.success(Sample.orderA, at: 0,
                                                      snapshot: Sample.snapshot(Sample.orderA, status: "COMPLETED"),
                                                      events: [Sample.event()]), route: { _ in [] })
            _ = try await store.commit(Sample.failure(Sample.orderB, at: 5, failures: 3, failing: true), route: { _ in [] })
            _ = try await store.commit(HeldPollTimeTests.quiet(Sample.orderA, at: 9), route: { _ in [] })
            try await store.syncWatchSet([(Sample.orderA, nil), (Sample.orderB, nil)], source: .config)

            let schedule = try await store.activeSchedule()
            #expect(schedule == [
                ScheduleEntry(orderId: Sample.orderA, status: "COMPLETED", failing: false, lastPollAt: Sample.at(9)),
                ScheduleEntry(orderId: Sample.orderB, status: nil, failing: true, lastPollAt: Sample.at(5)),
            ], "C is inactive; A's held poll time is seen")
            #expect(schedule[0].isTerminal && !schedule[1].isTerminal)
            // The same facts as the full rows.
            let full = try await store.watchedOrders().filter(\.active)
            #expect(full.map(\.orderId) == schedule.map(\.orderId))
            #expect(full.map { $0.snapshot?.status } == schedule.map(\.status))
            #expect(full.map(\.lastPollAt) == schedule.map(\.lastPollAt))
        }
    }
}
