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

/// The AWS location derived from settings and environment: region and endpoint.
public func resolveEndpoint(_ settings: Settings, configPath: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> OutpostsEndpoint {
    let region: String
    do {
        region = try AWSRegionResolver.resolve(configured: settings.aws.region, profile: settings.aws.profile,
                                               environment: environment)
    } catch {
        // A missing region is a configuration error: the unit must not restart in a loop.
        throw CommandFailure(.config, "\(configPath):1:1: \(error)")
    }
    do {
        return try OutpostsEndpoint.resolve(region: region, configuredEndpoint: settings.aws.endpoint,
                                            useFips: settings.aws.useFips, environment: environment)
    } catch {
        throw CommandFailure(.config, "\(configPath):1:1: \(error)")
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
    public let client: OutpostsClient
    public let sinks: SinkSet
    public let logger: Logger

    /// - Parameter credentials: a fixed provider (demo, tests); `nil` uses the standard AWS chain.
    public init(settings: Settings, configPath: String, logger: Logger,
                credentials: (any CredentialProvider)? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                onThrottle: OutpostsClient.ThrottleObserver? = nil) throws {
        self.settings = settings
        self.configPath = configPath
        self.logger = logger
        let endpoint = try resolveEndpoint(settings, configPath: configPath, environment: environment)
        let httpClient = try Self.makeHTTPRoutes(environment: environment)
        // AWS requests (Outposts, STS) trust [aws] ca_bundle / AWS_CA_BUNDLE besides the system roots.
        let awsHTTP: any HTTPTransport
        do {
            awsHTTP = try httpClient.trusting(caBundle: CABundle.awsPath(configured: settings.aws.caBundle,
                                                                         environment: environment))
            self.store = try StateStore(path: settings.storage.path)
        } catch let error as CABundle.LoadError {
            try? httpClient.syncShutdown()
            throw CommandFailure(.config, "\(configPath): [aws] \(error)")
        } catch {
            try? httpClient.syncShutdown()
            throw CommandFailure(.failure, "cannot open the state database: \(error)")
        }
        self.httpClient = httpClient
        let provider = credentials ?? CredentialChain.standard(
            profile: settings.aws.profile, roleArn: settings.aws.roleArn, region: endpoint.region,
            environment: environment, httpClient: awsHTTP)
        self.client = OutpostsClient(endpoint: endpoint, credentials: provider, httpClient: awsHTTP,
                                     requestTimeout: settings.poll.requestTimeout,
                                     logger: logger, onThrottle: onThrottle,
                                     applicationVersion: OutpostwatchVersion.string)
        do {
            // The AWS sinks sign with the same (cached) credentials as the Outposts calls.
            self.sinks = try SinkSet(settings: settings, journaldAvailable: Journal.isAvailable, httpClient: httpClient,
                                     environment: environment, credentials: provider)
        } catch {
            try? httpClient.syncShutdown()
            throw CommandFailure(.config, "\(configPath): \(error)")
        }
    }

    /// The process's HTTP routes; an unusable proxy variable is a configuration error (exit 78).
    static func makeHTTPRoutes(environment: [String: String]) throws -> HTTPRoutes {
        do {
            return try WebhookSink.makeHTTPRoutes(environment: environment)
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
