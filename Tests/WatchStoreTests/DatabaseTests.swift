import Foundation
import Testing
import WatchStore

@Suite struct DatabaseTests {
    @Test func typedValuesRoundTrip() async throws {
        try await withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/t.db")
            try db.exec("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT, f INTEGER)")
            let instant = Date(timeIntervalSince1970: 1_780_000_000.25)
            let blob = Data([0, 1, 2, 255])
            let text = "é→\u{0}x ☃"   // non-ASCII and an embedded NUL
            try db.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", [Int64.max, 2.5, text, blob, SQLValue.null, true])
            try db.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", [Int64.min, instant, "", Data(), String?.none, false])
            let rows = try db.query("SELECT * FROM t ORDER BY rowid")
            #expect(rows.count == 2)
            #expect(try rows[0].get("i") == Int64.max)
            #expect(try rows[0].get("r") == 2.5)
            #expect(try rows[0].get("s") == text)
            #expect(try rows[0].get("b") == blob)
            #expect(try rows[0].get("n", as: String?.self) == nil)
            #expect(try rows[0].get("f") == true)
            #expect(try rows[1].get("i") == Int64.min)
            #expect(try rows[1].get("r") == instant)
            #expect(try rows[1].get("s") == "")
            #expect(rows[1]["b"] == .blob(Data()))   // an empty blob, not NULL
            #expect(try rows[1].get("f") == false)
            // Reading NULL as a non-optional, or text as a number, is an error, not a default.
            #expect(throws: StoreError.self) { try rows[0].get("n", as: String.self) }
            #expect(throws: StoreError.self) { try rows[0].get("s", as: Int64.self) }
            #expect(throws: StoreError.self) { try rows[0].get("missing", as: Int64.self) }
        }
    }

    @Test func cachedStatementsRebindEachRun() async throws {
        try await withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/t.db")
            try db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
            for k in 1...50 {
                try db.execute("INSERT INTO t (k, v) VALUES (?, ?)", [k, "v\(k)"])
            }
            #expect(db.lastInsertRowID == 50)
            for k in [7, 42, 1] {
                #expect(try db.scalar("SELECT v FROM t WHERE k = ?", [k], as: String.self) == "v\(k)")
            }
            #expect(try db.scalar("SELECT v FROM t WHERE k = ?", [999], as: String.self) == nil)
            #expect(try db.execute("UPDATE t SET v = 'x' WHERE k <= ?", [10]) == 10)
            let error = await storeError { try db.execute("SELECT ?, ?", [1]) }
            #expect(error?.kind == .misuse)
        }
    }

    @Test func connectionPragmas() async throws {
        try await withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/t.db")
            #expect(try db.scalar("PRAGMA journal_mode", as: String.self) == "wal")
            #expect(try db.scalar("PRAGMA synchronous", as: Int.self) == 2)      // FULL
            #expect(try db.scalar("PRAGMA foreign_keys", as: Int.self) == 1)
            #expect(try db.scalar("PRAGMA busy_timeout", as: Int.self) == 5000)
            let normal = try Database(path: dir + "/n.db", busyTimeout: .milliseconds(250), synchronous: .normal)
            #expect(try normal.scalar("PRAGMA synchronous", as: Int.self) == 1)
            #expect(try normal.scalar("PRAGMA busy_timeout", as: Int.self) == 250)
        }
    }

    @Test func transactionCommitsOrRollsBack() async throws {
        struct Abort: Error {}
        try await withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/t.db")
            try db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            let value = try db.transaction {
                try db.execute("INSERT INTO t VALUES (1)")
                return "done"
            }
            #expect(value == "done")
            #expect(throws: Abort.self) {
                try db.transaction {
                    try db.execute("INSERT INTO t VALUES (2)")
                    throw Abort()
                }
            }
            // A constraint failure midway also undoes the rows written before it.
            let duplicate = await storeError {
                try db.transaction {
                    try db.execute("INSERT INTO t VALUES (3)")
                    try db.execute("INSERT INTO t VALUES (1)")
                }
            }
            #expect(duplicate?.kind == .other)
            #expect(duplicate?.message.contains(dir + "/t.db") == true)
            #expect(duplicate?.message.contains("UNIQUE constraint failed") == true)
            #expect(!db.isInTransaction)
            #expect(try db.query("SELECT k FROM t").map { try $0.get("k", as: Int.self) } == [1])
            let nested = await storeError { try db.transaction { try db.transaction {} } }
            #expect(nested?.kind == .misuse)
        }
    }

    @Test func closedDatabaseRefusesWork() async throws {
        try await withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/t.db")
            db.close()
            db.close()
            #expect(!db.isOpen)
            let error = await storeError { try db.exec("SELECT 1") }
            #expect(error?.kind == .misuse)
        }
    }

    @Test func resultCodesMapToKinds() {
        // Primary and extended codes (sqlite3.h): the low byte decides.
        let cases: [(Int32, StoreError.Kind)] = [
            (5, .busy), (517, .busy) /* BUSY_SNAPSHOT */, (6, .busy) /* LOCKED */,
            (8, .readOnly), (1032, .readOnly) /* READONLY_DBMOVED */,
            (11, .corrupt), (26, .corrupt) /* NOTADB */, (13, .full),
            (10, .io), (778, .io) /* IOERR_WRITE */, (14, .cannotOpen), (21, .misuse), (19, .other),
        ]
        for (code, kind) in cases {
            let error = StoreError.sqlite(code: code, path: "/x/state.db", sqliteMessage: "msg", context: "ctx")
            #expect(error.kind == kind, "code \(code)")
            #expect(error.description.hasPrefix("/x/state.db: ctx: msg"))
        }
    }
}
