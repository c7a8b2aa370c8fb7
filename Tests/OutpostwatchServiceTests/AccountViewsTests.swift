import Foundation
import OutpostwatchService
import Testing
import WatchConfig
import WatchModel
import WatchReport
import WatchStore

/// Account and region where operators look (docs/cli.md, docs/metrics.md): `status` and `history`
/// with `--account`, their JSON rows, the detail view, the per-account metrics.
@Suite("accounts in status, history and metrics")
struct AccountViewsTests {
    /// A store with orderA in `prod` (us-west-2, with quote ids), orderB in `lab` (eu-west-1) and
    /// orderC in `default`, each polled once.
    static func store(in dir: String) async throws -> StateStore {
        let store = try StateStore(path: dir + "/state.db")
        try await store.syncWatchSet([(id: orderA, label: "Seattle")], source: .config, account: "prod", region: "us-west-2")
        try await store.syncWatchSet([(id: orderB, label: nil)], source: .config, account: "lab", region: "eu-west-1")
        try await store.syncWatchSet([(id: orderC, label: nil)], source: .config)
        let orders: [(String, String?, String?, OrderSnapshot)] = [
            (orderA, "prod", "us-west-2", OrderSnapshot(orderId: orderA, status: "IN_PROGRESS", quoteId: "q-1",
                                                        quoteOptionId: "qo-2")),
            (orderB, "lab", "eu-west-1", OrderSnapshot(orderId: orderB, status: "PREPARING")),
            // An event recorded before accounts existed: no account in its order object.
            (orderC, nil, nil, OrderSnapshot(orderId: orderC, status: "DELIVERED")),
        ]
        for (id, account, region, snapshot) in orders {
            let event = Event(type: .orderFirstSeen, occurredAt: Date(),
                              order: OrderContext(account: account, region: region).ref(snapshot),
                              change: Change(field: .status, from: .null, to: .string(snapshot.status ?? "")))
            _ = try await store.commit(PollCommit(orderId: id, polledAt: Date(), succeeded: true, snapshot: snapshot,
                                                  consecutiveFailures: 0, failing: false, notFound: false,
                                                  lastError: nil, events: [event]), route: { _ in [] })
        }
        return store
    }

    static func settings(accounts: [String]) -> Settings {
        var settings = Settings()
        settings.accounts = accounts.map { AccountSettings(name: $0) }
        return settings
    }

    @Test("status rows carry account, region and the quote ids; --account keeps one account's")
    func rows() async throws {
        try await withTemporaryDirectory { dir in
            let store = try await Self.store(in: dir)
            let all = try await StatusRow.active(in: store)
            #expect(all.map(\.account) == ["prod", "lab", "default"])
            let prod = try #require(try await StatusRow.active(in: store, account: "prod").first)
            #expect(try await StatusRow.active(in: store, account: "prod").count == 1)
            #expect(prod.orderId == orderA && prod.region == "us-west-2")
            #expect(prod.quoteId == "q-1" && prod.quoteOptionId == "qo-2")

            let encoder = EventJSON.encoder()
            let json = try #require(JSONSerialization.jsonObject(with: encoder.encode(all)) as? [[String: Any]])
            #expect(json[0]["account"] as? String == "prod")
            #expect(json[0]["region"] as? String == "us-west-2")
            #expect(json[0]["quote_id"] as? String == "q-1")
            #expect(json[0]["quote_option_id"] as? String == "qo-2")
            #expect(json[2]["account"] as? String == "default")
            #expect(json[2]["region"] is NSNull, "every row has every key")
            #expect(json[2]["quote_id"] is NSNull && json[2]["quote_option_id"] is NSNull)
            await store.close()
        }
    }

    @Test("the table has an ACCOUNT column only when the rows belong to more than one account")
    func table() async throws {
        try await withTemporaryDirectory { dir in
            let store = try await Self.store(in: dir)
            let all = try await StatusRow.active(in: store)
            let several = StatusView.table(all).split(separator: "\n").map(String.init)
            #expect(several[0].hasPrefix("ORDER                 LABEL    ACCOUNT  STATUS"))
            #expect(several[1].contains("Seattle  prod     IN_PROGRESS"))
            let one = StatusView.table(try await StatusRow.active(in: store, account: "prod"))
            #expect(!one.contains("ACCOUNT") && !one.contains("prod"))
            await store.close()
        }
    }

    @Test("the detail view: account with region, quote ids when present")
    func detail() async throws {
        try await withTemporaryDirectory { dir in
            let store = try await Self.store(in: dir)
            let rows = try await StatusRow.active(in: store)
            let prod = StatusView.detail(rows[0]).split(separator: "\n").map(String.init)
            #expect(prod.contains("Order:            \(orderA)"))
            #expect(prod.contains("Account:          prod (us-west-2)"))
            #expect(prod.contains("Quote id:         q-1"))
            #expect(prod.contains("Quote option id:  qo-2"))
            #expect(prod.contains("Status:           IN_PROGRESS"))
            let lab = StatusView.detail(rows[1])
            #expect(lab.contains("Account:       lab (eu-west-1)"))
            #expect(!lab.contains("Quote"), "no quote ids, no lines for them")
            await store.close()
        }
    }

