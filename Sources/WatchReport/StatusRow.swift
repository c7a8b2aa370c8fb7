import Foundation
import WatchModel
import WatchStore

/// One watched order as `status --json`, `GET /api/orders` and the rows of the status page show
/// it (docs/cli.md, docs/status-page.md): the one implementation of "a status row".
public struct StatusRow: Encodable, Sendable, Equatable {
    public var orderId: String
    public var label: String?
    /// The name of the configured account that watches the order (docs/configuration.md).
    public var account: String
    /// That account's region, once the order has been in a watch set that knew it.
    public var region: String?
    public var outpostId: String?
    public var status: String?
    /// `QuoteIdentifier` and `QuoteOptionIdentifier` of the last successful poll, when AWS sent them.
    public var quoteId: String?
    public var quoteOptionId: String?
    public var lineItemsByStatus: [String: Int]
    public var lastPollAt: Date?
    public var lastSuccessAt: Date?
    public var lastChangeAt: Date?
    public var consecutiveFailures: Int
    public var failing: Bool
    public var notFound: Bool
    /// In a reported stall now: an `order.stalled` or `line_item.stalled` whose stay goes on.
    public var stalled = false
    public var lastError: String?
    public var lastSequence: Int64
    public var source: String
    public var active: Bool
    /// The line items that have a shipment, with the carrier's tracking link where a template
    /// exists (`[tracking]`, docs/configuration.md).
    public var shipments: [ShipmentRow] = []

    enum CodingKeys: String, CodingKey {
        case orderId = "order_id", label, account, region, outpostId = "outpost_id", status
        case quoteId = "quote_id", quoteOptionId = "quote_option_id"
        case lineItemsByStatus = "line_items_by_status", lastPollAt = "last_poll_at"
        case lastSuccessAt = "last_success_at", lastChangeAt = "last_change_at"
        case consecutiveFailures = "consecutive_failures", failing, notFound = "not_found", stalled
        case lastError = "last_error", lastSequence = "last_sequence", source, active, shipments
    }

    // Explicit nulls: every row has every key.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(orderId, forKey: .orderId)
        try c.encode(label, forKey: .label)
        try c.encode(account, forKey: .account)
        try c.encode(region, forKey: .region)
        try c.encode(outpostId, forKey: .outpostId)
        try c.encode(status, forKey: .status)
        try c.encode(quoteId, forKey: .quoteId)
        try c.encode(quoteOptionId, forKey: .quoteOptionId)
        try c.encode(lineItemsByStatus, forKey: .lineItemsByStatus)
        try c.encode(lastPollAt, forKey: .lastPollAt)
        try c.encode(lastSuccessAt, forKey: .lastSuccessAt)
        try c.encode(lastChangeAt, forKey: .lastChangeAt)
        try c.encode(consecutiveFailures, forKey: .consecutiveFailures)
        try c.encode(failing, forKey: .failing)
        try c.encode(notFound, forKey: .notFound)
        try c.encode(stalled, forKey: .stalled)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(lastSequence, forKey: .lastSequence)
        try c.encode(source, forKey: .source)
        try c.encode(active, forKey: .active)
        try c.encode(shipments, forKey: .shipments)
    }

    public init(_ w: WatchedOrder, tracking: TrackingTemplates = .builtIn) {
        orderId = w.orderId
        label = w.label
        account = w.account
        region = w.region
        outpostId = w.snapshot?.outpostId
        status = w.notFound ? "NOT_FOUND" : w.snapshot?.status
        quoteId = w.snapshot?.quoteId
        quoteOptionId = w.snapshot?.quoteOptionId
        lineItemsByStatus = w.lineItemStatusCounts
        lastPollAt = w.lastPollAt
        lastSuccessAt = w.lastSuccessAt
        lastChangeAt = w.lastChangeAt
        consecutiveFailures = w.consecutiveFailures
        failing = w.failing
        notFound = w.notFound
        lastError = w.lastError
        lastSequence = w.lastSequence
        source = w.source.rawValue
        active = w.active
        shipments = (w.snapshot?.lineItems ?? []).compactMap { item in
            item.shipment.map { ShipmentRow(lineItemId: item.lineItemId, shipment: $0, tracking: tracking) }
        }
    }

    /// The rows of every active order (of `account` when given), in the store's order: what
    /// `status --json` prints.
    public static func active(in store: StateStore, account: String? = nil,
                              tracking: TrackingTemplates = .builtIn) async throws -> [StatusRow] {
        let stalled = try await store.stalledOrders()
        return try await store.watchedOrders(account: account).filter(\.active).map { order in
            var row = StatusRow(order, tracking: tracking)
            row.stalled = stalled.contains(order.orderId)
            return row
        }
    }
}

/// One shipment of a status row: `{"line_item_id", "carrier", "tracking_number", "tracking_url"}`
/// (explicit nulls).
public struct ShipmentRow: Encodable, Sendable, Equatable {
    public var lineItemId: String
    public var carrier: String?
    public var trackingNumber: String?
    public var trackingURL: String?

    public init(lineItemId: String, shipment: Shipment, tracking: TrackingTemplates) {
        self.lineItemId = lineItemId
        carrier = shipment.carrier
        trackingNumber = shipment.trackingNumber
        trackingURL = tracking.url(for: shipment)
    }

    enum CodingKeys: String, CodingKey {
        case lineItemId = "line_item_id", carrier, trackingNumber = "tracking_number", trackingURL = "tracking_url"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(lineItemId, forKey: .lineItemId)
        try c.encode(carrier, forKey: .carrier)
        try c.encode(trackingNumber, forKey: .trackingNumber)
        try c.encode(trackingURL, forKey: .trackingURL)
    }
}
