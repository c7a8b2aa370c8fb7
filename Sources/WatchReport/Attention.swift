import Foundation
import WatchModel

/// The order of the status page's rows: what needs attention first (docs/status-page.md).
public enum Attention {
    /// 0 not found or failing, 1 stalled or polls failing (not yet `failing`), 2 in progress, 3 finished
    /// (COMPLETED, CANCELLED, FULFILLED), 4 never polled successfully and not failing.
    public static func rank(_ row: StatusRow) -> Int {
        if row.notFound || row.failing { return 0 }
        if row.stalled || row.consecutiveFailures > 0 { return 1 }
        guard row.status != nil else { return 4 }
        return OrderSnapshot.isTerminal(status: row.status) ? 3 : 2
    }

    /// `rows` by rank, then the latest change first, then order id.
    public static func sorted(_ rows: [StatusRow]) -> [StatusRow] {
        // Sorts small keys, not the rows themselves (a row is large to copy).
        let keys = rows.indices.map { (rank: rank(rows[$0]), change: rows[$0].lastChangeAt ?? .distantPast, index: $0) }
        return keys.sorted { a, b in
            if a.rank != b.rank { return a.rank < b.rank }
            if a.change != b.change { return a.change > b.change }
            return rows[a.index].orderId < rows[b.index].orderId
        }.map { rows[$0.index] }
    }
}
