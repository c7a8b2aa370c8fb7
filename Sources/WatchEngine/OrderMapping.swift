import Foundation
import OutpostsAPI
import WatchModel

/// Why a GetOrder answer could not be turned into an ``OrderSnapshot``: the poll failed, no event.
public struct InvalidOrderError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "invalid Order in the GetOrder answer: \(message)" }
}

/// Turns the API's `Order` into the snapshot the store keeps and the diff compares.
///
/// The normalisation here is what makes "nothing changed" mean "equal snapshots": the same
/// order answered twice by AWS, or read back from the store after a restart, must produce
/// equal snapshots, or every restart would report phantom changes.
public enum OrderMapping {
    /// - Throws: ``InvalidOrderError`` when the body has no `OrderId`, answers for another order than
    ///   `requestedId`, or has a line item without `LineItemId` or two with the same one (the diff
    ///   matches line items by id, so an ambiguous id cannot be diffed).
    public static func snapshot(of order: Order, requestedId: String) throws -> OrderSnapshot {
        guard let orderId = order.orderId, !orderId.isEmpty else {
            throw InvalidOrderError("no OrderId")
        }
        guard orderId == requestedId else {
            throw InvalidOrderError("OrderId \(orderId) answered for \(requestedId)")
        }
        var seen = Set<String>()
        var items: [LineItemSnapshot] = []
        for item in order.lineItems ?? [] {
            guard let id = item.lineItemId, !id.isEmpty else {
                throw InvalidOrderError("a line item without LineItemId")
            }
            guard seen.insert(id).inserted else {
                throw InvalidOrderError("line item \(id) listed twice")
            }
            items.append(snapshot(of: item, id: id))
        }
        return OrderSnapshot(
            orderId: orderId, outpostId: order.outpostId, status: order.status,
            submissionDate: order.orderSubmissionDate.map(wholeMilliseconds),
            fulfilledDate: order.orderFulfilledDate.map(wholeMilliseconds),
            paymentOption: order.paymentOption, paymentTerm: order.paymentTerm, orderType: order.orderType,
            quoteId: order.quoteIdentifier, quoteOptionId: order.quoteOptionIdentifier,
            lineItems: items)
    }

    private static func snapshot(of item: LineItem, id: String) -> LineItemSnapshot {
        LineItemSnapshot(
            lineItemId: id, catalogItemId: item.catalogItemId, quantity: item.quantity, status: item.status,
            shipment: shipment(item.shipmentInformation),
            assets: (item.assetInformationList ?? []).map(asset),
            previousLineItemId: item.previousLineItemId, previousOrderId: item.previousOrderId)
    }

    /// `nil` when AWS sends no information at all: an empty `ShipmentInformation` is not a shipment,
    /// and treating it as one would report "shipment changed" from nothing to nothing.
    static func shipment(_ info: ShipmentInformation?) -> Shipment? {
        let carrier = nonEmpty(info?.shipmentCarrier)
        let tracking = nonEmpty(info?.shipmentTrackingNumber)
        if carrier == nil && tracking == nil { return nil }
        return Shipment(carrier: carrier, trackingNumber: tracking)
    }

    /// MAC addresses are compared as a set and stored sorted: the API documents no order for
    /// `MacAddressList`, so a reordered list is the same hardware and must not be reported as an
    /// assets change; sorting once here lets plain equality do the set comparison everywhere.
    static func asset(_ info: LineItemAssetInformation) -> Asset {
        Asset(assetId: info.assetId, macAddresses: normalizedMACs(info.macAddressList ?? []))
    }

    /// Sorted, without duplicates: the set of MAC addresses as one canonical list.
    public static func normalizedMACs(_ macs: [String]) -> [String] {
        Array(Set(macs)).sorted()
    }

    /// Dates leave the process as ISO-8601 with at most milliseconds; keeping no finer precision in
    /// the snapshot means a stored and re-read snapshot compares equal to a fresh one.
    static func wholeMilliseconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    private static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }
}
