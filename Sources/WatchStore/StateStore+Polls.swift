import Foundation
import WatchModel

// Poll results, committed with their events and deliveries in one transaction.

extension StateStore {
    /// Reads the order's stored state, lets `evaluate` decide what to commit, and commits it:
    /// one call on the store's actor, so a poll result costs the poller one hop, not two.
    /// `nil` when the order is unknown or `evaluate` returns `nil` (nothing to record).
    public func commitEvaluated(_ orderId: String, route: @Sendable (Event) -> [String],
                                evaluate: @Sendable (WatchedOrder) -> PollCommit?) throws
        -> (events: [Event], commit: PollCommit)? {
        guard let watched = try watchedOrder(orderId), let commit = evaluate(watched) else { return nil }
        return (try self.commit(commit, route: route), commit)
    }

    /// Commits a poll result in one transaction: the order's new state, its events (sequences
    /// assigned here) and one pending delivery per (event, sink) that `route` returns.
    /// Returns the events as stored, with their sequences.
    ///
    /// Deliveries are created due at `polledAt`, the caller's clock, so the dispatcher and the
    /// poller agree on time even when a test drives both with a fake clock.
    /// An order the store does not know yet is added as a `config` order. Events about another
    /// order than `result.orderId` are refused (`.misuse`). On any error nothing is written.
    public func commit(_ result: PollCommit, route: @Sendable (Event) -> [String]) throws -> [Event] {
        if let stray = result.events.first(where: { $0.order.id != result.orderId }) {
            throw StoreError(kind: .misuse,
                             message: "\(path): event \(stray.id) is about order \(stray.order.id), not \(result.orderId)")
        }
        if result.onlyPollTimesChanged && result.events.isEmpty {
            holdPollTime(result.orderId, polledAt: result.polledAt, succeeded: result.succeeded)
            return []
        }
        let snapshotJSON = try result.snapshot.map(Self.encodeSnapshot)
        let recordedAt = Date()
        let successAt: Date? = result.succeeded ? result.polledAt : nil
        let changeAt: Date? = result.events.isEmpty ? nil : result.polledAt
        let (committed, written) = try db.transaction { () throws -> ([Event], [String: PollTimeBuffer.Held]) in
            // Held poll times ride along: this transaction pays the fsync anyway.
            let written = try writePollTimes()
            try db.execute("""
                INSERT INTO orders (order_id, source, active, snapshot, consecutive_failures, failing, not_found,
                                    last_poll_at, last_success_at, last_change_at, last_error, created_at)
                VALUES (?1, 'config', 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?6)
                ON CONFLICT (order_id) DO UPDATE SET
                    snapshot = coalesce(excluded.snapshot, orders.snapshot),
                    consecutive_failures = excluded.consecutive_failures,
                    failing = excluded.failing,
                    not_found = excluded.not_found,
                    last_poll_at = excluded.last_poll_at,
                    last_success_at = coalesce(excluded.last_success_at, orders.last_success_at),
                    last_change_at = coalesce(excluded.last_change_at, orders.last_change_at),
                    last_error = excluded.last_error
                """, [result.orderId, snapshotJSON, result.consecutiveFailures, result.failing, result.notFound,
                      result.polledAt, successAt, changeAt, result.lastError])
            return (try insertEvents(result.events, orderId: result.orderId, recordedAt: recordedAt,
                                     dueAt: result.polledAt, route: route), written)
        }
        heldPollTimes.forget(written)
        return committed
    }
}
