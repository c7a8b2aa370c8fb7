import AsyncHTTPClient
import Foundation
import OutpostsAPI
import OutpostsSimulator
import Testing

/// Several AWS accounts in one simulator (docs/simulator.md, "Accounts"): who signs with which
/// key and region, who sees which order, per-signer stats, faults narrowed to one account; and
/// the order fields added in 2026 (QuoteIdentifier, QuoteOptionIdentifier, FIVE_YEARS).
@Suite struct SimulatorAccountsTests {
    static let prodKey = "AKIAPROD000000000001"
    static let labKey = "AKIALAB0000000000002"
    static let prodOrder = "oo-0123456789abcdef0"
    static let prodOrder2 = "oo-0123456789abcdef1"
    static let labOrder = "oo-0fedcba9876543210"

    static func order(_ id: String, outpost: String = "op-0123456789abcdef0", status: String = "PREPARING") -> Order {
        Order(outpostId: outpost, orderId: id, status: status,
              lineItems: [LineItem(catalogItemId: "OR-8CVV0EV", lineItemId: "ooi-" + id.dropFirst(3), quantity: 1,
                                   status: "PREPARING")],
              paymentOption: "ALL_UPFRONT", orderSubmissionDate: Date(timeIntervalSince1970: 1_764_331_200),
              paymentTerm: "THREE_YEARS", orderType: "OUTPOST")
    }

    static let twoAccounts = Scenario(
        orders: [order(prodOrder), order(prodOrder2, outpost: "op-0123456789abcdef9"), order(labOrder)],
        accounts: [
            Scenario.Account(name: "prod", accessKeyId: prodKey, region: "us-west-2", orders: [prodOrder, prodOrder2]),
            Scenario.Account(name: "lab", accessKeyId: labKey, region: "eu-central-1", orders: [labOrder]),
        ])

    static func get(_ base: String, _ orderId: String, key: String, region: String) async throws -> HTTPAnswer {
        try await send(.GET, "\(base)/orders/\(orderId)", headers: signedHeaders(accessKeyId: key, region: region))
    }

    static func listedIds(_ answer: HTTPAnswer) -> [String] {
        ((answer.json?["Orders"] as? [[String: Any]]) ?? []).compactMap { $0["OrderId"] as? String }
    }

    // MARK: Scenario files

    @Test func accountsDecodeFromScenarioJSON() throws {
        let json = """
        {"orders": [{"OrderId": "\(Self.prodOrder)", "Status": "PREPARING"},
                    {"OrderId": "\(Self.labOrder)", "Status": "PREPARING"}],
         "timeline": [{"at": 1, "fault": {"kind": "throttle", "count": 1, "account": "lab"}}],
         "accounts": [{"name": "prod", "accessKeyId": "\(Self.prodKey)", "region": "us-west-2", "orders": ["\(Self.prodOrder)"]},
                      {"accessKeyId": "\(Self.labKey)", "region": "eu-central-1", "orders": ["\(Self.labOrder)"]}]}
        """
        // "lab" is no account's name: the fault names the second account by its key instead.
        let fixed = json.replacingOccurrences(of: "\"account\": \"lab\"", with: "\"account\": \"\(Self.labKey)\"")
        let scenario = try Scenario.decode(Data(fixed.utf8))
        let accounts = try #require(scenario.accounts)
        #expect(accounts.map(\.label) == ["prod", Self.labKey])
        #expect(accounts[1].orders == [Self.labOrder])
        #expect(scenario.timeline.first?.fault?.account == Self.labKey)
        // Written back and read again, nothing changes.
        #expect(try Scenario.decode(scenario.jsonData()) == scenario)
        // A scenario without accounts writes none.
        let plain = try JSONSerialization.jsonObject(with: Scenario.default.jsonData()) as? [String: Any]
        #expect(plain?["accounts"] == nil)
    }

