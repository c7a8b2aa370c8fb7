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

/// Whether missing components must fail the test instead of skipping it (CI=true).
let runningInCI = ProcessInfo.processInfo.environment["CI"] == "true"

/// A request the test receiver got.
struct ReceivedRequest: Sendable {
    var method: String
    var path: String
    /// Lower-cased names; the last value wins.
    var headers: [String: String]
    var body: [UInt8]
    var receivedAt: Date

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// What the receiver answers to one request.
enum Reply: Sendable {
    case status(Int, headers: [String: String] = [:], body: String = "")
    /// Never answers (until the server stops or 30 s pass).
    case hang
}

/// Everything a receiver saw, shared by the handler and the test.
actor RequestLog {
    private(set) var requests: [ReceivedRequest] = []

    func append(_ request: ReceivedRequest) -> Int {
        requests.append(request)
        return requests.count
    }

    /// Waits until `count` requests arrived, or `timeout` passed; returns the requests.
    func waitFor(_ count: Int, timeout: Duration = .seconds(10)) async -> [ReceivedRequest] {
        if requests.count >= count { return requests }
        let deadline = ContinuousClock.now + timeout
        while requests.count < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return requests
    }
}

/// A real HTTP server on 127.0.0.1 (Hummingbird), recording requests and answering as told.
final class TestReceiver: Sendable {
    let port: Int
    let log: RequestLog
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)/hook" }

    private init(port: Int, log: RequestLog, task: Task<Void, any Error>) {
        self.port = port
        self.log = log
        self.task = task
    }

    /// Starts a receiver; `reply` gets each request and its 1-based number.
    static func start(port: Int = 0, log: RequestLog = RequestLog(),
                      reply: @escaping @Sendable (ReceivedRequest, Int) async -> Reply = { _, _ in .status(200) })
        async throws -> TestReceiver {
        let router = Router()
        router.post("**") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let received = ReceivedRequest(method: "\(request.method)", path: request.uri.path, headers: headers,
                                           body: Array(body.readableBytesView), receivedAt: Date())
            let number = await log.append(received)
            switch await reply(received, number) {
            case .hang:
                try? await Task.sleep(for: .seconds(30))
                return Response(status: .serviceUnavailable)
            case .status(let code, let extra, let text):
                var fields = HTTPFields()
                for (name, value) in extra { fields[HTTPField.Name(name)!] = value }
                return Response(status: .init(code: code), headers: fields,
                                 body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router,
                              configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in
                                  portContinuation.yield(channel.localAddress?.port ?? -1)
                                  portContinuation.finish()
                              },
                              logger: Logger(label: "test-receiver", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await app.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let bound = await iterator.next(), bound > 0 else {
            task.cancel()
            throw TestFailure("the test receiver did not start")
        }
        return TestReceiver(port: bound, log: log, task: task)
    }

    /// Stops the server; connections close.
    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A store in a fresh temporary directory (synchronous=FULL, as the daemon runs it, by default).
func makeStore(options: StoreOptions = StoreOptions()) throws -> StateStore {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sinks-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return try StateStore(path: dir.appendingPathComponent("state.db").path, options: options)
}

let testOrderId = "oo-0123456789abcdef0"

/// A line-item shipment event like the ones the engine makes.
func shippedEvent(orderId: String = testOrderId, lineItem: String = "li-1234", tracking: String = "1Z999AA10123456784",
                  occurredAt: Date = Date(timeIntervalSince1970: 1_795_000_000)) -> Event {
    Event(type: .lineItemStatusChanged, occurredAt: occurredAt,
          order: OrderRef(id: orderId, outpostId: "op-0123456789abcdef0", label: "Seattle rack 2", status: "IN_PROGRESS"),
          lineItem: LineItemRef(id: lineItem, catalogItemId: "WXF4Q7Z", quantity: 1, status: "SHIPPED",
                                shipment: Shipment(carrier: "UPS", trackingNumber: tracking)),
          change: Change(field: .status, from: .string("BUILDING"), to: .string("SHIPPED")))
}

/// Commits `events` for `orderId` with one pending delivery per event and sink; returns them as stored.
@discardableResult
func enqueue(_ events: [Event], sinks: [String], into store: StateStore, orderId: String = testOrderId,
             at: Date = Date()) async throws -> [Event] {
    if try await store.watchedOrder(orderId) == nil {
        try await store.syncWatchSet([(id: orderId, label: "Seattle rack 2")], source: .config)
    }
    let commit = PollCommit(orderId: orderId, polledAt: at, succeeded: true,
                            snapshot: OrderSnapshot(orderId: orderId, outpostId: "op-0123456789abcdef0",
                                                    status: "IN_PROGRESS"),
                            consecutiveFailures: 0, failing: false, notFound: false, lastError: nil, events: events)
    return try await store.commit(commit, route: { _ in sinks })
}

/// A logger that keeps quiet unless SINKS_TEST_LOG is set.
func testLogger() -> Logger {
    if ProcessInfo.processInfo.environment["SINKS_TEST_LOG"] != nil {
        var logger = Logger(label: "sinks-test", factory: { StderrLogHandler(label: $0, level: .debug) })
        logger.logLevel = .debug
        return logger
    }
    return Logger(label: "sinks-test", factory: { _ in SwiftLogNoOpLogHandler() })
}

/// One HTTP client per test process, like the daemon's single shared one.
let sharedHTTPClient = WebhookSink.makeHTTPClient()

/// Polls `condition` every 5 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// The repository root (for systemd/ and Tests/python/).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
