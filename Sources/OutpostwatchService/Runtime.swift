import AsyncHTTPClient
import Foundation
import Logging
import OutpostsAPI
import Sinks
import WatchConfig
import WatchEngine
import WatchModel
import WatchStore

/// Where the config file is: `--config`, else `$OUTPOSTWATCH_CONFIG`, else `/etc/outpostwatch/config.toml`.
public func resolveConfigPath(_ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let option, !option.isEmpty { return option }
    if let env = environment["OUTPOSTWATCH_CONFIG"], !env.isEmpty { return env }
    return "/etc/outpostwatch/config.toml"
}

/// Loads and validates the config file; every error becomes one `FILE:LINE:COL: message` line of
/// a ``CommandFailure`` with exit status 78. Warnings go to stderr.
public func loadSettings(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
    let result = ConfigLoader.load(path: path, environment: environment)
    for warning in result.warnings {
        FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
    }
    guard result.errors.isEmpty, let settings = result.settings else {
        throw CommandFailure(.config, result.errors.map(\.description))
    }
    return settings
}

/// Where an account's calls go: its region and endpoint, from its table and the environment.
public func resolveEndpoint(_ account: AccountSettings, configPath: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> OutpostsEndpoint {
    // A missing region is a configuration error: the unit must not restart in a loop.
    let scope = account.name == AccountSettings.defaultName ? "" : "account \(account.name): "
    let region: String
    do {
        region = try AWSRegionResolver.resolve(configured: account.region, profile: account.profile,
                                               environment: environment)
    } catch {
        throw CommandFailure(.config, "\(configPath):1:1: \(scope)\(error)")
    }
    do {
        return try OutpostsEndpoint.resolve(region: region, configuredEndpoint: account.endpoint,
                                            useFips: account.useFips, environment: environment)
    } catch {
        throw CommandFailure(.config, "\(configPath):1:1: \(scope)\(error)")
    }
}

/// Everything one configuration builds: store, HTTP client, AWS client and sinks (with their routing).
///
/// Commands that poll or deliver (`run`, `once`, `redeliver`, `test-sink`, `demo`) make one; the
/// caller must `shutdown()` it so the HTTP client's event loops are released.
public final class Runtime: Sendable {
    public let settings: Settings
    public let configPath: String
    public let store: StateStore
    /// Direct and proxied clients (docs/configuration.md, "Proxies and private CAs").
    public let httpClient: HTTPRoutes
    /// The client of the first account (`default` when there is one): what the AWS sinks sign
    /// with, and the endpoint the start message names.
    public let client: OutpostsClient
    public let sinks: SinkSet
    public let logger: Logger
    /// What AWS requests go through: ``httpClient`` trusting `[aws] ca_bundle`.
    let awsHTTP: any HTTPTransport
    /// A fixed provider for every account (demo, tests), else each account's own chain.
    let fixedCredentials: (any CredentialProvider)?
    let environment: [String: String]
    /// Told the account's name at every throttled answer (the per-account metric).
    let onThrottle: (@Sendable (_ account: String) -> Void)?

    /// - Parameter credentials: a fixed provider (demo, tests); `nil` uses the standard AWS chain.
    public init(settings: Settings, configPath: String, logger: Logger,
                credentials: (any CredentialProvider)? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                onThrottle: (@Sendable (_ account: String) -> Void)? = nil,
                store: StateStore? = nil) throws {
        self.settings = settings
        self.configPath = configPath
        self.logger = logger
        self.fixedCredentials = credentials
        self.environment = environment
        self.onThrottle = onThrottle
        let primary = settings.accounts.first ?? AccountSettings(name: AccountSettings.defaultName)
        // Every account's region and endpoint are checked now: a config error is exit 78 at start.
        let endpoints = try settings.accounts.map { try resolveEndpoint($0, configPath: configPath, environment: environment) }
        let httpClient = try Self.makeHTTPRoutes(environment: environment,
                                                 connectionsPerHost: Self.connectionsPerHost(settings))
        // AWS requests (Outposts, STS) trust [aws] ca_bundle / AWS_CA_BUNDLE besides the system roots.
        let awsHTTP: any HTTPTransport
        do {
            awsHTTP = try httpClient.trusting(caBundle: CABundle.awsPath(configured: settings.aws.caBundle,
                                                                         environment: environment))
            // The leader's store comes from the daemon (docs/high-availability.md); a command opens its own.
            self.store = try store ?? openCommandStore(settings.storage, readOnly: false, environment: environment)
        } catch let error as CABundle.LoadError {
            httpClient.shutdownWithoutWaiting()
            throw CommandFailure(.config, "\(configPath): [aws] \(error)")
        } catch let failure as CommandFailure {
            httpClient.shutdownWithoutWaiting()
            throw failure
        } catch {
            httpClient.shutdownWithoutWaiting()
            throw CommandFailure(.failure, "cannot open the state database: \(error)")
        }
        self.httpClient = httpClient
        self.awsHTTP = awsHTTP
        let primaryEndpoint = try endpoints.first ?? resolveEndpoint(primary, configPath: configPath,
                                                                     environment: environment)
        let provider = credentials ?? Self.makeCredentials(primary, region: primaryEndpoint.region,
                                                           awsHTTP: awsHTTP, environment: environment)
        self.client = Self.makeClient(primary, endpoint: primaryEndpoint, credentials: provider, settings: settings,
                                      awsHTTP: awsHTTP, logger: logger, onThrottle: onThrottle)
        do {
            // The AWS sinks sign with their account's own chain (or the fixed provider of demo and tests).
            self.sinks = try SinkSet(settings: settings, journaldAvailable: Journal.isAvailable, httpClient: httpClient,
                                     environment: environment, credentials: credentials)
        } catch {
            httpClient.shutdownWithoutWaiting()
            throw CommandFailure(.config, "\(configPath): \(error)")
        }
    }

    /// Connections the HTTP pool keeps per host, so `concurrency` is what it says: every
    /// account's calls in flight together (accounts of one region share its endpoint), or a
    /// sink's, whichever is more; never fewer than the pool's default.
    static func connectionsPerHost(_ settings: Settings) -> Int {
        let polling = settings.accounts.reduce(0) { $0 + ($1.concurrency ?? settings.poll.concurrency) }
        let sinks = (settings.webhooks.map(\.concurrency) + settings.pagerDuty.map(\.common.concurrency)
            + settings.eventBridge.map(\.common.concurrency) + settings.sns.map(\.common.concurrency)).max() ?? 0
        return max(HTTPRoutes.defaultConnectionsPerHost, polling, sinks)
    }

    /// The client of one account: its endpoint, its own credential chain (its profile; its role
    /// through STS with its external id), its own credential cache.
    static func makeCredentials(_ account: AccountSettings, region: String, awsHTTP: any HTTPTransport,
                                environment: [String: String]) -> any CredentialProvider {
        CredentialChain.standard(profile: account.profile, roleArn: account.roleArn, externalId: account.externalId,
                                 region: region, environment: environment, httpClient: awsHTTP)
    }

    static func makeClient(_ account: AccountSettings, endpoint: OutpostsEndpoint, credentials provider: any CredentialProvider,
                           settings: Settings, awsHTTP: any HTTPTransport, logger: Logger,
                           onThrottle: (@Sendable (_ account: String) -> Void)?) -> OutpostsClient {
        var logger = logger
        logger[metadataKey: "account"] = "\(account.name)"
        let name = account.name
        var throttled: OutpostsClient.ThrottleObserver?
        if let onThrottle { throttled = { onThrottle(name) } }
        return OutpostsClient(endpoint: endpoint, credentials: provider, httpClient: awsHTTP,
                              requestTimeout: settings.poll.requestTimeout,
                              logger: logger, onThrottle: throttled,
                              applicationVersion: OutpostwatchVersion.string)
    }

    /// What an account's orders are polled through (``AccountPollers``): a new client of that
    /// account, its errors naming the account when several are configured.
    /// - Throws: ``CommandFailure`` (78) when the account has no region or a bad endpoint.
    public func makeSource(_ account: AccountSettings, settings: Settings) throws -> AccountPollers.Source {
        let endpoint = try resolveEndpoint(account, configPath: configPath, environment: environment)
        let provider = fixedCredentials ?? Self.makeCredentials(account, region: endpoint.region, awsHTTP: awsHTTP,
                                                                environment: environment)
        let client = Self.makeClient(account, endpoint: endpoint, credentials: provider, settings: settings,
                                     awsHTTP: awsHTTP, logger: logger, onThrottle: onThrottle)
        let named = settings.accounts.count > 1 || account.name != AccountSettings.defaultName
        return AccountPollers.Source(source: named ? AccountNamedSource(base: client, account: account.name) : client,
                                     region: endpoint.region)
    }

    /// The process's HTTP routes; an unusable proxy variable is a configuration error (exit 78).
    static func makeHTTPRoutes(environment: [String: String],
                               connectionsPerHost: Int = HTTPRoutes.defaultConnectionsPerHost) throws -> HTTPRoutes {
        do {
            return try WebhookSink.makeHTTPRoutes(environment: environment, connectionsPerHost: connectionsPerHost)
        } catch {
            throw CommandFailure(.config, "\(error)")
        }
    }

    /// The sink called `name`, or a usage error naming the configured ones.
    public func sink(named name: String) throws -> any EventSink {
        try Runtime.sink(named: name, in: sinks)
    }

    /// The sink called `name` in `sinks`, or a usage error naming the configured ones.
    static func sink(named name: String, in sinks: SinkSet) throws -> any EventSink {
        guard let sink = sinks.sink(named: name) else {
            let known = sinks.names.joined(separator: ", ")
            throw CommandFailure(.usage, "no sink named \(name) (configured: \(known.isEmpty ? "none" : known))")
        }
        return sink
    }

    /// A dispatcher draining this runtime's outbox to its sinks.
    public func makeDispatcher() -> Dispatcher {
        Dispatcher(store: store, sinks: sinks.sinks, maxAges: sinks.maxAges, concurrency: sinks.concurrency,
                   logger: logger)
    }

    /// Releases the HTTP client and closes the store (writing held poll times and checkpointing
    /// the WAL, so a clean stop leaves no WAL file behind). Nothing may use the store afterwards.
    public func shutdown() async {
        try? await httpClient.shutdown()
        await store.close()
    }
}
