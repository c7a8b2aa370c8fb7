/// A parser for the TOML 1.0 subset of outpostwatch's configuration: everything but dates and
/// times, which it rejects with a clear message.
///
/// Written here rather than taken from a library because no TOML library on this platform keeps
/// the position of every key and value, and docs/configuration.md promises a line and column for every
/// configuration error. The statement grammar and the table-redefinition rules follow Python's
/// `tomllib` (the reference the tests compare against), with 64-bit integers as TOML requires.
public enum TOMLParser {
    /// Parses a whole document; the first syntax error ends parsing (TOML has no safe way to resume).
    public static func parse(_ text: String) throws(TOMLSyntaxError) -> TOMLTable {
        var parser = Parser(text: text)
        return try parser.parseDocument()
    }
}

// MARK: - The mutable tree built while parsing

/// Tables are classes while parsing because headers and dotted keys reopen tables deep in the
/// tree; the finished document is converted to value types.
private final class MutableTable {
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

private final class MutableArray {
    /// `[[name]]` arrays grow with each header; arrays written as `[ … ]` are closed.
    let ofTables: Bool
    var items: [MutableNode]

    init(ofTables: Bool, items: [MutableNode]) {
        self.ofTables = ofTables
        self.items = items
    }
}

private enum MutableValue {
    case scalar(TOMLValue)
    case table(MutableTable)
    case array(MutableArray)
}

private struct MutableNode {
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

private struct MutableEntry {
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

private struct KeyPart {
    var name: String
    var position: SourcePosition
}

// MARK: - Character classes

private extension Unicode.Scalar {
    var isTOMLWhitespace: Bool { self == " " || self == "\t" }
    var isBareKeyChar: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
            || self == "-" || self == "_"
    }
    var isDecimalDigit: Bool { ("0"..."9").contains(self) }
    var isHexDigit: Bool { isDecimalDigit || ("a"..."f").contains(self) || ("A"..."F").contains(self) }
    /// ASCII control characters; TOML allows tab everywhere and newline only in multi-line strings.
    var isControl: Bool { value < 0x20 || value == 0x7F }
    /// Characters that may not directly follow a number or boolean: they would make it another token.
    var continuesToken: Bool { isBareKeyChar || self == "." || self == ":" || self == "+" }

    /// How a character is shown in a message: visible characters quoted, others as U+XXXX.
    var quotedForMessage: String {
        if isControl || value == 0x20 {
            let hex = String(value, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
        return "'\(Character(self))'"
    }
}

// MARK: - Parser

private struct Parser {
    private let text: [Unicode.Scalar]
    private var pos = 0
    /// Index in `text` where each line starts, for turning indices into line and column.
    private let lineStarts: [Int]
    private let root = MutableTable(kind: .header, position: .start)
    private var current: MutableTable
    private var currentSection = 0
    private var sectionCounter = 0
    /// Arrays and inline tables open around the current position.
    private var nesting = 0

    /// How deep arrays and inline tables may nest, and how many parts a dotted key may have: the
    /// parser and every reader of the tree recurse once per level (a file of 20 KB nesting 10 000
    /// arrays overflowed the stack), and a configuration needs three levels.
    static let maxNesting = 32
    static let maxKeyParts = 32

    init(text source: String) {
        // TOML lets a parser read CRLF as LF, even inside strings; a lone CR stays and is rejected.
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(source.unicodeScalars.count)
        var iterator = source.unicodeScalars.makeIterator()
        var pending = iterator.next()
        while let scalar = pending {
            let next = iterator.next()
            if !(scalar == "\r" && next == "\n") { scalars.append(scalar) }
            pending = next
        }
        text = scalars
        var starts = [0]
        for (index, scalar) in scalars.enumerated() where scalar == "\n" { starts.append(index + 1) }
        lineStarts = starts
        current = root
    }

    // MARK: positions and errors

    private func position(_ index: Int) -> SourcePosition {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= index { low = mid } else { high = mid - 1 }
        }
        return SourcePosition(line: low + 1, column: index - lineStarts[low] + 1)
    }

    private func error(_ message: String, at index: Int) -> TOMLSyntaxError {
        TOMLSyntaxError(position: position(index), message: message)
    }

    private func error(_ message: String, at position: SourcePosition) -> TOMLSyntaxError {
        TOMLSyntaxError(position: position, message: message)
    }

    private var atEnd: Bool { pos >= text.count }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        let index = pos + offset
        return index < text.count ? text[index] : nil
    }

