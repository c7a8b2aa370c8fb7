import Foundation
import Testing
import WatchModel
import WatchStore

/// `migrate-store`: a SQLite history copied into an empty PostgreSQL store reads back the same.
@Suite struct StoreCopyTests {
    /// A SQLite store with two orders, events, deliveries in every state and attempts.
    private func seed(_ store: StateStore) async throws {
        try await store.syncWatchSet([(Sample.orderA, "rack 1")], source: .config, account: "prod", region: "us-west-2")
        try await store.addDiscovered([Sample.orderB])
        _ = try await store.commit(Sample.success(events: [Sample.event(at: 0), Sample.lineItemEvent(at: 1)]),
                                   route: Sample.twoSinks)
        _ = try await store.commit(Sample.success(Sample.orderB, at: 2, events: [Sample.event(Sample.orderB, at: 2)]),
                                   route: Sample.twoSinks)
        _ = try await store.commit(Sample.failure(Sample.orderB, at: 3, failures: 1), route: Sample.twoSinks)
        let due = try await store.dueDeliveries(now: Sample.at(10))
        try await store.recordAttempt(deliveryId: due[0].id, at: Sample.at(4), result: .retry(at: Sample.at(60), status: 503, error: "HTTP 503"))
        try await store.recordAttempt(deliveryId: due[0].id, at: Sample.at(5), result: .delivered(status: 204))
        try await store.recordAttempt(deliveryId: due[1].id, at: Sample.at(6), result: .failed(status: 400, error: "HTTP 400"))
        try await store.recordAttempt(deliveryId: due[2].id, at: Sample.at(7), result: .retry(at: Sample.at(90), status: nil, error: "connection refused"))
    }

    private struct Picture: Equatable {
        var history: [Event]
        var orders: [WatchedOrder]
        var deliveries: [Delivery]
        var attempts: [[DeliveryAttempt]]
    }

    private func picture(_ store: StateStore) async throws -> Picture {
        let deliveries = try await store.deliveries()
        var attempts: [[DeliveryAttempt]] = []
        for delivery in deliveries { attempts.append(try await store.attempts(deliveryId: delivery.id)) }
        return Picture(history: try await store.history(), orders: try await store.watchedOrders(),
                       deliveries: deliveries, attempts: attempts)
    }

    private func counts(_ db: PostgresDatabase) throws -> [Int] {
        try ["orders", "events", "deliveries", "delivery_attempts"].map { try db.scalar("SELECT count(*) FROM \($0)", as: Int.self) ?? -1 }
    }

    @Test func copiesEveryRowWithTheSameIdsAndRefusesASecondCopy() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            let sqliteStore = try StateStore(path: path)
            try await seed(sqliteStore)
            let expected = try await picture(sqliteStore)
            await sqliteStore.close()
            #expect(expected.history.count == 3 && expected.deliveries.count == 6)

            let server = try await PostgresTestServer.shared()
            let name = try await server.createDatabase()
            defer { server.drop(name) }

            let source = try Database(path: path, mode: .readOnly)
            defer { source.close() }
            let target = try PostgresDatabase.connect(server.options(database: name))
            let copied = try StoreCopy.copy(from: source, to: target)
            #expect(copied == StoreCopy.Counts(orders: 2, events: 3, deliveries: 6, attempts: 4))
            #expect(try counts(target) == [2, 3, 6, 4])

            // A second copy into the now non-empty store is refused and changes nothing.
            var refused: StoreError?
            do { _ = try StoreCopy.copy(from: source, to: target) } catch let error as StoreError { refused = error }
            let error = try #require(refused)
            #expect(error.kind == .other)
            #expect(error.message.contains("the target store is not empty (2 orders, 3 events)"))
            #expect(try counts(target) == [2, 3, 6, 4])
            #expect(!target.isInTransaction)
            // The copy let go of the leader lock: a daemon can lead the copied store.
            #expect(try target.tryLeaderLock())
            target.close()

            let copy = try StateStore(postgres: try PostgresDatabase.connect(server.options(database: name)), migrate: false)
            #expect(try await picture(copy) == expected)
            // New rows get ids past the copied ones (the sequences were moved on).
            let maxId = expected.deliveries.map(\.id).max() ?? 0
            _ = try await copy.commit(Sample.success(at: 20, events: [Sample.event(from: "IN_PROGRESS", to: "COMPLETED", at: 20)]),
                                      route: Sample.twoSinks)
            let newer = try await copy.deliveries().map(\.id).filter { $0 > maxId }
            #expect(newer.count == 2)
            let pending = try #require(try await copy.deliveries(state: .pending).first)
            try await copy.recordAttempt(deliveryId: pending.id, at: Sample.at(21), result: .delivered(status: 200))
            #expect(try await copy.attempts(deliveryId: pending.id).count >= 1)
            await copy.close()
        }
    }

    @Test func refusesASourceAtAnOlderSchemaVersion() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/old.db"
            let old = try Database(path: path)
            try old.exec("PRAGMA user_version = 1")
            old.close()

            let server = try await PostgresTestServer.shared()
            let name = try await server.createDatabase()
            defer { server.drop(name) }
            let source = try Database(path: path, mode: .readOnly)
            defer { source.close() }
            let target = try PostgresDatabase.connect(server.options(database: name))
            defer { target.close() }
            var refused: StoreError?
            do { _ = try StoreCopy.copy(from: source, to: target) } catch let error as StoreError { refused = error }
            let error = try #require(refused)
            #expect(error.message.contains("run the daemon or `outpostwatch once` on it first"))
            #expect(try target.scalar("SELECT to_regclass('orders') IS NOT NULL", as: Int.self) == 0, "the target was left alone")
        }
    }
}
