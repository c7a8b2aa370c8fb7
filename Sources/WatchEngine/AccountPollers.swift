import Foundation
import Logging
import WatchConfig
import WatchModel
import WatchStore

/// One ``Poller`` per configured account (docs/configuration.md, "Accounts and regions"), run
/// side by side on one store: each has its own source (credentials, region, endpoint), its own
/// rate limit, concurrency and throttling back-off, so a throttling storm or bad credentials in
/// one account slow or fail only that account's orders.
///
/// `run` (the daemon) and `once` use this as they would one poller; the counts it reports (the
/// systemd `STATUS=` line) are summed over the accounts. A reload adds, replaces (when its table
/// changed: new credentials or region take effect without a restart) and removes accounts; a
/// removed account's orders stop being watched, their history stays.
public actor AccountPollers {
    /// What an account's orders are polled through.
    public struct Source: Sendable {
        public var source: any OrderSource
        /// The account's resolved region, stored with its orders and carried in their events.
        public var region: String?

        public init(source: any OrderSource, region: String?) {
            self.source = source
            self.region = region
        }
    }

    /// Builds an account's source under the given configuration; a thrown error is a
    /// configuration error of that account.
    public typealias SourceFactory = @Sendable (AccountSettings, Settings) throws -> Source

    private struct Member {
        var account: AccountSettings
        var poller: Poller
        /// The poller's `run()` while the daemon runs.
        var task: Task<Void, Never>?
    }

    private let store: StateStore
    private let makeSource: SourceFactory
    private let route: @Sendable (Event) -> [String]
    private let logger: Logger
    private let onCommit: @Sendable ([Event]) -> Void
    private let board: AccountStatusBoard
    private let heartbeatInterval: Duration
    private var settings: Settings
    /// In the order of ``Settings/accounts``.
    private var members: [Member] = []
    private var loaded = false
    /// Set while ``run()`` runs: pollers added by a reload start at once.
    private var running = false

    /// Builds every account's source and poller; the parameters are ``Poller``'s, shared by all.
    ///
    /// - Throws: the first account whose source cannot be built (e.g. no region).
    public init(store: StateStore, settings: Settings, makeSource: @escaping SourceFactory,
                route: @escaping @Sendable (Event) -> [String], logger: Logger,
                onCommit: @escaping @Sendable ([Event]) -> Void,
                onHeartbeat: @escaping @Sendable () -> Void = {},
                onStatus: @escaping @Sendable (PollerStatus) -> Void = { _ in },
                heartbeatInterval: Duration = .seconds(5)) throws {
        self.store = store
        self.settings = settings
        self.makeSource = makeSource
        self.route = route
        self.logger = logger
        self.onCommit = onCommit
        self.heartbeatInterval = heartbeatInterval
        self.board = AccountStatusBoard(onHeartbeat: onHeartbeat, onStatus: onStatus,
                                        stallAfter: heartbeatInterval * 3)
        for account in settings.accounts {
            members.append(Member(account: account, poller: try Self.makePoller(
                account, source: makeSource(account, settings), store: store, settings: settings, route: route,
                logger: logger, onCommit: onCommit, board: board, heartbeatInterval: heartbeatInterval)))
        }
    }

    private static func makePoller(_ account: AccountSettings, source: Source, store: StateStore, settings: Settings,
                                   route: @escaping @Sendable (Event) -> [String], logger: Logger,
                                   onCommit: @escaping @Sendable ([Event]) -> Void, board: AccountStatusBoard,
                                   heartbeatInterval: Duration) -> Poller {
        var logger = logger
        logger[metadataKey: "account"] = "\(account.name)"
        let name = account.name
        board.add(name)
        return Poller(store: store, source: source.source, settings: settings, account: name, region: source.region,
                      route: route, logger: logger, onCommit: onCommit,
                      onHeartbeat: { board.beat(name) },
                      onStatus: { board.update(name, $0) },
                      heartbeatInterval: heartbeatInterval)
    }

    private func makePoller(_ account: AccountSettings, source: Source) -> Poller {
        Self.makePoller(account, source: source, store: store, settings: settings, route: route, logger: logger,
                        onCommit: onCommit, board: board, heartbeatInterval: heartbeatInterval)
    }

    // MARK: Public API

    /// The names of the accounts polled, in configuration order.
    public var accountNames: [String] { members.map(\.account.name) }

    /// The counts and rates summed over the accounts, with the oldest loop time of them (so a
    /// stuck loop shows).
    public func status() async -> PollerStatus {
        let statuses = await statusByAccount()
        return PollerStatus(watching: statuses.reduce(0) { $0 + $1.status.watching },
                            failing: statuses.reduce(0) { $0 + $1.status.failing },
                            lastLoopAt: statuses.map(\.status.lastLoopAt).min() ?? Date(),
                            effectiveRate: statuses.reduce(0) { $0 + $1.status.effectiveRate })
    }

    /// Each account's counts, in configuration order.
    public func statusByAccount() async -> [(account: String, status: PollerStatus)] {
        var statuses: [(account: String, status: PollerStatus)] = []
        for member in members {
            statuses.append((member.account.name, await member.poller.status()))
        }
        return statuses
    }

    /// Stops watching the orders of accounts no longer configured, then loads every account's
    /// schedule (``Poller/loadSchedule()``), so the caller can report readiness with the counts.
    public func loadSchedule() async throws -> PollerStatus {
        try await store.deactivateAccounts(notIn: members.map(\.account.name))
        for member in members {
            _ = try await member.poller.loadSchedule()
        }
        loaded = true
        return await status()
    }

    /// Runs every account's poll loop until the calling task is cancelled (see ``Poller/run()``).
    public func run() async throws {
        if !loaded { _ = try await loadSchedule() }
        running = true
        for index in members.indices { start(index) }
        // Until cancelled (a stream's iteration ends when its task is cancelled): the loops
        // themselves come and go with reloads.
        let (cancelled, continuation) = AsyncStream<Void>.makeStream()
        for await _ in cancelled {}
        continuation.finish()
        await stopAll()
    }

    /// Every account's orders polled once, concurrently (see ``Poller/pollAllOnce(progress:)``),
    /// as one report.
    public func pollAllOnce(progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) async -> OnceReport {
        do {
            try await store.deactivateAccounts(notIn: members.map(\.account.name))
        } catch {
            return OnceReport(failures: [PollFailure(orderId: nil, message: "state store: \(error)")])
        }
        let tally = OnceProgressTally(report: progress)
        let pollers = members.map(\.poller)
        let reports = await Self.pollOnce(pollers, tally: progress == nil ? nil : tally)
        var merged = OnceReport(events: reports.flatMap { $0.events }, failures: reports.flatMap { $0.failures })
        merged.sortEvents()
        return merged
    }

    private static func pollOnce(_ pollers: [Poller], tally: OnceProgressTally?) async -> [OnceReport] {
        await withTaskGroup(of: OnceReport.self, returning: [OnceReport].self) { group in
            for poller in pollers {
                let name = poller.account
                var report: (@Sendable (Int, Int) -> Void)?
                if let tally {
                    report = { done, total in tally.update(name, done: done, total: total) }
                }
                let progress = report
                group.addTask { await poller.pollAllOnce(progress: progress) }
            }
            var all: [OnceReport] = []
            for await report in group { all.append(report) }
            return all
        }
    }

    /// Applies a new configuration: accounts added start, accounts whose table changed are
    /// rebuilt (new credentials, region or endpoint take effect now), removed ones stop and
    /// their orders with them (history kept); every other account reloads its orders and
    /// settings (``Poller/reload(_:)``). An account whose source cannot be built keeps running
    /// as before (a changed one) or does not start (a new one); the error is logged.
    public func reload(_ newSettings: Settings) async {
        settings = newSettings
        var next: [Member] = []
        var retired: [Member] = []
        for account in newSettings.accounts {
            let current = members.first { $0.account.name == account.name }
            if let current, current.account == account {
                await current.poller.reload(newSettings)
                next.append(current)
                continue
            }
            let source: Source
            do {
                source = try makeSource(account, newSettings)
            } catch {
                logger.error("reload: account \(account.name) cannot be used; \(current == nil ? "not started" : "keeping its previous settings")",
                             metadata: ["account": "\(account.name)", "error": "\(error)"])
                if let current {
                    await current.poller.reload(newSettings)
                    next.append(current)
                }
                continue
            }
            if let current { retired.append(current) }
            next.append(Member(account: account, poller: makePoller(account, source: source)))
        }
        let kept = Set(next.map(\.account.name))
        retired += members.filter { !kept.contains($0.account.name) }
        for member in retired {
            await stop(member)
            if !kept.contains(member.account.name) {
                board.remove(member.account.name)
                logger.info("account removed; its orders are no longer polled", metadata: ["account": "\(member.account.name)"])
            }
        }
        members = next
        do {
            try await store.deactivateAccounts(notIn: members.map(\.account.name))
        } catch {
            logger.error("reload: could not stop the orders of removed accounts", metadata: ["error": "\(error)"])
        }
        for index in members.indices where members[index].task == nil {
            do {
                _ = try await members[index].poller.loadSchedule()
            } catch {
                logger.error("reload: could not load the watch set", metadata: [
                    "account": "\(members[index].account.name)", "error": "\(error)"])
            }
            if running { start(index) }
        }
    }

    // MARK: Loops

    private func start(_ index: Int) {
        guard members[index].task == nil else { return }
        let poller = members[index].poller
        let name = members[index].account.name
        let logger = self.logger
        members[index].task = Task {
            do {
                try await poller.run()
            } catch {
                logger.error("the poll loop of an account stopped", metadata: ["account": "\(name)", "error": "\(error)"])
            }
        }
    }

    private func stop(_ member: Member) async {
        guard let task = member.task else { return }
        task.cancel()
        await task.value
    }

    private func stopAll() async {
        running = false
        let tasks = members.compactMap(\.task)
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}
