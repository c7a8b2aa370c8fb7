import Foundation
import Logging
import OutpostsAPI
import Support
import WatchConfig
import WatchModel
import WatchStore

/// The poll loop's I/O: carries out what the ``PollSchedule`` state machine decides (start a
/// GetOrder call or a ListOrders sweep, sleep, write held poll times) and commits each result to
/// the store (docs/events.md, docs/service.md).
///
/// An actor because the schedule, the watch set and the settled answers are shared by the loop,
/// the poll tasks finishing concurrently, reloads and status queries. The store stays the source
/// of truth: every result is evaluated against the order's state read back from the store, so a
/// restart, a failed commit or a reload never loses or repeats a transition. `run` (the daemon)
/// and ``pollAllOnce()`` (`outpostwatch once`) drive the same machine through the same loop.
public actor Poller {
    /// Throttled answers are retried this many times by ``pollAllOnce()`` before giving up.
    public static let onceThrottleAttempts = 6

    let store: StateStore
    let source: any OrderSource
    /// The account whose orders this poller watches (docs/configuration.md, "Accounts and
    /// regions"), and its region as resolved at start; both are carried in every event.
    public nonisolated let account: String
    let region: String?
    /// The configuration narrowed to ``account`` (``Settings/scoped(to:)``).
    var settings: Settings
    let route: @Sendable (Event) -> [String]
    let logger: Logger
    let onCommit: @Sendable ([Event]) -> Void
    private let onHeartbeat: @Sendable () -> Void
    private let onStatus: @Sendable (PollerStatus) -> Void
    private let heartbeatInterval: Duration

    /// Every scheduling decision; see ``PollSchedule``.
    var schedule: PollSchedule
    private var lastLoopAt = Date()
    private var reportedCounts: (watching: Int, failing: Int)?
    /// The loop's sleep, ended early by ``wake()``.
    private let alarm = LoopAlarm()
    /// A fingerprint (``Hasher``) of the last answer committed for each order whose stored state
    /// it settled (found, no failure): the same answer again can change nothing but the poll
    /// time, so it is recorded without reading and decoding the stored state or diffing. The
    /// daemon is the only writer of an order's state while it runs, so the stored state cannot
    /// move under a fingerprint. In memory only, so the first poll after a start takes the full path.
    var settledAnswers: [String: Int] = [:]
    /// ``loadSchedule()`` ran, so ``run()`` need not load again.
    private var scheduleLoaded = false
    /// What ``pollAllOnce(progress:)`` collects while its loop runs; `nil` in the daemon.
    var onceReport: OnceReport?
    /// ``pollAllOnce(progress:)``'s progress: the orders whose poll ended, out of how many.
    private var onceProgress: (done: Set<String>, total: Int, report: @Sendable (_ done: Int, _ total: Int) -> Void)?

    /// - Parameters:
    ///   - account: the account whose orders (and discovery sweeps) of `settings` are polled;
    ///     `source` must answer with that account's credentials.
    ///   - region: that account's region, stored with its orders and carried in their events.
    ///   - route: the sinks an event goes to (the store writes one pending delivery per sink).
    ///   - onCommit: called after each commit that stored events, with the events as stored.
    ///   - onHeartbeat: called by the loop itself at least every `heartbeatInterval` (the watchdog).
    ///   - onStatus: called when the number of watched or failing orders changes.
    public init(store: StateStore, source: any OrderSource, settings: Settings,
                account: String = AccountSettings.defaultName, region: String? = nil,
                route: @escaping @Sendable (Event) -> [String], logger: Logger,
                onCommit: @escaping @Sendable ([Event]) -> Void,
                onHeartbeat: @escaping @Sendable () -> Void = {},
                onStatus: @escaping @Sendable (PollerStatus) -> Void = { _ in },
                heartbeatInterval: Duration = .seconds(5)) {
        self.store = store
        self.source = source
        self.account = account
        self.region = region
        let settings = Self.scope(settings, to: account)
        self.settings = settings
        self.route = route
        self.logger = logger
        self.onCommit = onCommit
        self.onHeartbeat = onHeartbeat
        self.onStatus = onStatus
        self.heartbeatInterval = heartbeatInterval
        self.schedule = PollSchedule(mode: .continuous, poll: settings.poll, discover: settings.discover,
                                     heartbeat: heartbeatInterval, stallDetection: !settings.stall.isEmpty)
    }

    // MARK: Public API

    /// The current counts and rate.
    public func status() -> PollerStatus {
        PollerStatus(watching: schedule.watching, failing: schedule.failing,
                     lastLoopAt: lastLoopAt, effectiveRate: schedule.effectiveRate)
    }

    /// Puts the configured orders in the store's watch set and plans the first polls, so the
    /// caller can report readiness (READY=1) with the counts; ``run()`` then starts polling
    /// without loading again. Calling it is optional: ``run()`` loads when it was not called.
    ///
    /// - Throws: a store error.
    public func loadSchedule() async throws -> PollerStatus {
        try await syncConfigOrders()
        let orders = try await store.activeSchedule(account: account)
        schedule.load(orders, now: .now)
        forgetUnwatchedAnswers(orders)
        scheduleLoaded = true
        logger.info("watch set loaded", metadata: ["orders": "\(orders.count)"])
        reportStatusIfChanged()
        return status()
    }

    /// Polls until the calling task is cancelled, then returns promptly: no new polls start,
    /// fetches in flight are abandoned, and commits already under way complete.
    ///
    /// - Throws: a store error while loading the watch set at start.
    public func run() async throws {
        if !scheduleLoaded { _ = try await loadSchedule() }
        await drive()
        await flushPollTimes()
        logger.debug("poll loop stopped")
    }

    /// Discovers once and polls every active order once (respecting concurrency and rate), commits
    /// every result, and reports: the `once` command. Not meant to run alongside ``run()``.
    ///
    /// Terminal orders are included unless `terminal_interval = "off"` (which means: no longer polled).
    /// - Parameter progress: called with (orders done, orders in all) each time an order's poll
    ///   ends, answered or failed (a throttled poll is tried again, and counts when it ends).
    public func pollAllOnce(progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) async -> OnceReport {
        schedule = PollSchedule(mode: .once(throttleAttempts: Self.onceThrottleAttempts), poll: settings.poll,
                                discover: settings.discover, heartbeat: heartbeatInterval,
                                stallDetection: !settings.stall.isEmpty)
        onceReport = OnceReport()
        defer { onceReport = nil; onceProgress = nil }
        do {
            try await syncConfigOrders()
            let orders = try await store.activeSchedule(account: account)
            schedule.load(orders, now: .now)
            forgetUnwatchedAnswers(orders)
            if let progress {
                onceProgress = ([], orders.count, progress)
                progress(0, orders.count)
            }
        } catch {
            return OnceReport(failures: [PollFailure(orderId: nil, message: "state store: \(error)")])
        }
        await drive()
        // Cancelled before these could start: say so rather than report them as fine.
        onceReport?.failures += schedule.scheduledOrders.map { PollFailure(orderId: $0, message: "cancelled") }
        await flushPollTimes()
        reportStatusIfChanged()
        var report = onceReport ?? OnceReport()
        report.sortEvents()
        return report
    }

    /// Applies a new configuration: orders added start polling within a few seconds, removed ones
    /// stop (their history stays), poll and discovery settings take effect now.
    public func reload(_ newSettings: Settings) async {
        let newSettings = Self.scope(newSettings, to: account)
        settings = newSettings
        schedule.reload(poll: newSettings.poll, discover: newSettings.discover,
                        stallDetection: !newSettings.stall.isEmpty, now: .now)
        do {
            try await syncConfigOrders()
            try await refreshWatchSet()
        } catch {
            logger.error("reload: could not update the watch set", metadata: ["error": "\(error)"])
        }
        wake()
    }

    // MARK: Loop

    /// The one loop of `run` and `once`: asks the schedule what to start, starts it, sleeps
    /// until the schedule's wake-up or until a completion wakes it.
    private func drive() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                beat()
                let next = schedule.next(now: .now)
                if next.flushPollTimes { await flushPollTimes() }
                for work in next.work {
                    switch work {
                    case .poll(let orderId):
                        group.addTask { await self.poll(orderId) }
                    case .discover(let index, let generation):
                        guard let entry = settings.discover[safe: index] else { continue }
                        group.addTask { await self.discover(entry, index: index, generation: generation) }
                    case .checkStalls(let orderId):
                        group.addTask { await self.checkStalls(orderId) }
                    }
                }
                if next.finished { break }
                await sleep(until: next.wakeAt)
            }
        }
    }

    /// `settings` narrowed to `account`; an account the settings do not list keeps `[poll]` as is.
    private static func scope(_ settings: Settings, to account: String) -> Settings {
        settings.scoped(to: settings.account(named: account) ?? AccountSettings(name: account))
    }

    /// Makes the store's watch set of configured orders of this account the configured ones.
    private func syncConfigOrders() async throws {
        try await store.syncWatchSet(settings.orders.map { (id: $0.id, label: $0.label) }, source: .config,
                                     account: account, region: region)
    }

    private func beat() {
        lastLoopAt = Date()
        onHeartbeat()
    }

    /// Re-reads the active watch set after a reload or a discovery sweep and hands it to the schedule.
    func refreshWatchSet() async throws {
        let orders = try await store.activeSchedule(account: account)
        schedule.refresh(orders, now: .now)
        forgetUnwatchedAnswers(orders)
        reportStatusIfChanged()
    }

    private func forgetUnwatchedAnswers(_ orders: [ScheduleEntry]) {
        let active = Set(orders.map(\.orderId))
        settledAnswers = settledAnswers.filter { active.contains($0.key) }
    }

    /// Writes the poll times the store holds; on failure they stay held and are tried again.
    private func flushPollTimes() async {
        do {
            try await store.flushPollTimes()
        } catch {
            schedule.pollTimesFlushFailed(now: .now)
            logger.warning("could not write poll times; retrying", metadata: ["error": "\(error)"])
        }
    }

    private func sleep(until deadline: ContinuousClock.Instant) async {
        await alarm.sleep(until: deadline)
    }

    /// Ends the loop's current sleep so it re-evaluates the schedule now.
    func wake() {
        alarm.ring()
    }

    /// Carries out a completion action of the schedule.
    func apply(_ action: PollSchedule.CompletionAction, failure: @autoclosure () -> PollFailure) {
        switch action {
        case .none:
            break
        case .wakeLoop:
            wake()
        case .gaveUp:
            onceReport?.failures.append(failure())
            wake()
        }
    }

    // MARK: Polling

    /// One poll: the GetOrder call, its record, and the schedule told how it ended.
    private func poll(_ orderId: String) async {
        let result = await Self.fetch(orderId, from: source, pacer: RetryPacing(poller: self))
        let completion: PollSchedule.PollCompletion
        switch result {
        case nil:
            completion = .cancelled
        case .throttled?:
            logger.notice("throttled by the API; slowing down", metadata: ["order_id": "\(orderId)"])
            completion = .throttled
        case let result?:
            completion = await record(orderId, result)
        }
        let action = schedule.pollCompleted(orderId, completion, now: .now)
        reportStatusIfChanged()
        var ended = completion != .throttled
        if case .gaveUp = action { ended = true }
        if var progress = onceProgress, ended {
            progress.done.insert(orderId)
            // Orders [[discover]] found during the run count too.
            progress.total = max(progress.total, progress.done.count + schedule.scheduledOrders.count)
            onceProgress = progress
            progress.report(progress.done.count, progress.total)
        }
        apply(action, failure: PollFailure(
            orderId: orderId, message: "throttled by the API \(Self.onceThrottleAttempts) times"))
    }

    /// The client is about to retry a call: a throttled answer slows the schedule down, and the
    /// retry waits for a token like every other call (docs/service.md, throttling).
    func paceRetry(after error: OutpostsError) async {
        if error.kind == .throttling { schedule.throttled(now: .now) }
        while !Task.isCancelled, let at = schedule.acquireRetryToken(now: .now) {
            try? await LoopSleep.sleep(until: at)
        }
    }

    func reportStatusIfChanged() {
        let current = status()
        if let last = reportedCounts, last.watching == current.watching, last.failing == current.failing { return }
        reportedCounts = (current.watching, current.failing)
        onStatus(current)
    }

    /// One GetOrder call as a ``PollResult``; `nil` when cancelled. The client's retries wait on `pacer`.
    static func fetch(_ orderId: String, from source: any OrderSource, pacer: (any RetryPacer)?) async -> PollResult? {
        let answer = await OutpostsClient.$retryPacer.withValue(pacer) {
            await abandoningOnCancel({ try await source.getOrder(orderId) })
        }
        switch answer {
        case nil: return nil
        case .success(let order): return .order(order)
        case .failure(let error): return PollResult.from(error)
        }
    }
}

/// Hands the client's retries to the poller's schedule (see ``Poller/paceRetry(after:)``).
struct RetryPacing: RetryPacer {
    let poller: Poller

    func beforeRetry(after error: OutpostsError) async {
        await poller.paceRetry(after: error)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}
