import Synchronization

/// Runs `operation` in a task of its own and waits for it, but stops waiting the moment the caller
/// is cancelled (the operation is cancelled too and its late result discarded).
///
/// Why: shutdown must be prompt even when a GetOrder call ignores cancellation (a stuck
/// connection, a source that does not check); waiting for it would hold SIGTERM hostage.
/// Returns `nil` when cancelled.
func abandoningOnCancel<Value: Sendable>(
    _ operation: @escaping @Sendable () async throws -> Value
) async -> Result<Value, any Error>? {
    let slot = OneShot<Result<Value, any Error>>()
    let work = Task {
        let result: Result<Value, any Error>
        do { result = .success(try await operation()) } catch { result = .failure(error) }
        slot.finish(result)
    }
    return await withTaskCancellationHandler {
        await withCheckedContinuation { slot.wait($0) }
    } onCancel: {
        work.cancel()
        slot.finish(nil)
    }
}

/// A value delivered at most once to one waiter; whoever finishes first wins.
private final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case pending(CheckedContinuation<Value?, Never>?)
        case finished(Value?)
    }

    private let state = Mutex<State>(.pending(nil))

    func wait(_ continuation: CheckedContinuation<Value?, Never>) {
        let ready: Value?? = state.withLock { state in
            switch state {
            case .pending:
                state = .pending(continuation)
                return .none
            case .finished(let value):
                return .some(value)
            }
        }
        if let ready { continuation.resume(returning: ready) }
    }

    func finish(_ value: Value?) {
        let waiter: CheckedContinuation<Value?, Never>?? = state.withLock { state in
            guard case .pending(let continuation) = state else { return .none }
            state = .finished(value)
            return .some(continuation)
        }
        if case .some(.some(let continuation)) = waiter { continuation.resume(returning: value) }
    }
}
