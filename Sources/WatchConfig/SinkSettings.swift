import Foundation
import WatchModel

/// What every sink kind but journald shares: its name, filters, retry window and concurrency
/// (docs/configuration.md).
public struct SinkCommonSettings: Sendable, Equatable {
    public var name: String
    /// The event types this sink receives.
    public var events: Set<EventType>
    /// `nil`: every order.
    public var orders: Set<String>?
    /// Per-call timeout.
    public var timeout: Duration
    public var maxAge: Duration
    /// Calls in flight to this sink at most.
    public var concurrency: Int

    public init(name: String, events: Set<EventType> = EventType.webhookDefault, orders: Set<String>? = nil,
                timeout: Duration = .seconds(10), maxAge: Duration = .seconds(72 * 3600), concurrency: Int = 4) {
        self.name = name
        self.events = events
        self.orders = orders
        self.timeout = timeout
        self.maxAge = maxAge
        self.concurrency = concurrency
    }

    /// Whether an event of this type about this order goes to this sink.
    public func accepts(_ type: EventType, orderId: String) -> Bool {
        events.contains(type) && (orders?.contains(orderId) ?? true)
    }
}

/// One `[[eventbridge]]`: PutEvents to a bus.
public struct EventBridgeSettings: Sendable, Equatable {
    public var common: SinkCommonSettings
    /// A bus name or ARN.
    public var eventBus: String
    /// The entries' `Source`; never starts with `aws.`.
    public var source: String
    /// The account whose credentials sign the calls (docs/configuration.md, "Accounts and regions").
    public var account: String = AccountSettings.defaultName
    /// Overrides the account's region.
    public var region: String?
    /// Overrides `AWS_ENDPOINT_URL_EVENTS`, `AWS_ENDPOINT_URL` and the regional endpoint.
    public var endpoint: String?

    public static let defaultSource = "outpostwatch"

    public init(common: SinkCommonSettings, eventBus: String = "default", source: String = EventBridgeSettings.defaultSource,
                region: String? = nil, endpoint: String? = nil) {
        self.common = common
        self.eventBus = eventBus
        self.source = source
        self.region = region
        self.endpoint = endpoint
    }
}

/// One `[[sns]]`: Publish to a topic.
public struct SNSSettings: Sendable, Equatable {
    public var common: SinkCommonSettings
    public var topicArn: String
    /// The account whose credentials sign the calls.
    public var account: String = AccountSettings.defaultName
    /// Defaults to the topic ARN's region.
    public var region: String?
    /// Overrides `AWS_ENDPOINT_URL_SNS`, `AWS_ENDPOINT_URL` and the regional endpoint.
    public var endpoint: String?

    public init(common: SinkCommonSettings, topicArn: String, region: String? = nil, endpoint: String? = nil) {
        self.common = common
        self.topicArn = topicArn
        self.region = region
        self.endpoint = endpoint
    }

    /// The region calls are signed for: `region`, else the ARN's.
    public var effectiveRegion: String? { region ?? SNSTopicARN(topicArn)?.region }

    /// Whether the topic is a FIFO topic (its name ends in `.fifo`).
    public var isFIFO: Bool { SNSTopicARN(topicArn)?.name.hasSuffix(".fifo") ?? false }
}

/// The parts of `arn:PARTITION:sns:REGION:ACCOUNT:NAME`.
public struct SNSTopicARN: Sendable, Equatable {
    public var partition: String
    public var region: String
    public var account: String
    public var name: String

    /// Parses a topic ARN; `nil` when malformed (topic names: 1–256 of `A-Z a-z 0-9 _ -`, plus
    /// `.fifo` for FIFO topics).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "sns",
              !parts[3].isEmpty, parts[3].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }),
              parts[4].count == 12, parts[4].allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        var base = Substring(parts[5])
        if base.hasSuffix(".fifo") { base = base.dropLast(5) }
        guard (1...256).contains(base.count),
              base.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else { return nil }
        (partition, region, account, name) = (parts[1], parts[3], parts[4], parts[5])
    }
}

/// One `[[pagerduty]]`: Events API v2 incidents.
public struct PagerDutySettings: Sendable, Equatable {
    public var common: SinkCommonSettings
    /// Where the routing key comes from (never in a log or error).
    public var routingKey: SecretSource
    public var url: String
    /// Extra trusted roots (PEM) for this sink's requests, besides the system's (docs/configuration.md).
    public var caBundle: String?

    public static let defaultURL = "https://events.pagerduty.com/v2/enqueue"
    /// The types PagerDuty receives when its config names no `events`: those that open or close an incident.
    public static let defaultEvents: Set<EventType> = Set([
        "watch.failing", "watch.recovered", "order.status_changed", "line_item.status_changed", "order.not_found",
        "order.stalled", "line_item.stalled",
    ].compactMap(EventType.init(rawValue:)))

    public init(common: SinkCommonSettings, routingKey: SecretSource, url: String = PagerDutySettings.defaultURL) {
        self.common = common
        self.routingKey = routingKey
        self.url = url
    }
}

extension Settings {
    /// The kind of every configured sink by name (`journald`, `webhook`, `eventbridge`, `sns`,
    /// `pagerduty`), for `deliveries`.
    public var sinkKinds: [String: String] {
        var kinds: [String: String] = ["journald": "journald"]
        for hook in webhooks { kinds[hook.name] = "webhook" }
        for bus in eventBridge { kinds[bus.common.name] = "eventbridge" }
        for topic in sns { kinds[topic.common.name] = "sns" }
        for service in pagerDuty { kinds[service.common.name] = "pagerduty" }
        return kinds
    }
}
