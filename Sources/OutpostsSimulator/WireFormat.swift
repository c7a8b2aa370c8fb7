import Foundation
import OutpostsAPI

/// JSON coding as the Outposts REST-JSON protocol does it: members named as in the model,
/// timestamps as epoch seconds (the model gives them no timestampFormat).
enum WireFormat {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            // Milliseconds, as AWS sends them; a raw Double would leak sub-microsecond noise.
            var container = encoder.singleValueContainer()
            let millis = (date.timeIntervalSince1970 * 1000).rounded()
            if millis.truncatingRemainder(dividingBy: 1000) == 0 {
                try container.encode(Int64(millis / 1000))
            } else {
                try container.encode(Decimal(Int64(millis)) / 1000)
            }
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func prettyEncoder() -> JSONEncoder {
        let encoder = encoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return encoder
    }

    /// Accepts epoch seconds or ISO-8601 strings (with or without fractional seconds).
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            if let seconds = try? container.decode(Double.self) {
                return Date(timeIntervalSince1970: seconds)
            }
            let text = try container.decode(String.self)
            if let date = parseISO8601(text) { return date }
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is neither epoch seconds nor an ISO-8601 timestamp")
        }
        return decoder
    }

    static func parseISO8601(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// A decoding error as one line naming the JSON path, for people fixing a scenario file.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "the document" : String(text.drop(while: { $0 == "." }))
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required key is missing"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(type), found null"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// The body of GetOrder's answer.
struct GetOrderOutput: Codable {
    var order: Order?
    enum CodingKeys: String, CodingKey { case order = "Order" }
}
