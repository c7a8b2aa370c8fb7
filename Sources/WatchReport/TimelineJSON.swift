import Foundation

/// The JSON form of a ``PhaseTimeline`` at an instant (the `timeline` part of
/// `GET /api/orders/ORDER_ID`, docs/status-page.md): `{"order_id", "phases": [{"status", "from",
/// "to", "duration_seconds"}], "line_items": [{"id", "phases"}]}`, `to` null for the current stay.
public struct TimelineJSON: Encodable, Sendable {
    public var timeline: PhaseTimeline
    /// Where the current stays' durations end.
    public var now: Date

    public init(_ timeline: PhaseTimeline, now: Date) {
        self.timeline = timeline
        self.now = now
    }

    struct PhaseJSON: Encodable {
        var phase: Phase
        var now: Date
        enum CodingKeys: String, CodingKey { case status, from, to, durationSeconds = "duration_seconds" }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(phase.status, forKey: .status)
            try c.encode(phase.from, forKey: .from)
            try c.encode(phase.to, forKey: .to)
            try c.encode(Int(phase.durationSeconds(now: now)), forKey: .durationSeconds)
        }
    }

    struct LineItemJSON: Encodable {
        var id: String
        var phases: [PhaseJSON]
    }

    enum CodingKeys: String, CodingKey { case orderId = "order_id", phases, lineItems = "line_items" }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(timeline.orderId, forKey: .orderId)
        try c.encode(timeline.phases.map { PhaseJSON(phase: $0, now: now) }, forKey: .phases)
        try c.encode(timeline.lineItems.map { item in
            LineItemJSON(id: item.id, phases: item.phases.map { PhaseJSON(phase: $0, now: now) })
        }, forKey: .lineItems)
    }
}
