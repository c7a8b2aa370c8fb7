import Dispatch
import Synchronization

/// How the poll loop sleeps until its next wake-up (docs/service.md): one dispatch timer per
/// loop, re-armed for each sleep, and a continuation a completion can resume early. No task is
/// created per sleep, so a loop woken a hundred times a second costs no task hand-off for it.
final class LoopAlarm: Sendable {
    private let waiter = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let timer: TimerSource

    init() {
        timer = TimerSource()
        timer.setHandler { [weak self] in self?.ring() }
    }

    deinit {
        timer.cancel()
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
                waiter.withLock { $0 = continuation }
                let nanoseconds = remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000
                timer.arm(after: .nanoseconds(Int(min(nanoseconds, Int64(Int.max / 2)))))
            }
        } onCancel: {
            ring()
        }
    }

    /// Ends the current sleep now; nothing when the loop is not sleeping.
    func ring() {
        waiter.withLock { waiter -> CheckedContinuation<Void, Never>? in
            defer { waiter = nil }
            return waiter
        }?.resume()
    }
}

/// A `DispatchSourceTimer` re-armed for each sleep; its calls are serialised by the loop (one
/// sleep at a time) and by Dispatch.
private final class TimerSource: @unchecked Sendable {
    private let source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "outpostwatch.loop-alarm"))

    init() {
        source.schedule(deadline: .distantFuture)
        source.activate()
    }

    func setHandler(_ handler: @escaping @Sendable () -> Void) {
        source.setEventHandler(handler: handler)
    }

    func arm(after interval: DispatchTimeInterval) {
        source.schedule(deadline: .now() + interval, leeway: .milliseconds(1))
    }

    func cancel() {
        source.cancel()
    }
}
