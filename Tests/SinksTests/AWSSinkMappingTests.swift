import Foundation
import OutpostsAPI
import Sinks
import Testing
import WatchModel

/// The EventBridge entry and SNS Publish of an event, and how AWS answers become outcomes.
@Suite struct AWSSinkMappingTests {
    @Test("an entry error code is retried alone; an invalid entry fails; an event id is delivered")
    func entryOutcomes() {
        #expect(EventBridgeSink.outcome(.init(eventId: "e-1")) == .delivered(status: 200))
        let throttled = EventBridgeSink.outcome(.init(errorCode: "ThrottlingException", errorMessage: "slow down"))
        #expect(throttled == .retry(status: 200, error: "PutEvents entry failed: ThrottlingException: slow down", retryAfter: nil))
        let malformed = EventBridgeSink.outcome(.init(errorCode: "MalformedDetail", errorMessage: "bad"))
        #expect(malformed == .permanent(status: 200, error: "PutEvents entry failed: MalformedDetail: bad"))
    }

    @Test("validation errors fail the delivery with AWS's message; throttling and 5xx retry")
    func callOutcomes() {
        let validation = OutpostsError(kind: .validation, code: "ValidationException", message: "bad bus", statusCode: 400)
        #expect(SinkOutcome.aws(validation) == .permanent(status: 400, error: validation.description))
        let throttled = AWSServiceErrors.fromJSON(status: 400, reason: "", headers: [],
                                                  body: Data(#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.utf8))
        #expect(throttled.kind == .throttling)
        #expect(SinkOutcome.aws(throttled) == .retry(status: 400, error: throttled.description, retryAfter: nil))
        let xml = Data("""
            <ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>\
            <Code>InvalidParameter</Code><Message>Invalid parameter: Subject &amp; more</Message></Error>\
            <RequestId>r-1</RequestId></ErrorResponse>
            """.utf8)
        let snsError = AWSServiceErrors.fromXML(status: 400, reason: "Bad Request", headers: [], body: xml)
        #expect(snsError.kind == .validation)
        #expect(snsError.code == "InvalidParameter")
        #expect(snsError.message == "Invalid parameter: Subject & more")
        #expect(snsError.requestId == "r-1")
        let snsThrottle = AWSServiceErrors.fromXML(status: 400, reason: "", headers: [],
                                                   body: Data("<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>".utf8))
        #expect(snsThrottle.kind == .throttling)
    }

    @Test("SNS: json structure with the body as default, a one-line subject, attributes, FIFO ids")
    func snsMessage() throws {
        let event = shippedEvent()
        let stored = try StoredEvent(encoding: event)
        let arn = "arn:aws:sns:us-west-2:111111111111:orders.fifo"
        let message = try SNSMessageBuilder.message(for: stored, topicArn: arn, fifo: true)
        #expect(message.messageStructure == "json")
        let structure = try #require(JSONSerialization.jsonObject(with: Data(message.message.utf8)) as? [String: String])
        #expect(structure["default"] == String(decoding: stored.body, as: UTF8.self))
        #expect(structure["email"]?.hasPrefix(EventText.sentence(event) + "\n\n") == true)
        let subject = try #require(message.subject)
        #expect(subject.hasSuffix("…") && EventText.sentence(event).hasPrefix(String(subject.dropLast())),
                "the sentence, cut to 100 characters")
        #expect(subject.unicodeScalars.count == 100)
        #expect(message.attributes.map(\.name) == ["event_type", "order_id", "account"])
        #expect(message.attributes.map(\.value) == ["line_item.status_changed", testOrderId, "default"])
        #expect(message.messageGroupId == testOrderId)
        #expect(message.messageDeduplicationId == event.id)
        let standard = try SNSMessageBuilder.message(for: stored, topicArn: arn, fifo: false)
        #expect(standard.messageGroupId == nil && standard.messageDeduplicationId == nil)
    }

    @Test("the subject is one line of at most 100 characters")
    func subjectLimits() {
        var event = shippedEvent()
        event.order.label = String(repeating: "rack\n\t", count: 40)
        let subject = SNSMessageBuilder.subject(event)
        #expect(subject.unicodeScalars.count <= 100)
        #expect(!subject.unicodeScalars.contains { $0.properties.generalCategory == .control })
        #expect(subject.hasSuffix("…"))
    }
}
