import Foundation
import WatchModel

/// The labelled facts of an event, shared by the formats that show more than one sentence:
/// the Teams card, the SNS e-mail text, PagerDuty's links (docs/events.md).
public enum EventFacts {
    /// The account an event's order belongs to: `default` (the `[aws]` account) until a config
    /// names several accounts.
    public static func account(_ event: Event) -> String { "default" }

    /// The carrier's tracking page for the event's shipment, when one is known.
    public static func trackingURL(_ event: Event) -> String? { event.lineItem?.shipment?.trackingURL }

    /// Title and value pairs, in reading order, leaving out what the event does not carry.
    public static func facts(_ event: Event) -> [(title: String, value: String)] {
        var facts: [(String, String)] = [("Order", event.order.id)]
        if let label = event.order.label { facts.append(("Label", singleLine(label))) }
        facts.append(("Account", account(event)))
        if let outpost = event.order.outpostId { facts.append(("Outpost", outpost)) }
        if let item = event.lineItem { facts.append(("Line item", item.id)) }
        if event.type != .orderFirstSeen {
            facts.append(("Change", "\(event.change.field.rawValue): \(event.change.from.display) → \(event.change.to.display)"))
        }
        if let shipment = event.lineItem?.shipment {
            if let carrier = shipment.carrier { facts.append(("Carrier", carrier)) }
            if let number = shipment.trackingNumber { facts.append(("Tracking number", number)) }
        }
        if let url = trackingURL(event) { facts.append(("Tracking", url)) }
        if let error = event.error { facts.append(("Error", singleLine(error))) }
        facts.append(("Event", "\(event.type.rawValue) #\(event.sequence)"))
        facts.append(("Occurred at", ISO8601.format(event.occurredAt)))
        return facts
    }

    static func singleLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
