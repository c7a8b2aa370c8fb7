import Foundation
import OutpostsAPI

extension Scenario {
    /// The built-in scenario (`outpostwatch simulate` and `demo` without a file): about 20
    /// seconds in which every kind of order change happens at least once.
    ///
    /// - Order `oo-0123456789abcdef0` (Outpost `op-0123456789abcdef0`): PREPARING → IN_PROGRESS →
    ///   DELIVERED → COMPLETED; its two line items go PREPARING → BUILDING → SHIPPED (UPS
    ///   tracking 1Z…, DHL) → DELIVERED → INSTALLED, get assets with MAC addresses, and the
    ///   order gets its `OrderFulfilledDate` when it completes.
    /// - Order `oo-0fedcba9876543210` (Outpost `op-0fedcba9876543210`): PREPARING → IN_PROGRESS →
    ///   CANCELLED, its line item BUILDING → CANCELLED.
    ///
    /// Every step changes something, so each produces at least one event.
    public static let `default`: Scenario = {
        let rack = "oo-0123456789abcdef0"
        let cancelled = "oo-0fedcba9876543210"
        let rackItem = "ooi-0a1b2c3d4e5f60701"
        let serverItem = "ooi-0a1b2c3d4e5f60702"
        let cancelledItem = "ooi-0f1e2d3c4b5a60901"
        let orders = [
            Order(outpostId: "op-0123456789abcdef0", orderId: rack, status: "PREPARING",
                  lineItems: [
                      LineItem(catalogItemId: "OR-8CVV0EV", lineItemId: rackItem, quantity: 1, status: "PREPARING"),
                      LineItem(catalogItemId: "OR-4XNJ2QZ", lineItemId: serverItem, quantity: 2, status: "PREPARING"),
                  ],
                  paymentOption: "ALL_UPFRONT", paymentTerm: "THREE_YEARS", orderType: "OUTPOST"),
            Order(outpostId: "op-0fedcba9876543210", orderId: cancelled, status: "PREPARING",
                  lineItems: [
                      LineItem(catalogItemId: "OR-8CVV0EV", lineItemId: cancelledItem, quantity: 1, status: "PREPARING"),
                  ],
                  paymentOption: "NO_UPFRONT", paymentTerm: "ONE_YEAR", orderType: "OUTPOST"),
        ]
        let timeline: [Step] = [
            Step(at: 1, order: rack, status: "IN_PROGRESS"),
            Step(at: 2, order: rack, lineItem: rackItem, status: "BUILDING"),
            Step(at: 3, order: rack, lineItem: serverItem, status: "BUILDING"),
            Step(at: 4, order: cancelled, status: "IN_PROGRESS"),
            Step(at: 5, order: cancelled, lineItem: cancelledItem, status: "BUILDING"),
            Step(at: 6, order: rack, lineItem: rackItem, status: "SHIPPED",
                 shipment: ShipmentInformation(shipmentTrackingNumber: "1Z999AA10123456784", shipmentCarrier: "UPS"),
                 note: "AWS reports the carrier together with the SHIPPED status"),
            Step(at: 7, order: rack, lineItem: serverItem, status: "SHIPPED",
                 shipment: ShipmentInformation(shipmentTrackingNumber: "4518937720", shipmentCarrier: "DHL")),
            Step(at: 8, order: cancelled, status: "CANCELLED"),
            Step(at: 9, order: cancelled, lineItem: cancelledItem, status: "CANCELLED"),
            Step(at: 10, order: rack, lineItem: rackItem, status: "DELIVERED"),
            Step(at: 11, order: rack, lineItem: serverItem, status: "DELIVERED"),
            Step(at: 12, order: rack, status: "DELIVERED"),
            Step(at: 13, order: rack, lineItem: rackItem,
                 assets: [LineItemAssetInformation(assetId: "7e2f9c81ab", macAddressList: ["0a:1b:2c:3d:4e:5f", "0a:1b:2c:3d:4e:60"])]),
            Step(at: 14, order: rack, lineItem: serverItem,
                 assets: [LineItemAssetInformation(assetId: "5c3d7a19ef", macAddressList: ["0a:1b:2c:3d:4e:61"]),
                          LineItemAssetInformation(assetId: "5c3d7a19f0", macAddressList: ["0a:1b:2c:3d:4e:62"])]),
            Step(at: 15, order: rack, lineItem: rackItem, status: "INSTALLING"),
            Step(at: 16, order: rack, lineItem: rackItem, status: "INSTALLED"),
            Step(at: 17, order: rack, lineItem: serverItem, status: "INSTALLED"),
            Step(at: 18, order: rack, fulfilled: true),
            Step(at: 19, order: rack, status: "COMPLETED"),
        ]
        return Scenario(orders: orders, timeline: timeline)
    }()
}
