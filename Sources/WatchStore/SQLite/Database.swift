import CSQLite
import Foundation
import Support

/// How a transaction takes its locks.
public enum TransactionKind: String, Sendable {
    /// Takes the write lock only at the first write: for read-only snapshots.
    case deferred = "DEFERRED"
    /// Takes the write lock at BEGIN, so a writer waits (busy_timeout) at the start instead of
    /// failing with SQLITE_BUSY midway, when upgrading a read lock is impossible in WAL mode.
    case immediate = "IMMEDIATE"
}

/// `PRAGMA synchronous` settings that are safe with WAL.
///
/// Measured on this project's 2-core VM disk (300 commits of one event and two deliveries, while
/// other builds ran): FULL 230–730 commits/s, NORMAL 1000–2400 commits/s. A busy daemon commits a
/// few polls per second at most, so FULL costs nothing that matters and keeps "nothing lost".
public enum SynchronousMode: String, Sendable {
    /// fsync at every commit: a committed transaction survives power loss ("nothing lost").
    case full = "FULL"
    /// fsync only at checkpoints: faster, but the last transactions can vanish on power loss
    /// (never corrupts). Only for tests and measurements.
    case normal = "NORMAL"
}

/// A thin owner of one SQLite connection: open with our PRAGMAs, run statements (prepared once
/// and cached by SQL text), typed binding and reading, transactions that roll back on error,
/// and every failure mapped to a ``StoreError`` naming the file.
///
/// Not `Sendable`: one connection belongs to one isolation domain (``StateStore`` is its actor).
public final class Database: SQLDatabase {
    /// Whether the connection may write and create the file.
    public enum Mode: Sendable {
        case readWrite
        /// Never creates the file, never writes; reads the WAL a running writer keeps.
        case readOnly
    }

    public let path: String
    public let mode: Mode
    private let busyTimeout: Duration
    private let synchronous: SynchronousMode
    private let maxPageCount: Int?
    var handle: OpaquePointer?
    var statements: [String: OpaquePointer] = [:]

    /// Opens `path` and applies the connection PRAGMAs: WAL (read-write only), `busy_timeout`,
    /// `foreign_keys=ON` and `synchronous`.
    ///
    /// `maxPageCount` caps the file size (in pages) on this connection: a way to provoke
    /// `SQLITE_FULL` in tests where no small filesystem can be mounted.
    public init(path: String, mode: Mode = .readWrite, busyTimeout: Duration = .seconds(5),
                synchronous: SynchronousMode = .full, maxPageCount: Int? = nil) throws {
        self.path = path
        self.mode = mode
        self.busyTimeout = busyTimeout
        self.synchronous = synchronous
        self.maxPageCount = maxPageCount
        let fileManager = FileManager.default
        let directory = (path as NSString).deletingLastPathComponent
        switch mode {
        case .readOnly:
            guard fileManager.fileExists(atPath: path) else {
                throw StoreError(kind: .cannotOpen,
                                 message: "\(path): no such database (outpostwatch creates it when the daemon first runs)")
            }
        case .readWrite:
            if !directory.isEmpty && !fileManager.fileExists(atPath: directory) {
                throw StoreError(kind: .cannotOpen, message: "\(path): directory \(directory) does not exist")
            }
        }

        do {
            try open(mode == .readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                     uri: nil)
            try configure(busyTimeout: busyTimeout, synchronous: synchronous)
        } catch let error as StoreError where mode == .readOnly && error.kind == .cannotOpen
                    && !fileManager.fileExists(atPath: path + "-wal") {
            // A WAL database in a directory this user cannot write, with no writer running, has no
            // -shm to map and cannot create one. Without a -wal file every committed transaction
            // is in the main file, so reading it as immutable is exact.
            close()
            do {
                try open(SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, uri: Self.immutableURI(path))
                try configure(busyTimeout: busyTimeout, synchronous: synchronous)
            } catch {
                close()
                throw error
            }
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
    }

    private static func immutableURI(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        let encoded = absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute
        return "file:\(encoded)?immutable=1"
    }

    private func open(_ flags: Int32, uri: String?) throws {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(uri ?? path, &db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        handle = db
        if rc != SQLITE_OK {
            let error = failure(rc, "open")
            close()
            throw error
        }
    }

    private func configure(busyTimeout: Duration, synchronous: SynchronousMode) throws {
        sqlite3_busy_timeout(handle, Int32(clamping: busyTimeout.milliseconds))
        if mode == .readWrite {
            // A file we may not write opens read-only without an error; say so now, not at the first commit.
            if sqlite3_db_readonly(handle, "main") == 1 {
                throw StoreError(kind: .readOnly, message: "\(path): the database file is read-only for this process")
            }
            let journal = try query("PRAGMA journal_mode=WAL").first?.values.first
            guard journal == .text("wal") else {
                throw StoreError(kind: .io, message: "\(path): cannot switch to WAL journal mode (got \(String(describing: journal)))")
            }
            try exec("PRAGMA synchronous=\(synchronous.rawValue)")
        } else {
            // Reads the header: a file that is not a database fails here, at open, not later.
            _ = try query("PRAGMA schema_version")
        }
        try exec("PRAGMA foreign_keys=ON")
        if let maxPageCount {
            _ = try query("PRAGMA max_page_count=\(maxPageCount)")
        }
    }

    /// Finalizes every cached statement and closes the connection (the last connection of a WAL
    /// database checkpoints and removes the -wal file). Idempotent.
    public func close() {
        for statement in statements.values {
            sqlite3_finalize(statement)
        }
        statements.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
        }
        handle = nil
    }

    public var isOpen: Bool { handle != nil }

    public var location: String { path }
    public var dialect: SQLDialect { .sqlite }

    /// Whether a transaction is open on this connection.
    public var isInTransaction: Bool {
        guard let handle else { return false }
        return sqlite3_get_autocommit(handle) == 0
    }

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    /// Rows changed by the last INSERT/UPDATE/DELETE (cascaded deletes not included).
    public var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }

