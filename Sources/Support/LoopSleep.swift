import NIOCore
import NIOPosix
import Synchronization

/// Sleeping on a timer of NIO's event loop instead of `Task.sleep` (docs/service.md, threads).
///
/// On Linux `Task.sleep` hands the wake-up to Dispatch, and while any such sleep is pending
/// (the hourly pruning pass always has one) Dispatch's timer thread wakes once a second: an idle
/// daemon's only wake-ups besides its own. A timer on the event loop ends in that loop's own
/// `epoll_wait`, and the task resumes on the thread that runs it.
public enum LoopSleep {
    /// The loop a timer goes on: the one running the caller (when NIO runs Swift's jobs), so the
    /// wake-up costs no hand-off, else any of NIO's.
    public static var eventLoop: any EventLoop {
        MultiThreadedEventLoopGroup.currentEventLoop ?? NIOSingletons.posixEventLoopGroup.next()
    }

    /// Suspends for `duration`; throws `CancellationError` as soon as the task is cancelled,
    /// like `Task.sleep(for:)`.
    public static func sleep(for duration: Duration) async throws {
        try await sleep(until: .now + duration)
    }

    /// Suspends until `deadline`; throws `CancellationError` as soon as the task is cancelled.
    public static func sleep(until deadline: ContinuousClock.Instant) async throws {
        let sleeper = Sleeper()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                sleeper.start(continuation, delay: deadline - .now)
            }
        } onCancel: {
            sleeper.finish(cancelled: true)
        }
    }

    /// One sleep: its continuation and timer, ended once by whichever comes first, the timer
    /// or the cancellation.
    private final class Sleeper: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Void, any Error>?
            var timer: Scheduled<Void>?
            var cancelled = false
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<Void, any Error>, delay: Duration) {
            let cancelled = state.withLock { state -> Bool in
                if !state.cancelled { state.continuation = continuation }
                return state.cancelled
            }
            guard !cancelled else { return continuation.resume(throwing: CancellationError()) }
            guard delay > .zero else { return finish(cancelled: false) }
            let timer = LoopSleep.eventLoop.scheduleTask(in: TimeAmount(delay)) { [self] in finish(cancelled: false) }
            // The timer may have fired, or the task been cancelled, before it was recorded.
            let ended = state.withLock { state -> Bool in
                guard state.continuation != nil else { return true }
                state.timer = timer
                return false
            }
            if ended { timer.cancel() }
        }

        func finish(cancelled: Bool) {
            let (continuation, timer) = state.withLock { state in
                defer {
                    state.continuation = nil
                    state.timer = nil
                    if cancelled { state.cancelled = true }
                }
                return (state.continuation, state.timer)
            }
            guard let continuation else { return }
            if cancelled {
                timer?.cancel()
                continuation.resume(throwing: CancellationError())
            } else {
                continuation.resume()
            }
        }
    }
}
