import Foundation
import WatchStore

/// Every decision of one sink's delivery worker, as a pure state machine: what to read from the
/// outbox, which attempts to start within the sink's concurrency, when to sleep and for how
/// long, what an attempt's outcome does to its row (retry with backoff, `Retry-After`, `max_age`,
/// a permanent failure, a 410 that fails the sink's whole queue), when a receiver that answers
/// again gets its backed-off deliveries now, and how to back off when the store cannot be read or
/// written (docs/delivery.md).
///
/// No clock, no I/O, no tasks: the worker passes the time and carries out the returned actions.
/// The daemon's worker (`continuous`), `once` and the tests' drain (`drain`) and `redeliver`
/// (`drain` of given rows) all drive this same machine, so a 410 or a permanent error means one
/// thing everywhere.
package struct DeliveryStateMachine: Sendable {
    package enum Mode: Sendable, Equatable {
        /// The daemon: deliver until stopped, sleeping until the next row is due or a commit wakes it.
        case continuous
        /// Send every row due now, each at most once, then finish.
        case drain
        /// Send exactly these rows (`redeliver`), then finish.
        case rows([Delivery])
    }

    /// What the worker does next.
    package enum Action: Sendable, Equatable {
        /// Read up to `limit` due rows of the sink; answer with ``fetched(_:)`` or ``storeReadFailed()``.
        case fetchDue(limit: Int)
        /// Start these attempts (each reports back through ``attemptFinished(_:outcome:at:cancelled:)``).
        case send([Delivery])
        /// Start one call per group (a ``Grouping`` sink); every row of a group reports back
        /// through ``attemptFinished(_:outcome:at:cancelled:)``.
        case sendBatches([[Delivery]])
        /// Ask the store when the sink's next pending row is due; answer with ``nextDue(_:now:)``.
        case queryNextDue
        /// Arm the timer: wake on a commit, a re-arm or after `timeout` (`nil`: no timeout), then
        /// call ``woken()``.
        case sleep(timeout: Duration?)
        /// Wait for an attempt in flight or the armed timer.
        case wait
        /// Nothing left to do (`drain` and `rows` only).
        case finished
    }

    /// What to write for a finished attempt.
    package enum Record: Sendable, Equatable {
        /// The attempt was cut short by shutdown or reload: it says nothing about the receiver.
        case ignore
        /// Store `result` for the row; when `failSink` is set the receiver is gone (410): fail
        /// every pending row of the sink with that error too.
        case write(AttemptResult, failSink: String?)
    }

    /// What to do once an attempt's record was written (or not).
    package struct FollowUp: Sendable, Equatable {
        /// Re-arm the timer (a retry may now be due before the instant it sleeps until).
        package var rearm = false
        /// The receiver answers again after failures: make its backed-off rows due now and
        /// answer with ``expedited(_:)``.
        package var expedite = false
        /// The record could not be written: pause this long before reading the outbox again.
        package var pause: Duration?

        package init(rearm: Bool = false, expedite: Bool = false, pause: Duration? = nil) {
            self.rearm = rearm
            self.expedite = expedite
            self.pause = pause
        }
    }

    /// The least time between two expedites of one sink's backed-off deliveries, so a flapping
    /// receiver does not defeat the backoff.
    package static let expediteHoldOff: Duration = .seconds(30)
    /// Rows a `drain` reads per query beyond those it has attempted.
    package static let drainBatch = 100

    /// How a sink that takes several events per call (``BatchEventSink``) groups rows: at most
    /// `maxEntries` rows and `maxBytes` (by `size`) per call; a row larger than `maxBytes` goes alone.
    package struct Grouping: Sendable {
        package var maxEntries: Int
        package var maxBytes: Int
        package var size: @Sendable (Delivery) -> Int

        package init(maxEntries: Int, maxBytes: Int, size: @escaping @Sendable (Delivery) -> Int) {
            self.maxEntries = max(1, maxEntries)
            self.maxBytes = maxBytes
            self.size = size
        }
    }

    package let mode: Mode
    /// Calls in flight at most (one row per call without a ``Grouping``).
    package let limit: Int
    private let grouping: Grouping?
    package let maxAge: Duration
    private let policy: RetryPolicy
    /// Rows read per query beyond those in flight.
    private let batch: Int

    private var inFlight = Set<Int64>()
    /// With a grouping: the call each row in flight belongs to, and the rows each call still waits for.
    private var callOf: [Int64: Int] = [:]
    private var openCalls: [Int: Int] = [:]
    private var nextCall = 0
    /// Due rows read and not started yet: one query feeds many attempts.
    private var queue: [Delivery] = []
    /// `drain`: every row started, so none is sent twice.
    private var attempted = Set<Int64>()
    /// Attempts under way when the receiver answered 410: they must not bring their rows back to
    /// pending after the sink's queue was failed.
    private var startedBeforeGone = Set<Int64>()
    private var gone = false
    private var timerArmed = false
    /// The armed timer has no deadline only because the due rows were in flight: the next
    /// completion must re-arm it, or a later retry time would never be waited for.
    private var timerAwaitsCompletion = false
    private var readFailures = 0
    private var recordFailures = 0
    /// An attempt failed since the receiver last took one: its next success means it is back.
    private var failedSinceLastSuccess = false
    private var lastExpedite: ContinuousClock.Instant?
    /// `drain`/`rows`: the outbox could not be read; finish.
    private var readFailed = false

    package init(mode: Mode, limit: Int, maxAge: Duration, policy: RetryPolicy = .standard, grouping: Grouping? = nil) {
        self.mode = mode
        self.limit = max(1, limit)
        self.maxAge = maxAge
        self.policy = policy
        self.grouping = grouping
        self.batch = max(self.limit * 4 * (grouping?.maxEntries ?? 1), 16)
        if case .rows(let rows) = mode { queue = rows }
    }

    /// Attempts (rows) in flight.
    package var inFlightCount: Int { inFlight.count }

    /// Calls in flight: what ``limit`` bounds.
    package var callsInFlight: Int { grouping == nil ? inFlight.count : openCalls.count }

    // MARK: Events

    /// The worker's loop comes round: what to do now.
    package mutating func next() -> Action {
        if callsInFlight >= limit { return .wait }
        if !queue.isEmpty { return start() }
        switch mode {
        case .continuous:
            // Asking for the rows in flight plus a batch guarantees a full batch of new ones
            // whenever that many are due (the in-flight ones are among the oldest).
            return .fetchDue(limit: inFlight.count + batch)
        case .drain:
            if gone || readFailed { return inFlight.isEmpty ? .finished : .wait }
            return inFlight.isEmpty ? .fetchDue(limit: attempted.count + Self.drainBatch) : .wait
        case .rows:
            return inFlight.isEmpty ? .finished : .wait
        }
    }

    /// The due rows read from the outbox.
    package mutating func fetched(_ rows: [Delivery]) -> Action {
        readFailures = 0
        queue = rows.filter { !inFlight.contains($0.id) && !attempted.contains($0.id) }
        if queue.isEmpty, mode == .drain, inFlight.isEmpty { return .finished }
        return start()
    }

    /// The outbox could not be read: `continuous` tries again after a backoff; a drain finishes.
    package mutating func storeReadFailed() -> Action {
        guard mode == .continuous else {
            readFailed = true
            queue = []
            return inFlight.isEmpty ? .finished : .wait
        }
        readFailures += 1
        if timerArmed { return .wait }
        timerArmed = true
        timerAwaitsCompletion = false
        return .sleep(timeout: .seconds(min(30, 1 << min(readFailures, 5))))
    }

    /// When the sink's next pending row is due (`nil`: none is pending).
    package mutating func nextDue(_ date: Date?, now: Date) -> Action {
        var timeout: Duration?
        if let date {
            let wait = date.timeIntervalSince(now)
            if wait > 0 {
                timeout = .seconds(wait)
            } else if inFlight.isEmpty {
                // Due already but not handed out: it became due after the query; a short nap
                // keeps a skewed clock from turning this into a busy loop.
                timeout = .milliseconds(20)
            }
            // Else it is one in flight: its completion comes round anyway.
        }
        timerArmed = true
        timerAwaitsCompletion = timeout == nil && !inFlight.isEmpty
        return .sleep(timeout: timeout)
    }

    /// The armed timer fired or was woken.
    package mutating func woken() {
        timerArmed = false
        timerAwaitsCompletion = false
    }

    /// An attempt finished at `at`; `cancelled` when the worker is stopping or reloading.
    package mutating func attemptFinished(_ delivery: Delivery, outcome: SinkOutcome, at: Date,
                                         cancelled: Bool) -> Record {
        inFlight.remove(delivery.id)
        if let call = callOf.removeValue(forKey: delivery.id), let left = openCalls[call] {
            openCalls[call] = left > 1 ? left - 1 : nil
        }
        if cancelled && !outcome.isDelivered { return .ignore }
        let afterGone = startedBeforeGone.remove(delivery.id) != nil
        var result = policy.result(of: outcome, for: delivery, maxAge: maxAge, now: at)
        if afterGone, let error = outcome.error {
            // The sink's queue was failed while this attempt ran: unless it got through, it fails too.
            result = .failed(status: outcome.status, error: "\(error) (the receiver answered 410 Gone)")
        }
        guard case .gone(let status, let error) = outcome, !afterGone else {
            return .write(result, failSink: nil)
        }
        gone = true
        startedBeforeGone = inFlight
        queue = []   // the sink's pending rows are failed with this record
        return .write(result, failSink: "receiver answered \(status) Gone: \(error)")
    }

    /// The record of an attempt was written.
    package mutating func recorded(_ result: AttemptResult, now: ContinuousClock.Instant) -> FollowUp {
        recordFailures = 0
        var followUp = FollowUp()
        let retrying = if case .retry = result { true } else { false }
        if retrying || timerAwaitsCompletion {
            timerAwaitsCompletion = false
            followUp.rearm = true
        }
        if retrying { failedSinceLastSuccess = true }
        if case .delivered = result, failedSinceLastSuccess, mode == .continuous,
           lastExpedite.map({ now - $0 >= Self.expediteHoldOff }) ?? true {
            failedSinceLastSuccess = false
            lastExpedite = now
            followUp.expedite = true
        }
        return followUp
    }

    /// The record could not be written (disk full, read-only file): the row is still pending and
    /// due, so starting again at once would resend it in a tight loop, flooding the receiver with
    /// duplicates. `continuous` pauses with backoff and re-reads the outbox afterwards.
    package mutating func recordFailed() -> FollowUp {
        queue = []
        guard mode == .continuous else { return FollowUp() }
        recordFailures += 1
        return FollowUp(pause: .seconds(min(30, 1 << min(recordFailures, 5))))
    }

    /// Backed-off rows were made due now (``FollowUp/expedite``).
    package mutating func expedited(_ count: Int) -> FollowUp {
        guard count > 0 else { return FollowUp() }
        queue = []
        return FollowUp(rearm: true)
    }

    // MARK: Rules

    /// Hands out queued rows up to the concurrency bound; when the bound is not reached the
    /// worker (continuous) must know when the next row is due.
    private mutating func start() -> Action {
        if let grouping { return startGroups(grouping) }
        var started: [Delivery] = []
        while inFlight.count < limit, !queue.isEmpty {
            let delivery = queue.removeFirst()
            inFlight.insert(delivery.id)
            if mode == .drain { attempted.insert(delivery.id) }
            started.append(delivery)
        }
        if !started.isEmpty { return .send(started) }
        return afterStart()
    }

    /// Hands out queued rows in groups, one call each, up to the concurrency bound: oldest first,
    /// each group as many rows as fit the grouping's limits.
    private mutating func startGroups(_ grouping: Grouping) -> Action {
        var groups: [[Delivery]] = []
        while callsInFlight < limit, !queue.isEmpty {
            var group: [Delivery] = []
            var bytes = 0
            while let first = queue.first, group.count < grouping.maxEntries {
                let size = grouping.size(first)
                if !group.isEmpty && bytes + size > grouping.maxBytes { break }
                group.append(queue.removeFirst())
                bytes += size
            }
            let call = nextCall
            nextCall &+= 1
            openCalls[call] = group.count
            for delivery in group {
                inFlight.insert(delivery.id)
                callOf[delivery.id] = call
                if mode == .drain { attempted.insert(delivery.id) }
            }
            groups.append(group)
        }
        if !groups.isEmpty { return .sendBatches(groups) }
        return afterStart()
    }

    /// After handing out: continuous arms its timer when a slot is free and none is armed.
    package mutating func afterStart() -> Action {
        guard mode == .continuous else { return .wait }
        if callsInFlight < limit && !timerArmed { return .queryNextDue }
        return .wait
    }
}
