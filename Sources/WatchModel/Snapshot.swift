import Foundation

/// The state of one Outposts order as outpostwatch remembers it between polls.
///
/// It holds exactly the fields the diff compares and the events carry; the engine builds
/// it from an `OutpostsAPI.Order`, the store keeps the last one per order as JSON.
public struct OrderSnapshot: Codable, Sendable, Equatable {
    public var orderId: String
    public var outpostId: String?
    /// `Order.Status`, verbatim: unknown and deprecated values are kept as AWS sends them.
    public var status: String?
    public var submissionDate: Date?
    public var fulfilledDate: Date?
    public var paymentOption: String?
    public var paymentTerm: String?
    public var orderType: String?
    /// `QuoteIdentifier` / `QuoteOptionIdentifier` (added to the API in 2026); `nil` when absent.
    public var quoteId: String?
    public var quoteOptionId: String?
    /// Sorted by `lineItemId`, so two snapshots of the same order compare field by field.
    public var lineItems: [LineItemSnapshot]

    public init(orderId: String, outpostId: String? = nil, status: String? = nil,
                submissionDate: Date? = nil, fulfilledDate: Date? = nil,
                paymentOption: String? = nil, paymentTerm: String? = nil, orderType: String? = nil,
                quoteId: String? = nil, quoteOptionId: String? = nil, lineItems: [LineItemSnapshot] = []) {
        self.orderId = orderId
        self.outpostId = outpostId
        self.status = status
        self.submissionDate = submissionDate
        self.fulfilledDate = fulfilledDate
        self.paymentOption = paymentOption
        self.paymentTerm = paymentTerm
        self.orderType = orderType
        self.quoteId = quoteId
        self.quoteOptionId = quoteOptionId
        self.lineItems = lineItems.sorted { $0.lineItemId < $1.lineItemId }
    }

    /// The line item with this id, if the order has it.
    public func lineItem(_ id: String) -> LineItemSnapshot? {
        lineItems.first { $0.lineItemId == id }
    }

    /// Whether AWS will not move this order any further (polled at `terminal_interval`).
    public var isTerminal: Bool { Self.isTerminal(status: status) }

    /// Whether an order in `status` is terminal (COMPLETED, CANCELLED, or FULFILLED).
    public static func isTerminal(status: String?) -> Bool {
        status == "COMPLETED" || status == "CANCELLED" || status == "FULFILLED"
    }
}

/// One line item of an order: a rack or server on its way.
public struct LineItemSnapshot: Codable, Sendable, Equatable {
    public var lineItemId: String
    public var catalogItemId: String?
    public var quantity: Int?
    /// `LineItem.Status`, verbatim.
    public var status: String?
    /// `nil` when AWS sends no `ShipmentInformation` or one with neither field set.
    public var shipment: Shipment?
    /// Sorted by asset id; empty when AWS sends none.
    public var assets: [Asset]
    public var previousLineItemId: String?
    public var previousOrderId: String?

    public init(lineItemId: String, catalogItemId: String? = nil, quantity: Int? = nil, status: String? = nil,
                shipment: Shipment? = nil, assets: [Asset] = [], previousLineItemId: String? = nil,
                previousOrderId: String? = nil) {
        self.lineItemId = lineItemId
        self.catalogItemId = catalogItemId
        self.quantity = quantity
        self.status = status
        self.shipment = shipment
        self.assets = assets.sorted { ($0.assetId ?? "") < ($1.assetId ?? "") }
        self.previousLineItemId = previousLineItemId
        self.previousOrderId = previousOrderId
    }
}

/// Carrier and tracking number of a shipped line item.
public struct Shipment: Codable, Sendable, Equatable, Hashable {
    public var carrier: String?
    public var trackingNumber: String?
    /// The carrier's tracking page (``TrackingTemplates``): set on the shipments an event carries,
    /// never on a stored snapshot's (the diff compares what AWS sent).
    public var trackingURL: String?

    public init(carrier: String?, trackingNumber: String?, trackingURL: String? = nil) {
        self.carrier = carrier
        self.trackingNumber = trackingNumber
        self.trackingURL = trackingURL
    }

    enum CodingKeys: String, CodingKey {
        case carrier
        case trackingNumber = "tracking_number"
        case trackingURL = "tracking_url"
    }

    // Explicit nulls: a receiver sees both keys whether or not AWS sent them.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(carrier, forKey: .carrier)
        try c.encode(trackingNumber, forKey: .trackingNumber)
        try c.encodeIfPresent(trackingURL, forKey: .trackingURL)   // only where a template exists
    }
}

/// One asset (a server) of a line item and the MAC addresses AWS assigned to it.
public struct Asset: Codable, Sendable, Equatable, Hashable {
    public var assetId: String?
    public var macAddresses: [String]

    public init(assetId: String?, macAddresses: [String]) {
        self.assetId = assetId
        self.macAddresses = macAddresses
    }

    enum CodingKeys: String, CodingKey {
        case assetId = "asset_id"
        case macAddresses = "mac_addresses"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(assetId, forKey: .assetId)
        try c.encode(macAddresses, forKey: .macAddresses)
    }
}
