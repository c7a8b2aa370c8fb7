import Foundation
import WatchModel

// The watch set: which orders are watched, from the configuration or discovery.

extension StateStore {
    private static let orderColumns = """
        order_id, label, source, active, snapshot, last_sequence, consecutive_failures, failing, not_found,
        last_poll_at, last_success_at, last_change_at, last_error
        """

    /// Every watched order (active or not), sorted by order id.
    public func watchedOrders() throws -> [WatchedOrder] {
        try db.query("SELECT \(Self.orderColumns) FROM orders ORDER BY order_id").map(watchedOrder(from:))
    }

    /// What scheduling needs of every active order, oldest poll first, without decoding a
    /// snapshot: the start of a daemon watching 10 000 orders would otherwise decode them all.
    public func activeSchedule() throws -> [ScheduleEntry] {
        try db.query("""
            SELECT order_id, json_extract(snapshot, '$.status') AS status, failing, last_poll_at
            FROM orders WHERE active = 1 ORDER BY order_id
            """).map { row in
            let orderId: String = try row.get("order_id")
            let stored: Date? = try row.get("last_poll_at")
            return ScheduleEntry(orderId: orderId, status: try row.get("status"), failing: try row.get("failing"),
                                 lastPollAt: unwrittenPollTimes[orderId]?.polledAt ?? stored)
        }
    }

    /// One watched order, or `nil`.
    public func watchedOrder(_ orderId: String) throws -> WatchedOrder? {
        try db.query("SELECT \(Self.orderColumns) FROM orders WHERE order_id = ?", [orderId])
            .first.map(watchedOrder(from:))
    }

    /// Makes the active watch set of `source` exactly `orders` (id, label): new ones are added,
    /// present ones re-activated and relabelled, others of that source deactivated (history kept).
    ///
    /// The config wins over discovery: syncing `.config` takes over a discovered order (source and
    /// label), syncing `.discovered` never touches an order the config names or once named.
    public func syncWatchSet(_ orders: [(id: String, label: String?)], source: WatchSource) throws {
        let now = Date()
        let ids = try Self.jsonArray(orders.map(\.id))
        try db.transaction {
            for order in orders {
                switch source {
                case .config:
                    try db.execute("""
                        INSERT INTO orders (order_id, label, source, active, created_at) VALUES (?1, ?2, 'config', 1, ?3)
                        ON CONFLICT (order_id) DO UPDATE SET label = excluded.label, source = 'config', active = 1
                        """, [order.id, order.label, now])
                case .discovered:
                    try db.execute("""
                        INSERT INTO orders (order_id, label, source, active, created_at) VALUES (?1, ?2, 'discovered', 1, ?3)
                        ON CONFLICT (order_id) DO UPDATE SET label = coalesce(excluded.label, label), active = 1
                        WHERE source = 'discovered'
                        """, [order.id, order.label, now])
                }
            }
            try db.execute("""
                UPDATE orders SET active = 0
                WHERE source = ?1 AND active = 1 AND order_id NOT IN (SELECT value FROM json_each(?2))
                """, [source.rawValue, ids])
        }
    }

    /// Adds orders found by discovery (no-op for ones already known). Returns the ids that were new.
    @discardableResult
    public func addDiscovered(_ orderIds: [String]) throws -> [String] {
        let now = Date()
        return try db.transaction {
            var added: [String] = []
            for id in orderIds {
                let inserted = try db.execute("""
                    INSERT INTO orders (order_id, source, active, created_at) VALUES (?1, 'discovered', 1, ?2)
                    ON CONFLICT (order_id) DO NOTHING
                    """, [id, now])
                if inserted == 1 {
                    added.append(id)
                }
            }
            return added
        }
    }
}
