import Foundation
import Logging
import WatchStore

/// Drains the store's outbox into the sinks: at least once, durable, one sink never holding up another.
///
/// Each sink gets its own worker (``SinkWorker``, deciding through a ``DeliveryStateMachine``)
/// with its own concurrency bound. A worker sends what is due, records every attempt in the
/// store, and sleeps until the next retry is due or ``wake()`` is called (after a commit), so
/// delivery latency is a few milliseconds and an idle daemon does nothing. A delivery in flight
/// when the process dies is still pending in the store and is sent again on restart. ``run()``
/// and the drains must not run at the same time on the same store, or a delivery could be sent
/// twice at once.
public actor Dispatcher {
    private let store: StateStore
    private var sinks: [any EventSink]
    private var maxAges: [String: Duration]
    private var concurrency: [String: Int]
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let retryPolicy: RetryPolicy
    /// Bumped by ``wake()``; every worker sleeps on it.
    private nonisolated let work = WakeSignal()
    /// Bumped by ``replaceSinks(_:maxAges:concurrency:)``: ``run()`` restarts its workers.
    private nonisolated let reload = WakeSignal()

    /// `max_age` when the caller gives none for a sink (docs/delivery.md: 72 h).
    public static let defaultMaxAge: Duration = .seconds(72 * 3600)

    /// - Parameters:
    ///   - maxAges: per sink name; missing ones get ``defaultMaxAge``.
    ///   - concurrency: attempts in flight per sink; missing ones get the sink's ``EventSink/defaultConcurrency``.
    public init(store: StateStore, sinks: [any EventSink], maxAges: [String: Duration], concurrency: [String: Int],
                logger: Logger, retryPolicy: RetryPolicy = .standard, now: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.sinks = sinks
        self.maxAges = maxAges
        self.concurrency = concurrency
        self.logger = logger
        self.retryPolicy = retryPolicy
        self.now = now
    }

    /// Something was committed: look at the outbox now rather than at the next timer.
    public nonisolated func wake() {
        work.bump()
    }

    /// Swaps the sinks (config reload). A running ``run()`` restarts its workers; attempts in
    /// flight are abandoned and stay pending, so they are sent again (at least once).
    public func replaceSinks(_ sinks: [any EventSink], maxAges: [String: Duration], concurrency: [String: Int]) {
        self.sinks = sinks
        self.maxAges = maxAges
        self.concurrency = concurrency
        reload.bump()
    }

    /// Delivers until the task is cancelled. Cancellation ends it promptly and leaves every
    /// undelivered row pending.
    public func run() async {
        while !Task.isCancelled {
            let seen = reload.generation
            await warnAboutUnroutedDeliveries()
            let workers = sinks.map(worker)
            await withTaskGroup(of: Void.self) { group in
                for worker in workers {
                    group.addTask { await worker.run() }
                }
                group.addTask { await self.reload.wait(after: seen, timeout: nil) }
                _ = await group.next()
                group.cancelAll()
            }
        }
    }

    /// Sends everything due now, once (the `once` command, and tests).
    public func drainOnce() async -> DrainReport {
        await forEachWorker(sinks) { await $0.drain() }
    }

    /// Sends these rows now, whatever their due time (`redeliver`): each through its sink's
    /// worker, with the same outcome policy as the daemon. Rows of sinks not configured are
    /// left as they are and not in the report.
    public func redeliver(_ rows: [Delivery]) async -> DrainReport {
        let bySink = Dictionary(grouping: rows, by: \.sink)
        return await forEachWorker(sinks.filter { bySink[$0.name] != nil }) { worker in
            await worker.send(bySink[worker.sink.name] ?? [])
        }
    }

    private func forEachWorker(_ chosen: [any EventSink],
                               _ body: @escaping @Sendable (SinkWorker) async -> DrainReport) async -> DrainReport {
        let workers = chosen.map(worker)
        return await withTaskGroup(of: DrainReport.self) { group in
            for worker in workers {
                group.addTask { await body(worker) }
            }
            var total = DrainReport()
            for await report in group { total.add(report) }
            return total
        }
    }

    private func worker(for sink: any EventSink) -> SinkWorker {
        SinkWorker(sink: sink, store: store, maxAge: maxAges[sink.name] ?? Self.defaultMaxAge,
                   limit: max(1, concurrency[sink.name] ?? sink.defaultConcurrency), policy: retryPolicy,
                   logger: logger, now: now, work: work)
    }

    private func warnAboutUnroutedDeliveries() async {
        let names = Set(sinks.map(\.name))
        guard let counts = try? await store.pendingCounts() else { return }
        for (sink, count) in counts.sorted(by: { $0.key < $1.key }) where !names.contains(sink) && count > 0 {
            logger.warning("pending deliveries for a sink that is not configured stay pending",
                           metadata: ["sink": "\(sink)", "pending": "\(count)"])
        }
    }
}