    @Test("--account: configured or stored names filter; others are a usage error naming the known ones")
    func filter() async throws {
        try await withTemporaryDirectory { dir in
            let store = try await Self.store(in: dir)
            let orders = try await store.watchedOrders()
            let settings = Self.settings(accounts: ["prod", "staging"])
            // In the config without orders yet, and in the store but no longer configured: both fine.
            #expect(try AccountFilter(name: "staging", settings: settings, orders: orders).name == "staging")
            #expect(try AccountFilter(name: "lab", settings: settings, orders: orders).name == "lab")
            let failure = try #require(await commandFailure {
                _ = try AccountFilter(name: "prdo", settings: settings, orders: orders)
            })
            #expect(failure.status == .usage)
            #expect(failure.lines == ["--account: no account named prdo in the config or the store (known: default, lab, prod, staging)"])

            let events = try await store.history()
            let prod = try AccountFilter(name: "prod", settings: settings, orders: orders)
            #expect(events.filter(prod.matches).map(\.order.id) == [orderA])
            // The event without an account counts as its order's.
            let defaultFilter = try AccountFilter(name: "default", settings: settings, orders: orders)
            #expect(events.filter(defaultFilter.matches).map(\.order.id) == [orderC])
            #expect(events.filter(try AccountFilter(name: "staging", settings: settings, orders: orders).matches).isEmpty)
            await store.close()
        }
    }

    @Test("state metrics: each order's series under its account")
    func stateMetrics() {
        let prod = WatchedOrder(orderId: orderA, account: "prod", region: "us-west-2",
                                snapshot: OrderSnapshot(orderId: orderA, status: "ERROR",
                                                        lineItems: [LineItemSnapshot(lineItemId: "li-1", status: "BUILDING")]))
        let lab = WatchedOrder(orderId: orderB, account: "lab", snapshot: OrderSnapshot(orderId: orderB, status: "PREPARING"))
        var out = Exposition()
        OrderStateMetrics.render([OrderStateSample(prod, start: nil, stalled: false),
                                  OrderStateSample(lab, start: nil, stalled: true)], failing: 0, version: "1", into: &out)
        let lines = out.text.split(separator: "\n").map(String.init)
        #expect(lines.contains("outpostwatch_order_status{account=\"prod\",order_id=\"\(orderA)\",outpost_id=\"\",label=\"\",status=\"ERROR\"} 1"))
        #expect(lines.contains("outpostwatch_line_item_status{account=\"prod\",order_id=\"\(orderA)\",line_item_id=\"li-1\",status=\"BUILDING\"} 1"))
        #expect(lines.contains("outpostwatch_order_stalled{account=\"lab\",order_id=\"\(orderB)\"} 1"))
        #expect(lines.contains("outpostwatch_order_stalled{account=\"prod\",order_id=\"\(orderA)\"} 0"))
    }

    @Test("daemon metrics: polls, latency, throttles and the last success per account")
    func daemonMetrics() {
        let metrics = DaemonMetrics(accounts: ["prod", "lab"])
        metrics.recordPoll(account: "prod", result: "ok", seconds: 0.02)
        metrics.recordPoll(account: "prod", result: "ok", seconds: 0.02)
        metrics.recordPoll(account: "lab", result: "failed", seconds: 1)
        metrics.recordThrottle(account: "lab")
        var samples = MetricsTests.samples(metrics.render(outbox: [:], deliveries: [:]))
        #expect(samples["outpostwatch_polls_total{account=\"prod\",result=\"ok\"}"] == 2)
        #expect(samples["outpostwatch_polls_total{account=\"prod\",result=\"failed\"}"] == 0)
        #expect(samples["outpostwatch_polls_total{account=\"lab\",result=\"failed\"}"] == 1)
        #expect(samples["outpostwatch_api_latency_seconds_count{account=\"prod\"}"] == 2)
        #expect(samples["outpostwatch_api_latency_seconds_bucket{account=\"lab\",le=\"+Inf\"}"] == 1)
        #expect(samples["outpostwatch_throttles_total{account=\"lab\"}"] == 1)
        #expect(samples["outpostwatch_throttles_total{account=\"prod\"}"] == 0)
        #expect((samples["outpostwatch_last_successful_poll_timestamp_seconds{account=\"prod\"}"] ?? 0) > 0)
        #expect(samples["outpostwatch_last_successful_poll_timestamp_seconds{account=\"lab\"}"] == 0,
                "an account that never succeeded says 0, so the stale-polls alert sees it")

        // A reload that removes lab and adds ops.
        metrics.setAccounts(["prod", "ops"])
        samples = MetricsTests.samples(metrics.render(outbox: [:], deliveries: [:]))
        #expect(!samples.keys.contains { $0.contains("account=\"lab\"") })
        #expect(samples["outpostwatch_polls_total{account=\"ops\",result=\"ok\"}"] == 0)
        #expect(samples["outpostwatch_polls_total{account=\"prod\",result=\"ok\"}"] == 2, "kept across the reload")
    }
}
