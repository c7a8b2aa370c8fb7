import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OutpostsAPI
import ServiceLifecycle

/// A local fake of the AWS Outposts order API (GetOrder, ListOrders) that plays a ``Scenario``:
/// orders change status as scenario time passes, and faults (throttling, 500s, broken bodies,
/// hangs) can be injected, so outpostwatch can be demonstrated and tested with no AWS account.
///
/// It answers as AWS does on the wire (REST-JSON, epoch-second timestamps, `x-amzn-ErrorType`,
/// `x-amzn-RequestId`) and insists on a well-formed SigV4 `Authorization` header, though it has
/// no secrets to verify the signature with. Under `/_simulator/` it serves an unauthenticated
/// admin API (see docs/simulator.md); the same operations are methods here for in-process tests.
///
/// Time: scenario time advances at `speed` scenario seconds per real second from `startDate`;
/// speed 0 is manual mode, where only ``advance()`` (or `POST /_simulator/advance`) moves it.
public final class OutpostsSimulator: Sendable {
    public let scenario: Scenario
    /// Scenario seconds per real second; 0 means manual.
    public let speed: Double
    /// The wall time of scenario time 0.
    public let startDate: Date

    private let state: SimulatorState
    private let signatureCheck: SigV4HeaderCheck
    private let logger: Logger

    /// - Parameters:
    ///   - speed: scenario seconds per real second; 0 for manual mode.
    ///   - startDate: scenario time 0; defaults to the clock's now.
    ///   - clock: the wall clock; tests pass one they move by hand.
    ///   - region: when set, the SigV4 credential scope must name this region. A scenario with
    ///     `accounts` ignores it: each account's own region is the one its callers must sign for.
    ///   - checkRequestTime: refuse requests whose `X-Amz-Date` is more than 15 minutes from the
    ///     real clock, as AWS does.
    public init(scenario: Scenario = .default, speed: Double = 1, startDate: Date? = nil, clock: SimulatorClock = .system,
                region: String? = nil, checkRequestTime: Bool = true,
                logger: Logger = Logger(label: "outpostwatch.simulator")) {
        let start = startDate ?? clock.now()
        self.scenario = scenario
        self.speed = max(0, speed.isFinite ? speed : 0)
        self.startDate = start
        self.logger = logger
        self.signatureCheck = SigV4HeaderCheck(region: scenario.accounts == nil ? region : nil,
                                               maximumClockSkew: checkRequestTime ? 15 * 60 : nil)
        self.state = SimulatorState(scenario: scenario, speed: speed, startDate: start, clock: clock)
    }

    // MARK: Serving

