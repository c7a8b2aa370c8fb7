import Foundation
import Support
import WatchConfig
import WatchModel

/// Decides stalls (docs/events.md, `order.stalled` and `line_item.stalled`), as a pure function
/// of the stored state and history: which stays have passed their threshold and were not yet
/// reported, and when the next one will.
///
/// A stay begins when the history saw its status begin: the last event that set the status
/// (`order.status_changed`, `line_item.status_changed`, `line_item.added`), else the first poll
/// (`OrderSubmissionDate` for an order first seen in PREPARING, else the first-seen time). A stay
/// is reported once: a stalled event of the same status at or after the stay's start is in the
/// history, which the store keeps across restarts and reloads.
public enum StallDetector {
    public struct Result: Sendable, Equatable {
        /// Stalled events to commit now (unnumbered).
        public var events: [Event]
        /// When the next unreported stay passes its threshold; `nil` when none will.
        public var nextDeadline: Date?
    }

    /// - Parameters:
    ///   - history: the order's events, oldest first.
    ///   - context: label, account and region, carried in the events as in every event of the order.
    public static func evaluate(snapshot: OrderSnapshot, context: OrderContext, history: [Event], rules: StallSettings,
                                now: Date) -> Result {
        var result = Result(events: [], nextDeadline: nil)
        guard !rules.isEmpty, let firstSeen = history.first(where: { $0.type == .orderFirstSeen }) else { return result }
        let order = context.ref(snapshot)

        func consider(status: String?, since: Date, threshold: StallSettings.Threshold?, reported: Bool,
                      make: (Stall) -> Event) {
            guard let status, let threshold, !reported else { return }
            let deadline = since.addingTimeInterval(threshold.duration.seconds)
            if deadline <= now {
                result.events.append(make(Stall(status: status, since: since, threshold: threshold.text)))
            } else {
                result.nextDeadline = min(result.nextDeadline ?? deadline, deadline)
            }
        }

        if let status = snapshot.status, !snapshot.isTerminal {
            let since = orderStaySince(status: status, snapshot: snapshot, history: history, firstSeen: firstSeen)
            let reported = history.contains {
                $0.type == .orderStalled && stalledStatus($0) == status && $0.occurredAt >= since
            }
            consider(status: status, since: since, threshold: rules.order[status], reported: reported) { stall in
                Event(type: .orderStalled, occurredAt: now, order: order,
                      change: Change(field: .stalled, from: .null, to: .stall(stall)))
            }
        }
        for item in snapshot.lineItems {
            guard let status = item.status else { continue }
            let since = lineItemStaySince(item.lineItemId, status: status, history: history, firstSeen: firstSeen)
            let reported = history.contains {
                $0.type == .lineItemStalled && $0.lineItem?.id == item.lineItemId && stalledStatus($0) == status
                    && $0.occurredAt >= since
            }
            consider(status: status, since: since, threshold: rules.lineItem[status], reported: reported) { stall in
                Event(type: .lineItemStalled, occurredAt: now, order: order, lineItem: LineItemRef(item),
                      change: Change(field: .stalled, from: .null, to: .stall(stall)))
            }
        }
        return result
    }

    /// When the order's current stay in `status` began.
    static func orderStaySince(status: String, snapshot: OrderSnapshot, history: [Event], firstSeen: Event) -> Date {
        if let change = history.last(where: { $0.type == .orderStatusChanged && $0.change.to == .string(status) }) {
            return change.occurredAt
        }
        if status == "PREPARING", let submitted = snapshot.submissionDate { return submitted }
        return firstSeen.occurredAt
    }

    /// When a line item's current stay in `status` began.
    static func lineItemStaySince(_ id: String, status: String, history: [Event], firstSeen: Event) -> Date {
        let entered = history.last {
            $0.lineItem?.id == id && (($0.type == .lineItemStatusChanged && $0.change.to == .string(status))
                                      || $0.type == .lineItemAdded)
        }
        return entered?.occurredAt ?? firstSeen.occurredAt
    }

    private static func stalledStatus(_ event: Event) -> String? {
        if case .stall(let stall) = event.change.to { return stall.status }
        return nil
    }
}
