import Foundation
import WatchModel

/// The labelled facts of an event, shared by the formats that show more than one sentence:
/// the Teams card, the SNS e-mail text, PagerDuty's links (docs/events.md).
public enum EventFacts {
    /// The name of the account an event's order belongs to (`order.account`); `default` for an
    /// event recorded before accounts existed, when every order was the `[aws]` account's.
    public static func account(_ event: Event) -> String { event.order.account ?? "default" }

    /// The account with its region, as the facts show it: `prod (us-west-2)`, or `prod` when the
    /// event carries no region.
    public static func accountAndRegion(_ event: Event) -> String {
        account(event) + (event.order.region.map { " (\($0))" } ?? "")
    }

    /// What a one-line sentence starts with to say whose order it is: `[prod] ` for an order of
    /// a named account; nothing for the account `default` (every single-account config's), so
    /// those sentences read as they always did (docs/events.md).
    public static func accountTag(_ event: Event) -> String {
        guard let account = event.order.account, account != "default" else { return "" }
        return "[\(singleLine(account))] "
    }

    /// The carrier's tracking page for the event's shipment, when one is known.
    public static func trackingURL(_ event: Event) -> String? { event.lineItem?.shipment?.trackingURL }

    /// Title and value pairs, in reading order, leaving out what the event does not carry.
    public static func facts(_ event: Event) -> [(title: String, value: String)] {
        var facts: [(String, String)] = [("Order", event.order.id)]
        if let label = event.order.label { facts.append(("Label", singleLine(label))) }
        facts.append(("Account", accountAndRegion(event)))
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
