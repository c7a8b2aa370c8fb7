import Foundation
import WatchModel

// The watch set: which orders are watched, from the configuration or discovery.

extension StateStore {
    private static let orderColumns = """
        order_id, label, account, region, source, active, snapshot, last_sequence, consecutive_failures, failing, not_found,
        last_poll_at, last_success_at, last_change_at, last_error
        """

    /// Every watched order (active or not), sorted by order id; only `account`'s when given.
    public func watchedOrders(account: String? = nil) throws -> [WatchedOrder] {
        try db.query("SELECT \(Self.orderColumns) FROM orders WHERE CAST(?1 AS TEXT) IS NULL OR account = ?1 ORDER BY order_id",
                     [account]).map(watchedOrder(from:))
    }

    /// What scheduling needs of every active order (of `account` when given), without decoding a
    /// snapshot: the start of a daemon watching 10 000 orders would otherwise decode them all.
    public func activeSchedule(account: String? = nil) throws -> [ScheduleEntry] {
        try db.query("""
            SELECT order_id, \(db.dialect.jsonText("snapshot", "status")) AS status, failing, last_poll_at
            FROM orders WHERE active = 1 AND (CAST(?1 AS TEXT) IS NULL OR account = ?1) ORDER BY order_id
            """, [account]).map { row in
            let orderId: String = try row.get("order_id")
            let stored: Date? = try row.get("last_poll_at")
            return ScheduleEntry(orderId: orderId, status: try row.get("status"), failing: try row.get("failing"),
                                 lastPollAt: heldPollTimes[orderId]?.polledAt ?? stored)
        }
    }

    /// One watched order, or `nil`.
    public func watchedOrder(_ orderId: String) throws -> WatchedOrder? {
        try db.query("SELECT \(Self.orderColumns) FROM orders WHERE order_id = ?", [orderId])
            .first.map(watchedOrder(from:))
    }

    /// Makes the active watch set of `source` in `account` exactly `orders` (id, label): new ones
    /// are added, present ones re-activated, relabelled and moved to `account` (and `region`),
    /// others of that source and account deactivated (history kept).
    ///
    /// The config wins over discovery: syncing `.config` takes over a discovered order (source and
    /// label), syncing `.discovered` never touches an order the config names or once named.
    public func syncWatchSet(_ orders: [(id: String, label: String?)], source: WatchSource,
                             account: String = WatchedOrder.defaultAccount, region: String? = nil) throws {
        let now = Date()
        let ids = try Self.jsonArray(orders.map(\.id))
        try db.transaction {
            for order in orders {
                switch source {
                case .config:
                    try db.execute("""
                        INSERT INTO orders (order_id, label, account, region, source, active, created_at)
                        VALUES (?1, ?2, ?4, ?5, 'config', 1, ?3)
                        ON CONFLICT (order_id) DO UPDATE SET label = excluded.label, source = 'config', active = 1,
                            account = excluded.account, region = coalesce(excluded.region, orders.region)
                        """, [order.id, order.label, now, account, region])
                case .discovered:
                    try db.execute("""
                        INSERT INTO orders (order_id, label, account, region, source, active, created_at)
                        VALUES (?1, ?2, ?4, ?5, 'discovered', 1, ?3)
                        ON CONFLICT (order_id) DO UPDATE SET label = coalesce(excluded.label, orders.label), active = 1,
                            account = excluded.account, region = coalesce(excluded.region, orders.region)
                        WHERE orders.source = 'discovered'
                        """, [order.id, order.label, now, account, region])
                }
            }
            try db.execute("""
                UPDATE orders SET active = 0
                WHERE source = ?1 AND account = ?3 AND active = 1 AND order_id NOT IN \(db.dialect.stringsOf("?2"))
                """, [source.rawValue, ids, account])
        }
    }

    /// Stops watching every order of an account not in `accounts` (an account removed from the
    /// config); their history stays. Returns how many orders stopped.
    @discardableResult
    public func deactivateAccounts(notIn accounts: [String]) throws -> Int {
        let names = try Self.jsonArray(accounts)
        return try db.transaction {
            try db.execute("""
                UPDATE orders SET active = 0
                WHERE active = 1 AND account NOT IN \(db.dialect.stringsOf("?1"))
                """, [names])
        }
    }

    /// Adds orders found by discovery in `account` (no-op for ones already watched; a discovered
    /// order of the same account that stopped with its account's removal is watched again).
    /// Returns the ids that were new.
    @discardableResult
    public func addDiscovered(_ orderIds: [String], account: String = WatchedOrder.defaultAccount,
                              region: String? = nil) throws -> [String] {
        let now = Date()
        return try db.transaction {
            var added: [String] = []
            for id in orderIds {
                let inserted = try db.execute("""
                    INSERT INTO orders (order_id, account, region, source, active, created_at)
                    VALUES (?1, ?3, ?4, 'discovered', 1, ?2)
                    ON CONFLICT (order_id) DO UPDATE SET active = 1, region = coalesce(excluded.region, orders.region)
                    WHERE orders.source = 'discovered' AND orders.active = 0 AND orders.account = excluded.account
                    """, [id, now, account, region])
                if inserted == 1 {
                    added.append(id)
                }
            }
            return added
        }
    }
}
