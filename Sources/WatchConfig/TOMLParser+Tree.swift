// The tree TOMLParser builds while parsing, converted to TOMLTable at the end.

/// Tables are classes while parsing because headers and dotted keys reopen tables deep in the
/// tree; the finished document is converted to value types.
final class MutableTable {
    /// How a table came to exist decides what may still add keys to it (TOML's "defined once" rules).
    enum Kind: Equatable {
        /// Created only as the parent of a header (`a` in `[a.b]`): a later `[a]` may still define it.
        case implicit
        /// Defined by its own `[header]` or as an element of `[[array]]`.
        case header
        /// Created by a dotted key; only further dotted keys of the same section may extend it.
        case dotted(section: Int)
        /// An inline table `{ … }`: closed once written.
        case inline
    }

    var kind: Kind
    var position: SourcePosition
    var order: [String] = []
    var entries: [String: MutableEntry] = [:]

    init(kind: Kind, position: SourcePosition) {
        self.kind = kind
        self.position = position
    }

    func insert(_ key: String, _ entry: MutableEntry) {
        if entries.updateValue(entry, forKey: key) == nil { order.append(key) }
    }
}

final class MutableArray {
    /// `[[name]]` arrays grow with each header; arrays written as `[ … ]` are closed.
    let ofTables: Bool
    var items: [MutableNode]

    init(ofTables: Bool, items: [MutableNode]) {
        self.ofTables = ofTables
        self.items = items
    }
}

enum MutableValue {
    case scalar(TOMLValue)
    case table(MutableTable)
    case array(MutableArray)
}

struct MutableNode {
    var value: MutableValue
    var position: SourcePosition

    func frozen() -> TOMLNode {
        switch value {
        case .scalar(let v):
            return TOMLNode(value: v, position: position)
        case .array(let array):
            return TOMLNode(value: .array(array.items.map { $0.frozen() }), position: position)
        case .table(let table):
            return TOMLNode(value: .table(table.frozen()), position: position)
        }
    }
}

struct MutableEntry {
    var keyPosition: SourcePosition
    var node: MutableNode
}

extension MutableTable {
    func frozen() -> TOMLTable {
        TOMLTable(entries: order.map { key in
            let entry = entries[key]!
            return TOMLEntry(key: key, keyPosition: entry.keyPosition, node: entry.node.frozen())
        })
    }
}

struct KeyPart {
    var name: String
    var position: SourcePosition
}
