import Foundation
import WatchModel

// Reading the event history.

extension StateStore {
    /// Events, oldest first (by order then sequence for one order; by occurred_at then order and
    /// sequence across orders). `limit` keeps the first (oldest) ones.
    public func history(orderId: String? = nil, since: Date? = nil, limit: Int? = nil) throws -> [Event] {
        let rows: [Row]
        let limit = limit.map(Int64.init) ?? Int64.max
        let since = since ?? Date.distantPast
        if let orderId {
            rows = try db.query("""
                SELECT body FROM events WHERE order_id = ? AND occurred_at >= ? ORDER BY sequence LIMIT ?
                """, [orderId, since, limit])
        } else {
            rows = try db.query("""
                SELECT body FROM events WHERE occurred_at >= ? ORDER BY occurred_at, order_id, sequence LIMIT ?
                """, [since, limit])
        }
        return try rows.map { try Self.decodeEvent($0.get("body")) }
    }

    /// The event with this id, or `nil`.
    public func event(id: String) throws -> Event? {
        try db.scalar("SELECT body FROM events WHERE id = ?", [id], as: String.self).map(Self.decodeEvent)
    }
}
