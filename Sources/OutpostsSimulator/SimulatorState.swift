import Foundation
import OutpostsAPI

/// Where the simulator reads the current wall time; tests pass a hand-moved clock so that
/// speed can be checked without sleeping.
public struct SimulatorClock: Sendable {
    public var now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    /// The system's wall clock.
    public static let system = SimulatorClock { Date() }
}

/// What one Outposts API request looked like, as far as the simulator's bookkeeping cares.
struct IncomingCall: Sendable {
    var method: String
    var path: String
    var query: String?
    var headers: [String: String]
    var signer: SigV4HeaderCheck.Signer?
}

/// The simulator's answer to one API call, before it becomes an HTTP response.
struct APIAnswer: Sendable, Equatable {
    var status: Int
    var body: Data
    /// `x-amzn-ErrorType`, for error answers.
    var errorCode: String?
    /// How a `hang` fault holds the answer back, in real seconds.
    var holdSeconds: Double?

    static func json(_ body: Data) -> APIAnswer { APIAnswer(status: 200, body: body) }

    static func error(_ status: Int, _ code: String, _ message: String) -> APIAnswer {
        let body = (try? JSONSerialization.data(withJSONObject: ["message": message], options: [.sortedKeys])) ?? Data("{}".utf8)
        return APIAnswer(status: status, body: body, errorCode: code)
    }
}

