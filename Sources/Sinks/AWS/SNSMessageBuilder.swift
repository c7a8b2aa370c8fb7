import Foundation
import OutpostsAPI
import WatchModel

/// The SNS Publish of one event (docs/delivery.md): `MessageStructure=json` with `default` = the
/// event's JSON body and `email` = readable text; a one-line `Subject`; the String attributes
/// `event_type`, `order_id` and `account`; on a FIFO topic the order id as `MessageGroupId` and
/// the event id as `MessageDeduplicationId`.
public enum SNSMessageBuilder {
    /// SNS refuses longer subjects.
    public static let maxSubjectLength = 100

    public static func message(for stored: StoredEvent, topicArn: String, fifo: Bool) throws -> SNSClient.Message {
        let event = stored.event
        let structured: [String: String] = ["default": String(decoding: stored.body, as: UTF8.self),
                                            "email": emailText(event)]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let message = String(decoding: try encoder.encode(structured), as: UTF8.self)
        return SNSClient.Message(
            topicArn: topicArn, message: message, messageStructure: "json", subject: subject(event),
            attributes: [("event_type", event.type.rawValue), ("order_id", event.order.id),
                         ("account", EventFacts.account(event))],
            messageGroupId: fifo ? event.order.id : nil, messageDeduplicationId: fifo ? event.id : nil)
    }

    /// The sentence on one line: control characters become spaces, runs of spaces one, cut to
    /// 100 characters with an ellipsis.
    public static func subject(_ event: Event) -> String {
        var scalars: [Unicode.Scalar] = []
        for scalar in EventText.sentence(event).unicodeScalars {
            let blank = scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
                || scalar == " "
            if blank {
                if scalars.last != " " { scalars.append(" ") }
            } else {
                scalars.append(scalar)
            }
        }
        while scalars.last == " " { scalars.removeLast() }
        while scalars.first == " " { scalars.removeFirst() }
        if scalars.count > maxSubjectLength {
            scalars = Array(scalars.prefix(maxSubjectLength - 1)) + ["…"]
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars)
        return text
    }

    /// The e-mail form: the sentence, a blank line, then one `Title: value` line per fact.
    public static func emailText(_ event: Event) -> String {
        let facts = EventFacts.facts(event)
        let width = facts.map(\.title.count).max() ?? 0
        let lines = facts.map { $0.title + ":" + String(repeating: " ", count: width - $0.title.count + 1) + $0.value }
        return ([EventText.sentence(event), ""] + lines + ["", "Event id: \(event.id)"]).joined(separator: "\n")
    }
}
