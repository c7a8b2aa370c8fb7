import Foundation
import Logging
import OutpostsAPI
import OutpostwatchService
import Sinks
import Testing
import WatchConfig
import WatchEngine
import WatchModel
import WatchStore

/// SIGHUP reload (docs/configuration.md "Reload"), driven through ``ReloadService/reload()`` on
/// the pieces `Daemon.run()` builds: a ``Runtime`` with a real SQLite store in a temporary
/// directory, the poller, the dispatcher and the shared sink set. The AWS endpoint is a loopback
/// address nothing is asked of (reload polls nothing); webhooks go to a loopback receiver.
@Suite("reload")
struct ReloadTests {
    struct Webhook {
        var name: String
        var url: String
        var extra: String = ""
    }

    /// A config file: journald off (the sinks are exactly the webhooks), a store in `dir`.
    static func config(dir: String, region: String = "us-west-2", storage: String? = nil,
                       orders: [(String, String?)], webhooks: [Webhook], poll: String = "") -> String {
        var text = """
            [aws]
            region = "\(region)"
            endpoint = "http://127.0.0.1:9"
            [storage]
            path = "\(storage ?? dir + "/state.db")"
            [journald]
            enabled = false
            [poll]
            interval = "1h"
            \(poll)

            """
        for (id, label) in orders {
            text += "[[order]]\nid = \"\(id)\"\n" + (label.map { "label = \"\($0)\"\n" } ?? "")
        }
        for hook in webhooks {
            text += "[[webhook]]\nname = \"\(hook.name)\"\nurl = \"\(hook.url)\"\nsecret = \"test-secret\"\n\(hook.extra)\n"
        }
        return text
    }

    /// The daemon's pieces around one config file, shut down when `body` ends.
    struct Harness {
        let dir: String
        let configPath: String
        let capture: LogCapture
        let runtime: Runtime
        let poller: AccountPollers
        let dispatcher: Dispatcher
        let sinks: LockedValue<SinkSet>
        let reload: ReloadService

        var sinkNames: [String] { sinks.withLock { $0.names } }

        /// Active watched orders and their labels, by id.
        func activeOrders() async throws -> [String: String?] {
            var result: [String: String?] = [:]
            for order in try await runtime.store.watchedOrders() where order.active { result[order.orderId] = order.label }
            return result
        }

        func rewrite(_ text: String) throws { try writeFile(configPath, text) }
    }