    /// Serves the Outposts API and the admin API until the calling task is cancelled (or, inside
    /// a ServiceGroup, until graceful shutdown).
    ///
    /// Cancellation stops the server gracefully: open connections are closed once their answer is
    /// written, and calls held by a `hang` fault are cut after one second.
    ///
    /// - Parameters:
    ///   - port: 0 picks a free port.
    ///   - onListening: called once with the bound port, when requests can be sent.
    public func run(host: String = "127.0.0.1", port: Int = 0,
                    onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = Application(
            responder: SimulatorResponder(simulator: self),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [app], logger: logger))
        // Served from a task of its own: cancelling the server's task directly would tear down
        // its connections mid-answer (and log each as an error); shutting down gracefully does not.
        let serving = Task { try await group.run() }
        try await withTaskCancellationHandler {
            try await serving.value
        } onCancel: {
            Task {
                await group.triggerGracefulShutdown()
                try? await Task.sleep(for: .seconds(1))
                serving.cancel()
            }
        }
    }

    // MARK: In-process admin

    /// The orders as GetOrder would answer them now, in the order they were added.
    public func currentOrders() async -> [Order] { await state.orders() }

    /// One order as GetOrder would answer it now; nil when GetOrder would say NotFoundException.
    public func order(_ orderId: String) async -> Order? { await state.order(orderId) }

    /// Applies the next timeline step now; nil when the timeline is finished.
    @discardableResult
    public func advance() async -> Scenario.Step? { await state.advance() }

    /// Applies every remaining step; returns them.
    @discardableResult
    public func advanceToEnd() async -> [Scenario.Step] { await state.advanceToEnd() }

    /// Applies every step up to scenario time `time` and moves scenario time there (also in
    /// manual mode, so `for` faults can expire); returns the steps applied.
    @discardableResult
    public func advance(through time: Double) async -> [Scenario.Step] { await state.advance(through: time) }

    /// Steps not yet applied.
    public func remainingSteps() async -> Int { await state.remainingSteps() }

    /// Current scenario time in seconds.
    public func scenarioTime() async -> Double { await state.scenarioTime() }

    /// Adds or replaces an order (by its `OrderId`). Throws ``ScenarioError`` for an order GetOrder
    /// could not serve (missing or malformed OrderId, missing Status, duplicate line item ids).
    ///
    /// - Parameter account: when the scenario declares accounts, the account (name or access key
    ///   id) that owns the order from now on; needed for an order no account owns yet.
    public func putOrder(_ order: Order, account: String? = nil) async throws {
        try await state.putOrder(order, account: account)
    }

    /// The scenario's accounts with the orders each owns now (after ``putOrder(_:account:)``);
    /// nil when the scenario declares none.
    public func accounts() async -> [Scenario.Account]? { await state.accounts() }

    /// Removes an order: GetOrder then answers NotFoundException. False if there was none.
    @discardableResult
    public func deleteOrder(_ orderId: String) async -> Bool { await state.deleteOrder(orderId) }

    /// Starts a fault (see ``FaultInjection``); throws ``ScenarioError`` for a meaningless one.
    public func injectFault(_ fault: FaultInjection) async throws { try await state.injectFault(fault) }

    public func clearFaults() async { await state.clearFaults() }

    public func activeFaults() async -> [FaultInjection] { await state.activeFaults() }

    public func stats() async -> SimulatorStats { await state.stats() }

    /// The latest Outposts API calls (at most 200), oldest first.
    public func recentRequests() async -> [RecordedRequest] { await state.recentRequests() }

    /// Zeroes the stats and forgets recorded requests.
    public func resetStats() async { await state.resetStats() }

    // MARK: Request handling

    fileprivate func respond(to request: Request) async -> Response {
        let path = request.uri.path.removingPercentEncoding ?? request.uri.path
        if path == "/_simulator" || path.hasPrefix("/_simulator/") {
            return await respondAdmin(to: request, path: path)
        }
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        // HTTP/1 `Host` arrives as the request's authority, not as a header field; SigV4 signs it as `host`.
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = authority }
        var call = IncomingCall(method: request.method.rawValue, path: path, query: request.uri.query, headers: headers)
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let operation: String
        if request.method == .get, segments.count == 2, segments.first == "orders", !(segments.last ?? "").isEmpty {
            operation = SimulatorOperation.getOrder
        } else if request.method == .get, segments.count == 1, segments.first == "list-orders" {
            operation = SimulatorOperation.listOrders
        } else {
            await state.record(call, operation: SimulatorOperation.unknown, answer: "UnknownOperationException")
            return Self.response(.error(404, "UnknownOperationException", "No Outposts operation at \(request.method.rawValue) \(path)."))
        }
        switch signatureCheck.check(headers: headers, now: Date()) {
        case .failure(let rejection):
            await state.record(call, operation: operation, answer: rejection.code)
            return Self.response(.error(rejection.status, rejection.code, rejection.message))
        case .success(let signer):
            call.signer = signer
        }
        let answer: APIAnswer
        if operation == SimulatorOperation.getOrder {
            answer = await state.serveGetOrder(String(segments.last!), call: call)
        } else {
            let query = request.uri.queryParameters
            answer = await state.serveListOrders(
                outpostFilter: query["OutpostIdentifierFilter"].map(String.init),
                maxResults: query["MaxResults"].map(String.init),
                nextToken: query["NextToken"].map(String.init), call: call)
        }
        if let hold = answer.holdSeconds {
            // Cancellation (the server stopping) ends the hang early; the answer is then moot.
            try? await Task.sleep(for: .seconds(hold))
        }
        return Self.response(answer)
    }

    private func respondAdmin(to incoming: Request, path: String) async -> Response {
        var request = incoming
        let segments = path.split(separator: "/").dropFirst().map(String.init)
        guard segments.count <= 2 else { return Self.adminError(404, "no admin operation at \(path); see docs/simulator.md") }
        let method = request.method
        let resource = segments.first ?? ""
        let id = segments.count == 2 ? segments[1] : nil
        func body() async throws -> Data {
            let buffer = try await request.collectBody(upTo: 4 << 20)
            return Data(buffer.readableBytesView)
        }
        do {
            switch (method, resource, id) {
            case (.post, "advance", nil):
                let applied: [Scenario.Step]
                switch request.uri.queryParameters["to"].map(String.init) {
                case nil:
                    applied = await state.advance().map { [$0] } ?? []
                case "end"?:
                    applied = await state.advanceToEnd()
                case let text?:
                    guard let time = Double(text), time.isFinite else {
                        return Self.adminError(400, "'to' must be 'end' or a number of seconds, got '\(text)'")
                    }
                    applied = await state.advance(through: time)
                }
                return try Self.adminJSON(AdvanceResult(applied: applied.count, remaining: await state.remainingSteps(),
                                                        scenarioTime: await state.scenarioTime(), steps: applied))
            case (.get, "orders", nil):
                return try Self.adminJSON(["Orders": await state.orders()])
            case (.get, "orders", let id?):
                guard let order = await state.order(id) else { return Self.adminError(404, "no order \(id)") }
                return try Self.adminJSON(GetOrderOutput(order: order))
            case (.put, "orders", let id?):
                let data = try await body()
                var order: Order
                do {
                    let decoder = WireFormat.decoder()
                    if let wrapped = try? decoder.decode(GetOrderOutput.self, from: data), let inner = wrapped.order {
                        order = inner
                    } else {
                        order = try decoder.decode(Order.self, from: data)
                    }
                } catch let error as DecodingError {
                    return Self.adminError(400, "not a wire-format Order: \(WireFormat.describe(error))")
                }
                if order.orderId == nil { order.orderId = id }
                guard order.orderId == id else {
                    return Self.adminError(400, "OrderId \(order.orderId ?? "") in the body differs from \(id) in the path")
                }
                do {
                    try await state.putOrder(order, account: request.uri.queryParameters["account"].map(String.init))
                } catch {
                    return Self.adminError(400, String(describing: error))
                }
                return try Self.adminJSON(GetOrderOutput(order: await state.order(id)))
            case (.delete, "orders", let id?):
                return await state.deleteOrder(id) ? Response(status: .noContent) : Self.adminError(404, "no order \(id)")
            case (.post, "faults", nil):
                let data = try await body()
                let fault: FaultInjection
                do {
                    fault = try WireFormat.decoder().decode(FaultInjection.self, from: data)
                } catch let error as DecodingError {
                    return Self.adminError(400, "not a fault: \(WireFormat.describe(error)); kinds: \(FaultInjection.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                do {
                    try await state.injectFault(fault)
                } catch {
                    return Self.adminError(400, String(describing: error))
                }
                return try Self.adminJSON(["faults": await state.activeFaults()])
            case (.get, "faults", nil):
                return try Self.adminJSON(["faults": await state.activeFaults()])
            case (.delete, "faults", nil):
                await state.clearFaults()
                return Response(status: .noContent)
            case (.get, "accounts", nil):
                return try Self.adminJSON(["accounts": await state.accounts()])
            case (.get, "stats", nil):
                return try Self.adminJSON(await state.stats())
            case (.delete, "stats", nil):
                await state.resetStats()
                return Response(status: .noContent)
            case (.get, "requests", nil):
                return try Self.adminJSON(await state.recentRequests())
            default:
                return Self.adminError(404, "no admin operation \(method.rawValue) \(path); see docs/simulator.md")
            }
        } catch {
            return Self.adminError(400, "cannot handle the request: \(error)")
        }
    }

    private struct AdvanceResult: Encodable {
        var applied: Int
        var remaining: Int
        var scenarioTime: Double
        var steps: [Scenario.Step]
    }

    // MARK: Responses

    private static func response(_ answer: APIAnswer) -> Response {
        var headers = HTTPFields()
        headers[HTTPField.Name("x-amzn-RequestId")!] = UUID().uuidString.lowercased()
        headers[.contentType] = "application/json"
        if let code = answer.errorCode { headers[HTTPField.Name("x-amzn-ErrorType")!] = code }
        return Response(status: status(answer.status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    private static func adminJSON(_ value: some Encodable) throws -> Response {
        let body = try WireFormat.encoder().encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static func adminError(_ code: Int, _ message: String) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: ["message": message], options: [.sortedKeys])) ?? Data()
        return Response(status: status(code), headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static func status(_ code: Int) -> HTTPResponse.Status {
        switch code {
        case 200: .ok
        case 204: .noContent
        case 400: .badRequest
        case 403: .forbidden
        case 404: .notFound
        case 429: .tooManyRequests
        case 500: .internalServerError
        default: HTTPResponse.Status(code: code)
        }
    }
}

/// Hands every request to the simulator; its own routing keeps AWS-shaped answers for paths
/// Hummingbird's router would answer with an empty 404.
private struct SimulatorResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let simulator: OutpostsSimulator

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        await simulator.respond(to: request)
    }
}
