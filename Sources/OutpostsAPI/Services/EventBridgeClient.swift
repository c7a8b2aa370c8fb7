import Foundation

/// EventBridge `PutEvents` over the AWS JSON 1.1 protocol (`X-Amz-Target: AWSEvents.PutEvents`),
/// SigV4 service `events`. One call per ``putEvents(_:timeout:)``, no retries.
public struct EventBridgeClient: Sendable {
    public let call: AWSServiceCall

    /// Entries per PutEvents call at most (an AWS limit).
    public static let maxEntries = 10
    /// Bytes per PutEvents call at most, as AWS counts them (``Entry/size``).
    public static let maxBytes = 256 * 1024

    public init(call: AWSServiceCall) {
        self.call = call
    }

    /// One `PutEventsRequestEntry`.
    public struct Entry: Sendable, Equatable, Encodable {
        public var source: String
        public var detailType: String
        /// A JSON object, as text.
        public var detail: String
        public var time: Date?
        public var eventBusName: String

        public init(source: String, detailType: String, detail: String, time: Date?, eventBusName: String) {
            self.source = source
            self.detailType = detailType
            self.detail = detail
            self.time = time
            self.eventBusName = eventBusName
        }

        enum CodingKeys: String, CodingKey {
            case source = "Source", detailType = "DetailType", detail = "Detail", time = "Time"
            case eventBusName = "EventBusName"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(source, forKey: .source)
            try c.encode(detailType, forKey: .detailType)
            try c.encode(detail, forKey: .detail)
            // JSON 1.1 timestamps are epoch seconds.
            if let time { try c.encode(time.timeIntervalSince1970, forKey: .time) }
            try c.encode(eventBusName, forKey: .eventBusName)
        }

        /// The entry's size as EventBridge counts it against the 256 KiB of a call: 14 bytes for
        /// `Time`, plus the UTF-8 bytes of `Source`, `DetailType` and `Detail`.
        public var size: Int {
            (time == nil ? 0 : 14) + source.utf8.count + detailType.utf8.count + detail.utf8.count
        }
    }

    /// What EventBridge said about one entry: an event id, or an error code and message.
    public struct EntryResult: Sendable, Equatable {
        public var eventId: String?
        public var errorCode: String?
        public var errorMessage: String?

        public init(eventId: String? = nil, errorCode: String? = nil, errorMessage: String? = nil) {
            self.eventId = eventId
            self.errorCode = errorCode
            self.errorMessage = errorMessage
        }
    }

    /// Puts the entries; returns one result per entry, in order. Throws ``OutpostsError`` when
    /// the call failed as a whole (no answer, an error answer, an answer that cannot be read).
    public func putEvents(_ entries: [Entry], timeout: Duration) async throws -> [EntryResult] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let body = try encoder.encode(["Entries": entries])
        let response = try await call.post(body: Array(body), headers: [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "AWSEvents.PutEvents"),
        ], timeout: timeout, operation: "PutEvents")
        guard (200..<300).contains(response.status) else {
            throw AWSServiceErrors.fromJSON(status: response.status, reason: response.reason,
                                            headers: response.headers, body: response.body)
        }
        return try Self.results(response.body, count: entries.count)
    }

    /// The `Entries` of a PutEvents answer, checked against the number sent.
    public static func results(_ body: Data, count: Int) throws -> [EntryResult] {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let entries = json["Entries"] as? [[String: Any]] else {
            throw OutpostsError(kind: .invalidResponse, message: "PutEvents answer has no Entries list")
        }
        guard entries.count == count else {
            throw OutpostsError(kind: .invalidResponse,
                                message: "PutEvents answered \(entries.count) entries for \(count) sent")
        }
        return entries.map { entry in
            EntryResult(eventId: entry["EventId"] as? String, errorCode: entry["ErrorCode"] as? String,
                        errorMessage: entry["ErrorMessage"] as? String)
        }
    }
}
