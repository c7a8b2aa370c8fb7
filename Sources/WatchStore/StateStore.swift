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
    /// Nothing but the poll times differ from what is stored (no event, same snapshot, same
    /// failure state): the store may hold the times in memory and write them in a later
    /// transaction (see ``StateStore/commit(_:route:)``).
    public var onlyPollTimesChanged: Bool

    public init(orderId: String, polledAt: Date, succeeded: Bool, snapshot: OrderSnapshot?, consecutiveFailures: Int,
                failing: Bool, notFound: Bool, lastError: String?, events: [Event], onlyPollTimesChanged: Bool = false) {
        self.orderId = orderId
        self.polledAt = polledAt
        self.succeeded = succeeded
        self.snapshot = snapshot
        self.consecutiveFailures = consecutiveFailures
        self.failing = failing
        self.notFound = notFound
        self.lastError = lastError
        self.events = events
        self.onlyPollTimesChanged = onlyPollTimesChanged
    }
}

/// What the poller's schedule needs to know of one active order (see ``StateStore/activeSchedule()``).
public struct ScheduleEntry: Sendable, Equatable {
    public var orderId: String
    /// The status of the stored snapshot; `nil` before the first successful poll.
    public var status: String?
    /// `watch.failing` was emitted and no `watch.recovered` yet.
    public var failing: Bool
    public var lastPollAt: Date?

    public init(orderId: String, status: String?, failing: Bool, lastPollAt: Date?) {
        self.orderId = orderId
        self.status = status
        self.failing = failing
        self.lastPollAt = lastPollAt
    }

    /// Polled at `terminal_interval` (see ``OrderSnapshot/isTerminal``).
    public var isTerminal: Bool { OrderSnapshot.isTerminal(status: status) }
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
    /// When this row last became pending: `createdAt`, or the time `redeliver` reset it. A
    /// dispatcher measures `max_age` from here, so a redelivered old event gets its full retry time.
    public var pendingSince: Date
    /// When the dispatcher should try next (pending rows).
    public var nextAttemptAt: Date
    public var lastAttemptAt: Date?
    public var lastStatus: Int?
    public var lastError: String?
    public var deliveredAt: Date?
    public var event: Event

