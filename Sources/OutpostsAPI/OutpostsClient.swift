import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat

/// What kind of failure an Outposts API call ended in; decides retrying and how the watch engine reacts.
public enum OutpostsErrorKind: String, Sendable, Equatable {
    /// `NotFoundException`: the order does not exist (any more) for this account.
    case notFound
    /// `ValidationException` and other 400s caused by the request.
    case validation
    /// `AccessDeniedException`: the IAM policy does not allow the call.
    case accessDenied
    /// Signature or credential problems: InvalidSignatureException, UnrecognizedClientException,
    /// ExpiredTokenException, IncompleteSignature, MissingAuthenticationToken…
    case authentication
    /// HTTP 429 or any AWS throttling code (ThrottlingException, TooManyRequestsException, …).
    case throttling
    /// 5xx from AWS (InternalServerException, ServiceUnavailable…).
    case server
    /// Connection refused, reset, DNS, TLS: nothing usable came back.
    case network
    /// The request did not finish within its timeout.
    case timeout
    /// A 2xx whose body is not a valid answer (malformed, truncated, empty, wrong types, too large).
    case invalidResponse
    /// No credentials could be had.
    case credentials
}

/// An error from the Outposts API or from reaching it. `description` never holds a secret.
public struct OutpostsError: Error, Sendable, CustomStringConvertible {
    public var kind: OutpostsErrorKind
    /// AWS error code (`x-amzn-ErrorType`, `__type` or `code`, without namespace), if any.
    public var code: String?
    public var message: String
    public var statusCode: Int?
    /// `x-amzn-RequestId`, if any.
    public var requestId: String?

    public init(kind: OutpostsErrorKind, code: String? = nil, message: String, statusCode: Int? = nil, requestId: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.statusCode = statusCode
        self.requestId = requestId
    }

    public var description: String {
        var parts: [String] = []
        if let code { parts.append(code) }
        if let statusCode { parts.append("HTTP \(statusCode)") }
        var s = parts.isEmpty ? kind.rawValue : parts.joined(separator: ", ")
        s += ": \(message)"
        if let requestId { s += " (request id \(requestId))" }
        return s
    }
}

/// Resolved location of the Outposts API.
public struct OutpostsEndpoint: Sendable, Equatable {
    public var region: String
    /// Base URL, e.g. `https://outposts.us-west-2.amazonaws.com` or `http://127.0.0.1:8714`.
    public var url: URL

    public init(region: String, url: URL) {
        self.region = region
        self.url = url
    }
}

/// A client for the two Outposts calls outpostwatch needs, GetOrder and ListOrders.
///
/// Requests are SigV4-signed (service `outposts`) with credentials from `credentials`, bounded
/// by a timeout and a 1 MiB response cap, and retried the way the AWS SDKs' standard mode
/// does (3 attempts, full-jitter backoff, a retry quota) for transient and throttling errors.
public final class OutpostsClient: Sendable {
    /// Called (synchronously, keep it cheap) every time the API answers with throttling, whether
    /// or not the call is retried, so the poller can slow everyone down.
    public typealias ThrottleObserver = @Sendable () -> Void

    /// Largest response body read; anything longer is `.invalidResponse` (an Order is a few KiB).
    public static let maxResponseBytes = 1 << 20

    public let endpoint: OutpostsEndpoint
    /// The `user-agent` sent with every call.
    public let userAgent: String

    private let credentials: any CredentialProvider
    private let httpClient: HTTPClient
    private let requestTimeout: Duration
    private let maxAttempts: Int
    private let logger: Logger
    private let onThrottle: ThrottleObserver?
    private let signer: SigV4Signer
    private let backoff: RetryBackoff
    private let retryQuota = RetryQuota()

