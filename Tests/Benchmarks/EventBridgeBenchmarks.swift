import Foundation
import Logging
import OutpostsAPI
import Sinks
import Testing
import WatchConfig
import WatchModel
import WatchStore

/// EventBridge sink throughput to moto's server (an independent PutEvents implementation on
/// loopback), batched (up to 10 entries per call) and unbatched (one entry per call). Printed,
/// never asserted; skipped when moto is not installed.
@Suite("EventBridge measurements", .serialized)
struct EventBridgeBenchmarks {
    static let motoInstalled: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import moto.server"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// The same sink without its batch capability: every event is its own PutEvents call.
    struct OneByOne: EventSink {
        let base: EventBridgeSink
        var name: String { base.name }
        func send(_ stored: StoredEvent) async -> SinkOutcome { await base.send(stored) }
    }

    @Test("outbox → EventBridge (moto): events/s batched and unbatched", .enabled(if: motoInstalled, "moto is not installed"))
    func throughput() async throws {
        let port = Int.random(in: 20000...40000)
        let moto = Process()
        moto.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        moto.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "\(port)"]
        moto.standardOutput = FileHandle.nullDevice
        moto.standardError = FileHandle.nullDevice
        try moto.run()
        defer { moto.terminate() }
        let endpoint = OutpostsEndpoint(region: "us-west-2", url: URL(string: "http://127.0.0.1:\(port)")!)
        let call = AWSServiceCall(service: "events", endpoint: endpoint,
                                  credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIDTESTEXAMPLE",
                                                                                       secretAccessKey: "bench")),
                                  httpClient: benchHTTPClient, applicationVersion: "bench")
        let sink = EventBridgeSink(settings: EventBridgeSettings(common: SinkCommonSettings(name: "bus")),
                                   client: EventBridgeClient(call: call))
        // Wait for moto to listen.
        _ = await eventually(timeout: .seconds(30)) { await sink.send(benchEvent()).isDelivered }

        for (label, candidate) in [("batched", sink as any EventSink), ("unbatched", OneByOne(base: sink))] {
            try await withBenchStore(options: StoreOptions()) { store, _ in
                let total = 1000
                for batch in 0..<(total / 100) {
                    try await commit((0..<100).map { benchEvent(lineItem: "li-\(batch)-\($0)") }, sinks: ["bus"], into: store)
                }
                let dispatcher = Dispatcher(store: store, sinks: [candidate], maxAges: [:], concurrency: ["bus": 4],
                                            logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
                let start = ContinuousClock.now
                let running = Task { await dispatcher.run() }
                #expect(try await eventually(timeout: .seconds(300)) {
                    try await store.pendingCounts()["bus", default: 0] == 0
                })
                let elapsed = ContinuousClock.now - start
                running.cancel()
                await running.value
                let delivered = try await store.deliveries(state: .delivered, sink: "bus", limit: 5000).count
                print(String(format: "MEASURE EventBridge sink to moto, %@: %d events (%d delivered) in %.2f s = %.0f events/s (4 calls in flight)",
                             label, total, delivered, elapsed.seconds, Double(total) / elapsed.seconds))
            }
        }
    }
}
