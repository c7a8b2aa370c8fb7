import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import OutpostsAPI
import Support
import Synchronization
import WatchEngine
import WatchModel
import WatchStore

/// The daemon's counters, rendered in the Prometheus text exposition format on `/metrics`.
///
/// Hand-written rather than through swift-prometheus: a handful of counters and one histogram,
/// all fed from the service layer (an instrumented ``OrderSource``, the commit callback), so the
/// engine and sinks stay free of any metrics dependency. What is per account (AWS quotas and
/// credentials are) carries an `account` label (docs/metrics.md).
public final class DaemonMetrics: Sendable {
    /// Upper bounds (seconds) of the GetOrder latency histogram.
    package static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// The results a poll is counted under.
    package static let pollResults = ["ok", "not_found", "throttled", "failed"]

    /// One account's calls to AWS.
    private struct AccountState {
        var polls: [String: Int] = [:]
        var throttles = 0
        var latencyCounts = Array(repeating: 0, count: DaemonMetrics.latencyBuckets.count)
        var latencySum = 0.0
        var latencyCount = 0
        var lastSuccess: Date?

        mutating func record(result: String, seconds: Double) {
            polls[result, default: 0] += 1
            for (i, bound) in DaemonMetrics.latencyBuckets.enumerated() where seconds <= bound { latencyCounts[i] += 1 }
            latencySum += seconds
            latencyCount += 1
            if result == "ok" || result == "not_found" { lastSuccess = Date() }
        }
    }

    private struct State {
        var accounts: [String: AccountState] = [:]
        var events: [String: Int] = [:]
    }

    private let state = Mutex(State())

    /// `accounts` get their series (at zero) from the start; others are added when first used.
    public init(accounts: [String] = []) {
        setAccounts(accounts)
    }

    /// The configured accounts, at the start and after a reload: each has its series from now
    /// on, even before its first call (a `last_successful_poll` of 0 says it never succeeded);
    /// an account no longer configured loses its series.
    public func setAccounts(_ names: [String]) {
        state.withLock { s in
            s.accounts = s.accounts.filter { names.contains($0.key) }
            for name in names where s.accounts[name] == nil { s.accounts[name] = AccountState() }
        }
    }

    /// Gives `account` its series (at zero) if it has none yet.
    public func register(account: String) {
        state.withLock { s in
            if s.accounts[account] == nil { s.accounts[account] = AccountState() }
        }
    }

    /// One GetOrder call of `account` ended with `result` (`ok`, `not_found`, `throttled`,
    /// `failed`) after `seconds`.
    public func recordPoll(account: String = WatchedOrder.defaultAccount, result: String, seconds: Double) {
        state.withLock { s in
            s.accounts[account, default: AccountState()].record(result: result, seconds: seconds)
        }
    }

    /// A throttled answer to a call of `account`'s credentials.
    public func recordThrottle(account: String = WatchedOrder.defaultAccount) {
        state.withLock { $0.accounts[account, default: AccountState()].throttles += 1 }
    }

    public func recordEvents(_ events: [Event]) {
        state.withLock { s in for e in events { s.events[e.type.rawValue, default: 0] += 1 } }
    }

    /// The exposition text; `outbox` is the pending deliveries per sink, read from the store.
    public func render(outbox: [String: Int], deliveries: [String: Int]) -> String {
        let s = state.withLock { $0 }
        let accounts = s.accounts.sorted { $0.key < $1.key }
        var out = Exposition()
        out.family("outpostwatch_polls_total", "counter", "GetOrder calls by account and result.")
        for (account, a) in accounts {
            for result in Self.pollResults {
                out.sample("outpostwatch_polls_total", ["account": account, "result": result], Double(a.polls[result] ?? 0))
            }
        }
        out.family("outpostwatch_api_latency_seconds", "histogram", "GetOrder call latency by account, retries included.")
        for (account, a) in accounts {
            for (i, bound) in Self.latencyBuckets.enumerated() {
                out.sample("outpostwatch_api_latency_seconds_bucket", ["account": account, "le": "\(bound)"],
                           Double(a.latencyCounts[i]))
            }
            out.sample("outpostwatch_api_latency_seconds_bucket", ["account": account, "le": "+Inf"], Double(a.latencyCount))
            out.sample("outpostwatch_api_latency_seconds_sum", ["account": account], a.latencySum)
            out.sample("outpostwatch_api_latency_seconds_count", ["account": account], Double(a.latencyCount))
        }
        out.family("outpostwatch_throttles_total", "counter", "Throttled API answers (HTTP 429 or an AWS throttling code) by account.")
        for (account, a) in accounts {
            out.sample("outpostwatch_throttles_total", ["account": account], Double(a.throttles))
        }
        out.family("outpostwatch_events_total", "counter", "Transitions committed, by event type.")
        for type in EventType.allCases {
            out.sample("outpostwatch_events_total", ["type": type.rawValue], Double(s.events[type.rawValue] ?? 0))
        }
        out.family("outpostwatch_deliveries", "gauge", "Delivery rows in the store, by state.")
        for state in DeliveryState.allCases {
            out.sample("outpostwatch_deliveries", ["state": state.rawValue], Double(deliveries[state.rawValue] ?? 0))
        }
        out.family("outpostwatch_outbox_depth", "gauge", "Pending deliveries per sink.")
        for (sink, count) in outbox.sorted(by: { $0.key < $1.key }) {
            out.sample("outpostwatch_outbox_depth", ["sink": sink], Double(count))
        }
        out.family("outpostwatch_last_successful_poll_timestamp_seconds", "gauge",
                   "Unix time of the last successful GetOrder of each account (0 before the first).")
        for (account, a) in accounts {
            out.sample("outpostwatch_last_successful_poll_timestamp_seconds", ["account": account],
                       a.lastSuccess.map { $0.timeIntervalSince1970 } ?? 0)
        }
        return out.text
    }
}

