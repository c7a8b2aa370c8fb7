import Foundation
import Logging
import OutpostsAPI
import OutpostsSimulator
import Sinks
import Support
import WatchConfig
import WatchEngine
import WatchModel
import WatchReport
import WatchStore

/// The non-daemon subcommands of docs/cli.md. Each throws ``CommandFailure`` for a
/// non-zero exit; the executable target only parses arguments and calls these.
public enum Commands {
    // MARK: check-config

    /// Validates the config: prints a summary and returns, or throws every error (exit 78).
    public static func checkConfig(configPath: String) throws {
        let settings = try loadSettings(path: configPath)
        // Every account's region and endpoint, each failure reported (docs/configuration.md).
        let unresolved = settings.accounts.flatMap { account -> [String] in
            do { _ = try resolveEndpoint(account, configPath: configPath); return [] } catch let failure as CommandFailure {
                return failure.lines
            } catch { return ["\(configPath): \(error)"] }
        }
        if !unresolved.isEmpty { throw CommandFailure(.config, unresolved) }
        // The CA bundles are read the way the daemon reads them at start, so a bad one fails here first.
        let bundles = [("aws.ca_bundle", CABundle.awsPath(configured: settings.aws.caBundle,
                                                          environment: ProcessInfo.processInfo.environment))]
            + settings.webhooks.map { ("webhook \"\($0.name)\": ca_bundle", $0.caBundle) }
            + settings.pagerDuty.map { ("pagerduty \"\($0.common.name)\": ca_bundle", $0.caBundle) }
        let problems = bundles.compactMap { what, path -> String? in
            guard let path else { return nil }
            do { _ = try CABundle.load(path) } catch { return "\(configPath): \(what): \(error)" }
            return nil
        }
        if !problems.isEmpty { throw CommandFailure(.config, problems) }
        Output.line(ConfigSummary.render(settings))
        Output.line("\(configPath): OK")
    }

    // MARK: once

    /// Polls every watched order once, records and emits, prints the transitions. Exits 1 when a
    /// poll failed, after recording and emitting what the others found.
    public static func once(configPath: String, json: Bool, logger: Logger,
                            credentials: (any CredentialProvider)? = nil) async throws {
        let settings = try loadSettings(path: configPath)
        // On the shared store, `once` polls only as the leader would (docs/high-availability.md).
        var leaderStore: StateStore?
        if let postgres = settings.storage.postgres {
            do {
                guard let opened = try openLeaderStore(postgres, environment: ProcessInfo.processInfo.environment) else {
                    throw CommandFailure(.failure, "another outpostwatch leads \(postgres.address); `once` polls only when none does (stop the daemons first)")
                }
                leaderStore = opened
            } catch let failure as CommandFailure {
                throw failure
            } catch {
                throw CommandFailure(.failure, "cannot open the state database: \(error)")
            }
        }
        let runtime = try Runtime(settings: settings, configPath: configPath, logger: logger, credentials: credentials,
                                  store: leaderStore)
        // The poller syncs the watch set itself; a store error is one of the report's failures.
        let sinks = runtime.sinks
        let poller: AccountPollers
        do {
            poller = try AccountPollers(store: runtime.store, settings: settings,
                                        makeSource: { try runtime.makeSource($0, settings: $1) },
                                        route: { sinks.route($0) }, logger: logger, onCommit: { _ in })
        } catch {
            await runtime.shutdown()
            throw error
        }
        let report = await poller.pollAllOnce(progress: Terminal.onceProgress())
        _ = await runtime.makeDispatcher().drainOnce()
        await runtime.shutdown()
        if json {
            try Output.json(report.events)
        } else if report.events.isEmpty {
            Output.line("no changes")
        } else {
            for event in report.events {
                Output.line("\(Output.time(event.occurredAt))  #\(event.sequence)  \(EventText.sentence(event))")
            }
        }
        if !report.failures.isEmpty {
            throw CommandFailure(.failure, report.failures.map { failure in
                // Failures without an order (discovery, the store) say what failed themselves.
                failure.orderId.map { "poll of \($0) failed: \(failure.message)" } ?? failure.message
            })
        }
    }

    // MARK: history

    /// Transitions, oldest first; `--json` prints an array of webhook-shaped events. With
    /// `account`, only the events of that account's orders (``AccountFilter``).
    public static func history(configPath: String, orderId: String?, since: String?, json: Bool,
                               account: String? = nil) async throws {
        let settings = try loadSettings(path: configPath)
        var sinceDate: Date?
        if let since {
            guard let date = parseSince(since) else {
                throw CommandFailure(.usage, "--since: expected an ISO-8601 time (2026-11-28T12:00:00Z) or a duration ago (24h), got \(since)")
            }
            sinceDate = date
        }
        let store = try openReadOnly(settings)
        let filter = try await AccountFilter.load(account, settings: settings, store: store)
        var events = try await store.history(orderId: orderId, since: sinceDate)
        if let filter { events = events.filter(filter.matches) }
        if json { return try Output.json(events) }
        if events.isEmpty { return Output.line("no events") }
        for event in events {
            let link = event.shipment?.trackingURL.map { "  \($0)" } ?? ""
            Output.line("\(Output.time(event.occurredAt))  \(event.order.id) #\(event.sequence)  \(event.type.rawValue)  \(EventText.sentence(event))\(link)")
        }
    }

    /// `--since`: an ISO-8601 instant, or a duration meaning "that long ago".
    package static func parseSince(_ s: String, now: Date = Date()) -> Date? {
        if let date = ISO8601.parse(s) { return date }
        if let duration = parseDuration(s) { return now.addingTimeInterval(-duration.seconds) }
        return nil
    }

    // MARK: deliveries

