import Foundation

/// A misbehaviour the simulator plays on Outposts API calls, so clients can be tested against
/// every way AWS (or the network path to it) fails.
///
/// JSON form (admin `POST /_simulator/faults`, or a scenario step's `"fault"`):
/// ```json
/// {"kind": "throttle", "count": 2}
/// {"kind": "error500", "ratio": 0.5, "for": 10}
/// {"kind": "hang", "seconds": 3, "operation": "GetOrder", "order": "oo-0123456789abcdef0"}
/// ```
/// - `count`: fault the next N matching calls, then expire.
/// - `ratio`: fault this fraction of matching calls, deterministically (0.5 = every second call,
///   0.25 = every fourth), so tests never depend on luck.
/// - `for`: expire after this many seconds of scenario time (manual mode: of applied steps).
/// - With none of the three, exactly one call is faulted.
/// - `operation` (`GetOrder` or `ListOrders`), `order` (GetOrder of one order id) and `account`
///   (calls signed for one of the scenario's accounts, by name or access key id) narrow which
///   calls match.
public struct FaultInjection: Codable, Sendable, Equatable {
    /// What the faulted call gets back.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// HTTP 429, `x-amzn-ErrorType: ThrottlingException`.
        case throttle
        /// HTTP 500, `x-amzn-ErrorType: InternalServerException`.
        case error500
        /// HTTP 200 whose body is not JSON.
        case malformed
        /// HTTP 200 with the first half of the real JSON answer (Content-Length matches it).
        case truncated
        /// HTTP 200 with an empty body.
        case empty
        /// No answer for `seconds` (default 60), then the normal answer: for client timeouts.
        case hang
    }

    public var kind: Kind
    public var count: Int?
    public var ratio: Double?
    /// Lifetime in scenario seconds (JSON key `for`).
    public var duration: Double?
    /// `GetOrder` or `ListOrders`; nil matches both.
    public var operation: String?
    /// Only GetOrder calls for this order id (JSON key `order`).
    public var orderId: String?
    /// How long a `hang` holds the call, in real seconds (JSON key `seconds`).
    public var seconds: Double?
    /// Only calls of this account of the scenario (its name or access key id).
    public var account: String?

    public init(kind: Kind, count: Int? = nil, ratio: Double? = nil, duration: Double? = nil,
                operation: String? = nil, orderId: String? = nil, seconds: Double? = nil, account: String? = nil) {
        self.kind = kind
        self.count = count
        self.ratio = ratio
        self.duration = duration
        self.operation = operation
        self.orderId = orderId
        self.seconds = seconds
        self.account = account
    }

    enum CodingKeys: String, CodingKey {
        case kind, count, ratio
        case duration = "for"
        case operation
        case orderId = "order"
        case seconds
        case account
    }

    /// The operations a fault can be narrowed to.
    public static let operations: Set<String> = [SimulatorOperation.getOrder, SimulatorOperation.listOrders]

    /// Problems that would make the fault meaningless, as human sentences (empty when valid).
    public func problems() -> [String] {
        var problems: [String] = []
        if let count, count < 1 { problems.append("fault count must be at least 1, got \(count)") }
        if let ratio, !(ratio > 0 && ratio <= 1) { problems.append("fault ratio must be in (0, 1], got \(ratio)") }
        if let duration, !(duration > 0) { problems.append("fault 'for' must be a positive number of seconds, got \(duration)") }
        if let seconds, !(seconds >= 0) { problems.append("fault 'seconds' must not be negative, got \(seconds)") }
        if let operation, !Self.operations.contains(operation) {
            problems.append("fault operation must be GetOrder or ListOrders, got \(operation)")
        }
        return problems
    }
}

/// Names of the Outposts operations the simulator serves, as used in stats and fault filters.
public enum SimulatorOperation {
    public static let getOrder = "GetOrder"
    public static let listOrders = "ListOrders"
    /// A request to a path or method Outposts does not have.
    public static let unknown = "Unknown"
}

/// A fault while it is in force: the injection plus the bookkeeping that decides when it fires.
struct ActiveFault: Sendable {
    let id: Int
    /// The injection with defaults filled in (a bare fault means "the next call").
    let injection: FaultInjection
    /// Scenario time at which a `for` fault stops.
    let expiresAt: Double?
    var fired = 0
    /// Error-diffusion accumulator: `ratio` is added per matching call and a fault fires each
    /// time it reaches 1, which spreads faults evenly without randomness.
    var accumulator = 0.0

    init(id: Int, injection: FaultInjection, injectedAt: Double) {
        var effective = injection
        if injection.count == nil, injection.ratio == nil, injection.duration == nil {
            effective.count = 1
        }
        self.id = id
        self.injection = effective
        self.expiresAt = injection.duration.map { injectedAt + $0 }
    }

    func isExpired(at scenarioTime: Double) -> Bool {
        if let limit = injection.count, fired >= limit { return true }
        if let expiresAt, scenarioTime >= expiresAt { return true }
        return false
    }

    /// - Parameter account: the scenario account that signed the call, if any.
    func matches(operation: String, orderId: String?, account: Scenario.Account?) -> Bool {
        if let wanted = injection.operation, wanted != operation { return false }
        if let wanted = injection.orderId, wanted != orderId { return false }
        if let wanted = injection.account, wanted != account?.label, wanted != account?.accessKeyId { return false }
        return true
    }

    /// Decides whether this matching call is faulted, and counts it.
    mutating func fires() -> Bool {
        guard let ratio = injection.ratio else {
            fired += 1
            return true
        }
        accumulator += ratio
        // The tolerance keeps ratios like 1/3 from drifting past their turn by rounding.
        if accumulator >= 1 - 1e-9 {
            accumulator -= 1
            fired += 1
            return true
        }
        return false
    }
}
