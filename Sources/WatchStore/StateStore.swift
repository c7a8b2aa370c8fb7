import Foundation
import WatchModel

/// How an order came to be watched.
public enum WatchSource: String, Sendable, Equatable, Codable {
    /// An `[[order]]` of the config file.
    case config
    /// Found by a `[[discover]]` ListOrders sweep; kept across restarts.
    case discovered
}

/// What the store knows about one watched order.
public struct WatchedOrder: Sendable, Equatable {
    public var orderId: String
    public var label: String?
    public var source: WatchSource
    /// `false` once the order left the config (history stays, polling stops).
    public var active: Bool
    /// The last successfully polled state; `nil` before the first successful poll.
    public var snapshot: OrderSnapshot?
    /// The highest `sequence` committed for this order; 0 before any event.
    public var lastSequence: Int64
    public var consecutiveFailures: Int
    /// `watch.failing` was emitted and no `watch.recovered` yet.
    public var failing: Bool
    /// `order.not_found` was emitted and the order has not been seen since.
    public var notFound: Bool
    public var lastPollAt: Date?
    public var lastSuccessAt: Date?
    public var lastChangeAt: Date?
    /// The last poll error, free of secrets.
    public var lastError: String?

    public init(orderId: String, label: String? = nil, source: WatchSource = .config, active: Bool = true,
                snapshot: OrderSnapshot? = nil, lastSequence: Int64 = 0, consecutiveFailures: Int = 0,
                failing: Bool = false, notFound: Bool = false, lastPollAt: Date? = nil, lastSuccessAt: Date? = nil,
                lastChangeAt: Date? = nil, lastError: String? = nil) {
        self.orderId = orderId
        self.label = label
        self.source = source
        self.active = active
        self.snapshot = snapshot
        self.lastSequence = lastSequence
        self.consecutiveFailures = consecutiveFailures
        self.failing = failing
        self.notFound = notFound
        self.lastPollAt = lastPollAt
        self.lastSuccessAt = lastSuccessAt
        self.lastChangeAt = lastChangeAt
        self.lastError = lastError
    }
}

/// The result of one poll, to be committed atomically: the order's new state, its events and
/// their deliveries.
public struct PollCommit: Sendable, Equatable {
    public var orderId: String
    public var polledAt: Date
    /// Whether the poll got a valid answer (a valid Order, or NotFound).
    public var succeeded: Bool
    /// The new state to store; `nil` keeps the stored one (failed polls, not found).
    public var snapshot: OrderSnapshot?
    public var consecutiveFailures: Int
    public var failing: Bool
    public var notFound: Bool
    public var lastError: String?
    /// New events, in order, with `sequence` 0: the store assigns `lastSequence + 1, + 2, …`.
    public var events: [Event]

    public init(orderId: String, polledAt: Date, succeeded: Bool, snapshot: OrderSnapshot?, consecutiveFailures: Int,
                failing: Bool, notFound: Bool, lastError: String?, events: [Event]) {
        self.orderId = orderId
        self.polledAt = polledAt
        self.succeeded = succeeded
        self.snapshot = snapshot
        self.consecutiveFailures = consecutiveFailures
        self.failing = failing
        self.notFound = notFound
        self.lastError = lastError
        self.events = events
    }
}

/// The state of one delivery of one event to one sink.
public enum DeliveryState: String, Sendable, Equatable, Codable, CaseIterable {
    case pending
    case delivered
    /// Gave up (max_age passed, 410 Gone, or a permanent error): the dead letter.
    case failed
}

/// One row of the outbox: an event to be sent (or sent, or given up on) to one sink.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    public var eventId: String
    public var sink: String
    public var state: DeliveryState
    public var attempts: Int
    public var createdAt: Date
    /// When the dispatcher should try next (pending rows).
    public var nextAttemptAt: Date
    public var lastAttemptAt: Date?
    public var lastStatus: Int?
    public var lastError: String?
    public var deliveredAt: Date?
    public var event: Event

    public init(id: Int64, eventId: String, sink: String, state: DeliveryState, attempts: Int, createdAt: Date,
                nextAttemptAt: Date, lastAttemptAt: Date?, lastStatus: Int?, lastError: String?, deliveredAt: Date?,
                event: Event) {
        self.id = id
        self.eventId = eventId
        self.sink = sink
        self.state = state
        self.attempts = attempts
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.deliveredAt = deliveredAt
        self.event = event
    }
}