    /// - Parameters:
    ///   - httpClient: shared; the caller owns its lifecycle.
    ///   - maxAttempts: 3 as in the SDKs' standard mode; 1 disables retries.
    ///   - applicationVersion: goes into the user agent, `outpostwatch/<version> …`.
    ///   - backoff: the delay between attempts (tests shrink it).
    public init(endpoint: OutpostsEndpoint, credentials: any CredentialProvider, httpClient: HTTPClient,
                requestTimeout: Duration = .seconds(10), maxAttempts: Int = 3,
                logger: Logger = Logger(label: "outpostwatch.aws"), onThrottle: ThrottleObserver? = nil,
                applicationVersion: String = "dev", backoff: RetryBackoff = .standard) {
        self.endpoint = endpoint
        self.credentials = credentials
        self.httpClient = httpClient
        self.requestTimeout = requestTimeout
        self.maxAttempts = max(1, maxAttempts)
        self.logger = logger
        self.onThrottle = onThrottle
        self.signer = SigV4Signer(service: "outposts", region: endpoint.region)
        self.backoff = backoff
        self.userAgent = "outpostwatch/\(applicationVersion) md/OutpostsAPI lang/swift os/linux"
    }

    /// `GET /orders/{OrderId}`. Throws ``OutpostsError`` (kind `.notFound` for a missing order,
    /// `.invalidResponse` for a 2xx body that is not a valid Order).
    public func getOrder(_ orderId: String) async throws -> Order {
        let body = try await send(operation: "GetOrder", path: "/orders/" + SigV4Signer.percentEncode(orderId), query: [])
        let output: GetOrderOutput
        do {
            output = try Self.decoder().decode(GetOrderOutput.self, from: body)
        } catch {
            throw OutpostsError(kind: .invalidResponse, message: "GetOrder answer is not a valid Order: \(Self.describe(error))")
        }
        guard let id = output.order.orderId, !id.isEmpty else {
            throw OutpostsError(kind: .invalidResponse, message: "GetOrder answer has no Order.OrderId")
        }
        return output.order
    }

    /// One page of `GET /list-orders`.
    public func listOrders(outpostIdentifierFilter: String? = nil, maxResults: Int? = nil,
                           nextToken: String? = nil) async throws -> ListOrdersOutput {
        var query: [(String, String)] = []
        if let outpostIdentifierFilter { query.append(("OutpostIdentifierFilter", outpostIdentifierFilter)) }
        if let maxResults { query.append(("MaxResults", String(maxResults))) }
        if let nextToken { query.append(("NextToken", nextToken)) }
        let body = try await send(operation: "ListOrders", path: "/list-orders", query: query)
        do {
            let page = try Self.decoder().decode(ListOrdersPage.self, from: body)
            // rest-json omits empty lists, so a missing `Orders` is an empty page.
            return ListOrdersOutput(orders: page.orders ?? [], nextToken: page.nextToken)
        } catch {
            throw OutpostsError(kind: .invalidResponse, message: "ListOrders answer is not valid: \(Self.describe(error))")
        }
    }

    /// Most pages one ``listAllOrders(outpostIdentifierFilter:)`` follows. A NextToken chain that
    /// does not end (a new token on every page) is an endpoint gone wrong, not more orders: followed
    /// forever, the sweep would never finish and its memory would grow without bound.
    public static let maxListPages = 1000

    /// Every page of ListOrders, concatenated.
    public func listAllOrders(outpostIdentifierFilter: String? = nil) async throws -> [OrderSummary] {
        var orders: [OrderSummary] = []
        var seenTokens: Set<String> = []
        var token: String?
        var pages = 0
        repeat {
            pages += 1
            guard pages <= Self.maxListPages else {
                throw OutpostsError(kind: .invalidResponse,
                                    message: "ListOrders returned more than \(Self.maxListPages) pages (a NextToken chain that does not end)")
            }
            let page = try await listOrders(outpostIdentifierFilter: outpostIdentifierFilter, nextToken: token)
            orders += page.orders
            token = page.nextToken.flatMap { $0.isEmpty ? nil : $0 }
            if let token, !seenTokens.insert(token).inserted {
                // botocore's paginator refuses a repeated token too: it would loop forever.
                throw OutpostsError(kind: .invalidResponse, message: "ListOrders returned the same NextToken twice")
            }
        } while token != nil
        return orders
    }

    /// Tokens left in the shared retry quota (500 when full), as botocore's `RetryQuota`.
    public func retryQuotaAvailable() async -> Int {
        await retryQuota.available
    }

    // MARK: - Sending, signing, retrying

