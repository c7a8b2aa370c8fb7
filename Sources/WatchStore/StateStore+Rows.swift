import Foundation
import WatchModel

// Rows to values: the mapping of `orders` and `deliveries` rows, and the JSON columns.

extension StateStore {
    func watchedOrder(from row: Row) throws -> WatchedOrder {
        let sourceName: String = try row.get("source")
        guard let source = WatchSource(rawValue: sourceName) else {
            throw StoreError(kind: .corrupt, message: "\(path): order has unknown source \(sourceName)")
        }
        let snapshotJSON: String? = try row.get("snapshot")
        let orderId: String = try row.get("order_id")
        return WatchedOrder(
            orderId: orderId, label: try row.get("label"), account: try row.get("account"),
            region: try row.get("region"), source: source,
            active: try row.get("active"), snapshot: try snapshotJSON.map(Self.decodeSnapshot),
            lastSequence: try row.get("last_sequence"), consecutiveFailures: try row.get("consecutive_failures"),
            failing: try row.get("failing"), notFound: try row.get("not_found"),
            lastPollAt: try row.get("last_poll_at"), lastSuccessAt: try row.get("last_success_at"),
            lastChangeAt: try row.get("last_change_at"), lastError: try row.get("last_error"))
            .withHeldPollTime(heldPollTimes[orderId])
    }

    func delivery(from row: Row) throws -> Delivery {
        let stateName: String = try row.get("state")
        guard let state = DeliveryState(rawValue: stateName) else {
            throw StoreError(kind: .corrupt, message: "\(path): delivery has unknown state \(stateName)")
        }
        let body: String = try row.get("body")
        return Delivery(
            id: try row.get("id"), eventId: try row.get("event_id"), sink: try row.get("sink"), state: state,
            attempts: try row.get("attempts"), createdAt: try row.get("created_at"),
            nextAttemptAt: try row.get("next_attempt_at"), lastAttemptAt: try row.get("last_attempt_at"),
            lastStatus: try row.get("last_status"), lastError: try row.get("last_error"),
            deliveredAt: try row.get("delivered_at"), event: try Self.decodeEvent(body), body: Data(body.utf8),
            pendingSince: try row.get("pending_since"))
    }

    // MARK: JSON columns

    static func encodeEvent(_ event: Event) throws -> String {
        do {
            return String(decoding: try EventJSON.encode(event), as: UTF8.self)
        } catch {
            throw StoreError(kind: .other, message: "cannot encode event \(event.id): \(error)")
        }
    }

    static func decodeEvent(_ body: String) throws -> Event {
        do {
            return try EventJSON.decode(Data(body.utf8))
        } catch {
            throw StoreError(kind: .corrupt, message: "stored event body is not a valid event: \(error)")
        }
    }

    // Snapshots keep dates as Foundation's own reference-date seconds (`.deferredToDate`): the
    // only form that reads back bit-identical, and the diff compares snapshots with `==`, where a
    // last-bit difference from a 1970-based round trip would be a false `fulfilled_date` change.
    static func encodeSnapshot(_ snapshot: OrderSnapshot) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .deferredToDate
        do {
            return String(decoding: try encoder.encode(snapshot), as: UTF8.self)
        } catch {
            throw StoreError(kind: .other, message: "cannot encode snapshot of \(snapshot.orderId): \(error)")
        }
    }

    private static func decodeSnapshot(_ json: String) throws -> OrderSnapshot {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .deferredToDate
        do {
            return try decoder.decode(OrderSnapshot.self, from: Data(json.utf8))
        } catch {
            throw StoreError(kind: .corrupt, message: "stored snapshot is not a valid order snapshot: \(error)")
        }
    }

    static func jsonArray(_ strings: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(strings), as: UTF8.self)
    }
}

extension WatchedOrder {
    /// This order as it will be once its held poll times are written.
    func withHeldPollTime(_ times: PollTimeBuffer.Held?) -> WatchedOrder {
        guard let times else { return self }
        var order = self
        order.lastPollAt = times.polledAt
        if let success = times.succeededAt { order.lastSuccessAt = success }
        return order
    }
}
