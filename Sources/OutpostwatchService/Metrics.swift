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
/// engine and sinks stay free of any metrics dependency.
public final class DaemonMetrics: Sendable {
    /// Upper bounds (seconds) of the GetOrder latency histogram.
    package static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct State {
        var polls: [String: Int] = [:]
        var events: [String: Int] = [:]
        var throttles = 0
        var latencyCounts = Array(repeating: 0, count: DaemonMetrics.latencyBuckets.count)
        var latencySum = 0.0
        var latencyCount = 0
        var lastSuccess: Date?
    }

    private let state = Mutex(State())

    public init() {}

    /// One GetOrder call ended with `result` (`ok`, `not_found`, `throttled`, `failed`) after `seconds`.
    public func recordPoll(result: String, seconds: Double) {
        state.withLock { s in
            s.polls[result, default: 0] += 1
            for (i, bound) in Self.latencyBuckets.enumerated() where seconds <= bound { s.latencyCounts[i] += 1 }
            s.latencySum += seconds
            s.latencyCount += 1
            if result == "ok" || result == "not_found" { s.lastSuccess = Date() }
        }
    }

    public func recordThrottle() { state.withLock { $0.throttles += 1 } }

    public func recordEvents(_ events: [Event]) {
        state.withLock { s in for e in events { s.events[e.type.rawValue, default: 0] += 1 } }
    }

    /// The exposition text; `outbox` is the pending deliveries per sink, read from the store.
    public func render(outbox: [String: Int], deliveries: [String: Int]) -> String {
        let s = state.withLock { $0 }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        family("outpostwatch_polls_total", "counter", "GetOrder calls by result.")
        for result in ["ok", "not_found", "throttled", "failed"] {
            out += "outpostwatch_polls_total{result=\"\(result)\"} \(s.polls[result] ?? 0)\n"
        }
        family("outpostwatch_api_latency_seconds", "histogram", "GetOrder call latency, retries included.")
        for (i, bound) in Self.latencyBuckets.enumerated() {
            out += "outpostwatch_api_latency_seconds_bucket{le=\"\(bound)\"} \(s.latencyCounts[i])\n"
        }
        out += "outpostwatch_api_latency_seconds_bucket{le=\"+Inf\"} \(s.latencyCount)\n"
        out += "outpostwatch_api_latency_seconds_sum \(s.latencySum)\n"
        out += "outpostwatch_api_latency_seconds_count \(s.latencyCount)\n"
        family("outpostwatch_throttles_total", "counter", "Throttled API answers (HTTP 429 or an AWS throttling code).")
        out += "outpostwatch_throttles_total \(s.throttles)\n"
        family("outpostwatch_events_total", "counter", "Transitions committed, by event type.")
        for type in EventType.allCases {
            out += "outpostwatch_events_total{type=\"\(type.rawValue)\"} \(s.events[type.rawValue] ?? 0)\n"
        }
        family("outpostwatch_deliveries", "gauge", "Delivery rows in the store, by state.")
        for state in DeliveryState.allCases {
            out += "outpostwatch_deliveries{state=\"\(state.rawValue)\"} \(deliveries[state.rawValue] ?? 0)\n"
        }
        family("outpostwatch_outbox_depth", "gauge", "Pending deliveries per sink.")
        for (sink, count) in outbox.sorted(by: { $0.key < $1.key }) {
            out += "outpostwatch_outbox_depth{sink=\"\(sink)\"} \(count)\n"
        }
        family("outpostwatch_last_successful_poll_timestamp_seconds", "gauge", "Unix time of the last successful GetOrder.")
        out += "outpostwatch_last_successful_poll_timestamp_seconds \(s.lastSuccess.map { $0.timeIntervalSince1970 } ?? 0)\n"
        return out
    }
}

/// An ``OrderSource`` that times and counts every call of the one it wraps.
package struct InstrumentedSource: OrderSource {
    let base: any OrderSource
    let metrics: DaemonMetrics

    package init(base: any OrderSource, metrics: DaemonMetrics) {
        self.base = base
        self.metrics = metrics
    }

    package func getOrder(_ orderId: String) async throws -> Order {
        let start = ContinuousClock.now
        do {
            let order = try await base.getOrder(orderId)
            metrics.recordPoll(result: "ok", seconds: (ContinuousClock.now - start).seconds)
            return order
        } catch {
            let result: String
            switch PollResult.from(error) {
            case .notFound: result = "not_found"
            case .throttled: result = "throttled"
            default: result = "failed"
            }
            metrics.recordPoll(result: result, seconds: (ContinuousClock.now - start).seconds)
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
    static func make(listen: String, metrics: DaemonMetrics, store: StateStore, poller: Poller,
                     healthWindow: Duration, logger: Logger, token: String? = nil,
                     statusStorePath: String? = nil, tracking: TrackingTemplates = .builtIn) throws -> some Service {
        guard let address = ListenAddress(listen) else {
            throw CommandFailure(.config, "[http] listen: expected HOST:PORT, got \(listen)")
        }
        let router = Router(options: .autoGenerateHeadEndpoints)   // HEAD answers like GET, without the body
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: BearerTokenMiddleware(token: token))
        router.add(middleware: ReadOnlyMethodsMiddleware())
        if let statusStorePath {
            do {
                StatusRoutes.add(to: router, store: try StateStore(path: statusStorePath, readOnly: true),
                                 tracking: tracking)
            } catch {
                throw CommandFailure(.failure, "cannot open the state database \(statusStorePath) for the status page: \(error)")
            }
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
