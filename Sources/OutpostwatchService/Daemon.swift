import Foundation
import Logging
import OutpostsAPI
import ServiceLifecycle
import Sinks
import Support
import Synchronization
import UnixSignals
import WatchConfig
import WatchEngine
import WatchModel
import WatchStore

/// `outpostwatch run`: the poller, the outbox dispatcher and the reload listener as one
/// `ServiceGroup`, talking to systemd through ``SystemdNotifier``.
///
/// Shutdown (SIGTERM, SIGINT): the group cancels the poll loop (in-flight API calls are cancelled,
/// a store commit that began finishes), the dispatcher stops (pending deliveries stay in the
/// store for the next start), and the process exits 0 well within systemd's 5 s budget.
public final class Daemon: Sendable {
    public let configPath: String
    let logger: Logger
    let notifier = SystemdNotifier()
    let credentials: (any CredentialProvider)?
    let environment: [String: String]
    /// Observes committed events (the demo prints them live).
    let onEvents: @Sendable ([Event]) -> Void

    public init(configPath: String, logger: Logger, credentials: (any CredentialProvider)? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                onEvents: @escaping @Sendable ([Event]) -> Void = { _ in }) {
        self.configPath = configPath
        self.logger = logger
        self.credentials = credentials
        self.environment = environment
        self.onEvents = onEvents
    }

    /// Runs until SIGTERM/SIGINT (or cancellation of the calling task). Throws ``CommandFailure``
    /// for configuration (78) and startup (1) errors.
    public func run() async throws {
        let settings = try loadSettings(path: configPath, environment: environment)
        // Read before anything starts: a missing or empty token is a configuration error (exit 78).
        let httpToken = try settings.http.flatMap { try HTTPToken.load($0.token, environment: environment) }
        if let postgres = settings.storage.postgres {
            try await runShared(settings: settings, postgres: postgres, httpToken: httpToken)
            return
        }
        _ = try await lead(settings: settings, httpToken: httpToken, store: nil, leadership: nil)
        notifier.stopping()
        logger.info("outpostwatch stopped")
    }

    /// How a leader's run ended.
    enum LeaderEnd {
        case stopped
        /// The shared store's session is gone (docs/high-availability.md).
        case lostLeadership(String)
    }