/// How one delivery attempt ended.
public enum AttemptResult: Sendable, Equatable {
    case delivered(status: Int)
    /// Try again at `at`.
    case retry(at: Date, status: Int?, error: String)
    /// Give up: the delivery becomes `failed`.
    case failed(status: Int?, error: String)
}

/// Errors of the store. `description` says what happened and to which file.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case busy, readOnly, corrupt, full, io, cannotOpen, schemaTooNew, notFound, misuse, other
    }
    public var kind: Kind
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// The SQLite history of outpostwatch: watched orders, their last state, every event, and the
/// outbox of deliveries to sinks.
///
/// One actor owns one connection; concurrent readers (`status`, `history` while the daemon
/// runs) open their own `StateStore` on the same file (WAL). Every poll result is committed in
/// one transaction with its events and deliveries, so a crash loses none and records none twice.
public actor StateStore {
    public nonisolated let path: String

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        fatalError("not yet implemented")
    }

    // MARK: Watch set

    /// Every watched order (active or not), sorted by order id.
    public func watchedOrders() throws -> [WatchedOrder] { fatalError("not yet implemented") }

    /// One watched order, or `nil`.
    public func watchedOrder(_ orderId: String) throws -> WatchedOrder? { fatalError("not yet implemented") }

    /// Makes the active watch set of `source` exactly `orders` (id, label): new ones are added,
    /// present ones re-activated and relabelled, others of that source deactivated (history kept).
    public func syncWatchSet(_ orders: [(id: String, label: String?)], source: WatchSource) throws {
        fatalError("not yet implemented")
    }

    /// Adds orders found by discovery (no-op for ones already known). Returns the ids that were new.
    @discardableResult
    public func addDiscovered(_ orderIds: [String]) throws -> [String] { fatalError("not yet implemented") }

    // MARK: Poll results

    /// Commits a poll result in one transaction: the order's new state, its events (sequences
    /// assigned here) and one pending delivery per (event, sink) that `route` returns.
    /// Returns the events as stored, with their sequences.
    public func commit(_ result: PollCommit, route: @Sendable (Event) -> [String]) throws -> [Event] {
        fatalError("not yet implemented")
    }

    // MARK: History

    /// Events, oldest first (by order then sequence for one order; by occurred_at then order and
    /// sequence across orders).
    public func history(orderId: String? = nil, since: Date? = nil, limit: Int? = nil) throws -> [Event] {
        fatalError("not yet implemented")
    }

    public func event(id: String) throws -> Event? { fatalError("not yet implemented") }

    // MARK: Outbox

    /// Pending deliveries due at or before `now`, oldest first, optionally for one sink.
    public func dueDeliveries(now: Date, sink: String? = nil, limit: Int = 100) throws -> [Delivery] {
        fatalError("not yet implemented")
    }

    /// The earliest `nextAttemptAt` of any pending delivery (optionally of one sink), or `nil`.
    public func nextDueDate(sink: String? = nil) throws -> Date? { fatalError("not yet implemented") }

    /// Records one attempt (attempt count, status, error, time) and moves the row on.
    public func recordAttempt(deliveryId: Int64, at: Date, result: AttemptResult) throws {
        fatalError("not yet implemented")
    }

    /// Marks every pending delivery of `sink` failed with `error` (a 410 Gone answer). Returns how many.
    @discardableResult
    public func failPending(sink: String, error: String, at: Date) throws -> Int { fatalError("not yet implemented") }

    /// Deliveries, newest first, optionally filtered by state and sink.
    public func deliveries(state: DeliveryState? = nil, sink: String? = nil, limit: Int = 1000) throws -> [Delivery] {
        fatalError("not yet implemented")
    }

    /// Makes the event's deliveries (to `sink`, or to every sink it had) pending and due now,
    /// creating the row for a sink that never had one. Returns the rows now pending.
    public func redeliver(eventId: String, sinks: [String], now: Date) throws -> [Delivery] {
        fatalError("not yet implemented")
    }

    /// Pending deliveries count per sink (the outbox depth).
    public func pendingCounts() throws -> [String: Int] { fatalError("not yet implemented") }

    // MARK: Retention

    /// Deletes delivered/failed deliveries finished before `deliveriesBefore`, and events (with their
    /// deliveries) that occurred before `eventsBefore` when given. Returns (deliveries, events) deleted.
    @discardableResult
    public func prune(deliveriesBefore: Date, eventsBefore: Date?) throws -> (deliveries: Int, events: Int) {
        fatalError("not yet implemented")
    }
}
