import AsyncHTTPClient
import Foundation
import OutpostsAPI
import WatchConfig
import WatchModel

/// The sinks one configuration builds, with their routing and limits: journald (when enabled),
/// one ``WebhookSink`` per `[[webhook]]`, one ``EventBridgeSink`` per `[[eventbridge]]`, one
/// ``SNSSink`` per `[[sns]]` and one ``PagerDutySink`` per `[[pagerduty]]`
/// (docs/configuration.md, docs/delivery.md).
///
/// Routing is decided when the outbox rows are written, in the same transaction as the event,
/// so a sink's filter is the one in force when the change happened.
public struct SinkSet: Sendable {
    public let sinks: [any EventSink]
    /// `max_age` per sink name (sinks without one get ``Dispatcher/defaultMaxAge``).
    public let maxAges: [String: Duration]
    /// `concurrency` per sink name (sinks without one get their ``EventSink/defaultConcurrency``).
    public let concurrency: [String: Int]

    /// - Parameters:
    ///   - journaldAvailable: used when `[journald] enabled` is not set.
    ///   - credentials: signs the AWS sinks' calls; `nil` uses the standard chain of `[aws]`.
    /// - Throws: ``WebhookSecretError`` when a webhook's secret or a routing key cannot be read;
    ///   ``RegionError`` or ``EndpointError`` when an AWS sink has no usable region or endpoint.
    public init(settings: Settings, journaldAvailable: Bool, httpClient: any HTTPTransport,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                credentials: (any CredentialProvider)? = nil) throws {
        var sinks: [any EventSink] = []
        var maxAges: [String: Duration] = [:]
        var concurrency: [String: Int] = [:]
        if settings.journald.enabled ?? journaldAvailable { sinks.append(JournaldSink()) }
        for hook in settings.webhooks {
            let secret = try WebhookSecret.resolve(hook.secret, sinkName: hook.name, environment: environment)
            let trusting: any HTTPTransport
            do {
                trusting = try httpClient.trusting(caBundle: hook.caBundle)
            } catch let error as CABundle.LoadError {
                throw WebhookSecretError(sink: hook.name, reason: "ca_bundle: \(error)")
            }
            sinks.append(WebhookSink(settings: hook, secret: secret, httpClient: trusting))
            maxAges[hook.name] = hook.maxAge
            concurrency[hook.name] = hook.concurrency
        }
        // EventBridge and SNS trust [aws] ca_bundle / AWS_CA_BUNDLE, as every AWS request does.
        let awsHTTP = try httpClient.trusting(caBundle: CABundle.awsPath(configured: settings.aws.caBundle,
                                                                         environment: environment))
        let aws = AWSSinkFactory(settings: settings, httpClient: awsHTTP, environment: environment,
                                 credentials: credentials)
        for bus in settings.eventBridge {
            sinks.append(EventBridgeSink(settings: bus, client: EventBridgeClient(
                call: try aws.call(service: "events", account: bus.account, region: bus.region, endpoint: bus.endpoint))))
        }
        for topic in settings.sns {
            sinks.append(SNSSink(settings: topic, client: SNSClient(
                call: try aws.call(service: "sns", account: topic.account, region: topic.effectiveRegion,
                                endpoint: topic.endpoint))))
        }
        for service in settings.pagerDuty {
            let key = try SecretText.read(service.routingKey, sinkName: service.common.name, kind: "pagerduty",
                                          environment: environment).text
            guard !key.isEmpty else {
                throw WebhookSecretError(sink: service.common.name, reason: "the routing key is empty", kind: "pagerduty")
            }
            let trusting: any HTTPTransport
            do {
                trusting = try httpClient.trusting(caBundle: service.caBundle)
            } catch let error as CABundle.LoadError {
                throw WebhookSecretError(sink: service.common.name, reason: "ca_bundle: \(error)", kind: "pagerduty")
            }
            sinks.append(PagerDutySink(settings: service, routingKey: key, httpClient: trusting))
        }
        for common in settings.eventBridge.map(\.common) + settings.sns.map(\.common) + settings.pagerDuty.map(\.common) {
            maxAges[common.name] = common.maxAge
            concurrency[common.name] = common.concurrency
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
