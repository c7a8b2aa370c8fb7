extension TOMLValue {
    /// "a string", "an integer": the type name with its article, for messages.
    var articleTypeName: String {
        switch self {
        case .integer, .array: return "an \(typeName)"
        default: return "a \(typeName)"
        }
    }
}

/// A table being read against the schema, with the dotted name used in messages (`poll`, `webhook`).
struct SchemaTable {
    var table: TOMLTable
    var name: String
    /// Where the table starts: missing-key errors point here.
    var position: SourcePosition

    func path(_ key: String) -> String { name.isEmpty ? key : "\(name).\(key)" }
}

/// A value read from the document, with where to point when it is wrong.
struct Located<Value> {
    var value: Value
    var position: SourcePosition
    var keyPosition: SourcePosition
}

/// A duration setting that may also be switched off.
enum DurationOrOff: Equatable {
    case off
    case duration(Duration)
}

/// Typed access to TOML tables that reports every mismatch instead of stopping at the first.
///
/// Each accessor returns `nil` both for an absent key and for a wrong one (having recorded the
/// error), so the caller falls back to the default and keeps going: one pass finds all errors.
struct SchemaReader {
    let diagnostics: DiagnosticCollector

    /// Reports every key of `table` that the schema does not know, with a did-you-mean hint.
    func rejectUnknownKeys(_ table: SchemaTable, allowed: [String]) {
        for entry in table.table.entries where !allowed.contains(entry.key) {
            let display = TOMLKeyPath.display([entry.key])
            let place = table.name.isEmpty ? "at the top level" : "in [\(table.name)]"
            var message = "unknown key \(display) \(place)"
            if table.name.isEmpty, case .table = entry.node.value { message = "unknown table [\(display)]" }
            if let suggestion = Suggestion.closest(to: entry.key, among: allowed) {
                message += "; did you mean \(TOMLKeyPath.display([suggestion]))?"
            } else {
                message += " (known keys: \(allowed.joined(separator: ", ")))"
            }
            diagnostics.error(message, at: entry.keyPosition)
        }
    }

    private func typeError(_ table: SchemaTable, _ key: String, expected: String, entry: TOMLEntry) {
        diagnostics.error("\(table.path(key)): expected \(expected), found \(entry.node.value.typeName)",
                          at: entry.node.position)
    }

    func string(_ table: SchemaTable, _ key: String) -> Located<String>? {
        guard let entry = table.table[key] else { return nil }
        guard case .string(let value) = entry.node.value else {
            typeError(table, key, expected: "a string", entry: entry)
            return nil
        }
        return Located(value: value, position: entry.node.position, keyPosition: entry.keyPosition)
    }

    /// A string that must not be empty (paths, names, URLs).
    func nonEmptyString(_ table: SchemaTable, _ key: String) -> Located<String>? {
        guard let located = string(table, key) else { return nil }
        guard !located.value.isEmpty else {
            diagnostics.error("\(table.path(key)): must not be empty", at: located.position)
            return nil
        }
        return located
    }

    func boolean(_ table: SchemaTable, _ key: String) -> Bool? {
        guard let entry = table.table[key] else { return nil }
        guard case .boolean(let value) = entry.node.value else {
            typeError(table, key, expected: "a boolean (true or false)", entry: entry)
            return nil
        }
        return value
    }

    /// An integer no smaller than `minimum`.
    func integer(_ table: SchemaTable, _ key: String, minimum: Int) -> Int? {
        guard let entry = table.table[key] else { return nil }
        guard case .integer(let value) = entry.node.value else {
            typeError(table, key, expected: "an integer", entry: entry)
            return nil
        }
        guard value >= minimum else {
            diagnostics.error("\(table.path(key)): \(value) is out of range: must be at least \(minimum)",
                              at: entry.node.position)
            return nil
        }
        return Int(value)
    }

    /// A finite number (integer or float), checked by `isValid`, whose rule `rule` describes.
    func number(_ table: SchemaTable, _ key: String, rule: String, isValid: (Double) -> Bool) -> Double? {
        guard let entry = table.table[key] else { return nil }
        let value: Double
        switch entry.node.value {
        case .integer(let integer): value = Double(integer)
        case .float(let float): value = float
        default:
            typeError(table, key, expected: "a number", entry: entry)
            return nil
        }
        guard value.isFinite, isValid(value) else {
            diagnostics.error("\(table.path(key)): \(Self.format(value)) is out of range: \(rule)",
                              at: entry.node.position)
            return nil
        }
        return value
    }

