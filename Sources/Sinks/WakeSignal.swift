import Foundation
import Support

/// A wake-up that cannot be lost: a generation counter plus waiters.
///
/// A waiter remembers the generation it saw *before* looking for work; if anything bumped it
/// since, ``wait(after:timeout:)`` returns at once. So a `wake()` that lands between "the outbox
/// is empty" and "go to sleep" still wakes the sleeper, and any number of waiters see one bump.
final class WakeSignal: @unchecked Sendable {
    // Guarded by `lock`: the only shared mutable state, touched for microseconds at a time.
    private let lock = NSLock()
    private var generationValue: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiterID: UInt64 = 0

    /// The current generation; read it before checking for work.
    var generation: UInt64 { lock.withLock { generationValue } }

    /// Wakes every waiter, now and until they have looked for work again.
    func bump() {
        let resumed: [CheckedContinuation<Void, Never>] = lock.withLock {
            generationValue &+= 1
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        resumed.forEach { $0.resume() }
    }

    /// Returns once the generation differs from `seen`, after `timeout` (when given), or when
    /// the task is cancelled, whichever comes first.
    func wait(after seen: UInt64, timeout: Duration?) async {
        guard let timeout else { return await waitForBump(after: seen) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForBump(after: seen) }
            group.addTask { try? await LoopSleep.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForBump(after seen: UInt64) async {
        let id: UInt64 = lock.withLock {
            nextWaiterID &+= 1
            return nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = lock.withLock {
                    // Cancellation sets the flag before running onCancel, so checking it under the
                    // lock closes the window where onCancel ran before we registered.
                    if generationValue != seen || Task.isCancelled { return true }
                    waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = lock.withLock { waiters.removeValue(forKey: id) }
            continuation?.resume()
        }
    }
}
