import Foundation
import WatchModel

/// The order of the status page's rows: what needs attention first (docs/status-page.md).
public enum Attention {
    /// 0 not found or failing, 1 polls failing (not yet `failing`), 2 in progress, 3 finished
    /// (COMPLETED, CANCELLED, FULFILLED), 4 never polled successfully and not failing.
    public static func rank(_ row: StatusRow) -> Int {
        if row.notFound || row.failing { return 0 }
        if row.consecutiveFailures > 0 { return 1 }
        guard row.status != nil else { return 4 }
        return OrderSnapshot.isTerminal(status: row.status) ? 3 : 2
    }

    /// `rows` by rank, then the latest change first, then order id.
    public static func sorted(_ rows: [StatusRow]) -> [StatusRow] {
        rows.sorted { a, b in
            let (ra, rb) = (rank(a), rank(b))
            if ra != rb { return ra < rb }
            let (ca, cb) = (a.lastChangeAt ?? .distantPast, b.lastChangeAt ?? .distantPast)
            if ca != cb { return ca > cb }
            return a.orderId < b.orderId
        }
    }
}