    private static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// A positive duration string such as `"5m"`, or `"off"` where `allowOff`.
    func duration(_ table: SchemaTable, _ key: String, allowOff: Bool = false) -> DurationOrOff? {
        guard let entry = table.table[key] else { return nil }
        let example = allowOff ? "such as \"5m\" or \"off\"" : "such as \"5m\""
        guard case .string(let text) = entry.node.value else {
            typeError(table, key, expected: "a duration string \(example)", entry: entry)
            return nil
        }
        if allowOff, text == "off" { return .off }
        guard let duration = parseDuration(text) else {
            var message = "\(table.path(key)): bad duration \(Self.quoted(text)): use whole numbers with units d, h, m, s, ms, largest first, no spaces (e.g. \"500ms\", \"30s\", \"1h30m\")"
            if allowOff { message += ", or \"off\"" }
            diagnostics.error(message, at: entry.node.position)
            return nil
        }
        guard duration > .zero else {
            diagnostics.error("\(table.path(key)): must be longer than 0\(allowOff ? " (use \"off\" to disable)" : "")",
                              at: entry.node.position)
            return nil
        }
        return .duration(duration)
    }

    /// A duration that cannot be switched off.
    func requiredDuration(_ table: SchemaTable, _ key: String) -> Duration? {
        if case .duration(let value)? = duration(table, key) { return value }
        return nil
    }

    /// An array whose elements must all be strings; wrong elements are reported and dropped.
    func stringArray(_ table: SchemaTable, _ key: String) -> Located<[Located<String>]>? {
        guard let entry = table.table[key] else { return nil }
        guard case .array(let items) = entry.node.value else {
            typeError(table, key, expected: "an array of strings", entry: entry)
            return nil
        }
        var strings: [Located<String>] = []
        for item in items {
            guard case .string(let value) = item.value else {
                diagnostics.error("\(table.path(key)): expected an array of strings, found \(item.value.articleTypeName) element",
                                  at: item.position)
                continue
            }
            strings.append(Located(value: value, position: item.position, keyPosition: entry.keyPosition))
        }
        return Located(value: strings, position: entry.node.position, keyPosition: entry.keyPosition)
    }

    /// A sub-table such as `[poll]` (or `poll = { … }`).
    func table(_ parent: SchemaTable, _ key: String) -> SchemaTable? {
        guard let entry = parent.table[key] else { return nil }
        guard case .table(let table) = entry.node.value else {
            if case .array = entry.node.value {
                diagnostics.error("\(parent.path(key)): expected a table [\(parent.path(key))], found an array (write [\(parent.path(key))], not [[\(parent.path(key))]])",
                                  at: entry.keyPosition)
            } else {
                typeError(parent, key, expected: "a table [\(parent.path(key))]", entry: entry)
            }
            return nil
        }
        return SchemaTable(table: table, name: parent.path(key), position: entry.node.position)
    }

    /// The elements of an array of tables such as `[[webhook]]` (or `webhook = [{ … }]`).
    func arrayOfTables(_ parent: SchemaTable, _ key: String) -> [SchemaTable] {
        guard let entry = parent.table[key] else { return [] }
        let name = parent.path(key)
        guard case .array(let items) = entry.node.value else {
            if case .table = entry.node.value {
                diagnostics.error("\(name): expected an array of tables [[\(name)]], found a table (write [[\(name)]], not [\(name)])",
                                  at: entry.keyPosition)
            } else {
                typeError(parent, key, expected: "an array of tables [[\(name)]]", entry: entry)
            }
            return []
        }
        var tables: [SchemaTable] = []
        for item in items {
            guard case .table(let table) = item.value else {
                diagnostics.error("\(name): expected tables in the array, found \(item.value.articleTypeName) element",
                                  at: item.position)
                continue
            }
            tables.append(SchemaTable(table: table, name: name, position: item.position))
        }
        return tables
    }

    func requireKey(_ table: SchemaTable, _ key: String) -> Bool {
        guard table.table[key] != nil else {
            diagnostics.error("[[\(table.name)]]: missing required key \(key)", at: table.position)
            return false
        }
        return true
    }

    /// A string value as it may appear in a message: quoted, control characters escaped, and cut short.
    static func quoted(_ text: String) -> String {
        let shortened = text.unicodeScalars.count > 80 ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(77))) + "..." : text
        var result = "\""
        for scalar in shortened.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16, uppercase: true)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

/// "Did you mean" hints: the closest known word by edit distance, when it is close enough to be a typo.
enum Suggestion {
    static func closest(to word: String, among candidates: [String]) -> String? {
        let lowered = word.lowercased()
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        guard let best else { return nil }
        // A third of the word, at least one edit: "intervall" → "interval", but "foo" suggests nothing.
        let tolerance = max(1, min(3, word.count / 3))
        return best.distance <= tolerance ? best.candidate : nil
    }

    /// Levenshtein distance, counting an adjacent swap as one edit (typos are often swaps).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
