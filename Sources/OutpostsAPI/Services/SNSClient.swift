import Foundation

/// SNS `Publish` over the query protocol (form-encoded POST, XML answers), SigV4 service `sns`.
/// One call per ``publish(_:timeout:)``, no retries.
public struct SNSClient: Sendable {
    public let call: AWSServiceCall

    public init(call: AWSServiceCall) {
        self.call = call
    }

    /// The parameters of one Publish.
    public struct Message: Sendable, Equatable {
        public var topicArn: String
        public var message: String
        /// `json`: `message` is a JSON object of per-protocol messages with a `default`.
        public var messageStructure: String?
        public var subject: String?
        /// String attributes, sent in this order.
        public var attributes: [(name: String, value: String)]
        public var messageGroupId: String?
        public var messageDeduplicationId: String?

        public init(topicArn: String, message: String, messageStructure: String? = nil, subject: String? = nil,
                    attributes: [(name: String, value: String)] = [], messageGroupId: String? = nil,
                    messageDeduplicationId: String? = nil) {
            self.topicArn = topicArn
            self.message = message
            self.messageStructure = messageStructure
            self.subject = subject
            self.attributes = attributes
            self.messageGroupId = messageGroupId
            self.messageDeduplicationId = messageDeduplicationId
        }

        public static func == (a: Message, b: Message) -> Bool {
            a.formBody == b.formBody
        }

        /// The query-protocol parameters, in the order botocore's serializer writes them.
        public var formParameters: [(String, String)] {
            var p: [(String, String)] = [("Action", "Publish"), ("Version", "2010-03-31"), ("TopicArn", topicArn),
                                         ("Message", message)]
            if let subject { p.append(("Subject", subject)) }
            if let messageStructure { p.append(("MessageStructure", messageStructure)) }
            for (index, attribute) in attributes.enumerated() {
                let prefix = "MessageAttributes.entry.\(index + 1)"
                p += [("\(prefix).Name", attribute.name), ("\(prefix).Value.DataType", "String"),
                      ("\(prefix).Value.StringValue", attribute.value)]
            }
            if let messageDeduplicationId { p.append(("MessageDeduplicationId", messageDeduplicationId)) }
            if let messageGroupId { p.append(("MessageGroupId", messageGroupId)) }
            return p
        }

        /// `application/x-www-form-urlencoded` body (RFC 3986 unreserved characters kept).
        public var formBody: String {
            formParameters.map { SigV4Signer.percentEncode($0.0) + "=" + SigV4Signer.percentEncode($0.1) }
                .joined(separator: "&")
        }
    }

    /// Publishes; returns the `MessageId`. Throws ``OutpostsError`` (XML errors read into the
    /// same kinds as every AWS error).
    public func publish(_ message: Message, timeout: Duration) async throws -> String {
        let response = try await call.post(body: Array(message.formBody.utf8), headers: [
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ], timeout: timeout, operation: "Publish")
        guard (200..<300).contains(response.status) else {
            throw AWSServiceErrors.fromXML(status: response.status, reason: response.reason,
                                           headers: response.headers, body: response.body)
        }
        guard let id = XMLText.first("MessageId", in: String(decoding: response.body, as: UTF8.self)), !id.isEmpty else {
            throw OutpostsError(kind: .invalidResponse, message: "Publish answer has no MessageId", statusCode: response.status)
        }
        return id
    }
}
