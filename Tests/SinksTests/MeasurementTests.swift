import Foundation
import Sinks
import Testing
import WatchConfig
import WatchModel
import WatchStore

/// Numbers for the report: printed, never asserted (they depend on the machine).
@Suite("Measurements", .serialized)
struct MeasurementTests {
    @Test("outbox → loopback webhook: throughput and commit-to-webhook latency",
          arguments: [SynchronousMode.full, .normal])
    func throughputAndLatency(synchronous: SynchronousMode) async throws {
        let store = try makeStore(options: StoreOptions(synchronous: synchronous))
        let receiver = try await TestReceiver.start()
        defer { Task { await receiver.stop() } }
        let key = Array("measure".utf8)
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: receiver.url), secret: key,
                               httpClient: sharedHTTPClient)

        // Throughput: 2000 events already in the outbox, drained by the running dispatcher.
        let total = 2000
        for batch in 0..<(total / 100) {
            try await enqueue((0..<100).map { shippedEvent(lineItem: "li-\(batch)-\($0)") }, sinks: ["ops"], into: store)
        }
        let dispatcher = Dispatcher(store: store, sinks: [sink], maxAges: [:], concurrency: ["ops": 4],
                                    logger: testLogger())
        let start = ContinuousClock.now
        let (elapsed, latencies) = try await whileRunning(dispatcher) { () async throws -> (Duration, [Double]) in
            #expect(try await eventually(timeout: .seconds(120)) {
                try await store.pendingCounts()["ops", default: 0] == 0
            })
            let elapsed = ContinuousClock.now - start

            // Latency: one event per commit, as the poller does it, then wake().
            var latencies: [Double] = []
            for index in 0..<200 {
                let committed = Date()
                try await enqueue([shippedEvent(lineItem: "lat-\(index)")], sinks: ["ops"], into: store)
                dispatcher.wake()
                let requests = await receiver.log.waitFor(total + index + 1)
                if let last = requests.last { latencies.append(last.receivedAt.timeIntervalSince(committed) * 1000) }
            }
            // The last answer may still be on its way back: let it be recorded before stopping.
            _ = try await eventually { try await store.pendingCounts()["ops", default: 0] == 0 }
            return (elapsed, latencies)
        }
        let delivered = try await store.deliveries(state: .delivered, sink: "ops", limit: 5000).count
        #expect(delivered == total + 200)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let sorted = latencies.sorted()
        let median = sorted[sorted.count / 2]
        let p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
        print(String(format: "MEASURE [synchronous=\(synchronous.rawValue)] webhook throughput: %d events in %.2f s = %.0f events/s (concurrency 4, signed, loopback)",
                     total, seconds, Double(total) / seconds))
        print(String(format: "MEASURE [synchronous=\(synchronous.rawValue)] commit-to-webhook latency over %d events: median %.2f ms, p99 %.2f ms, max %.2f ms",
                     sorted.count, median, p99, sorted.last ?? 0))
    }

    @Test("journald sink throughput", .enabled(if: journaldReady, "no journald here"))
    func journaldThroughput() async throws {
        let sink = JournaldSink()
        let count = 2000
        let start = ContinuousClock.now
        for index in 0..<count {
            _ = await sink.send(shippedEvent(lineItem: "j-\(index)"))
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "MEASURE journald sink: %d entries in %.2f s = %.0f entries/s", count, seconds,
                     Double(count) / seconds))
    }
}