    public init(id: Int64, eventId: String, sink: String, state: DeliveryState, attempts: Int, createdAt: Date,
                nextAttemptAt: Date, lastAttemptAt: Date?, lastStatus: Int?, lastError: String?, deliveredAt: Date?,
                event: Event, pendingSince: Date? = nil) {
        self.id = id
        self.eventId = eventId
        self.sink = sink
        self.state = state
        self.attempts = attempts
        self.createdAt = createdAt
        self.pendingSince = pendingSince ?? createdAt
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
    /// What went wrong, for callers that react differently (retry on `busy`, stop on `corrupt`).
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

/// One recorded delivery attempt (the `delivery_attempts` log).
public struct DeliveryAttempt: Sendable, Equatable {
    public var deliveryId: Int64
    public var at: Date
    /// `delivered`, `retry` or `failed`: what the attempt decided.
    public var outcome: String
    public var status: Int?
    public var error: String?

    public init(deliveryId: Int64, at: Date, outcome: String, status: Int?, error: String?) {
        self.deliveryId = deliveryId
        self.at = at
        self.outcome = outcome
        self.status = status
        self.error = error
    }
}

/// Connection settings of a ``StateStore``; the defaults are the production ones.
public struct StoreOptions: Sendable {
    /// How long a writer waits for another connection's write lock before `.busy`.
    public var busyTimeout: Duration
    /// `.full` (default) makes every commit durable across power loss, as "nothing lost" needs.
    public var synchronous: SynchronousMode
    /// Caps the file size in pages (tests of a full disk where no small tmpfs can be mounted).
    public var maxPageCount: Int?

    public init(busyTimeout: Duration = .seconds(5), synchronous: SynchronousMode = .full, maxPageCount: Int? = nil) {
        self.busyTimeout = busyTimeout
        self.synchronous = synchronous
        self.maxPageCount = maxPageCount
    }
}

extension WatchedOrder {
    /// How many line items are in each status (`UNKNOWN` for none): the `status` command's column.
    public var lineItemStatusCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for item in snapshot?.lineItems ?? [] {
            counts[item.status ?? "UNKNOWN", default: 0] += 1
        }
        return counts
    }
}

/// The SQLite history of outpostwatch: watched orders, their last state, every event, and the
/// outbox of deliveries to sinks.
///
/// One actor owns one connection; concurrent readers (`status`, `history` while the daemon
/// runs) open their own `StateStore` on the same file (WAL). Every poll result is committed in
/// one transaction with its events and deliveries, so a crash loses none and records none twice.
public actor StateStore {
    public nonisolated let path: String
    public nonisolated let readOnly: Bool
    private let db: Database
    /// Poll times of quiet polls (``PollCommit/onlyPollTimesChanged``) not written yet. An
    /// unchanged poll is by far the most common result; writing its two timestamps in a
    /// transaction of its own would cost an fsync per poll. They are written with the next
    /// transaction or by ``flushPollTimes()``; a crash loses at most these timestamps, never a
    /// state, an event or a delivery. Reads through this store see them at once.
    private var unwrittenPollTimes: [String: UnwrittenPollTime] = [:]

    fileprivate struct UnwrittenPollTime {
        var polledAt: Date
        var succeededAt: Date?
    }

    /// Opens (creating if needed) and migrates the database at `path`.
    ///
    /// `readOnly` opens an existing file without creating, migrating or writing anything; a
    /// missing file is `.cannotOpen`, a file of an older schema is `.other` (start the daemon once
    /// to migrate it), a newer one `.schemaTooNew`.
    public init(path: String, readOnly: Bool = false) throws {
        try self.init(path: path, readOnly: readOnly, options: StoreOptions())
    }

    /// Opens with explicit connection settings (tests, measurements).
    public init(path: String, readOnly: Bool = false, options: StoreOptions) throws {
        self.path = path
        self.readOnly = readOnly
        let database = try Database(path: path, mode: readOnly ? .readOnly : .readWrite,
                                    busyTimeout: options.busyTimeout, synchronous: options.synchronous,
                                    maxPageCount: options.maxPageCount)
        if readOnly {
            let version = try database.userVersion()
            if version > Schema.currentVersion {
                throw StoreError.schemaTooNew(path: path, found: version, known: Schema.currentVersion)
            }
            if version < Schema.currentVersion {
                throw StoreError(kind: .other,
                                 message: "\(path): schema version \(version) is older than this outpostwatch's \(Schema.currentVersion); start the daemon once to migrate it")
            }
        } else {
            try Migrator().migrate(database)
        }
        self.db = database
    }

    /// Writes the unwritten poll times, then closes the connection; later calls throw `.misuse`.
    /// Closing also happens on deinit (without that write).
    public func close() {
        try? flushPollTimes()
        db.close()
    }

    /// Whether poll times are held in memory, waiting for ``flushPollTimes()``.
    public var hasUnwrittenPollTimes: Bool { !unwrittenPollTimes.isEmpty }

    /// Writes the poll times of quiet polls held in memory, in one transaction.
    public func flushPollTimes() throws {
        guard !unwrittenPollTimes.isEmpty else { return }
        try db.transaction { try writePollTimes() }
        unwrittenPollTimes = [:]
    }

    /// The poll-time updates, inside the caller's transaction; the caller clears the buffer once
    /// that transaction has committed.
    private func writePollTimes() throws {
        for (orderId, times) in unwrittenPollTimes {
            try db.execute("""
                UPDATE orders SET last_poll_at = ?1, last_success_at = coalesce(?2, last_success_at)
                WHERE order_id = ?3
                """, [times.polledAt, times.succeededAt, orderId])
        }
    }

    // MARK: Watch set

    private static let orderColumns = """
        order_id, label, source, active, snapshot, last_sequence, consecutive_failures, failing, not_found,
        last_poll_at, last_success_at, last_change_at, last_error
        """

    /// Every watched order (active or not), sorted by order id.
    public func watchedOrders() throws -> [WatchedOrder] {
        try db.query("SELECT \(Self.orderColumns) FROM orders ORDER BY order_id").map(watchedOrder(from:))
    }

    /// What scheduling needs of every active order, oldest poll first, without decoding a
    /// snapshot: the start of a daemon watching 10 000 orders would otherwise decode them all.
    public func activeSchedule() throws -> [ScheduleEntry] {
        try db.query("""
            SELECT order_id, json_extract(snapshot, '$.status') AS status, failing, last_poll_at
            FROM orders WHERE active = 1 ORDER BY order_id
            """).map { row in
            let orderId: String = try row.get("order_id")
            let stored: Date? = try row.get("last_poll_at")
            return ScheduleEntry(orderId: orderId, status: try row.get("status"), failing: try row.get("failing"),
                                 lastPollAt: unwrittenPollTimes[orderId]?.polledAt ?? stored)
        }
    }

    /// One watched order, or `nil`.
    public func watchedOrder(_ orderId: String) throws -> WatchedOrder? {
        try db.query("SELECT \(Self.orderColumns) FROM orders WHERE order_id = ?", [orderId])
            .first.map(watchedOrder(from:))
    }

    /// Makes the active watch set of `source` exactly `orders` (id, label): new ones are added,
    /// present ones re-activated and relabelled, others of that source deactivated (history kept).
    ///
    /// The config wins over discovery: syncing `.config` takes over a discovered order (source and
    /// label), syncing `.discovered` never touches an order the config names or once named.
    public func syncWatchSet(_ orders: [(id: String, label: String?)], source: WatchSource) throws {
        let now = Date()
        let ids = try Self.jsonArray(orders.map(\.id))
        try db.transaction {
            for order in orders {
                switch source {
                case .config:
                    try db.execute("""
                        INSERT INTO orders (order_id, label, source, active, created_at) VALUES (?1, ?2, 'config', 1, ?3)
                        ON CONFLICT (order_id) DO UPDATE SET label = excluded.label, source = 'config', active = 1
                        """, [order.id, order.label, now])
                case .discovered:
                    try db.execute("""
                        INSERT INTO orders (order_id, label, source, active, created_at) VALUES (?1, ?2, 'discovered', 1, ?3)
                        ON CONFLICT (order_id) DO UPDATE SET label = coalesce(excluded.label, label), active = 1
                        WHERE source = 'discovered'
                        """, [order.id, order.label, now])
                }
            }
            try db.execute("""
                UPDATE orders SET active = 0
                WHERE source = ?1 AND active = 1 AND order_id NOT IN (SELECT value FROM json_each(?2))
                """, [source.rawValue, ids])
        }
    }

    /// Adds orders found by discovery (no-op for ones already known). Returns the ids that were new.
    @discardableResult
    public func addDiscovered(_ orderIds: [String]) throws -> [String] {
        let now = Date()
        return try db.transaction {
            var added: [String] = []
            for id in orderIds {
                let inserted = try db.execute("""
                    INSERT INTO orders (order_id, source, active, created_at) VALUES (?1, 'discovered', 1, ?2)
                    ON CONFLICT (order_id) DO NOTHING
                    """, [id, now])
                if inserted == 1 {
                    added.append(id)
                }
            }
            return added
        }
    }

    // MARK: Poll results

    /// Commits a poll result in one transaction: the order's new state, its events (sequences
    /// assigned here) and one pending delivery per (event, sink) that `route` returns.
    /// Returns the events as stored, with their sequences.
    ///
    /// Deliveries are created due at `polledAt`, the caller's clock, so the dispatcher and the
    /// poller agree on time even when a test drives both with a fake clock.
    /// An order the store does not know yet is added as a `config` order. Events about another
    /// order than `result.orderId` are refused (`.misuse`). On any error nothing is written.
    public func commit(_ result: PollCommit, route: @Sendable (Event) -> [String]) throws -> [Event] {
        if let stray = result.events.first(where: { $0.order.id != result.orderId }) {
            throw StoreError(kind: .misuse,
                             message: "\(path): event \(stray.id) is about order \(stray.order.id), not \(result.orderId)")
        }
        if result.onlyPollTimesChanged && result.events.isEmpty {
            let earlierSuccess = unwrittenPollTimes[result.orderId]?.succeededAt
            unwrittenPollTimes[result.orderId] = UnwrittenPollTime(
                polledAt: result.polledAt, succeededAt: result.succeeded ? result.polledAt : earlierSuccess)
            return []
        }
        let snapshotJSON = try result.snapshot.map(Self.encodeSnapshot)
        let recordedAt = Date()
        let successAt: Date? = result.succeeded ? result.polledAt : nil
        let changeAt: Date? = result.events.isEmpty ? nil : result.polledAt
        let committed: [Event] = try db.transaction {
            // Held poll times ride along: this transaction pays the fsync anyway.
            try writePollTimes()
            try db.execute("""
                INSERT INTO orders (order_id, source, active, snapshot, consecutive_failures, failing, not_found,
                                    last_poll_at, last_success_at, last_change_at, last_error, created_at)
                VALUES (?1, 'config', 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?6)
                ON CONFLICT (order_id) DO UPDATE SET
                    snapshot = coalesce(excluded.snapshot, snapshot),
                    consecutive_failures = excluded.consecutive_failures,
                    failing = excluded.failing,
                    not_found = excluded.not_found,
                    last_poll_at = excluded.last_poll_at,
                    last_success_at = coalesce(excluded.last_success_at, last_success_at),
                    last_change_at = coalesce(excluded.last_change_at, last_change_at),
                    last_error = excluded.last_error
                """, [result.orderId, snapshotJSON, result.consecutiveFailures, result.failing, result.notFound,
                      result.polledAt, successAt, changeAt, result.lastError])
            guard !result.events.isEmpty else { return [] }
            let lastSequence = try db.scalar("SELECT last_sequence FROM orders WHERE order_id = ?",
                                             [result.orderId], as: Int64.self) ?? 0
            var stored: [Event] = []
            for (offset, original) in result.events.enumerated() {
                var numbered = original
                numbered.sequence = lastSequence + Int64(offset) + 1
                let body = try Self.encodeEvent(numbered)
                // What the body says (its instants are ISO-8601 milliseconds) is the event from now
                // on: the caller, the history and every sink see the same values.
                let event = try Self.decodeEvent(body)
                try db.execute("""
                    INSERT INTO events (id, order_id, sequence, type, occurred_at, recorded_at, body)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, [event.id, result.orderId, event.sequence, event.type.rawValue, original.occurredAt, recordedAt, body])
                var seen: Set<String> = []
                for sink in route(event) where seen.insert(sink).inserted {
                    try db.execute("""
                        INSERT INTO deliveries (event_id, sink, state, created_at, pending_since, next_attempt_at)
                        VALUES (?1, ?2, 'pending', ?3, ?3, ?3)
                        """, [event.id, sink, result.polledAt])
                }
                stored.append(event)
            }
            try db.execute("UPDATE orders SET last_sequence = ? WHERE order_id = ?",
                           [stored.last!.sequence, result.orderId])
            return stored
        }
        unwrittenPollTimes = [:]
        return committed
    }

    // MARK: History

    /// Events, oldest first (by order then sequence for one order; by occurred_at then order and
    /// sequence across orders). `limit` keeps the first (oldest) ones.
    public func history(orderId: String? = nil, since: Date? = nil, limit: Int? = nil) throws -> [Event] {
        let rows: [Row]
        let limit = limit ?? -1
        let since = since ?? Date.distantPast
        if let orderId {
            rows = try db.query("""
                SELECT body FROM events WHERE order_id = ? AND occurred_at >= ? ORDER BY sequence LIMIT ?
                """, [orderId, since, limit])
        } else {
            rows = try db.query("""
                SELECT body FROM events WHERE occurred_at >= ? ORDER BY occurred_at, order_id, sequence LIMIT ?
                """, [since, limit])
        }
        return try rows.map { try Self.decodeEvent($0.get("body")) }
    }

    /// The event with this id, or `nil`.
    public func event(id: String) throws -> Event? {
        try db.scalar("SELECT body FROM events WHERE id = ?", [id], as: String.self).map(Self.decodeEvent)
    }

    // MARK: Outbox

    private static let deliveryColumns = """
        d.id AS id, d.event_id AS event_id, d.sink AS sink, d.state AS state, d.attempts AS attempts,
        d.created_at AS created_at, d.pending_since AS pending_since, d.next_attempt_at AS next_attempt_at,
        d.last_attempt_at AS last_attempt_at, d.last_status AS last_status, d.last_error AS last_error,
        d.delivered_at AS delivered_at, e.body AS body
        FROM deliveries d JOIN events e ON e.id = d.event_id
        """

    /// Pending deliveries due at or before `now`, oldest first, optionally for one sink.
    public func dueDeliveries(now: Date, sink: String? = nil, limit: Int = 100) throws -> [Delivery] {
        // Ordered by id, the creation order, so a sink gets one order's events in sequence order.
        try db.query("""
            SELECT \(Self.deliveryColumns)
            WHERE d.state = 'pending' AND d.next_attempt_at <= ?1 AND (?2 IS NULL OR d.sink = ?2)
            ORDER BY d.id LIMIT ?3
            """, [now, sink, limit]).map(delivery(from:))
    }

    /// The earliest `nextAttemptAt` of any pending delivery (optionally of one sink), or `nil`.
    public func nextDueDate(sink: String? = nil) throws -> Date? {
        try db.scalar("""
            SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending' AND (?1 IS NULL OR sink = ?1)
            """, [sink], as: Date?.self) ?? nil
    }

    /// Records one attempt (attempt count, status, error, time) and moves the row on.
    public func recordAttempt(deliveryId: Int64, at: Date, result: AttemptResult) throws {
        try db.transaction {
            let changed: Int
            let outcome: String
            let status: Int?
            let error: String?
            switch result {
            case .delivered(let code):
                (outcome, status, error) = ("delivered", code, nil)
                changed = try db.execute("""
                    UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, last_attempt_at = ?2,
                        last_status = ?3, last_error = NULL, delivered_at = ?2, finished_at = ?2
                    WHERE id = ?1
                    """, [deliveryId, at, code])
            case .retry(let next, let code, let message):
                (outcome, status, error) = ("retry", code, message)
                changed = try db.execute("""
                    UPDATE deliveries SET state = 'pending', attempts = attempts + 1, last_attempt_at = ?2,
                        last_status = ?3, last_error = ?4, next_attempt_at = ?5
                    WHERE id = ?1
                    """, [deliveryId, at, code, message, next])
            case .failed(let code, let message):
                (outcome, status, error) = ("failed", code, message)
                changed = try db.execute("""
                    UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_attempt_at = ?2,
                        last_status = ?3, last_error = ?4, finished_at = ?2
                    WHERE id = ?1
                    """, [deliveryId, at, code, message])
            }
            guard changed == 1 else {
                throw StoreError(kind: .notFound, message: "\(path): no delivery \(deliveryId)")
            }
            try db.execute("INSERT INTO delivery_attempts (delivery_id, at, outcome, status, error) VALUES (?, ?, ?, ?, ?)",
                           [deliveryId, at, outcome, status, error])
        }
    }

    /// The receiver of `sink` answers again: its deliveries that are backing off become due at
    /// `now`, instead of waiting out delays that grew during the outage (up to an hour).
    /// Returns how many.
    @discardableResult
    public func expediteRetries(sink: String, now: Date) throws -> Int {
        try db.execute("""
            UPDATE deliveries SET next_attempt_at = ?2
            WHERE state = 'pending' AND next_attempt_at > ?2 AND sink = ?1
            """, [sink, now])
    }

    /// Every recorded attempt of one delivery, oldest first.
    public func attempts(deliveryId: Int64) throws -> [DeliveryAttempt] {
        try db.query("""
            SELECT delivery_id, at, outcome, status, error FROM delivery_attempts WHERE delivery_id = ? ORDER BY at, id
            """, [deliveryId]).map { row in
            DeliveryAttempt(deliveryId: try row.get("delivery_id"), at: try row.get("at"), outcome: try row.get("outcome"),
                            status: try row.get("status"), error: try row.get("error"))
        }
    }

    /// Marks every pending delivery of `sink` failed with `error` (a 410 Gone answer). Returns how many.
    @discardableResult
    public func failPending(sink: String, error: String, at: Date) throws -> Int {
        try db.transaction {
            try db.execute("""
                UPDATE deliveries SET state = 'failed', last_error = ?2, finished_at = ?3
                WHERE state = 'pending' AND sink = ?1
                """, [sink, error, at])
        }
    }

    /// Deliveries, newest first, optionally filtered by state and sink.
    public func deliveries(state: DeliveryState? = nil, sink: String? = nil, limit: Int = 1000) throws -> [Delivery] {
        try db.query("""
            SELECT \(Self.deliveryColumns)
            WHERE (?1 IS NULL OR d.state = ?1) AND (?2 IS NULL OR d.sink = ?2)
            ORDER BY d.id DESC LIMIT ?3
            """, [state?.rawValue, sink, limit]).map(delivery(from:))
    }

    /// Makes the event's deliveries (to `sink`, or to every sink it had) pending and due now,
    /// creating the row for a sink that never had one. Returns the rows now pending.
    ///
    /// An unknown event id is `.notFound`. The attempt count and the attempt log are kept;
    /// `pendingSince` restarts at `now`.
    public func redeliver(eventId: String, sinks: [String], now: Date) throws -> [Delivery] {
        try db.transaction {
            guard try db.scalar("SELECT 1 FROM events WHERE id = ?", [eventId], as: Int.self) != nil else {
                throw StoreError(kind: .notFound, message: "\(path): no event \(eventId)")
            }
            let targets = sinks.isEmpty
                ? try db.query("SELECT sink FROM deliveries WHERE event_id = ? ORDER BY id", [eventId]).map { try $0.get("sink", as: String.self) }
                : sinks
            for sink in targets {
                try db.execute("""
                    INSERT INTO deliveries (event_id, sink, state, created_at, pending_since, next_attempt_at)
                    VALUES (?1, ?2, 'pending', ?3, ?3, ?3)
                    ON CONFLICT (event_id, sink) DO UPDATE SET
                        state = 'pending', pending_since = ?3, next_attempt_at = ?3, delivered_at = NULL, finished_at = NULL
                    """, [eventId, sink, now])
            }
            return try db.query("""
                SELECT \(Self.deliveryColumns)
                WHERE d.event_id = ?1 AND d.state = 'pending' AND d.sink IN (SELECT value FROM json_each(?2))
                ORDER BY d.id
                """, [eventId, try Self.jsonArray(targets)]).map(delivery(from:))
        }
    }

    /// Pending deliveries count per sink (the outbox depth).
    public func pendingCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try db.query("SELECT sink, count(*) AS n FROM deliveries WHERE state = 'pending' GROUP BY sink") {
            counts[try row.get("sink", as: String.self)] = try row.get("n", as: Int.self)
        }
        return counts
    }

    /// Delivery rows per state (for the metrics endpoint).
    public func deliveryStateCounts() throws -> [DeliveryState: Int] {
        var counts: [DeliveryState: Int] = [:]
        for row in try db.query("SELECT state, count(*) AS n FROM deliveries GROUP BY state") {
            if let state = DeliveryState(rawValue: try row.get("state", as: String.self)) {
                counts[state] = try row.get("n", as: Int.self)
            }
        }
        return counts
    }

    // MARK: Retention

    /// Deletes delivered/failed deliveries finished before `deliveriesBefore`, and events (with their
    /// deliveries) that occurred before `eventsBefore` when given. Returns (deliveries, events) deleted.
    ///
    /// Orders keep their `last_sequence`, so sequences never restart after pruning.
    @discardableResult
    public func prune(deliveriesBefore: Date, eventsBefore: Date?) throws -> (deliveries: Int, events: Int) {
        try db.transaction {
            var deliveries = try db.execute("""
                DELETE FROM deliveries WHERE state IN ('delivered', 'failed') AND finished_at < ?
                """, [deliveriesBefore])
            var events = 0
            if let eventsBefore {
                // Cascaded deletes are not in changes(): count the deliveries that go with the events.
                deliveries += try db.scalar("""
                    SELECT count(*) FROM deliveries WHERE event_id IN (SELECT id FROM events WHERE occurred_at < ?)
                    """, [eventsBefore], as: Int.self) ?? 0
                events = try db.execute("DELETE FROM events WHERE occurred_at < ?", [eventsBefore])
            }
            return (deliveries, events)
        }
    }

    // MARK: Row mapping

    private func watchedOrder(from row: Row) throws -> WatchedOrder {
        let sourceName: String = try row.get("source")
        guard let source = WatchSource(rawValue: sourceName) else {
            throw StoreError(kind: .corrupt, message: "\(path): order has unknown source \(sourceName)")
        }
        let snapshotJSON: String? = try row.get("snapshot")
        return WatchedOrder(
            orderId: try row.get("order_id"), label: try row.get("label"), source: source,
            active: try row.get("active"), snapshot: try snapshotJSON.map(Self.decodeSnapshot),
            lastSequence: try row.get("last_sequence"), consecutiveFailures: try row.get("consecutive_failures"),
            failing: try row.get("failing"), notFound: try row.get("not_found"),
            lastPollAt: try row.get("last_poll_at"), lastSuccessAt: try row.get("last_success_at"),
            lastChangeAt: try row.get("last_change_at"), lastError: try row.get("last_error"))
            .withUnwrittenPollTimes(unwrittenPollTimes)
    }

    private func delivery(from row: Row) throws -> Delivery {
        let stateName: String = try row.get("state")
        guard let state = DeliveryState(rawValue: stateName) else {
            throw StoreError(kind: .corrupt, message: "\(path): delivery has unknown state \(stateName)")
        }
        return Delivery(
            id: try row.get("id"), eventId: try row.get("event_id"), sink: try row.get("sink"), state: state,
            attempts: try row.get("attempts"), createdAt: try row.get("created_at"),
            nextAttemptAt: try row.get("next_attempt_at"), lastAttemptAt: try row.get("last_attempt_at"),
            lastStatus: try row.get("last_status"), lastError: try row.get("last_error"),
            deliveredAt: try row.get("delivered_at"), event: try Self.decodeEvent(row.get("body")),
            pendingSince: try row.get("pending_since"))
    }

    // MARK: JSON columns

    private static func encodeEvent(_ event: Event) throws -> String {
        do {
            return String(decoding: try EventJSON.encode(event), as: UTF8.self)
        } catch {
            throw StoreError(kind: .other, message: "cannot encode event \(event.id): \(error)")
        }
    }

    private static func decodeEvent(_ body: String) throws -> Event {
        do {
            return try EventJSON.decode(Data(body.utf8))
        } catch {
            throw StoreError(kind: .corrupt, message: "stored event body is not a valid event: \(error)")
        }
    }

    // Snapshots keep dates as Foundation's own reference-date seconds (`.deferredToDate`): the
    // only form that reads back bit-identical, and the diff compares snapshots with `==`, where a
    // last-bit difference from a 1970-based round trip would be a false `fulfilled_date` change.
    private static func encodeSnapshot(_ snapshot: OrderSnapshot) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .deferredToDate
        do {
            return String(decoding: try encoder.encode(snapshot), as: UTF8.self)
        } catch {
            throw StoreError(kind: .other, message: "cannot encode snapshot of \(snapshot.orderId): \(error)")
        }
    }

    private static func decodeSnapshot(_ json: String) throws -> OrderSnapshot {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .deferredToDate
        do {
            return try decoder.decode(OrderSnapshot.self, from: Data(json.utf8))
        } catch {
            throw StoreError(kind: .corrupt, message: "stored snapshot is not a valid order snapshot: \(error)")
        }
    }

    private static func jsonArray(_ strings: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(strings), as: UTF8.self)
    }
}

private extension WatchedOrder {
    /// This order as it will be once its held poll times are written.
    func withUnwrittenPollTimes(_ held: [String: StateStore.UnwrittenPollTime]) -> WatchedOrder {
        guard let times = held[orderId] else { return self }
        var order = self
        order.lastPollAt = times.polledAt
        if let success = times.succeededAt { order.lastSuccessAt = success }
        return order
    }
}
