import AsyncHTTPClient
import Foundation
import WatchConfig
import WatchModel

/// The sinks one configuration builds, with their routing and limits: journald (when enabled)
/// and one ``WebhookSink`` per `[[webhook]]` (docs/configuration.md, docs/delivery.md).
///
/// Routing is decided when the outbox rows are written, in the same transaction as the event,
/// so a sink's filter is the one in force when the change happened.
public struct SinkSet: Sendable {
    public let sinks: [any EventSink]
    /// `max_age` per sink name (sinks without one get ``Dispatcher/defaultMaxAge``).
    public let maxAges: [String: Duration]
    /// `concurrency` per sink name (sinks without one get their ``EventSink/defaultConcurrency``).
    public let concurrency: [String: Int]

    /// - Parameter journaldAvailable: used when `[journald] enabled` is not set.
    /// - Throws: ``WebhookSecretError`` when a webhook's secret cannot be read.
    public init(settings: Settings, journaldAvailable: Bool, httpClient: HTTPClient,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var sinks: [any EventSink] = []
        var maxAges: [String: Duration] = [:]
        var concurrency: [String: Int] = [:]
        if settings.journald.enabled ?? journaldAvailable { sinks.append(JournaldSink()) }
        for hook in settings.webhooks {
            let secret = try WebhookSecret.resolve(hook.secret, sinkName: hook.name, environment: environment)
            sinks.append(WebhookSink(settings: hook, secret: secret, httpClient: httpClient))
            maxAges[hook.name] = hook.maxAge
            concurrency[hook.name] = hook.concurrency
        }
        self.init(sinks: sinks, maxAges: maxAges, concurrency: concurrency)
    }

    public init(sinks: [any EventSink], maxAges: [String: Duration] = [:], concurrency: [String: Int] = [:]) {
        self.sinks = sinks
        self.maxAges = maxAges
        self.concurrency = concurrency
    }

    /// The sinks an event goes to: each that ``EventSink/accepts(_:)`` it (journald takes every
    /// event, the baseline `order.first_seen` included; a webhook what its `events` and `orders`
    /// filters accept).
    public func route(_ event: Event) -> [String] {
        sinks.filter { $0.accepts(event) }.map(\.name)
    }

    /// The sink called `name`.
    public func sink(named name: String) -> (any EventSink)? {
        sinks.first { $0.name == name }
    }

    /// Every sink's name.
    public var names: [String] { sinks.map(\.name) }
}
