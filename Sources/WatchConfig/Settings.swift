import Foundation
import WatchModel

/// The typed configuration of outpostwatch: what `config.toml` says, with every default applied.
///
/// Produced by ``ConfigLoader``; consumed by the engine, the sinks and the service. Values that
/// depend on the environment (region from `AWS_REGION`, credentials) are resolved later, by
/// the AWS client, because they are not the config file's.
public struct Settings: Sendable, Equatable {
    /// `[aws]` as written: the account `default`'s keys, and `ca_bundle` for every AWS request.
    public var aws: AWSSettings
    /// Every account whose orders are watched (docs/configuration.md, "Accounts and regions"):
    /// `default` from `[aws]` (or implied when the file has neither `[aws]` nor `[[account]]`),
    /// then each `[[account]]` in file order. Names are unique.
    public var accounts: [AccountSettings] = [AccountSettings(name: AccountSettings.defaultName)]
    public var poll: PollSettings
    public var storage: StorageSettings
    public var journald: JournaldSettings
    public var retention: RetentionSettings
    /// `[tracking]`: carrier tracking-page templates, the built-in ones with the config's laid over.
    public var tracking: TrackingTemplates = .builtIn
    /// `[http]`: the optional metrics and health endpoint; `nil` when the table is absent.
    public var http: HTTPSettings?
    public var orders: [OrderSettings]
    public var discover: [DiscoverSettings]
    public var webhooks: [WebhookSettings]
    public var eventBridge: [EventBridgeSettings]
    public var sns: [SNSSettings]
    public var pagerDuty: [PagerDutySettings]
    /// `[stall.order]` / `[stall.line_item]`; empty: no stall detection.
    public var stall = StallSettings()

    public init(aws: AWSSettings = .init(), poll: PollSettings = .init(), storage: StorageSettings = .init(),
                journald: JournaldSettings = .init(), retention: RetentionSettings = .init(),
                http: HTTPSettings? = nil, orders: [OrderSettings] = [], discover: [DiscoverSettings] = [],
                webhooks: [WebhookSettings] = [], eventBridge: [EventBridgeSettings] = [], sns: [SNSSettings] = [],
                pagerDuty: [PagerDutySettings] = []) {
        self.aws = aws
        self.poll = poll
        self.storage = storage
        self.journald = journald
        self.retention = retention
        self.http = http
        self.orders = orders
        self.discover = discover
        self.webhooks = webhooks
        self.eventBridge = eventBridge
        self.sns = sns
        self.pagerDuty = pagerDuty
    }
}

/// `[aws]`
public struct AWSSettings: Sendable, Equatable {
    public var region: String?
    public var profile: String?
    /// Full URL, e.g. `http://127.0.0.1:8714`.
    public var endpoint: String?
    public var roleArn: String?
    /// Sent with `AssumeRole` when `roleArn` is set.
    public var externalId: String?
    public var useFips: Bool
    /// `ca_bundle`: a PEM file of roots AWS requests trust besides the system's (else
    /// `AWS_CA_BUNDLE`); read when the daemon starts.
    public var caBundle: String?

    public init(region: String? = nil, profile: String? = nil, endpoint: String? = nil,
                roleArn: String? = nil, externalId: String? = nil, useFips: Bool = false) {
        self.region = region
        self.profile = profile
        self.endpoint = endpoint
        self.roleArn = roleArn
        self.externalId = externalId
        self.useFips = useFips
    }
}

/// One AWS account and region whose orders are watched: an `[[account]]` table, or `[aws]` as
/// the account named `default`. Each resolves its own credentials, region and endpoint and has
/// its own rate limit and throttling back-off (docs/configuration.md, "Accounts and regions").
public struct AccountSettings: Sendable, Equatable {
    /// The name `[aws]` (or a config with no account at all) gets.
    public static let defaultName = "default"

    /// `[a-z0-9_-]+`, unique; shown in events, the CLI and metrics.
    public var name: String
    /// `nil`: the profile's region, else `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    public var region: String?
    public var profile: String?
    /// Full URL, e.g. `http://127.0.0.1:8714`.
    public var endpoint: String?
    public var roleArn: String?
    /// Sent with `AssumeRole` when `roleArn` is set.
    public var externalId: String?
    public var useFips: Bool
    /// `nil`: `[poll] max_rps`.
    public var maxRPS: Double?
    /// `nil`: `[poll] concurrency`.
    public var concurrency: Int?

