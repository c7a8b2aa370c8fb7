import Foundation
import Testing
import WatchModel
import WatchStore

/// Throughput of a typical commit (one event, two deliveries) on this disk. Printed, never
/// asserted: timings depend on the machine.
@Suite(.serialized) struct StoreBenchmarks {
    @Test(arguments: [SynchronousMode.full, .normal])
    func commitsPerSecond(synchronous: SynchronousMode) async throws {
        try await withBenchStore(options: StoreOptions(synchronous: synchronous)) { store, dir in
            try await store.syncWatchSet([(id: benchOrderId, label: "Seattle rack 2")], source: .config)
            let commits = 300
            let base = Date(timeIntervalSince1970: 1_780_000_000)
            let started = ContinuousClock.now
            for round in 0..<commits {
                let at = base.addingTimeInterval(Double(round))
                let event = Event(type: .orderStatusChanged, occurredAt: at,
                                  order: OrderRef(id: benchOrderId, outpostId: "op-0123456789abcdef0",
                                                  label: "Seattle rack 2", status: "IN_PROGRESS"),
                                  change: Change(field: .status, from: .string("PREPARING"), to: .string("IN_PROGRESS")))
                try await commit([event], sinks: ["journald", "ops"], into: store, at: at)
            }
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("synchronous=\(synchronous.rawValue) in \(dir): \(commits) commits in \(elapsed): \(Int(Double(commits) / seconds)) commits/s")
            #expect(try await store.watchedOrder(benchOrderId)?.lastSequence == Int64(commits))
            #expect(try await store.pendingCounts() == ["journald": commits, "ops": commits])
        }
    }
}
