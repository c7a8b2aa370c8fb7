import Foundation
import Testing
import WatchModel
import WatchReport

/// Events of one order, as the store would hand them back.
struct History {
    let orderId = "oo-0123456789abcdef0"
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    var events: [Event] = []

    func at(_ hours: Double) -> Date { t0.addingTimeInterval(hours * 3600) }

    mutating func add(_ type: EventType, _ hours: Double, field: ChangeField = .status, from: String?, to: String?,
                      item: LineItemRef? = nil) {
        events.append(Event(type: type, sequence: Int64(events.count + 1), occurredAt: at(hours),
                            order: OrderRef(id: orderId), lineItem: item,
                            change: Change(field: field, from: .from(from), to: .from(to))))
    }
}

@Suite struct PhaseTimelineTests {
    @Test func orderStaysFollowStatusChangesAndTheLastIsOpen() {
        var h = History()
        h.add(.orderFirstSeen, 0, from: nil, to: "PREPARING")
        h.add(.orderStatusChanged, 10, from: "PREPARING", to: "IN_PROGRESS")
        h.add(.orderStatusChanged, 30, from: "IN_PROGRESS", to: "COMPLETED")
        let t = PhaseTimeline.derive(orderId: h.orderId, events: h.events, snapshot: nil)
        #expect(t.phases == [
            Phase(status: "PREPARING", from: h.at(0), to: h.at(10)),
            Phase(status: "IN_PROGRESS", from: h.at(10), to: h.at(30)),
            Phase(status: "COMPLETED", from: h.at(30), to: nil),
        ])
        #expect(t.phases[2].durationSeconds(now: h.at(31)) == 3600)
        #expect(t.phases[0].durationSeconds(now: h.at(99)) == 36000)
    }

    @Test func preparingStartsAtTheSubmissionDateWhenEarlier() {
        var h = History()
        h.add(.orderFirstSeen, 5, from: nil, to: "PREPARING")
        let snapshot = OrderSnapshot(orderId: h.orderId, status: "PREPARING", submissionDate: h.at(-48))
        let t = PhaseTimeline.derive(orderId: h.orderId, events: h.events, snapshot: snapshot)
        #expect(t.phases == [Phase(status: "PREPARING", from: h.at(-48), to: nil)])
        // Another first status keeps the first-seen time.
        var other = History()
        other.add(.orderFirstSeen, 5, from: nil, to: "IN_PROGRESS")
        let t2 = PhaseTimeline.derive(orderId: other.orderId, events: other.events, snapshot: snapshot)
        #expect(t2.phases == [Phase(status: "IN_PROGRESS", from: other.at(5), to: nil)])
    }

    @Test func lineItemsStartWithTheOrderOrWhenAddedAndEndWhenRemoved() {
        var h = History()
        h.add(.orderFirstSeen, 0, from: nil, to: "IN_PROGRESS")
        h.add(.lineItemStatusChanged, 4, from: "BUILDING", to: "SHIPPED", item: LineItemRef(id: "li-a", status: "SHIPPED"))
        h.add(.lineItemAdded, 6, field: .lineItem, from: nil, to: "li-b", item: LineItemRef(id: "li-b", status: "PREPARING"))
        h.add(.lineItemRemoved, 9, field: .lineItem, from: "li-b", to: nil, item: LineItemRef(id: "li-b", status: "PREPARING"))
        let snapshot = OrderSnapshot(orderId: h.orderId, status: "IN_PROGRESS", lineItems: [
            LineItemSnapshot(lineItemId: "li-a", status: "SHIPPED"),
            LineItemSnapshot(lineItemId: "li-c", status: "DELIVERED"),
        ])
        let t = PhaseTimeline.derive(orderId: h.orderId, events: h.events, snapshot: snapshot)
        #expect(t.lineItems.map(\.id) == ["li-a", "li-b", "li-c"])
        #expect(t.lineItems[0].phases == [Phase(status: "BUILDING", from: h.at(0), to: h.at(4)),
                                          Phase(status: "SHIPPED", from: h.at(4), to: nil)])
        #expect(t.lineItems[1].phases == [Phase(status: "PREPARING", from: h.at(6), to: h.at(9))])
        // No event about it: its current status since the baseline.
        #expect(t.lineItems[2].phases == [Phase(status: "DELIVERED", from: h.at(0), to: nil)])
    }

    @Test func notFoundIsAStayThatTheNextStatusChangeEnds() {
        var h = History()
        h.add(.orderFirstSeen, 0, from: nil, to: "IN_PROGRESS")
        h.add(.orderNotFound, 2, from: "IN_PROGRESS", to: nil)
        h.add(.orderStatusChanged, 5, from: "IN_PROGRESS", to: "COMPLETED")
        let t = PhaseTimeline.derive(orderId: h.orderId, events: h.events, snapshot: nil)
        #expect(t.phases.map(\.status) == ["IN_PROGRESS", "NOT_FOUND", "COMPLETED"])
        #expect(t.phases[1] == Phase(status: "NOT_FOUND", from: h.at(2), to: h.at(5)))
    }

    @Test func eventsAreReadInSequenceOrderAndOtherEventsChangeNothing() {
        var h = History()
        h.add(.orderFirstSeen, 0, from: nil, to: "PREPARING")
        h.add(.watchFailing, 1, field: .watch, from: nil, to: "failing")
        h.add(.orderStatusChanged, 3, from: "PREPARING", to: "IN_PROGRESS")
        h.add(.orderFulfilled, 4, field: .fulfilledDate, from: nil, to: "2027-01-01T00:00:00Z")
        let t = PhaseTimeline.derive(orderId: h.orderId, events: h.events.reversed(), snapshot: nil)
        #expect(t.phases.map(\.status) == ["PREPARING", "IN_PROGRESS"])
    }

    @Test func withoutABaselineTheFirstChangeSaysWhereItStarted() {
        // Retention pruned order.first_seen: the first kept change tells the earlier status.
        var h = History()
        h.add(.orderFirstSeen, 0, from: nil, to: "PREPARING")
        h.add(.orderStatusChanged, 7, from: "PREPARING", to: "IN_PROGRESS")
        let t = PhaseTimeline.derive(orderId: h.orderId, events: Array(h.events.dropFirst()), snapshot: nil)
        #expect(t.phases == [Phase(status: "PREPARING", from: h.at(7), to: h.at(7)),
                             Phase(status: "IN_PROGRESS", from: h.at(7), to: nil)])
    }

    @Test func noEventsNoPhasesAndNilStatusesAreUnknown() {
        let empty = PhaseTimeline.derive(orderId: "oo-0123456789abcdef0", events: [], snapshot: nil)
        #expect(empty.phases.isEmpty && empty.lineItems.isEmpty)
        var h = History()
        h.add(.orderFirstSeen, 0, from: nil, to: nil)
        let t = PhaseTimeline.derive(orderId: h.orderId, events: h.events, snapshot: nil)
        #expect(t.phases == [Phase(status: "UNKNOWN", from: h.at(0), to: nil)])
    }

    @Test func timelineJSONHasTheDocumentedShape() throws {
        var h = History()
        h.add(.orderFirstSeen, 0, from: nil, to: "PREPARING")
        h.add(.orderStatusChanged, 2, from: "PREPARING", to: "IN_PROGRESS")
        let t = PhaseTimeline.derive(orderId: h.orderId, events: h.events, snapshot: nil)
        let data = try EventJSON.encoder().encode(TimelineJSON(t, now: h.at(3)))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["order_id"] as? String == h.orderId)
        let phases = try #require(json["phases"] as? [[String: Any]])
        #expect(phases.count == 2)
        #expect(phases[0]["duration_seconds"] as? Int == 7200)
        #expect(phases[1]["to"] is NSNull)
        #expect(phases[1]["duration_seconds"] as? Int == 3600)
        #expect(phases[0]["from"] as? String == ISO8601.format(h.at(0)))
        #expect((json["line_items"] as? [Any])?.isEmpty == true)
    }
}
