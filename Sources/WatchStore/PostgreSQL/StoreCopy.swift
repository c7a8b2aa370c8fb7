import Foundation

/// `outpostwatch migrate-store`: copies a SQLite store into an empty PostgreSQL one, every row
/// of every table with the same ids, in one PostgreSQL transaction (docs/high-availability.md).
///
/// The target is migrated first (under the leader lock, as a daemon would), then, in one
/// transaction: refused unless empty, filled, its id sequences moved past the copied ids, and
/// the row counts of both sides compared; any failure rolls everything back.
public enum StoreCopy {
    /// How many rows of each table were copied.
    public struct Counts: Equatable, Sendable {
        public var orders: Int
        public var events: Int
        public var deliveries: Int
        public var attempts: Int

        public init(orders: Int, events: Int, deliveries: Int, attempts: Int) {
            self.orders = orders
            self.events = events
            self.deliveries = deliveries
            self.attempts = attempts
        }
    }

    /// The tables in an order that satisfies their foreign keys.
    static let tables = ["orders", "events", "deliveries", "delivery_attempts"]
    /// The tables whose `id` is a BIGSERIAL on PostgreSQL.
    static let serialTables = ["deliveries", "delivery_attempts"]
    /// At most this many parameters in one INSERT (PostgreSQL allows 65535).
    static let parametersPerInsert = 20_000

    public static func copy(from sqlite: Database, to postgres: PostgresDatabase) throws -> Counts {
        let version = try sqlite.userVersion()
        guard version == Schema.currentVersion else {
            throw StoreError(kind: .other, message: version < Schema.currentVersion
                ? "\(sqlite.location): schema version \(version), this outpostwatch copies version \(Schema.currentVersion): run the daemon or `outpostwatch once` on it first, to migrate it"
                : "\(sqlite.location): schema version \(version) is newer than this outpostwatch knows (\(Schema.currentVersion)): use the outpostwatch that wrote it")
        }
        // No daemon may lead (and write) while the copy runs, nor migrate at the same time.
        guard try postgres.tryLeaderLock() else {
            throw StoreError(kind: .busy, message: "\(postgres.location): an outpostwatch daemon leads this store: the target store is not empty or in use (stop the daemons; migrate-store copies only into an empty store)")
        }
        defer { _ = try? postgres.execute("SELECT pg_advisory_unlock(?)", [PostgresDatabase.leaderLockKey]) }
        try PostgresSchema.migrate(postgres)

        return try postgres.transaction(.immediate) {
            let existing = try Dictionary(uniqueKeysWithValues: ["orders", "events", "deliveries"].map {
                ($0, try count($0, in: postgres))
            })
            if existing.values.contains(where: { $0 > 0 }) {
                throw StoreError(kind: .other, message: "the target store is not empty (\(existing["orders"] ?? 0) orders, \(existing["events"] ?? 0) events): migrate-store copies only into an empty store")
            }
            // One read transaction on the source: a consistent picture even with a writer running.
            let source: [String: Int] = try sqlite.transaction(.deferred) {
                var counts: [String: Int] = [:]
                for table in tables {
                    let rows = try sqlite.query("SELECT * FROM \(table) ORDER BY rowid")
                    try insert(rows, into: table, postgres)
                    counts[table] = try count(table, in: sqlite)
                }
                return counts
            }
            for table in serialTables {
                _ = try postgres.query("SELECT setval(pg_get_serial_sequence('\(table)', 'id'), coalesce(max(id), 0) + 1, false) FROM \(table)")
            }
            for table in tables {
                let copied = try count(table, in: postgres)
                guard copied == source[table] else {
                    throw StoreError(kind: .other, message: "\(postgres.location): \(table): \(copied) rows after the copy, \(source[table] ?? 0) in \(sqlite.location): nothing copied")
                }
            }
            return Counts(orders: source["orders"] ?? 0, events: source["events"] ?? 0,
                          deliveries: source["deliveries"] ?? 0, attempts: source["delivery_attempts"] ?? 0)
        }
    }

    private static func count(_ table: String, in db: some SQLDatabase) throws -> Int {
        try db.scalar("SELECT count(*) FROM \(table)", as: Int.self) ?? 0
    }

    /// Inserts `rows` (all of one table, every column) in batches of multi-row INSERTs.
    private static func insert(_ rows: [Row], into table: String, _ postgres: PostgresDatabase) throws {
        guard let columns = rows.first?.columns, !columns.isEmpty else { return }
        let perBatch = max(1, parametersPerInsert / columns.count)
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var start = 0
        while start < rows.count {
            let batch = rows[start ..< min(rows.count, start + perBatch)]
            let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                + Array(repeating: tuple, count: batch.count).joined(separator: ", ")
            try postgres.execute(sql, batch.flatMap { $0.values as [any SQLValueConvertible] })
            start += batch.count
        }
    }
}
