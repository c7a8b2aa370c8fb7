import Foundation
import Sinks
import Testing
import WatchModel

/// `format = "teams"`: the message and its Adaptive Card 1.4, field by field.
@Suite struct TeamsCardTests {
    func decoded(_ event: Event) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: TeamsCard.body(event)) as? [String: Any])
    }

    @Test("a message with one Adaptive Card 1.4 attachment: title sentence, then the facts")
    func shape() throws {
        let event = shippedEvent()
        let message = try decoded(event)
        #expect(message["type"] as? String == "message")
        let attachments = try #require(message["attachments"] as? [[String: Any]])
        #expect(attachments.count == 1)
        let attachment = attachments[0]
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        #expect(attachment["contentUrl"] is NSNull)
        let card = try #require(attachment["content"] as? [String: Any])
        #expect(card["type"] as? String == "AdaptiveCard")
        #expect(card["version"] as? String == "1.4")
        #expect(card["$schema"] as? String == "http://adaptivecards.io/schemas/adaptive-card.json")
        let body = try #require(card["body"] as? [[String: Any]])
        #expect(body.count == 2)
        #expect(body[0]["type"] as? String == "TextBlock")
        #expect(body[0]["text"] as? String == EventText.sentence(event))
        #expect(body[0]["wrap"] as? Bool == true)
        #expect(body[0]["weight"] as? String == "Bolder")
        #expect(body[0]["color"] == nil, "a shipment is not a warning")
        #expect(body[1]["type"] as? String == "FactSet")
        let facts = try #require(body[1]["facts"] as? [[String: String]])
        let byTitle = Dictionary(uniqueKeysWithValues: facts.map { ($0["title"] ?? "", $0["value"] ?? "") })
        #expect(byTitle["Order"] == testOrderId)
        #expect(byTitle["Label"] == "Seattle rack 2")
        #expect(byTitle["Account"] == "default")
        #expect(byTitle["Line item"] == "li-1234")
        #expect(byTitle["Change"] == "status: BUILDING → SHIPPED")
        #expect(byTitle["Carrier"] == "UPS")
        #expect(byTitle["Tracking number"] == "1Z999AA10123456784")
        #expect(facts.first?["title"] == "Order", "the order comes first")
        #expect(facts.allSatisfy { $0.keys.sorted() == ["title", "value"] })
    }

    @Test("warnings are coloured; order-level events have no line item fact")
    func warning() throws {
        let event = Event(type: .orderStatusChanged, occurredAt: Date(timeIntervalSince1970: 1_795_000_000),
                          order: OrderRef(id: testOrderId, outpostId: "op-0123456789abcdef0", status: "ERROR"),
                          change: Change(field: .status, from: .string("IN_PROGRESS"), to: .string("ERROR")))
        let card = try #require((try decoded(event)["attachments"] as? [[String: Any]])?.first?["content"] as? [String: Any])
        let body = try #require(card["body"] as? [[String: Any]])
        #expect(body[0]["color"] as? String == "Attention")
        let facts = try #require(body[1]["facts"] as? [[String: String]])
        #expect(!facts.contains { $0["title"] == "Line item" })
        #expect(!facts.contains { $0["title"] == "Label" }, "no label configured")
    }
}
