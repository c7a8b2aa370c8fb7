// Numbers and booleans: integers (decimal, hex, octal, binary), floats, inf and nan; dates are refused.

extension Parser {
    mutating func parseNumber() throws(TOMLSyntaxError) -> TOMLValue {
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