    /// The newest `limit` deliveries (all with `limit` 0); says on stderr when there are more.
    public static func deliveries(configPath: String, state: String?, json: Bool, limit: Int = 1000) async throws {
        let settings = try loadSettings(path: configPath)
        var filter: DeliveryState?
        if let state {
            guard let s = DeliveryState(rawValue: state) else {
                throw CommandFailure(.usage, "--state: expected pending, failed or delivered, got \(state)")
            }
            filter = s
        }
        let store = try openReadOnly(settings)
        guard limit >= 0 else { throw CommandFailure(.usage, "--limit: expected 0 (all) or more, got \(limit)") }
        let rows = try await store.deliveries(state: filter, limit: limit == 0 ? -1 : limit).map { DeliveryRow($0, sinkKind: settings.sinkKinds[$0.sink]) }
        let counts = try await store.deliveryStateCounts()
        let total = filter.map { counts[$0, default: 0] } ?? counts.values.reduce(0, +)
        // On stderr, so a JSON consumer still reads one array; silence would under-report an outage.
        defer {
            if rows.count < total {
                Output.error("showing the newest \(rows.count) of \(total) deliveries; --limit 0 shows all")
            }
        }
        if json { return try Output.json(rows) }
        if rows.isEmpty { return Output.line("no deliveries") }
        Output.line(Output.table(
            ["EVENT", "TYPE", "ORDER", "SINK", "KIND", "STATE", "ATTEMPTS", "LAST", "NEXT / DONE", "LAST ERROR"],
            rows.map { r in
                [r.eventId, r.eventType, "\(r.orderId) #\(r.sequence)", r.sink, r.sinkKind ?? "-", r.state, "\(r.attempts)",
                 r.lastStatus.map(String.init) ?? "-",
                 Output.time(r.state == "pending" ? r.nextAttemptAt : (r.deliveredAt ?? r.lastAttemptAt)),
                 r.lastError ?? "-"]
            }))
    }

    // MARK: redeliver

    /// Sends an event again now, to one sink or every sink it had, recording each attempt.
    public static func redeliver(configPath: String, eventId: String, sink: String?, logger: Logger) async throws {
        let settings = try loadSettings(path: configPath)
        let runtime = try Runtime(settings: settings, configPath: configPath, logger: logger)
        defer { Task { await runtime.shutdown() } }
        var sinks: [String] = []
        if let sink {
            _ = try runtime.sink(named: sink)
            sinks = [sink]
        }
        let pending: [Delivery]
        do {
            pending = try await runtime.store.redeliver(eventId: eventId, sinks: sinks, now: Date())
        } catch let error as StoreError where error.kind == .notFound {
            throw CommandFailure(.failure, "no event \(eventId) in \(settings.storage.location)")
        }
        if pending.isEmpty { throw CommandFailure(.failure, "event \(eventId) has no delivery to send again") }
        // The daemon's outcome policy (docs/delivery.md): a retryable error leaves the row pending
        // with the daemon's backoff, a permanent one fails it, a 410 fails the sink's whole queue.
        let configured = Set(runtime.sinks.names)
        var failed = false
        for delivery in pending where !configured.contains(delivery.sink) {
            Output.error("\(delivery.sink): not configured any more; left pending")
            failed = true
        }
        let report = await runtime.makeDispatcher().redeliver(pending)
        for attempt in report.attempts {
            switch attempt.result {
            case .delivered(let status)?:
                Output.line("\(attempt.sink): delivered (HTTP \(status))")
                continue
            case nil:
                Output.error("\(attempt.sink): sent, but the attempt could not be recorded; left pending")
            case .retry(let at, _, let error)?:
                Output.error("\(attempt.sink): failed: \(error) (left pending, retried by the daemon at \(Output.time(at)))")
            case .failed(_, let error)?:
                if case .gone = attempt.outcome {
                    Output.error("\(attempt.sink): gone (HTTP 410): \(error); every pending delivery of this sink failed")
                } else {
                    Output.error("\(attempt.sink): failed for good: \(error)")
                }
            }
            failed = true
        }
        await runtime.shutdown()
        if failed { throw CommandFailure(.failure, []) }
    }

    // MARK: test-sink

    /// Sends a synthetic event through one sink and prints the result.
    public static func testSink(configPath: String, name: String, logger: Logger) async throws {
        let settings = try loadSettings(path: configPath)
        // Only the sinks: a test send needs neither the store nor AWS.
        let httpClient = try Runtime.makeHTTPRoutes(environment: ProcessInfo.processInfo.environment)
        let outcome: SinkOutcome
        do {
            let sinks = try SinkSet(settings: settings, journaldAvailable: Journal.isAvailable, httpClient: httpClient)
            outcome = await sendTestEvent(sink: try Runtime.sink(named: name, in: sinks))
        } catch {
            try? await httpClient.shutdown()
            if error is CommandFailure { throw error }
            throw CommandFailure(.config, "\(configPath): \(error)")
        }
        try? await httpClient.shutdown()
        switch outcome {
        case .delivered(let status):
            Output.line("\(name): delivered (HTTP \(status))")
        case .retry(let status, let error, _), .permanent(let status, let error):
            throw CommandFailure(.failure, "\(name): failed\(status.map { " (HTTP \($0))" } ?? ""): \(error)")
        case .gone(_, let error):
            throw CommandFailure(.failure, "\(name): gone (HTTP 410): \(error)")
        }
    }

    // MARK: helpers

    static func openReadOnly(_ settings: Settings) throws -> StateStore {
        do {
            return try openCommandStore(settings.storage, readOnly: true)
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(.failure, "cannot open the state database \(settings.storage.location): \(error)")
        }
    }
}
