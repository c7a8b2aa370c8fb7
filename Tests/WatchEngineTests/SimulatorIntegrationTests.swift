import AsyncHTTPClient
import Foundation
import OutpostsAPI
import OutpostsSimulator
import Synchronization
import Testing
import WatchConfig
import WatchEngine
import WatchModel
import WatchStore

/// The poller against the real wire: the in-process Outposts simulator on a loopback port, the real
/// SigV4-signing ``OutpostsClient`` over AsyncHTTPClient, and a real SQLite store.
@Suite struct SimulatorIntegrationTests {
    static let orderId = "oo-0123456789abcdef0"

    static func order(_ status: String, item: String, shipment: ShipmentInformation? = nil) -> Order {
        Order(outpostId: "op-0123456789abcdef0", orderId: orderId, status: status,
              lineItems: [LineItem(catalogItemId: "OR-8CVV0EV", lineItemId: "ooi-0123456789abcdef1", quantity: 1,
                                   status: item, shipmentInformation: shipment)],
              paymentOption: "ALL_UPFRONT", orderSubmissionDate: Date(timeIntervalSince1970: 1_780_000_000),
              paymentTerm: "THREE_YEARS", orderType: "OUTPOST")
    }

    /// Serves `simulator` on a free loopback port for the duration of `body`.
    static func serving<T>(_ simulator: OutpostsSimulator,
                           _ body: (OutpostsClient) async throws -> T) async throws -> T {
        let port = Mutex<Int?>(nil)
        let server = Task { try await simulator.run(port: 0, onListening: { bound in port.withLock { $0 = bound } }) }
        defer { server.cancel() }
        let listening = await eventually { port.withLock { $0 } != nil }
        try #require(listening, "the simulator did not start listening")
        let url = URL(string: "http://127.0.0.1:\(port.withLock { $0 }!)")!
        let client = OutpostsClient(
            endpoint: OutpostsEndpoint(region: "us-west-2", url: url),
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIDEXAMPLE",
                                                                 secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")),
            httpClient: HTTPClient.shared, requestTimeout: .seconds(5), maxAttempts: 1)
        let result = try await body(client)
        server.cancel()
        _ = try? await server.value
        return result
    }

    @Test func transitionsOverTheWire() async throws {
        let simulator = OutpostsSimulator(scenario: Scenario(orders: [Self.order("PREPARING", item: "BUILDING")]),
                                          speed: 0, region: "us-west-2")
        try await Self.serving(simulator) { client in
            let path = try temporaryStorePath()
            let store = try StateStore(path: path)
            let recorder = Recorder()
            let poller = Poller(store: store, source: client, settings: settings(orders: [Self.orderId], path: path),
                                route: { _ in [] }, logger: quietLogger(), onCommit: { recorder.committed($0) })

            let first = await poller.pollAllOnce()
            #expect(first.failures.isEmpty)
            #expect(first.events.map(\.type) == [.orderFirstSeen])

            try await simulator.putOrder(Self.order("IN_PROGRESS", item: "SHIPPED", shipment: ShipmentInformation(
                shipmentTrackingNumber: "1Z999AA10123456784", shipmentCarrier: "UPS")))
            let changed = await poller.pollAllOnce()
            #expect(changed.events.map(\.type) == [.orderStatusChanged, .lineItemStatusChanged, .lineItemShipmentChanged])
            #expect(changed.events.last?.lineItem?.shipment == Shipment(
                carrier: "UPS", trackingNumber: "1Z999AA10123456784",
                trackingURL: "https://www.ups.com/track?loc=en_US&tracknum=1Z999AA10123456784"))

            // A truncated 200 is a failed poll and no event.
            try await simulator.injectFault(FaultInjection(kind: .truncated, count: 1))
            let truncated = await poller.pollAllOnce()
            #expect(truncated.events.isEmpty)
            #expect(truncated.failures.map(\.orderId) == [Self.orderId])

            // A 429 slows the poller down and is retried, never a failure.
            try await simulator.injectFault(FaultInjection(kind: .throttle, count: 1))
            let throttled = await poller.pollAllOnce()
            #expect(throttled.failures.isEmpty)
            #expect(throttled.events.isEmpty)
            #expect(await poller.status().effectiveRate < 1000)