    // MARK: Running SQL

    /// Runs one or more statements without parameters (schema, PRAGMAs, BEGIN/COMMIT).
    public func exec(_ sql: String) throws {
        let handle = try openHandle()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        sqlite3_free(errorMessage)
        if rc != SQLITE_OK {
            throw failure(rc, Self.summary(sql))
        }
    }

    /// Runs one statement with `parameters` bound to `?`/`?NNN` in order; returns the rows it
    /// changed.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any SQLValueConvertible] = []) throws -> Int {
        try step(sql, parameters) { _, _ in }
        return changes
    }

    /// Runs one statement and returns every row.
    public func query(_ sql: String, _ parameters: [any SQLValueConvertible] = []) throws -> [Row] {
        var rows: [Row] = []
        try step(sql, parameters) { statement, columns in
            rows.append(Row(columns: columns, values: Self.readRow(statement, count: columns.count)))
        }
        return rows
    }

    /// The first column of the first row as `T`, or `nil` when there is no row.
    public func scalar<T: SQLValueConvertible>(_ sql: String, _ parameters: [any SQLValueConvertible] = [],
                                               as type: T.Type = T.self) throws -> T? {
        guard let row = try query(sql, parameters).first else { return nil }
        return try row.get(0, as: T.self)
    }

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it (or COMMIT) throws,
    /// so either everything `body` wrote is stored or nothing is.
    public func transaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        guard !isInTransaction else {
            throw StoreError(kind: .misuse, message: "\(path): nested transaction")
        }
        if kind == .immediate && mode == .readWrite {
            try ensureFileNotMoved()
        }
        try exec("BEGIN \(kind.rawValue)")
        do {
            let result = try body()
            try exec("COMMIT")
            return result
        } catch {
            // Some errors (SQLITE_FULL, SQLITE_IOERR) roll back by themselves; ROLLBACK then fails.
            if isInTransaction, let handle {
                sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            }
            throw error
        }
    }

    /// `PRAGMA user_version`: the schema version this file was migrated to.
    public func userVersion() throws -> Int {
        try scalar("PRAGMA user_version", as: Int.self) ?? 0
    }

    /// In WAL mode SQLite does not notice that its file was deleted or replaced: it keeps writing
    /// into the unlinked inode and everything vanishes at close. So before each write transaction:
    /// a deleted file is rebuilt at `path` from this connection, which still sees every committed
    /// transaction, and the caller gets an `.io` error saying so (retrying then works); a file
    /// replaced by another one is never overwritten: `.io`, restart to use the new file.
    public func ensureFileNotMoved() throws {
        let handle = try openHandle()
        var moved: Int32 = 0
        let rc = sqlite3_file_control(handle, "main", SQLITE_FCNTL_HAS_MOVED, &moved)
        guard rc == SQLITE_OK && moved != 0 else { return }
        guard mode == .readWrite, !FileManager.default.fileExists(atPath: path) else {
            throw StoreError(kind: .io,
                             message: "\(path): the database file was replaced while open; not writing to it (restart outpostwatch to use the new file)")
        }
        try restoreDeletedFile()
        throw StoreError(kind: .io,
                         message: "\(path): the database file was deleted while open; rebuilt it from the open connection with every committed transaction (retry)")
    }

    private func restoreDeletedFile() throws {
        let fileManager = FileManager.default
        let restored = path + ".restore-\(getpid())"
        try? fileManager.removeItem(atPath: restored)
        // VACUUM INTO reads through this connection, WAL included: a complete, consistent copy.
        try execute("VACUUM INTO ?", [restored])
        close()
        // The -wal and -shm left under the old name belong to the deleted file; a connection to the
        // rebuilt file would replay those frames over it, so they must go before it takes the name.
        try? fileManager.removeItem(atPath: path + "-wal")
        try? fileManager.removeItem(atPath: path + "-shm")
        // link, not rename: a file someone put there meanwhile is theirs and is never replaced.
        if link(restored, path) != 0 {
            let reason = String(cString: strerror(errno))
            throw StoreError(kind: .io,
                             message: "\(path): cannot put the rebuilt database in place (\(reason)); it is at \(restored)")
        }
        unlink(restored)
        try open(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, uri: nil)
        try configure(busyTimeout: busyTimeout, synchronous: synchronous)
    }

}
