import Foundation
import Testing
import WatchModel
import WatchStore

/// Throughput of a typical commit (one event, two deliveries) on this disk. Printed, never
/// asserted: timings depend on the machine.
@Suite(.serialized) struct MeasurementTests {
    @Test(arguments: [SynchronousMode.full, .normal])
    func commitsPerSecond(synchronous: SynchronousMode) async throws {
        try await withTemporaryDirectory { dir in
            let store = try StateStore(path: dir + "/s.db", options: StoreOptions(synchronous: synchronous))
            let commits = 300
            let started = ContinuousClock.now
            for round in 0..<commits {
                _ = try await store.commit(Sample.success(at: Double(round), events: [Sample.event(at: Double(round))]),
                                           route: Sample.twoSinks)
            }
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("synchronous=\(synchronous.rawValue) in \(dir): \(commits) commits in \(elapsed): \(Int(Double(commits) / seconds)) commits/s")
            #expect(try await store.watchedOrder(Sample.orderA)?.lastSequence == Int64(commits))
            #expect(try await store.pendingCounts() == ["journald": commits, "ops": commits])
        }
    }
}