/// An ``OrderSource`` that times and counts every call of the one it wraps, under its account.
package struct InstrumentedSource: OrderSource {
    let base: any OrderSource
    let metrics: DaemonMetrics
    let account: String

    /// Registers `account` with `metrics`, so its series exist before its first call.
    package init(base: any OrderSource, metrics: DaemonMetrics, account: String = WatchedOrder.defaultAccount) {
        self.base = base
        self.metrics = metrics
        self.account = account
        metrics.register(account: account)
    }

    package func getOrder(_ orderId: String) async throws -> Order {
        let start = ContinuousClock.now
        do {
            let order = try await base.getOrder(orderId)
            metrics.recordPoll(account: account, result: "ok", seconds: (ContinuousClock.now - start).seconds)
            return order
        } catch {
            let result: String
            switch PollResult.from(error) {
            case .notFound: result = "not_found"
            case .throttled: result = "throttled"
            default: result = "failed"
            }
            metrics.recordPoll(account: account, result: result, seconds: (ContinuousClock.now - start).seconds)
            throw error
        }
    }

    package func listAllOrders(outpostIdentifierFilter: String?) async throws -> [OrderSummary] {
        try await base.listAllOrders(outpostIdentifierFilter: outpostIdentifierFilter)
    }
}

/// `[http] listen`: `/metrics`, `/healthz` and, given `statusStorePath`, the status page
/// (docs/status-page.md) on a small Hummingbird server; `token` guards every path but `/healthz`.
enum MetricsServer {
    static func make(listen: String, metrics: DaemonMetrics, store: StateStore, poller: AccountPollers,
                     healthWindow: Duration, logger: Logger, token: String? = nil,
                     statusStore: StateStore? = nil, tracking: TrackingTemplates = .builtIn,
                     shared: Bool = false) throws -> some Service {
        guard let address = ListenAddress(listen) else {
            throw CommandFailure(.config, "[http] listen: expected HOST:PORT, got \(listen)")
        }
        let router = Router(options: .autoGenerateHeadEndpoints)   // HEAD answers like GET, without the body
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: BearerTokenMiddleware(token: token))
        router.add(middleware: ReadOnlyMethodsMiddleware())
        if let statusStore {
            StatusRoutes.add(to: router, store: statusStore, tracking: tracking)
        }
        router.get("/metrics") { _, _ -> Response in
            let outbox = (try? await store.pendingCounts()) ?? [:]
            var states: [String: Int] = [:]
            for (state, count) in (try? await store.deliveryStateCounts()) ?? [:] { states[state.rawValue] = count }
            // The order state, build_info and process_* families (docs/metrics.md) follow the counters.
            let text = metrics.render(outbox: outbox, deliveries: states)
                + ((try? await StateMetricsCollector.render(store: store)) ?? "")
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: .init(string: text)))
        }
        router.get("/healthz") { _, _ -> Response in
            // Alive when the poll loop beat recently: the same signal as the systemd watchdog.
            let status = await poller.status()
            let age = Date().timeIntervalSince(status.lastLoopAt)
            let alive = age < healthWindow.seconds
            if shared {
                // docs/high-availability.md: every daemon of a shared store says its role.
                return StandbyServer.json(status: alive ? .ok : .serviceUnavailable, [
                    "role": "leader", "leader": leaderName, "status": alive ? "ok" : "poll loop stalled for \(Int(age)) s"])
            }
            return Response(status: alive ? .ok : .serviceUnavailable,
                            headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: .init(string: alive ? "ok\n" : "poll loop stalled for \(Int(age)) s\n")))
        }
        var serverLogger = logger
        serverLogger.logLevel = .warning
        return Application(router: router, configuration: .init(address: .hostname(address.host, port: address.port)),
                           logger: serverLogger)
    }
}
