import Foundation
import Testing
import WatchConfig
import WatchEngine
import WatchModel

/// Stall decisions on made-up histories: no store, no clock.
@Suite struct StallDetectorTests {
    let day: TimeInterval = 86_400
    let submitted = Date(timeIntervalSince1970: 1_790_000_000)
    let id = "oo-0123456789abcdef0"

    var rules: StallSettings {
        StallSettings(order: ["PREPARING": .init(.seconds(21 * 86_400), text: "21d"),
                              "IN_PROGRESS": .init(.seconds(45 * 86_400), text: "45d")],
                      lineItem: ["SHIPPED": .init(.seconds(10 * 86_400), text: "10d")])
    }

    func snapshot(_ status: String, item: String? = nil) -> OrderSnapshot {
        OrderSnapshot(orderId: id, outpostId: "op-0123456789abcdef0", status: status, submissionDate: submitted,
                      lineItems: item.map { [LineItemSnapshot(lineItemId: "ooi-1", status: $0)] } ?? [])
    }

    func event(_ type: EventType, at: Date, to: ChangeValue = .null, lineItem: String? = nil) -> Event {
        Event(type: type, occurredAt: at, order: OrderRef(id: id),
              lineItem: lineItem.map { LineItemRef(id: "ooi-1", status: $0) }, change: Change(field: .status, from: .null, to: to))
    }

    func stallSince(_ event: Event) -> Date? {
        if case .stall(let stall) = event.change.to { return stall.since }
        return nil
    }

    @Test("PREPARING at the first poll: the stay began at OrderSubmissionDate")
    func firstPollUsesTheSubmissionDate() {
        let firstSeen = submitted.addingTimeInterval(20 * day)
        let history = [event(.orderFirstSeen, at: firstSeen, to: .string("PREPARING"))]
        let early = StallDetector.evaluate(snapshot: snapshot("PREPARING"), context: OrderContext(label: "rack"), history: history, rules: rules,
                                           now: submitted.addingTimeInterval(20.5 * day))
        #expect(early.events.isEmpty)
        #expect(early.nextDeadline == submitted.addingTimeInterval(21 * day))
        let late = StallDetector.evaluate(snapshot: snapshot("PREPARING"), context: OrderContext(label: "rack"), history: history, rules: rules,
                                          now: submitted.addingTimeInterval(21 * day))
        #expect(late.events.map(\.type) == [.orderStalled])
        #expect(late.events.first?.change == Change(field: .stalled, from: .null, to: .stall(
            Stall(status: "PREPARING", since: submitted, threshold: "21d"))))
        #expect(late.events.first?.order.label == "rack")
        #expect(late.nextDeadline == nil)
    }

    @Test("another status at the first poll: the stay began when it was first seen")
    func firstPollOtherStatus() {
        let firstSeen = submitted.addingTimeInterval(30 * day)
        let history = [event(.orderFirstSeen, at: firstSeen, to: .string("IN_PROGRESS"))]
        let result = StallDetector.evaluate(snapshot: snapshot("IN_PROGRESS"), context: OrderContext(label: nil), history: history, rules: rules,
                                            now: firstSeen)
        #expect(result.nextDeadline == firstSeen.addingTimeInterval(45 * day))
    }

    @Test("once per stay; a status change starts a new stay; back to the status is a new stay too")
    func oncePerStay() {
        let t0 = submitted
        var history = [event(.orderFirstSeen, at: t0, to: .string("PREPARING")),
                       event(.orderStatusChanged, at: t0.addingTimeInterval(day), to: .string("IN_PROGRESS"))]
        let due = StallDetector.evaluate(snapshot: snapshot("IN_PROGRESS"), context: OrderContext(label: nil), history: history, rules: rules,
                                         now: t0.addingTimeInterval(50 * day))
        #expect(due.events.count == 1)
        #expect(due.events.first.flatMap(stallSince) == t0.addingTimeInterval(day))
        history += due.events
        let again = StallDetector.evaluate(snapshot: snapshot("IN_PROGRESS"), context: OrderContext(label: nil), history: history, rules: rules,
                                           now: t0.addingTimeInterval(90 * day))
        #expect(again.events.isEmpty && again.nextDeadline == nil, "reported once for this stay")
        history.append(event(.orderStatusChanged, at: t0.addingTimeInterval(91 * day), to: .string("PREPARING")))
        history.append(event(.orderStatusChanged, at: t0.addingTimeInterval(92 * day), to: .string("IN_PROGRESS")))
        let newStay = StallDetector.evaluate(snapshot: snapshot("IN_PROGRESS"), context: OrderContext(label: nil), history: history, rules: rules,
                                             now: t0.addingTimeInterval(93 * day))
        #expect(newStay.events.isEmpty)
        #expect(newStay.nextDeadline == t0.addingTimeInterval((92 + 45) * day), "a new stay, with its own deadline")
    }

    @Test("line items: the stay begins at the status change; statuses without a threshold never stall")
    func lineItems() {
        let t0 = submitted
        let history = [event(.orderFirstSeen, at: t0, to: .string("IN_PROGRESS")),
                       event(.lineItemStatusChanged, at: t0.addingTimeInterval(3 * day), to: .string("SHIPPED"),
                             lineItem: "SHIPPED")]
        let result = StallDetector.evaluate(snapshot: snapshot("IN_PROGRESS", item: "SHIPPED"), context: OrderContext(label: nil),
                                            history: history, rules: rules, now: t0.addingTimeInterval(14 * day))
        #expect(result.events.map(\.type) == [.lineItemStalled])
        #expect(result.events.first?.lineItem?.id == "ooi-1")
        #expect(result.nextDeadline == t0.addingTimeInterval(45 * day), "the order's own stay is next")
        let building = StallDetector.evaluate(snapshot: snapshot("COMPLETED", item: "INSTALLED"), context: OrderContext(label: nil),
                                              history: history, rules: rules, now: t0.addingTimeInterval(400 * day))
        #expect(building.events.isEmpty && building.nextDeadline == nil, "terminal order, no threshold for INSTALLED")
    }

    @Test("no thresholds or no first poll: nothing")
    func nothingToDo() {
        let history = [event(.orderFirstSeen, at: submitted, to: .string("PREPARING"))]
        #expect(StallDetector.evaluate(snapshot: snapshot("PREPARING"), context: OrderContext(label: nil), history: history,
                                       rules: StallSettings(), now: .distantFuture).events.isEmpty)
        #expect(StallDetector.evaluate(snapshot: snapshot("PREPARING"), context: OrderContext(label: nil), history: [],
                                       rules: rules, now: .distantFuture).events.isEmpty)
    }
}
