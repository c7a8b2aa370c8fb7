import Foundation
import OutpostsAPI
import OutpostsSimulator
import Testing

/// The simulator over real HTTP on loopback: the Outposts wire format, SigV4 header checks,
/// pagination, faults and the admin API.
@Suite struct SimulatorHTTPTests {
    static let rack = "oo-0123456789abcdef0"
    static let cancelled = "oo-0fedcba9876543210"

    @Test func getOrderAnswersTheWireFormat() async throws {
        let simulator = OutpostsSimulator(scenario: .default, speed: 0)
        await simulator.advanceToEnd()
        try await withRunningSimulator(simulator) { base in
            let answer = try await getOrder(base, Self.rack)
            #expect(answer.status == 200)
            #expect(answer.header("content-type") == "application/json")
            #expect(answer.header("x-amzn-RequestId")?.isEmpty == false)
            #expect(answer.header("x-amzn-ErrorType") == nil)
            let order = try #require(answer.json?["Order"] as? [String: Any])
            // Timestamps are epoch seconds: JSON numbers, not strings.
            #expect(order["OrderSubmissionDate"] is NSNumber)
            #expect(order["OrderFulfilledDate"] is NSNumber)
            #expect(order["Status"] as? String == "COMPLETED")
            let item = try #require((order["LineItems"] as? [[String: Any]])?.first)
            #expect(Set(item.keys) == ["CatalogItemId", "LineItemId", "Quantity", "Status", "ShipmentInformation", "AssetInformationList"])
            let held = await simulator.order(Self.rack)
            #expect(try decodeOrder(answer.body) == held.map(Self.toMilliseconds))
        }
    }

    /// The wire carries milliseconds, as AWS does.
    static func toMilliseconds(_ order: Order) -> Order {
        var order = order
        func round(_ date: Date?) -> Date? {
            date.map { Date(timeIntervalSince1970: ($0.timeIntervalSince1970 * 1000).rounded() / 1000) }
        }
        order.orderSubmissionDate = round(order.orderSubmissionDate)
        order.orderFulfilledDate = round(order.orderFulfilledDate)
        return order
    }

    @Test func awsErrorsForMissingAndMalformedOrders() async throws {
        try await withRunningSimulator(OutpostsSimulator(scenario: .default, speed: 0)) { base in
            let missing = try await getOrder(base, "oo-00000000000000000")
            #expect(missing.status == 404)
            #expect(missing.header("x-amzn-ErrorType") == "NotFoundException")
            #expect(missing.header("x-amzn-RequestId")?.isEmpty == false)
            #expect((missing.json?["message"] as? String)?.contains("oo-00000000000000000") == true)

            for malformed in ["oo-123", "oo-0123456789ABCDEF0", "order-1"] {
                let answer = try await getOrder(base, malformed)
                #expect(answer.status == 400, "\(malformed)")
                #expect(answer.header("x-amzn-ErrorType") == "ValidationException", "\(malformed)")
            }
            let unknown = try await send(.POST, "\(base)/orders/\(Self.rack)", headers: signedHeaders())
            #expect(unknown.status == 404)
            #expect(unknown.header("x-amzn-ErrorType") == "UnknownOperationException")
        }
    }

    @Test(arguments: [
        ([(String, String)](), "MissingAuthenticationTokenException"),
        ([("Authorization", "Bearer abc"), ("X-Amz-Date", amzDateString(Date()))], "IncompleteSignatureException"),
        ([("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-west-2/outposts/aws4_request")],
         "IncompleteSignatureException"),
        (signedHeaders(signature: "abc123"), "IncompleteSignatureException"),
        (signedHeaders(signature: String(repeating: "G", count: 64)), "IncompleteSignatureException"),
        (signedHeaders(service: "ec2"), "InvalidSignatureException"),
        (signedHeaders(signedHeaderNames: "x-amz-date"), "IncompleteSignatureException"),
        (signedHeaders(signedHeaderNames: "host;x-amz-date;x-amz-security-token"), "InvalidSignatureException"),
        (signedHeaders().filter { $0.0 != "X-Amz-Date" }, "IncompleteSignatureException"),
        (signedHeaders(date: Date().addingTimeInterval(-3600)), "InvalidSignatureException"),
        (signedHeaders(accessKeyId: "ASIAEXAMPLE"), "UnrecognizedClientException"),
    ])
    func badSignaturesAreRefusedWith403(headers: [(String, String)], code: String) async throws {
        try await withRunningSimulator(OutpostsSimulator(scenario: .default, speed: 0)) { base in
            let answer = try await send(.GET, "\(base)/orders/\(Self.rack)", headers: headers)
            #expect(answer.status == 403)
            #expect(answer.header("x-amzn-ErrorType") == code)
            #expect(answer.json?["message"] is String)
        }
    }