    @Test func everyAccountProblemIsListed() throws {
        let json = """
        {"orders": [{"OrderId": "\(Self.prodOrder)", "Status": "PREPARING"},
                    {"OrderId": "\(Self.labOrder)", "Status": "PREPARING"},
                    {"OrderId": "oo-00000000000000abc", "Status": "PREPARING"}],
         "timeline": [{"at": 1, "putOrder": {"OrderId": "oo-00000000000000def", "Status": "PREPARING"}},
                      {"at": 2, "fault": {"kind": "throttle", "account": "nobody"}}],
         "accounts": [{"name": "prod", "accessKeyId": "\(Self.prodKey)", "region": "us-west-2",
                       "orders": ["\(Self.prodOrder)", "\(Self.labOrder)"]},
                      {"name": "prod", "accessKeyId": "\(Self.prodKey)", "region": "EU West", "orders": ["\(Self.labOrder)", "oo-1"]}]}
        """
        let error = try #require(throws: ScenarioError.self) { try Scenario.decode(Data(json.utf8)) }
        let lines = error.message.split(separator: "\n").map(String.init)
        let expected = [
            "accounts[1]: region must be lowercase letters, digits and '-', got 'EU West'",
            "accounts[1]: order oo-1 does not match oo-[a-f0-9]{17}",
            "accounts[1]: duplicate accessKeyId \(Self.prodKey)",
            "accounts[1]: duplicate name prod",
            "orders[2]: order oo-00000000000000abc belongs to no account (list it in one account's 'orders')",
            "timeline[0]: putOrder oo-00000000000000def belongs to no account (list it in one account's 'orders')",
            "timeline[1]: fault names account nobody, which the scenario does not declare",
        ]
        for line in expected { #expect(lines.contains(line), "missing: \(line)\nin:\n\(error.message)") }
        // The copy of "prod" is reported as a duplicate, not as a second owner of prod's orders.
        #expect(!lines.contains { $0.contains("already owned") }, "\(error.message)")
    }

    @Test func anOrderOwnedByTwoAccountsAndMisspeltKeysAreRefused() throws {
        let twice = """
        {"orders": [], "timeline": [],
         "accounts": [{"name": "a", "accessKeyId": "AKIDA", "region": "us-west-2", "orders": ["\(Self.prodOrder)"]},
                      {"name": "b", "accessKeyId": "AKIDB", "region": "us-west-2", "orders": ["\(Self.prodOrder)"]}]}
        """
        let error = try #require(throws: ScenarioError.self) { try Scenario.decode(Data(twice.utf8)) }
        #expect(error.message == "accounts[1]: order \(Self.prodOrder) is already owned by account a")

        let misspelt = #"{"orders": [], "timeline": [], "accounts": [{"accessKey": "AKIDA", "region": "us-west-2"}]}"#
        let decoding = try #require(throws: ScenarioError.self) { try Scenario.decode(Data(misspelt.utf8)) }
        #expect(decoding.message.contains("unknown account key 'accessKey'"), "\(decoding.message)")

        let empty = #"{"orders": [], "timeline": [], "accounts": []}"#
        let none = try #require(throws: ScenarioError.self) { try Scenario.decode(Data(empty.utf8)) }
        #expect(none.message.contains("declare at least one account"))

        let stray = #"{"orders": [], "timeline": [{"at": 1, "fault": {"kind": "throttle", "account": "prod"}}]}"#
        let noAccounts = try #require(throws: ScenarioError.self) { try Scenario.decode(Data(stray.utf8)) }
        #expect(noAccounts.message == "timeline[0]: fault 'account' needs the scenario's 'accounts'")
    }

    // MARK: Serving

    @Test func eachAccountSeesOnlyItsOwnOrders() async throws {
        let simulator = OutpostsSimulator(scenario: Self.twoAccounts, speed: 0)
        try await withRunningSimulator(simulator) { base in
            let own = try await Self.get(base, Self.prodOrder, key: Self.prodKey, region: "us-west-2")
            #expect(own.status == 200)
            #expect(try decodeOrder(own.body).orderId == Self.prodOrder)
            let labOwn = try await Self.get(base, Self.labOrder, key: Self.labKey, region: "eu-central-1")
            #expect(labOwn.status == 200)

            // Another account's order: exactly what an order that does not exist gets.
            let foreign = try await Self.get(base, Self.labOrder, key: Self.prodKey, region: "us-west-2")
            let missing = try await Self.get(base, "oo-00000000000000fff", key: Self.prodKey, region: "us-west-2")
            #expect(foreign.status == 404)
            #expect(foreign.header("x-amzn-ErrorType") == "NotFoundException")
            #expect(foreign.json?["message"] as? String == "Order \(Self.labOrder) not found.")
            #expect(missing.header("x-amzn-ErrorType") == "NotFoundException")

            let prodList = try await send(.GET, "\(base)/list-orders", headers: signedHeaders(accessKeyId: Self.prodKey))
            #expect(prodList.status == 200)
            #expect(Self.listedIds(prodList) == [Self.prodOrder, Self.prodOrder2])
            let labList = try await send(.GET, "\(base)/list-orders",
                                         headers: signedHeaders(accessKeyId: Self.labKey, region: "eu-central-1"))
            #expect(Self.listedIds(labList) == [Self.labOrder])
            // The Outpost filter applies within the account only.
            let filtered = try await send(.GET, "\(base)/list-orders?OutpostIdentifierFilter=op-0123456789abcdef0",
                                          headers: signedHeaders(accessKeyId: Self.prodKey))
            #expect(Self.listedIds(filtered) == [Self.prodOrder])
        }
    }

    @Test func unknownKeysAndForeignRegionsAreRefusedAsAWSDoes() async throws {
        // The simulator-wide region gives way to the accounts' own.
        let simulator = OutpostsSimulator(scenario: Self.twoAccounts, speed: 0, region: "ap-south-1")
        try await withRunningSimulator(simulator) { base in
            let stranger = try await Self.get(base, Self.prodOrder, key: "AKIASTRANGER00000000", region: "us-west-2")
            #expect(stranger.status == 403)
            #expect(stranger.header("x-amzn-ErrorType") == "UnrecognizedClientException")
            #expect(stranger.json?["message"] as? String == "The security token included in the request is invalid.")

            // The lab key is known, but its account lives in eu-central-1.
            let wrongRegion = try await Self.get(base, Self.labOrder, key: Self.labKey, region: "us-west-2")
            #expect(wrongRegion.status == 403)
            #expect(wrongRegion.header("x-amzn-ErrorType") == "InvalidSignatureException")
            #expect(wrongRegion.json?["message"] as? String == "Credential should be scoped to a valid region, not 'us-west-2'. ")

            let listed = try await send(.GET, "\(base)/list-orders",
                                        headers: signedHeaders(accessKeyId: "AKIASTRANGER00000000"))
            #expect(listed.status == 403)
            #expect(listed.header("x-amzn-ErrorType") == "UnrecognizedClientException")

            // Checks of the header's form still come first.
            let unsigned = try await send(.GET, "\(base)/orders/\(Self.prodOrder)")
            #expect(unsigned.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException")
        }
    }

    @Test func statsCountEveryCallBySignerAndRegion() async throws {
        let simulator = OutpostsSimulator(scenario: Self.twoAccounts, speed: 0)
        try await withRunningSimulator(simulator) { base in
            for _ in 0..<3 { _ = try await Self.get(base, Self.prodOrder, key: Self.prodKey, region: "us-west-2") }
            _ = try await Self.get(base, Self.labOrder, key: Self.prodKey, region: "us-west-2")
            _ = try await Self.get(base, Self.labOrder, key: Self.labKey, region: "eu-central-1")
            _ = try await Self.get(base, Self.labOrder, key: Self.labKey, region: "us-east-1")
            _ = try await send(.GET, "\(base)/list-orders", headers: signedHeaders(accessKeyId: Self.labKey, region: "eu-central-1"))
            _ = try await send(.GET, "\(base)/orders/\(Self.prodOrder)")
        }
        let stats = await simulator.stats()
        #expect(stats.calls == 8)
        #expect(Set(stats.signers.keys) == [Self.prodKey, Self.labKey], "the unsigned call has no signer")
        #expect(stats.calls(signedBy: Self.prodKey) == 4)
        #expect(stats.calls(signedBy: Self.prodKey, region: "us-west-2") == 4)
        #expect(stats.signers[Self.prodKey]?.answers == ["200": 3, "NotFoundException": 1])
        #expect(stats.calls(signedBy: Self.labKey) == 3)
        #expect(stats.signers[Self.labKey]?.regions == ["eu-central-1": 2, "us-east-1": 1])
        #expect(stats.signers[Self.labKey]?.answers == ["200": 2, "InvalidSignatureException": 1])
        #expect(stats.signers[Self.labKey]?.operations == ["GetOrder": 2, "ListOrders": 1])
        #expect(stats.calls(signedBy: "AKIANOBODY") == 0)

        let recorded = await simulator.recentRequests()
        #expect(recorded.map(\.account) == ["prod", "prod", "prod", "prod", "lab", "lab", "lab", nil])

        // Over the admin API, in the same shape.
        try await withRunningSimulator(simulator) { base in
            let answer = try await send(.GET, "\(base)/_simulator/stats")
            let signers = answer.json?["signers"] as? [String: [String: Any]]
            #expect(signers?[Self.labKey]?["calls"] as? Int == 3)
            #expect((signers?[Self.labKey]?["regions"] as? [String: Int])?["us-east-1"] == 1)
        }
    }

    @Test func withoutAccountsEveryWellSignedCallerSeesEverything() async throws {
        let simulator = OutpostsSimulator(scenario: .default, speed: 0)
        try await withRunningSimulator(simulator) { base in
            for key in ["AKIDONE", "AKIDTWO"] {
                let answer = try await Self.get(base, SimulatorHTTPTests.rack, key: key, region: "sa-east-1")
                #expect(answer.status == 200)
                let list = try await send(.GET, "\(base)/list-orders", headers: signedHeaders(accessKeyId: key))
                #expect(Self.listedIds(list).count == 2)
            }
        }
        let stats = await simulator.stats()
        #expect(stats.calls(signedBy: "AKIDONE", region: "sa-east-1") == 1)
        #expect(stats.calls(signedBy: "AKIDTWO") == 2)
        #expect(await simulator.accounts() == nil)
        #expect(await simulator.recentRequests().allSatisfy { $0.account == nil })
    }

    @Test func aFaultCanHitOneAccountOnly() async throws {
        let simulator = OutpostsSimulator(scenario: Self.twoAccounts, speed: 0)
        try await simulator.injectFault(FaultInjection(kind: .throttle, count: 2, account: "lab"))
        await #expect(throws: ScenarioError.self) {
            try await simulator.injectFault(FaultInjection(kind: .throttle, account: "nobody"))
        }
        try await withRunningSimulator(simulator) { base in
            // prod is never throttled; lab's first two calls are.
            for _ in 0..<2 {
                #expect(try await Self.get(base, Self.prodOrder, key: Self.prodKey, region: "us-west-2").status == 200)
                #expect(try await Self.get(base, Self.labOrder, key: Self.labKey, region: "eu-central-1").status == 429)
            }
            #expect(try await Self.get(base, Self.labOrder, key: Self.labKey, region: "eu-central-1").status == 200)
            // By access key id too, over the admin API.
            let injected = try await send(.POST, "\(base)/_simulator/faults",
                                          body: Data(#"{"kind": "error500", "count": 1, "account": "\#(Self.prodKey)"}"#.utf8))
            #expect(injected.status == 200)
            #expect(try await Self.get(base, Self.labOrder, key: Self.labKey, region: "eu-central-1").status == 200)
            #expect(try await Self.get(base, Self.prodOrder, key: Self.prodKey, region: "us-west-2").status == 500)
        }
        let stats = await simulator.stats()
        #expect(stats.signers[Self.labKey]?.answers == ["ThrottlingException": 2, "200": 2])
        #expect(stats.signers[Self.prodKey]?.answers == ["200": 2, "InternalServerException": 1])
    }

    @Test func ordersAddedLaterNeedAnOwner() async throws {
        let simulator = OutpostsSimulator(scenario: Self.twoAccounts, speed: 0)
        let added = "oo-00000000000000abc"
        await #expect(throws: ScenarioError.self) { try await simulator.putOrder(Self.order(added)) }
        await #expect(throws: ScenarioError.self) { try await simulator.putOrder(Self.order(added), account: "nobody") }
        try await simulator.putOrder(Self.order(added), account: "lab")
        // Replacing an owned order keeps its owner; naming another account moves it.
        try await simulator.putOrder(Self.order(added, status: "IN_PROGRESS"))
        #expect(await simulator.accounts()?.first(where: { $0.label == "lab" })?.orders == [Self.labOrder, added])
        try await withRunningSimulator(simulator) { base in
            #expect(try await Self.get(base, added, key: Self.labKey, region: "eu-central-1").status == 200)
            #expect(try await Self.get(base, added, key: Self.prodKey, region: "us-west-2").status == 404)

            let moved = try await send(.PUT, "\(base)/_simulator/orders/\(added)?account=prod",
                                       body: Data(#"{"OrderId": "\#(added)", "Status": "DELIVERED"}"#.utf8))
            #expect(moved.status == 200)
            #expect(try await Self.get(base, added, key: Self.prodKey, region: "us-west-2").status == 200)
            #expect(try await Self.get(base, added, key: Self.labKey, region: "eu-central-1").status == 404)

            let orphan = try await send(.PUT, "\(base)/_simulator/orders/oo-00000000000000def",
                                        body: Data(#"{"Status": "PREPARING"}"#.utf8))
            #expect(orphan.status == 400)
            #expect((orphan.json?["message"] as? String)?.contains("belongs to no account") == true)

            let accounts = try await send(.GET, "\(base)/_simulator/accounts")
            let listed = accounts.json?["accounts"] as? [[String: Any]]
            #expect(listed?.map { $0["name"] as? String } == ["prod", "lab"])
            #expect((listed?.first?["orders"] as? [String])?.last == added)
        }
        // Without accounts, naming one is an error.
        let plain = OutpostsSimulator(scenario: .default, speed: 0)
        await #expect(throws: ScenarioError.self) { try await plain.putOrder(Self.order(added), account: "prod") }
    }

    static func client(_ base: String, _ key: String, _ region: String) -> OutpostsClient {
        OutpostsClient(endpoint: OutpostsEndpoint(region: region, url: URL(string: base)!),
                       credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: key, secretAccessKey: "secret")),
                       httpClient: HTTPClient.shared, requestTimeout: .seconds(5), maxAttempts: 1)
    }

    /// outpostwatch's own client, signing for real, as one client per account does.
    @Test func oneOutpostsClientPerAccount() async throws {
        let simulator = OutpostsSimulator(scenario: Self.twoAccounts, speed: 0)
        try await withRunningSimulator(simulator) { (base: String) async throws -> Void in
            let prod = Self.client(base, Self.prodKey, "us-west-2")
            let lab = Self.client(base, Self.labKey, "eu-central-1")
            #expect(try await prod.listAllOrders().compactMap(\.orderId) == [Self.prodOrder, Self.prodOrder2])
            #expect(try await lab.listAllOrders().compactMap(\.orderId) == [Self.labOrder])
            #expect(try await lab.getOrder(Self.labOrder).orderId == Self.labOrder)
            let foreign = await #expect(throws: OutpostsError.self) { try await prod.getOrder(Self.labOrder) }
            #expect(foreign?.kind == .notFound)
            let stranger = await #expect(throws: OutpostsError.self) {
                try await Self.client(base, "AKIASTRANGER00000000", "us-west-2").getOrder(Self.prodOrder)
            }
            #expect(stranger?.code == "UnrecognizedClientException")
            let elsewhere = await #expect(throws: OutpostsError.self) {
                try await Self.client(base, Self.labKey, "us-west-2").getOrder(Self.labOrder)
            }
            #expect(elsewhere?.code == "InvalidSignatureException")
        }
        let stats = await simulator.stats()
        #expect(stats.calls(signedBy: Self.prodKey, region: "us-west-2") == 2)
        #expect(stats.calls(signedBy: Self.labKey, region: "eu-central-1") == 2)
        // A refused signature is tried once more with refreshed credentials.
        #expect(stats.calls(signedBy: Self.labKey, region: "us-west-2") == 2)
        #expect(stats.calls(signedBy: "AKIASTRANGER00000000") == 2)
    }

    // MARK: Order fields of 2026

    @Test func quoteIdentifiersAndFiveYearTermsAreServed() async throws {
        let json = """
        {"orders": [{"OrderId": "\(Self.prodOrder)", "Status": "PREPARING", "PaymentTerm": "FIVE_YEARS",
                     "PaymentOption": "NO_UPFRONT", "QuoteIdentifier": "q-0123456789abcdef0",
                     "QuoteOptionIdentifier": "qo-0123456789abcdef0"},
                    {"OrderId": "\(Self.labOrder)", "Status": "PREPARING", "PaymentTerm": "ONE_YEAR"}],
         "timeline": [{"at": 1, "putOrder": {"OrderId": "\(Self.labOrder)", "Status": "IN_PROGRESS",
                                             "PaymentTerm": "FIVE_YEARS", "QuoteIdentifier": "q-00000000000000002"}}]}
        """
        let scenario = try Scenario.decode(Data(json.utf8))
        #expect(scenario.orders[0].quoteIdentifier == "q-0123456789abcdef0")
        let simulator = OutpostsSimulator(scenario: scenario, speed: 0)
        try await withRunningSimulator(simulator) { base in
            let quoted = try #require(try await getOrder(base, Self.prodOrder).json?["Order"] as? [String: Any])
            #expect(quoted["PaymentTerm"] as? String == "FIVE_YEARS")
            #expect(quoted["QuoteIdentifier"] as? String == "q-0123456789abcdef0")
            #expect(quoted["QuoteOptionIdentifier"] as? String == "qo-0123456789abcdef0")
            // Absent when the scenario does not set them, as in answers from before 2026.
            let plain = try #require(try await getOrder(base, Self.labOrder).json?["Order"] as? [String: Any])
            #expect(plain["QuoteIdentifier"] == nil)
            #expect(plain["QuoteOptionIdentifier"] == nil)
            await simulator.advance()
            let later = try decodeOrder(try await getOrder(base, Self.labOrder).body)
            #expect(later.paymentTerm == "FIVE_YEARS")
            #expect(later.quoteIdentifier == "q-00000000000000002")
            #expect(later.quoteOptionIdentifier == nil)
        }
    }
}
