import WatchModel
import WatchStore

/// The shipments `status` lists under its table (docs/cli.md): every line item with a carrier
/// or tracking number, with the carrier's tracking page from the `[tracking]` templates.
enum ShipmentTable {
    /// `nil` when no watched order has a shipment.
    static func render(_ orders: [WatchedOrder], templates: TrackingTemplates) -> String? {
        var rows: [[String]] = []
        for order in orders {
            for item in order.snapshot?.lineItems ?? [] {
                guard let shipment = item.shipment else { continue }
                rows.append([order.orderId, item.lineItemId, shipment.carrier ?? "-", shipment.trackingNumber ?? "-",
                             templates.url(for: shipment) ?? "-"])
            }
        }
        guard !rows.isEmpty else { return nil }
        return Output.table(["ORDER", "LINE ITEM", "CARRIER", "TRACKING NUMBER", "TRACKING URL"], rows)
    }
}
