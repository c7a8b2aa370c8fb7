import Foundation
import Logging
import Sinks
import Synchronization
import Testing
import WatchConfig
import WatchModel
import WatchStore

/// Retries within milliseconds, so outage tests take well under a second.
let fastRetries = RetryPolicy(base: .milliseconds(40), cap: .milliseconds(200))

/// Runs `dispatcher.run()` for the body's duration and checks that cancelling ends it promptly.
func whileRunning<T>(_ dispatcher: Dispatcher, _ body: () async throws -> T) async throws -> T {
    let task = Task { await dispatcher.run() }
    let result: T
    do {
        result = try await body()
    } catch {
        task.cancel()
        await task.value
        throw error
    }
    let start = ContinuousClock.now
    task.cancel()
    await task.value
    #expect(ContinuousClock.now - start < .seconds(4), "cancellation ends run() promptly")
    return result
}

@Suite("Dispatcher")
struct DispatcherTests {
    @Test("receiver down for a while, then up: every event arrives")
    func outageLosesNothing() async throws {
        let store = try makeStore()
        // Learn a free port, then leave it closed: the receiver is down.
        let probe = try await TestReceiver.start()
        let port = probe.port
        await probe.stop()
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: "http://127.0.0.1:\(port)/hook",
                                                          timeout: .seconds(2)),
                               secret: nil, httpClient: sharedHTTPClient)
        let events = try await enqueue((0..<20).map { shippedEvent(lineItem: "li-\($0)") }, sinks: ["ops"], into: store)
        let dispatcher = Dispatcher(store: store, sinks: [sink], maxAges: ["ops": .seconds(3600)],
                                    concurrency: ["ops": 4], logger: testLogger(), retryPolicy: fastRetries)
        try await whileRunning(dispatcher) {
            // Failed attempts are recorded while the receiver is down...
            #expect(try await eventually {
                try await store.deliveries(state: .pending, sink: "ops").allSatisfy { $0.attempts >= 2 }
            })
            #expect(try await store.deliveries(state: .delivered).isEmpty)
            // ...and once it is back, everything arrives.
            let receiver = try await TestReceiver.start(port: port)
            defer { Task { await receiver.stop() } }
            #expect(try await eventually { try await store.deliveries(state: .delivered, sink: "ops").count == 20 })
            let received = Set(await receiver.log.requests.compactMap { $0.headers["webhook-id"] })
            #expect(received == Set(events.map(\.id)))
            let rows = try await store.deliveries(sink: "ops")
            #expect(rows.allSatisfy { $0.state == .delivered && $0.lastStatus == 200 && $0.attempts >= 3 })
        }
    }

    @Test("receiver back: deliveries that backed off during the outage are retried at once")
    func receiverBackExpeditesBackedOffDeliveries() async throws {
        let store = try makeStore()
        // A class instance, not a Mutex captured by the escaping handler: the handler may still run
        // after this test returns (the receiver stops asynchronously).
        let up = ReceiverSwitch()
        let receiver = try await TestReceiver.start { _, _ in up.isOn ? .status(200) : .status(503) }
        defer { Task { await receiver.stop() } }
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: receiver.url), secret: nil,
                               httpClient: sharedHTTPClient)
        // Backoff of at least 3 minutes (base / 20): without expediting, nothing is retried in this test.
        let slow = RetryPolicy(base: .seconds(3600), cap: .seconds(3600))
        let early = try await enqueue((0..<3).map { shippedEvent(lineItem: "li-\($0)") }, sinks: ["ops"], into: store)
        let dispatcher = Dispatcher(store: store, sinks: [sink], maxAges: ["ops": .seconds(86_400)],
                                    concurrency: ["ops": 2], logger: testLogger(), retryPolicy: slow)
        try await whileRunning(dispatcher) {
            #expect(try await eventually {
                try await store.deliveries(state: .pending, sink: "ops").filter { $0.attempts == 1 }.count == 3
            })
            let backedOff = try await store.deliveries(state: .pending, sink: "ops")
            #expect(backedOff.allSatisfy { $0.nextAttemptAt.timeIntervalSinceNow > 170 })
            // The receiver is back; the next event's success brings the others forward.
            up.turnOn()
            let late = try await enqueue([shippedEvent(lineItem: "li-late")], sinks: ["ops"], into: store)
            dispatcher.wake()
            #expect(try await eventually { try await store.deliveries(state: .delivered, sink: "ops").count == 4 })
            let received = Set(await receiver.log.requests.compactMap { $0.headers["webhook-id"] })
            #expect(received == Set((early + late).map(\.id)))
        }
    }

    @Test("Retry-After is honoured")
    func retryAfterHonoured() async throws {
        let store = try makeStore()
        let receiver = try await TestReceiver.start { _, number in
            number == 1 ? .status(503, headers: ["Retry-After": "1"]) : .status(200)
        }
        defer { Task { await receiver.stop() } }
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: receiver.url), secret: nil,
                               httpClient: sharedHTTPClient)
        try await enqueue([shippedEvent()], sinks: ["ops"], into: store)
        // Without Retry-After the retry would come within 40 ms.
        let dispatcher = Dispatcher(store: store, sinks: [sink], maxAges: [:], concurrency: [:],
                                    logger: testLogger(), retryPolicy: fastRetries)
        let requests = try await whileRunning(dispatcher) {
            let requests = await receiver.log.waitFor(2, timeout: .seconds(5))
            // The answer to the second request may still be on its way: wait until it is recorded.
            _ = try await eventually { try await store.pendingCounts()["ops", default: 0] == 0 }
            return requests
        }
        try #require(requests.count == 2)
        let gap = requests[1].receivedAt.timeIntervalSince(requests[0].receivedAt)
        #expect(gap >= 0.95, "second attempt \(gap) s after a 503 with Retry-After: 1")
        #expect(gap < 3)
        let row = try #require(try await store.deliveries(sink: "ops").first)
        #expect(row.state == .delivered && row.attempts == 2)
    }

    @Test("max_age: retried until it, then failed; redeliver sends it again")
    func maxAgeThenRedeliver() async throws {
        let store = try makeStore()
        let healthy = ManualFlag()
        let receiver = try await TestReceiver.start { _, _ in
            healthy.isSet ? .status(200) : .status(500, body: "database down")
        }
        defer { Task { await receiver.stop() } }
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: receiver.url), secret: nil,
                               httpClient: sharedHTTPClient)
        let created = Date()
        let events = try await enqueue([shippedEvent()], sinks: ["ops"], into: store, at: created)
        let clock = ManualClock(created.addingTimeInterval(1))
        let dispatcher = Dispatcher(store: store, sinks: [sink], maxAges: ["ops": .seconds(3600)], concurrency: [:],
                                    logger: testLogger(), now: { clock.now })

        // Young delivery: a failure is a retry, scheduled no later than created_at + max_age.
        var report = await dispatcher.drainOnce()
        #expect(report.attempted == 1 && report.retrying == 1)
        var row = try #require(try await store.deliveries(sink: "ops").first)
        #expect(row.state == .pending && row.attempts == 1 && row.lastStatus == 500)
        #expect(row.lastError?.contains("database down") == true)
        #expect(row.nextAttemptAt > clock.now && row.nextAttemptAt <= row.pendingSince.addingTimeInterval(3600))

        // Past max_age: the next failure is final (the dead letter).
        clock.set(created.addingTimeInterval(3601))
        report = await dispatcher.drainOnce()
        #expect(report.attempted == 1 && report.failed == 1)
        row = try #require(try await store.deliveries(state: .failed, sink: "ops").first)
        #expect(row.attempts == 2 && row.lastError?.contains("max_age") == true)
        #expect(await dispatcher.drainOnce() == DrainReport(), "a failed delivery is not retried")

        // The operator fixes the receiver and redelivers.
        healthy.set()
        let again = try await store.redeliver(eventId: events[0].id, sinks: ["ops"], now: clock.now)
        #expect(again.count == 1)
        report = await dispatcher.drainOnce()
        #expect(report.delivered == 1)
        row = try #require(try await store.deliveries(sink: "ops").first)
        #expect(row.state == .delivered && row.lastStatus == 200)
        #expect(await receiver.log.requests.count == 3)
    }

    @Test("410 Gone fails every pending delivery of the sink, loudly")
    func goneFailsSink() async throws {
        let store = try makeStore()
        let receiver = try await TestReceiver.start { _, _ in .status(410, body: "this hook was deleted") }
        defer { Task { await receiver.stop() } }
        let other = try await TestReceiver.start()
        defer { Task { await other.stop() } }
        let sinks: [any EventSink] = [
            WebhookSink(settings: WebhookSettings(name: "gone", url: receiver.url), secret: nil, httpClient: sharedHTTPClient),
            WebhookSink(settings: WebhookSettings(name: "other", url: other.url), secret: nil, httpClient: sharedHTTPClient),
        ]
        try await enqueue((0..<5).map { shippedEvent(lineItem: "li-\($0)") }, sinks: ["gone", "other"], into: store)
        let logs = LogCapture()
        let dispatcher = Dispatcher(store: store, sinks: sinks, maxAges: [:], concurrency: ["gone": 1, "other": 2],
                                    logger: logs.logger())
        let report = await dispatcher.drainOnce()
        #expect(await receiver.log.requests.count == 1, "after the 410 nothing more is sent to that sink")
        #expect(try await store.deliveries(state: .failed, sink: "gone").count == 5)
        #expect(try await store.deliveries(state: .delivered, sink: "other").count == 5, "other sinks are untouched")
        #expect(report.failed == 5 && report.delivered == 5)
        #expect(logs.entries.contains { $0.level == .error && $0.message.contains("410") && $0.metadata["sink"] == "gone" })
    }

    @Test("410 Gone while several attempts are in flight: none comes back to pending")
    func goneWhileRunning() async throws {
        let store = try makeStore()
        let receiver = try await TestReceiver.start { _, _ in .status(410) }
        defer { Task { await receiver.stop() } }
        let sink = WebhookSink(settings: WebhookSettings(name: "gone", url: receiver.url), secret: nil,
                               httpClient: sharedHTTPClient)
        try await enqueue((0..<8).map { shippedEvent(lineItem: "li-\($0)") }, sinks: ["gone"], into: store)
        let dispatcher = Dispatcher(store: store, sinks: [sink], maxAges: [:], concurrency: ["gone": 3],
                                    logger: testLogger(), retryPolicy: fastRetries)
        let allFailed = try await whileRunning(dispatcher) {
            try await eventually { try await store.deliveries(state: .failed, sink: "gone").count == 8 }
        }
        #expect(allFailed)
        #expect(try await store.pendingCounts()["gone", default: 0] == 0)
        #expect(await receiver.log.requests.count <= 3, "only the attempts already in flight reached the receiver")
    }

    @Test("a hanging receiver does not hold up another sink; cancellation leaves its rows pending")
    func hangingReceiverIsolated() async throws {
        let store = try makeStore()
        let slow = try await TestReceiver.start { _, _ in .hang }
        defer { Task { await slow.stop() } }
        let fast = try await TestReceiver.start()
        defer { Task { await fast.stop() } }
        let sinks: [any EventSink] = [
            WebhookSink(settings: WebhookSettings(name: "slow", url: slow.url, timeout: .seconds(20)), secret: nil,
                        httpClient: sharedHTTPClient),
            WebhookSink(settings: WebhookSettings(name: "fast", url: fast.url), secret: nil, httpClient: sharedHTTPClient),
        ]
        try await enqueue((0..<5).map { shippedEvent(lineItem: "li-\($0)") }, sinks: ["slow", "fast"], into: store)
        let dispatcher = Dispatcher(store: store, sinks: sinks, maxAges: [:], concurrency: ["slow": 2, "fast": 2],
                                    logger: testLogger(), retryPolicy: fastRetries)
        try await whileRunning(dispatcher) {
            #expect(await fast.log.waitFor(5).count == 5)
            #expect(await slow.log.waitFor(2).count == 2)
            // New work reaches the fast sink while the slow one still hangs, and the slow one stays
            // within its bound of 2 requests in flight.
            let late = try await enqueue([shippedEvent(lineItem: "li-late")], sinks: ["slow", "fast"], into: store)
            dispatcher.wake()
            let fastRequests = await fast.log.waitFor(6)
            #expect(fastRequests.last?.headers["webhook-id"] == late[0].id)
            #expect(await slow.log.requests.count == 2)
            #expect(try await eventually { try await store.deliveries(state: .delivered, sink: "fast").count == 6 })
        }
        let slowRows = try await store.deliveries(sink: "slow")
        #expect(slowRows.count == 6)
        #expect(slowRows.allSatisfy { $0.state == .pending && $0.attempts == 0 },
                "attempts cut short by shutdown stay pending and unrecorded")
    }

    @Test("wake() after a commit delivers within milliseconds; an idle dispatcher sends nothing")
    func wakeLatency() async throws {
        let store = try makeStore()
        let receiver = try await TestReceiver.start()
        defer { Task { await receiver.stop() } }
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: receiver.url), secret: nil,
                               httpClient: sharedHTTPClient)
        let dispatcher = Dispatcher(store: store, sinks: [sink], maxAges: [:], concurrency: [:], logger: testLogger())
        try await whileRunning(dispatcher) {
            for index in 0..<5 {
                let committed = Date()
                try await enqueue([shippedEvent(lineItem: "li-\(index)")], sinks: ["ops"], into: store)
                dispatcher.wake()
                // The idle dispatcher has no timer armed (nothing pending), so only wake() can
                // make this arrive; the bound is generous for a loaded machine.
                let requests = await receiver.log.waitFor(index + 1, timeout: .seconds(5))
                try #require(requests.count == index + 1, "wake() did not trigger a delivery")
                #expect(requests[index].receivedAt.timeIntervalSince(committed) < 5)
            }
        }
        #expect(await receiver.log.requests.count == 5)
    }

    @Test("replaceSinks restarts delivery with the new sinks")
    func replaceSinks() async throws {
        let store = try makeStore()
        let first = try await TestReceiver.start()
        defer { Task { await first.stop() } }
        let second = try await TestReceiver.start()
        defer { Task { await second.stop() } }
        let dispatcher = Dispatcher(
            store: store,
            sinks: [WebhookSink(settings: WebhookSettings(name: "a", url: first.url), secret: nil, httpClient: sharedHTTPClient)],
            maxAges: [:], concurrency: [:], logger: testLogger())
        try await whileRunning(dispatcher) {
            try await enqueue([shippedEvent(lineItem: "li-1")], sinks: ["a"], into: store)
            dispatcher.wake()
            #expect(await first.log.waitFor(1).count == 1)
            await dispatcher.replaceSinks(
                [WebhookSink(settings: WebhookSettings(name: "b", url: second.url), secret: nil, httpClient: sharedHTTPClient)],
                maxAges: [:], concurrency: [:])
            try await enqueue([shippedEvent(lineItem: "li-2")], sinks: ["b"], into: store)
            dispatcher.wake()
            #expect(await second.log.waitFor(1).count == 1)
        }
    }

    @Test("backoff: full jitter, growing to the cap; retries never land after max_age")
    func backoff() {
        let policy = RetryPolicy.standard
        #expect(policy.delay(afterAttempts: 1, random: 1) == .seconds(2))
        #expect(policy.delay(afterAttempts: 4, random: 1) == .seconds(16))
        #expect(policy.delay(afterAttempts: 30, random: 1) == .seconds(3600))
        #expect(policy.delay(afterAttempts: 1000, random: 1) == .seconds(3600))
        #expect(policy.delay(afterAttempts: 3, random: 0) > .zero, "never an immediate retry")
        #expect(policy.delay(afterAttempts: 3, random: 0.5) < .seconds(8))

        let created = Date(timeIntervalSince1970: 1_800_000_000)
        let delivery = Delivery(id: 1, eventId: "evt_1", sink: "ops", state: .pending, attempts: 0, createdAt: created,
                                nextAttemptAt: created, lastAttemptAt: nil, lastStatus: nil, lastError: nil,
                                deliveredAt: nil, event: shippedEvent())
        let nearDeadline = created.addingTimeInterval(3599)
        #expect(policy.result(of: .retry(status: 429, error: "slow down", retryAfter: .seconds(600)), for: delivery,
                              maxAge: .seconds(3600), now: nearDeadline)
            == .retry(at: created.addingTimeInterval(3600), status: 429, error: "slow down"))
        #expect(policy.result(of: .retry(status: 429, error: "e", retryAfter: .seconds(30)), for: delivery,
                              maxAge: .seconds(3600), now: created)
            == .retry(at: created.addingTimeInterval(30), status: 429, error: "e"))
        #expect(policy.result(of: .gone(status: 410, error: "gone"), for: delivery, maxAge: .seconds(60), now: created)
            == .failed(status: 410, error: "gone"))
        #expect(policy.result(of: .delivered(status: 202), for: delivery, maxAge: .seconds(60), now: created)
            == .delivered(status: 202))
    }

    @Test("routing: journald gets everything, webhooks what their filters accept")
    func routing() throws {
        var settings = Settings()
        settings.journald.enabled = true
        settings.webhooks = [
            WebhookSettings(name: "all", url: "http://127.0.0.1/a"),
            WebhookSettings(name: "ship", url: "http://127.0.0.1/b", events: [.lineItemShipmentChanged]),
            WebhookSettings(name: "other-order", url: "http://127.0.0.1/c", orders: ["oo-fffffffffffffffff"]),
        ]
        let sinks = try SinkSet(settings: settings, journaldAvailable: false, httpClient: sharedHTTPClient)
        #expect(sinks.names == ["journald", "all", "ship", "other-order"])
        #expect(sinks.route(shippedEvent()) == ["journald", "all"])
        var firstSeen = shippedEvent()
        firstSeen.type = .orderFirstSeen
        #expect(sinks.route(firstSeen) == ["journald"], "order.first_seen is journald-only by default")
        settings.journald.enabled = nil
        let withoutJournal = try SinkSet(settings: settings, journaldAvailable: false, httpClient: sharedHTTPClient)
        #expect(withoutJournal.route(shippedEvent()) == ["all"], "journald follows its socket when not configured")
        #expect(withoutJournal.concurrency["all"] == 4 && withoutJournal.maxAges["all"] == .seconds(72 * 3600))
    }
}

/// A flag the test flips while a receiver reads it.
final class ManualFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }

    func set() { lock.withLock { value = true } }
}

/// Keeps every log entry a logger writes, for assertions.
final class LogCapture: @unchecked Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lock = NSLock()
    private var stored: [Entry] = []

    var entries: [Entry] { lock.withLock { stored } }

    func append(_ entry: Entry) { lock.withLock { stored.append(entry) } }

    func logger() -> Logger {
        var logger = Logger(label: "capture") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            capture.append(Entry(level: event.level, message: event.message.description,
                                 metadata: merged.mapValues { "\($0)" }))
        }
    }
}

/// Whether a test receiver accepts deliveries yet, shared with its handler.
final class ReceiverSwitch: Sendable {
    private let on = Atomic<Bool>(false)
    var isOn: Bool { on.load(ordering: .acquiring) }
    func turnOn() { on.store(true, ordering: .releasing) }
}
