import Foundation
import Mustache
import WatchModel
import WatchReport

/// Renders the status page's HTML (docs/status-page.md) from the read models of ``WatchReport``
/// with swift-mustache, whose default escaping makes every value text.
public struct StatusPageRenderer: Sendable {
    private let library: MustacheLibrary
    /// Where tracking numbers link to (`[tracking]`, docs/configuration.md).
    private let tracking: TrackingTemplates

    public init(tracking: TrackingTemplates = .builtIn) {
        self.tracking = tracking
        var library = MustacheLibrary()
        do {
            try library.register(Templates.head, named: "head")
            try library.register(Templates.index, named: "index")
            try library.register(Templates.order, named: "order")
            try library.register(Templates.notFound, named: "notFound")
        } catch {
            // The templates are constants of this file's module: a parse error is a programming error.
            preconditionFailure("status page template does not parse: \(error)")
        }
        self.library = library
    }

    /// `GET /`: one row per order, what needs attention first (``Attention``); an account column
    /// when the orders belong to more than one account.
    public func index(rows: [StatusRow], now: Date) -> String {
        let sorted = Attention.sorted(rows)
        let showAccount = Set(rows.map(\.account)).count > 1
        let failing = rows.filter(\.failing).count
        let notFound = rows.filter(\.notFound).count
        var summary = "\(rows.count) order\(rows.count == 1 ? "" : "s") watched"
        if failing > 0 { summary += ", \(failing) failing" }
        if notFound > 0 { summary += ", \(notFound) not found" }
        let context: [String: Any] = [
            "title": "outpostwatch: \(summary)",
            "summary": summary,
            "nowISO": ISO8601.format(now),
            "palette": Self.palette,
            "hasRows": !rows.isEmpty,
            "showAccount": showAccount,
            "rows": sorted.map { RowView($0, now: now, showAccount: showAccount) },
        ]
        return library.render(context, withTemplate: "index") ?? ""
    }

    /// `GET /orders/ORDER_ID`: the timeline picture, line items, events and their deliveries.
    public func order(_ detail: OrderDetail) -> String {
        var context = PageViews.order(detail, tracking: tracking)
        context["palette"] = Self.palette
        return library.render(context, withTemplate: "order") ?? ""
    }

    /// The 404 page of an order the store does not know.
    public func notFound(orderId: String, now: Date) -> String {
        let context: [String: Any] = ["title": "outpostwatch: no order", "orderId": orderId,
                                      "nowISO": ISO8601.format(now), "palette": Self.palette]
        return library.render(context, withTemplate: "notFound") ?? ""
    }

    private static var palette: [[String: Any]] { StatusPalette.colors.enumerated().map { ["index": $0.offset, "color": $0.element] } }
}
