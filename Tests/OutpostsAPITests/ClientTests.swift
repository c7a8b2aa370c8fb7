import AsyncHTTPClient
import Foundation
import OutpostsAPI
import Testing

private let orderId = "oo-0123456789abcdef0"

private func expectOutpostsError(_ kind: OutpostsErrorKind, _ body: () async throws -> Void,
                                 sourceLocation: SourceLocation = #_sourceLocation) async -> OutpostsError? {
    do {
        try await body()
        Issue.record("expected an OutpostsError of kind \(kind), got success", sourceLocation: sourceLocation)
    } catch let error as OutpostsError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected an OutpostsError of kind \(kind), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

@Suite struct ClientDecodingTests {
    @Test func decodesISOTimestampsUnknownEnumsAndIgnoresUnknownMembers() async throws {
        let body = """
        {"Order": {"OrderId": "\(orderId)", "OutpostId": "op-0123456789abcdef0", "Status": "SOME_FUTURE_STATUS",
          "OrderSubmissionDate": "2026-11-28T12:00:00Z", "OrderFulfilledDate": "2026-11-29T08:30:15.250Z",
          "PaymentOption": "BARTER", "PaymentTerm": "TEN_YEARS", "OrderType": "TELEPORT", "BrandNewMember": {"x": [1, 2]},
          "LineItems": [{"LineItemId": "ooi-0123456789abcdef0", "Status": "LEVITATING", "Quantity": 2,
                         "ShipmentInformation": {"ShipmentCarrier": "OWL_POST", "ShipmentTrackingNumber": "HEDWIG1"},
                         "AssetInformationList": [{"AssetId": "a1", "MacAddressList": []}]}]}}
        """
        let server = try await ScriptedServer { _, _ in .json(body) }
        defer { server.stop() }
        let order = try await ClientTestHTTP.client(for: server).getOrder(orderId)
        #expect(order.status == "SOME_FUTURE_STATUS")
        #expect(order.paymentOption == "BARTER")
        #expect(order.paymentTerm == "TEN_YEARS")
        #expect(order.orderType == "TELEPORT")
        #expect(order.orderSubmissionDate == Date(timeIntervalSince1970: 1_795_867_200))
        let fulfilled = try #require(order.orderFulfilledDate)
        #expect(abs(fulfilled.timeIntervalSince1970 - 1_795_941_015.25) < 0.001)
        let item = try #require(order.lineItems?.first)
        #expect(item.status == "LEVITATING")
        #expect(item.shipmentInformation == ShipmentInformation(shipmentTrackingNumber: "HEDWIG1", shipmentCarrier: "OWL_POST"))
        #expect(item.assetInformationList == [LineItemAssetInformation(assetId: "a1", macAddressList: [])])
    }

    @Test func decodesEpochSecondsWithFractions() async throws {
        let server = try await ScriptedServer { _, _ in
            .json(#"{"Order": {"OrderId": "\#(orderId)", "OrderSubmissionDate": 1.7643312005E9}}"#)
        }
        defer { server.stop() }
        let order = try await ClientTestHTTP.client(for: server).getOrder(orderId)
        #expect(order.orderSubmissionDate == Date(timeIntervalSince1970: 1_764_331_200.5))
    }

    static let invalidBodies: [(String, String)] = [
        ("empty", ""),
        ("not JSON", "<html>Service Unavailable</html>"),
        ("truncated", #"{"Order": {"OrderId": "oo-0123456789abcdef0", "Status": "IN_PRO"#),
        ("empty object", "{}"),
        ("array", "[]"),
        ("Order null", #"{"Order": null}"#),
        ("Order a string", #"{"Order": "oo-0123456789abcdef0"}"#),
        ("OrderId missing", #"{"Order": {"Status": "IN_PROGRESS"}}"#),
        ("OrderId empty", #"{"Order": {"OrderId": ""}}"#),
        ("OrderId a number", #"{"Order": {"OrderId": 12}}"#),
        ("LineItems not a list", #"{"Order": {"OrderId": "oo-0123456789abcdef0", "LineItems": "none"}}"#),
        ("Quantity a string", #"{"Order": {"OrderId": "oo-0123456789abcdef0", "LineItems": [{"Quantity": "two"}]}}"#),
        ("date garbage", #"{"Order": {"OrderId": "oo-0123456789abcdef0", "OrderSubmissionDate": "yesterday"}}"#),
        ("date a bool", #"{"Order": {"OrderId": "oo-0123456789abcdef0", "OrderFulfilledDate": true}}"#),
    ]

    @Test(arguments: invalidBodies)
    func invalidTwoHundredBodyIsInvalidResponseNotRetried(_ name: String, _ body: String) async throws {
        let server = try await ScriptedServer { _, _ in .json(body) }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server)
        _ = await expectOutpostsError(.invalidResponse) { _ = try await client.getOrder(orderId) }
        #expect(await server.requests.count == 1, "an invalid 200 is not retried (\(name))")
    }

    /// A valid Order padded to `size` bytes with an unknown member.
    static func paddedOrder(size: Int) -> [UInt8] {
        let head = #"{"Order": {"OrderId": "oo-0123456789abcdef0", "Padding": ""#
        let tail = "\"}}"
        return Array((head + String(repeating: "x", count: size - head.utf8.count - tail.utf8.count) + tail).utf8)
    }

    @Test func bodiesAreCappedAtOneMebibyte() async throws {
        let limit = OutpostsClient.maxResponseBytes
        #expect(limit == 1_048_576)
        let server = try await ScriptedServer { request, _ in
            switch request.target {
            case "/orders/oo-0000000000000000a": // exactly at the cap, Content-Length framed
                return ScriptedAnswer(body: Self.paddedOrder(size: limit))
            case "/orders/oo-0000000000000000b": // one byte over, Content-Length framed
                return ScriptedAnswer(body: Self.paddedOrder(size: limit + 1))
            case "/orders/oo-0000000000000000d": // an oversized error page
                return ScriptedAnswer(status: 503, headers: [("content-type", "text/html")], body: Self.paddedOrder(size: 2 * limit))
            default: // over the cap, streamed without Content-Length
                return ScriptedAnswer(body: Self.paddedOrder(size: 3 * limit), midBodyDelay: .milliseconds(1))
            }
        }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server)
        #expect(try await client.getOrder("oo-0000000000000000a").orderId == orderId)
        _ = await expectOutpostsError(.invalidResponse) { _ = try await client.getOrder("oo-0000000000000000b") }
        _ = await expectOutpostsError(.invalidResponse) { _ = try await client.getOrder("oo-0000000000000000c") }
        // An error answer stays classified by its status, even when its body is too large to read.
        let error = await expectOutpostsError(.server) {
            _ = try await ClientTestHTTP.client(for: server, maxAttempts: 1).getOrder("oo-0000000000000000d")
        }
        #expect(error?.statusCode == 503)
    }
}

@Suite struct ClientErrorMappingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var answer: ScriptedAnswer
        var kind: OutpostsErrorKind
        var code: String?
        var testDescription: String { "\(answer.status) \(code ?? "-") → \(kind)" }
    }

    static let throttlingCodes = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
        "PriorRequestNotComplete", "EC2ThrottledException",
    ]
    static let authenticationCodes = [
        "InvalidSignatureException", "UnrecognizedClientException", "ExpiredTokenException", "ExpiredToken",
        "IncompleteSignature", "MissingAuthenticationToken", "InvalidClientTokenId", "SignatureDoesNotMatch", "RequestExpired",
    ]

    static let cases: [Case] = [
        Case(answer: .awsError(status: 404, code: "NotFoundException"), kind: .notFound, code: "NotFoundException"),
        Case(answer: .awsError(status: 404, code: "NotFoundException", viaHeader: false), kind: .notFound, code: "NotFoundException"),
        Case(answer: .awsError(status: 404, code: nil), kind: .notFound, code: nil),
        Case(answer: .awsError(status: 400, code: "ValidationException"), kind: .validation, code: "ValidationException"),
        Case(answer: .awsError(status: 400, code: "ValidationException", viaHeader: false), kind: .validation, code: "ValidationException"),
        Case(answer: .awsError(status: 400, code: nil), kind: .validation, code: nil),
        Case(answer: .awsError(status: 409, code: "ConflictException"), kind: .validation, code: "ConflictException"),
        Case(answer: .awsError(status: 403, code: "AccessDeniedException"), kind: .accessDenied, code: "AccessDeniedException"),
        Case(answer: .awsError(status: 403, code: nil), kind: .accessDenied, code: nil),
        Case(answer: .awsError(status: 429, code: nil), kind: .throttling, code: nil),
        Case(answer: .awsError(status: 500, code: "InternalServerException"), kind: .server, code: "InternalServerException"),
        Case(answer: .awsError(status: 503, code: nil), kind: .server, code: nil),
        Case(answer: ScriptedAnswer(status: 502, headers: [], body: Array("<html>bad gateway</html>".utf8)), kind: .server, code: nil),
        Case(answer: .json(#"{"code": "ValidationException", "message": "m"}"#, status: 400), kind: .validation, code: "ValidationException"),
        Case(answer: .json(#"{"Code": "NotFoundException", "Message": "gone"}"#, status: 404), kind: .notFound, code: "NotFoundException"),
        Case(answer: .json(#"{"__type": "aws.protocols#ThrottlingException"}"#, status: 400), kind: .throttling, code: "ThrottlingException"),
        // The header wins over the body.
        Case(answer: .json(#"{"__type": "ValidationException"}"#, status: 400, headers: [("x-amzn-ErrorType", "ThrottlingException:http://x/")]),
             kind: .throttling, code: "ThrottlingException"),
    ]
    + throttlingCodes.map { Case(answer: .awsError(status: 400, code: $0), kind: .throttling, code: $0) }
    + authenticationCodes.map { Case(answer: .awsError(status: 403, code: $0), kind: .authentication, code: $0) }

    @Test(arguments: cases)
    func mapsErrorAnswers(_ testCase: Case) async throws {
        let server = try await ScriptedServer { _, _ in testCase.answer }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server, maxAttempts: 1)
        let error = await expectOutpostsError(testCase.kind) { _ = try await client.getOrder(orderId) }
        #expect(error?.code == testCase.code)
        #expect(error?.statusCode == testCase.answer.status)
        if testCase.answer.headers.contains(where: { $0.0 == "x-amzn-RequestId" }) {
            #expect(error?.requestId == "req-\(testCase.answer.status)")
            #expect(error?.description.contains("req-\(testCase.answer.status)") == true)
        }
        if testCase.answer.body.starts(with: Array(#"{"message":"scripted failure""#.utf8)) {
            #expect(error?.message == "scripted failure")
        }
    }

    @Test func connectionRefusedIsNetwork() async throws {
        // Bind a port, then close it: nothing listens there any more.
        let refusing = try RefusingPort()
        let port = refusing.port
        // AsyncHTTPClient keeps retrying a refused connect until its connect timeout: keep that short.
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .milliseconds(300))
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = OutpostsClient(endpoint: OutpostsEndpoint(region: "us-west-2", url: URL(string: "http://127.0.0.1:\(port)")!),
                                    credentials: ClientRotatingCredentials(), httpClient: httpClient,
                                    backoff: ClientTestHTTP.instantBackoff)
        let error = await expectOutpostsError(.network) { _ = try await client.getOrder(orderId) }
        #expect(error?.statusCode == nil)
        // Two network retries were paid for from the quota.
        #expect(await client.retryQuotaAvailable() == 490)
        try await httpClient.shutdown()
        withExtendedLifetime(refusing) {}
    }

    @Test func missingCredentialsFailWithoutSending() async throws {
        let server = try await ScriptedServer { _, _ in .json("{}") }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server, credentials: ClientNoCredentials())
        let error = await expectOutpostsError(.credentials) { _ = try await client.getOrder(orderId) }
        #expect(error?.message.contains("nothing configured") == true)
        #expect(await server.requests.isEmpty)
    }
}

@Suite struct ClientRetryTests {
    @Test func transientErrorsAreRetriedAndQuotaRefunded() async throws {
        let server = try await ScriptedServer { _, number in
            number <= 2 ? .awsError(status: 503, code: "ServiceUnavailableException") : .json(#"{"Order": {"OrderId": "\#(orderId)"}}"#)
        }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server)
        #expect(try await client.getOrder(orderId).orderId == orderId)
        let requests = await server.requests
        #expect(requests.count == 3)
        #expect(requests.map { $0.header("amz-sdk-request") } == ["attempt=1; max=3", "attempt=2; max=3", "attempt=3; max=3"])
        #expect(Set(requests.compactMap { $0.header("amz-sdk-invocation-id") }).count == 1, "one invocation id per call")
        // Two retries cost 5 each; success gives the last retry's 5 back.
        #expect(await client.retryQuotaAvailable() == 495)
        // A first-try success gives one token back.
        #expect(try await client.getOrder(orderId).orderId == orderId)
        #expect(await client.retryQuotaAvailable() == 496)
        // A new id per call, shaped as UUID().uuidString.lowercased() (version 4, RFC 4122 variant).
        let ids = await server.requests.compactMap { $0.header("amz-sdk-invocation-id") }
        #expect(Set(ids).count == 2)
        let shape = try Regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
        #expect(ids.allSatisfy { (try? shape.wholeMatch(in: $0)) != nil }, "\(ids)")
    }

    @Test func givesUpAfterMaxAttempts() async throws {
        let server = try await ScriptedServer { _, _ in .awsError(status: 500, code: "InternalServerException") }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server)
        _ = await expectOutpostsError(.server) { _ = try await client.getOrder(orderId) }
        #expect(await server.requests.count == 3)
        #expect(await client.retryQuotaAvailable() == 490)

        let single = ClientTestHTTP.client(for: server, maxAttempts: 1)
        _ = await expectOutpostsError(.server) { _ = try await single.getOrder(orderId) }
        #expect(await server.requests.count == 4)
    }

    @Test func nonTransientErrorsAreNotRetried() async throws {
        for answer in [ScriptedAnswer.awsError(status: 400, code: "ValidationException"),
                       .awsError(status: 404, code: "NotFoundException"),
                       .awsError(status: 403, code: "AccessDeniedException"),
                       .awsError(status: 501, code: "NotImplemented")] {
            let server = try await ScriptedServer { _, _ in answer }
            let client = ClientTestHTTP.client(for: server)
            do {
                _ = try await client.getOrder(orderId)
                Issue.record("expected a failure for \(answer.status)")
            } catch {}
            #expect(await server.requests.count == 1, "HTTP \(answer.status) is not retried")
            #expect(await client.retryQuotaAvailable() == 500)
            server.stop()
        }
    }

    @Test func throttlingIsRetriedAndReportedEveryTime() async throws {
        let throttles = ClientCounter()
        let server = try await ScriptedServer { _, number in
            number == 1 ? .awsError(status: 429, code: nil)
                : number == 2 ? .awsError(status: 400, code: "ThrottlingException")
                : .json(#"{"Order": {"OrderId": "\#(orderId)"}}"#)
        }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server, onThrottle: { throttles.increment() })
        _ = try await client.getOrder(orderId)
        #expect(throttles.value == 2)
        #expect(await server.requests.count == 3)

        // Throttled on every attempt: still reported each time, then thrown as throttling.
        let always = try await ScriptedServer { _, _ in .awsError(status: 400, code: "TooManyRequestsException") }
        defer { always.stop() }
        let counted = ClientCounter()
        let throttled = ClientTestHTTP.client(for: always, onThrottle: { counted.increment() })
        _ = await expectOutpostsError(.throttling) { _ = try await throttled.getOrder(orderId) }
        #expect(counted.value == 3)
    }

    @Test func exhaustedQuotaStopsRetrying() async throws {
        let server = try await ScriptedServer { _, _ in .awsError(status: 503, code: nil) }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server)
        // 50 failing calls × 2 retries × 5 tokens drain the 500-token quota.
        for _ in 0..<50 {
            _ = await expectOutpostsError(.server) { _ = try await client.getOrder(orderId) }
        }
        #expect(await server.requests.count == 150)
        #expect(await client.retryQuotaAvailable() == 0)
        _ = await expectOutpostsError(.server) { _ = try await client.getOrder(orderId) }
        #expect(await server.requests.count == 151, "no retry without quota")
    }

    @Test func expiredTokenInvalidatesCredentialsAndRetriesOnce() async throws {
        let server = try await ScriptedServer { request, _ in
            request.accessKeyId == "AKID1" ? .awsError(status: 400, code: "ExpiredTokenException")
                : .json(#"{"Order": {"OrderId": "\#(orderId)"}}"#)
        }
        defer { server.stop() }
        let credentials = ClientRotatingCredentials()
        let client = ClientTestHTTP.client(for: server, credentials: credentials)
        _ = try await client.getOrder(orderId)
        let requests = await server.requests
        #expect(requests.map(\.accessKeyId) == ["AKID1", "AKID2"])
        #expect(requests.map { $0.header("x-amz-security-token") } == ["token1", "token2"])
        #expect(await credentials.invalidations == 1)
        #expect(await client.retryQuotaAvailable() == 500, "a credential refresh is not a quota retry")

        // Still expired after the refresh: authentication error after exactly one refresh.
        let always = try await ScriptedServer { _, _ in .awsError(status: 403, code: "ExpiredToken") }
        defer { always.stop() }
        let rotating = ClientRotatingCredentials()
        let failing = ClientTestHTTP.client(for: always, credentials: rotating)
        let error = await expectOutpostsError(.authentication) { _ = try await failing.getOrder(orderId) }
        #expect(await always.requests.count == 2)
        #expect(await rotating.invalidations == 1)
        #expect(error.map { !$0.description.contains("secret") } == true)
    }

    @Test func timeoutIsHonouredForHeadAndBody() async throws {
        let server = try await ScriptedServer { request, _ in
            request.target.hasSuffix("slow-head")
                ? ScriptedAnswer(body: Array(#"{"Order": {"OrderId": "x"}}"#.utf8), headDelay: .seconds(20))
                : ScriptedAnswer(body: Array(#"{"Order": {"OrderId": "x"}}"#.utf8), midBodyDelay: .seconds(20))
        }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server, timeout: .milliseconds(300), maxAttempts: 1)
        let clock = ContinuousClock()
        for id in ["slow-head", "slow-body"] {
            let started = clock.now
            _ = await expectOutpostsError(.timeout) { _ = try await client.getOrder(id) }
            // Not a timing assertion: the server answers after 20 s, so anything well below that
            // means the client gave up on its own (room left for a loaded machine).
            #expect(clock.now - started < .seconds(15), "\(id): gave up well before the server answered")
        }

        // A timed-out attempt is retried and costs 10 tokens.
        let retrying = ClientTestHTTP.client(for: server, timeout: .milliseconds(200), maxAttempts: 2)
        _ = await expectOutpostsError(.timeout) { _ = try await retrying.getOrder("slow-head") }
        #expect(await retrying.retryQuotaAvailable() == 490)
    }
}

@Suite struct ClientRequestTests {
    @Test func orderIdIsOnePercentEncodedPathSegment() async throws {
        let server = try await ScriptedServer { _, _ in .json(#"{"Order": {"OrderId": "x"}}"#) }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server)
        for (id, target) in [(orderId, "/orders/\(orderId)"), ("oo-a/b c", "/orders/oo-a%2Fb%20c"),
                             ("../x?y#z", "/orders/..%2Fx%3Fy%23z"), ("é+~", "/orders/%C3%A9%2B~")] {
            _ = try await client.getOrder(id)
            #expect(await server.requests.last?.target == target)
        }
        let request = try #require(await server.requests.first)
        #expect(request.method == "GET")
        #expect(request.header("user-agent")?.hasPrefix("outpostwatch/9.9.9-test ") == true)
        #expect(request.header("host") == "127.0.0.1:\(server.port)")
        #expect(request.header("x-amz-date")?.count == 16)
        let authorization = try #require(request.header("authorization"))
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKID1/"))
        #expect(authorization.contains("/us-west-2/outposts/aws4_request"))
        #expect(authorization.contains("SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;host;x-amz-date;x-amz-security-token,"))
    }

    @Test func endpointBasePathIsKept() async throws {
        let server = try await ScriptedServer { _, _ in .json(#"{"Order": {"OrderId": "x"}}"#) }
        defer { server.stop() }
        let client = OutpostsClient(endpoint: OutpostsEndpoint(region: "us-west-2", url: server.baseURL.appendingPathComponent("prefix")),
                                    credentials: ClientRotatingCredentials(), httpClient: ClientTestHTTP.client)
        _ = try await client.getOrder(orderId)
        #expect(await server.requests.first?.target == "/prefix/orders/\(orderId)")
    }

    @Test func listAllOrdersFollowsNextToken() async throws {
        let server = try await ScriptedServer { request, _ in
            if request.target.contains("NextToken=t%201%2F%2B%3D") {
                return .json(#"{"Orders": [{"OrderId": "oo-2"}], "NextToken": "t2"}"#)
            }
            if request.target.contains("NextToken=t2") {
                return .json(#"{"NextToken": ""}"#) // no Orders member: an empty page; empty token ends
            }
            return .json(#"{"Orders": [{"OrderId": "oo-1", "LineItemCountsByStatus": {"SHIPPED": 2}, "OrderSubmissionDate": 1764331200}], "NextToken": "t 1/+="}"#)
        }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server)
        let orders = try await client.listAllOrders(outpostIdentifierFilter: "op-0123456789abcdef0")
        #expect(orders.map(\.orderId) == ["oo-1", "oo-2"])
        #expect(orders.first?.lineItemCountsByStatus == ["SHIPPED": 2])
        #expect(await server.requests.map(\.target) == [
            "/list-orders?OutpostIdentifierFilter=op-0123456789abcdef0",
            "/list-orders?OutpostIdentifierFilter=op-0123456789abcdef0&NextToken=t%201%2F%2B%3D",
            "/list-orders?OutpostIdentifierFilter=op-0123456789abcdef0&NextToken=t2",
        ])

        let page = try await client.listOrders(maxResults: 7)
        #expect(page.nextToken == "t 1/+=")
        #expect(await server.requests.last?.target == "/list-orders?MaxResults=7")
    }

    @Test func repeatedNextTokenIsRejected() async throws {
        let server = try await ScriptedServer { _, _ in .json(#"{"Orders": [], "NextToken": "same"}"#) }
        defer { server.stop() }
        _ = await expectOutpostsError(.invalidResponse) { _ = try await ClientTestHTTP.client(for: server).listAllOrders() }
        #expect(await server.requests.count == 2)
    }

    @Test func invalidListOrdersBodyIsInvalidResponse() async throws {
        let server = try await ScriptedServer { _, _ in .json(#"{"Orders": {"not": "a list"}}"#) }
        defer { server.stop() }
        _ = await expectOutpostsError(.invalidResponse) { _ = try await ClientTestHTTP.client(for: server).listOrders() }
    }
}
