import Foundation
import Testing
import WatchModel
import WatchStore

@Suite struct MigrationTests {
    @Test func freshFileGetsTheCurrentSchema() async throws {
        try await withTemporaryDirectory { dir in
            let store = try StateStore(path: dir + "/s.db")
            await store.close()
            let db = try Database(path: dir + "/s.db")
            #expect(try db.userVersion() == Schema.currentVersion)
            let tables = try db.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
                .map { try $0.get("name", as: String.self) }
            #expect(tables == ["deliveries", "delivery_attempts", "events", "orders"])
        }
    }

    /// Every version of the real schema (every earlier one and the current one), with data in it,
    /// opens with the current code and keeps its data.
    @Test(arguments: 0...Schema.currentVersion)
    func opensEveryVersionUpToCurrent(from version: Int) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            do {
                let db = try Database(path: path)
                try Migrator().migrate(db, to: version)
                #expect(try db.userVersion() == version)
                if version >= 1 {
                    // Step 1's tables, written the way step 1 defined them.
                    try db.execute("INSERT INTO orders (order_id, label, source, created_at, last_sequence) VALUES (?, ?, 'config', 0, 1)",
                                   [Sample.orderA, "rack"])
                    let event = Sample.event()
                    var stored = event
                    stored.sequence = 1
                    try db.execute("INSERT INTO events (id, order_id, sequence, type, occurred_at, recorded_at, body) VALUES (?, ?, 1, ?, 0, 0, ?)",
                                   [event.id, Sample.orderA, event.type.rawValue, String(decoding: try EventJSON.encode(stored), as: UTF8.self)])
                }
                db.close()
            }
            let store = try StateStore(path: path)
            if version >= 1 {
                let order = try #require(try await store.watchedOrder(Sample.orderA))
                #expect(order.label == "rack" && order.lastSequence == 1)
                // Orders from before accounts belong to the account `default`.
                #expect(order.account == "default")
                #expect(try await store.history(orderId: Sample.orderA).map(\.sequence) == [1])
                // The upgraded file continues the sequence.
                let next = try await store.commit(Sample.success(events: [Sample.event(at: 10)]), route: Sample.twoSinks)
                #expect(next.map(\.sequence) == [2])
            } else {
                #expect(try await store.watchedOrders().isEmpty)
            }
            await store.close()
            #expect(try Database(path: path).userVersion() == Schema.currentVersion)
        }
    }

    /// The migration mechanism with a second step: only pending steps run, data stays, all in
    /// one transaction.
    @Test func appliesOnlyPendingStepsAndKeepsData() async throws {
        try await withTemporaryDirectory { dir in
            let steps = ["CREATE TABLE a (k INTEGER PRIMARY KEY, v TEXT NOT NULL);",
                         "ALTER TABLE a ADD COLUMN w TEXT NOT NULL DEFAULT 'new'; CREATE TABLE b (k INTEGER);"]
            let db = try Database(path: dir + "/m.db")
            #expect(try Migrator(steps: Array(steps.prefix(1))).migrate(db) == 0)
            try db.execute("INSERT INTO a (v) VALUES ('old')")
            #expect(try Migrator(steps: steps).migrate(db) == 1)
            #expect(try db.userVersion() == 2)
            let row = try #require(try db.query("SELECT v, w FROM a").first)
            #expect(try row.get("v") == "old" && row.get("w") == "new")
            // Already current: nothing runs again (step 2 would fail on the duplicate column).
            #expect(try Migrator(steps: steps).migrate(db) == 2)
        }
    }

    @Test func failingStepLeavesTheFileAtItsVersion() async throws {
        try await withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/m.db")
            try Migrator(steps: ["CREATE TABLE a (k INTEGER);"]).migrate(db)
            let broken = ["CREATE TABLE a (k INTEGER);", "CREATE TABLE b (k INTEGER); CREATE TABLE a (k INTEGER);"]
            let error = await storeError { try Migrator(steps: broken).migrate(db) }
            #expect(error?.message.contains("already exists") == true)
            #expect(try db.userVersion() == 1)
            #expect(try db.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'b'", as: Int.self) == 0)
        }
    }

    @Test func newerSchemaIsRefusedAndLeftAlone() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            try await StateStore(path: path).close()
            do {
                let db = try Database(path: path)
                try db.exec("PRAGMA user_version = \(Schema.currentVersion + 1)")
            }
            for readOnly in [false, true] {
                let error = await storeError { _ = try StateStore(path: path, readOnly: readOnly) }
                #expect(error?.kind == .schemaTooNew)
                #expect(error?.message.contains(path) == true)
            }
            #expect(try Database(path: path).userVersion() == Schema.currentVersion + 1)
        }
    }

    @Test func readOnlyOpenDoesNotMigrate() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/old.db"
            try Database(path: path).exec("CREATE TABLE unrelated (k INTEGER)")
            let error = await storeError { _ = try StateStore(path: path, readOnly: true) }
            #expect(error?.kind == .other)
            #expect(error?.message.contains("start the daemon once") == true)
            #expect(try Database(path: path).userVersion() == 0)
        }
    }
}