    @Test func wellFormedSignaturesVariantsAreAccepted() async throws {
        let simulator = OutpostsSimulator(scenario: .default, speed: 0, region: "eu-central-1")
        try await withRunningSimulator(simulator) { base in
            let session = signedHeaders(accessKeyId: "ASIAEXAMPLE", region: "eu-central-1",
                                        signedHeaderNames: "host;x-amz-date;x-amz-security-token")
                + [("X-Amz-Security-Token", "session-token-secret")]
            #expect(try await send(.GET, "\(base)/orders/\(Self.rack)", headers: session).status == 200)
            let wrongRegion = try await send(.GET, "\(base)/orders/\(Self.rack)", headers: signedHeaders(region: "us-west-2"))
            #expect(wrongRegion.status == 403)
            #expect(wrongRegion.header("x-amzn-ErrorType") == "InvalidSignatureException")
            let recorded = await simulator.recentRequests()
            #expect(recorded.first?.accessKeyId == "ASIAEXAMPLE")
            #expect(recorded.first?.region == "eu-central-1")
            #expect(recorded.first?.headers["x-amz-security-token"] == "<redacted>", "session tokens are secrets")
            #expect(recorded.first?.headers["host"]?.hasPrefix("127.0.0.1:") == true)
        }
    }

    @Test func listOrdersPaginates() async throws {
        let simulator = OutpostsSimulator(scenario: Scenario(orders: []), speed: 0)
        let ids = (0..<25).map { String(format: "oo-%017x", 0xabc000 + $0) }
        for (index, id) in ids.enumerated() {
            try await simulator.putOrder(Order(outpostId: index.isMultiple(of: 5) ? "op-00000000000000005" : "op-00000000000000001",
                                               orderId: id, status: "PREPARING",
                                               lineItems: [LineItem(lineItemId: "ooi-00000000000000001", status: "BUILDING"),
                                                           LineItem(lineItemId: "ooi-00000000000000002", status: "BUILDING"),
                                                           LineItem(lineItemId: "ooi-00000000000000003", status: "SHIPPED")],
                                               orderSubmissionDate: Date(timeIntervalSince1970: 1_764_331_200 + Double(index))))
        }
        try await withRunningSimulator(simulator) { base in
            func page(_ query: String) async throws -> HTTPAnswer {
                try await send(.GET, "\(base)/list-orders\(query)", headers: signedHeaders())
            }
            // Default page size is 20, even when more is asked for.
            for query in ["", "?MaxResults=1000"] {
                let first = try await page(query)
                #expect(first.status == 200)
                #expect((first.json?["Orders"] as? [Any])?.count == 20)
                let token = try #require(first.json?["NextToken"] as? String)
                #expect(token.wholeMatch(of: /\d+##\S+/) != nil, "the model's NextToken pattern")
            }
            // MaxResults=1 walks every order exactly once, in order.
            var seen: [String] = []
            var token: String?
            var pages = 0
            repeat {
                var query = "?MaxResults=1"
                if let token { query += "&NextToken=" + token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
                let answer = try await page(query)
                let orders = try #require(answer.json?["Orders"] as? [[String: Any]])
                seen += orders.compactMap { $0["OrderId"] as? String }
                token = answer.json?["NextToken"] as? String
                pages += 1
            } while token != nil && pages < 100
            #expect(seen == ids)
            #expect(pages == 25)

            let summary = try #require((try await page("?MaxResults=1")).json?["Orders"] as? [[String: Any]]).first
            #expect(summary?["LineItemCountsByStatus"] as? [String: Int] == ["BUILDING": 2, "SHIPPED": 1])
            #expect((summary?["OrderSubmissionDate"] as? NSNumber)?.doubleValue == 1_764_331_200)

            let filtered = try await page("?OutpostIdentifierFilter=arn:aws:outposts:us-west-2:123456789012:outpost/op-00000000000000005")
            #expect((filtered.json?["Orders"] as? [[String: Any]])?.compactMap { $0["OrderId"] as? String }
                    == ids.enumerated().filter { $0.offset.isMultiple(of: 5) }.map(\.element))
            #expect(filtered.json?["NextToken"] == nil)

            for bad in ["?MaxResults=0", "?MaxResults=1001", "?MaxResults=ten", "?NextToken=garbage", "?OutpostIdentifierFilter=op-1"] {
                let answer = try await page(bad)
                #expect(answer.status == 400, "\(bad)")
                #expect(answer.header("x-amzn-ErrorType") == "ValidationException", "\(bad)")
            }
        }
    }

