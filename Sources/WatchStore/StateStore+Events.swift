import Foundation
import WatchModel

// Events and their deliveries: numbered per order, encoded once, routed once.

extension StateStore {
    /// Commits events that no poll produced (stall events: docs/events.md) in one transaction:
    /// numbered after the order's last event, one pending delivery per (event, sink) that
    /// `route` returns, due at `at`. The order's poll state is untouched. Returns the events as
    /// stored; an order the store does not know is refused (`.notFound`).
    ///
    /// `ifLastSequence`: the order's last sequence the caller decided on; when another event was
    /// committed since, nothing is written and `nil` comes back (decide again on the new history).
    public func append(_ events: [Event], orderId: String, ifLastSequence expected: Int64, at: Date,
                       route: @Sendable (Event) -> [String]) throws -> [Event]? {
        if let stray = events.first(where: { $0.order.id != orderId }) {
            throw StoreError(kind: .misuse, message: "\(path): event \(stray.id) is about order \(stray.order.id), not \(orderId)")
        }
        guard !events.isEmpty else { return [] }
        return try db.transaction { () throws -> [Event]? in
            guard let last = try db.scalar("SELECT last_sequence FROM orders WHERE order_id = ?", [orderId],
                                           as: Int64.self) else {
                throw StoreError(kind: .notFound, message: "\(path): no order \(orderId)")
            }
            guard last == expected else { return nil }
            return try insertEvents(events, orderId: orderId, recordedAt: Date(), dueAt: at, route: route)
        }
    }

    /// Inside a transaction: numbers `events` after the order's last sequence, stores each with
    /// its JSON body (the body sinks send) and its pending deliveries, and moves the order's last
    /// sequence. Returns the events as stored.
    func insertEvents(_ events: [Event], orderId: String, recordedAt: Date, dueAt: Date,
                      route: @Sendable (Event) -> [String]) throws -> [Event] {
        guard !events.isEmpty else { return [] }
        let lastSequence = try db.scalar("SELECT last_sequence FROM orders WHERE order_id = ?",
                                         [orderId], as: Int64.self) ?? 0
        var stored: [Event] = []
        for (offset, original) in events.enumerated() {
            var numbered = original
            numbered.sequence = lastSequence + Int64(offset) + 1
            let body = try Self.encodeEvent(numbered)
            // What the body says (its instants are ISO-8601 milliseconds) is the event from now
            // on: the caller, the history and every sink see the same values.
            let event = try Self.decodeEvent(body)
            try db.execute("""
                INSERT INTO events (id, order_id, sequence, type, occurred_at, recorded_at, body)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [event.id, orderId, event.sequence, event.type.rawValue, original.occurredAt, recordedAt, body])
            var seen: Set<String> = []
            for sink in route(event) where seen.insert(sink).inserted {
                try db.execute("""
                    INSERT INTO deliveries (event_id, sink, state, created_at, pending_since, next_attempt_at)
                    VALUES (?1, ?2, 'pending', ?3, ?3, ?3)
                    """, [event.id, sink, dueAt])
            }
            stored.append(event)
        }
        try db.execute("UPDATE orders SET last_sequence = ? WHERE order_id = ?", [stored.last!.sequence, orderId])
        return stored
    }
}

extension StateStore {
    /// The orders in a reported stall now (docs/events.md, Stalls): a stalled event whose stay
    /// has not ended, i.e. no later status change of the same order (for `order.stalled`) or of
    /// the same line item, nor its removal (for `line_item.stalled`).
    public func stalledOrders() throws -> Set<String> {
        let rows = try db.query("""
            SELECT DISTINCT s.order_id AS order_id FROM events s
            WHERE s.type IN ('order.stalled', 'line_item.stalled')
              AND NOT EXISTS (
                SELECT 1 FROM events c
                WHERE c.order_id = s.order_id AND c.sequence > s.sequence
                  AND ((s.type = 'order.stalled' AND c.type = 'order.status_changed')
                    OR (s.type = 'line_item.stalled'
                        AND c.type IN ('line_item.status_changed', 'line_item.removed')
                        AND \(db.dialect.jsonText("c.body", "line_item", "id")) = \(db.dialect.jsonText("s.body", "line_item", "id")))))
            """, [])
        return Set(try rows.map { try $0.get("order_id") as String })
    }
}
