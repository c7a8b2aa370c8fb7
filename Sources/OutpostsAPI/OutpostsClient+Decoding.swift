import Foundation

// Decoding the JSON answers of GetOrder and ListOrders.

extension OutpostsClient {
    struct GetOrderOutput: Decodable {
        var order: Order
        enum CodingKeys: String, CodingKey { case order = "Order" }
    }

    struct ListOrdersPage: Decodable {
        var orders: [OrderSummary]?
        var nextToken: String?
        enum CodingKeys: String, CodingKey {
            case orders = "Orders"
            case nextToken = "NextToken"
        }
    }

    /// The instants a timestamp may name, in epoch seconds: 0001-01-01 to 9999-12-31, what ISO-8601
    /// with a four-digit year can write. Anything else ("inf", "nan", 1e17, which `Double` parses)
    /// is no instant: it would trap where the date is formatted, so the answer is invalid.
    static let timestampRange: ClosedRange<Double> = -62_135_596_800 ... 253_402_300_799.999

    /// JSON with AWS timestamps: epoch seconds (the rest-json default) or ISO-8601 strings.
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            func instant(_ seconds: Double) throws -> Date {
                guard timestampRange.contains(seconds) else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "timestamp out of range: \(seconds)")
                }
                return Date(timeIntervalSince1970: seconds)
            }
            if let seconds = try? container.decode(Double.self) {
                return try instant(seconds)
            }
            let text = try container.decode(String.self)
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return try instant(date.timeIntervalSince1970) }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
                return try instant(date.timeIntervalSince1970)
            }
            if let seconds = Double(text) { return try instant(seconds) }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a timestamp: \(text.prefix(40))")
        }
        return decoder
    }

    /// A decoding error said briefly, with the path of the offending field.
    static func describe(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at \(p)"
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context): return "missing \(key.stringValue)\(path(context))"
        case DecodingError.typeMismatch(_, let context): return "wrong type\(path(context))"
        case DecodingError.valueNotFound(_, let context): return "null value\(path(context))"
        case DecodingError.dataCorrupted(let context): return "malformed JSON\(path(context))"
        default: return "\(type(of: error))"
        }
    }
}