    public init(name: String, region: String? = nil, profile: String? = nil, endpoint: String? = nil,
                roleArn: String? = nil, externalId: String? = nil, useFips: Bool = false,
                maxRPS: Double? = nil, concurrency: Int? = nil) {
        self.name = name
        self.region = region
        self.profile = profile
        self.endpoint = endpoint
        self.roleArn = roleArn
        self.externalId = externalId
        self.useFips = useFips
        self.maxRPS = maxRPS
        self.concurrency = concurrency
    }

    /// `[poll]` with this account's `max_rps` and `concurrency` laid over.
    public func poll(_ base: PollSettings) -> PollSettings {
        var poll = base
        if let maxRPS { poll.maxRPS = maxRPS }
        if let concurrency { poll.concurrency = concurrency }
        return poll
    }
}

extension AWSSettings {
    /// `[aws]` as the account `default`.
    public var defaultAccount: AccountSettings {
        AccountSettings(name: AccountSettings.defaultName, region: region, profile: profile, endpoint: endpoint,
                        roleArn: roleArn, externalId: externalId, useFips: useFips)
    }
}

extension Settings {
    /// The account called `name`.
    public func account(named name: String) -> AccountSettings? {
        accounts.first { $0.name == name }
    }

    /// This configuration narrowed to one account: its orders and discovery sweeps, and `[poll]`
    /// with the account's rate and concurrency. What one account's poller runs on.
    public func scoped(to account: AccountSettings) -> Settings {
        var scoped = self
        scoped.accounts = [account]
        scoped.poll = account.poll(poll)
        scoped.orders = orders.filter { $0.account == account.name }
        scoped.discover = discover.filter { $0.account == account.name }
        return scoped
    }
}

/// `[poll]`
public struct PollSettings: Sendable, Equatable {
    public var interval: Duration
    /// Fraction in 0...1: each delay is spread by ± this share.
    public var jitter: Double
    public var concurrency: Int
    public var maxRPS: Double
    /// `nil` means "off": terminal orders (COMPLETED, CANCELLED) are no longer polled.
    public var terminalInterval: Duration?
    public var failingAfter: Int
    /// Per-request timeout of a GetOrder call (`request_timeout`, default 10s).
    public var requestTimeout: Duration

    public init(interval: Duration = .seconds(300), jitter: Double = 0.1, concurrency: Int = 4, maxRPS: Double = 5,
                terminalInterval: Duration? = .seconds(6 * 3600), failingAfter: Int = 3,
                requestTimeout: Duration = .seconds(10)) {
        self.interval = interval
        self.jitter = jitter
        self.concurrency = concurrency
        self.maxRPS = maxRPS
        self.terminalInterval = terminalInterval
        self.failingAfter = failingAfter
        self.requestTimeout = requestTimeout
    }
}

/// `[storage]`
public struct StorageSettings: Sendable, Equatable {
    /// Resolved path: the configured one, else ``defaultPath(environment:serviceDirectory:)``.
    /// Unused when ``postgres`` is set.
    public var path: String
    /// `url` (with `password_file` and `takeover`): the store is this PostgreSQL database.
    /// `nil`: the SQLite database at ``path``.
    public var postgres: PostgresSettings?

    /// The unit's `StateDirectory=` as every other process sees it.
    public static let serviceDirectory = "/var/lib/outpostwatch"

    public init(path: String = StorageSettings.defaultPath(), postgres: PostgresSettings? = nil) {
        self.path = path
        self.postgres = postgres
    }

    /// `$STATE_DIRECTORY/state.db` (the first directory when systemd lists several); else
    /// `/var/lib/outpostwatch/state.db` when that directory exists, so a command run next to the
    /// service (`outpostwatch status` as root) reads the service's store (docs/configuration.md,
    /// `[storage]`); else `./outpostwatch.db`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment,
                                   serviceDirectory: String = StorageSettings.serviceDirectory) -> String {
        if let dirs = environment["STATE_DIRECTORY"], let first = dirs.split(separator: ":").first, !first.isEmpty {
            return "\(first)/state.db"
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: serviceDirectory, isDirectory: &isDirectory), isDirectory.boolValue {
            return "\(serviceDirectory)/state.db"
        }
        return "./outpostwatch.db"
    }
}

