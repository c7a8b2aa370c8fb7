import Foundation
import Synchronization

/// Poll times of quiet polls (``PollCommit/onlyPollTimesChanged``) not written yet, held outside
/// the store's actor: a quiet poll, by far the most common result, records its time here without
/// a hop to the store's thread, and without a transaction of its own (which would cost an fsync
/// per poll). They are written with the store's next transaction or by
/// ``StateStore/flushPollTimes()``; a crash loses at most these timestamps, never a state, an
/// event or a delivery. Reads through the store see them at once.
final class PollTimeBuffer: Sendable {
    struct Held: Equatable, Sendable {
        var polledAt: Date
        var succeededAt: Date?
    }

    private let held = Mutex<[String: Held]>([:])

    /// A quiet poll of `orderId` at `polledAt`.
    func hold(_ orderId: String, polledAt: Date, succeeded: Bool) {
        held.withLock { held in
            let earlierSuccess = held[orderId]?.succeededAt
            held[orderId] = Held(polledAt: polledAt, succeededAt: succeeded ? polledAt : earlierSuccess)
        }
    }

    subscript(orderId: String) -> Held? {
        held.withLock { $0[orderId] }
    }

    var isEmpty: Bool { held.withLock { $0.isEmpty } }

    /// What is held now, to write.
    func snapshot() -> [String: Held] {
        held.withLock { $0 }
    }

    /// `written` is committed: forgets those entries, except where a newer poll came meanwhile.
    func forget(_ written: [String: Held]) {
        guard !written.isEmpty else { return }
        held.withLock { held in
            for (orderId, times) in written where held[orderId] == times {
                held[orderId] = nil
            }
        }
    }
}
