import Foundation
import Mustache
import WatchModel
import WatchReport

/// One row of `/` for the template. A struct answering lookups with a `switch` rather than a
/// dictionary: `/` has a row per order, and the template engine's cost is per lookup.
struct RowView: MustacheParent {
    let orderId: String
    let href: String
    let rowClass: String
    let status: String
    let colorIndex: Int
    let label: String?
    let outpostId: String?
    let account: String
    /// Whether the page has an account column (the rows belong to more than one account).
    let showAccount: Bool
    let markers: [[String: Any]]
    let items: [ChipView]
    let changeISO: String
    let changeAgo: String
    let pollISO: String
    let pollAgo: String

    init(_ r: StatusRow, now: Date, showAccount: Bool = false) {
        orderId = r.orderId
        href = PageViews.href(r.orderId)
        rowClass = Attention.rank(r) <= 1 ? "order attention" : "order"
        status = r.status ?? "UNKNOWN"
        colorIndex = StatusPalette.index(for: status)
        label = r.label
        outpostId = r.outpostId
        account = r.account
        self.showAccount = showAccount
        var markers: [[String: Any]] = []
        if r.notFound { markers.append(["kind": "notfound", "text": "not found", "title": ""]) }
        if r.failing { markers.append(["kind": "failing", "text": "failing", "title": r.lastError ?? ""]) }
        if !r.failing, r.consecutiveFailures > 0 {
            markers.append(["kind": "errors", "text": "\(r.consecutiveFailures) failed poll\(r.consecutiveFailures == 1 ? "" : "s")",
                            "title": r.lastError ?? ""])
        }
        if r.stalled { markers.append(["kind": "stalled", "text": "stalled", "title": ""]) }
        self.markers = markers
        items = r.lineItemsByStatus.sorted { $0.key < $1.key }.map { ChipView(status: $0.key, count: $0.value) }
        changeISO = r.lastChangeAt.map(ISO8601.format) ?? ""
        changeAgo = r.lastChangeAt.map { RelativeTime.describe($0, now: now) } ?? "never"
        pollISO = r.lastPollAt.map(ISO8601.format) ?? ""
        pollAgo = r.lastPollAt.map { RelativeTime.describe($0, now: now) } ?? "never"
    }

    func child(named name: String) -> Any? {
        switch name {
        case "orderId": return orderId
        case "href": return href
        case "rowClass": return rowClass
        case "status": return status
        case "colorIndex": return colorIndex
        case "label": return label
        case "hasLabel": return label != nil
        case "outpostId": return outpostId
        case "hasOutpost": return outpostId != nil
        case "account": return account
        case "showAccount": return showAccount
        case "markers": return markers
        case "items": return items
        case "changeISO": return changeISO
        case "changeAgo": return changeAgo
        case "pollISO": return pollISO
        case "pollAgo": return pollAgo
        default: return nil
        }
    }
}

/// "2 SHIPPED" with its colour.
struct ChipView: MustacheParent {
    let status: String
    let count: Int

    func child(named name: String) -> Any? {
        switch name {
        case "status": return status
        case "count": return count
        case "colorIndex": return StatusPalette.index(for: status)
        default: return nil
        }
    }
}
