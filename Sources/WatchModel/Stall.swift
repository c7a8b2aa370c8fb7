import Foundation

/// What an `order.stalled` / `line_item.stalled` event reports in `change.to` (docs/events.md):
/// the status the order or line item has stayed in, since when, and the configured threshold it
/// passed (as written in the config, `"45d"`).
public struct Stall: Codable, Sendable, Equatable, Hashable {
    public var status: String
    public var since: Date
    public var threshold: String

    public init(status: String, since: Date, threshold: String) {
        self.status = status
        self.since = since
        self.threshold = threshold
    }

    enum CodingKeys: String, CodingKey { case status, since, threshold }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(String.self, forKey: .status)
        let text = try c.decode(String.self, forKey: .since)
        guard let date = ISO8601.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: .since, in: c, debugDescription: "not an ISO-8601 instant: \(text)")
        }
        since = date
        threshold = try c.decode(String.self, forKey: .threshold)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(ISO8601.format(since), forKey: .since)
        try c.encode(threshold, forKey: .threshold)
    }
}
