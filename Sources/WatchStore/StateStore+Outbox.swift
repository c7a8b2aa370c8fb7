import Foundation
import WatchModel

// The outbox: deliveries of events to sinks, their attempts and their states.

extension StateStore {
    static let deliveryColumns = """
        d.id AS id, d.event_id AS event_id, d.sink AS sink, d.state AS state, d.attempts AS attempts,
        d.created_at AS created_at, d.pending_since AS pending_since, d.next_attempt_at AS next_attempt_at,
        d.last_attempt_at AS last_attempt_at, d.last_status AS last_status, d.last_error AS last_error,
        d.delivered_at AS delivered_at, e.body AS body
        FROM deliveries d JOIN events e ON e.id = d.event_id
        """

    /// Pending deliveries due at or before `now`, oldest first, optionally for one sink.
    ///
    /// `inOrder` (a sink whose receiver needs one order's events in sequence, such as PagerDuty's
    /// trigger before its resolve): a row waits while an earlier event of the same order is still
    /// pending for that sink (in flight or backing off), so it is never sent ahead of it.
    public func dueDeliveries(now: Date, sink: String? = nil, limit: Int = 100, inOrder: Bool = false) throws -> [Delivery] {
        // Ordered by id, the creation order, so a sink gets one order's events in sequence order.
        try db.query("""
            SELECT \(Self.deliveryColumns)
            WHERE d.state = 'pending' AND d.next_attempt_at <= ?1 AND (CAST(?2 AS TEXT) IS NULL OR d.sink = ?2)
              AND (?4 = 0 OR NOT \(Self.earlierPending))
            ORDER BY d.id LIMIT ?3
            """, [now, sink, limit, inOrder]).map(delivery(from:))
    }

    /// The earliest `nextAttemptAt` of any pending delivery (optionally of one sink), or `nil`;
    /// with `inOrder`, of the rows no earlier pending row of their order holds back.
    public func nextDueDate(sink: String? = nil, inOrder: Bool = false) throws -> Date? {
        try db.scalar("""
            SELECT min(d.next_attempt_at) FROM deliveries d JOIN events e ON e.id = d.event_id
            WHERE d.state = 'pending' AND (CAST(?1 AS TEXT) IS NULL OR d.sink = ?1) AND (?2 = 0 OR NOT \(Self.earlierPending))
            """, [sink, inOrder], as: Date?.self) ?? nil
    }

    /// For a row `d` of event `e`: an earlier event of the same order is still pending for the same sink.
    private static let earlierPending = """
        EXISTS (SELECT 1 FROM deliveries d2 JOIN events e2 ON e2.id = d2.event_id
                WHERE d2.sink = d.sink AND d2.state = 'pending' AND e2.order_id = e.order_id
                  AND e2.sequence < e.sequence)
        """

    /// Records one attempt (attempt count, status, error, time) and moves the row on.
    public func recordAttempt(deliveryId: Int64, at: Date, result: AttemptResult) throws {
        try db.transaction {
            let changed: Int
            let outcome: String
            let status: Int?
            let error: String?
            switch result {
            case .delivered(let code):
                (outcome, status, error) = ("delivered", code, nil)
                changed = try db.execute("""
                    UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, last_attempt_at = ?2,
                        last_status = ?3, last_error = NULL, delivered_at = ?2, finished_at = ?2
                    WHERE id = ?1
                    """, [deliveryId, at, code])
            case .retry(let next, let code, let message):
                (outcome, status, error) = ("retry", code, message)
                changed = try db.execute("""
                    UPDATE deliveries SET state = 'pending', attempts = attempts + 1, last_attempt_at = ?2,
                        last_status = ?3, last_error = ?4, next_attempt_at = ?5
                    WHERE id = ?1
                    """, [deliveryId, at, code, message, next])
            case .failed(let code, let message):
                (outcome, status, error) = ("failed", code, message)
                changed = try db.execute("""
                    UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_attempt_at = ?2,
                        last_status = ?3, last_error = ?4, finished_at = ?2
                    WHERE id = ?1
                    """, [deliveryId, at, code, message])
            }
            guard changed == 1 else {
                throw StoreError(kind: .notFound, message: "\(path): no delivery \(deliveryId)")
            }
            try db.execute("INSERT INTO delivery_attempts (delivery_id, at, outcome, status, error) VALUES (?, ?, ?, ?, ?)",
                           [deliveryId, at, outcome, status, error])
        }
    }

