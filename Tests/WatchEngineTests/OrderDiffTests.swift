import Foundation
import PropertyBased
import Testing
import WatchEngine
import WatchModel

private let at = Date(timeIntervalSince1970: 1_790_000_000)
private let orderId = "oo-0123456789abcdef0"

private func order(_ status: String?, fulfilled: Date? = nil, _ items: [LineItemSnapshot] = []) -> OrderSnapshot {
    OrderSnapshot(orderId: orderId, outpostId: "op-0123456789abcdef0", status: status, fulfilledDate: fulfilled,
                  lineItems: items)
}

private func item(_ id: String, _ status: String?, shipment: Shipment? = nil, assets: [Asset] = []) -> LineItemSnapshot {
    LineItemSnapshot(lineItemId: id, catalogItemId: "OR-ABC", quantity: 1, status: status, shipment: shipment,
                     assets: assets)
}

@Suite struct OrderDiffExamples {
    @Test func firstPollIsOnlyFirstSeen() {
        let new = order("IN_PROGRESS", [item("li-1", "BUILDING"), item("li-2", "SHIPPED")])
        let events = OrderDiff.events(old: nil, new: new, context: OrderContext(label: "Seattle rack 2"), at: at)
        #expect(events.count == 1)
        let event = try! #require(events.first)
        #expect(event.type == .orderFirstSeen)
        #expect(event.change == Change(field: .status, from: .null, to: .string("IN_PROGRESS")))
        #expect(event.order == OrderRef(id: orderId, outpostId: "op-0123456789abcdef0", label: "Seattle rack 2",
                                        status: "IN_PROGRESS"))
        #expect(event.lineItem == nil)
        #expect(event.sequence == 0)
        #expect(event.occurredAt == at)
    }

    @Test func identicalSnapshotsGiveNothing() {
        let s = order("IN_PROGRESS", [item("li-1", "SHIPPED", shipment: Shipment(carrier: "UPS", trackingNumber: "1Z"))])
        #expect(OrderDiff.events(old: s, new: s, context: OrderContext(label: nil), at: at).isEmpty)
    }

    @Test func orderStatusChange() throws {
        let events = OrderDiff.events(old: order("PREPARING"), new: order("IN_PROGRESS"), context: OrderContext(label: "x"), at: at)
        let event = try #require(events.only)
        #expect(event.type == .orderStatusChanged)
        #expect(event.change == Change(field: .status, from: .string("PREPARING"), to: .string("IN_PROGRESS")))
        #expect(event.order.status == "IN_PROGRESS")
        #expect(event.order.label == "x")
    }

    @Test func statusAppearingOrVanishingUsesNull() throws {
        let appeared = try #require(OrderDiff.events(old: order(nil), new: order("PENDING"), context: OrderContext(label: nil), at: at).only)
        #expect(appeared.change == Change(field: .status, from: .null, to: .string("PENDING")))
        let vanished = try #require(OrderDiff.events(old: order("PENDING"), new: order(nil), context: OrderContext(label: nil), at: at).only)
        #expect(vanished.change == Change(field: .status, from: .string("PENDING"), to: .null))
    }

    @Test func fulfilledDateAppearsThenChanges() throws {
        let date = Date(timeIntervalSince1970: 1_790_000_000)
        let first = try #require(OrderDiff.events(old: order("DELIVERED"), new: order("DELIVERED", fulfilled: date),
                                                  context: OrderContext(label: nil), at: at).only)
        #expect(first.type == .orderFulfilled)
        #expect(first.change == Change(field: .fulfilledDate, from: .null, to: .string("2026-09-21T14:13:20Z")))
        let later = date.addingTimeInterval(86400)
        let moved = try #require(OrderDiff.events(old: order("DELIVERED", fulfilled: date),
                                                  new: order("DELIVERED", fulfilled: later), context: OrderContext(label: nil), at: at).only)
        #expect(moved.change == Change(field: .fulfilledDate, from: .string("2026-09-21T14:13:20Z"),
                                       to: .string("2026-09-22T14:13:20Z")))
    }

    @Test func fulfilledDateBelowMillisecondIsNoChange() {
        let date = Date(timeIntervalSince1970: 1_790_000_000.25)
        let events = OrderDiff.events(old: order("DELIVERED", fulfilled: date),
                                      new: order("DELIVERED", fulfilled: date.addingTimeInterval(0.0001)),
                                      context: OrderContext(label: nil), at: at)
        #expect(events.isEmpty)
    }

    @Test func vanishingFulfilledDateIsNotAFulfilment() {
        let events = OrderDiff.events(old: order("DELIVERED", fulfilled: at), new: order("DELIVERED"), context: OrderContext(label: nil), at: at)
        #expect(events.isEmpty)
    }

    @Test func lineItemAddedAndRemoved() throws {
        let events = OrderDiff.events(old: order("IN_PROGRESS", [item("li-1", "BUILDING")]),
                                      new: order("IN_PROGRESS", [item("li-2", "PREPARING")]), context: OrderContext(label: nil), at: at)
        #expect(events.map(\.type) == [.lineItemRemoved, .lineItemAdded])
        #expect(events[0].change == Change(field: .lineItem, from: .string("li-1"), to: .null))
        #expect(events[0].lineItem == LineItemRef(item("li-1", "BUILDING")))
        #expect(events[1].change == Change(field: .lineItem, from: .null, to: .string("li-2")))
        #expect(events[1].lineItem == LineItemRef(item("li-2", "PREPARING")))
    }

    @Test func lineItemStatusShipmentAndAssets() {
        let mac = "0a:00:00:00:00:01"
        let before = item("li-1", "BUILDING")
        let after = item("li-1", "SHIPPED", shipment: Shipment(carrier: "UPS", trackingNumber: "1Z999"),
                         assets: [Asset(assetId: "as-1", macAddresses: [mac])])
        let events = OrderDiff.events(old: order("IN_PROGRESS", [before]), new: order("IN_PROGRESS", [after]),
                                      context: OrderContext(label: nil), at: at)
        #expect(events.map(\.type) == [.lineItemStatusChanged, .lineItemShipmentChanged, .lineItemAssetsChanged])
        #expect(events[0].change == Change(field: .status, from: .string("BUILDING"), to: .string("SHIPPED")))
        #expect(events[1].change == Change(field: .shipment, from: .null,
                                           to: .shipment(Shipment(carrier: "UPS", trackingNumber: "1Z999"))))
        #expect(events[2].change == Change(field: .assets, from: .null,
                                           to: .assets([Asset(assetId: "as-1", macAddresses: [mac])])))
        for event in events {
            #expect(event.lineItem == LineItemRef(after))
            #expect(event.order.status == "IN_PROGRESS")
        }
    }

    @Test func trackingNumberChangeIsShipmentChange() throws {
        let a = item("li-1", "SHIPPED", shipment: Shipment(carrier: "UPS", trackingNumber: nil))
        let b = item("li-1", "SHIPPED", shipment: Shipment(carrier: "UPS", trackingNumber: "1Z"))
        let event = try #require(OrderDiff.events(old: order("X", [a]), new: order("X", [b]), context: OrderContext(label: nil), at: at).only)
        #expect(event.type == .lineItemShipmentChanged)
        #expect(event.change.from == .shipment(Shipment(carrier: "UPS", trackingNumber: nil)))
    }

    @Test func reorderedMACsAreNotAChange() {
        let a = item("li-1", "SHIPPED", assets: [Asset(assetId: "as-1", macAddresses: ["b", "a"]),
                                                  Asset(assetId: "as-2", macAddresses: [])])
        let b = item("li-1", "SHIPPED", assets: [Asset(assetId: "as-2", macAddresses: []),
                                                  Asset(assetId: "as-1", macAddresses: ["a", "b"])])
        #expect(OrderDiff.events(old: order("X", [a]), new: order("X", [b]), context: OrderContext(label: nil), at: at).isEmpty)
    }

    @Test func newMACIsAnAssetsChange() throws {
        let a = item("li-1", "SHIPPED", assets: [Asset(assetId: "as-1", macAddresses: ["a"])])
        let b = item("li-1", "SHIPPED", assets: [Asset(assetId: "as-1", macAddresses: ["a", "b"])])
        let event = try #require(OrderDiff.events(old: order("X", [a]), new: order("X", [b]), context: OrderContext(label: nil), at: at).only)
        #expect(event.type == .lineItemAssetsChanged)
        #expect(event.change == Change(field: .assets, from: .assets([Asset(assetId: "as-1", macAddresses: ["a"])]),
                                       to: .assets([Asset(assetId: "as-1", macAddresses: ["a", "b"])])))
    }

    @Test func orderOfEventsFollowsTheSpec() {
        let old = order("IN_PROGRESS", [item("li-b", "BUILDING"), item("li-c", "BUILDING")])
        let new = order("DELIVERED", fulfilled: at,
                        [item("li-a", "PREPARING"),
                         item("li-b", "SHIPPED", shipment: Shipment(carrier: "DHL", trackingNumber: "9"))])
        let events = OrderDiff.events(old: old, new: new, context: OrderContext(label: nil), at: at)
        #expect(events.map(\.type) == [.orderStatusChanged, .orderFulfilled, .lineItemAdded,
                                       .lineItemStatusChanged, .lineItemShipmentChanged, .lineItemRemoved])
        #expect(events.map { $0.lineItem?.id } == [nil, nil, "li-a", "li-b", "li-b", "li-c"])
        #expect(Set(events.map(\.id)).count == events.count)
        for event in events { #expect(event.order.status == "DELIVERED") }
    }

    @Test func eventsSurviveTheirJSONForm() throws {
        let old = order("IN_PROGRESS", [item("li-1", "BUILDING")])
        let new = order("DELIVERED", fulfilled: at,
                        [item("li-1", "SHIPPED", shipment: Shipment(carrier: "UPS", trackingNumber: "1Z"),
                              assets: [Asset(assetId: "as-1", macAddresses: ["0a:00:00:00:00:01"])])])
        for event in OrderDiff.events(old: old, new: new, context: OrderContext(label: "l"), at: at) {
            #expect(try EventJSON.decode(EventJSON.encode(event)) == event)
        }
    }
}

