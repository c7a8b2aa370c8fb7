import Foundation
import WatchModel

// When each active order's current status began, for the state metrics (docs/metrics.md).

/// The event that started an order's current stay in its status.
public struct StatusStart: Sendable, Equatable {
    /// `order.first_seen`, `order.status_changed` or `order.not_found`.
    public var type: EventType
    public var at: Date

    public init(type: EventType, at: Date) {
        self.type = type
        self.at = at
    }
}

extension StateStore {
    /// Per active order, the last event that set its status; orders without one are absent.
    /// One indexed lookup per order (`events (order_id, sequence)` read backwards).
    public func statusStarts() throws -> [String: StatusStart] {
        let rows = try db.query("""
            SELECT o.order_id AS order_id, e.type AS type, e.occurred_at AS occurred_at
            FROM orders o JOIN events e ON e.id = (
                SELECT id FROM events WHERE order_id = o.order_id
                  AND type IN ('order.first_seen', 'order.status_changed', 'order.not_found')
                ORDER BY sequence DESC LIMIT 1)
            WHERE o.active = 1
            """)
        var starts: [String: StatusStart] = [:]
        for row in rows {
            guard let type = EventType(rawValue: try row.get("type")) else { continue }
            starts[try row.get("order_id")] = StatusStart(type: type, at: try row.get("occurred_at"))
        }
        return starts
    }
}