    static func withHarness(_ initial: (String) -> String, _ body: (Harness) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            let configPath = dir + "/config.toml"
            try writeFile(configPath, initial(dir))
            let environment = ["HOME": dir]
            let capture = LogCapture()
            let credentials = StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIDTEST", secretAccessKey: "secret"))
            let settings = try loadSettings(path: configPath, environment: environment)
            let runtime = try Runtime(settings: settings, configPath: configPath, logger: capture.logger,
                                      credentials: credentials, environment: environment)
            let daemon = Daemon(configPath: configPath, logger: capture.logger, credentials: credentials,
                                environment: environment)
            let dispatcher = runtime.makeDispatcher()
            let sinks = LockedValue(runtime.sinks)
            let poller = try AccountPollers(store: runtime.store, settings: settings,
                                            makeSource: { try runtime.makeSource($0, settings: $1) },
                                            route: { event in sinks.withLock { $0.route(event) } },
                                            logger: capture.logger, onCommit: { _ in })
            _ = try await poller.loadSchedule()
            let reload = ReloadService(daemon: daemon, runtime: runtime, poller: poller, dispatcher: dispatcher,
                                       sinks: sinks, notifier: SystemdNotifier())
            let harness = Harness(dir: dir, configPath: configPath, capture: capture, runtime: runtime, poller: poller,
                                  dispatcher: dispatcher, sinks: sinks, reload: reload)
            do {
                try await body(harness)
            } catch {
                await runtime.shutdown()
                throw error
            }
            await runtime.shutdown()
        }
    }

    static func statusEvent(_ orderId: String) -> Event {
        Event(type: .orderStatusChanged, occurredAt: Date(), order: OrderRef(id: orderId, status: "IN_PROGRESS"),
              change: Change(field: .status, from: .string("PREPARING"), to: .string("IN_PROGRESS")))
    }

    @Test("a changed file: orders added and removed, labels, sinks and their filters all follow")
    func appliesChanges() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { Task { await receiver.stop() } }
        try await Self.withHarness({ dir in
            Self.config(dir: dir, orders: [(orderA, "rack A"), (orderB, nil)],
                        webhooks: [Webhook(name: "ops", url: receiver.url)])
        }) { h in
            #expect(h.sinkNames == ["ops"])
            #expect(try await h.activeOrders() == [orderA: "rack A", orderB: nil])
            #expect(await h.poller.status().watching == 2)

            try h.rewrite(Self.config(dir: h.dir, orders: [(orderB, "rack B"), (orderC, nil)], webhooks: [
                Webhook(name: "audit", url: receiver.url, extra: "events = [\"order.status_changed\"]\norders = [\"\(orderC)\"]"),
                Webhook(name: "ops", url: receiver.url, extra: "events = [\"watch.failing\"]"),
            ]))
            await h.reload.reload()

            #expect(h.capture.messages(.error) == [])
            #expect(h.capture.messages(.info).contains("configuration reloaded"))
            #expect(h.capture.messages(.warning).allSatisfy { !$0.contains("next restart") },
                    "[aws] and [storage] did not change")
            #expect(h.sinkNames == ["audit", "ops"])
            // Removed orders stop (their row stays, inactive); added ones are watched; labels change.
            #expect(try await h.activeOrders() == [orderB: "rack B", orderC: nil])
            let all = try await h.runtime.store.watchedOrders()
            #expect(all.first { $0.orderId == orderA }?.active == false, "a removed order keeps its history")
            #expect(await h.poller.status().watching == 2)

            // The route the poller uses is the new one, filters included.
            let sinks = h.sinks
            let route: @Sendable (Event) -> [String] = { event in sinks.withLock { $0.route(event) } }
            #expect(route(Self.statusEvent(orderC)) == ["audit"])
            #expect(route(Self.statusEvent(orderB)) == [])

            // And the dispatcher delivers to the sink the reload added.
            try await h.runtime.store.commit(
                PollCommit(orderId: orderC, polledAt: Date(), succeeded: true,
                           snapshot: OrderSnapshot(orderId: orderC, status: "IN_PROGRESS"), consecutiveFailures: 0,
                           failing: false, notFound: false, lastError: nil, events: [Self.statusEvent(orderC)]),
                route: route)
            let report = await h.dispatcher.drainOnce()
            _ = report
            let delivered = try await h.runtime.store.deliveries(state: .delivered, sink: "audit")
            #expect(delivered.count == 1)
            #expect(receiver.bodies.count == 1)
            #expect(receiver.bodies.first?.contains(orderC) == true)
        }
    }

    @Test("an invalid file changes nothing and logs every error at its position")
    func invalidFileKeepsRunningConfig() async throws {
        try await Self.withHarness({ dir in
            Self.config(dir: dir, orders: [(orderA, "rack A")], webhooks: [Webhook(name: "ops", url: "http://127.0.0.1:9/hook")])
        }) { h in
            // Two errors: an unknown key, and a removed order replaced by a malformed one.
            try h.rewrite("""
                [aws]
                region = "us-west-2"
                colour = "blue"
                [[order]]
                id = "oo-123"

                """)
            await h.reload.reload()

            let errors = h.capture.messages(.error)
            #expect(errors.contains { $0.hasPrefix("reload failed: the new config is invalid") })
            #expect(errors.contains { $0.hasPrefix("\(h.configPath):3:1: unknown key colour") }, "\(errors)")
            #expect(errors.contains { $0.hasPrefix("\(h.configPath):5:6: order.id: malformed order id") }, "\(errors)")
            #expect(!h.capture.messages(.info).contains("configuration reloaded"))
            #expect(h.sinkNames == ["ops"])
            #expect(try await h.activeOrders() == [orderA: "rack A"])
            #expect(await h.poller.status().watching == 1)
        }
    }

    @Test("a webhook secret that cannot be read keeps the running sinks and watch set")
    func unreadableSecretKeepsEverything() async throws {
        try await Self.withHarness({ dir in
            Self.config(dir: dir, orders: [(orderA, nil)], webhooks: [Webhook(name: "ops", url: "http://127.0.0.1:9/hook")])
        }) { h in
            // secret_file that does not exist: a warning for the loader, an error for the sinks.
            let text = Self.config(dir: h.dir, orders: [(orderA, nil), (orderB, nil)], webhooks: [])
                + "[[webhook]]\nname = \"audit\"\nurl = \"http://127.0.0.1:9/hook\"\nsecret_file = \"\(h.dir)/absent.secret\"\n"
            try h.rewrite(text)
            await h.reload.reload()

            let errors = h.capture.messages(.error)
            #expect(errors.contains { $0.hasPrefix("reload failed:") && $0.hasSuffix("keeping the running sinks") }, "\(errors)")
            #expect(errors.allSatisfy { !$0.contains("test-secret") }, "no secret in the logs")
            #expect(h.sinkNames == ["ops"])
            #expect(try await h.activeOrders() == [orderA: nil], "the poller did not take the new orders either")
        }
    }

    @Test("[storage] changes are announced for the next restart; the running store stays")
    func restartOnlySections() async throws {
        try await Self.withHarness({ dir in
            Self.config(dir: dir, orders: [(orderA, nil)], webhooks: [])
        }) { h in
            try h.rewrite(Self.config(dir: h.dir, region: "eu-west-1", storage: h.dir + "/other.db",
                                      orders: [(orderA, nil), (orderB, nil)], webhooks: []))
            await h.reload.reload()

            #expect(h.capture.messages(.warning).contains("[storage] changes take effect at the next restart"))
            #expect(h.capture.messages(.info).contains("configuration reloaded"))
            // The orders went into the store the daemon runs with, not the newly named one.
            #expect(try await h.activeOrders() == [orderA: nil, orderB: nil])
            #expect(!FileManager.default.fileExists(atPath: h.dir + "/other.db"))
            #expect(h.runtime.client.endpoint.region == "us-west-2")
        }
    }
}