    /// One HTTP answer, fully read.
    struct RawResponse: Sendable {
        var status: Int
        var reason: String
        var headers: [(String, String)]
        var body: ByteBuffer

        /// First value of a header, by case-insensitive name.
        func header(_ name: String) -> String? {
            let lower = name.lowercased()
            return headers.first { $0.0.lowercased() == lower }?.1
        }
    }

    /// Sends one operation with retries and returns the body of its 2xx answer.
    private func send(operation: String, path: String, query: [(String, String)]) async throws -> Data {
        var base = endpoint.url.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        var urlString = base + path
        if !query.isEmpty {
            urlString += "?" + query.map { SigV4Signer.percentEncode($0.0) + "=" + SigV4Signer.percentEncode($0.1) }
                .joined(separator: "&")
        }
        guard let url = URL(string: urlString) else {
            throw OutpostsError(kind: .validation, message: "cannot form a request URL for \(operation)")
        }
        let invocationId = UUID().uuidString.lowercased()
        var attempt = 1
        var refreshedCredentials = false
        var capacityHeld: Int?

        while true {
            let error: OutpostsError
            do {
                let response = try await attemptOnce(url: url, operation: operation, attempt: attempt, invocationId: invocationId)
                if (200..<300).contains(response.status) {
                    // botocore gives back the last retry's cost, or one token for a first-try success.
                    await retryQuota.release(capacityHeld ?? 1)
                    return Data(buffer: response.body)
                }
                error = Self.serviceError(response)
            } catch let failure as OutpostsError {
                error = failure
            }

            if error.kind == .throttling { onThrottle?() }
            if error.kind == .authentication, !refreshedCredentials {
                // Temporary credentials may have expired or been rotated early: one fresh try.
                refreshedCredentials = true
                logger.debug("Outposts \(operation) authentication failed, refreshing credentials",
                             metadata: ["code": "\(error.code ?? "-")"])
                await credentials.invalidate()
                continue
            }
            guard Self.isRetryable(error), attempt < maxAttempts else { throw error }
            let cost = error.kind == .timeout ? RetryQuota.timeoutRetryCost : RetryQuota.retryCost
            guard await retryQuota.acquire(cost) else {
                logger.debug("Outposts \(operation) not retried: retry quota exhausted")
                throw error
            }
            capacityHeld = cost
            let delay = backoff.delay(afterAttempt: attempt)
            logger.debug("Outposts \(operation) attempt \(attempt) failed, retrying",
                         metadata: ["error": "\(error)", "delay": "\(delay)"])
            try await Task.sleep(for: delay)
            attempt += 1
        }
    }

    /// One signed HTTP exchange, bounded by the request timeout, the body capped at 1 MiB.
    private func attemptOnce(url: URL, operation: String, attempt: Int, invocationId: String) async throws -> RawResponse {
        let currentCredentials: AWSCredentials
        do {
            currentCredentials = try await credentials.credentials()
        } catch let error as CredentialError {
            throw OutpostsError(kind: .credentials, message: error.description)
        } catch {
            throw OutpostsError(kind: .credentials, message: "no AWS credentials: \(type(of: error))")
        }
        let signed = signer.sign(method: "GET", url: url, headers: [
            ("User-Agent", userAgent),
            ("amz-sdk-invocation-id", invocationId),
            ("amz-sdk-request", "attempt=\(attempt); max=\(maxAttempts)"),
        ], body: [], credentials: currentCredentials, date: Date())
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        for (name, value) in signed { request.headers.add(name: name, value: value) }

        logger.debug("Outposts \(operation) request", metadata: ["url": "\(url.absoluteString)", "attempt": "\(attempt)"])
        let httpClient = self.httpClient
        let timeout = requestTimeout
        let prepared = request
        let started = ContinuousClock.now
        do {
            return try await Self.withTimeout(timeout) {
                let response = try await httpClient.execute(prepared, deadline: .now() + TimeAmount(timeout))
                let status = Int(response.status.code)
                let body: ByteBuffer
                do {
                    body = try await response.body.collect(upTo: Self.maxResponseBytes)
                } catch is NIOTooManyBytesError where !(200..<300).contains(status) {
                    // An oversized error page still says what went wrong through its status.
                    body = ByteBuffer()
                } catch is NIOTooManyBytesError {
                    throw OutpostsError(kind: .invalidResponse,
                                        message: "\(operation) answer is larger than \(Self.maxResponseBytes) bytes",
                                        statusCode: status, requestId: response.headers.first(name: "x-amzn-RequestId"))
                }
                return RawResponse(status: status, reason: response.status.reasonPhrase,
                                   headers: response.headers.map { ($0.name, $0.value) }, body: body)
            }
        } catch let error as OutpostsError {
            throw error
        } catch is CancellationError where Task.isCancelled {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw Self.transportError(error, operation: operation, elapsed: ContinuousClock.now - started)
        }
    }