    private func starts(with literal: String, at index: Int? = nil) -> Bool {
        var i = index ?? pos
        for scalar in literal.unicodeScalars {
            guard i < text.count, text[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    private mutating func skipWhitespace() {
        while let c = peek(), c.isTOMLWhitespace { pos += 1 }
    }

    private mutating func nextSectionID() -> Int {
        sectionCounter += 1
        return sectionCounter
    }

    // MARK: document and statements

    mutating func parseDocument() throws(TOMLSyntaxError) -> TOMLTable {
        while true {
            skipWhitespace()
            guard let c = peek() else { break }
            if c == "\n" {
                pos += 1
                continue
            }
            if c.isBareKeyChar || c == "\"" || c == "'" {
                try keyValueStatement()
                skipWhitespace()
            } else if c == "[" {
                if peek(1) == "[" { try arrayOfTablesHeader() } else { try tableHeader() }
                skipWhitespace()
            } else if c != "#" {
                throw error("unexpected \(c.quotedForMessage): expected a key, a [table] header or a comment",
                            at: pos)
            }
            try skipComment()
            guard let end = peek() else { break }
            if end != "\n" {
                throw error("unexpected \(end.quotedForMessage) after a statement: expected the end of the line",
                            at: pos)
            }
            pos += 1
        }
        return root.frozen()
    }

    private mutating func skipComment() throws(TOMLSyntaxError) {
        guard peek() == "#" else { return }
        pos += 1
        while let c = peek(), c != "\n" {
            if c.isControl && c != "\t" {
                throw error("control character \(c.quotedForMessage) is not allowed in a comment", at: pos)
            }
            pos += 1
        }
    }

    /// Whitespace, newlines and comments, as allowed between the elements of an array.
    private mutating func skipArrayFiller() throws(TOMLSyntaxError) {
        while true {
            let before = pos
            while let c = peek(), c.isTOMLWhitespace || c == "\n" { pos += 1 }
            try skipComment()
            if pos == before { return }
        }
    }

    private mutating func keyValueStatement() throws(TOMLSyntaxError) {
        let (parts, node) = try keyValuePair()
        try insert(parts, node, into: current, section: currentSection)
    }

    private mutating func keyValuePair() throws(TOMLSyntaxError) -> ([KeyPart], MutableNode) {
        let parts = try parseKey()
        guard peek() == "=" else {
            if let c = peek(), c != "\n" {
                throw error("unexpected \(c.quotedForMessage) after the key \(Self.display(parts)): expected '='",
                            at: pos)
            }
            throw error("expected '=' after the key \(Self.display(parts))", at: pos)
        }
        pos += 1
        skipWhitespace()
        return (parts, try parseValue())
    }

    // MARK: keys

    private mutating func parseKey() throws(TOMLSyntaxError) -> [KeyPart] {
        var parts = [try parseKeyPart()]
        skipWhitespace()
        while peek() == "." {
            guard parts.count < Self.maxKeyParts else {
                throw error("a key of more than \(Self.maxKeyParts) dotted parts", at: pos)
            }
            pos += 1
            skipWhitespace()
            parts.append(try parseKeyPart())
            skipWhitespace()
        }
        return parts
    }

    private mutating func parseKeyPart() throws(TOMLSyntaxError) -> KeyPart {
        let start = pos
        guard let c = peek() else { throw error("expected a key, found the end of the document", at: pos) }
        if c.isBareKeyChar {
            var name = String.UnicodeScalarView()
            while let k = peek(), k.isBareKeyChar {
                name.append(k)
                pos += 1
            }
            return KeyPart(name: String(name), position: position(start))
        }
        if c == "\"" {
            pos += 1
            return KeyPart(name: try basicStringBody(multiline: false, openedAt: start), position: position(start))
        }
        if c == "'" {
            pos += 1
            return KeyPart(name: try literalStringBody(openedAt: start), position: position(start))
        }
        throw error("unexpected \(c.quotedForMessage): expected a key (bare keys use A-Z a-z 0-9 _ -)", at: pos)
    }

    private static func display(_ parts: [KeyPart]) -> String {
        TOMLKeyPath.display(parts.map(\.name))
    }

    // MARK: tables

    private mutating func tableHeader() throws(TOMLSyntaxError) {
        let open = pos
        pos += 1
        skipWhitespace()
        let parts = try parseKey()
        guard peek() == "]" else { throw error("expected ']' to close the table header", at: pos) }
        pos += 1
        currentSection = nextSectionID()

        var table = root
        for (index, part) in parts.dropLast().enumerated() {
            table = try descendForHeader(table, part, path: parts[...index])
        }
        let last = parts[parts.count - 1]
        let name = Self.display(parts)
        if let existing = table.entries[last.name] {
            switch existing.node.value {
            case .table(let sub):
                switch sub.kind {
                case .implicit:
                    sub.kind = .header
                    sub.position = position(open)
                    current = sub
                    return
                case .header:
                    throw error("table [\(name)] is defined twice (first at \(sub.position))", at: last.position)
                case .dotted:
                    throw error("table [\(name)] was already defined by dotted keys at \(existing.keyPosition)",
                                at: last.position)
                case .inline:
                    throw error("table [\(name)] was already defined as an inline table at \(sub.position)",
                                at: last.position)
                }
            case .array(let array):
                throw error(array.ofTables
                            ? "[\(name)] is an array of tables ([[\(name)]]) defined at \(existing.keyPosition)"
                            : "key \(name) is already an array (at \(existing.keyPosition))", at: last.position)
            case .scalar:
                throw error("key \(name) already has a value (at \(existing.keyPosition))", at: last.position)
            }
        }
        let sub = MutableTable(kind: .header, position: position(open))
        table.insert(last.name, MutableEntry(keyPosition: last.position,
                                             node: MutableNode(value: .table(sub), position: position(open))))
        current = sub
    }

    private mutating func arrayOfTablesHeader() throws(TOMLSyntaxError) {
        let open = pos
        pos += 2
        skipWhitespace()
        let parts = try parseKey()
        guard starts(with: "]]") else {
            throw error("expected ']]' to close the array-of-tables header", at: pos)
        }
        pos += 2
        currentSection = nextSectionID()

        var table = root
        for (index, part) in parts.dropLast().enumerated() {
            table = try descendForHeader(table, part, path: parts[...index])
        }
        let last = parts[parts.count - 1]
        let name = Self.display(parts)
        let element = MutableTable(kind: .header, position: position(open))
        let elementNode = MutableNode(value: .table(element), position: position(open))
        if let existing = table.entries[last.name] {
            switch existing.node.value {
            case .array(let array) where array.ofTables:
                array.items.append(elementNode)
            case .array:
                throw error("cannot append to \(name): it is a static array defined at \(existing.keyPosition)",
                            at: last.position)
            case .table:
                throw error("[[\(name)]] conflicts with the table \(name) defined at \(existing.keyPosition)",
                            at: last.position)
            case .scalar:
                throw error("key \(name) already has a value (at \(existing.keyPosition))", at: last.position)
            }
        } else {
            let array = MutableArray(ofTables: true, items: [elementNode])
            table.insert(last.name, MutableEntry(keyPosition: last.position,
                                                 node: MutableNode(value: .array(array), position: position(open))))
        }
        current = element
    }

    /// Walks one key part of a header: any non-inline table may hold a sub-table, and an array
    /// of tables stands for its last element.
    private func descendForHeader(_ table: MutableTable, _ part: KeyPart,
                                  path: ArraySlice<KeyPart>) throws(TOMLSyntaxError) -> MutableTable {
        let name = Self.display(Array(path))
        guard let existing = table.entries[part.name] else {
            let sub = MutableTable(kind: .implicit, position: part.position)
            table.insert(part.name, MutableEntry(keyPosition: part.position,
                                                 node: MutableNode(value: .table(sub), position: part.position)))
            return sub
        }
        switch existing.node.value {
        case .table(let sub):
            if sub.kind == .inline {
                throw error("cannot extend the inline table \(name) defined at \(sub.position)", at: part.position)
            }
            return sub
        case .array(let array):
            guard array.ofTables, case .table(let last)? = array.items.last?.value else {
                throw error("cannot extend \(name): it is a static array defined at \(existing.keyPosition)",
                            at: part.position)
            }
            return last
        case .scalar:
            throw error("key \(name) already has a value (at \(existing.keyPosition)), it cannot be a table",
                        at: part.position)
        }
    }

    /// Adds `a.b.c = value` to `table`, creating `a` and `a.b` as dotted-key tables.
    private func insert(_ parts: [KeyPart], _ node: MutableNode, into table: MutableTable,
                        section: Int) throws(TOMLSyntaxError) {
        var target = table
        for (index, part) in parts.dropLast().enumerated() {
            let name = Self.display(Array(parts[...index]))
            guard let existing = target.entries[part.name] else {
                let sub = MutableTable(kind: .dotted(section: section), position: part.position)
                target.insert(part.name, MutableEntry(keyPosition: part.position,
                                                      node: MutableNode(value: .table(sub), position: part.position)))
                target = sub
                continue
            }
            switch existing.node.value {
            case .table(let sub):
                switch sub.kind {
                case .implicit:
                    sub.kind = .dotted(section: section)
                case .dotted(let defined) where defined == section:
                    break
                case .dotted:
                    throw error("cannot add to table \(name) here: it was defined by dotted keys in an earlier section (at \(existing.keyPosition))",
                                at: part.position)
                case .header:
                    throw error("cannot add to table \(name) with a dotted key: it has its own [header] at \(sub.position)",
                                at: part.position)
                case .inline:
                    throw error("cannot extend the inline table \(name) defined at \(sub.position)",
                                at: part.position)
                }
                target = sub
            case .array:
                throw error("cannot add keys to the array \(name) defined at \(existing.keyPosition)",
                            at: part.position)
            case .scalar:
                throw error("key \(name) already has a value (at \(existing.keyPosition)), it cannot be a table",
                            at: part.position)
            }
        }
        let last = parts[parts.count - 1]
        if let existing = target.entries[last.name] {
            throw error("duplicate key \(Self.display(parts)): already defined at \(existing.keyPosition)",
                        at: last.position)
        }
        target.insert(last.name, MutableEntry(keyPosition: last.position, node: node))
    }

    // MARK: values

    private mutating func parseValue() throws(TOMLSyntaxError) -> MutableNode {
        let start = pos
        let at = position(start)
        guard let c = peek() else { throw error("expected a value, found the end of the document", at: pos) }
        switch c {
        case "\"":
            if starts(with: "\"\"\"") {
                pos += 3
                return MutableNode(value: .scalar(.string(try multilineBasicString(openedAt: start))), position: at)
            }
            pos += 1
            return MutableNode(value: .scalar(.string(try basicStringBody(multiline: false, openedAt: start))),
                               position: at)
        case "'":
            if starts(with: "'''") {
                pos += 3
                return MutableNode(value: .scalar(.string(try multilineLiteralString(openedAt: start))), position: at)
            }
            pos += 1
            return MutableNode(value: .scalar(.string(try literalStringBody(openedAt: start))), position: at)
        case "[":
            return MutableNode(value: .array(try parseArray()), position: at)
        case "{":
            return MutableNode(value: .table(try parseInlineTable()), position: at)
        case "\n":
            throw error("expected a value after '=', found the end of the line", at: pos)
        default:
            if starts(with: "true") || starts(with: "false") {
                let value = starts(with: "true")
                pos += value ? 4 : 5
                if let next = peek(), next.continuesToken { throw invalidBareWord(from: start) }
                return MutableNode(value: .scalar(.boolean(value)), position: at)
            }
            if c.isDecimalDigit || c == "+" || c == "-" || c == "i" || c == "n" {
                return MutableNode(value: .scalar(try parseNumber()), position: at)
            }
            throw invalidBareWord(from: start)
        }
    }

    /// The error for an unquoted word where a value belongs (`region = us-west-2`).
    private func invalidBareWord(from start: Int) -> TOMLSyntaxError {
        var end = start
        while end < text.count, text[end].continuesToken || text[end] == "-" { end += 1 }
        if end > start {
            // The word itself is not echoed: it may be a secret someone forgot to quote.
            return error("invalid value: strings must be quoted, e.g. region = \"us-west-2\"", at: start)
        }
        return error("unexpected \(text[start].quotedForMessage): expected a value (a quoted string, number, true, false, array or inline table)",
                     at: start)
    }

    private mutating func enterNesting(at index: Int) throws(TOMLSyntaxError) {
        guard nesting < Self.maxNesting else {
            throw error("arrays and inline tables nested more than \(Self.maxNesting) deep", at: index)
        }
        nesting += 1
    }

    private mutating func parseArray() throws(TOMLSyntaxError) -> MutableArray {
        let open = pos
        try enterNesting(at: open)
        defer { nesting -= 1 }
        pos += 1
        var items: [MutableNode] = []
        try skipArrayFiller()
        if peek() == "]" {
            pos += 1
            return MutableArray(ofTables: false, items: items)
        }
        while true {
            items.append(try parseValue())
            try skipArrayFiller()
            guard let c = peek() else {
                throw error("unterminated array: missing ']' for the '[' at \(position(open))", at: pos)
            }
            if c == "]" {
                pos += 1
                return MutableArray(ofTables: false, items: items)
            }
            guard c == "," else {
                throw error("unexpected \(c.quotedForMessage) in array: expected ',' or ']'", at: pos)
            }
            pos += 1
            try skipArrayFiller()
            if peek() == "]" {
                pos += 1
                return MutableArray(ofTables: false, items: items)
            }
        }
    }

    private mutating func parseInlineTable() throws(TOMLSyntaxError) -> MutableTable {
        let open = pos
        try enterNesting(at: open)
        defer { nesting -= 1 }
        pos += 1
        let table = MutableTable(kind: .inline, position: position(open))
        let section = nextSectionID()
        skipWhitespace()
        if peek() == "}" {
            pos += 1
            return table
        }
        while true {
            let (parts, node) = try keyValuePair()
            try insert(parts, node, into: table, section: section)
            skipWhitespace()
            guard let c = peek() else {
                throw error("unterminated inline table: missing '}' for the '{' at \(position(open))", at: pos)
            }
            if c == "}" {
                pos += 1
                return table
            }
            if c == "\n" {
                throw error("an inline table must be written on one line (missing '}')", at: pos)
            }
            guard c == "," else {
                throw error("unexpected \(c.quotedForMessage) in inline table: expected ',' or '}'", at: pos)
            }
            pos += 1
            skipWhitespace()
            if peek() == "}" {
                throw error("trailing comma in an inline table is not allowed in TOML 1.0", at: pos - 1)
            }
        }
    }

    // MARK: strings

    /// The rest of a basic string after its opening quote(s); stops after the closing `"` or `"""`.
    private mutating func basicStringBody(multiline: Bool, openedAt open: Int) throws(TOMLSyntaxError) -> String {
        var result = String.UnicodeScalarView()
        while true {
            guard let c = peek() else {
                throw error("unterminated string starting at \(position(open))", at: pos)
            }
            if c == "\"" {
                if !multiline {
                    pos += 1
                    return String(result)
                }
                if starts(with: "\"\"\"") {
                    pos += 3
                    return String(result)
                }
                result.append(c)
                pos += 1
                continue
            }
            if c == "\\" {
                try escape(into: &result, multiline: multiline)
                continue
            }
            if c.isControl && c != "\t" && !(multiline && c == "\n") {
                if c == "\n" {
                    throw error("unterminated string: a basic string must end on the line it starts (use \"\"\" for several lines)",
                                at: pos)
                }
                throw error("control character \(c.quotedForMessage) must be escaped in a string", at: pos)
            }
            result.append(c)
            pos += 1
        }
    }

    private mutating func escape(into result: inout String.UnicodeScalarView,
                                 multiline: Bool) throws(TOMLSyntaxError) {
        let start = pos
        guard let code = peek(1) else { throw error("unterminated escape sequence", at: start) }
        pos += 2
        if multiline && (code == " " || code == "\t" || code == "\n") {
            // A line-ending backslash swallows the newline and all whitespace up to the next content.
            if code != "\n" {
                skipWhitespace()
                guard let c = peek() else { return }
                guard c == "\n" else {
                    throw error("a backslash followed by whitespace must end the line (or use \\\\ for a backslash)",
                                at: start)
                }
                pos += 1
            }
            while let c = peek(), c.isTOMLWhitespace || c == "\n" { pos += 1 }
            return
        }
        switch code {
        case "b": result.append("\u{08}")
        case "t": result.append("\t")
        case "n": result.append("\n")
        case "f": result.append("\u{0C}")
        case "r": result.append("\r")
        case "\"": result.append("\"")
        case "\\": result.append("\\")
        case "u", "U":
            let length = code == "u" ? 4 : 8
            var value: UInt32 = 0
            for offset in 0..<length {
                guard let digit = peek(offset), digit.isHexDigit else {
                    throw error("\\\(code) must be followed by \(length) hexadecimal digits", at: start)
                }
                value = value * 16 + UInt32(Int(String(Character(digit)), radix: 16)!)
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw error("escape \\\(code) names U+\(String(value, radix: 16, uppercase: true)), which is not a Unicode scalar value",
                            at: start)
            }
            pos += length
            result.append(scalar)
        default:
            // A control character (a newline after the backslash) is named, not echoed: the message is one line.
            let shown = code.isControl || code == " " ? " followed by \(code.quotedForMessage)" : String(Character(code))
            throw error("invalid escape sequence \\\(shown) (allowed: \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)",
                        at: start)
        }
    }

    private mutating func multilineBasicString(openedAt open: Int) throws(TOMLSyntaxError) -> String {
        if peek() == "\n" { pos += 1 }
        var body = try basicStringBody(multiline: true, openedAt: open)
        body += closingQuotes("\"")
        return body
    }

    private mutating func literalStringBody(openedAt open: Int) throws(TOMLSyntaxError) -> String {
        var result = String.UnicodeScalarView()
        while true {
            guard let c = peek() else {
                throw error("unterminated literal string starting at \(position(open))", at: pos)
            }
            if c == "'" {
                pos += 1
                return String(result)
            }
            if c == "\n" {
                throw error("unterminated literal string: it must end on the line it starts (use ''' for several lines)",
                            at: pos)
            }
            if c.isControl && c != "\t" {
                throw error("control character \(c.quotedForMessage) is not allowed in a literal string", at: pos)
            }
            result.append(c)
            pos += 1
        }
    }

    private mutating func multilineLiteralString(openedAt open: Int) throws(TOMLSyntaxError) -> String {
        if peek() == "\n" { pos += 1 }
        var result = String.UnicodeScalarView()
        while true {
            guard let c = peek() else {
                throw error("unterminated multi-line literal string starting at \(position(open))", at: pos)
            }
            if starts(with: "'''") {
                pos += 3
                return String(result) + closingQuotes("'")
            }
            if c.isControl && c != "\t" && c != "\n" {
                throw error("control character \(c.quotedForMessage) is not allowed in a literal string", at: pos)
            }
            result.append(c)
            pos += 1
        }
    }

    /// Up to two quote characters right before a closing delimiter belong to the content (`""""` → `"`).
    private mutating func closingQuotes(_ quote: Unicode.Scalar) -> String {
        var extra = ""
        while extra.unicodeScalars.count < 2, peek() == quote {
            extra.unicodeScalars.append(quote)
            pos += 1
        }
        return extra
    }

    // MARK: numbers

    private mutating func parseNumber() throws(TOMLSyntaxError) -> TOMLValue {
        let start = pos
        if looksLikeDateOrTime() {
            throw error("dates and times are not supported in this configuration (write durations as strings such as \"5m\")",
                        at: start)
        }
        if peek() == "0", let prefix = peek(1), prefix == "x" || prefix == "o" || prefix == "b" {
            return try prefixedInteger(radix: prefix == "x" ? 16 : prefix == "o" ? 8 : 2)
        }
        var negative = false
        if let sign = peek(), sign == "+" || sign == "-" {
            negative = sign == "-"
            pos += 1
        }
        for special in ["inf", "nan"] where starts(with: special) {
            pos += 3
            if let next = peek(), next.continuesToken { throw invalidBareWord(from: start) }
            let magnitude = special == "inf" ? Double.infinity : Double.nan
            return .float(negative ? -magnitude : magnitude)
        }
        guard let first = peek(), first.isDecimalDigit else { throw invalidBareWord(from: start) }
        var digits = negative ? "-" : ""
        if first == "0" {
            pos += 1
            digits += "0"
            if let next = peek(), next.isDecimalDigit {
                throw error("leading zeros are not allowed in a number", at: start)
            }
        } else {
            digits += try digitRun(isDigit: \.isDecimalDigit)
        }
        var isFloat = false
        if peek() == "." {
            pos += 1
            guard let next = peek(), next.isDecimalDigit else {
                throw error("a decimal point must be followed by a digit", at: pos - 1)
            }
            digits += "." + (try digitRun(isDigit: \.isDecimalDigit))
            isFloat = true
        }
        if let e = peek(), e == "e" || e == "E" {
            pos += 1
            digits += "e"
            if let sign = peek(), sign == "+" || sign == "-" {
                digits.unicodeScalars.append(sign)
                pos += 1
            }
            guard let next = peek(), next.isDecimalDigit else {
                throw error("an exponent must have digits", at: pos)
            }
            digits += try digitRun(isDigit: \.isDecimalDigit)
            isFloat = true
        }
        if let next = peek(), next.continuesToken || next == "-" {
            if next == "_" { throw error("an underscore in a number must be between two digits", at: pos) }
            throw error("invalid number: unexpected \(next.quotedForMessage)", at: pos)
        }
        if isFloat {
            guard let value = Double(digits) else { throw error("invalid float \(digits)", at: start) }
            return .float(value)
        }
        guard let value = Int64(digits) else {
            throw error("integer \(digits) does not fit in 64 bits", at: start)
        }
        return .integer(value)
    }

    /// Digits with single underscores between them; the first character must be a digit.
    private mutating func digitRun(isDigit: (Unicode.Scalar) -> Bool) throws(TOMLSyntaxError) -> String {
        var digits = String.UnicodeScalarView()
        while let c = peek() {
            if isDigit(c) {
                digits.append(c)
                pos += 1
            } else if c == "_" {
                guard let next = peek(1), isDigit(next), !digits.isEmpty else {
                    throw error("an underscore in a number must be between two digits", at: pos)
                }
                pos += 1
            } else {
                break
            }
        }
        return String(digits)
    }

    private mutating func prefixedInteger(radix: Int) throws(TOMLSyntaxError) -> TOMLValue {
        let start = pos
        pos += 2
        let isDigit: (Unicode.Scalar) -> Bool = switch radix {
        case 16: { $0.isHexDigit }
        case 8: { ("0"..."7").contains($0) }
        default: { $0 == "0" || $0 == "1" }
        }
        guard let first = peek(), isDigit(first) else {
            throw error("expected a digit after the base prefix", at: pos)
        }
        let digits = try digitRun(isDigit: isDigit)
        if let next = peek(), next.continuesToken || next == "-" {
            throw error("invalid number: unexpected \(next.quotedForMessage)", at: pos)
        }
        guard let value = Int64(digits, radix: radix) else {
            throw error("integer does not fit in 64 bits", at: start)
        }
        return .integer(value)
    }

    /// `1979-05-27` or `07:32:00` at the cursor: TOML dates and times, which the subset leaves out.
    private func looksLikeDateOrTime() -> Bool {
        func digits(_ count: Int) -> Bool {
            (0..<count).allSatisfy { peek($0)?.isDecimalDigit ?? false }
        }
        return (digits(4) && peek(4) == "-") || (digits(2) && peek(2) == ":")
    }
}

/// Writes key paths the way a TOML author would: bare parts as they are, others quoted.
public enum TOMLKeyPath {
    public static func display(_ parts: [String]) -> String {
        parts.map { part in
            if !part.isEmpty, part.unicodeScalars.allSatisfy(\.isBareKeyChar) { return part }
            var quoted = "\""
            for scalar in part.unicodeScalars {
                switch scalar {
                case "\"": quoted += "\\\""
                case "\\": quoted += "\\\\"
                default:
                    if scalar.isControl {
                        let hex = String(scalar.value, radix: 16, uppercase: true)
                        quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    } else {
                        quoted.unicodeScalars.append(scalar)
                    }
                }
            }
            return quoted + "\""
        }.joined(separator: ".")
    }
}