/// `[journald]`
public struct JournaldSettings: Sendable, Equatable {
    /// `nil`: not set in the file, so enabled exactly when the journald socket exists.
    public var enabled: Bool?

    public init(enabled: Bool? = nil) {
        self.enabled = enabled
    }
}

/// `[retention]`: how long finished rows are kept.
public struct RetentionSettings: Sendable, Equatable {
    /// Delivered (and failed) delivery rows older than this are pruned. Default 30 days.
    public var deliveries: Duration
    /// Events older than this are pruned; `nil` (the default, "forever") keeps every order's history.
    public var events: Duration?

    public init(deliveries: Duration = .seconds(30 * 86400), events: Duration? = nil) {
        self.deliveries = deliveries
        self.events = events
    }
}

/// `[http]`
public struct HTTPSettings: Sendable, Equatable {
    /// `HOST:PORT`, e.g. `127.0.0.1:9464`.
    public var listen: String
    /// The bearer token every path but `/healthz` then needs (docs/status-page.md): `token_file`,
    /// else the systemd credential `http-token` when it exists; `nil`: no token.
    public var token: SecretSource?

    public init(listen: String, token: SecretSource? = nil) {
        self.listen = listen
        self.token = token
    }
}

/// One `[[order]]`.
public struct OrderSettings: Sendable, Equatable {
    public var id: String
    public var label: String?
    /// The name of the account the order belongs to.
    public var account: String

    public init(id: String, label: String? = nil, account: String = AccountSettings.defaultName) {
        self.id = id
        self.label = label
        self.account = account
    }
}

/// One `[[discover]]`.
public struct DiscoverSettings: Sendable, Equatable {
    public var outpost: String?
    public var interval: Duration
    /// The name of the account whose orders the sweep lists.
    public var account: String

    public init(outpost: String? = nil, interval: Duration = .seconds(3600),
                account: String = AccountSettings.defaultName) {
        self.outpost = outpost
        self.interval = interval
        self.account = account
    }
}

/// Where a webhook's signing secret comes from.
public enum SecretSource: Sendable, Equatable {
    /// `secret = "whsec_…"` in the config file itself.
    case inline(String)
    /// `secret_file = "/path"`.
    case file(String)
    /// The systemd credential `webhook-NAME` in `$CREDENTIALS_DIRECTORY` (used when neither key is set
    /// and the credential exists).
    case systemdCredential(String)
}

/// `format` of a webhook.
public enum WebhookFormat: String, Sendable, Equatable {
    case json
    case slack
    /// One Adaptive Card for a Microsoft Teams Workflows webhook.
    case teams
}

/// One `[[webhook]]`.
public struct WebhookSettings: Sendable, Equatable {
    public var name: String
    public var url: String
    /// `nil`: unsigned (no secret configured and no systemd credential found).
    public var secret: SecretSource?
    public var format: WebhookFormat
    /// The event types this sink receives.
    public var events: Set<EventType>
    /// `nil`: every order.
    public var orders: Set<String>?
    public var timeout: Duration
    public var maxAge: Duration
    public var headers: [String: String]
    /// Requests in flight to this sink at most (`concurrency`, default 4).
    public var concurrency: Int
    /// `ca_bundle`: a PEM file of roots this sink's https requests trust besides the system's.
    public var caBundle: String?

    public init(name: String, url: String, secret: SecretSource? = nil, format: WebhookFormat = .json,
                events: Set<EventType> = EventType.webhookDefault, orders: Set<String>? = nil,
                timeout: Duration = .seconds(10), maxAge: Duration = .seconds(72 * 3600),
                headers: [String: String] = [:], concurrency: Int = 4) {
        self.name = name
        self.url = url
        self.secret = secret
        self.format = format
        self.events = events
        self.orders = orders
        self.timeout = timeout
        self.maxAge = maxAge
        self.headers = headers
        self.concurrency = concurrency
    }

    /// Whether an event of this type about this order goes to this sink.
    public func accepts(_ type: EventType, orderId: String) -> Bool {
        events.contains(type) && (orders?.contains(orderId) ?? true)
    }
}
