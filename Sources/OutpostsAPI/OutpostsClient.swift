import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Support

/// A client for the two Outposts calls outpostwatch needs, GetOrder and ListOrders.
///
/// Requests are SigV4-signed (service `outposts`) with credentials from `credentials`, bounded
/// by a timeout and a 1 MiB response cap, and retried the way the AWS SDKs' standard mode
/// does (3 attempts, full-jitter backoff, a retry quota) for transient and throttling errors.
public final class OutpostsClient: Sendable {
    /// Called (synchronously, keep it cheap) every time the API answers with throttling, whether
    /// or not the call is retried: the daemon counts them for its metrics. (The poller learns of
    /// them through its results and ``RetryPacer``.)
    public typealias ThrottleObserver = @Sendable () -> Void

    /// Largest response body read; anything longer is `.invalidResponse` (an Order is a few KiB).
    public static let maxResponseBytes = 1 << 20

    public let endpoint: OutpostsEndpoint
    /// The `user-agent` sent with every call.
    public let userAgent: String

    private let credentials: any CredentialProvider
    private let httpClient: any HTTPTransport
    private let requestTimeout: Duration
    private let maxAttempts: Int
    private let logger: Logger
    private let onThrottle: ThrottleObserver?
    private let signer: SigV4Signer
    private let backoff: RetryBackoff
    private let retryQuota = RetryQuota()
    /// The endpoint's URL without trailing slashes, the path of the request is appended to it.
    private let baseURL: String
    /// What SigV4 signs of the endpoint (host header, path prefix), worked out once.
    private let signingHost: String
    private let basePath: String
    private let invocationIds = InvocationIds()

    /// - Parameters:
    ///   - httpClient: shared; the caller owns its lifecycle.
    ///   - maxAttempts: 3 as in the SDKs' standard mode; 1 disables retries.
    ///   - applicationVersion: goes into the user agent, `outpostwatch/<version> …`.
    ///   - backoff: the delay between attempts (tests shrink it).
    public init(endpoint: OutpostsEndpoint, credentials: any CredentialProvider, httpClient: any HTTPTransport,
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
        var base = endpoint.url.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        let target = SigV4Signer.Target(url: endpoint.url)
        self.signingHost = target.host
        var basePath = target.path
        while basePath.hasSuffix("/") { basePath.removeLast() }
        self.basePath = basePath
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
        let queryString = query.map { SigV4Signer.percentEncode($0.0) + "=" + SigV4Signer.percentEncode($0.1) }
            .joined(separator: "&")
        let urlString = baseURL + path + (queryString.isEmpty ? "" : "?" + queryString)
        guard let url = URL(string: urlString) else {
            throw OutpostsError(kind: .validation, message: "cannot form a request URL for \(operation)")
        }
        // Signed as it goes on the wire, without parsing the URL again on every attempt.
        let target = SigV4Signer.Target(host: signingHost, path: basePath + path, query: queryString)
        // Uniqueness, not secrecy: no /dev/urandom read per call (see InvocationIds).
        let invocationId = invocationIds.next()
        var attempt = 1
        var refreshedCredentials = false
        var capacityHeld: Int?

        while true {
            let error: OutpostsError
            do {
                let response = try await attemptOnce(url: url, target: target, operation: operation, attempt: attempt,
                                                     invocationId: invocationId)
                let status = Int(response.status.code)
                if (200..<300).contains(status) {
                    // botocore gives back the last retry's cost, or one token for a first-try success.
                    await retryQuota.release(capacityHeld ?? 1)
                    return Data(buffer: response.body)
                }
                error = Self.serviceError(RawResponse(status: status, reason: response.status.reasonPhrase,
                                                      headers: response.headers.map { ($0.name, $0.value) },
                                                      body: response.body))
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
            try await LoopSleep.sleep(for: delay)
            // A caller with a rate limit counts the retry against it (see RetryPacer).
            await Self.retryPacer?.beforeRetry(after: error)
            attempt += 1
        }
    }

    /// One signed HTTP exchange, all of it (connect, head, body) bounded by the request timeout
    /// through AsyncHTTPClient's own deadline, the body capped at 1 MiB.
    private func attemptOnce(url: URL, target: SigV4Signer.Target, operation: String, attempt: Int,
                             invocationId: String) async throws -> HTTPExchangeResponse {
        let currentCredentials = try await AWSServiceCall.credentials(from: credentials)
        let signed = signer.sign(method: "GET", target: target, headers: [
            ("User-Agent", userAgent),
            ("amz-sdk-invocation-id", invocationId),
            ("amz-sdk-request", "attempt=\(attempt); max=\(maxAttempts)"),
        ], body: [], credentials: currentCredentials, date: Date())
        var headers = HTTPHeaders()
        headers.reserveCapacity(signed.count)
        for (name, value) in signed { headers.add(name: name, value: value) }

        logger.debug("Outposts \(operation) request", metadata: ["url": "\(url.absoluteString)", "attempt": "\(attempt)"])
        let started = ContinuousClock.now
        do {
            let request = try HTTPClient.Request(url: url, method: .GET, headers: headers)
            return try await httpClient.exchange(request, deadline: .now() + TimeAmount(requestTimeout),
                                                 maxBodyBytes: Self.maxResponseBytes)
        } catch let tooLarge as HTTPBodyTooLarge {
            throw OutpostsError(kind: .invalidResponse,
                                message: "\(operation) answer is larger than \(Self.maxResponseBytes) bytes",
                                statusCode: Int(tooLarge.status.code), requestId: tooLarge.headers.first(name: "x-amzn-RequestId"))
        } catch is CancellationError where Task.isCancelled {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw Self.transportError(error, operation: operation, elapsed: ContinuousClock.now - started)
        }
    }
}
