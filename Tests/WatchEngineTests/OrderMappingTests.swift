import Foundation
import OutpostsAPI
import Testing
import WatchEngine
import WatchModel

private let orderId = "oo-0123456789abcdef0"

@Suite struct OrderMappingTests {
    @Test func mapsEveryField() throws {
        let order = Order(
            outpostId: "op-0123456789abcdef0", orderId: orderId, status: "IN_PROGRESS",
            lineItems: [
                LineItem(catalogItemId: "OR-2", lineItemId: "li-b", quantity: 2, status: "SHIPPED",
                         shipmentInformation: ShipmentInformation(shipmentTrackingNumber: "1Z", shipmentCarrier: "UPS"),
                         assetInformationList: [
                            LineItemAssetInformation(assetId: "as-2", macAddressList: ["0a:02", "0a:01", "0a:02"]),
                            LineItemAssetInformation(assetId: "as-1", macAddressList: nil),
                         ],
                         previousLineItemId: "li-old", previousOrderId: "oo-00000000000000000"),
                LineItem(catalogItemId: "OR-1", lineItemId: "li-a", quantity: 1, status: "BUILDING",
                         shipmentInformation: ShipmentInformation()),
            ],
            paymentOption: "ALL_UPFRONT", orderSubmissionDate: Date(timeIntervalSince1970: 1_700_000_000.123456),
            orderFulfilledDate: nil, paymentTerm: "THREE_YEARS", orderType: "OUTPOST")
        let s = try OrderMapping.snapshot(of: order, requestedId: orderId)
        #expect(s.orderId == orderId)
        #expect(s.outpostId == "op-0123456789abcdef0")
        #expect(s.status == "IN_PROGRESS")
        #expect(s.paymentOption == "ALL_UPFRONT")
        #expect(s.paymentTerm == "THREE_YEARS")
        #expect(s.orderType == "OUTPOST")
        #expect(s.submissionDate == Date(timeIntervalSince1970: 1_700_000_000.123))
        #expect(s.fulfilledDate == nil)
        #expect(s.lineItems.map(\.lineItemId) == ["li-a", "li-b"])
        let a = s.lineItems[0], b = s.lineItems[1]
        #expect(a.shipment == nil, "an empty ShipmentInformation is no shipment")
        #expect(a.assets.isEmpty)
        #expect(b.catalogItemId == "OR-2" && b.quantity == 2 && b.status == "SHIPPED")
        #expect(b.shipment == Shipment(carrier: "UPS", trackingNumber: "1Z"))
        #expect(b.assets == [Asset(assetId: "as-1", macAddresses: []),
                             Asset(assetId: "as-2", macAddresses: ["0a:01", "0a:02"])])
        #expect(b.previousLineItemId == "li-old" && b.previousOrderId == "oo-00000000000000000")
    }

    @Test func unknownStatusesAreKeptVerbatim() throws {
        let order = Order(orderId: orderId, status: "QUANTUM_ENTANGLED",
                          lineItems: [LineItem(lineItemId: "li-1", status: "TELEPORTING")])
        let s = try OrderMapping.snapshot(of: order, requestedId: orderId)
        #expect(s.status == "QUANTUM_ENTANGLED")
        #expect(s.lineItems.first?.status == "TELEPORTING")
    }

    @Test func shipmentWithOneFieldIsKept() throws {
        let order = Order(orderId: orderId, lineItems: [
            LineItem(lineItemId: "li-1", shipmentInformation: ShipmentInformation(shipmentCarrier: "DHL")),
        ])
        let s = try OrderMapping.snapshot(of: order, requestedId: orderId)
        #expect(s.lineItems.first?.shipment == Shipment(carrier: "DHL", trackingNumber: nil))
    }

    @Test(arguments: [
        Order(status: "IN_PROGRESS"),
        Order(orderId: "", status: "IN_PROGRESS"),
        Order(orderId: "oo-aaaaaaaaaaaaaaaaa", status: "IN_PROGRESS"),
        Order(orderId: orderId, lineItems: [LineItem(status: "BUILDING")]),
        Order(orderId: orderId, lineItems: [LineItem(lineItemId: "li-1"), LineItem(lineItemId: "li-1")]),
    ])
    func invalidBodiesThrow(order: Order) {
        #expect(throws: InvalidOrderError.self) { try OrderMapping.snapshot(of: order, requestedId: orderId) }
    }

    @Test func snapshotSurvivesTheStoreEncoding() throws {
        // The store keeps snapshots as JSON; a re-read snapshot must diff as "no change".
        let order = Order(orderId: orderId, status: "DELIVERED", orderSubmissionDate: Date(timeIntervalSince1970: 1.0 / 3),
                          orderFulfilledDate: Date(timeIntervalSince1970: 1_790_000_000.987654))
        let s = try OrderMapping.snapshot(of: order, requestedId: orderId)
        let back = try JSONDecoder().decode(OrderSnapshot.self, from: JSONEncoder().encode(s))
        #expect(OrderDiff.events(old: back, new: s, context: OrderContext(label: nil), at: Date()).isEmpty)
    }
}
