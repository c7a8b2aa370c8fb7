import CSQLite

/// Errors of the store. `description` says what happened and to which file.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for callers that react differently (retry on `busy`, stop on `corrupt`).
    public enum Kind: String, Sendable {
        case busy, readOnly, corrupt, full, io, cannotOpen, schemaTooNew, notFound, misuse, other
        /// The PostgreSQL session ended (server restart, terminated, timed out): with it went
        /// leadership; nothing more is written on it (docs/high-availability.md).
        case sessionLost
    }
    public var kind: Kind
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

extension StoreError {
    /// Maps an SQLite result code (primary or extended) to a kind and a message naming the file.
    public static func sqlite(code: Int32, path: String, sqliteMessage: String, context: String) -> StoreError {
        let kind: Kind
        switch code & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED: kind = .busy
        case SQLITE_READONLY: kind = .readOnly
        case SQLITE_CORRUPT, SQLITE_NOTADB: kind = .corrupt
        case SQLITE_FULL: kind = .full
        case SQLITE_IOERR: kind = .io
        case SQLITE_CANTOPEN: kind = .cannotOpen
        case SQLITE_MISUSE, SQLITE_RANGE: kind = .misuse
        default: kind = .other
        }
        let hint: String
        switch kind {
        case .busy: hint = " (another process holds the write lock; is a second daemon running on this file?)"
        case .corrupt: hint = " (the file is not an intact SQLite database; restore it from a backup or move it away)"
        case .full: hint = " (the disk or its quota is full)"
        case .readOnly: hint = " (the file or its directory is not writable)"
        default: hint = ""
        }
        return StoreError(kind: kind, message: "\(path): \(context): \(sqliteMessage)\(hint)")
    }
}
