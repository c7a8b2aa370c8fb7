import Support

/// Reads and writes the duration strings of the configuration: `"500ms"`, `"30s"`, `"5m"`,
/// `"1h30m"`, `"2d"`.
///
/// Strict on purpose: each unit at most once, largest first, whole numbers, no spaces, no sign,
/// nothing empty. A lenient reader would turn a typo such as `"5 m"` or `"1m1h"` into a silent
/// surprise in a daemon that polls a paid API. `"off"` is not a duration; the settings that
/// accept it check for it first.
public struct DurationParser: Sendable {
    /// The units in the order they must appear, with their length in milliseconds.
    static let units: [(name: String, milliseconds: Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1),
    ]

    public init() {}

    /// The duration `text` denotes, or `nil` when it is not a duration string.
    public func parse(_ text: String) -> Duration? {
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { return nil }
        var index = 0
        var total: Int64 = 0
        var nextAllowedUnit = 0
        while index < scalars.count {
            var amount: Int64 = 0
            let digitsStart = index
            while index < scalars.count, ("0"..."9").contains(scalars[index]) {
                let (shifted, overflow1) = amount.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = shifted.addingReportingOverflow(Int64(scalars[index].value - 48))
                if overflow1 || overflow2 { return nil }
                amount = sum
                index += 1
            }
            guard index > digitsStart else { return nil }
            var unitEnd = index
            while unitEnd < scalars.count, ("a"..."z").contains(scalars[unitEnd]) { unitEnd += 1 }
            let unit = String(String.UnicodeScalarView(scalars[index..<unitEnd]))
            guard let unitIndex = Self.units.firstIndex(where: { $0.name == unit }),
                  unitIndex >= nextAllowedUnit else { return nil }
            let (part, overflow3) = amount.multipliedReportingOverflow(by: Self.units[unitIndex].milliseconds)
            let (sum, overflow4) = total.addingReportingOverflow(part)
            if overflow3 || overflow4 { return nil }
            total = sum
            nextAllowedUnit = unitIndex + 1
            index = unitEnd
        }
        return .milliseconds(total)
    }

    /// The shortest string ``parse(_:)`` reads back as `duration` (sub-millisecond parts dropped).
    public func format(_ duration: Duration) -> String {
        var remaining = duration.milliseconds
        if remaining <= 0 { return "0s" }
        var text = ""
        for unit in Self.units where remaining >= unit.milliseconds {
            text += "\(remaining / unit.milliseconds)\(unit.name)"
            remaining %= unit.milliseconds
        }
        return text
    }
}

/// Shorthand for `DurationParser().parse(text)`.
public func parseDuration(_ text: String) -> Duration? {
    DurationParser().parse(text)
}
