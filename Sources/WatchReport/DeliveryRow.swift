import Foundation
import WatchStore

/// One outbox row as `deliveries --json` prints it and the order page shows it per event.
public struct DeliveryRow: Encodable, Sendable, Equatable {
    public var id: Int64
    public var eventId: String
    public var eventType: String
    public var orderId: String
    public var sequence: Int64
    public var sink: String
    /// The sink's kind in the current config (`journald`, `webhook`, `eventbridge`, `sns`,
    /// `pagerduty`); `nil` when no configured sink has that name.
    public var sinkKind: String?
    public var state: String
    public var attempts: Int
    public var createdAt: Date
    /// Only for pending rows: when the dispatcher tries next.
    public var nextAttemptAt: Date?
    public var lastAttemptAt: Date?
    public var lastStatus: Int?
    public var lastError: String?
    public var deliveredAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, eventId = "event_id", eventType = "event_type", orderId = "order_id", sequence, sink
        case sinkKind = "sink_kind", state
        case attempts, createdAt = "created_at", nextAttemptAt = "next_attempt_at"
        case lastAttemptAt = "last_attempt_at", lastStatus = "last_status", lastError = "last_error"
        case deliveredAt = "delivered_at"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(eventId, forKey: .eventId)
        try c.encode(eventType, forKey: .eventType)
        try c.encode(orderId, forKey: .orderId)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(sink, forKey: .sink)
        try c.encode(sinkKind, forKey: .sinkKind)
        try c.encode(state, forKey: .state)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(nextAttemptAt, forKey: .nextAttemptAt)
        try c.encode(lastAttemptAt, forKey: .lastAttemptAt)
        try c.encode(lastStatus, forKey: .lastStatus)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(deliveredAt, forKey: .deliveredAt)
    }

    public init(_ d: Delivery, sinkKind: String? = nil) {
        id = d.id
        eventId = d.eventId
        eventType = d.event.type.rawValue
        orderId = d.event.order.id
        sequence = d.event.sequence
        sink = d.sink
        self.sinkKind = sinkKind
        state = d.state.rawValue
        attempts = d.attempts
        createdAt = d.createdAt
        nextAttemptAt = d.state == .pending ? d.nextAttemptAt : nil
        lastAttemptAt = d.lastAttemptAt
        lastStatus = d.lastStatus
        lastError = d.lastError
        deliveredAt = d.deliveredAt
    }
}
