import Foundation
import WatchModel

/// One stay of an order or a line item in one status (docs/status-page.md, "Timeline").
public struct Phase: Sendable, Equatable, Encodable {
    /// The status, verbatim; `UNKNOWN` where AWS sent none, `NOT_FOUND` while the order was gone.
    public var status: String
    public var from: Date
    /// When the stay ended; `nil` for the current one.
    public var to: Date?

    public init(status: String, from: Date, to: Date?) {
        self.status = status
        self.from = from
        self.to = to
    }

    /// Seconds spent in the status, up to `now` for the current stay; never negative.
    public func durationSeconds(now: Date) -> Double {
        max(0, (to ?? now).timeIntervalSince(from))
    }
}

/// The phases of one line item.
public struct LineItemPhases: Sendable, Equatable {
    public var id: String
    public var phases: [Phase]

    public init(id: String, phases: [Phase]) {
        self.id = id
        self.phases = phases
    }
}

/// How long an order and each of its line items spent in each status, derived from the stored
/// history alone: a pure function, shared by the status page, its API and `timeline`.
///
/// Rules (docs/status-page.md):
/// - The order's first stay starts at `order.first_seen`; when that status is `PREPARING` and the
///   order's submission date is earlier, at the submission date (AWS accepted the order then).
/// - Each `order.status_changed` ends a stay and starts the next; `order.not_found` starts a
///   `NOT_FOUND` stay that the next status change ends.
/// - A line item known at the baseline starts with the order; one added later starts at its
///   `line_item.added`; `line_item.removed` ends its last stay. Its first status is the `from` of
///   its first `line_item.status_changed`, else its current status in `snapshot`.
/// - Events are read in `sequence` order; an order without events has no phases.
public struct PhaseTimeline: Sendable, Equatable {
    public var orderId: String
    public var phases: [Phase]
    public var lineItems: [LineItemPhases]

    public init(orderId: String, phases: [Phase], lineItems: [LineItemPhases]) {
        self.orderId = orderId
        self.phases = phases
        self.lineItems = lineItems
    }

    static let unknown = "UNKNOWN"
    static let notFound = "NOT_FOUND"

    /// The timeline of `orderId` from its `events` (any order; sorted here by sequence) and its
    /// last stored `snapshot` (for line items' current status and the submission date).
    public static func derive(orderId: String, events: [Event], snapshot: OrderSnapshot?) -> PhaseTimeline {
        let events = events.filter { $0.order.id == orderId }.sorted { $0.sequence < $1.sequence }
        guard let first = events.first else { return PhaseTimeline(orderId: orderId, phases: [], lineItems: []) }
        let baseline = events.first { $0.type == .orderFirstSeen }
        var start = baseline?.occurredAt ?? first.occurredAt

        // The order's lane.
        var orderLane = Lane()
        let initial = baseline.map { status($0.change.to) } ?? events.first(where: { $0.type == .orderStatusChanged })
            .map { status($0.change.from) } ?? snapshot?.status ?? unknown
        if initial == "PREPARING", let submitted = snapshot?.submissionDate, submitted < start { start = submitted }
        orderLane.enter(initial, at: start)
        for event in events {
            switch event.type {
            case .orderStatusChanged: orderLane.enter(status(event.change.to), at: event.occurredAt)
            case .orderNotFound: orderLane.enter(notFound, at: event.occurredAt)
            default: break
            }
        }

        // One lane per line item, in id order.
        var ids = Set(snapshot?.lineItems.map(\.lineItemId) ?? [])
        for event in events { if let item = event.lineItem { ids.insert(item.id) } }
        let items = ids.sorted().map { id -> LineItemPhases in
            let mine = events.filter { $0.lineItem?.id == id }
            let added = mine.first { $0.type == .lineItemAdded }
            let changes = mine.filter { $0.type == .lineItemStatusChanged }
            let first = added.map { $0.lineItem?.status ?? unknown }
                ?? changes.first.map { status($0.change.from) }
                ?? snapshot?.lineItem(id)?.status ?? unknown
            var lane = Lane()
            lane.enter(first, at: added?.occurredAt ?? start)
            for change in changes { lane.enter(status(change.change.to), at: change.occurredAt) }
            if let removed = mine.last(where: { $0.type == .lineItemRemoved }) { lane.end(at: removed.occurredAt) }
            return LineItemPhases(id: id, phases: lane.phases)
        }
        return PhaseTimeline(orderId: orderId, phases: orderLane.phases, lineItems: items)
    }

    private static func status(_ value: ChangeValue) -> String {
        if case .string(let s) = value { return s }
        return unknown
    }

    /// Stays built one status entry at a time; re-entering the current status changes nothing.
    private struct Lane {
        var phases: [Phase] = []

        mutating func enter(_ status: String, at: Date) {
            if let last = phases.last, last.to == nil {
                if last.status == status { return }
                phases[phases.count - 1].to = max(at, last.from)
            }
            let from = phases.last?.to.map { max($0, at) } ?? at
            phases.append(Phase(status: status, from: from, to: nil))
        }

        mutating func end(at: Date) {
            guard let last = phases.last, last.to == nil else { return }
            phases[phases.count - 1].to = max(at, last.from)
        }
    }
}
