import Foundation
import OutpostsAPI
import OutpostwatchService
import Testing
import WatchEngine
import WatchModel
import WatchStore

/// The systemd status line (docs/service.md).
@Suite("status line")
struct StatusLineTests {
    @Test(arguments: [
        (0, 0, "watching 0 orders"),
        (1, 0, "watching 1 order"),
        (12, 0, "watching 12 orders"),
        (12, 1, "watching 12 orders, 1 failing"),
        (1, 1, "watching 1 order, 1 failing"),
        (3, 3, "watching 3 orders, 3 failing"),
    ])
    func line(watching: Int, failing: Int, expected: String) {
        #expect(Daemon.statusLine(watching: watching, failing: failing) == expected)
        let status = PollerStatus(watching: watching, failing: failing, lastLoopAt: Date(), effectiveRate: 5)
        #expect(Daemon.statusLine(status) == expected)
    }
}

/// `/metrics`: the Prometheus text exposition of ``DaemonMetrics``.
@Suite("metrics text")
struct MetricsTests {
    /// `name{labels}` → value, for every sample line.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { samples[String(parts[0])] = value }
        }
        return samples
    }

    @Test("the exposition is well formed: every sample belongs to a family declared before it")
    func wellFormed() {
        let metrics = DaemonMetrics()
        metrics.recordPoll(result: "ok", seconds: 0.02)
        let text = metrics.render(outbox: ["ops": 2, "journald": 0], deliveries: ["pending": 2])
        #expect(text.hasSuffix("\n"))
        var declared: [String: String] = [:]
        var helped: Set<String> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") {
                helped.insert(String(line.split(separator: " ")[2]))
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 4, "\(line)")
                #expect(["counter", "gauge", "histogram"].contains(String(parts[3])), "\(line)")
                #expect(helped.contains(String(parts[2])), "HELP before TYPE: \(line)")
                declared[String(parts[2])] = String(parts[3])
            } else {
                let match = line.wholeMatch(of: #/([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+-]+)/#)
                #expect(match != nil, "malformed sample: \(line)")
                guard let name = match.map({ String($0.1) }) else { continue }
                let family = declared[name] != nil ? name
                    : ["_bucket", "_sum", "_count"].compactMap { suffix -> String? in
                        name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : nil
                    }.first { declared[$0] == "histogram" }
                #expect(family != nil, "sample of an undeclared family: \(line)")
            }
        }
        #expect(declared == [
            "outpostwatch_polls_total": "counter", "outpostwatch_api_latency_seconds": "histogram",
            "outpostwatch_throttles_total": "counter", "outpostwatch_events_total": "counter",
            "outpostwatch_deliveries": "gauge", "outpostwatch_outbox_depth": "gauge",
            "outpostwatch_last_successful_poll_timestamp_seconds": "gauge",
        ])
    }

    @Test("a fresh daemon reports zero for every series it will ever have")
    func zeros() {
        let samples = Self.samples(DaemonMetrics(accounts: ["default"]).render(outbox: [:], deliveries: [:]))
        for result in ["ok", "not_found", "throttled", "failed"] {
            #expect(samples["outpostwatch_polls_total{account=\"default\",result=\"\(result)\"}"] == 0)
        }
        for type in EventType.allCases {
            #expect(samples["outpostwatch_events_total{type=\"\(type.rawValue)\"}"] == 0)
        }
        for state in DeliveryState.allCases {
            #expect(samples["outpostwatch_deliveries{state=\"\(state.rawValue)\"}"] == 0)
        }
        #expect(samples["outpostwatch_throttles_total{account=\"default\"}"] == 0)
        #expect(samples["outpostwatch_api_latency_seconds_count{account=\"default\"}"] == 0)
        #expect(samples["outpostwatch_api_latency_seconds_bucket{account=\"default\",le=\"+Inf\"}"] == 0)
        #expect(samples["outpostwatch_last_successful_poll_timestamp_seconds{account=\"default\"}"] == 0)
        #expect(!samples.keys.contains { $0.hasPrefix("outpostwatch_outbox_depth") }, "no sinks, no depth series")
    }

    @Test("the latency histogram is cumulative; a bound is inclusive; +Inf counts everything")
    func histogram() {
        let metrics = DaemonMetrics()
        for seconds in [0.003, 0.1, 0.3, 42.0] { metrics.recordPoll(result: "ok", seconds: seconds) }
        let samples = Self.samples(metrics.render(outbox: [:], deliveries: [:]))
        func bucket(_ bound: String) -> Double? { samples["outpostwatch_api_latency_seconds_bucket{account=\"default\",le=\"\(bound)\"}"] }
        #expect(bucket("0.005") == 1)
        #expect(bucket("0.05") == 1)
        #expect(bucket("0.1") == 2, "0.1 s falls in le=0.1")
        #expect(bucket("0.25") == 2)
        #expect(bucket("0.5") == 3)
        #expect(bucket("10.0") == 3, "42 s is beyond every finite bound")
        #expect(bucket("+Inf") == 4)
        #expect(samples["outpostwatch_api_latency_seconds_count{account=\"default\"}"] == 4)
        #expect(abs((samples["outpostwatch_api_latency_seconds_sum{account=\"default\"}"] ?? 0) - 42.403) < 1e-9)
        // Buckets never decrease from one bound to the next.
        let counts = DaemonMetrics.latencyBuckets.map { bucket("\($0)") ?? -1 }
        #expect(counts.count == DaemonMetrics.latencyBuckets.count)
        #expect(counts == counts.sorted())
        #expect(!counts.contains(-1), "every bound has a bucket line")
    }

    @Test("polls by result, throttles, events by type, deliveries by state, outbox by sink")
    func counters() {
        let metrics = DaemonMetrics()
        metrics.recordPoll(result: "ok", seconds: 0.01)
        metrics.recordPoll(result: "ok", seconds: 0.01)
        metrics.recordPoll(result: "failed", seconds: 1)
        metrics.recordThrottle()
        metrics.recordThrottle()
        metrics.recordThrottle()
        let order = OrderRef(id: orderA)
        let change = Change(field: .status, from: .null, to: .string("PREPARING"))
        metrics.recordEvents([Event(type: .orderFirstSeen, occurredAt: Date(), order: order, change: change),
                              Event(type: .orderFirstSeen, occurredAt: Date(), order: order, change: change)])
        metrics.recordEvents([Event(type: .watchFailing, occurredAt: Date(), order: order, change: change)])
        metrics.recordEvents([])
        let text = metrics.render(outbox: ["zeta": 1, "ops": 4, "journald": 0],
                                  deliveries: ["pending": 5, "delivered": 7, "bogus": 9])
        let samples = Self.samples(text)
        #expect(samples["outpostwatch_polls_total{account=\"default\",result=\"ok\"}"] == 2)
        #expect(samples["outpostwatch_polls_total{account=\"default\",result=\"failed\"}"] == 1)
        #expect(samples["outpostwatch_polls_total{account=\"default\",result=\"throttled\"}"] == 0, "throttles are their own counter")
        #expect(samples["outpostwatch_throttles_total{account=\"default\"}"] == 3)
        #expect(samples["outpostwatch_events_total{type=\"order.first_seen\"}"] == 2)
        #expect(samples["outpostwatch_events_total{type=\"watch.failing\"}"] == 1)
        #expect(samples["outpostwatch_events_total{type=\"order.status_changed\"}"] == 0)
        #expect(samples["outpostwatch_deliveries{state=\"pending\"}"] == 5)
        #expect(samples["outpostwatch_deliveries{state=\"delivered\"}"] == 7)
        #expect(samples["outpostwatch_deliveries{state=\"failed\"}"] == 0)
        #expect(!text.contains("bogus"), "only the store's delivery states are series")
        // Outbox depth: one series per sink, sorted by name (stable output for scrapers and diffs).
        let depth = text.split(separator: "\n").filter { $0.hasPrefix("outpostwatch_outbox_depth{") }
        #expect(depth == [#"outpostwatch_outbox_depth{sink="journald"} 0"#, #"outpostwatch_outbox_depth{sink="ops"} 4"#,
                          #"outpostwatch_outbox_depth{sink="zeta"} 1"#])
    }

    @Test("the last successful poll is an ok or not_found answer, never a failure or a throttle")
    func lastSuccess() {
        let metrics = DaemonMetrics()
        metrics.recordPoll(result: "failed", seconds: 1)
        metrics.recordPoll(result: "throttled", seconds: 1)
        let key = "outpostwatch_last_successful_poll_timestamp_seconds{account=\"default\"}"
        #expect(Self.samples(metrics.render(outbox: [:], deliveries: [:]))[key] == 0)
        let before = Date().timeIntervalSince1970
        metrics.recordPoll(result: "not_found", seconds: 0.1)
        let after = Date().timeIntervalSince1970
        let stamp = Self.samples(metrics.render(outbox: [:], deliveries: [:]))[key] ?? 0
        #expect(stamp >= before - 0.001 && stamp <= after + 0.001)
    }
}