    /// Runs `operation`, giving up with `.timeout` after `timeout`: AsyncHTTPClient's own
    /// deadline stops at the response head, this covers reading the body too.
    private static func withTimeout<T: Sendable>(_ timeout: Duration,
                                                 _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            if let result = try await group.next(), let value = result {
                return value
            }
            throw OutpostsError(kind: .timeout, message: "no complete answer within \(timeout)")
        }
    }

    // MARK: - Error mapping

    private static let authenticationCodes: Set<String> = [
        "InvalidSignatureException", "UnrecognizedClientException", "ExpiredTokenException", "ExpiredToken",
        "IncompleteSignature", "IncompleteSignatureException", "MissingAuthenticationToken",
        "MissingAuthenticationTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch", "RequestExpired",
    ]

    /// botocore's `ThrottledRetryableChecker._THROTTLED_ERROR_CODES`.
    private static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
        "PriorRequestNotComplete", "EC2ThrottledException",
    ]

    /// botocore's `TransientRetryableChecker`: codes and statuses worth another try.
    private static let transientCodes: Set<String> = ["RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"]
    private static let transientStatuses: Set<Int> = [500, 502, 503, 504]

    private static func isRetryable(_ error: OutpostsError) -> Bool {
        switch error.kind {
        case .throttling, .network, .timeout:
            return true
        case .server:
            return error.statusCode.map(transientStatuses.contains) == true || error.code.map(transientCodes.contains) == true
        default:
            return false
        }
    }

    /// The AWS error of a non-2xx answer, named and classified like botocore's rest-json parser.
    static func serviceError(_ response: RawResponse) -> OutpostsError {
        let status = response.status
        let requestId = response.header("x-amzn-RequestId")
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
        var code: String?
        if let header = response.header("x-amzn-ErrorType"), !header.isEmpty {
            code = stripNamespace(String(header.prefix { $0 != ":" }))
        } else if let type = json?["__type"] as? String {
            code = stripNamespace(type)
        } else if let value = (json?["code"] ?? json?["Code"]) as? String {
            code = stripNamespace(value)
        }
        if code?.isEmpty == true { code = nil }
        let rawMessage = (json?["message"] ?? json?["Message"]) as? String
        let message = rawMessage.map { String($0.prefix(500)) } ?? (response.reason.isEmpty ? "HTTP \(status)" : response.reason)

        let kind: OutpostsErrorKind
        if let code, authenticationCodes.contains(code) {
            kind = .authentication
        } else if status == 429 || code.map(throttlingCodes.contains) == true {
            kind = .throttling
        } else if code.map(transientCodes.contains) == true {
            kind = .server
        } else if code == "NotFoundException" || code == "ResourceNotFoundException" || (code == nil && status == 404) {
            kind = .notFound
        } else if code == "AccessDeniedException" || (code == nil && status == 403) {
            kind = .accessDenied
        } else if code == "ValidationException" {
            kind = .validation
        } else if status >= 500 {
            kind = .server
        } else if status == 401 {
            kind = .authentication
        } else if status == 403 {
            kind = .accessDenied
        } else if status == 404 {
            kind = .notFound
        } else if status >= 400 {
            kind = .validation
        } else {
            kind = .invalidResponse
        }
        return OutpostsError(kind: kind, code: code, message: message, statusCode: status, requestId: requestId)
    }

    /// `aws.protocols#ValidationException` → `ValidationException`.
    private static func stripNamespace(_ code: String) -> String {
        let trimmed = code.trimmingCharacters(in: .whitespaces)
        if let hash = trimmed.lastIndex(of: "#") { return String(trimmed[trimmed.index(after: hash)...]) }
        return trimmed
    }

    /// A failure to reach the API: `.timeout` for timeouts, else `.network`, said by ``TransportError``.
    private static func transportError(_ error: any Error, operation: String, elapsed: Duration) -> OutpostsError {
        if TransportError.isTimeout(error) {
            return OutpostsError(kind: .timeout, message: "\(operation) \(TransportError.describe(error))")
        }
        return OutpostsError(kind: .network, message: "\(operation) failed: \(TransportError.describe(error))")
    }

    // MARK: - Decoding

    private struct GetOrderOutput: Decodable {
        var order: Order
        enum CodingKeys: String, CodingKey { case order = "Order" }
    }

    private struct ListOrdersPage: Decodable {
        var orders: [OrderSummary]?
        var nextToken: String?
        enum CodingKeys: String, CodingKey {
            case orders = "Orders"
            case nextToken = "NextToken"
        }
    }

    /// The instants a timestamp may name, in epoch seconds: 0001-01-01 to 9999-12-31, what ISO-8601
    /// with a four-digit year can write. Anything else ("inf", "nan", 1e17, which `Double` parses)
    /// is no instant: it would trap where the date is formatted, so the answer is invalid.
    static let timestampRange: ClosedRange<Double> = -62_135_596_800 ... 253_402_300_799.999

    /// JSON with AWS timestamps: epoch seconds (the rest-json default) or ISO-8601 strings.
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            func instant(_ seconds: Double) throws -> Date {
                guard timestampRange.contains(seconds) else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "timestamp out of range: \(seconds)")
                }
                return Date(timeIntervalSince1970: seconds)
            }
            if let seconds = try? container.decode(Double.self) {
                return try instant(seconds)
            }
            let text = try container.decode(String.self)
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return try instant(date.timeIntervalSince1970) }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
                return try instant(date.timeIntervalSince1970)
            }
            if let seconds = Double(text) { return try instant(seconds) }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a timestamp: \(text.prefix(40))")
        }
        return decoder
    }

    /// A decoding error said briefly, with the path of the offending field.
    private static func describe(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at \(p)"
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context): return "missing \(key.stringValue)\(path(context))"
        case DecodingError.typeMismatch(_, let context): return "wrong type\(path(context))"
        case DecodingError.valueNotFound(_, let context): return "null value\(path(context))"
        case DecodingError.dataCorrupted(let context): return "malformed JSON\(path(context))"
        default: return "\(type(of: error))"
        }
    }
}