            #expect(await simulator.deleteOrder(Self.orderId))
            let gone = await poller.pollAllOnce()
            #expect(gone.failures.isEmpty)
            #expect(gone.events.map(\.type) == [.orderNotFound])
            #expect(try await store.history(orderId: Self.orderId).map(\.sequence) == Array(1...5))
        }
    }

    @Test func shutdownIsPromptWhileAGetOrderHangs() async throws {
        let simulator = OutpostsSimulator(scenario: Scenario(orders: [Self.order("PREPARING", item: "BUILDING")]),
                                          speed: 0, region: "us-west-2")
        try await simulator.injectFault(FaultInjection(kind: .hang, count: 1, seconds: 30))
        try await Self.serving(simulator) { client in
            let path = try temporaryStorePath()
            let store = try StateStore(path: path)
            let poller = Poller(store: store, source: client, settings: settings(orders: [Self.orderId], path: path),
                                route: { _ in [] }, logger: quietLogger(), onCommit: { _ in })
            let loop = Task { try await poller.run() }
            let called = await eventually { await simulator.stats().calls >= 1 }
            #expect(called)
            try await Task.sleep(for: .milliseconds(50))   // let the request reach the hang
            let asked = ContinuousClock.now
            loop.cancel()
            try await loop.value
            // Half the 30 s hang: proves shutdown did not wait for it, with room for a loaded machine.
            #expect(ContinuousClock.now - asked < .seconds(15), "shutdown must not wait for the hung call")
            #expect(try await store.history(orderId: Self.orderId).isEmpty)
        }
    }

    /// The throttling defect of the first version, as a user met it: demand far below `max_rps`,
    /// then every call answered 429. The calls per second during the storm, as a ratio to the calm
    /// rate before it, must drop (they rose before: the limiter halved from `max_rps` and the
    /// client's retries came on top). The client retries (3 attempts) through the schedule's tokens.
    @Test func aThrottlingStormSlowsThePollerBelowItsCalmRate() async throws {
        let ids = (0..<4).map { "oo-0123456789abcdef\($0)" }
        let orders = ids.map { id in
            Order(outpostId: "op-0123456789abcdef0", orderId: id, status: "PREPARING", lineItems: [],
                  orderSubmissionDate: Date(timeIntervalSince1970: 1_780_000_000))
        }
        let simulator = OutpostsSimulator(scenario: Scenario(orders: orders), speed: 0, region: "us-west-2")
        let port = Mutex<Int?>(nil)
        let server = Task { try await simulator.run(port: 0, onListening: { bound in port.withLock { $0 = bound } }) }
        defer { server.cancel() }
        try #require(await eventually { port.withLock { $0 } != nil }, "the simulator did not start listening")
        let client = OutpostsClient(
            endpoint: OutpostsEndpoint(region: "us-west-2", url: URL(string: "http://127.0.0.1:\(port.withLock { $0 }!)")!),
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret")),
            httpClient: HTTPClient.shared, requestTimeout: .seconds(5),
            backoff: RetryBackoff(scale: .milliseconds(50), maxBackoff: .milliseconds(200)))
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let recorder = Recorder()
        let poller = Poller(store: store, source: client,
                            settings: settings(orders: ids, interval: .seconds(1), maxRPS: 50, failingAfter: 1, path: path),
                            route: { _ in [] }, logger: quietLogger(), onCommit: { recorder.committed($0) })
        func getOrders() async -> Int { await simulator.stats().calls("GetOrder") }
        let (calm, storm) = try await whileRunning(poller) { () async throws -> (Double, Double) in
            try await Task.sleep(for: .seconds(2))          // first polls spread over the first second
            let calmStart = await getOrders()
            try await Task.sleep(for: .seconds(4))
            let calm = Double(await getOrders() - calmStart) / 4
            try await simulator.injectFault(FaultInjection(kind: .throttle, count: 1_000_000))
            let stormStart = await getOrders()
            try await Task.sleep(for: .seconds(6))
            let storm = Double(await getOrders() - stormStart) / 6
            await simulator.clearFaults()
            #expect(await eventually(timeout: .seconds(20)) {
                await simulator.stats().calls("GetOrder", answer: "200") > Int(calm * 6) + 8
            }, "polling resumes once the storm is over")
            return (calm, storm)
        }
        print("throttling storm: calm \(calm) GetOrder/s, storm \(storm) GetOrder/s, ratio \(storm / calm)")
        // A sanity floor only (the poller ran); the behaviour is the ratio below. A loaded CI
        // machine measured 2.5 of the 4 calls per second once.
        #expect(calm >= 2, "4 orders every second: about 4 calls per second before the storm (\(calm))")
        #expect(storm / calm < 0.5, "calls per second during the storm: \(storm) against \(calm) before")
        for id in ids {
            #expect(recorder.types(of: id) == [.orderFirstSeen], "throttling is never a failure")
        }
    }
}