@Suite struct OrderDiffProperties {
    @Test func diffOfASnapshotWithItselfIsEmpty() async {
        await propertyCheck(count: 300, input: Snapshots.one) { s in
            #expect(OrderDiff.events(old: s, new: s, context: OrderContext(label: nil), at: at).isEmpty)
        }
    }

    @Test func firstSeenExactlyWhenThereIsNoOldState() async {
        await propertyCheck(count: 300, input: Snapshots.pair) { old, new in
            let first = OrderDiff.events(old: nil, new: new, context: OrderContext(label: "l"), at: at)
            #expect(first.map(\.type) == [.orderFirstSeen])
            #expect(first.first?.change.to == .from(new.status))
            let later = OrderDiff.events(old: old, new: new, context: OrderContext(label: "l"), at: at)
            #expect(!later.contains { $0.type == .orderFirstSeen })
        }
    }

    @Test func replayingTheEventsOnTheOldStateGivesTheNewOne() async {
        await propertyCheck(count: 1000, input: Snapshots.pair) { old, new in
            let events = OrderDiff.events(old: old, new: new, context: OrderContext(label: "l"), at: at)
            let replayed = try Replay.apply(events, to: old)
            var expected = Replay.Described(new)
            // A vanishing fulfilled date is deliberately not reported: the receiver keeps the old one.
            expected.fulfilledDate = new.fulfilledDate ?? old.fulfilledDate
            #expect(Replay.Described(replayed) == expected)
        }
    }

