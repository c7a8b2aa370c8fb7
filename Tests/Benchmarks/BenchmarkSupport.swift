import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Sinks
import Testing
import WatchModel
import WatchStore

// The few helpers the benchmarks need, kept apart from the unit-test targets' support files
// (those stay private to their targets): one loopback server, one store builder, one event.

/// The daemon's single shared HTTP client (the AWS client and the webhooks use the same one).
let benchHTTPClient = WebhookSink.makeHTTPClient()

/// When each request reached a ``LoopbackServer``, in order.
actor ArrivalLog {
    private(set) var arrivals: [Date] = []

    func append(_ at: Date) { arrivals.append(at) }

    /// Waits until `count` requests arrived, or `timeout` passed; returns the arrivals.
    func waitFor(_ count: Int, timeout: Duration = .seconds(10)) async -> [Date] {
        let deadline = ContinuousClock.now + timeout
        while arrivals.count < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return arrivals
    }
}

/// A real HTTP server on 127.0.0.1 (free port) answering every GET and POST with 200 and `body`.
final class LoopbackServer: Sendable {
    let port: Int
    let log: ArrivalLog
    private let task: Task<Void, any Error>

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }
    /// A webhook URL on this server.
    var hookURL: String { "http://127.0.0.1:\(port)/hook" }

    private init(port: Int, log: ArrivalLog, task: Task<Void, any Error>) {
        self.port = port
        self.log = log
        self.task = task
    }

    static func start(answering body: String = "") async throws -> LoopbackServer {
        let log = ArrivalLog()
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            var request = request
            _ = try await request.collectBody(upTo: 1 << 20)
            await log.append(Date())
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("**", use: handler)
        router.post("**", use: handler)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
                                  continuation.yield(channel.localAddress?.port ?? -1)
                                  continuation.finish()
                              },
                              logger: Logger(label: "bench-server", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw BenchmarkError("the loopback server did not start")
        }
        return LoopbackServer(port: port, log: log, task: task)
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A store in a fresh temporary directory, closed and removed when `body` ends.
func withBenchStore<T>(options: StoreOptions, _ body: (StateStore, _ directory: String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try StateStore(path: directory + "/state.db", options: options)
    do {
        let result = try await body(store, directory)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}

let benchOrderId = "oo-0123456789abcdef0"

/// A line-item status event like the ones the engine makes.
func benchEvent(lineItem: String = "li-1234", occurredAt: Date = Date(timeIntervalSince1970: 1_795_000_000)) -> Event {
    Event(type: .lineItemStatusChanged, occurredAt: occurredAt,
          order: OrderRef(id: benchOrderId, outpostId: "op-0123456789abcdef0", label: "Seattle rack 2", status: "IN_PROGRESS"),
          lineItem: LineItemRef(id: lineItem, catalogItemId: "WXF4Q7Z", quantity: 1, status: "SHIPPED",
                                shipment: Shipment(carrier: "UPS", trackingNumber: "1Z999AA10123456784")),
          change: Change(field: .status, from: .string("BUILDING"), to: .string("SHIPPED")))
}

/// An order snapshot with two line items and an asset each, as a rack order has.
let benchSnapshot = OrderSnapshot(
    orderId: benchOrderId, outpostId: "op-0123456789abcdef0", status: "IN_PROGRESS",
    submissionDate: Date(timeIntervalSince1970: 1_765_432_101.123_456_7),
    paymentOption: "ALL_UPFRONT", paymentTerm: "THREE_YEARS", orderType: "OUTPOST",
    lineItems: ["li-1", "li-2"].map { id in
        LineItemSnapshot(lineItemId: id, catalogItemId: "CAT1", quantity: 1, status: "BUILDING",
                         assets: [Asset(assetId: "a-\(id)", macAddresses: ["0a:00:00:00:00:01"])])
    })

/// Commits `events` as one successful poll of ``benchOrderId`` (watched first if needed), with one
/// pending delivery per event and sink, as the poller does.
@discardableResult
func commit(_ events: [Event], sinks: [String], into store: StateStore, snapshot: OrderSnapshot = benchSnapshot,
            at: Date = Date()) async throws -> [Event] {
    if try await store.watchedOrder(benchOrderId) == nil {
        try await store.syncWatchSet([(id: benchOrderId, label: "Seattle rack 2")], source: .config)
    }
    let poll = PollCommit(orderId: benchOrderId, polledAt: at, succeeded: true, snapshot: snapshot,
                          consecutiveFailures: 0, failing: false, notFound: false, lastError: nil, events: events)
    return try await store.commit(poll, route: { _ in sinks })
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// Whether a journald listens; starts `/lib/systemd/systemd-journald` in its own session when
/// the socket is missing (containers have no systemd as PID 1), as `make journald` does.
let journaldReady: Bool = {
    if Journal.isAvailable { return true }
    let daemon = "/lib/systemd/systemd-journald"
    guard FileManager.default.isExecutableFile(atPath: daemon) else { return false }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "(setsid \(daemon) >/dev/null 2>&1 &)"]
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    let deadline = Date().addingTimeInterval(5)
    while !Journal.isAvailable && Date() < deadline { usleep(20_000) }
    return Journal.isAvailable
}()
