import Foundation
import Hummingbird
import Logging
import NIOPosix
import OutpostsAPI
import ServiceLifecycle
import Support
import UnixSignals
import WatchConfig
import WatchEngine
import WatchStore

// `run` on a shared PostgreSQL store (docs/high-availability.md): stand by until this daemon
// takes the leader lock, lead until the session is gone or the service stops, stand by again.

extension Daemon {
    func runShared(settings: Settings, postgres: PostgresSettings, httpToken: String?) async throws {
        let options = try postgres.connectOptions(environment: environment)
        let standby = StandbyService(options: options, takeover: postgres.takeover, notifier: notifier, logger: logger)
        // SIGHUP is trapped for the whole run, standing by included (its default action ends the
        // process): the config is re-read at every one, and a standby leads with the latest.
        let current = LockedValue(settings)
        let leading = LockedValue(false)
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let rereading = Task {
            for await _ in hangups {
                rereadConfig(into: current, standingBy: !leading.withLock { $0 })
            }
        }
        defer { rereading.cancel() }
        while true {
            var config = ServiceGroupConfiguration(services: [.init(service: standby, successTerminationBehavior: .gracefullyShutdownGroup)],
                                                   gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            config.maximumGracefulShutdownDuration = .seconds(3)
            config.maximumCancellationDuration = .seconds(1)
            if let http = settings.http {
                config.services.append(.init(service: try StandbyServer.make(listen: http.listen, standby: standby, logger: logger)))
            }
            do {
                try await ServiceGroup(configuration: config).run()
            } catch {
                logger.error("standby ended with an error", metadata: ["error": "\(error)"])
            }
            guard let session = standby.takeSession() else { break }
            logger.notice("became the leader", metadata: ["store": "\(postgres.address)", "leader": "\(leaderName)"])
            let leadership = Leadership(takeover: postgres.takeover, logger: logger)
            session.onSessionEnd { leadership.sessionEnded() }
            let end: LeaderEnd
            do {
                let store = try StateStore(postgres: session, migrate: false)
                leadership.attach(store)
                leading.withLock { $0 = true }
                defer { leading.withLock { $0 = false } }
                end = try await lead(settings: current.withLock { $0 }, httpToken: httpToken, store: store,
                                     leadership: leadership)
            } catch let failure as CommandFailure {
                throw failure
            } catch {
                end = .lostLeadership("\(error)")
            }
            guard case .lostLeadership = end else { break }
            logger.info("polling and delivering stopped; standing by")
            notifier.status("standby, leadership lost")
        }
        notifier.stopping()
        logger.info("outpostwatch stopped")
    }

    /// A SIGHUP: the config file read again into `current`, for this daemon's next turn as the
    /// leader. While it leads, its reload service applies the same file at once and says so; a
    /// standby says what it read.
    private func rereadConfig(into current: LockedValue<Settings>, standingBy: Bool) {
        guard standingBy else {
            let result = ConfigLoader.load(path: configPath, environment: environment)
            if result.errors.isEmpty, let settings = result.settings { current.withLock { $0 = settings } }
            return
        }
        guard let settings = rereadConfig(replacing: current.withLock { $0 }) else { return }
        current.withLock { $0 = settings }
        logger.info("configuration reloaded; applied when this standby leads",
                    metadata: ["orders": "\(settings.orders.count)"])
    }
}

/// The leader's watch over its session: the heartbeat every third of `takeover` (which also keeps
/// the server's idle timeout away), and the end of the session, which ends the leader's service
/// group at once: the service ends, which shuts the group down (``lostReason`` says why).
final class Leadership: Service, Sendable {
    struct Lost: Error {
        let reason: String
    }

    let interval: Duration
    let takeover: Duration
    let logger: Logger
    private let store = LockedValue<StateStore?>(nil)
    /// When the session last proved it still leads (attached, or a heartbeat went through).
    private let confirmedAt = LockedValue<ContinuousClock.Instant>(.now)
    /// Why leadership ended, once it has.
    let lostReason = LockedValue<String?>(nil)
    private let ended: AsyncStream<String>
    private let endedContinuation: AsyncStream<String>.Continuation

    init(takeover: Duration, logger: Logger) {
        self.logger = logger
        self.takeover = takeover
        interval = takeover / 3
        (ended, endedContinuation) = AsyncStream.makeStream(of: String.self)
    }

    func attach(_ store: StateStore) {
        self.store.withLock { $0 = store }
        confirmedAt.withLock { $0 = .now }
    }

    /// Whether this daemon may still act as the leader: not lost, and confirmed within
    /// `takeover`. After a stop (SIGSTOP, a frozen VM) the server has ended the session by then,
    /// so the poller asks this before every call, before the socket's close is even read.
    var isCurrent: Bool {
        guard lostReason.withLock({ $0 }) == nil else { return false }
        let age = ContinuousClock.now - confirmedAt.withLock { $0 }
        guard age < takeover else {
            endedContinuation.yield("no heartbeat for \(age.seconds.formatted(.number.precision(.fractionLength(1)))) s (the process was stopped?)")
            return false
        }
        return true
    }

    /// Called from the connection's close (any thread).
    func sessionEnded() {
        endedContinuation.yield("the database session ended")
    }

    func run() async throws {
        let store = self.store.withLock { $0 }
        let interval = self.interval
        let ended = self.ended
        do {
            try await cancelWhenGracefulShutdown {
                try await Self.watch(store: store, interval: interval, ended: ended,
                                     confirmed: { [confirmedAt = self.confirmedAt] in confirmedAt.withLock { $0 = .now } })
            }
        } catch is CancellationError {
            return
        } catch let lost as Lost {
            // Said at once; the group then shuts down gracefully, which stops polling and
            // delivery at once (cancelling the whole group could outlast its cancellation budget).
            logger.error("lost leadership: \(lost.reason)")
            lostReason.withLock { $0 = lost.reason }
        }
    }

