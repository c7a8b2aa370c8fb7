import Foundation
import WatchModel

/// `[[webhook]] format = "teams"`: a message with one Adaptive Card 1.4, as Microsoft Teams
/// Workflows webhooks ("Post to a channel when a webhook request is received") take it
/// (docs/delivery.md). The title is the event's sentence, then a fact set, then a tracking link
/// when one is known.
public enum TeamsCard {
    public static let contentType = "application/vnd.microsoft.card.adaptive"
    public static let schema = "http://adaptivecards.io/schemas/adaptive-card.json"

    /// The card itself (the `content` of the attachment).
    public static func card(_ event: Event) -> [String: Any] {
        var title: [String: Any] = ["type": "TextBlock", "text": EventText.sentence(event), "wrap": true,
                                    "weight": "Bolder", "size": "Medium"]
        if EventText.isWarning(event) { title["color"] = "Attention" }
        let facts = EventFacts.facts(event).map { ["title": $0.title, "value": $0.value] }
        var card: [String: Any] = [
            "$schema": schema, "type": "AdaptiveCard", "version": "1.4",
            "body": [title, ["type": "FactSet", "facts": facts]],
        ]
        if let url = EventFacts.trackingURL(event) {
            card["actions"] = [["type": "Action.OpenUrl", "title": "Track shipment", "url": url]]
        }
        return card
    }

    /// The request body: `{"type": "message", "attachments": [{contentType, content}]}`.
    public static func body(_ event: Event) throws -> Data {
        let message: [String: Any] = [
            "type": "message",
            "attachments": [["contentType": contentType, "contentUrl": NSNull(), "content": card(event)]],
        ]
        return try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