/// Delay between attempts: botocore standard mode's full jitter,
/// `random(0, 1) × min(scale × 2^(attempt−1), maxBackoff)`.
public struct RetryBackoff: Sendable {
    /// 1 s in the SDKs; tests use milliseconds so retries cost no wall time.
    public var scale: Duration
    public var maxBackoff: Duration
    /// Uniform in [0, 1).
    public var random: @Sendable () -> Double

    public init(scale: Duration = .seconds(1), maxBackoff: Duration = .seconds(20),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.scale = scale
        self.maxBackoff = maxBackoff
        self.random = random
    }

    /// The AWS SDKs' standard mode.
    public static let standard = RetryBackoff()

    /// The delay after failed attempt `attempt` (1-based).
    public func delay(afterAttempt attempt: Int) -> Duration {
        let exponential = scale * Double(1 << min(max(attempt - 1, 0), 30))
        return min(exponential, maxBackoff) * random()
    }
}

/// botocore's `RetryQuota` with its standard-mode costs: shared by every call of one client, so
/// a failing endpoint cannot multiply the load by the attempt count.
actor RetryQuota {
    static let capacity = 500
    static let retryCost = 5
    static let timeoutRetryCost = 10

    private(set) var available = RetryQuota.capacity

    func acquire(_ amount: Int) -> Bool {
        guard amount <= available else { return false }
        available -= amount
        return true
    }

    func release(_ amount: Int) {
        available = min(Self.capacity, available + amount)
    }
}