    private static func watch(store: StateStore?, interval: Duration, ended: AsyncStream<String>,
                              confirmed: @escaping @Sendable () -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await reason in ended {
                    throw Lost(reason: reason)
                }
            }
            group.addTask {
                while true {
                    try await LoopSleep.sleep(for: interval)
                    do {
                        try await store?.leaderHeartbeat()
                        confirmed()
                    } catch {
                        throw Lost(reason: "heartbeat failed: \(error)")
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// The leader's Outposts calls, made only while ``Leadership/isCurrent``.
struct LeaderGatedSource: OrderSource {
    let base: any OrderSource
    let leadership: Leadership

    func getOrder(_ orderId: String) async throws -> Order {
        guard leadership.isCurrent else { throw CancellationError() }
        return try await base.getOrder(orderId)
    }

    func listAllOrders(outpostIdentifierFilter: String?) async throws -> [OrderSummary] {
        guard leadership.isCurrent else { throw CancellationError() }
        return try await base.listAllOrders(outpostIdentifierFilter: outpostIdentifierFilter)
    }
}

/// A standby: connects (retrying), says READY once connected, tries the leader lock every few
/// seconds and shows who leads; ends when it took the lock (``takeSession()``) or at shutdown.
final class StandbyService: Service, Sendable {
    let options: PostgresConnectOptions
    let takeover: Duration
    let notifier: SystemdNotifier
    let logger: Logger
    private let state = LockedValue<State>(State())

    struct State: Sendable {
        var session: PostgresDatabase?
        var leader: String?
        var readySent = false
        var lastError: String?
    }

    init(options: PostgresConnectOptions, takeover: Duration, notifier: SystemdNotifier, logger: Logger) {
        self.options = options
        self.takeover = takeover
        self.notifier = notifier
        self.logger = logger
    }

    /// "HOST:PID" of the leader the standby saw last.
    var leader: String? { state.withLock { $0.leader } }

    /// The session holding the lock, once; `nil` when the standby ended without it.
    func takeSession() -> PostgresDatabase? {
        state.withLock { state in
            defer { state.session = nil }
            return state.session
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        let retry = min(.seconds(2), takeover / 5)
        var backoff = Duration.seconds(1)
        var session: PostgresDatabase?
        while !Task.isCancelled {
            do {
                if session == nil || session?.isSessionAlive == false {
                    session?.close()
                    session = nil
                    let (options, takeover) = (self.options, self.takeover)
                    // Blocking calls on NIO's thread pool, off the event loops that serve /healthz.
                    let connected = try await NIOThreadPool.singleton.runIfActive {
                        let connected = try PostgresDatabase.connect(options)
                        try connected.endSessionWhenIdle(for: takeover)
                        return connected
                    }
                    session = connected
                    backoff = .seconds(1)
                    if state.withLock({ $0.lastError }) != nil {
                        logger.info("connected to the shared store", metadata: ["store": "\(options.redacted)"])
                    }
                    state.withLock { $0.lastError = nil }
                    if !state.withLock({ $0.readySent }) {
                        state.withLock { $0.readySent = true }
                        notifier.ready(status: "standby, connected to \(options.redacted)")
                    }
                }
                guard let session else { continue }
                let leader = try await NIOThreadPool.singleton.runIfActive { () throws -> String?? in
                    try session.takeLeadership(holder: leaderName, pid: getpid()) ? nil : .some(try session.leader()?.holder)
                }
                guard let leader else {
                    state.withLock { $0.session = session; $0.leader = leaderName }
                    return
                }
                let changed = state.withLock { state -> Bool in
                    defer { state.leader = leader }
                    return state.leader != leader
                }
                notifier.status("standby, leader \(leader ?? "unknown")")
                if changed {
                    logger.info("standing by", metadata: ["leader": "\(leader ?? "unknown")"])
                }
                try? await LoopSleep.sleep(for: retry)
            } catch {
                session?.close()
                session = nil
                let message = "\(error)"
                let repeated = state.withLock { state -> Bool in
                    defer { state.lastError = message }
                    return state.lastError == message
                }
                if !repeated {
                    logger.error("cannot use the shared store: \(message); retrying")
                }
                notifier.status("standby, store unavailable: \(message)")
                try? await LoopSleep.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
        session?.close()
    }
}

/// `[http]` of a standby: `/healthz` says standby and who leads; every other path is 503.
enum StandbyServer {
    static func make(listen: String, standby: StandbyService, logger: Logger) throws -> some Service {
        guard let address = ListenAddress(listen) else {
            throw CommandFailure(.config, "[http] listen: expected HOST:PORT, got \(listen)")
        }
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: SecurityHeadersMiddleware())
        router.get("/healthz") { _, _ -> Response in
            json(status: .ok, ["role": "standby", "leader": standby.leader ?? "unknown", "status": "ok"])
        }
        router.get("**") { _, _ -> Response in
            Response(status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                     body: .init(byteBuffer: .init(string: "standby: the leader \(standby.leader ?? "unknown") serves this\n")))
        }
        var serverLogger = logger
        serverLogger.logLevel = .warning
        return Application(router: router, configuration: .init(address: .hostname(address.host, port: address.port)),
                           logger: serverLogger)
    }

    static func json(status: HTTPResponse.Status, _ fields: [String: String]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: .init(bytes: data)))
    }
}