/// The mutable heart of the simulator: orders, timeline position, faults and counters, behind an
/// actor so HTTP handlers and in-process callers see one consistent account.
actor SimulatorState {
    private var world = SimulatedWorld()
    private let timeline: [Scenario.Step]
    private var nextStepIndex = 0
    /// Scenario time of the latest applied step: manual advances move time forward to it.
    private var lastAppliedAt = 0.0
    private var faults: [ActiveFault] = []
    /// The scenario's accounts and who owns which order (docs/simulator.md, "Accounts").
    private var directory: AccountDirectory
    private var nextFaultId = 1
    private var counters = SimulatorStats()
    private var recent: [RecordedRequest] = []
    private let recentLimit = 200

    let speed: Double
    let startDate: Date
    private let clock: SimulatorClock
    static let defaultPageSize = 20

    init(scenario: Scenario, speed: Double, startDate: Date, clock: SimulatorClock) {
        self.speed = max(0, speed.isFinite ? speed : 0)
        self.startDate = startDate
        self.clock = clock
        self.timeline = scenario.sortedTimeline
        self.directory = AccountDirectory(scenario.accounts)
        for var order in scenario.orders {
            // A missing submission date would make the order look brand new at every start.
            if order.orderSubmissionDate == nil { order.orderSubmissionDate = startDate.addingTimeInterval(-14 * 86_400) }
            world.put(order)
        }
    }

    // MARK: Time

    private var clockElapsed: Double {
        guard speed > 0 else { return 0 }
        return max(0, clock.now().timeIntervalSince(startDate)) * speed
    }

    func scenarioTime() -> Double { max(clockElapsed, lastAppliedAt) }

    /// Applies every step whose time has come by the clock.
    private func catchUp() {
        let now = clockElapsed
        while nextStepIndex < timeline.count, timeline[nextStepIndex].at <= now {
            // Applied lazily, but dated when it fell due: the answer does not depend on when
            // someone happened to ask.
            let dueAfter = speed > 0 ? timeline[nextStepIndex].at / speed : 0
            applyNextStep(wallTime: startDate.addingTimeInterval(dueAfter))
        }
        let time = scenarioTime()
        faults.removeAll { $0.isExpired(at: time) }
    }

    /// - Parameter wallTime: when the step takes effect (e.g. its `OrderFulfilledDate`); an
    ///   explicit advance takes effect now.
    @discardableResult
    private func applyNextStep(wallTime: Date? = nil) -> Scenario.Step? {
        guard nextStepIndex < timeline.count else { return nil }
        let step = timeline[nextStepIndex]
        nextStepIndex += 1
        lastAppliedAt = max(lastAppliedAt, step.at)
        do {
            try world.apply(step, date: wallTime ?? clock.now())
        } catch {
            // Only possible when an admin call removed what a later step expects; the rest of
            // the timeline still runs.
        }
        if let fault = step.fault { activate(fault, at: step.at) }
        return step
    }

    private func activate(_ fault: FaultInjection, at time: Double) {
        faults.append(ActiveFault(id: nextFaultId, injection: fault, injectedAt: time))
        nextFaultId += 1
    }

    // MARK: Admin

    func advance() -> Scenario.Step? {
        catchUp()
        return applyNextStep()
    }

    /// Applies every step up to and including scenario time `time`, and moves scenario time there.
    func advance(through time: Double) -> [Scenario.Step] {
        catchUp()
        var applied: [Scenario.Step] = []
        while nextStepIndex < timeline.count, timeline[nextStepIndex].at <= time, let step = applyNextStep() {
            applied.append(step)
        }
        lastAppliedAt = max(lastAppliedAt, time)
        return applied
    }

    func advanceToEnd() -> [Scenario.Step] {
        catchUp()
        var applied: [Scenario.Step] = []
        while let step = applyNextStep() { applied.append(step) }
        return applied
    }

    func remainingSteps() -> Int {
        catchUp()
        return timeline.count - nextStepIndex
    }

    func orders() -> [Order] {
        catchUp()
        return world.orders
    }

    func order(_ id: String) -> Order? {
        catchUp()
        return world.order(id)
    }

    /// - Parameter account: with accounts, the account (name or access key id) that owns the
    ///   order from now on; may be left out for an order that already has an owner.
    func putOrder(_ order: Order, account: String? = nil) throws(ScenarioError) {
        catchUp()
        var problems = SimulatedWorld.problems(of: order)
        if let id = order.orderId, problems.isEmpty {
            if let account {
                if !directory.isEnabled {
                    problems.append("'account' \(account) needs a scenario that declares accounts")
                } else if directory.account(named: account) == nil {
                    problems.append("no account \(account) in the scenario")
                }
            } else if directory.isEnabled, directory.owner(of: id) == nil {
                problems.append("order \(id) belongs to no account: name its account")
            }
        }
        if !problems.isEmpty { throw ScenarioError(problems.joined(separator: "; ")) }
        if let account, let id = order.orderId { _ = directory.assign(id, to: account) }
        world.put(order)
    }

    /// The scenario's accounts with the orders they own now; nil without accounts.
    func accounts() -> [Scenario.Account]? {
        directory.isEnabled ? directory.accounts : nil
    }

    func deleteOrder(_ id: String) -> Bool {
        catchUp()
        return world.delete(id)
    }

    func injectFault(_ fault: FaultInjection) throws(ScenarioError) {
        var problems = fault.problems()
        if let account = fault.account, directory.account(named: account) == nil {
            problems.append(directory.isEnabled ? "fault names account \(account), which the scenario does not declare"
                                                : "fault 'account' needs a scenario that declares accounts")
        }
        if !problems.isEmpty { throw ScenarioError(problems.joined(separator: "; ")) }
        catchUp()
        activate(fault, at: scenarioTime())
    }

    func clearFaults() { faults.removeAll() }

    func activeFaults() -> [FaultInjection] {
        catchUp()
        return faults.map(\.injection)
    }

    func stats() -> SimulatorStats { counters }

    func recentRequests() -> [RecordedRequest] { recent }

    func resetStats() {
        counters = SimulatorStats()
        recent.removeAll()
    }

    // MARK: Serving

    /// Counts a call and remembers it; `answer` is the stats label.
    func record(_ call: IncomingCall, operation: String, answer: String) {
        counters.record(operation: operation, answer: answer, signer: call.signer)
        var headers = call.headers
        if headers["x-amz-security-token"] != nil { headers["x-amz-security-token"] = "<redacted>" }
        recent.append(RecordedRequest(method: call.method, path: call.path, query: call.query, operation: operation,
                                      answer: answer, headers: headers, accessKeyId: call.signer?.accessKeyId,
                                      region: call.signer?.region,
                                      account: call.signer.flatMap { directory.account(named: $0.accessKeyId)?.label }))
        if recent.count > recentLimit { recent.removeFirst(recent.count - recentLimit) }
    }

    func serveGetOrder(_ orderId: String, call: IncomingCall) -> APIAnswer {
        catchUp()
        return serve(call, operation: SimulatorOperation.getOrder, orderId: orderId) { account in
            guard (try? SimulatedWorld.orderIdPattern.wholeMatch(in: orderId)) != nil, orderId.count <= 20 else {
                return .error(400, "ValidationException",
                              "1 validation error detected: Value '\(orderId)' at 'orderId' failed to satisfy constraint: Member must satisfy regular expression pattern: oo-[a-f0-9]{17}$")
            }
            // Another account's order is answered as AWS answers for another account's resources.
            guard let order = self.world.order(orderId), self.directory.owns(account, orderId) else {
                return .error(404, "NotFoundException", "Order \(orderId) not found.")
            }
            guard let body = try? WireFormat.encoder().encode(GetOrderOutput(order: order)) else {
                return .error(500, "InternalServerException", "Internal Server Error")
            }
            return .json(body)
        }
    }

    func serveListOrders(outpostFilter: String?, maxResults: String?, nextToken: String?, call: IncomingCall) -> APIAnswer {
        catchUp()
        return serve(call, operation: SimulatorOperation.listOrders, orderId: nil) { account in
            var pageSize = Self.defaultPageSize
            if let maxResults {
                guard let value = Int(maxResults), (1...1000).contains(value) else {
                    return .error(400, "ValidationException",
                                  "1 validation error detected: Value '\(maxResults)' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000")
                }
                // Like AWS, the server may answer fewer than asked: clients must follow NextToken.
                pageSize = min(value, Self.defaultPageSize)
            }
            var outpostId: String?
            if let outpostFilter {
                let pattern = /(arn:aws([a-z-]+)?:outposts:[a-z\d-]+:\d{12}:outpost\/)?(op-[a-f0-9]{17})/
                guard let match = try? pattern.wholeMatch(in: outpostFilter) else {
                    return .error(400, "ValidationException",
                                  "1 validation error detected: Value '\(outpostFilter)' at 'outpostIdentifierFilter' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(arn:aws([a-z-]+)?:outposts:[a-z\\d-]+:\\d{12}:outpost/)?op-[a-f0-9]{17}$")
                }
                outpostId = String(match.output.3)
            }
            let listed = self.world.orders.filter {
                (outpostId == nil || $0.outpostId == outpostId) && self.directory.owns(account, $0.orderId ?? "")
            }
            var start = 0
            if let nextToken {
                // Tokens follow the model's pattern `^(\d+)##(\S+)$`: offset ## order id at that
                // offset, so a page boundary survives orders added or removed before it.
                let parts = nextToken.components(separatedBy: "##")
                guard parts.count == 2, let offset = Int(parts[0]), offset >= 0, !parts[1].isEmpty else {
                    return .error(400, "ValidationException", "Invalid NextToken.")
                }
                start = listed.firstIndex { $0.orderId == parts[1] } ?? min(offset, listed.count)
            }
            let end = min(start + pageSize, listed.count)
            let page = listed[start..<end].map(OrderSummary.init(summarizing:))
            let token = end < listed.count ? "\(end)##\(listed[end].orderId ?? "")" : nil
            guard let body = try? WireFormat.encoder().encode(ListOrdersOutput(orders: page, nextToken: token)) else {
                return .error(500, "InternalServerException", "Internal Server Error")
            }
            return .json(body)
        }
    }

    /// Refuses a caller the scenario's accounts do not know (or who signed for another region),
    /// else applies the first matching fault (if it fires) to the normal answer of the caller's
    /// account; records the call either way.
    private func serve(_ call: IncomingCall, operation: String, orderId: String?,
                       normal: (Scenario.Account?) -> APIAnswer) -> APIAnswer {
        let account: Scenario.Account?
        switch directory.authorize(call.signer) {
        case .failure(let rejection):
            // Authentication comes before throttling and every other fault, as at AWS.
            record(call, operation: operation, answer: rejection.code)
            return .error(rejection.status, rejection.code, rejection.message)
        case .success(let signed):
            account = signed
        }
        var answer: APIAnswer
        var label: String
        if let kind = firingFault(operation: operation, orderId: orderId, account: account) {
            switch kind {
            case .throttle:
                answer = .error(429, "ThrottlingException", "Rate exceeded")
            case .error500:
                answer = .error(500, "InternalServerException", "Internal Server Error")
            case .malformed:
                answer = APIAnswer(status: 200, body: Data("<html><body><h1>502 Bad Gateway</h1></body></html>".utf8))
            case .truncated:
                let full = normal(account).body
                answer = APIAnswer(status: 200, body: full.prefix(full.count / 2))
            case .empty:
                answer = APIAnswer(status: 200, body: Data())
            case .hang(let seconds):
                answer = normal(account)
                answer.holdSeconds = seconds
            }
            label = kind.label
        } else {
            answer = normal(account)
            label = answer.errorCode ?? String(answer.status)
        }
        record(call, operation: operation, answer: label)
        return answer
    }

    private enum FiredFault {
        case throttle, error500, malformed, truncated, empty
        case hang(Double)

        var label: String {
            switch self {
            case .throttle: "ThrottlingException"
            case .error500: "InternalServerException"
            case .malformed: "malformed"
            case .truncated: "truncated"
            case .empty: "empty"
            case .hang: "hang"
            }
        }
    }

    private func firingFault(operation: String, orderId: String?, account: Scenario.Account?) -> FiredFault? {
        for index in faults.indices where faults[index].matches(operation: operation, orderId: orderId, account: account) {
            guard faults[index].fires() else { continue }
            let injection = faults[index].injection
            if faults[index].isExpired(at: scenarioTime()) { faults.remove(at: index) }
            switch injection.kind {
            case .throttle: return .throttle
            case .error500: return .error500
            case .malformed: return .malformed
            case .truncated: return .truncated
            case .empty: return .empty
            case .hang: return .hang(injection.seconds ?? 60)
            }
        }
        return nil
    }
}
