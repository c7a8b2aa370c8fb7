import Foundation
import Logging
import OutpostsAPI
import WatchConfig
import WatchModel
import WatchStore

/// What the poller is doing, for `STATUS=`, the status line and health checks.
public struct PollerStatus: Sendable, Equatable {
    /// Active watched orders.
    public var watching: Int
    /// Active watched orders whose polls are failing (`watch.failing` emitted, not yet recovered).
    public var failing: Int
    /// The last time the poll loop went round; stale means the loop is stuck.
    public var lastLoopAt: Date
    /// API calls per second allowed now: `max_rps`, or less while backing off from throttling.
    public var effectiveRate: Double

    public init(watching: Int, failing: Int, lastLoopAt: Date, effectiveRate: Double) {
        self.watching = watching
        self.failing = failing
        self.lastLoopAt = lastLoopAt
        self.effectiveRate = effectiveRate
    }
}

/// A poll (or discovery sweep) of `once` that did not get a usable answer.
public struct PollFailure: Sendable, Equatable {
    /// The order polled; `nil` for a `[[discover]]` ListOrders sweep.
    public var orderId: String?
    /// What went wrong, free of secrets.
    public var message: String

    public init(orderId: String?, message: String) {
        self.orderId = orderId
        self.message = message
    }
}

/// What `outpostwatch once` did: the events it committed and the polls that failed.
public struct OnceReport: Sendable, Equatable {
    /// Committed events (with their sequences), grouped by order id in id order, each order's in
    /// sequence order: a stable listing whatever order the concurrent polls finished in.
    public var events: [Event]
    /// Failed polls and sweeps; `once` exits 1 when this is not empty.
    public var failures: [PollFailure]

    public init(events: [Event] = [], failures: [PollFailure] = []) {
        self.events = events
        self.failures = failures
    }
}

