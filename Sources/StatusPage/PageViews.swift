import Foundation
import WatchModel
import WatchReport

/// The template contexts of the status page: plain dictionaries of already formatted values.
enum PageViews {
    /// `{iso, ago}` of an instant, or `nil`.
    static func time(_ date: Date?, now: Date) -> [String: Any]? {
        guard let date else { return nil }
        return ["iso": ISO8601.format(date), "ago": RelativeTime.describe(date, now: now)]
    }

    /// `/orders/ORDER_ID`, the id percent-encoded.
    static func href(_ orderId: String) -> String { "/orders/" + TrackingTemplates.percentEncoded(orderId) }

    /// The facts of the order page's header: what `/` shows of the order, and more.
    static func header(_ r: StatusRow, now: Date) -> [String: Any] {
        let status = r.status ?? "UNKNOWN"
        var view: [String: Any] = [
            "orderId": r.orderId, "status": status, "colorIndex": StatusPalette.index(for: status),
            "notFound": r.notFound, "failing": r.failing,
        ]
        if let label = r.label { view["label"] = label }
        if let outpost = r.outpostId { view["outpostId"] = outpost }
        view["account"] = r.account
        if let region = r.region { view["region"] = region }
        if let quote = r.quoteId { view["quoteId"] = quote }
        if let option = r.quoteOptionId { view["quoteOptionId"] = option }
        if let error = r.lastError { view["lastError"] = error }
        if let change = time(r.lastChangeAt, now: now) { view["change"] = change }
        if let poll = time(r.lastPollAt, now: now) { view["poll"] = poll }
        return view
    }

    static func order(_ d: OrderDetail, tracking: TrackingTemplates) -> [String: Any] {
        let now = d.now
        var view = header(d.row, now: now)
        view["title"] = "outpostwatch: \(d.row.label ?? d.row.orderId)"
        view["heading"] = d.row.label ?? d.row.orderId
        view["nowISO"] = ISO8601.format(now)
        if !d.timeline.phases.isEmpty { view["svg"] = svg(TimelineGeometry.layout(d.timeline, now: now, width: 1140), now: now) }
        let items = (d.snapshot?.lineItems ?? []).map { lineItem($0, tracking: tracking) }
        view["hasLineItems"] = !items.isEmpty
        view["lineItems"] = items
        let events = d.events.reversed().map { event(in: d, $0) }
        view["hasEvents"] = !events.isEmpty
        view["events"] = events
        return view
    }

    static func lineItem(_ item: LineItemSnapshot, tracking: TrackingTemplates) -> [String: Any] {
        let status = item.status ?? "UNKNOWN"
        var view: [String: Any] = [
            "id": item.lineItemId, "status": status, "colorIndex": StatusPalette.index(for: status),
            "assets": item.assets.map { asset -> [String: Any] in
                ["assetId": asset.assetId ?? "(no asset id)", "macs": asset.macAddresses]
            },
        ]
        if let catalog = item.catalogItemId { view["catalogItemId"] = catalog }
        if let quantity = item.quantity { view["quantity"] = quantity }
        if let carrier = item.shipment?.carrier { view["carrier"] = carrier }
        if let number = item.shipment?.trackingNumber { view["trackingNumber"] = number }
        if let url = tracking.url(for: item.shipment) {
            view["trackingUrl"] = url
        }
        return view
    }

    static func event(in d: OrderDetail, _ e: Event) -> [String: Any] {
        var view: [String: Any] = [
            "id": e.id, "sequence": e.sequence, "type": e.type.rawValue,
            "iso": ISO8601.format(e.occurredAt), "ago": RelativeTime.describe(e.occurredAt, now: d.now),
            "from": e.change.from.display, "to": e.change.to.display,
            "deliveries": (d.deliveries[e.id] ?? []).map { delivery($0, now: d.now) },
        ]
        if let item = e.lineItem?.id { view["lineItemId"] = item }
        if let error = e.error { view["error"] = error }
        return view
    }

    /// "delivered 2 hours ago", "pending, attempt 3 failed (HTTP 503), next in 4 minutes", "failed: …".
    static func delivery(_ r: DeliveryRow, now: Date) -> [String: Any] {
        var detail: String
        switch r.state {
        case "delivered":
            detail = "delivered" + (r.deliveredAt.map { " " + RelativeTime.describe($0, now: now) } ?? "")
        case "pending":
            detail = r.attempts == 0 ? "pending" : "pending after \(r.attempts) attempt\(r.attempts == 1 ? "" : "s")"
            if let next = r.nextAttemptAt { detail += ", next attempt \(RelativeTime.describe(next, now: now)) (\(ISO8601.format(next)))" }
            if let error = r.lastError { detail += ": \(error)" }
        default:
            detail = "failed" + (r.lastStatus.map { " (HTTP \($0))" } ?? "") + (r.lastError.map { ": \($0)" } ?? "")
        }
        return ["sink": r.sink, "state": r.state, "detail": detail]
    }

    static func svg(_ g: TimelineGeometry, now: Date) -> [String: Any] {
        func n(_ v: Double) -> String { String(format: "%.1f", v) }
        let bottom = g.height - 22
        let span = g.end.timeIntervalSince(g.start)
        return [
            "width": n(g.width), "height": n(g.height), "nowX": n(g.nowX), "bottom": n(bottom),
            "nowLabelY": n(g.height - 8),
            "ticks": g.ticks.map { tick -> [String: Any] in
                ["x": n(tick.x), "label": TimelineGeometry.tickLabel(tick.date, span: span)]
            },
            "lanes": g.lanes.map { lane -> [String: Any] in
                let title = lane.title.count > 24 ? String(lane.title.prefix(23)) + "…" : lane.title
                return [
                    "title": title, "textY": n(lane.y + TimelineGeometry.laneHeight / 2 + 4),
                    "segments": lane.segments.map { s -> [String: Any] in
                        let to = s.to.map(ISO8601.format) ?? "now"
                        // The start date next to the status when both fit in the segment.
                        let since = TimelineGeometry.tickLabel(s.from, span: span)
                        let dateFits = Double(s.status.count + 3 + since.count) * TimelineGeometry.characterWidth + 8 <= s.width
                        let duration = RelativeTime.compact((s.to ?? now).timeIntervalSince(s.from))
                        return [
                            "status": s.status, "x": n(s.x), "y": n(lane.y), "width": n(s.width),
                            "height": n(TimelineGeometry.laneHeight), "color": StatusPalette.colors[s.colorIndex],
                            "labelFits": s.labelFits, "dateFits": dateFits, "since": since, "textX": n(s.x + 5),
                            "textY": n(lane.y + TimelineGeometry.laneHeight / 2 + 4),
                            "tooltip": "\(s.status): \(ISO8601.format(s.from)) to \(to) (\(duration))",
                        ]
                    },
                ]
            },
            "legend": g.legend.map { ["status": $0, "colorIndex": StatusPalette.index(for: $0)] },
        ]
    }
}
