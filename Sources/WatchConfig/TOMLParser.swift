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

// MARK: - Parser

struct Parser {
    let text: [Unicode.Scalar]
    var pos = 0
    /// Index in `text` where each line starts, for turning indices into line and column.
    private let lineStarts: [Int]
    let root = MutableTable(kind: .header, position: .start)
    var current: MutableTable
    var currentSection = 0
    private var sectionCounter = 0
    /// Arrays and inline tables open around the current position.
    var nesting = 0

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

    func position(_ index: Int) -> SourcePosition {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= index { low = mid } else { high = mid - 1 }
        }
        return SourcePosition(line: low + 1, column: index - lineStarts[low] + 1)
    }

    func error(_ message: String, at index: Int) -> TOMLSyntaxError {
        TOMLSyntaxError(position: position(index), message: message)
    }

    func error(_ message: String, at position: SourcePosition) -> TOMLSyntaxError {
        TOMLSyntaxError(position: position, message: message)
    }

    private var atEnd: Bool { pos >= text.count }

    func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        let index = pos + offset
        return index < text.count ? text[index] : nil
    }

    func starts(with literal: String, at index: Int? = nil) -> Bool {
        var i = index ?? pos
        for scalar in literal.unicodeScalars {
            guard i < text.count, text[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    mutating func skipWhitespace() {
        while let c = peek(), c.isTOMLWhitespace { pos += 1 }
    }

    mutating func nextSectionID() -> Int {
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
    mutating func skipArrayFiller() throws(TOMLSyntaxError) {
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

    mutating func keyValuePair() throws(TOMLSyntaxError) -> ([KeyPart], MutableNode) {
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

    mutating func parseKey() throws(TOMLSyntaxError) -> [KeyPart] {
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

    static func display(_ parts: [KeyPart]) -> String {
        TOMLKeyPath.display(parts.map(\.name))
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
