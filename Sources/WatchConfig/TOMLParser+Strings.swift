// Strings: basic and literal, single- and multi-line, with escapes.

extension Parser {
    /// The rest of a basic string after its opening quote(s); stops after the closing `"` or `"""`.
    mutating func basicStringBody(multiline: Bool, openedAt open: Int) throws(TOMLSyntaxError) -> String {
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

    mutating func multilineBasicString(openedAt open: Int) throws(TOMLSyntaxError) -> String {
        if peek() == "\n" { pos += 1 }
        var body = try basicStringBody(multiline: true, openedAt: open)
        body += closingQuotes("\"")
        return body
    }

    mutating func literalStringBody(openedAt open: Int) throws(TOMLSyntaxError) -> String {
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

    mutating func multilineLiteralString(openedAt open: Int) throws(TOMLSyntaxError) -> String {
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
}
