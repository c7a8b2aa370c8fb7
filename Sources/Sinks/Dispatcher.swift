import Foundation
import Logging
import WatchConfig
import WatchModel
import WatchStore

/// When a failed delivery is tried again: exponential backoff with full jitter, capped.
///
/// Full jitter spreads the retries of many deliveries that failed together (a receiver
/// outage) instead of hammering the receiver in lock-step when it comes back.
public struct RetryPolicy: Sendable, Equatable {
    /// The upper bound of the first retry's delay.
    public var base: Duration
    /// The largest delay between two attempts.
    public var cap: Duration

    public init(base: Duration = .seconds(2), cap: Duration = .seconds(3600)) {
        self.base = base
        self.cap = cap
    }

    /// 2 s growing to one hour.
    public static let standard = RetryPolicy()

    /// The delay after the `attempts`-th failed attempt: uniform in (0, min(cap, base·2^(attempts-1))],
    /// with a small floor so a retry is never immediate.
    public func delay(afterAttempts attempts: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let exponent = Double(min(max(attempts - 1, 0), 62))
        let ceiling = min(cap.seconds, base.seconds * pow(2, exponent))
        let floor = min(ceiling, base.seconds / 20)
        return .seconds(floor + (ceiling - floor) * random)
    }

    /// What the store records for an attempt that ended with `outcome`.
    ///
    /// A delivery pending for longer than its sink's `max_age` that fails again is given up (failed, the dead
    /// letter); a retry never lands after that deadline, so the last attempt happens at it.
    public func result(of outcome: SinkOutcome, for delivery: Delivery, maxAge: Duration, now: Date) -> AttemptResult {
        switch outcome {
        case .delivered(let status):
            return .delivered(status: status)
        case .gone(let status, let error):
            return .failed(status: status, error: error)
        case .permanent(let status, let error):
            return .failed(status: status, error: error)
        case .retry(let status, let error, let retryAfter):
            // From pendingSince, not createdAt: a redelivered old event gets its full retry window.
            let deadline = delivery.pendingSince.addingTimeInterval(maxAge.seconds)
            if now >= deadline {
                return .failed(status: status, error: "\(error) (gave up: older than max_age \(maxAge.seconds.formattedSeconds))")
            }
            let delay = retryAfter ?? self.delay(afterAttempts: delivery.attempts + 1)
            return .retry(at: min(now.addingTimeInterval(delay.seconds), deadline), status: status, error: error)
        }
    }
}

/// What one ``Dispatcher/drainOnce()`` did.
public struct DrainReport: Sendable, Equatable {
    public var attempted = 0
    public var delivered = 0
    /// Attempts that failed and are scheduled again.
    public var retrying = 0
    /// Deliveries given up (max_age, 410 Gone — counting every pending one it failed — or permanent errors).
    public var failed = 0
    /// Store errors met on the way (the deliveries concerned stay pending).
    public var storeErrors: [String] = []

    public init() {}

    mutating func add(_ other: DrainReport) {
        attempted += other.attempted
        delivered += other.delivered
        retrying += other.retrying
        failed += other.failed
        storeErrors += other.storeErrors
    }
}

/// Which sinks an event goes to: the `route` the store's `commit` needs.
public enum SinkRouting {
    /// journald (when enabled) gets every event; each webhook what its `events`/`orders` filters accept.
    public static func route(webhooks: [WebhookSettings], journald: Bool) -> @Sendable (Event) -> [String] {
        { event in
            (journald ? [JournaldSink.sinkName] : [])
                + webhooks.filter { $0.accepts(event.type, orderId: event.order.id) }.map(\.name)
        }
    }
}

