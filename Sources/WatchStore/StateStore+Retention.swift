import Foundation
import WatchModel

// Pruning finished deliveries and old events.

extension StateStore {
    /// Deletes delivered/failed deliveries finished before `deliveriesBefore`, and events (with their
    /// deliveries) that occurred before `eventsBefore` when given. Returns (deliveries, events) deleted.
    ///
    /// Orders keep their `last_sequence`, so sequences never restart after pruning.
    @discardableResult
    public func prune(deliveriesBefore: Date, eventsBefore: Date?) throws -> (deliveries: Int, events: Int) {
        try db.transaction {
            var deliveries = try db.execute("""
                DELETE FROM deliveries WHERE state IN ('delivered', 'failed') AND finished_at < ?
                """, [deliveriesBefore])
            var events = 0
            if let eventsBefore {
                // Cascaded deletes are not in changes(): count the deliveries that go with the events.
                deliveries += try db.scalar("""
                    SELECT count(*) FROM deliveries WHERE event_id IN (SELECT id FROM events WHERE occurred_at < ?)
                    """, [eventsBefore], as: Int.self) ?? 0
                events = try db.execute("DELETE FROM events WHERE occurred_at < ?", [eventsBefore])
            }
            return (deliveries, events)
        }
    }
}
