import Foundation
import WatchModel

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
    /// The event's JSON body as committed: what sinks send (``StoredEvent``).
    public var body: Data

    public init(id: Int64, eventId: String, sink: String, state: DeliveryState, attempts: Int, createdAt: Date,
                nextAttemptAt: Date, lastAttemptAt: Date?, lastStatus: Int?, lastError: String?, deliveredAt: Date?,
                event: Event, body: Data? = nil, pendingSince: Date? = nil) {
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
        self.body = body ?? ((try? EventJSON.encode(event)) ?? Data())
    }

    /// The event and the body sinks send.
    public var stored: StoredEvent { StoredEvent(event: event, body: body) }
}

/// How one delivery attempt ended.
public enum AttemptResult: Sendable, Equatable {
    case delivered(status: Int)
    /// Try again at `at`.
    case retry(at: Date, status: Int?, error: String)
    /// Give up: the delivery becomes `failed`.
    case failed(status: Int?, error: String)
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