/// The daemon's instrumented order source: every GetOrder is timed and counted by its result.
@Suite("instrumented source")
struct InstrumentedSourceTests {
    /// Answers each order id from a table: an order, or an error.
    struct TableSource: OrderSource {
        let answers: [String: Result<Order, OutpostsError>]

        func getOrder(_ orderId: String) async throws -> Order {
            try answers[orderId, default: .failure(OutpostsError(kind: .network, message: "connection refused"))].get()
        }

        func listAllOrders(outpostIdentifierFilter: String?) async throws -> [OrderSummary] {
            [OrderSummary(orderId: orderC)]
        }
    }

    @Test("results: ok, not_found, throttled, failed; errors pass through unchanged")
    func results() async throws {
        let metrics = DaemonMetrics()
        let source = InstrumentedSource(base: TableSource(answers: [
            orderA: .success(Order(outpostId: "op-0123456789abcdef0", orderId: orderA, status: "IN_PROGRESS")),
            orderB: .failure(OutpostsError(kind: .notFound, code: "NotFoundException", message: "no such order")),
            orderC: .failure(OutpostsError(kind: .throttling, code: "ThrottlingException", message: "slow down")),
        ]), metrics: metrics, account: "prod")

        #expect(try await source.getOrder(orderA).status == "IN_PROGRESS")
        await #expect(throws: OutpostsError.self) { _ = try await source.getOrder(orderB) }
        do {
            _ = try await source.getOrder(orderC)
            Issue.record("a throttled answer is an error for the poller")
        } catch let error as OutpostsError {
            #expect(error.kind == .throttling)
        }
        await #expect(throws: OutpostsError.self) { _ = try await source.getOrder("oo-00000000000000000") }
        // ListOrders is passed through and not counted as a poll.
        #expect(try await source.listAllOrders(outpostIdentifierFilter: nil).compactMap(\.orderId) == [orderC])

        let samples = MetricsTests.samples(metrics.render(outbox: [:], deliveries: [:]))
        for result in ["ok", "not_found", "throttled", "failed"] {
            #expect(samples["outpostwatch_polls_total{account=\"prod\",result=\"\(result)\"}"] == 1, "\(result)")
        }
        #expect(samples["outpostwatch_api_latency_seconds_count{account=\"prod\"}"] == 4)
        #expect((samples["outpostwatch_last_successful_poll_timestamp_seconds{account=\"prod\"}"] ?? 0) > 0)
        #expect(!samples.keys.contains { $0.contains("account=\"default\"") }, "only the account the source polls for")
    }
}
