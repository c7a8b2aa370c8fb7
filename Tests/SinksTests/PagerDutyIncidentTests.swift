import Foundation
import Sinks
import Testing
import WatchModel

/// PagerDuty's incident mapping and answers, without a network.
@Suite struct PagerDutyIncidentTests {
    let order = testOrderId

    func actions(_ type: String, line: String? = nil, from: ChangeValue = .null, to: ChangeValue = .null)
        -> [PagerDutyIncidents.Action] {
        PagerDutyIncidents.actions(type: type, orderId: order, lineItemId: line, from: from, to: to)
    }

    @Test("failing triggers and recovered resolves the same dedup key")
    func failingPair() {
        #expect(actions("watch.failing") == [.trigger("outpostwatch/\(order)/failing", "error")])
        #expect(actions("watch.recovered") == [.resolve("outpostwatch/\(order)/failing")])
    }

    @Test("a stall (synthetic event) triggers; the next status change resolves it")
    func stalledPair() {
        #expect(actions("order.stalled") == [.trigger("outpostwatch/\(order)/stalled", "warning")])
        let next = actions("order.status_changed", from: .string("PREPARING"), to: .string("IN_PROGRESS"))
        #expect(next == [.resolve("outpostwatch/\(order)/stalled")])
        #expect(actions("line_item.stalled", line: "li-1") == [.trigger("outpostwatch/\(order)/li-1/stalled", "warning")])
        let lineNext = actions("line_item.status_changed", line: "li-1", from: .string("SHIPPED"), to: .string("DELIVERED"))
        #expect(lineNext == [.resolve("outpostwatch/\(order)/li-1/stalled")])
    }

    @Test("ERROR triggers a critical incident; leaving ERROR resolves it")
    func errorPair() {
        let enter = actions("order.status_changed", from: .string("IN_PROGRESS"), to: .string("ERROR"))
        #expect(enter == [.resolve("outpostwatch/\(order)/stalled"), .trigger("outpostwatch/\(order)/error", "critical")])
        let leave = actions("order.status_changed", from: .string("ERROR"), to: .string("IN_PROGRESS"))
        #expect(leave == [.resolve("outpostwatch/\(order)/stalled"), .resolve("outpostwatch/\(order)/error")])
    }

    @Test("not found triggers; feed events open nothing")
    func others() {
        #expect(actions("order.not_found") == [.trigger("outpostwatch/\(order)/not_found", "error")])
        #expect(actions("line_item.shipment_changed", line: "li-1").isEmpty)
        #expect(actions("order.first_seen").isEmpty)
    }

    @Test("a trigger's body carries the documented payload; a resolve only the key")
    func body() throws {
        let event = Event(type: .watchFailing, occurredAt: Date(timeIntervalSince1970: 1_795_000_000),
                          order: OrderRef(id: order, outpostId: "op-0123456789abcdef0", status: "IN_PROGRESS"),
                          change: Change(field: .watch, from: .string("ok"), to: .string("failing")), error: "HTTP 500")
        let stored = try StoredEvent(encoding: event)
        let trigger = try #require(JSONSerialization.jsonObject(with: PagerDutyIncidents.body(
            .trigger("outpostwatch/\(order)/failing", "error"), stored: stored, routingKey: "R0UTINGKEY")) as? [String: Any])
        #expect(trigger["routing_key"] as? String == "R0UTINGKEY")
        #expect(trigger["event_action"] as? String == "trigger")
        #expect(trigger["dedup_key"] as? String == "outpostwatch/\(order)/failing")
        let payload = try #require(trigger["payload"] as? [String: Any])
        #expect(payload["summary"] as? String == EventText.sentence(event))
        #expect(payload["source"] as? String == "outpostwatch")
        #expect(payload["severity"] as? String == "error")
        #expect(payload["timestamp"] as? String == ISO8601.format(event.occurredAt))
        #expect(payload["component"] as? String == order)
        #expect(payload["group"] as? String == "op-0123456789abcdef0")
        #expect(payload["class"] as? String == "watch.failing")
        let details = try #require(payload["custom_details"] as? [String: Any])
        #expect(details["id"] as? String == event.id)
        let resolve = try #require(JSONSerialization.jsonObject(with: PagerDutyIncidents.body(
            .resolve("outpostwatch/\(order)/failing"), stored: stored, routingKey: "R0UTINGKEY")) as? [String: Any])
        #expect(Set(resolve.keys) == ["routing_key", "event_action", "dedup_key"])
    }

    @Test("202 delivers; 429 and 5xx retry (Retry-After honoured); 400 fails with PagerDuty's text")
    func answers() {
        let now = Date()
        #expect(PagerDutySink.classify(status: 202, retryAfterHeader: nil, body: [], now: now) == .delivered(status: 202))
        #expect(PagerDutySink.classify(status: 429, retryAfterHeader: "7", body: [], now: now)
            == .retry(status: 429, error: "HTTP 429", retryAfter: .seconds(7)))
        #expect(PagerDutySink.classify(status: 503, retryAfterHeader: nil, body: [], now: now)
            == .retry(status: 503, error: "HTTP 503", retryAfter: nil))
        let invalid = Array(#"{"status":"invalid event","message":"Event object is invalid","errors":["'severity' is missing"]}"#.utf8)
        #expect(PagerDutySink.classify(status: 400, retryAfterHeader: nil, body: invalid, now: now)
            == .permanent(status: 400, error: "HTTP 400: Event object is invalid; 'severity' is missing"))
    }
}
