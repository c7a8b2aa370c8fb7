import WatchConfig
import WatchModel

/// Decides which sinks receive an event; applied when the outbox rows are written, in the same
/// transaction as the event, so a sink's filter is the one in force when the change happened.
public struct EventRouter: Sendable {
    /// The reserved sink name of journald entries.
    public static let journaldSinkName = "journald"

    public let journald: Bool
    public let webhooks: [WebhookSettings]

    public init(settings: Settings, journaldAvailable: Bool) {
        self.journald = settings.journald.enabled ?? journaldAvailable
        self.webhooks = settings.webhooks
    }

    /// The sinks an event goes to: journald gets every event (the baseline `order.first_seen`
    /// included), each webhook what its `events` and `orders` filters accept.
    public func sinks(for event: Event) -> [String] {
        var names: [String] = []
        if journald { names.append(Self.journaldSinkName) }
        for hook in webhooks where hook.accepts(event.type, orderId: event.order.id) {
            names.append(hook.name)
        }
        return names
    }

    /// Every sink name this router can return.
    public var allSinkNames: [String] {
        (journald ? [Self.journaldSinkName] : []) + webhooks.map(\.name)
    }
}