    @Test func faultsAnswerAsAWSWould() async throws {
        let simulator = OutpostsSimulator(scenario: .default, speed: 0)
        try await withRunningSimulator(simulator) { base in
            func inject(_ json: String) async throws {
                let answer = try await send(.POST, "\(base)/_simulator/faults", body: Data(json.utf8))
                #expect(answer.status == 200, "\(json): \(String(decoding: answer.body, as: UTF8.self))")
            }
            try await inject(#"{"kind": "throttle", "count": 2}"#)
            for _ in 0..<2 {
                let throttled = try await getOrder(base, Self.rack)
                #expect(throttled.status == 429)
                #expect(throttled.header("x-amzn-ErrorType") == "ThrottlingException")
                #expect(throttled.header("x-amzn-RequestId")?.isEmpty == false)
            }
            #expect(try await getOrder(base, Self.rack).status == 200, "count 2 means two calls")

            try await inject(#"{"kind": "error500"}"#)
            let failed = try await getOrder(base, Self.rack)
            #expect(failed.status == 500)
            #expect(failed.header("x-amzn-ErrorType") == "InternalServerException")
            #expect(try await getOrder(base, Self.rack).status == 200, "a bare fault hits one call")

            for kind in ["malformed", "truncated", "empty"] {
                try await inject(#"{"kind": "\#(kind)"}"#)
                let broken = try await getOrder(base, Self.rack)
                #expect(broken.status == 200, "\(kind)")
                #expect((try? decodeOrder(broken.body)) == nil, "\(kind) must not decode as an Order")
                #expect(broken.json == nil, "\(kind) body is not a JSON object")
            }
            let truncatedStats = await simulator.stats()
            #expect(truncatedStats.calls(SimulatorOperation.getOrder, answer: "truncated") == 1)

            // Ratio faults are deterministic: 0.5 is every second matching call.
            try await inject(#"{"kind": "throttle", "ratio": 0.5, "operation": "GetOrder", "order": "oo-0123456789abcdef0"}"#)
            var statuses: [Int] = []
            for _ in 0..<6 { statuses.append(try await getOrder(base, Self.rack).status) }
            #expect(statuses == [200, 429, 200, 429, 200, 429])
            #expect(try await getOrder(base, Self.cancelled).status == 200, "the fault is narrowed to one order")
            #expect(try await send(.GET, "\(base)/list-orders", headers: signedHeaders()).status == 200)
            #expect(try await send(.DELETE, "\(base)/_simulator/faults").status == 204)
            #expect(try await getOrder(base, Self.rack).status == 200)

            // A hang holds the answer back; a client with a shorter timeout gives up.
            try await inject(#"{"kind": "hang", "seconds": 5}"#)
            await #expect(throws: (any Error).self) {
                _ = try await send(.GET, "\(base)/orders/\(Self.rack)", headers: signedHeaders(), timeout: .milliseconds(200))
            }
            try await inject(#"{"kind": "hang", "seconds": 0.3}"#)
            let started = ContinuousClock.now
            #expect(try await getOrder(base, Self.rack).status == 200)
            #expect(ContinuousClock.now - started >= .milliseconds(300))

            let rejected = try await send(.POST, "\(base)/_simulator/faults", body: Data(#"{"kind": "explode"}"#.utf8))
            #expect(rejected.status == 400)
            #expect((rejected.json?["message"] as? String)?.contains("throttle") == true, "lists the valid kinds")
        }
    }

    @Test func adminAPIDrivesTheScenario() async throws {
        let simulator = OutpostsSimulator(scenario: .default, speed: 0)
        try await withRunningSimulator(simulator) { base in
            let one = try await send(.POST, "\(base)/_simulator/advance")
            #expect(one.status == 200)
            #expect(one.json?["applied"] as? Int == 1)
            #expect(one.json?["remaining"] as? Int == 18)
            #expect(try decodeOrder(try await getOrder(base, Self.rack).body).status == "IN_PROGRESS")

            let toSix = try await send(.POST, "\(base)/_simulator/advance?to=6")
            #expect(toSix.json?["applied"] as? Int == 5)
            #expect(toSix.json?["scenarioTime"] as? Double == 6)
            #expect(try decodeOrder(try await getOrder(base, Self.rack).body).lineItems?.first?.status == "SHIPPED")

            let end = try await send(.POST, "\(base)/_simulator/advance?to=end")
            #expect(end.json?["applied"] as? Int == 13)
            #expect(end.json?["remaining"] as? Int == 0)
            #expect((try await send(.POST, "\(base)/_simulator/advance")).json?["applied"] as? Int == 0)
            #expect(try await send(.POST, "\(base)/_simulator/advance?to=soon").status == 400)

            let replacement = #"{"OrderId": "oo-0123456789abcdef0", "OutpostId": "op-0123456789abcdef0", "Status": "ERROR", "#
                + #""OrderSubmissionDate": 1764331200, "LineItems": [{"LineItemId": "ooi-00000000000000009", "Status": "REPLACED"}]}"#
            let put = try await send(.PUT, "\(base)/_simulator/orders/\(Self.rack)", body: Data(replacement.utf8))
            #expect(put.status == 200)
            let replaced = try decodeOrder(try await getOrder(base, Self.rack).body)
            #expect(replaced.status == "ERROR")
            #expect(replaced.lineItems?.map(\.status) == ["REPLACED"])
            #expect(replaced.orderSubmissionDate == Date(timeIntervalSince1970: 1_764_331_200))

            let newOrder = #"{"Order": {"Status": "PREPARING", "OutpostId": "op-0123456789abcdef0"}}"#
            #expect(try await send(.PUT, "\(base)/_simulator/orders/oo-000000000000000aa", body: Data(newOrder.utf8)).status == 200)
            #expect(try await getOrder(base, "oo-000000000000000aa").status == 200)
            #expect(try await send(.PUT, "\(base)/_simulator/orders/oo-000000000000000aa", body: Data("{".utf8)).status == 400)
            #expect(try await send(.PUT, "\(base)/_simulator/orders/not-an-id", body: Data(#"{"Status": "X"}"#.utf8)).status == 400)
            #expect(try await send(.PUT, "\(base)/_simulator/orders/oo-000000000000000aa",
                                   body: Data(#"{"OrderId": "oo-000000000000000bb", "Status": "X"}"#.utf8)).status == 400)

            #expect(try await send(.DELETE, "\(base)/_simulator/orders/\(Self.cancelled)").status == 204)
            #expect(try await send(.DELETE, "\(base)/_simulator/orders/\(Self.cancelled)").status == 404)
            #expect(try await getOrder(base, Self.cancelled).header("x-amzn-ErrorType") == "NotFoundException")

            let listed = try await send(.GET, "\(base)/_simulator/orders")
            #expect((listed.json?["Orders"] as? [[String: Any]])?.compactMap { $0["OrderId"] as? String }
                    == [Self.rack, "oo-000000000000000aa"])

            let stats = try await send(.GET, "\(base)/_simulator/stats")
            let decoded = try JSONDecoder().decode(SimulatorStats.self, from: stats.body)
            #expect(decoded == (await simulator.stats()))
            #expect(decoded.calls(SimulatorOperation.getOrder) == 5)
            #expect(decoded.calls(SimulatorOperation.getOrder, answer: "200") == 4)
            #expect(decoded.calls(SimulatorOperation.getOrder, answer: "NotFoundException") == 1)
            #expect(decoded.calls == 5, "admin calls are not counted")
            let requests = try await send(.GET, "\(base)/_simulator/requests")
            #expect((try JSONDecoder().decode([RecordedRequest].self, from: requests.body)).count == 5)
            #expect(try await send(.DELETE, "\(base)/_simulator/stats").status == 204)
            #expect(await simulator.stats().calls == 0)
            #expect(try await send(.GET, "\(base)/_simulator/nothing").status == 404)
        }
    }

    @Test func timelineAdvancesByItselfOverHTTP() async throws {
        let clock = HandMovedClock()
        let simulator = OutpostsSimulator(scenario: .default, speed: 10, clock: clock.simulatorClock)
        try await withRunningSimulator(simulator) { base in
            let before = try decodeOrder(try await getOrder(base, Self.rack).body)
            #expect(before.status == "PREPARING")
            clock.move(by: 0.15)  // 1.5 scenario seconds
            let started = try decodeOrder(try await getOrder(base, Self.rack).body)
            #expect(started.status == "IN_PROGRESS")
            clock.move(by: 2)
            let finished = try decodeOrder(try await getOrder(base, Self.rack).body)
            #expect(finished.status == "COMPLETED")
            let other = try await getOrder(base, Self.cancelled)
            #expect(other.status == 200)
        }
    }
}
