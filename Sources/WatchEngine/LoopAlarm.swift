import NIOCore
import Support
import Synchronization

/// How the poll loop sleeps until its next wake-up (docs/service.md, threads): a timer on one of
/// NIO's event loops (the one running the loop when NIO runs Swift's jobs, so the sleep ends in
/// that loop's own `epoll_wait` and costs no thread hand-off), and a continuation a completion
/// can resume early. No task is created per sleep.
final class LoopAlarm: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Void, Never>?
        var timer: Scheduled<Void>?
        /// Which sleep the timer belongs to: a timer of an earlier sleep that fires late (its
        /// cancellation raced with it) must not end a later one.
        var sleep: UInt64 = 0
    }

    private let state = Mutex(State())

    deinit {
        state.withLock { $0.timer?.cancel() }
    }

    /// Suspends until `deadline`, ``ring()`` or the task's cancellation, whichever comes first.
    /// Only one sleeper at a time (the loop).
    func sleep(until deadline: ContinuousClock.Instant) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let remaining = deadline - .now
                guard !Task.isCancelled, remaining > .zero else {
                    continuation.resume()
                    return
                }
                let sleep = state.withLock { state -> UInt64 in
                    state.sleep &+= 1
                    state.waiter = continuation
                    return state.sleep
                }
                let timer = LoopSleep.eventLoop.scheduleTask(in: TimeAmount(remaining)) { [weak self] in
                    self?.ring(sleep: sleep) ?? ()
                }
                let stale = state.withLock { state -> Bool in
                    guard state.sleep == sleep, state.waiter != nil else { return true }
                    state.timer = timer
                    return false
                }
                if stale { timer.cancel() }
            }
        } onCancel: {
            ring()
        }
    }

    /// Ends the current sleep now; nothing when the loop is not sleeping.
    func ring() {
        ring(sleep: nil)
    }

    private func ring(sleep: UInt64?) {
        let (waiter, timer) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Scheduled<Void>?) in
            if let sleep, sleep != state.sleep { return (nil, nil) }
            defer {
                state.waiter = nil
                state.timer = nil
            }
            return (state.waiter, state.timer)
        }
        if sleep == nil { timer?.cancel() }
        waiter?.resume()
    }
}
