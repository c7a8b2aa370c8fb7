import Foundation
import WatchModel
import WatchStore

/// One watched order as the state metrics show it (docs/metrics.md).
package struct OrderStateSample: Sendable, Equatable {
    /// The name of the account that watches the order.
    package var account: String
    package var orderId: String
    package var outpostId: String?
    package var label: String?
    /// The current status; `NOT_FOUND` while GetOrder answers NotFoundException, `UNKNOWN` before
    /// the first successful poll.
    package var status: String
    /// When the current status began; `nil` when the history does not say (never polled).
    package var since: Date?
    package var lineItems: [(id: String, status: String)]
    package var stalled: Bool

    package init(account: String = WatchedOrder.defaultAccount, orderId: String, outpostId: String?, label: String?,
                 status: String, since: Date?, lineItems: [(id: String, status: String)], stalled: Bool) {
        self.account = account
        self.orderId = orderId
        self.outpostId = outpostId
        self.label = label
        self.status = status
        self.since = since
        self.lineItems = lineItems
        self.stalled = stalled
    }

    /// The sample of a stored order. `since` is the time of the event that set the status; for
    /// an order first seen in `PREPARING`, its submission date when that is earlier (AWS accepted
    /// the order then, before outpostwatch first saw it).
    package init(_ order: WatchedOrder, start: StatusStart?, stalled: Bool) {
        let status = order.notFound ? "NOT_FOUND" : order.snapshot?.status ?? "UNKNOWN"
        var since = start?.at
        if start?.type == .orderFirstSeen, status == "PREPARING", let submitted = order.snapshot?.submissionDate,
           let seen = since, submitted < seen {
            since = submitted
        }
        self.init(account: order.account, orderId: order.orderId, outpostId: order.snapshot?.outpostId, label: order.label, status: status,
                  since: since,
                  lineItems: (order.snapshot?.lineItems ?? []).map { ($0.lineItemId, $0.status ?? "UNKNOWN") },
                  stalled: stalled)
    }

    package static func == (a: Self, b: Self) -> Bool {
        a.account == b.account && a.orderId == b.orderId && a.outpostId == b.outpostId && a.label == b.label && a.status == b.status
            && a.since == b.since && a.stalled == b.stalled
            && a.lineItems.map(\.id) == b.lineItems.map(\.id) && a.lineItems.map(\.status) == b.lineItems.map(\.status)
    }
}

/// The per-order state series in the kube-state-metrics style (docs/metrics.md): one series per
/// order with its current status as a label and the value 1, so a status change replaces the
/// series and an order no longer watched has none. A pure function of the samples.
package enum OrderStateMetrics {
    package static func render(_ orders: [OrderStateSample], failing: Int, version: String,
                               into out: inout Exposition) {
        out.family("outpostwatch_build_info", "gauge", "Always 1; the version of the running daemon.")
        out.sample("outpostwatch_build_info", ["version": version], 1)

        out.family("outpostwatch_order_status", "gauge", "1 for the current status of each watched order.")
        for o in orders {
            out.sample("outpostwatch_order_status", [("account", o.account), ("order_id", o.orderId),
                                                     ("outpost_id", o.outpostId ?? ""), ("label", o.label ?? ""),
                                                     ("status", o.status)], 1)
        }
        out.family("outpostwatch_order_status_since_timestamp_seconds", "gauge",
                   "Unix time at which each watched order entered its current status.")
        for o in orders {
            guard let since = o.since else { continue }
            out.sample("outpostwatch_order_status_since_timestamp_seconds",
                       [("account", o.account), ("order_id", o.orderId)], since.timeIntervalSince1970)
        }
        out.family("outpostwatch_line_item_status", "gauge", "1 for the current status of each line item of a watched order.")
        for o in orders {
            for item in o.lineItems {
                out.sample("outpostwatch_line_item_status", [("account", o.account), ("order_id", o.orderId),
                                                             ("line_item_id", item.id), ("status", item.status)], 1)
            }
        }
        out.family("outpostwatch_order_stalled", "gauge",
                   "1 while a watched order (or one of its line items) is in a reported stall, else 0.")
        for o in orders {
            out.sample("outpostwatch_order_stalled", [("account", o.account), ("order_id", o.orderId)], o.stalled ? 1 : 0)
        }
        out.family("outpostwatch_orders_failing", "gauge", "Watched orders whose polls are failing (watch.failing and no recovery yet).")
        out.sample("outpostwatch_orders_failing", [:], Double(failing))
    }
}
