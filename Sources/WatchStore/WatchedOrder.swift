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
    /// The account name that watches an order when the config names none.
    public static let defaultAccount = "default"

    public var orderId: String
    public var label: String?
    /// The name of the configured account whose credentials poll this order.
    public var account: String
    /// That account's region when the order was last put in the watch set; `nil` before.
    public var region: String?
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

    public init(orderId: String, label: String? = nil, account: String = WatchedOrder.defaultAccount,
                region: String? = nil, source: WatchSource = .config, active: Bool = true,
                snapshot: OrderSnapshot? = nil, lastSequence: Int64 = 0, consecutiveFailures: Int = 0,
                failing: Bool = false, notFound: Bool = false, lastPollAt: Date? = nil, lastSuccessAt: Date? = nil,
                lastChangeAt: Date? = nil, lastError: String? = nil) {
        self.orderId = orderId
        self.label = label
        self.account = account
        self.region = region
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

extension WatchedOrder {
    /// Label, account and region, as every event of this order carries them.
    public var context: OrderContext { OrderContext(label: label, account: account, region: region) }

    /// How many line items are in each status (`UNKNOWN` for none): the `status` command's column.
    public var lineItemStatusCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for item in snapshot?.lineItems ?? [] {
            counts[item.status ?? "UNKNOWN", default: 0] += 1
        }
        return counts
    }
}
