import Foundation

/// One connection to the store's database, SQLite or PostgreSQL: what ``StateStore`` needs to run
/// its SQL, and nothing more (docs/high-availability.md).
///
/// Statements use SQLite's parameter forms (`?` and `?NNN`); a PostgreSQL connection rewrites
/// them to `$N`. The few expressions the two dialects spell differently come from ``dialect``.
/// Not `Sendable`: a connection belongs to one isolation domain (the store's actor).
public protocol SQLDatabase: AnyObject {
    /// The file path, or the PostgreSQL URL without password: for messages.
    var location: String { get }
    var dialect: SQLDialect { get }
    /// Whether a transaction is open on this connection.
    var isInTransaction: Bool { get }
    /// Runs one statement with `parameters` bound in order; returns the rows it changed.
    @discardableResult
    func execute(_ sql: String, _ parameters: [any SQLValueConvertible]) throws -> Int
    /// Runs one statement and returns every row.
    func query(_ sql: String, _ parameters: [any SQLValueConvertible]) throws -> [Row]
    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it (or COMMIT) throws.
    func transaction<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T
    /// Closes the connection; later calls throw `.misuse`. Idempotent.
    func close()
}

extension SQLDatabase {
    @discardableResult
    public func execute(_ sql: String) throws -> Int {
        try execute(sql, [])
    }

    public func query(_ sql: String) throws -> [Row] {
        try query(sql, [])
    }

    /// The first column of the first row as `T`, or `nil` when there is no row.
    public func scalar<T: SQLValueConvertible>(_ sql: String, _ parameters: [any SQLValueConvertible] = [],
                                               as type: T.Type = T.self) throws -> T? {
        guard let row = try query(sql, parameters).first else { return nil }
        return try row.get(0, as: T.self)
    }

    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try transaction(.immediate, body)
    }
}

/// The expressions SQLite and PostgreSQL spell differently.
public enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// The text at a JSON path of a column holding JSON text: `jsonText("body", "line_item", "id")`.
    public func jsonText(_ column: String, _ path: String...) -> String {
        switch self {
        case .sqlite: return "json_extract(\(column), '$.\(path.joined(separator: "."))')"
        case .postgres: return "(\(column)::jsonb #>> '{\(path.joined(separator: ","))}')"
        }
    }

    /// A set of strings from a parameter holding a JSON array of strings (`?2`), usable after `IN`.
    public func stringsOf(_ parameter: String) -> String {
        switch self {
        case .sqlite: return "(SELECT value FROM json_each(\(parameter)))"
        case .postgres: return "(SELECT jsonb_array_elements_text(\(parameter)::jsonb))"
        }
    }
}
