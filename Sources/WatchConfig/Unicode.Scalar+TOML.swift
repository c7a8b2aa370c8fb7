// The character classes of the TOML grammar.

extension Unicode.Scalar {
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
