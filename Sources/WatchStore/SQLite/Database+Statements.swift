import CSQLite
import Foundation

// SQLITE_TRANSIENT does not import into Swift (it is a cast macro): -1 as a destructor tells
// SQLite to copy the bound bytes before the bind call returns.
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

// Preparing, binding, stepping and reading statements, and mapping SQLite failures to StoreError.

extension Database {
    func openHandle() throws -> OpaquePointer {
        guard let handle else {
            throw StoreError(kind: .misuse, message: "\(path): database is closed")
        }
        return handle
    }

    func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] {
            return statement
        }
        let handle = try openHandle()
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw failure(rc, Self.summary(sql))
        }
        statements[sql] = statement
        return statement
    }

    func step(_ sql: String, _ parameters: [any SQLValueConvertible],
                      row: (OpaquePointer, [String]) throws -> Void) throws {
        let statement = try prepared(sql)
        // Reset at the end, not only at the start: a statement left mid-result holds its read
        // transaction open, which would block WAL checkpoints.
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        let expected = Int(sqlite3_bind_parameter_count(statement))
        guard expected == parameters.count else {
            throw StoreError(kind: .misuse,
                             message: "\(path): \(Self.summary(sql)) takes \(expected) parameters, got \(parameters.count)")
        }
        for (offset, parameter) in parameters.enumerated() {
            let rc = Self.bind(parameter.sqlValue, to: statement, at: Int32(offset + 1))
            if rc != SQLITE_OK {
                throw failure(rc, Self.summary(sql))
            }
        }
        var columns: [String]?
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE {
                return
            }
            guard rc == SQLITE_ROW else {
                throw failure(rc, Self.summary(sql))
            }
            if columns == nil {
                columns = (0..<sqlite3_column_count(statement)).map { String(cString: sqlite3_column_name(statement, $0)) }
            }
            try row(statement, columns!)
        }
    }

    private static func bind(_ value: SQLValue, to statement: OpaquePointer, at index: Int32) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(statement, index)
        case .integer(let v):
            return sqlite3_bind_int64(statement, index, v)
        case .real(let v):
            return sqlite3_bind_double(statement, index, v)
        case .text(let v):
            var text = v
            // An explicit byte count: Swift strings may hold NUL, and need no terminator this way.
            return text.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    if let base = chars.baseAddress {
                        return sqlite3_bind_text(statement, index, base, Int32(chars.count), transientDestructor)
                    }
                    return sqlite3_bind_text(statement, index, "", 0, transientDestructor)
                }
            }
        case .blob(let v):
            if v.isEmpty {
                // A nil pointer would bind NULL, not an empty blob.
                return sqlite3_bind_zeroblob(statement, index, 0)
            }
            return v.withUnsafeBytes { bytes in
                sqlite3_bind_blob(statement, index, bytes.baseAddress, Int32(bytes.count), transientDestructor)
            }
        }
    }

    static func readRow(_ statement: OpaquePointer, count: Int) -> [SQLValue] {
        (0..<Int32(count)).map { index in
            switch sqlite3_column_type(statement, index) {
            case SQLITE_INTEGER:
                return .integer(sqlite3_column_int64(statement, index))
            case SQLITE_FLOAT:
                return .real(sqlite3_column_double(statement, index))
            case SQLITE_TEXT:
                let bytes = Int(sqlite3_column_bytes(statement, index))
                guard let text = sqlite3_column_text(statement, index) else { return .text("") }
                return .text(String(decoding: UnsafeBufferPointer(start: text, count: bytes), as: UTF8.self))
            case SQLITE_BLOB:
                let bytes = Int(sqlite3_column_bytes(statement, index))
                guard bytes > 0, let blob = sqlite3_column_blob(statement, index) else { return .blob(Data()) }
                return .blob(Data(bytes: blob, count: bytes))
            default:
                return .null
            }
        }
    }

    // MARK: Errors

    /// The first line of a statement, short enough for an error message.
    static func summary(_ sql: String) -> String {
        let line = sql.split(whereSeparator: \.isNewline).first.map(String.init) ?? sql
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.count > 60 ? String(trimmed.prefix(60)) + "…" : trimmed
    }

    func failure(_ code: Int32, _ context: String) -> StoreError {
        var message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        // "disk I/O error" alone does not say what the system refused (a read-only file system,
        // a vanished device): the operating system's error does.
        if code & 0xff == SQLITE_IOERR, let handle {
            let systemError = sqlite3_system_errno(handle)
            if systemError != 0 { message += " (\(String(cString: strerror(systemError))))" }
        }
        return StoreError.sqlite(code: code, path: path, sqliteMessage: message, context: context)
    }
}