    @Test func eventsDescribeTheNewState() async {
        await propertyCheck(count: 500, input: Snapshots.pair) { old, new in
            let events = OrderDiff.events(old: old, new: new, context: OrderContext(label: "Seattle"), at: at)
            #expect(Set(events.map(\.id)).count == events.count)
            for event in events {
                #expect(event.sequence == 0)
                #expect(event.order == OrderRef(id: new.orderId, outpostId: new.outpostId, label: "Seattle",
                                                status: new.status))
                switch event.type {
                case .orderStatusChanged, .orderFulfilled:
                    #expect(event.lineItem == nil)
                case .lineItemRemoved:
                    let id = try #require(event.lineItem?.id)
                    #expect(event.lineItem == old.lineItem(id).map(LineItemRef.init))
                default:
                    let id = try #require(event.lineItem?.id)
                    #expect(event.lineItem == new.lineItem(id).map(LineItemRef.init))
                }
                #expect(event.change.from != event.change.to)
            }
            // Line-item events come after order events, grouped per item in id order.
            let itemIds = events.compactMap { $0.lineItem?.id }
            #expect(itemIds == itemIds.sorted())
            let firstItemEvent = events.firstIndex { $0.lineItem != nil } ?? events.count
            #expect(events[firstItemEvent...].allSatisfy { $0.lineItem != nil })
        }
    }

    /// Each kind of single-field change yields exactly one event, of the type that names it.
    @Test func singleFieldChangesYieldOneEventOfTheirType() async {
        let mutation = Generator<Int, Shrink.None<Int>>(run: { rng in Int.random(in: 0..<6, using: &rng) })
        await propertyCheck(count: 600, input: Snapshots.one, mutation) { old, kind in
            var new = old
            let expected: EventType
            let target = old.lineItems.first?.lineItemId
            switch kind {
            case 0:
                new.status = (old.status ?? "") + "_X"
                expected = .orderStatusChanged
            case 1:
                new.fulfilledDate = (old.fulfilledDate ?? at).addingTimeInterval(3600)
                expected = .orderFulfilled
            case 2 where target != nil:
                new.lineItems[0].status = (old.lineItems[0].status ?? "") + "_X"
                expected = .lineItemStatusChanged
            case 3 where target != nil:
                new.lineItems[0].shipment = Shipment(carrier: "NEW_CARRIER",
                                                     trackingNumber: old.lineItems[0].shipment?.trackingNumber)
                expected = .lineItemShipmentChanged
            case 4 where target != nil:
                new.lineItems[0].assets.append(Asset(assetId: "as-new", macAddresses: ["0a:ff:ff:ff:ff:ff"]))
                expected = .lineItemAssetsChanged
            case 5 where target != nil:
                new.lineItems.removeFirst()
                expected = .lineItemRemoved
            default:
                new.lineItems.append(LineItemSnapshot(lineItemId: "li-new", status: "PREPARING"))
                expected = .lineItemAdded
            }
            let events = OrderDiff.events(old: old, new: new, context: OrderContext(label: nil), at: at)
            #expect(events.map(\.type) == [expected])
        }
    }
}

extension Array {
    /// The single element, or `nil` when there are none or several.
    var only: Element? { count == 1 ? first : nil }
}
