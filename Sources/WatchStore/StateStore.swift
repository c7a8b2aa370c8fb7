import Foundation
import WatchModel

/// Connection settings of a ``StateStore``; the defaults are the production ones.
public struct StoreOptions: Sendable {
    /// How long a writer waits for another connection's write lock before `.busy`.
    public var busyTimeout: Duration
    /// `.full` (default) makes every commit durable across power loss, as "nothing lost" needs.
    public var synchronous: SynchronousMode
    /// Caps the file size in pages (tests of a full disk where no small tmpfs can be mounted).
    public var maxPageCount: Int?

    public init(busyTimeout: Duration = .seconds(5), synchronous: SynchronousMode = .full, maxPageCount: Int? = nil) {
        self.busyTimeout = busyTimeout
        self.synchronous = synchronous
        self.maxPageCount = maxPageCount
    }
}

/// The history of outpostwatch: watched orders, their last state, every event, and the outbox of
/// deliveries to sinks; in an SQLite file, or in PostgreSQL shared by several daemons
/// (docs/high-availability.md).
///
/// One actor owns one connection; concurrent readers (`status`, `history` while the daemon
/// runs) open their own `StateStore` on the same file (WAL) or database. Every poll result is committed in
/// one transaction with its events and deliveries, so a crash loses none and records none twice.
public actor StateStore {
    /// The SQLite file, or the PostgreSQL URL without password.
    public nonisolated let path: String
    public nonisolated let readOnly: Bool
    /// Whether the store is the shared PostgreSQL one.
    public nonisolated let isShared: Bool
    let db: any SQLDatabase
    /// The store's own thread: its blocking calls never hold a thread the polls and HTTP need.
    private nonisolated let executor = StoreExecutor()

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }
    /// Poll times of quiet polls not written yet (``holdPollTime(_:polledAt:succeeded:)``).
    nonisolated let heldPollTimes = PollTimeBuffer()

    /// Opens (creating if needed) and migrates the database at `path`.
    ///
    /// `readOnly` opens an existing file without creating, migrating or writing anything; a
    /// missing file is `.cannotOpen`, a file of an older schema is `.other` (start the daemon once
    /// to migrate it), a newer one `.schemaTooNew`.
    public init(path: String, readOnly: Bool = false) throws {
        try self.init(path: path, readOnly: readOnly, options: StoreOptions())
    }

    /// Opens with explicit connection settings (tests, measurements).
    public init(path: String, readOnly: Bool = false, options: StoreOptions) throws {
        self.path = path
        self.readOnly = readOnly
        self.isShared = false
        let database = try Database(path: path, mode: readOnly ? .readOnly : .readWrite,
                                    busyTimeout: options.busyTimeout, synchronous: options.synchronous,
                                    maxPageCount: options.maxPageCount)
        if readOnly {
            let version = try database.userVersion()
            if version > Schema.currentVersion {
                throw StoreError.schemaTooNew(path: path, found: version, known: Schema.currentVersion)
            }
            if version < Schema.currentVersion {
                throw StoreError(kind: .other,
                                 message: "\(path): schema version \(version) is older than this outpostwatch's \(Schema.currentVersion); start the daemon once to migrate it")
            }
        } else {
            try Migrator().migrate(database)
        }
        self.db = database
    }

    /// The store on a PostgreSQL session the caller opened: the leader's lock session, or a
    /// command's own. `migrate` (the leader, holding the lock) runs the missing schema steps;
    /// otherwise a database without the current schema is refused, as a read-only SQLite file is.
    public init(postgres database: PostgresDatabase, migrate: Bool) throws {
        self.path = database.location
        self.readOnly = false
        self.isShared = true
        if migrate {
            try PostgresSchema.migrate(database)
        } else {
            let version = try PostgresSchema.version(database)
            if version > PostgresSchema.currentVersion {
                throw StoreError.schemaTooNew(path: database.location, found: version, known: PostgresSchema.currentVersion)
            }
            if version < PostgresSchema.currentVersion {
                throw StoreError(kind: .cannotOpen,
                                 message: "\(database.location): no outpostwatch store here yet (schema version \(version)); start the daemon once to create it")
            }
        }
        self.db = database
    }

    /// The leader's heartbeat on its own session, in turn with the store's transactions
    /// (docs/high-availability.md). Nothing to do for SQLite.
    public func leaderHeartbeat() throws {
        guard let session = db as? PostgresDatabase else { return }
        try session.leaderHeartbeat()
    }

    deinit {
        executor.shutdown()
    }

    /// Writes the unwritten poll times, then closes the connection; later calls throw `.misuse`.
    /// Closing also happens on deinit (without that write).
    public func close() {
        try? flushPollTimes()
        db.close()
    }

    /// Whether poll times are held in memory, waiting for ``flushPollTimes()``.
    public nonisolated var hasUnwrittenPollTimes: Bool { !heldPollTimes.isEmpty }

    /// A poll of `orderId` at `polledAt` that answered exactly what is stored: only its time
    /// changes, held in memory (no hop to the store's thread, no transaction) until the next
    /// transaction or ``flushPollTimes()`` writes it. Reads through this store see it at once.
    public nonisolated func holdPollTime(_ orderId: String, polledAt: Date, succeeded: Bool = true) {
        heldPollTimes.hold(orderId, polledAt: polledAt, succeeded: succeeded)
    }

    /// Writes the poll times of quiet polls held in memory, in one transaction.
    public func flushPollTimes() throws {
        guard !heldPollTimes.isEmpty else { return }
        let written = try db.transaction { try writePollTimes() }
        heldPollTimes.forget(written)
    }

    /// The poll-time updates, inside the caller's transaction; returns what it wrote, which the
    /// caller forgets (``PollTimeBuffer/forget(_:)``) once that transaction has committed.
    func writePollTimes() throws -> [String: PollTimeBuffer.Held] {
        let held = heldPollTimes.snapshot()
        for (orderId, times) in held {
            try db.execute("""
                UPDATE orders SET last_poll_at = ?1, last_success_at = coalesce(?2, last_success_at)
                WHERE order_id = ?3
                """, [times.polledAt, times.succeededAt, orderId])
        }
        return held
    }
}
