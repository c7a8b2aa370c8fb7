// Values: the dispatch on the first character, arrays and inline tables.

extension Parser {
    mutating func parseValue() throws(TOMLSyntaxError) -> MutableNode {
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
    func invalidBareWord(from start: Int) -> TOMLSyntaxError {
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
}
