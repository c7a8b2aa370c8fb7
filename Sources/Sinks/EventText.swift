import Foundation
import WatchModel

/// The human forms of an event: the journald `MESSAGE`, the CLI's lines, the Slack text.
///
/// One sentence per event, on one line, so `journalctl`, a terminal and a chat channel all
/// read the same words.
public enum EventText {
    /// E.g. `Order oo-… (Seattle rack 2) line item 1234: BUILDING → SHIPPED (UPS 1Z…)`, with
    /// `[prod] ` in front for an order of an account other than `default` (``EventFacts/accountTag(_:)``).
    public static func sentence(_ event: Event) -> String {
        let subject = EventFacts.accountTag(event) + orderSubject(event) + (event.lineItem.map { " line item \($0.id)" } ?? "")
        let change = event.change
        switch event.type {
        case .orderFirstSeen:
            return "\(subject): now watched, status \(event.order.status ?? "unknown")"
        case .orderStatusChanged:
            return "\(subject): \(change.from.display) → \(change.to.display)"
        case .orderFulfilled:
            return "\(subject): fulfilled (\(change.to.display))"
        case .lineItemAdded:
            return "\(subject): added" + (event.lineItem?.status.map { ", status \($0)" } ?? "")
                + shipmentSuffix(event)
        case .lineItemRemoved:
            return "\(subject): removed" + (change.from == .null ? "" : " (was \(change.from.display))")
        case .lineItemStatusChanged:
            return "\(subject): \(change.from.display) → \(change.to.display)" + shipmentSuffix(event)
        case .lineItemShipmentChanged:
            return "\(subject): shipment \(change.from.display) → \(change.to.display)"
        case .lineItemAssetsChanged:
            return "\(subject): assets \(change.from.display) → \(change.to.display)"
        case .orderNotFound:
            return "\(subject): not found (GetOrder answers NotFoundException)"
        case .watchFailing:
            return "\(subject): polling is failing" + (event.error.map { ": \(singleLine($0))" } ?? "")
        case .watchRecovered:
            return "\(subject): polling recovered"
        case .orderStalled, .lineItemStalled:
            guard case .stall(let stall) = change.to else { return "\(subject): stalled" }
            return "\(subject): stalled in \(stall.status) since \(ISO8601.format(stall.since))"
                + " (longer than \(stall.threshold))"
        }
    }

    /// The `text` of a Slack incoming-webhook message: the sentence, with Slack's control
    /// characters escaped so a label cannot inject mentions or links, then the shipment's
    /// tracking page as a Slack link (`<URL|Track UPS 1Z…>`) when the event carries one.
    public static func slackText(_ event: Event) -> String {
        var text = (isWarning(event) ? ":warning: " : "") + slackEscaped(sentence(event))
        if let shipment = event.shipment, let url = shipment.trackingURL {
            let caption = ["Track", shipment.carrier, shipment.trackingNumber].compactMap { $0 }.joined(separator: " ")
            text += " <\(slackEscaped(url.replacingOccurrences(of: "|", with: "%7C")))|\(slackEscaped(caption))>"
        }
        return text
    }

    /// Slack's three control characters as entities (its link syntax uses `<`, `>` and `|`
    /// inside `<…>`; `|` cannot appear in a percent-encoded number).
    private static func slackEscaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Whether the event deserves attention (journald priority warning): an order or line item
    /// turned ERROR or CANCELLED, the order vanished, polling fails, or a status stayed too long.
    public static func isWarning(_ event: Event) -> Bool {
        switch event.type {
        case .orderNotFound, .watchFailing, .orderStalled, .lineItemStalled:
            return true
        default:
            let alarming: Set<String> = ["ERROR", "CANCELLED"]
            if event.change.field == .status, case .string(let to) = event.change.to, alarming.contains(to) {
                return true
            }
            return false
        }
    }

    private static func orderSubject(_ event: Event) -> String {
        "Order \(event.order.id)" + (event.order.label.map { " (\(singleLine($0)))" } ?? "")
    }

    private static func shipmentSuffix(_ event: Event) -> String {
        guard let shipment = event.lineItem?.shipment else { return "" }
        let text = ChangeValue.shipment(shipment).display
        return text.isEmpty ? "" : " (\(text))"
    }

    /// Labels and errors come from config and AWS; a newline would break the one-line promise.
    private static func singleLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