/// The poll loop: polls every watched order on its schedule, within the concurrency and rate
/// limits, and commits each result to the store (docs/events.md, docs/service.md).
///
/// An actor because the schedule, the rate limiter and the watch set are shared by the loop, the
/// poll tasks finishing concurrently, reloads and status queries. The store stays the source of
/// truth: every result is evaluated against the order's state read back from the store, so a
/// restart, a failed commit or a reload never loses or repeats a transition.
public actor Poller {
    /// Throttled answers are retried this many times by ``pollAllOnce()`` before giving up.
    public static let onceThrottleAttempts = 6
    /// A poll whose commit failed is retried after at most this long.
    public static let storeErrorRetry: Duration = .seconds(30)
    /// How long the poll times of unchanged polls may wait in memory before they are written
    /// (see ``StateStore/flushPollTimes()``): one fsync per this interval instead of per poll.
    public static let pollTimeFlushInterval: Duration = .seconds(2)
    /// Polls due within this window (at most 1 % of the interval) start together.
    public static let batchWindow: Duration = .milliseconds(250)

    private let store: StateStore
    private let source: any OrderSource
    private var settings: Settings
    private let route: @Sendable (Event) -> [String]
    private let logger: Logger
    private let onCommit: @Sendable ([Event]) -> Void
    private let onHeartbeat: @Sendable () -> Void
    private let onStatus: @Sendable (PollerStatus) -> Void
    private let heartbeatInterval: Duration

    /// What the loop needs to know about one active watched order between polls.
    private struct Tracked {
        var failing: Bool
        var terminal: Bool
    }

    private var tracked: [String: Tracked] = [:]
    /// Next poll of each scheduled order; orders absent here and not busy are not polled
    /// (terminal with `terminal_interval = "off"`).
    private var due = DueSchedule()
    /// Orders with a fetch or commit in progress.
    private var busy: Set<String> = []
    /// GetOrder calls in flight (bounded by `concurrency`).
    private var fetching = 0
    private var discoverDue: [Int: ContinuousClock.Instant] = [:]
    private var discovering: Set<Int> = []
    /// Bumped when a reload replaces `[[discover]]`, so sweeps of the old list do not reschedule.
    private var discoverGeneration = 0
    private var limiter: AdaptiveRateLimiter
    private var lastLoopAt = Date()
    private var reportedCounts: (watching: Int, failing: Int)?
    private var sleeper: Task<Void, Never>?
    /// When the loop, asleep, looks at the schedule again.
    private var plannedWake = ContinuousClock.now
    /// Since when the store holds poll times in memory; `nil` when it holds none.
    private var pollTimesHeldSince: ContinuousClock.Instant?
    /// A fingerprint (``Hasher``) of the last answer committed for each order whose stored state
    /// it settled (found, no failure): the same answer again can change nothing but the poll
    /// time, so it is recorded without reading and decoding the stored state or diffing. The
    /// daemon is the only writer of an order's state while it runs, so the stored state cannot
    /// move under a fingerprint. In memory only, so the first poll after a start takes the full path.
    private var settledAnswers: [String: Int] = [:]
    /// ``loadWatchSet()`` ran (through ``loadSchedule()``), so ``run()`` need not load again.
    private var scheduleLoaded = false
    private var random = SystemRandomNumberGenerator()

    /// - Parameters:
    ///   - route: the sinks an event goes to (the store writes one pending delivery per sink).
    ///   - onCommit: called after each commit that stored events, with the events as stored.
    ///   - onHeartbeat: called by the loop itself at least every `heartbeatInterval` (the watchdog).
    ///   - onStatus: called when the number of watched or failing orders changes.
    public init(store: StateStore, source: any OrderSource, settings: Settings,
                route: @escaping @Sendable (Event) -> [String], logger: Logger,
                onCommit: @escaping @Sendable ([Event]) -> Void,
                onHeartbeat: @escaping @Sendable () -> Void = {},
                onStatus: @escaping @Sendable (PollerStatus) -> Void = { _ in },
                heartbeatInterval: Duration = .seconds(5)) {
        self.store = store
        self.source = source
        self.settings = settings
        self.route = route
        self.logger = logger
        self.onCommit = onCommit
        self.onHeartbeat = onHeartbeat
        self.onStatus = onStatus
        self.heartbeatInterval = heartbeatInterval
        self.limiter = AdaptiveRateLimiter(maxRate: settings.poll.maxRPS)
    }

    // MARK: Public API

    /// The current counts and rate.
    public func status() -> PollerStatus {
        PollerStatus(watching: tracked.count, failing: tracked.values.filter(\.failing).count,
                     lastLoopAt: lastLoopAt, effectiveRate: limiter.rate)
    }

    /// Polls until the calling task is cancelled, then returns promptly: no new polls start,
    /// fetches in flight are abandoned, and commits already under way complete.
    ///
    /// - Throws: a store error while loading the watch set at start.
    public func run() async throws {
        if !scheduleLoaded { try await loadWatchSet() }
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                beat()
                let now = ContinuousClock.now
                if let held = pollTimesHeldSince, now - held >= Self.pollTimeFlushInterval {
                    await flushPollTimes()
                }
                for work in takeDueWork(now: now) {
                    switch work {
                    case .poll(let orderId):
                        group.addTask { await self.pollInLoop(orderId) }
                    case .discover(let index, let entry, let generation):
                        group.addTask { await self.discoverInLoop(index, entry, generation: generation) }
                    }
                }
                plannedWake = nextWake(now: now)
                await sleep(until: plannedWake)
            }
        }
        await flushPollTimes()
        logger.debug("poll loop stopped")
    }

    /// Puts the configured orders in the store's watch set and plans the first polls, so the
    /// caller can report readiness (READY=1) with the counts; ``run()`` then starts polling
    /// without loading again. Calling it is optional: ``run()`` loads when it was not called.
    ///
    /// - Throws: a store error.
    public func loadSchedule() async throws -> PollerStatus {
        try await loadWatchSet()
        return status()
    }

    /// Discovers once and polls every active order once (respecting concurrency and rate), commits
    /// every result, and reports: the `once` command. Not meant to run alongside ``run()``.
    ///
    /// Terminal orders are included unless `terminal_interval = "off"` (which means: no longer polled).
    public func pollAllOnce() async -> OnceReport {
        var report = OnceReport()
        do {
            try await store.syncWatchSet(configOrders, source: .config)
        } catch {
            report.failures.append(PollFailure(orderId: nil, message: "state store: \(error)"))
            return report
        }
        for entry in settings.discover {
            if let failure = await discoverOnce(entry) { report.failures.append(failure) }
        }
        let orders: [ScheduleEntry]
        do {
            orders = try await store.activeSchedule()
        } catch {
            report.failures.append(PollFailure(orderId: nil, message: "state store: \(error)"))
            return report
        }
        rebuildTracked(orders)
        var pending = ArraySlice(orders.filter { PollTiming.interval(terminal: $0.isTerminal, poll: settings.poll) != nil }
                                       .map(\.orderId))
        var throttles: [String: Int] = [:]
        var committed: [Event] = []
        let source = self.source
        await withTaskGroup(of: (String, PollResult?).self) { group in
            var running = 0
            while true {
                while running < max(1, settings.poll.concurrency), let orderId = pending.first {
                    guard await waitForToken() else { break }
                    pending.removeFirst()
                    running += 1
                    group.addTask { (orderId, await Self.fetch(orderId, from: source)) }
                }
                guard let (orderId, result) = await group.next() else { break }
                running -= 1
                guard let result else {
                    report.failures.append(PollFailure(orderId: orderId, message: "cancelled"))
                    continue
                }
                if result == .throttled {
                    limiter.recordThrottle(now: .now)
                    throttles[orderId, default: 0] += 1
                    if throttles[orderId, default: 0] < Self.onceThrottleAttempts {
                        pending.append(orderId)
                    } else {
                        report.failures.append(PollFailure(
                            orderId: orderId, message: "throttled by the API \(Self.onceThrottleAttempts) times"))
                    }
                    continue
                }
                switch await record(orderId, result) {
                case .committed(let events, let commit):
                    committed += events
                    if !commit.succeeded {
                        report.failures.append(PollFailure(orderId: orderId, message: commit.lastError ?? "poll failed"))
                    }
                case .storeError(let message):
                    report.failures.append(PollFailure(orderId: orderId, message: message))
                case .unwatched:
                    break
                }
            }
        }
        // Cancelled before these could start: say so rather than report them as fine.
        report.failures += pending.map { PollFailure(orderId: $0, message: "cancelled") }
        report.events = committed.enumerated().sorted { a, b in
            if a.element.order.id != b.element.order.id { return a.element.order.id < b.element.order.id }
            if a.element.sequence != b.element.sequence { return a.element.sequence < b.element.sequence }
            return a.offset < b.offset
        }.map(\.element)
        await flushPollTimes()
        reportStatusIfChanged()
        return report
    }

    /// Applies a new configuration: orders added start polling within a few seconds, removed ones
    /// stop (their history stays), poll and discovery settings take effect now.
    public func reload(_ newSettings: Settings) async {
        let old = settings
        settings = newSettings
        limiter.updateMaxRate(newSettings.poll.maxRPS)
        if newSettings.discover != old.discover {
            discoverGeneration += 1
            discoverDue = [:]
            discovering = []
            let now = ContinuousClock.now
            for index in newSettings.discover.indices { discoverDue[index] = now }
        }
        do {
            try await store.syncWatchSet(configOrders, source: .config)
            try await refreshWatchSet()
        } catch {
            logger.error("reload: could not update the watch set", metadata: ["error": "\(error)"])
        }
        wake()
    }

    /// Tells the poller that the API throttled a call, even one the client then retried
    /// successfully (wire to ``OutpostsClient``'s `onThrottle`): the whole poller slows down.
    public nonisolated func noteThrottle() {
        Task { await self.throttled() }
    }

    // MARK: Loop

    private enum Work {
        case poll(String)
        case discover(Int, DiscoverSettings, generation: Int)
    }

    private var configOrders: [(id: String, label: String?)] {
        settings.orders.map { (id: $0.id, label: $0.label) }
    }

    private func beat() {
        lastLoopAt = Date()
        onHeartbeat()
    }

    /// Loads the watch set and spreads the first polls (see ``PollTiming/startupWindow``).
    private func loadWatchSet() async throws {
        try await store.syncWatchSet(configOrders, source: .config)
        let orders = try await store.activeSchedule()
        rebuildTracked(orders)
        due.removeAll()
        let now = ContinuousClock.now
        // The longest unpolled first: after a long stop they are the most likely to have news.
        let pollable = orders
            .filter { PollTiming.interval(terminal: $0.isTerminal, poll: settings.poll) != nil }
            .sorted { ($0.lastPollAt ?? .distantPast, $0.orderId) < ($1.lastPollAt ?? .distantPast, $1.orderId) }
        let offsets = PollTiming.startupOffsets(count: pollable.count, interval: settings.poll.interval)
        for (order, offset) in zip(pollable, offsets) { due[order.orderId] = now + offset }
        discoverDue = [:]
        for index in settings.discover.indices { discoverDue[index] = now }
        scheduleLoaded = true
        logger.info("watch set loaded", metadata: ["orders": "\(orders.count)", "scheduled": "\(pollable.count)"])
        reportStatusIfChanged()
    }

    private func rebuildTracked(_ orders: [ScheduleEntry]) {
        tracked = Dictionary(uniqueKeysWithValues: orders.map {
            ($0.orderId, Tracked(failing: $0.failing, terminal: $0.isTerminal))
        })
        settledAnswers = settledAnswers.filter { tracked[$0.key] != nil }
    }

    /// Re-reads the active watch set after a reload or a discovery sweep and fixes the schedule:
    /// new orders start within ``PollTiming/addedWindow``, gone ones stop, and intervals that
    /// shrank are applied at once.
    private func refreshWatchSet() async throws {
        let orders = try await store.activeSchedule()
        rebuildTracked(orders)
        let now = ContinuousClock.now
        for orderId in Array(due.ids) where tracked[orderId] == nil { due[orderId] = nil }
        var unscheduled: [String] = []
        for order in orders where !busy.contains(order.orderId) {
            guard let interval = PollTiming.interval(terminal: order.isTerminal, poll: settings.poll) else {
                due[order.orderId] = nil
                continue
            }
            if let current = due[order.orderId] {
                due[order.orderId] = min(current, now + interval)
            } else {
                unscheduled.append(order.orderId)
            }
        }
        let offsets = PollTiming.startupOffsets(count: unscheduled.count, interval: settings.poll.interval,
                                                window: PollTiming.addedWindow)
        for (orderId, offset) in zip(unscheduled, offsets) { due[orderId] = now + offset }
        reportStatusIfChanged()
    }

    /// Everything that may start now: due discovery sweeps and due polls, as far as the
    /// concurrency bound and the rate limiter allow.
    private func takeDueWork(now: ContinuousClock.Instant) -> [Work] {
        var work: [Work] = []
        for (index, at) in discoverDue.sorted(by: { $0.key < $1.key })
        where at <= now && !discovering.contains(index) && settings.discover.indices.contains(index) {
            guard limiter.tryAcquire(now: now) else { return work }
            discoverDue[index] = nil
            discovering.insert(index)
            work.append(.discover(index, settings.discover[index], generation: discoverGeneration))
        }
        // Polls due a little later start with these, so steady polling wakes the loop once per
        // batch rather than once per poll (a poll a fraction of a second early changes nothing).
        let horizon = now + min(settings.poll.interval / 100, Self.batchWindow)
        while fetching < max(1, settings.poll.concurrency), let (orderId, at) = earliestDue(), at <= horizon {
            guard limiter.tryAcquire(now: now) else { break }
            due[orderId] = nil
            busy.insert(orderId)
            fetching += 1
            work.append(.poll(orderId))
        }
        return work
    }

    /// The soonest scheduled poll (ties broken by id, so the order is deterministic).
    private func earliestDue() -> (String, ContinuousClock.Instant)? {
        due.earliest().map { ($0.id, $0.at) }
    }

    /// When the loop must look again: the next due work (not before the rate limiter allows it),
    /// and never later than the next heartbeat. A finishing poll or a reload wakes it earlier.
    private func nextWake(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        var candidates = discoverDue.filter { !discovering.contains($0.key) }.map(\.value)
        if fetching < max(1, settings.poll.concurrency), let (_, at) = earliestDue() { candidates.append(at) }
        var wake = now + heartbeatInterval
        if let soonest = candidates.min() { wake = min(wake, max(soonest, limiter.nextAvailable(now: now))) }
        if let held = pollTimesHeldSince { wake = min(wake, held + Self.pollTimeFlushInterval) }
        return wake
    }

    /// Writes the poll times the store holds; on failure they stay held and are tried again.
    private func flushPollTimes() async {
        do {
            try await store.flushPollTimes()
            pollTimesHeldSince = nil
        } catch {
            pollTimesHeldSince = .now
            logger.warning("could not write poll times; retrying", metadata: ["error": "\(error)"])
        }
    }

    private func sleep(until deadline: ContinuousClock.Instant) async {
        let timer = Task<Void, Never> { try? await Task.sleep(until: deadline, clock: .continuous) }
        sleeper = timer
        await withTaskCancellationHandler {
            await timer.value
        } onCancel: {
            timer.cancel()
        }
        sleeper = nil
    }

    /// Ends the loop's current sleep so it re-evaluates the schedule now.
    private func wake() {
        sleeper?.cancel()
    }

    private func pollInLoop(_ orderId: String) async {
        let result = await Self.fetch(orderId, from: source)
        await finishInLoop(orderId, result)
    }

    private func finishInLoop(_ orderId: String, _ result: PollResult?) async {
        // The loop is woken only when this poll changes what it waits for: a free slot it had
        // none of, an early retry, poll times to flush. Waking it after every poll cost a round
        // of thread hand-offs per poll, most of the daemon's CPU when polling steadily.
        let needsWake = fetching >= max(1, settings.poll.concurrency)
        let heldBefore = pollTimesHeldSince
        fetching -= 1
        defer {
            busy.remove(orderId)
            reportStatusIfChanged()
            let dueBeforeWake = due[orderId].map { $0 < plannedWake } ?? false
            if needsWake || dueBeforeWake || (heldBefore == nil && pollTimesHeldSince != nil) { wake() }
        }
        // Cancelled: shutting down, nothing to record; the next start polls it again.
        guard let result else { return }
        let now = ContinuousClock.now
        if result == .throttled {
            limiter.recordThrottle(now: now)
            // Retried soon, at the slowed-down pace; the limiter decides the actual instant.
            if tracked[orderId] != nil { due[orderId] = now + .seconds(1 / limiter.rate) }
            logger.notice("throttled by the API; slowing down",
                          metadata: ["order_id": "\(orderId)", "rate": "\(limiter.rate)"])
            return
        }
        switch await record(orderId, result) {
        case .committed(_, let commit):
            schedule(orderId, after: PollTiming.interval(for: commit.snapshot, poll: settings.poll,
                                                         terminal: tracked[orderId]?.terminal))
        case .storeError:
            schedule(orderId, after: min(settings.poll.interval, Self.storeErrorRetry), jitter: false)
        case .unwatched:
            due[orderId] = nil
        }
    }

    private func schedule(_ orderId: String, after interval: Duration?, jitter: Bool = true) {
        guard tracked[orderId] != nil, let interval else {
            due[orderId] = nil
            return
        }
        let delay = jitter ? PollTiming.jittered(interval, jitter: settings.poll.jitter, using: &random) : interval
        due[orderId] = .now + delay
    }

    private func discoverInLoop(_ index: Int, _ entry: DiscoverSettings, generation: Int) async {
        let failure = await discoverOnce(entry, rescheduleOnThrottle: true)
        guard generation == discoverGeneration else { return }
        discovering.remove(index)
        if failure?.message == Self.throttledMarker {
            discoverDue[index] = .now + .seconds(1 / limiter.rate)
        } else {
            discoverDue[index] = .now + entry.interval
        }
        wake()
    }

    private static let throttledMarker = "throttled"

    /// One ListOrders sweep: new order ids join the watch set and are scheduled soon.
    private func discoverOnce(_ entry: DiscoverSettings, rescheduleOnThrottle: Bool = false) async -> PollFailure? {
        let source = self.source
        var attempts = 0
        while true {
            if !rescheduleOnThrottle {
                guard await waitForToken() else { return PollFailure(orderId: nil, message: "discovery cancelled") }
            }
            attempts += 1
            let answer = await abandoningOnCancel {
                try await source.listAllOrders(outpostIdentifierFilter: entry.outpost)
            }
            let summaries: [OrderSummary]
            switch answer {
            case nil:
                return PollFailure(orderId: nil, message: "discovery cancelled")
            case .success(let list):
                summaries = list
                limiter.recordSuccess()
            case .failure(let error):
                let where_ = entry.outpost.map { " for outpost \($0)" } ?? ""
                switch PollResult.from(error) {
                case .throttled:
                    limiter.recordThrottle(now: .now)
                    if rescheduleOnThrottle { return PollFailure(orderId: nil, message: Self.throttledMarker) }
                    if attempts < Self.onceThrottleAttempts { continue }
                    return PollFailure(orderId: nil, message: "discovery\(where_): throttled by the API")
                default:
                    let message = "discovery\(where_): \(PollResult.from(error).failureMessage ?? "\(error)")"
                    logger.warning("discovery sweep failed", metadata: ["error": "\(message)"])
                    return PollFailure(orderId: nil, message: message)
                }
            }
            let ids = summaries.compactMap(\.orderId).filter { !$0.isEmpty }
            do {
                let added = try await store.addDiscovered(ids)
                if !added.isEmpty {
                    logger.info("discovered new orders", metadata: ["count": "\(added.count)",
                                                                     "orders": "\(added.joined(separator: ","))"])
                    try await refreshWatchSet()
                }
                return nil
            } catch {
                logger.error("could not record discovered orders", metadata: ["error": "\(error)"])
                return PollFailure(orderId: nil, message: "state store: \(error)")
            }
        }
    }

    /// Waits until the rate limiter grants a call. `false` when cancelled.
    private func waitForToken() async -> Bool {
        while !Task.isCancelled {
            let now = ContinuousClock.now
            if limiter.tryAcquire(now: now) { return true }
            try? await Task.sleep(until: limiter.nextAvailable(now: now), clock: .continuous)
        }
        return false
    }

    private func throttled() {
        limiter.recordThrottle(now: .now)
    }

    // MARK: Recording

    private enum Recorded {
        case committed([Event], PollCommit)
        case storeError(String)
        /// The order left the watch set while it was being polled: nothing recorded.
        case unwatched
    }

    /// Evaluates a result against the order's stored state and commits it.
    private func record(_ orderId: String, _ result: PollResult) async -> Recorded {
        if case .order = result { limiter.recordSuccess() }
        if case .notFound = result { limiter.recordSuccess() }
        let store = self.store
        let route = self.route
        let failingAfter = settings.poll.failingAfter
        let fingerprint: Int? = if case .order(let order) = result { Self.fingerprint(order) } else { nil }
        if let fingerprint, settledAnswers[orderId] == fingerprint, tracked[orderId] != nil {
            return await recordUnchanged(orderId)
        }
        settledAnswers[orderId] = nil
        do {
            // Detached from the caller's cancellation: once a fetch has produced an answer, its
            // commit always completes, so a SIGTERM mid-commit neither loses nor repeats it.
            let stored = try await Task<([Event], PollCommit)?, any Error> {
                guard let watched = try await store.watchedOrder(orderId), watched.active else {
                    return nil
                }
                guard let commit = PollEvaluation.evaluate(watched: watched, outcome: result,
                                                           failingAfter: failingAfter, at: Date()) else {
                    return nil
                }
                return (try await store.commit(commit, route: route), commit)
            }.value
            guard let (events, commit) = stored else { return .unwatched }
            if let fingerprint, commit.succeeded, !commit.failing, !commit.notFound, commit.consecutiveFailures == 0 {
                settledAnswers[orderId] = fingerprint
            }
            if commit.onlyPollTimesChanged && pollTimesHeldSince == nil { pollTimesHeldSince = .now }
            if tracked[orderId] != nil {
                tracked[orderId]?.failing = commit.failing
                if let snapshot = commit.snapshot { tracked[orderId]?.terminal = snapshot.isTerminal }
            }
            if let message = commit.lastError, !commit.succeeded {
                logger.warning("poll failed", metadata: ["order_id": "\(orderId)", "error": "\(message)",
                                                         "consecutive_failures": "\(commit.consecutiveFailures)"])
            }
            if !events.isEmpty { onCommit(events) }
            return .committed(events, commit)
        } catch {
            logger.error("could not record a poll result; the order is polled again later",
                         metadata: ["order_id": "\(orderId)", "error": "\(error)"])
            return .storeError("state store: \(error)")
        }
    }

    /// Records a poll that answered exactly what was committed last: only its time changes.
    private func recordUnchanged(_ orderId: String) async -> Recorded {
        let commit = PollCommit(orderId: orderId, polledAt: Date(), succeeded: true, snapshot: nil,
                                consecutiveFailures: 0, failing: false, notFound: false, lastError: nil,
                                events: [], onlyPollTimesChanged: true)
        do {
            _ = try await store.commit(commit, route: route)
        } catch {
            settledAnswers[orderId] = nil
            return .storeError("state store: \(error)")
        }
        if pollTimesHeldSince == nil { pollTimesHeldSince = .now }
        return .committed([], commit)
    }

    static func fingerprint(_ order: Order) -> Int {
        var hasher = Hasher()
        hasher.combine(order)
        return hasher.finalize()
    }

    private func reportStatusIfChanged() {
        let current = status()
        if let last = reportedCounts, last.watching == current.watching, last.failing == current.failing { return }
        reportedCounts = (current.watching, current.failing)
        onStatus(current)
    }

    /// One GetOrder call as a ``PollResult``; `nil` when cancelled.
    static func fetch(_ orderId: String, from source: any OrderSource) async -> PollResult? {
        switch await abandoningOnCancel({ try await source.getOrder(orderId) }) {
        case nil: return nil
        case .success(let order): return .order(order)
        case .failure(let error): return PollResult.from(error)
        }
    }
}

extension PollTiming {
    /// The interval after a poll: from the new snapshot when there is one, else from what was known.
    static func interval(for snapshot: OrderSnapshot?, poll: PollSettings, terminal: Bool?) -> Duration? {
        interval(terminal: snapshot?.isTerminal ?? (terminal == true), poll: poll)
    }
}