/// What a ``Runtime`` refuses to start with.
@Suite("runtime")
struct RuntimeTests {
    @Test("an unknown sink name is a usage error naming the configured ones")
    func unknownSink() async throws {
        try await ReloadTests.withHarness({ dir in
            ReloadTests.config(dir: dir, orders: [(orderA, nil)], webhooks: [
                .init(name: "ops", url: "http://127.0.0.1:9/hook"), .init(name: "audit", url: "http://127.0.0.1:9/hook"),
            ])
        }) { h in
            #expect(try h.runtime.sink(named: "ops").name == "ops")
            let failure = try #require(await commandFailure { _ = try h.runtime.sink(named: "pager") })
            #expect(failure.status == .usage)
            #expect(failure.lines == ["no sink named pager (configured: ops, audit)"])
        }
    }

    @Test("an unreadable webhook secret at start is a config error (78) naming the webhook")
    func unreadableSecret() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/config.toml"
            try writeFile(path, ReloadTests.config(dir: dir, orders: [(orderA, nil)], webhooks: [])
                + "[[webhook]]\nname = \"ops\"\nurl = \"http://127.0.0.1:9/hook\"\nsecret_file = \"\(dir)/absent.secret\"\n")
            let settings = try loadSettings(path: path, environment: ["HOME": dir])
            let failure = try #require(await commandFailure {
                _ = try Runtime(settings: settings, configPath: path, logger: LogCapture().logger,
                                credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "A", secretAccessKey: "s")),
                                environment: ["HOME": dir])
            })
            #expect(failure.status == .config)
            #expect(failure.lines.count == 1)
            #expect(failure.lines.first?.hasPrefix("\(path): ") == true, "\(failure.lines)")
            #expect(failure.lines.first?.contains("ops") == true, "\(failure.lines)")
        }
    }

    @Test("a state database that cannot be opened is a plain failure (1), not a config error")
    func unopenableStore() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/config.toml"
            try writeFile(path, ReloadTests.config(dir: dir, storage: dir + "/missing/dir/state.db", orders: [(orderA, nil)], webhooks: []))
            let settings = try loadSettings(path: path, environment: ["HOME": dir])
            let failure = try #require(await commandFailure {
                _ = try Runtime(settings: settings, configPath: path, logger: LogCapture().logger,
                                credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "A", secretAccessKey: "s")),
                                environment: ["HOME": dir])
            })
            #expect(failure.status == .failure)
            #expect(failure.lines.first?.hasPrefix("cannot open the state database") == true, "\(failure.lines)")
        }
    }
}
