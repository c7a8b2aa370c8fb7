import Foundation
import WatchModel

extension StateStore {
    /// Every delivery of one order's events, oldest first (the status page's order view).
    public func deliveries(orderId: String) throws -> [Delivery] {
        try db.query("""
            SELECT \(Self.deliveryColumns)
            WHERE e.order_id = ?1
            ORDER BY d.id
            """, [orderId]).map(delivery(from:))
    }
}
