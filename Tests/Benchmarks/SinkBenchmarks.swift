import Foundation
import Logging
import Sinks
import Support
import Testing
import WatchConfig
import WatchModel
import WatchStore

/// Numbers for the report: printed, never asserted (they depend on the machine).
@Suite("Sink measurements", .serialized)
struct SinkBenchmarks {
    @Test("outbox → loopback webhook: throughput and commit-to-webhook latency",
          arguments: [SynchronousMode.full, .normal])
    func throughputAndLatency(synchronous: SynchronousMode) async throws {
        try await withBenchStore(options: StoreOptions(synchronous: synchronous)) { store, _ in
            let receiver = try await LoopbackServer.start()
            let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: receiver.hookURL), secret: Array("measure".utf8),
                                   httpClient: benchHTTPClient)
            // A snapshot as small as the events need: the commit in the latency loop is the poller's.
            let snapshot = OrderSnapshot(orderId: benchOrderId, outpostId: "op-0123456789abcdef0", status: "IN_PROGRESS")

            // Throughput: 2000 events already in the outbox, drained by the running dispatcher.
            let total = 2000
            for batch in 0..<(total / 100) {
                try await commit((0..<100).map { benchEvent(lineItem: "li-\(batch)-\($0)") }, sinks: ["ops"],
                                 into: store, snapshot: snapshot)
            }
            let dispatcher = Dispatcher(store: store, sinks: [sink], maxAges: [:], concurrency: ["ops": 4],
                                        logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
            let running = Task { await dispatcher.run() }
            let start = ContinuousClock.now
            #expect(try await eventually(timeout: .seconds(120)) {
                try await store.pendingCounts()["ops", default: 0] == 0
            })
            let elapsed = ContinuousClock.now - start

            // Latency: one event per commit, as the poller does it, then wake().
            var latencies: [Double] = []
            for index in 0..<200 {
                let committed = Date()
                try await commit([benchEvent(lineItem: "lat-\(index)")], sinks: ["ops"], into: store, snapshot: snapshot)
                dispatcher.wake()
                let arrivals = await receiver.log.waitFor(total + index + 1)
                if let last = arrivals.last { latencies.append(last.timeIntervalSince(committed) * 1000) }
            }
            // The last answer may still be on its way back: let it be recorded before stopping.
            _ = try await eventually { try await store.pendingCounts()["ops", default: 0] == 0 }
            running.cancel()
            await running.value
            await receiver.stop()

            let delivered = try await store.deliveries(state: .delivered, sink: "ops", limit: 5000).count
            #expect(delivered == total + 200)
            let sorted = latencies.sorted()
            let median = sorted[sorted.count / 2]
            let p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
            print(String(format: "MEASURE [synchronous=\(synchronous.rawValue)] webhook throughput: %d events in %.2f s = %.0f events/s (concurrency 4, signed, loopback)",
                         total, elapsed.seconds, Double(total) / elapsed.seconds))
            print(String(format: "MEASURE [synchronous=\(synchronous.rawValue)] commit-to-webhook latency over %d events: median %.2f ms, p99 %.2f ms, max %.2f ms",
                         sorted.count, median, p99, sorted.last ?? 0))
        }
    }

    @Test("journald sink throughput", .enabled(if: journaldReady, "no journald here"))
    func journaldThroughput() async throws {
        let sink = JournaldSink()
        let count = 2000
        let start = ContinuousClock.now
        for index in 0..<count {
            _ = await sink.send(benchEvent(lineItem: "j-\(index)"))
        }
        let elapsed = ContinuousClock.now - start
        print(String(format: "MEASURE journald sink: %d entries in %.2f s = %.0f entries/s", count, elapsed.seconds,
                     Double(count) / elapsed.seconds))
    }
}