    /// The receiver of `sink` answers again: its deliveries that are backing off become due at
    /// `now`, instead of waiting out delays that grew during the outage (up to an hour).
    /// Returns how many.
    @discardableResult
    public func expediteRetries(sink: String, now: Date) throws -> Int {
        try db.execute("""
            UPDATE deliveries SET next_attempt_at = ?2
            WHERE state = 'pending' AND next_attempt_at > ?2 AND sink = ?1
            """, [sink, now])
    }

    /// Every recorded attempt of one delivery, oldest first.
    public func attempts(deliveryId: Int64) throws -> [DeliveryAttempt] {
        try db.query("""
            SELECT delivery_id, at, outcome, status, error FROM delivery_attempts WHERE delivery_id = ? ORDER BY at, id
            """, [deliveryId]).map { row in
            DeliveryAttempt(deliveryId: try row.get("delivery_id"), at: try row.get("at"), outcome: try row.get("outcome"),
                            status: try row.get("status"), error: try row.get("error"))
        }
    }

    /// Marks every pending delivery of `sink` failed with `error` (a 410 Gone answer). Returns how many.
    @discardableResult
    public func failPending(sink: String, error: String, at: Date) throws -> Int {
        try db.transaction {
            try db.execute("""
                UPDATE deliveries SET state = 'failed', last_error = ?2, finished_at = ?3
                WHERE state = 'pending' AND sink = ?1
                """, [sink, error, at])
        }
    }

    /// Deliveries, newest first, optionally filtered by state and sink; a negative `limit` lists all.
    public func deliveries(state: DeliveryState? = nil, sink: String? = nil, limit: Int = 1000) throws -> [Delivery] {
        try db.query("""
            SELECT \(Self.deliveryColumns)
            WHERE (CAST(?1 AS TEXT) IS NULL OR d.state = ?1) AND (CAST(?2 AS TEXT) IS NULL OR d.sink = ?2)
            ORDER BY d.id DESC LIMIT ?3
            """, [state?.rawValue, sink, limit < 0 ? Int64.max : Int64(limit)]).map(delivery(from:))
    }

    /// Makes the event's deliveries (to `sink`, or to every sink it had) pending and due now,
    /// creating the row for a sink that never had one. Returns the rows now pending.
    ///
    /// An unknown event id is `.notFound`. The attempt count and the attempt log are kept;
    /// `pendingSince` restarts at `now`.
    public func redeliver(eventId: String, sinks: [String], now: Date) throws -> [Delivery] {
        try db.transaction {
            guard try db.scalar("SELECT 1 FROM events WHERE id = ?", [eventId], as: Int.self) != nil else {
                throw StoreError(kind: .notFound, message: "\(path): no event \(eventId)")
            }
            let targets = sinks.isEmpty
                ? try db.query("SELECT sink FROM deliveries WHERE event_id = ? ORDER BY id", [eventId]).map { try $0.get("sink", as: String.self) }
                : sinks
            for sink in targets {
                try db.execute("""
                    INSERT INTO deliveries (event_id, sink, state, created_at, pending_since, next_attempt_at)
                    VALUES (?1, ?2, 'pending', ?3, ?3, ?3)
                    ON CONFLICT (event_id, sink) DO UPDATE SET
                        state = 'pending', pending_since = ?3, next_attempt_at = ?3, delivered_at = NULL, finished_at = NULL
                    """, [eventId, sink, now])
            }
            return try db.query("""
                SELECT \(Self.deliveryColumns)
                WHERE d.event_id = ?1 AND d.state = 'pending' AND d.sink IN \(db.dialect.stringsOf("?2"))
                ORDER BY d.id
                """, [eventId, try Self.jsonArray(targets)]).map(delivery(from:))
        }
    }

    /// Pending deliveries count per sink (the outbox depth).
    public func pendingCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try db.query("SELECT sink, count(*) AS n FROM deliveries WHERE state = 'pending' GROUP BY sink") {
            counts[try row.get("sink", as: String.self)] = try row.get("n", as: Int.self)
        }
        return counts
    }

    /// Delivery rows per state (for the metrics endpoint).
    public func deliveryStateCounts() throws -> [DeliveryState: Int] {
        var counts: [DeliveryState: Int] = [:]
        for row in try db.query("SELECT state, count(*) AS n FROM deliveries GROUP BY state") {
            if let state = DeliveryState(rawValue: try row.get("state", as: String.self)) {
                counts[state] = try row.get("n", as: Int.self)
            }
        }
        return counts
    }
}
