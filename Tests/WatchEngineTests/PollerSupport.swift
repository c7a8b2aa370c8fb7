import Foundation
import Logging
import OutpostsAPI
import Synchronization
import Testing
import WatchConfig
import WatchEngine
import WatchModel
import WatchStore

/// An in-process Outposts stand-in whose answers a test scripts call by call; it records every
/// call and how many were in flight at once.
actor ScriptedSource: OrderSource {
    enum Step: Sendable {
        case current
        case notFound
        case fail(OutpostsError)
        case throttle
        /// Never answers, and does not react to cancellation either (a stuck connection).
        case hangIgnoringCancellation
        case body(Order)
    }

    struct Call: Sendable {
        var orderId: String
        var at: ContinuousClock.Instant
    }

    private var orders: [String: Order] = [:]
    private var scripts: [String: [Step]] = [:]
    private var hung: [CheckedContinuation<Void, Never>] = []
    private(set) var calls: [Call] = []
    private(set) var inFlight = 0
    private(set) var maxInFlight = 0
    private(set) var listCalls = 0
    var summaries: [OrderSummary] = []
    var delay: Duration = .zero
    /// Awaited inside the call with the 1-based call number, before answering.
    var hook: (@Sendable (Int) async -> Void)?

    func set(_ order: Order) { orders[order.orderId!] = order }
    func remove(_ orderId: String) { orders[orderId] = nil }
    func script(_ orderId: String, _ steps: [Step]) { scripts[orderId, default: []] += steps }
    func setDelay(_ d: Duration) { delay = d }
    func setHook(_ h: @escaping @Sendable (Int) async -> Void) { hook = h }
    func setSummaries(_ s: [OrderSummary]) { summaries = s }
    func calls(for orderId: String) -> [ContinuousClock.Instant] { calls.filter { $0.orderId == orderId }.map(\.at) }
    func releaseHung() {
        for continuation in hung { continuation.resume() }
        hung = []
    }

    func getOrder(_ orderId: String) async throws -> Order {
        calls.append(Call(orderId: orderId, at: .now))
        let number = calls.count
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
        defer { inFlight -= 1 }
        let step: Step = scripts[orderId]?.isEmpty == false ? scripts[orderId]!.removeFirst() : .current
        if let hook { await hook(number) }
        if delay > .zero { try await Task.sleep(for: delay) }
        switch step {
        case .current:
            guard let order = orders[orderId] else {
                throw OutpostsError(kind: .notFound, code: "NotFoundException", message: "Order not found", statusCode: 404)
            }
            return order
        case .notFound:
            throw OutpostsError(kind: .notFound, code: "NotFoundException", message: "Order not found", statusCode: 404)
        case .fail(let error):
            throw error
        case .throttle:
            throw OutpostsError(kind: .throttling, code: "ThrottlingException", message: "Rate exceeded", statusCode: 429)
        case .hangIgnoringCancellation:
            await withCheckedContinuation { hung.append($0) }
            throw OutpostsError(kind: .network, message: "released")
        case .body(let order):
            return order
        }
    }

    func listAllOrders(outpostIdentifierFilter: String?) async throws -> [OrderSummary] {
        listCalls += 1
        return summaries.filter { outpostIdentifierFilter == nil || $0.outpostId == outpostIdentifierFilter }
    }
}

/// Events handed to `onCommit`, and status reports, in arrival order.
final class Recorder: Sendable {
    private let events = Mutex<[Event]>([])
    private let statuses = Mutex<[PollerStatus]>([])
    private let beats = Atomic<Int>(0)

    var all: [Event] { events.withLock { $0 } }
    var statusReports: [PollerStatus] { statuses.withLock { $0 } }
    var heartbeats: Int { beats.load(ordering: .relaxed) }

    func committed(_ new: [Event]) { events.withLock { $0 += new } }
    func status(_ status: PollerStatus) { statuses.withLock { $0.append(status) } }
    func beat() { beats.add(1, ordering: .relaxed) }
    func types(of orderId: String) -> [EventType] { all.filter { $0.order.id == orderId }.map(\.type) }
}

/// A fresh state store on a temporary SQLite file.
func temporaryStorePath() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("watchengine-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("state.db").path
}

func orderId(_ n: Int) -> String { "oo-" + String(format: "%017x", n) }

func apiOrder(_ id: String, _ status: String, items: [LineItem] = []) -> Order {
    Order(outpostId: "op-0123456789abcdef0", orderId: id, status: status, lineItems: items,
          orderSubmissionDate: Date(timeIntervalSince1970: 1_780_000_000))
}

func quietLogger() -> Logger {
    var logger = Logger(label: "watchengine-tests")
    logger.logLevel = .critical
    return logger
}

func settings(orders: [String], interval: Duration = .seconds(300), jitter: Double = 0, concurrency: Int = 4,
              maxRPS: Double = 1000, terminalInterval: Duration? = .seconds(21600), failingAfter: Int = 3,
              discover: [DiscoverSettings] = [], path: String) -> Settings {
    Settings(poll: PollSettings(interval: interval, jitter: jitter, concurrency: concurrency, maxRPS: maxRPS,
                                terminalInterval: terminalInterval, failingAfter: failingAfter),
             storage: StorageSettings(path: path),
             orders: orders.map { OrderSettings(id: $0, label: "label \($0.suffix(2))") },
             discover: discover)
}

func makePoller(store: StateStore, source: ScriptedSource, settings: Settings, recorder: Recorder,
                heartbeat: Duration = .seconds(5)) -> Poller {
    Poller(store: store, source: source, settings: settings, route: { _ in ["ops"] }, logger: quietLogger(),
           onCommit: { recorder.committed($0) }, onHeartbeat: { recorder.beat() },
           onStatus: { recorder.status($0) }, heartbeatInterval: heartbeat)
}

/// Waits until `condition` holds, checking every 10 ms, for at most `timeout`.
@discardableResult
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// Runs the poller's loop in a task for the duration of `body`, then cancels it and waits for it.
func whileRunning<T>(_ poller: Poller, _ body: () async throws -> T) async throws -> T {
    let loop = Task { try await poller.run() }
    defer { loop.cancel() }
    let result = try await body()
    loop.cancel()
    try await loop.value
    return result
}
