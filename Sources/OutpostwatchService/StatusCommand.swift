import Foundation
import WatchModel
import WatchReport
import WatchStore

extension Commands {
    // MARK: status

    /// One row per watched order (``StatusRow``): status, line items by status, last poll, last
    /// change, failures; only `account`'s orders with `--account`. With `orderId`, that one order
    /// in detail (its account, region and quote ids among the rest), watched or not.
    public static func status(configPath: String, json: Bool, account: String? = nil,
                              orderId: String? = nil) async throws {
        let settings = try loadSettings(path: configPath)
        let store = try openReadOnly(settings)
        let filter = try await AccountFilter.load(account, settings: settings, store: store)
        if let orderId {
            guard let watched = try await store.watchedOrder(orderId), filter.map({ $0.name == watched.account }) ?? true
            else {
                let scope = filter.map { " of account \($0.name)" } ?? ""
                throw CommandFailure(.failure, "no order \(orderId)\(scope) in \(settings.storage.location)")
            }
            var row = StatusRow(watched, tracking: settings.tracking)
            row.stalled = try await store.stalledOrders().contains(orderId)
            if json { return try Output.json(row) }
            Output.line(StatusView.detail(row))
            if let shipments = ShipmentTable.render([row]) { Output.line("\n" + shipments) }
            return
        }
        let rows = try await StatusRow.active(in: store, account: filter?.name, tracking: settings.tracking)
        if json { return try Output.json(rows) }
        if rows.isEmpty {
            return Output.line(filter.map { "no watched orders in account \($0.name)" } ?? "no watched orders")
        }
        Output.line(StatusView.table(rows))
        if let shipments = ShipmentTable.render(rows) {
            Output.line("\n" + shipments)
        }
    }
}

/// The terminal forms of `status` (docs/cli.md).
package enum StatusView {
    /// One line per order; an `ACCOUNT` column when the rows belong to more than one account.
    package static func table(_ rows: [StatusRow]) -> String {
        let showAccount = Set(rows.map(\.account)).count > 1
        var header = ["ORDER", "LABEL", "STATUS", "LINE ITEMS", "LAST POLL", "LAST CHANGE", "FAILURES"]
        if showAccount { header.insert("ACCOUNT", at: 2) }
        return Output.table(header, rows.map { r in
            var cells = [r.orderId, r.label ?? "-", (r.status ?? "-") + (r.stalled ? " (stalled)" : ""),
                         lineItems(r), Output.time(r.lastPollAt), Output.time(r.lastChangeAt), failures(r)]
            if showAccount { cells.insert(r.account, at: 2) }
            return cells
        })
    }

    /// `status ORDER_ID`: one `Title: value` line per fact, leaving out what the order lacks.
    package static func detail(_ r: StatusRow) -> String {
        var facts: [(String, String)] = [("Order", r.orderId)]
        if let label = r.label { facts.append(("Label", label)) }
        facts.append(("Account", r.account + (r.region.map { " (\($0))" } ?? "")))
        if let outpost = r.outpostId { facts.append(("Outpost", outpost)) }
        facts.append(("Status", (r.status ?? "-") + (r.stalled ? " (stalled)" : "")))
        if let quote = r.quoteId { facts.append(("Quote id", quote)) }
        if let option = r.quoteOptionId { facts.append(("Quote option id", option)) }
        facts.append(("Line items", lineItems(r)))
        facts.append(("Last poll", Output.time(r.lastPollAt)))
        facts.append(("Last success", Output.time(r.lastSuccessAt)))
        facts.append(("Last change", Output.time(r.lastChangeAt)))
        facts.append(("Failures", failures(r)))
        if let error = r.lastError { facts.append(("Last error", error)) }
        facts.append(("Source", r.source + (r.active ? "" : " (no longer watched)")))
        let width = facts.map { $0.0.count }.max() ?? 0
        return facts.map { title, value in
            title + ":" + String(repeating: " ", count: width - title.count + 2) + value
        }.joined(separator: "\n")
    }

    /// `1 BUILDING, 2 SHIPPED`, or `-`.
    static func lineItems(_ r: StatusRow) -> String {
        let items = r.lineItemsByStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        return items.isEmpty ? "-" : items.joined(separator: ", ")
    }

    /// `0`, or `3 (failing)`.
    static func failures(_ r: StatusRow) -> String {
        r.consecutiveFailures == 0 ? "0" : "\(r.consecutiveFailures)\(r.failing ? " (failing)" : "")"
    }
}
