import Foundation
import WatchModel

/// Which PagerDuty incidents an event opens or closes (docs/delivery.md): incidents, not a feed.
///
/// | event | action | dedup key |
/// |---|---|---|
/// | `watch.failing` / `watch.recovered` | trigger (error) / resolve | `outpostwatch/ORDER/failing` |
/// | `order.stalled` / the order's next status change | trigger (warning) / resolve | `outpostwatch/ORDER/stalled` |
/// | `line_item.stalled` / that line item's next status change | trigger (warning) / resolve | `outpostwatch/ORDER/LINE_ITEM/stalled` |
/// | order status to `ERROR` / away from `ERROR` | trigger (critical) / resolve | `outpostwatch/ORDER/error` |
/// | `order.not_found` | trigger (error) | `outpostwatch/ORDER/not_found` |
///
/// Decided from the type's wire name, so the stall events map before the model has them.
public enum PagerDutyIncidents {
    public enum EventAction: String, Sendable, Equatable {
        case trigger
        case resolve
    }

    /// One Events API v2 call an event asks for.
    public struct Action: Sendable, Equatable {
        public var eventAction: EventAction
        public var dedupKey: String
        /// `critical`, `error`, `warning` or `info` (triggers only).
        public var severity: String?

        public static func trigger(_ key: String, _ severity: String) -> Action {
            Action(eventAction: .trigger, dedupKey: key, severity: severity)
        }

        public static func resolve(_ key: String) -> Action {
            Action(eventAction: .resolve, dedupKey: key, severity: nil)
        }
    }

    /// The calls for an event of this type (its wire name), in order: resolves before triggers.
    public static func actions(type: String, orderId: String, lineItemId: String?, from: ChangeValue,
                               to: ChangeValue) -> [Action] {
        let order = "outpostwatch/\(orderId)"
        switch type {
        case "watch.failing":
            return [.trigger("\(order)/failing", "error")]
        case "watch.recovered":
            return [.resolve("\(order)/failing")]
        case "order.not_found":
            return [.trigger("\(order)/not_found", "error")]
        case "order.stalled":
            return [.trigger("\(order)/stalled", "warning")]
        case "line_item.stalled":
            guard let lineItemId else { return [] }
            return [.trigger("\(order)/\(lineItemId)/stalled", "warning")]
        case "order.status_changed":
            var actions: [Action] = [.resolve("\(order)/stalled")]
            if from == .string("ERROR"), to != .string("ERROR") { actions.append(.resolve("\(order)/error")) }
            if to == .string("ERROR"), from != .string("ERROR") { actions.append(.trigger("\(order)/error", "critical")) }
            return actions
        case "line_item.status_changed":
            guard let lineItemId else { return [] }
            return [.resolve("\(order)/\(lineItemId)/stalled")]
        default:
            return []
        }
    }

    public static func actions(for event: Event) -> [Action] {
        actions(type: event.type.rawValue, orderId: event.order.id, lineItemId: event.lineItem?.id,
                from: event.change.from, to: event.change.to)
    }

    /// The Events API v2 body of one action. A trigger carries the payload: `summary` (the
    /// event's sentence), `source`, `severity`, `timestamp`, `component` (order id), `group`
    /// (outpost id), `class` (event type), `custom_details` (the event's JSON body).
    public static func body(_ action: Action, stored: StoredEvent, routingKey: String) throws -> Data {
        var message: [String: Any] = ["routing_key": routingKey, "event_action": action.eventAction.rawValue,
                                      "dedup_key": action.dedupKey]
        if action.eventAction == .trigger {
            let event = stored.event
            var payload: [String: Any] = [
                "summary": String(EventText.sentence(event).prefix(1024)), "source": "outpostwatch",
                "severity": action.severity ?? "error", "timestamp": ISO8601.format(event.occurredAt),
                "component": event.order.id, "class": event.type.rawValue,
                "custom_details": try JSONSerialization.jsonObject(with: stored.body),
            ]
            if let outpost = event.order.outpostId { payload["group"] = outpost }
            message["payload"] = payload
            message["client"] = "outpostwatch"
            if let url = EventFacts.trackingURL(event) { message["links"] = [["href": url, "text": "Track shipment"]] }
        }
        return try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
