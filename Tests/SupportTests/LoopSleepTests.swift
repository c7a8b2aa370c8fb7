import Support
import Synchronization
import Testing

/// `LoopSleep`: the daemon's sleeps on an event loop timer (docs/service.md, threads) keep
/// `Task.sleep`'s contract: at least the duration, and `CancellationError` when cancelled.
@Suite struct LoopSleepTests {
    @Test func sleepsAtLeastTheDuration() async throws {
        let start = ContinuousClock.now
        try await LoopSleep.sleep(for: .milliseconds(60))
        #expect(ContinuousClock.now - start >= .milliseconds(60))
    }

    @Test func aDeadlineInThePastReturnsAtOnce() async throws {
        try await LoopSleep.sleep(until: .now - .seconds(1))
        try await LoopSleep.sleep(for: .zero)
    }

    @Test func cancellationEndsALongSleepWithCancellationError() async throws {
        let sleeper = Task { () -> (any Error)? in
            do {
                try await LoopSleep.sleep(for: .seconds(3600))
                return nil
            } catch {
                return error
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        sleeper.cancel()
        // An hour's sleep that ignored the cancellation would hang the suite: the watchdog fails
        // the test instead, long after a cancelled sleep must have ended.
        let outcome = await firstOf({ await sleeper.value }, orAfter: .seconds(30))
        let error = try #require(outcome, "the cancelled sleep did not end within 30 s")
        #expect(error is CancellationError)
    }

    @Test func anAlreadyCancelledTaskDoesNotSleep() async throws {
        let sleeper = Task { () -> (any Error)? in
            withUnsafeCurrentTask { $0?.cancel() }
            do {
                try await LoopSleep.sleep(for: .seconds(3600))
                return nil
            } catch {
                return error
            }
        }
        let outcome = await firstOf({ await sleeper.value }, orAfter: .seconds(30))
        let error = try #require(outcome, "the sleep of a cancelled task did not end within 30 s")
        #expect(error is CancellationError)
    }

    @Test func manySleepsEndInDeadlineOrder() async throws {
        let order = Recorder()
        await withTaskGroup(of: Void.self) { group in
            for index in [3, 1, 2] {
                group.addTask {
                    try? await LoopSleep.sleep(for: .milliseconds(40 * index))
                    order.append(index)
                }
            }
        }
        #expect(order.values == [1, 2, 3])
    }

    /// The value of `body`, or `nil` when `timeout` passes first.
    private func firstOf<T: Sendable>(_ body: @escaping @Sendable () async -> T,
                                      orAfter timeout: Duration) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await body() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

private final class Recorder: Sendable {
    private let stored = Mutex<[Int]>([])
    func append(_ value: Int) { stored.withLock { $0.append(value) } }
    var values: [Int] { stored.withLock { $0 } }
}