    /// Polls and delivers until SIGTERM/SIGINT, or until `leadership` says the shared store's
    /// session is gone. `store`: the leader's store on the shared database; `nil` opens the SQLite file.
    func lead(settings: Settings, httpToken: String?, store: StateStore?,
              leadership: Leadership?) async throws -> LeaderEnd {
        let metrics = DaemonMetrics(accounts: settings.accounts.map(\.name))
        // The metric counts every throttled answer; the poller learns of them through its own
        // results and the client's paced retries.
        let runtime = try Runtime(settings: settings, configPath: configPath, logger: logger,
                                  credentials: credentials, environment: environment,
                                  onThrottle: { metrics.recordThrottle(account: $0) }, store: store)
        let dispatcher = runtime.makeDispatcher()
        let notifier = self.notifier
        let watchdog = WatchdogPacer(interval: notifier.watchdogInterval)
        let onEvents = self.onEvents
        let sinks = LockedValue(runtime.sinks)
        let poller = try AccountPollers(
            store: runtime.store, settings: settings,
            makeSource: { account, settings in
                var source = try runtime.makeSource(account, settings: settings)
                source.source = InstrumentedSource(base: source.source, metrics: metrics, account: account.name)
                if let leadership {
                    source.source = LeaderGatedSource(base: source.source, leadership: leadership)
                }
                return source
            },
            route: { event in sinks.withLock { $0.route(event) } },
            logger: logger,
            onCommit: { events in
                dispatcher.wake()
                metrics.recordEvents(events)
                onEvents(events)
            },
            onHeartbeat: { if watchdog.due() { notifier.watchdog() } },
            onStatus: { status in notifier.status(Daemon.statusLine(status)) },
            heartbeatInterval: min(notifier.watchdogInterval ?? .seconds(5), .seconds(5)))

        // The store is open and the schedule loaded (the poller keeps it for run()); READY=1
        // follows once the signal handlers are in place (ReloadService.run).
        let loaded = try await poller.loadSchedule()
        logger.info("outpostwatch started", metadata: [
            "orders": "\(loaded.watching)", "config": "\(configPath)",
            "accounts": "\(settings.accounts.map(\.name).joined(separator: ","))",
            "endpoint": "\(runtime.client.endpoint.url.absoluteString)", "store": "\(settings.storage.location)",
        ])

        let reload = ReloadService(daemon: self, runtime: runtime, poller: poller, dispatcher: dispatcher,
                                   sinks: sinks, notifier: notifier, metrics: metrics)
        var config = ServiceGroupConfiguration(
            services: [
                .init(service: PollerService(poller: poller)),
                .init(service: DispatcherService(dispatcher: dispatcher)),
                .init(service: reload),
                .init(service: RetentionService(store: runtime.store, retention: settings.retention, logger: logger)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // systemd allows 5 s (docs/service.md): past 3 s of graceful shutdown everything is cancelled.
        config.maximumGracefulShutdownDuration = .seconds(3)
        config.maximumCancellationDuration = .seconds(1)
        if let leadership {
            config.services.append(.init(service: leadership, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        if let http = settings.http {
            // The status page reads the SQLite file on a connection of its own; the leader of a
            // shared store reads on its session (docs/status-page.md).
            let statusStore: StateStore
            if store == nil {
                do {
                    statusStore = try StateStore(path: settings.storage.path, readOnly: true)
                } catch {
                    throw CommandFailure(.failure, "cannot open the state database \(settings.storage.path) for the status page: \(error)")
                }
            } else {
                statusStore = runtime.store
            }
            let heartbeat = min(notifier.watchdogInterval ?? .seconds(5), .seconds(5))
            let server = try MetricsServer.make(listen: http.listen, metrics: metrics, store: runtime.store,
                                                poller: poller, healthWindow: heartbeat * 3, logger: logger,
                                                token: httpToken, statusStore: statusStore,
                                                tracking: settings.tracking, shared: leadership != nil)
            config.services.append(.init(service: server))
        }
        let group = ServiceGroup(configuration: config)
        do {
            try await group.run()
        } catch {
            logger.error("service group ended with an error", metadata: ["error": "\(error)"])
        }
        await runtime.shutdown()
        if let reason = leadership?.lostReason.withLock({ $0 }) {
            return .lostLeadership(reason)
        }
        return .stopped
    }

    package static func statusLine(_ status: PollerStatus) -> String {
        statusLine(watching: status.watching, failing: status.failing)
    }

    /// "watching 12 orders, 1 failing" (docs/service.md).
    public static func statusLine(watching: Int, failing: Int) -> String {
        var line = "watching \(watching) order\(watching == 1 ? "" : "s")"
        if failing > 0 { line += ", \(failing) failing" }
        return line
    }
}

/// A value shared across tasks behind a lock (a class, so structs and closures can hold it).
package final class LockedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: Value) {
        mutex = Mutex(value)
    }

    package func withLock<R>(_ body: (inout Value) -> R) -> R {
        mutex.withLock { body(&$0) }
    }
}

/// Counts throttled API answers (for the metrics and the status line).
final class WatchdogPacer: Sendable {
    private let interval: Duration?
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    init(interval: Duration?) {
        self.interval = interval
    }

    func due() -> Bool {
        guard let interval else { return false }
        let now = ContinuousClock.now
        return last.withLock { last in
            if let previous = last, now - previous < interval { return false }
            last = now
            return true
        }
    }
}

/// The poll loop as a lifecycle service.
struct PollerService: Service {
    let poller: AccountPollers

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await poller.run()
        }
    }
}

/// The outbox dispatcher as a lifecycle service.
struct DispatcherService: Service {
    let dispatcher: Dispatcher

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await dispatcher.run()
        }
    }
}

