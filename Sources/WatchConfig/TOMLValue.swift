/// A 1-based line and column in a source text, counted in Unicode scalars.
///
/// Every key and value of a parsed document carries one, so configuration errors can point at
/// the exact spot an operator has to fix (docs/configuration.md).
public struct SourcePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (lhs: SourcePosition, rhs: SourcePosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    /// The start of a document: where errors about the whole file point.
    public static let start = SourcePosition(line: 1, column: 1)

    public var description: String { "\(line):\(column)" }
}

/// A TOML value of the subset outpostwatch reads: TOML 1.0 without dates and times.
public indirect enum TOMLValue: Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([TOMLNode])
    case table(TOMLTable)

    /// The TOML type name used in messages such as "expected a string, found integer".
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .boolean: return "boolean"
        case .array: return "array"
        case .table: return "table"
        }
    }
}

/// A value together with where it starts in the source.
///
/// For a table opened by a `[header]` or an element of `[[array.of.tables]]`, the position is
/// the header's opening bracket; for a table created by a dotted key, the key part naming it.
public struct TOMLNode: Sendable {
    public var value: TOMLValue
    public var position: SourcePosition

    public init(value: TOMLValue, position: SourcePosition) {
        self.value = value
        self.position = position
    }
}

/// One key of a table: its name, where the key is written, and its value.
public struct TOMLEntry: Sendable {
    public var key: String
    /// Where the key part naming this entry is written (for `a.b.c = 1`, the entry `c`
    /// points at `c`), so "unknown key" errors point at the very word to fix.
    public var keyPosition: SourcePosition
    public var node: TOMLNode

    public init(key: String, keyPosition: SourcePosition, node: TOMLNode) {
        self.key = key
        self.keyPosition = keyPosition
        self.node = node
    }
}

/// A TOML table, its keys in the order they were first written.
public struct TOMLTable: Sendable {
    public private(set) var entries: [TOMLEntry]
    private var indexByKey: [String: Int]

    public init(entries: [TOMLEntry] = []) {
        self.entries = []
        self.indexByKey = [:]
        for entry in entries { self[entry.key] = entry }
    }

    public var keys: [String] { entries.map(\.key) }
    public var isEmpty: Bool { entries.isEmpty }

    /// The entry named `key`; assigning replaces it in place or appends it.
    public subscript(key: String) -> TOMLEntry? {
        get { indexByKey[key].map { entries[$0] } }
        set {
            if let index = indexByKey[key] {
                if let newValue {
                    entries[index] = newValue
                } else {
                    entries.remove(at: index)
                    indexByKey = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
                }
            } else if let newValue {
                indexByKey[key] = entries.count
                entries.append(newValue)
            }
        }
    }
}

/// A document that is not valid TOML (or uses dates/times, which the subset leaves out).
public struct TOMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var position: SourcePosition
    public var message: String

    public init(position: SourcePosition, message: String) {
        self.position = position
        self.message = message
    }

    public var description: String { "\(position.line):\(position.column): \(message)" }
}
