import WatchConfig
import WatchStore

/// Every decision of the poll loop, as a pure state machine: which orders are due, how many
/// calls may be in flight, when the rate limiter grants the next call, what a throttled answer
/// does, when an order is polled again, when discovery sweeps run, when the loop must wake.
///
/// No clock, no I/O, no tasks: the caller passes `now` and carries out what comes back (start a
/// poll, sleep until an instant, write held poll times). ``Poller`` drives it for the daemon
/// (`run`) and for `outpostwatch once` alike, so both follow the same rules; the unit tests drive
/// it with made-up instants. The rules are those of docs/configuration.md (`[poll]`,
/// `[[discover]]`) and docs/service.md (throttling).
package struct PollSchedule: Sendable {
    /// `continuous`: the daemon, every order polled again and again. `once`: every pollable
    /// order polled one time (throttled answers retried up to `throttleAttempts` times), every
    /// discovery sweep run one time, then ``next(now:)`` says `finished`.
    package enum Mode: Sendable, Equatable {
        case continuous
        case once(throttleAttempts: Int)
    }

    /// Something to start now.
    package enum Work: Sendable, Hashable {
        /// One GetOrder call for this order.
        case poll(String)
        /// One ListOrders sweep of `[[discover]]` entry `index`; `generation` identifies the
        /// discovery list it belongs to (a reload that replaces the list starts a new one).
        case discover(index: Int, generation: Int)
        /// Look for stays past their `[stall]` threshold (no API call, no token); report back
        /// with ``stallsChecked(_:next:now:)``.
        case checkStalls(String)
    }

    /// What the loop does now, then when it looks again.
    package struct Next: Sendable, Equatable {
        /// Start these (the rate limiter's tokens are already taken).
        package var work: [Work]
        /// Write the poll times the store holds in memory (``Poller/pollTimeFlushInterval``).
        package var flushPollTimes: Bool
        /// Sleep until this instant unless woken earlier.
        package var wakeAt: ContinuousClock.Instant
        /// `once` mode only: nothing is due, in flight or left to retry.
        package var finished: Bool
    }

    /// How a poll ended, as far as scheduling is concerned.
    package enum PollCompletion: Sendable, Equatable {
        /// The answer (or failure) was committed. `terminal`: the stored order is now terminal
        /// (`nil`: unknown, keep what was known). `failing`: `watch.failing` is in force.
        /// `heldPollTimes`: the store now holds this poll's time in memory. `answered`: the API
        /// answered (an order or NotFound), which lets a throttled limiter recover. `changed`:
        /// events were committed (a status may have changed: stalls are looked at again).
        case recorded(terminal: Bool?, failing: Bool, heldPollTimes: Bool, answered: Bool, changed: Bool = false)
        /// The API answered with throttling: not the order's fault, polled again soon.
        case throttled
        /// The commit failed: polled again after ``storeErrorRetry`` (or the interval, if shorter).
        case storeError
        /// The order left the watch set while it was polled.
        case unwatched
        /// Shutting down: nothing happened.
        case cancelled
    }

    /// What the loop must do after a completion.
    package enum CompletionAction: Sendable, Equatable {
        case none
        /// The completion changed what the sleeping loop waits for: wake it.
        case wakeLoop
        /// `once` mode: the API throttled this work too many times; report it as failed.
        case gaveUp(attempts: Int)
    }

    /// A poll whose commit failed is retried after at most this long.
    package static let storeErrorRetry: Duration = .seconds(30)
    /// How long unchanged polls' times may wait in memory before they are written.
    package static let pollTimeFlushInterval: Duration = .seconds(2)
    /// Polls due within this window (at most 1 % of the interval) start together, so steady
    /// polling wakes the loop once per batch rather than once per poll.
    package static let batchWindow: Duration = .milliseconds(250)

    package let mode: Mode
    private var poll: PollSettings
    private var discover: [DiscoverSettings]
    private let heartbeat: Duration
    private var limiter: AdaptiveRateLimiter
    private var random: SplitMix64

    /// What the schedule knows about one active watched order.
    private struct Tracked: Sendable {
        var failing: Bool
        var terminal: Bool
    }

    private var tracked: [String: Tracked] = [:]
    /// How many of `tracked` are failing, kept as they change: the status is read after every
    /// poll, and counting 10 000 entries each time was a measurable share of a poll's CPU.
    private var failingCount = 0
    /// Next poll of each scheduled order; an active order absent here and not busy is not polled
    /// (terminal with `terminal_interval = "off"`, or already polled in `once` mode).
    private var due = DueSchedule()
    /// Orders with a poll (fetch and commit) in progress.
    private var busy: Set<String> = []
    private var discoverDue: [Int: ContinuousClock.Instant] = [:]
    private var discovering: Set<Int> = []
    private var discoverGeneration = 0
    /// Throttled answers so far per work item (`once` mode gives up after `throttleAttempts`).
    private var throttleCounts: [Work: Int] = [:]
    /// Whether `[stall]` thresholds are configured: stays are checked at start, after every
    /// change and when a threshold passes.
    private var stallDetection: Bool
    /// When each order's next stay passes its threshold (or a check is due now).
    private var stallDue = DueSchedule()
    /// Orders whose stall check is under way.
    private var checkingStalls: Set<String> = []
    /// Since when the store holds poll times in memory; `nil` when it holds none.
    private var pollTimesHeldSince: ContinuousClock.Instant?
    /// When the loop, asleep, looks at the schedule again.
    private var plannedWake: ContinuousClock.Instant?

    /// - Parameters:
    ///   - heartbeat: the loop wakes at least this often (the watchdog and `/healthz` beat on it).
    ///   - seed: the jitter's random sequence (tests fix it; the daemon takes a random one).
    package init(mode: Mode, poll: PollSettings, discover: [DiscoverSettings], heartbeat: Duration = .seconds(5),
                stallDetection: Bool = false, seed: UInt64 = UInt64.random(in: .min ... .max)) {
        self.mode = mode
        self.stallDetection = stallDetection
        self.poll = poll
        self.discover = discover
        self.heartbeat = heartbeat
        self.limiter = AdaptiveRateLimiter(maxRate: poll.maxRPS)
        self.random = SplitMix64(seed: seed)
    }

    // MARK: Reading

    /// Active watched orders.
    package var watching: Int { tracked.count }
    /// Active watched orders whose polls are failing.
    package var failing: Int { failingCount }
    /// API calls per second allowed now.
    package var effectiveRate: Double { limiter.rate }
    /// Polls in flight.
    package var inFlight: Int { busy.count }
    /// The orders scheduled and not started (sorted): what a cancelled `once` did not poll.
    package var scheduledOrders: [String] { due.ids.sorted() }
    /// When `orderId` is due next, if it is scheduled.
    package func dueAt(_ orderId: String) -> ContinuousClock.Instant? { due[orderId] }

    // MARK: Events

    /// The watch set at start: `continuous` spreads the first polls over
    /// ``PollTiming/startupWindow``, the longest unpolled first; `once` makes them all due now.
    /// Every discovery sweep is due now.
    package mutating func load(_ orders: [ScheduleEntry], now: ContinuousClock.Instant) {
        track(orders)
        due.removeAll()
        let pollable = orders.filter { interval(terminal: $0.isTerminal) != nil }
        switch mode {
        case .continuous:
            let ordered = pollable.sorted {
                ($0.lastPollAt ?? .distantPast, $0.orderId) < ($1.lastPollAt ?? .distantPast, $1.orderId)
            }
            let offsets = PollTiming.startupOffsets(count: ordered.count, interval: poll.interval)
            for (order, offset) in zip(ordered, offsets) { due[order.orderId] = now + offset }
        case .once:
            for order in pollable { due[order.orderId] = now }
        }
        discoverDue = [:]
        discovering = []
        for index in discover.indices { discoverDue[index] = now }
        stallDue.removeAll()
        if stallDetection { for order in orders { stallDue[order.orderId] = now } }
    }

    /// The active watch set after a reload or a discovery sweep: new orders start within
    /// ``PollTiming/addedWindow`` (`once`: now), removed ones stop, shrunk intervals apply now.
    package mutating func refresh(_ orders: [ScheduleEntry], now: ContinuousClock.Instant) {
        let known = tracked
        track(orders)
        for orderId in Array(due.ids) where tracked[orderId] == nil { due[orderId] = nil }
        for orderId in Array(stallDue.ids) where tracked[orderId] == nil { stallDue[orderId] = nil }
        var added: [String] = []
        for order in orders where !busy.contains(order.orderId) {
            guard let interval = interval(terminal: order.isTerminal) else {
                due[order.orderId] = nil
                continue
            }
            if let current = due[order.orderId] {
                due[order.orderId] = min(current, now + interval)
            } else if mode == .continuous || known[order.orderId] == nil {
                // `once`: an order without a due time was polled already, unless it is new.
                added.append(order.orderId)
            }
        }
        switch mode {
        case .continuous:
            let offsets = PollTiming.startupOffsets(count: added.count, interval: poll.interval,
                                                    window: PollTiming.addedWindow)
            for (orderId, offset) in zip(added, offsets) { due[orderId] = now + offset }
        case .once:
            for orderId in added { due[orderId] = now }
        }
    }

    /// A reload: the new `[poll]` applies now (a limiter backing off stays slowed), a changed
    /// `[[discover]]` list starts over with every sweep due now. Call ``refresh(_:now:)`` next.
    package mutating func reload(poll: PollSettings, discover: [DiscoverSettings], stallDetection: Bool = false,
                                 now: ContinuousClock.Instant) {
        self.poll = poll
        // New thresholds apply to every order now; none: no more checks.
        self.stallDetection = stallDetection
        stallDue.removeAll()
        if stallDetection { for orderId in tracked.keys { stallDue[orderId] = now } }
        limiter.updateMaxRate(poll.maxRPS)
        if discover != self.discover {
            self.discover = discover
            discoverGeneration += 1
            discoverDue = [:]
            discovering = []
            for index in discover.indices { discoverDue[index] = now }
        }
    }

    /// What to start now and when to look again. Work is handed out as far as the concurrency
    /// bound and the rate limiter allow; each item has taken its token.
    package mutating func next(now: ContinuousClock.Instant) -> Next {
        var work: [Work] = []
        var flush = false
        if let held = pollTimesHeldSince, now - held >= Self.pollTimeFlushInterval {
            flush = true
            pollTimesHeldSince = nil
        }
        for (index, at) in discoverDue.sorted(by: { $0.key < $1.key }) where at <= now {
            guard limiter.tryAcquire(now: now) else { break }
            discoverDue[index] = nil
            discovering.insert(index)
            work.append(.discover(index: index, generation: discoverGeneration))
        }
        // Polls due a little later start with these (a poll a fraction of a second early changes nothing).
        let horizon = now + min(poll.interval / 100, Self.batchWindow)
        while busy.count < concurrency, let (orderId, at) = due.earliest(), at <= horizon {
            guard limiter.tryAcquire(now: now) else { break }
            due[orderId] = nil
            busy.insert(orderId)
            work.append(.poll(orderId))
        }
        while let (orderId, at) = stallDue.earliest(), at <= now {
            stallDue[orderId] = nil
            checkingStalls.insert(orderId)
            work.append(.checkStalls(orderId))
        }
        let finished: Bool
        if case .once = mode {
            finished = work.isEmpty && due.count == 0 && busy.isEmpty && discoverDue.isEmpty && discovering.isEmpty
                && checkingStalls.isEmpty && !stallDue.hasDue(by: now)
        } else {
            finished = false
        }
        let wake = wakeInstant(now: now)
        plannedWake = wake
        return Next(work: work, flushPollTimes: flush, wakeAt: wake, finished: finished)
    }

    /// A poll finished and its result was recorded (or not); decides when the order is polled
    /// again and whether the sleeping loop must wake.
    package mutating func pollCompleted(_ orderId: String, _ completion: PollCompletion,
                                       now: ContinuousClock.Instant) -> CompletionAction {
        // The loop sleeps through completions unless one changes what it waits for: a free slot
        // it had none of, a retry earlier than its wake-up, poll times to flush. Waking it after
        // every poll cost a round of thread hand-offs per poll.
        let slotFreed = busy.count >= concurrency
        let heldBefore = pollTimesHeldSince
        busy.remove(orderId)
        var action = CompletionAction.none
        switch completion {
        case .cancelled:
            return .none
        case .throttled:
            limiter.recordThrottle(now: now)
            if let gaveUp = countThrottle(.poll(orderId)) {
                action = gaveUp
            } else if tracked[orderId] != nil {
                // Again at the slowed-down pace; the limiter decides the actual instant.
                due[orderId] = limiter.nextAvailable(now: now)
            }
        case .recorded(let terminal, let failing, let heldPollTimes, let answered, let changed):
            if answered { limiter.recordSuccess() }
            if changed && stallDetection && tracked[orderId] != nil { stallDue[orderId] = now }
            if let known = tracked[orderId] {
                if known.failing != failing { failingCount += failing ? 1 : -1 }
                tracked[orderId]?.failing = failing
                if let terminal { tracked[orderId]?.terminal = terminal }
            }
            if heldPollTimes && pollTimesHeldSince == nil { pollTimesHeldSince = now }
            if mode == .continuous, let tracked = tracked[orderId], let interval = interval(terminal: tracked.terminal) {
                due[orderId] = now + PollTiming.jittered(interval, jitter: poll.jitter, using: &random)
            }
        case .storeError:
            if mode == .continuous, tracked[orderId] != nil {
                due[orderId] = now + min(poll.interval, Self.storeErrorRetry)
            }
        case .unwatched:
            due[orderId] = nil
        }
        if case .gaveUp = action { return action }
        let retriesEarly = due[orderId].map { at in plannedWake.map { at < $0 } ?? true } ?? false
        if slotFreed || retriesEarly || (heldBefore == nil && pollTimesHeldSince != nil) || isOnceAndIdle {
            return .wakeLoop
        }
        return .none
    }

    /// A discovery sweep finished: `throttled` retries it at the slowed pace (`once`: up to the
    /// attempt limit), anything else schedules the next sweep one `interval` later (`once`: none).
    package mutating func discoveryCompleted(index: Int, generation: Int, throttled: Bool,
                                            now: ContinuousClock.Instant) -> CompletionAction {
        if throttled { limiter.recordThrottle(now: now) } else { limiter.recordSuccess() }
        // A reload replaced the list while this sweep ran: its entry is gone or restarted.
        guard generation == discoverGeneration, discover.indices.contains(index) else { return .none }
        discovering.remove(index)
        if throttled {
            if let gaveUp = countThrottle(.discover(index: index, generation: generation)) { return gaveUp }
            discoverDue[index] = limiter.nextAvailable(now: now)
        } else if mode == .continuous {
            discoverDue[index] = now + discover[index].interval
        }
        return .wakeLoop
    }

    /// A stall check finished: `next` is when the order's next unreported stay passes its
    /// threshold (`nil`: none will until its status changes).
    package mutating func stallsChecked(_ orderId: String, next: ContinuousClock.Instant?,
                                        now: ContinuousClock.Instant) -> CompletionAction {
        checkingStalls.remove(orderId)
        guard tracked[orderId] != nil, stallDetection, stallDue[orderId] == nil else { return isOnceAndIdle ? .wakeLoop : .none }
        stallDue[orderId] = next
        let early = next.map { at in plannedWake.map { at < $0 } ?? true } ?? false
        return early || isOnceAndIdle ? .wakeLoop : .none
    }

    /// The API throttled a call that the client then retries: slow down (the retry itself waits
    /// for a token through ``acquireRetryToken(now:)``).
    package mutating func throttled(now: ContinuousClock.Instant) {
        limiter.recordThrottle(now: now)
    }

    /// A token for a client-side retry, which counts against the same ceiling as every call:
    /// `nil` when granted, else the instant to ask again.
    package mutating func acquireRetryToken(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        limiter.tryAcquire(now: now) ? nil : limiter.nextAvailable(now: now)
    }

    /// Held poll times could not be written: try again one flush interval later.
    package mutating func pollTimesFlushFailed(now: ContinuousClock.Instant) {
        pollTimesHeldSince = now
    }

    // MARK: Rules

    private var concurrency: Int { max(1, poll.concurrency) }

    private var isOnceAndIdle: Bool {
        if case .once = mode { return busy.isEmpty && due.count == 0 && checkingStalls.isEmpty }
        return false
    }

    private func interval(terminal: Bool) -> Duration? {
        PollTiming.interval(terminal: terminal, poll: poll)
    }

    private mutating func track(_ orders: [ScheduleEntry]) {
        tracked = Dictionary(orders.map { ($0.orderId, Tracked(failing: $0.failing, terminal: $0.isTerminal)) },
                             uniquingKeysWith: { _, last in last })
        failingCount = tracked.values.reduce(0) { $0 + ($1.failing ? 1 : 0) }
    }

    /// `once` mode: counts a throttled answer and gives up at the limit.
    private mutating func countThrottle(_ work: Work) -> CompletionAction? {
        guard case .once(let attempts) = mode else { return nil }
        throttleCounts[work, default: 0] += 1
        let count = throttleCounts[work, default: 0]
        return count >= attempts ? .gaveUp(attempts: count) : nil
    }

    /// The next due work (not before the limiter allows it), held poll times' flush, and never
    /// later than the next heartbeat.
    private mutating func wakeInstant(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        var candidates = Array(discoverDue.values)
        if busy.count < concurrency, let (_, at) = due.earliest() { candidates.append(at) }
        var wake = now + heartbeat
        if let soonest = candidates.min() { wake = min(wake, max(soonest, limiter.nextAvailable(now: now))) }
        if let (_, stall) = stallDue.earliest() { wake = min(wake, max(stall, now)) }
        if let held = pollTimesHeldSince { wake = min(wake, held + Self.pollTimeFlushInterval) }
        return wake
    }
}