/// Prunes finished deliveries (and, when configured, old events) once at start and then hourly,
/// so the store does not grow without bound; order history is kept forever by default.
struct RetentionService: Service {
    let store: StateStore
    let retention: RetentionSettings
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let now = Date()
                do {
                    let pruned = try await store.prune(
                        deliveriesBefore: now.addingTimeInterval(-retention.deliveries.seconds),
                        eventsBefore: retention.events.map { now.addingTimeInterval(-$0.seconds) })
                    if pruned.deliveries + pruned.events > 0 {
                        logger.info("pruned the store", metadata: [
                            "deliveries": "\(pruned.deliveries)", "events": "\(pruned.events)"])
                    }
                } catch {
                    logger.warning("pruning the store failed; will retry", metadata: ["error": "\(error)"])
                }
                // Cancelled at shutdown: the loop ends quietly; a thrown CancellationError would
                // end the service group "with an error" at every normal stop.
                try? await LoopSleep.sleep(for: .seconds(3600))
            }
        }
    }
}

/// Re-reads the config on SIGHUP: orders added start, removed ones stop, sinks and poll settings
/// change; an invalid file keeps the running config and logs every error.
package struct ReloadService: Service {
    let daemon: Daemon
    let runtime: Runtime
    let poller: AccountPollers
    let dispatcher: Dispatcher
    let sinks: LockedValue<SinkSet>
    let notifier: SystemdNotifier
    /// Told the accounts after a reload, so a removed account's series go.
    let metrics: DaemonMetrics?

    package init(daemon: Daemon, runtime: Runtime, poller: AccountPollers, dispatcher: Dispatcher,
                 sinks: LockedValue<SinkSet>, notifier: SystemdNotifier, metrics: DaemonMetrics? = nil) {
        self.daemon = daemon
        self.runtime = runtime
        self.poller = poller
        self.dispatcher = dispatcher
        self.sinks = sinks
        self.notifier = notifier
        self.metrics = metrics
    }

    package func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        // READY=1 only now: the service group traps SIGTERM and SIGINT before it starts its
        // services, and SIGHUP is trapped above, so a reload or a stop sent the moment systemd
        // sees READY=1 is handled instead of ending the process by the signal's default action.
        notifier.ready(status: Daemon.statusLine(await poller.status()))
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                notifier.reloading()
                await reload()
                notifier.ready(status: Daemon.statusLine(await poller.status()))
            }
        }
    }

    package func reload() async {
        let logger = daemon.logger
        guard let settings = daemon.rereadConfig(replacing: runtime.settings) else { return }
        do {
            let newSinks = try SinkSet(settings: settings, journaldAvailable: Journal.isAvailable,
                                       httpClient: runtime.httpClient, environment: daemon.environment)
            await dispatcher.replaceSinks(newSinks.sinks, maxAges: newSinks.maxAges, concurrency: newSinks.concurrency)
            sinks.withLock { $0 = newSinks }
        } catch {
            logger.error("reload failed: \(error); keeping the running sinks")
            return
        }
        await poller.reload(settings)
        metrics?.setAccounts(await poller.accountNames)
        logger.info("configuration reloaded", metadata: ["orders": "\(settings.orders.count)"])
    }
}

extension Daemon {
    /// The config file read again on SIGHUP, its warnings and errors logged: `nil` when it is
    /// invalid (the running one is kept). Settings that only a restart applies are named.
    func rereadConfig(replacing old: Settings) -> Settings? {
        let result = ConfigLoader.load(path: configPath, environment: environment)
        for warning in result.warnings { logger.warning("\(warning)") }
        guard result.errors.isEmpty, let settings = result.settings else {
            logger.error("reload failed: the new config is invalid; keeping the running one",
                         metadata: ["errors": "\(result.errors.count)"])
            for error in result.errors { logger.error("\(error)") }
            return nil
        }
        if settings.storage != old.storage {
            logger.warning("[storage] changes take effect at the next restart")
        }
        if settings.aws.caBundle != old.aws.caBundle {
            logger.warning("[aws] ca_bundle changes take effect at the next restart")
        }
        return settings
    }
}
