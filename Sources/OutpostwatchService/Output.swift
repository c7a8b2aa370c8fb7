import Foundation
import WatchModel

/// Writing command output: stdout for results, stderr for errors and warnings.
public enum Output {
    public static func line(_ s: String) {
        FileHandle.standardOutput.write(Data((s + "\n").utf8))
    }

    public static func error(_ s: String) {
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }

    /// One JSON document with snake_case keys as the types define them, pretty-printed.
    public static func json<T: Encodable>(_ value: T) throws {
        let encoder = EventJSON.encoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// A plain text table: a header row, then rows, columns padded to the widest cell.
    public static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        var widths = Array(repeating: 0, count: header.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count {
                widths[i] = max(widths[i], cell.count)
            }
        }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `2026-11-28T12:00:00Z`, or `-` for none.
    public static func time(_ date: Date?) -> String {
        date.map(ISO8601.format) ?? "-"
    }
}
