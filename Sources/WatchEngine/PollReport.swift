import Foundation
import WatchModel

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

    /// The events in their stable listing order (see ``events``).
    mutating func sortEvents() {
        events = events.enumerated().sorted { a, b in
            if a.element.order.id != b.element.order.id { return a.element.order.id < b.element.order.id }
            if a.element.sequence != b.element.sequence { return a.element.sequence < b.element.sequence }
            return a.offset < b.offset
        }.map(\.element)
    }
}
