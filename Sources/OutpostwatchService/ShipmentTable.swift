import WatchReport

/// The shipments `status` lists under its table (docs/cli.md): every line item with a carrier
/// or tracking number, with the carrier's tracking page, as the status rows already carry them
/// (``ShipmentRow``: the links come from the `[tracking]` templates once, there).
enum ShipmentTable {
    /// `nil` when no watched order has a shipment.
    static func render(_ rows: [StatusRow]) -> String? {
        let lines = rows.flatMap { row in
            row.shipments.map { [row.orderId, $0.lineItemId, $0.carrier ?? "-", $0.trackingNumber ?? "-", $0.trackingURL ?? "-"] }
        }
        guard !lines.isEmpty else { return nil }
        return Output.table(["ORDER", "LINE ITEM", "CARRIER", "TRACKING NUMBER", "TRACKING URL"], lines)
    }
}
