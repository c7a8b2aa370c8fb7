import Foundation
import Sinks
import Testing
import WatchModel

/// Whose order an event is about, in every form a sink gives it (docs/events.md, docs/delivery.md):
/// journald's ACCOUNT and REGION, the sentence's `[name]`, the facts, SNS's `account` attribute,
/// PagerDuty's summary.
@Suite("account and region in the sinks")
struct AccountFactsTests {
    /// The shipped event of an order of `account` in `region`.
    static func event(account: String?, region: String? = "us-west-2") -> Event {
        var event = shippedEvent()
        event.order.account = account
        event.order.region = region
        return event
    }

    @Test("journald entries carry ACCOUNT and REGION", .enabled(if: journaldReady || runningInCI, "no journald here"))
    func journald() async throws {
        try #require(journaldReady, "journald is not running and could not be started")
        let prod = Self.event(account: "prod", region: "eu-central-1")
        let legacy = Self.event(account: nil, region: nil)
        for event in [prod, legacy] {
            #expect(await JournaldSink().send(event) == .delivered(status: 0))
        }
        let entry = try #require(try await journalEntries("EVENT_ID=\(prod.id)").first)
        #expect(entry["ACCOUNT"] as? String == "prod")
        #expect(entry["REGION"] as? String == "eu-central-1")
        #expect((entry["MESSAGE"] as? String)?.hasPrefix("[prod] Order \(testOrderId) (Seattle rack 2)") == true)
        // journalctl filters by the field, as by ORDER_ID.
        let byAccount = try await journalEntries("ACCOUNT=prod")
        #expect(byAccount.contains { $0["EVENT_ID"] as? String == prod.id })
        let old = try #require(try await journalEntries("EVENT_ID=\(legacy.id)").first)
        #expect(old["ACCOUNT"] == nil && old["REGION"] == nil, "an event without them has neither field")
    }

    @Test("the sentence names an account other than default in brackets; default's reads as before")
    func sentence() {
        let plain = "Order \(testOrderId) (Seattle rack 2) line item li-1234: BUILDING → SHIPPED (UPS 1Z999AA10123456784)"
        #expect(EventText.sentence(Self.event(account: "prod")) == "[prod] " + plain)
        #expect(EventText.sentence(Self.event(account: "default")) == plain)
        #expect(EventText.sentence(Self.event(account: nil)) == plain)
        #expect(EventText.slackText(Self.event(account: "prod")).hasPrefix("[prod] Order "))
        let fields = Dictionary(JournaldSink.fields(for: Self.event(account: "default")), uniquingKeysWith: { a, _ in a })
        #expect(fields["ACCOUNT"] == "default", "the field is there for every account")
        #expect(fields["REGION"] == "us-west-2")
    }

    @Test("facts: Account with the region (Teams card, SNS e-mail)")
    func facts() throws {
        let event = Self.event(account: "prod")
        let facts = Dictionary(uniqueKeysWithValues: EventFacts.facts(event).map { ($0.title, $0.value) })
        #expect(facts["Account"] == "prod (us-west-2)")
        #expect(Dictionary(uniqueKeysWithValues: EventFacts.facts(Self.event(account: "prod", region: nil))
            .map { ($0.title, $0.value) })["Account"] == "prod")
        #expect(Dictionary(uniqueKeysWithValues: EventFacts.facts(Self.event(account: nil, region: nil))
            .map { ($0.title, $0.value) })["Account"] == "default", "events recorded before accounts: default's")

        let message = try #require(JSONSerialization.jsonObject(with: TeamsCard.body(event)) as? [String: Any])
        let card = try #require((message["attachments"] as? [[String: Any]])?.first?["content"] as? [String: Any])
        let body = try #require(card["body"] as? [[String: Any]])
        #expect((body[0]["text"] as? String)?.hasPrefix("[prod] Order ") == true)
        let cardFacts = try #require(body[1]["facts"] as? [[String: String]])
        #expect(cardFacts.contains { $0["title"] == "Account" && $0["value"] == "prod (us-west-2)" })

        #expect(SNSMessageBuilder.emailText(event).contains("\nAccount:"))
        #expect(SNSMessageBuilder.emailText(event).contains("prod (us-west-2)\n"))
    }

    @Test("SNS: the account attribute is the event's account")
    func snsAttribute() throws {
        for (account, expected) in [("prod", "prod"), ("default", "default"), (nil, "default")] as [(String?, String)] {
            let stored = try StoredEvent(encoding: Self.event(account: account))
            let message = try SNSMessageBuilder.message(for: stored, topicArn: "arn:aws:sns:us-west-2:111111111111:orders",
                                                        fifo: false)
            let attributes = Dictionary(uniqueKeysWithValues: message.attributes.map { ($0.name, $0.value) })
            #expect(attributes["account"] == expected)
            #expect(message.subject?.hasPrefix(account == "prod" ? "[prod] Order" : "Order") == true)
        }
    }

    @Test("PagerDuty: the summary names the account; custom_details carry account and region")
    func pagerDuty() throws {
        var event = Self.event(account: "prod")
        event.type = .orderStatusChanged
        event.lineItem = nil
        event.change = Change(field: .status, from: .string("IN_PROGRESS"), to: .string("ERROR"))
        let stored = try StoredEvent(encoding: event)
        let trigger = try #require(PagerDutyIncidents.actions(for: event).first { $0.eventAction == .trigger })
        let body = try #require(JSONSerialization.jsonObject(
            with: PagerDutyIncidents.body(trigger, stored: stored, routingKey: "R0UT1NGKEY")) as? [String: Any])
        let payload = try #require(body["payload"] as? [String: Any])
        #expect(payload["summary"] as? String == "[prod] Order \(testOrderId) (Seattle rack 2): IN_PROGRESS → ERROR")
        let order = try #require((payload["custom_details"] as? [String: Any])?["order"] as? [String: Any])
        #expect(order["account"] as? String == "prod")
        #expect(order["region"] as? String == "us-west-2")
    }
}