/// Drains the store's outbox into the sinks: at least once, durable, one sink never holding up another.
///
/// Each sink gets its own worker with its own concurrency bound. A worker sends what is due,
/// records every attempt in the store, and sleeps until the next retry is due or ``wake()`` is
/// called (after a commit), so delivery latency is a few milliseconds and an idle daemon does
/// nothing. A delivery in flight when the process dies is still pending in the store and is
/// sent again on restart. ``run()`` and ``drainOnce()`` must not run at the same time on the
/// same store, or a delivery could be sent twice at once.
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
    ///   - concurrency: attempts in flight per sink; missing ones get 1 (journald) or 4.
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

    /// Sends everything due now, once (the `once` and `redeliver` commands, and tests).
    public func drainOnce() async -> DrainReport {
        let workers = sinks.map(worker)
        return await withTaskGroup(of: DrainReport.self) { group in
            for worker in workers {
                group.addTask { await worker.drain() }
            }
            var total = DrainReport()
            for await report in group { total.add(report) }
            return total
        }
    }

    private func worker(for sink: any EventSink) -> SinkWorker {
        let limit = concurrency[sink.name] ?? (sink.name == JournaldSink.sinkName ? 1 : 4)
        return SinkWorker(sink: sink, store: store, maxAge: maxAges[sink.name] ?? Self.defaultMaxAge,
                          limit: max(1, limit), policy: retryPolicy,
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

/// One sink's share of the dispatcher: its own loop, bound and timers.
private struct SinkWorker: Sendable {
    let sink: any EventSink
    let store: StateStore
    let maxAge: Duration
    let limit: Int
    let policy: RetryPolicy
    let logger: Logger
    let now: @Sendable () -> Date
    /// The dispatcher-wide wake-up (commits).
    let work: WakeSignal
    /// Re-arms this worker's timer after it scheduled a retry earlier than the one it sleeps for.
    let rearm = WakeSignal()

    /// The least time between two expedites of one sink's backed-off deliveries.
    static let expediteHoldOff: Duration = .seconds(30)

    private enum Step: Sendable {
        case attempted(Delivery, SinkOutcome, at: Date)
        case woken
    }

    func run() async {
        var inFlight = Set<Int64>()
        // Due rows fetched but not started yet: one query feeds many attempts.
        var queue: [Delivery] = []
        // Attempts already under way when the receiver answered 410: they must not bring their
        // rows back to pending after failPending failed them.
        var startedBeforeGone = Set<Int64>()
        var timerArmed = false
        // The armed timer has no deadline only because the due rows were in flight: the next
        // completion must re-arm it, or a later retry time would never be waited for.
        var timerAwaitsCompletion = false
        var storeFailures = 0
        // Attempts in a row whose outcome could not be recorded.
        var recordFailures = 0
        // An attempt failed since the receiver last answered: its next success means it is back.
        var failedSinceLastSuccess = false
        var lastExpedite: ContinuousClock.Instant?
        let batch = max(limit * 4, 16)
        await withTaskGroup(of: Step.self) { group in
            while !Task.isCancelled {
                if inFlight.count < limit {
                    let seenWork = work.generation
                    let seenRearm = rearm.generation
                    var timeout: Duration?
                    do {
                        if queue.isEmpty {
                            // Asking for the rows in flight plus a batch guarantees a full batch of new
                            // ones whenever that many are due (the in-flight ones are among the oldest).
                            queue = try await store.dueDeliveries(now: now(), sink: sink.name,
                                                                  limit: inFlight.count + batch)
                                .filter { !inFlight.contains($0.id) }
                        }
                        while inFlight.count < limit, !queue.isEmpty {
                            let delivery = queue.removeFirst()
                            inFlight.insert(delivery.id)
                            group.addTask { [sink, now] in
                                let outcome = await sink.send(delivery.event)
                                return .attempted(delivery, outcome, at: now())
                            }
                        }
                        storeFailures = 0
                        if inFlight.count < limit && !timerArmed {
                            timeout = try await nextTimeout(idle: inFlight.isEmpty)
                        }
                    } catch {
                        storeFailures += 1
                        logger.error("cannot read the outbox", metadata: ["sink": "\(sink.name)", "error": "\(error)"])
                        timeout = .seconds(min(30, 1 << min(storeFailures, 5)))
                    }
                    if inFlight.count < limit && !timerArmed {
                        timerArmed = true
                        timerAwaitsCompletion = timeout == nil && !inFlight.isEmpty
                        group.addTask { [work, rearm] in
                            await Self.waitForEither(work, seenWork, rearm, seenRearm, timeout: timeout)
                            return .woken
                        }
                    }
                }
                guard let step = await group.next() else { continue }
                switch step {
                case .woken:
                    timerArmed = false
                    timerAwaitsCompletion = false
                case .attempted(let delivery, let outcome, let at):
                    inFlight.remove(delivery.id)
                    // An attempt cut short by shutdown or reload says nothing about the receiver.
                    if Task.isCancelled && !outcome.isDelivered { continue }
                    let afterGone = startedBeforeGone.remove(delivery.id) != nil
                    let report = await record(outcome, of: delivery, at: at, afterGone: afterGone)
                    if case .gone = outcome, !afterGone {
                        startedBeforeGone = inFlight
                        queue.removeAll()   // failPending failed these rows already
                    }
                    if report.retrying > 0 || timerAwaitsCompletion {
                        timerAwaitsCompletion = false
                        rearm.bump()
                    }
                    if report.retrying > 0 { failedSinceLastSuccess = true }
                    if report.delivered > 0 && failedSinceLastSuccess
                        && lastExpedite.map({ ContinuousClock.now - $0 >= Self.expediteHoldOff }) ?? true {
                        // The receiver is back: what backed off during its outage is due now. At most
                        // once per hold-off, so a flapping receiver does not defeat the backoff.
                        failedSinceLastSuccess = false
                        lastExpedite = .now
                        if let count = try? await store.expediteRetries(sink: sink.name, now: at), count > 0 {
                            logger.notice("receiver answers again; its pending deliveries are retried now",
                                          metadata: ["sink": "\(sink.name)", "deliveries": "\(count)"])
                            queue.removeAll()
                            rearm.bump()
                        }
                    }
                    if report.storeErrors.isEmpty {
                        recordFailures = 0
                    } else {
                        // The attempt is not in the store (disk full, read-only file): its row is still
                        // pending and due, so starting again at once would resend it in a tight loop,
                        // flooding the receiver with duplicates and the log with errors. Pause, with
                        // backoff, and re-read the outbox afterwards.
                        recordFailures += 1
                        queue.removeAll()
                        try? await Task.sleep(for: .seconds(min(30, 1 << min(recordFailures, 5))))
                    }
                }
            }
            group.cancelAll()
        }
    }

    /// How long to sleep when nothing more can be started: until the next pending row is due.
    private func nextTimeout(idle: Bool) async throws -> Duration? {
        guard let next = try await store.nextDueDate(sink: sink.name) else { return nil }
        let wait = next.timeIntervalSince(now())
        if wait > 0 { return .seconds(wait) }
        // Due already: either it is one in flight (its completion loops anyway) or it became due
        // after the query; a short nap keeps a skewed clock from turning this into a busy loop.
        return idle ? .milliseconds(20) : nil
    }

    private static func waitForEither(_ a: WakeSignal, _ seenA: UInt64, _ b: WakeSignal, _ seenB: UInt64,
                                      timeout: Duration?) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await a.wait(after: seenA, timeout: timeout) }
            group.addTask { await b.wait(after: seenB, timeout: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sends every delivery of this sink that is due now, each at most once.
    func drain() async -> DrainReport {
        var report = DrainReport()
        var attempted = Set<Int64>()
        while !Task.isCancelled {
            let due: [Delivery]
            do {
                due = try await store.dueDeliveries(now: now(), sink: sink.name, limit: attempted.count + 100)
                    .filter { !attempted.contains($0.id) }
            } catch {
                report.storeErrors.append("\(sink.name): \(error)")
                break
            }
            if due.isEmpty { break }
            due.forEach { attempted.insert($0.id) }
            var gone = false
            await withTaskGroup(of: (Delivery, SinkOutcome, Date).self) { group in
                var queue = due.makeIterator()
                func start(_ delivery: Delivery) {
                    group.addTask { [sink, now] in (delivery, await sink.send(delivery.event), now()) }
                }
                for _ in 0..<limit {
                    guard let delivery = queue.next() else { break }
                    start(delivery)
                }
                while let (delivery, outcome, at) = await group.next() {
                    report.add(await record(outcome, of: delivery, at: at, afterGone: gone))
                    if case .gone = outcome { gone = true }
                    // After a 410 the rest of the queue was failed by failPending: send none of it.
                    if !gone, let delivery = queue.next() { start(delivery) }
                }
            }
            if gone { break }
        }
        return report
    }

    /// Stores the attempt and logs it; a 410 fails every pending delivery of the sink.
    ///
    /// `afterGone`: the attempt started before the receiver answered 410 for another delivery;
    /// unless it got through, it fails like the rows failPending already failed.
    private func record(_ outcome: SinkOutcome, of delivery: Delivery, at: Date, afterGone: Bool) async -> DrainReport {
        var report = DrainReport()
        report.attempted = 1
        var result = policy.result(of: outcome, for: delivery, maxAge: maxAge, now: at)
        if afterGone, let error = outcome.error {
            result = .failed(status: outcome.status, error: "\(error) (the receiver answered 410 Gone)")
        }
        var metadata: Logger.Metadata = [
            "sink": "\(sink.name)", "event_id": "\(delivery.eventId)", "attempt": "\(delivery.attempts + 1)",
        ]
        if let status = outcome.status, !(sink is JournaldSink) { metadata["status"] = "\(status)" }
        do {
            try await store.recordAttempt(deliveryId: delivery.id, at: at, result: result)
        } catch {
            // The row stays pending and is sent again: at least once, never lost.
            metadata["error"] = "\(error)"
            logger.error("cannot record a delivery attempt", metadata: metadata)
            report.storeErrors.append("\(sink.name): \(error)")
            return report
        }
        switch result {
        case .delivered:
            report.delivered = 1
            logger.debug("delivered", metadata: metadata)
        case .retry(let next, _, let error):
            report.retrying = 1
            metadata["error"] = "\(error)"
            metadata["retry_in"] = "\(max(0, next.timeIntervalSince(at)).formattedSeconds)"
            logger.warning("delivery attempt failed, will retry", metadata: metadata)
        case .failed(_, let error):
            report.failed = 1
            metadata["error"] = "\(error)"
            logger.error("delivery failed for good (see `outpostwatch deliveries --state failed`)", metadata: metadata)
        }
        if case .gone(let status, let error) = outcome, !afterGone {
            do {
                let count = try await store.failPending(sink: sink.name, error: "receiver answered \(status) Gone: \(error)",
                                                        at: at)
                report.failed += count
                logger.error("webhook receiver answered 410 Gone: every pending delivery of this sink failed; fix or remove the sink",
                             metadata: ["sink": "\(sink.name)", "failed": "\(count + 1)"])
            } catch {
                report.storeErrors.append("\(sink.name): \(error)")
                logger.error("cannot fail the pending deliveries of a gone sink",
                             metadata: ["sink": "\(sink.name)", "error": "\(error)"])
            }
        }
        return report
    }
}

extension Duration {
    /// The duration in (fractional) seconds, for `Date` arithmetic.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension Double {
    /// `2.5s`: how delays read in logs and errors.
    var formattedSeconds: String {
        self >= 10 ? "\(Int(self.rounded()))s" : String(format: "%.1fs", self)
    }
}
