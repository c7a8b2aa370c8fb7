import Foundation
import WatchModel
import WatchStore

/// Everything the order page and `GET /api/orders/ORDER_ID` show of one order, read from the
/// store at one instant (docs/status-page.md).
public struct OrderDetail: Sendable {
    public var row: StatusRow
    /// The last stored state; `nil` before the first successful poll.
    public var snapshot: OrderSnapshot?
    /// The order's events, oldest first (the `history --json` elements).
    public var events: [Event]
    public var timeline: PhaseTimeline
    /// Every delivery of the order's events, by event id.
    public var deliveries: [String: [DeliveryRow]]
    public var now: Date

    public init(row: StatusRow, snapshot: OrderSnapshot?, events: [Event], timeline: PhaseTimeline,
                deliveries: [String: [DeliveryRow]], now: Date) {
        self.row = row
        self.snapshot = snapshot
        self.events = events
        self.timeline = timeline
        self.deliveries = deliveries
        self.now = now
    }

    /// The order `orderId` as stored now, or `nil` when the store has never watched it.
    public static func load(orderId: String, from store: StateStore, tracking: TrackingTemplates = .builtIn,
                            now: Date = Date()) async throws -> OrderDetail? {
        guard let watched = try await store.watchedOrder(orderId) else { return nil }
        let events = try await store.history(orderId: orderId)
        var deliveries: [String: [DeliveryRow]] = [:]
        for delivery in try await store.deliveries(orderId: orderId) {
            deliveries[delivery.eventId, default: []].append(DeliveryRow(delivery))
        }
        for key in deliveries.keys { deliveries[key]?.sort { $0.sink < $1.sink } }
        return OrderDetail(row: StatusRow(watched, tracking: tracking), snapshot: watched.snapshot, events: events,
                           timeline: PhaseTimeline.derive(orderId: orderId, events: events, snapshot: watched.snapshot),
                           deliveries: deliveries, now: now)
    }
}

extension OrderDetail: Encodable {
    enum CodingKeys: String, CodingKey { case order, lineItems = "line_items", events, timeline, deliveries }

    /// `{"order": status row, "line_items": [...], "events": [history --json], "timeline": {...},
    /// "deliveries": [deliveries --json rows]}`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(row, forKey: .order)
        try c.encode((snapshot?.lineItems ?? []).map(LineItemRef.init), forKey: .lineItems)
        try c.encode(events, forKey: .events)
        try c.encode(TimelineJSON(timeline, now: now), forKey: .timeline)
        let rows = deliveries.values.flatMap { $0 }.sorted { $0.id < $1.id }
        try c.encode(rows, forKey: .deliveries)
    }
}
