import Foundation
import OutpostsAPI
import OutpostsSimulator
import Testing

/// The scenario format and timeline, in process (no HTTP).
@Suite struct SimulatorScenarioTests {
    static let rack = "oo-0123456789abcdef0"
    static let cancelled = "oo-0fedcba9876543210"

    @Test func defaultScenarioIsValidAndShaped() throws {
        let scenario = Scenario.default
        try scenario.validate()
        let ids = scenario.orders.compactMap(\.orderId)
        #expect(ids == [Self.rack, Self.cancelled])
        for id in ids { #expect(id.wholeMatch(of: /oo-[a-f0-9]{17}/) != nil) }
        for item in scenario.orders.flatMap({ $0.lineItems ?? [] }) {
            #expect(item.lineItemId?.wholeMatch(of: /ooi-[a-f0-9]{17}/) != nil)
            #expect(item.catalogItemId?.wholeMatch(of: /OR-[A-Z0-9]{7}/) != nil)
        }
        let times = scenario.timeline.map(\.at)
        #expect(times == times.sorted())
        #expect((15...20).contains(times.last ?? 0), "a full lifecycle in about 20 s, last step at \(times.last ?? 0)")
    }

    @Test func everyDefaultStepChangesWhatGetOrderAnswers() async throws {
        let simulator = OutpostsSimulator(scenario: .default, speed: 0)
        var previous = await simulator.currentOrders()
        var applied = 0
        while let step = await simulator.advance() {
            let now = await simulator.currentOrders()
            #expect(now != previous, "step at \(step.at) changed nothing")
            previous = now
            applied += 1
        }
        #expect(applied == Scenario.default.timeline.count)
        #expect(await simulator.remainingSteps() == 0)
    }

    @Test func defaultScenarioEndState() async throws {
        let clock = HandMovedClock()
        let start = clock.now
        let simulator = OutpostsSimulator(scenario: .default, speed: 0, clock: clock.simulatorClock)
        clock.move(by: 600)
        await simulator.advanceToEnd()
        let rack = try #require(await simulator.order(Self.rack))
        #expect(rack.status == "COMPLETED")
        #expect(rack.orderFulfilledDate == clock.now, "an explicit advance takes effect when it is made")
        #expect(rack.orderSubmissionDate == start.addingTimeInterval(-14 * 86_400))
        let items = try #require(rack.lineItems)
        #expect(items.map(\.status) == ["INSTALLED", "INSTALLED"])
        #expect(items.map { $0.shipmentInformation?.shipmentCarrier } == ["UPS", "DHL"])
        #expect(items[0].shipmentInformation?.shipmentTrackingNumber?.hasPrefix("1Z") == true)
        let macs = items.flatMap { $0.assetInformationList ?? [] }.flatMap { $0.macAddressList ?? [] }
        #expect(macs.count == 4)
        for mac in macs { #expect(mac.wholeMatch(of: /([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}/) != nil) }
        let other = try #require(await simulator.order(Self.cancelled))
        #expect(other.status == "CANCELLED")
        #expect(other.lineItems?.map(\.status) == ["CANCELLED"])
        #expect(other.orderFulfilledDate == nil)
    }

    @Test func manualModeNeverMovesByItself() async throws {
        let clock = HandMovedClock()
        let simulator = OutpostsSimulator(scenario: .default, speed: 0, clock: clock.simulatorClock)
        clock.move(by: 3600)
        #expect(await simulator.scenarioTime() == 0)
        #expect(await simulator.order(Self.rack)?.status == "PREPARING")
        let step = try #require(await simulator.advance())
        #expect(step.at == 1)
        #expect(await simulator.order(Self.rack)?.status == "IN_PROGRESS")
        #expect(await simulator.scenarioTime() == 1, "manual time is the latest applied step's time")
    }

    @Test func speedScalesScenarioTime() async throws {
        let clock = HandMovedClock()
        let simulator = OutpostsSimulator(scenario: .default, speed: 4, clock: clock.simulatorClock)
        #expect(await simulator.remainingSteps() == 19)
        clock.move(by: 1.25)  // 5 scenario seconds: the steps at 1 … 5
        #expect(await simulator.scenarioTime() == 5)
        #expect(await simulator.remainingSteps() == 14)
        #expect(await simulator.order(Self.cancelled)?.lineItems?.first?.status == "BUILDING")
        clock.move(by: 0.2)  // 5.8: nothing new
        #expect(await simulator.remainingSteps() == 14)
        clock.move(by: 10)
        #expect(await simulator.remainingSteps() == 0)
        #expect(await simulator.order(Self.rack)?.status == "COMPLETED")
        // Fulfilment (scenario time 18) fell due 4.5 s after the start, not when it was noticed.
        #expect(await simulator.order(Self.rack)?.orderFulfilledDate == simulator.startDate.addingTimeInterval(4.5))
    }

    @Test func advanceThroughATime() async throws {
        let simulator = OutpostsSimulator(scenario: .default, speed: 0)
        let applied = await simulator.advance(through: 6.5)
        #expect(applied.map(\.at) == [1, 2, 3, 4, 5, 6])
        #expect(await simulator.scenarioTime() == 6.5)
        let shipped = try #require(await simulator.order(Self.rack)?.lineItems?.first)
        #expect(shipped.status == "SHIPPED")
        #expect(shipped.shipmentInformation == ShipmentInformation(shipmentTrackingNumber: "1Z999AA10123456784", shipmentCarrier: "UPS"))
    }

    static let everyStepKind = """
        {"orders": [
           {"OrderId": "oo-00000000000000001", "OutpostId": "op-00000000000000001", "Status": "PREPARING",
            "OrderSubmissionDate": "2026-11-01T10:00:00Z", "PaymentOption": "ALL_UPFRONT", "PaymentTerm": "ONE_YEAR",
            "OrderType": "OUTPOST",
            "LineItems": [{"LineItemId": "ooi-00000000000000001", "CatalogItemId": "OR-AAAAAAA", "Quantity": 1, "Status": "PREPARING"}]},
           {"OrderId": "oo-00000000000000002", "OutpostId": "op-00000000000000001", "Status": "ERROR",
            "OrderSubmissionDate": 1761991200.5}],
         "timeline": [
           {"at": 3, "order": "oo-00000000000000001", "deleteOrder": true, "note": "after the others at 3"},
           {"at": 1, "order": "oo-00000000000000001", "status": "IN_PROGRESS"},
           {"at": 2, "order": "oo-00000000000000001", "lineItem": "ooi-00000000000000001", "status": "SHIPPED",
            "shipment": {"ShipmentCarrier": "FEDEX", "ShipmentTrackingNumber": "7749"}},
           {"at": 2, "order": "oo-00000000000000001", "lineItem": "ooi-00000000000000001",
            "assets": [{"AssetId": "a1", "MacAddressList": ["00:00:00:00:00:01"]}]},
           {"at": 2.5, "order": "oo-00000000000000001", "fulfilled": true},
           {"at": 2.5, "order": "oo-00000000000000001",
            "addLineItem": {"LineItemId": "ooi-00000000000000002", "CatalogItemId": "OR-BBBBBBB", "Quantity": 2, "Status": "BUILDING"}},
           {"at": 2.6, "order": "oo-00000000000000001", "removeLineItem": "ooi-00000000000000001"},
           {"at": 4, "fault": {"kind": "throttle", "for": 2}},
           {"at": 5, "putOrder": {"OrderId": "oo-00000000000000001", "Status": "ERROR"}}
         ]}
        """

    @Test func everyStepKindDecodesAndApplies() async throws {
        let scenario = try Scenario.decode(Data(Self.everyStepKind.utf8))
        #expect(scenario.orders[0].orderSubmissionDate == Date(timeIntervalSince1970: 1_793_527_200))
        #expect(scenario.orders[1].orderSubmissionDate == Date(timeIntervalSince1970: 1_761_991_200.5))
        let clock = HandMovedClock()
        let simulator = OutpostsSimulator(scenario: scenario, speed: 0, clock: clock.simulatorClock)
        let first = "oo-00000000000000001"

        await simulator.advance(through: 2)
        var order = try #require(await simulator.order(first))
        #expect(order.status == "IN_PROGRESS")
        #expect(order.lineItems?.first?.shipmentInformation?.shipmentCarrier == "FEDEX")
        #expect(order.lineItems?.first?.assetInformationList?.first?.macAddressList == ["00:00:00:00:00:01"])

        clock.move(by: 42)
        await simulator.advance(through: 2.6)
        order = try #require(await simulator.order(first))
        #expect(order.orderFulfilledDate == clock.now)
        #expect(order.lineItems?.map(\.lineItemId) == ["ooi-00000000000000002"])

        await simulator.advance(through: 3)
        #expect(await simulator.order(first) == nil, "deleteOrder makes GetOrder answer NotFound")
        #expect(await simulator.currentOrders().map(\.orderId) == ["oo-00000000000000002"])

        await simulator.advance(through: 4)
        #expect(await simulator.activeFaults().map(\.kind) == [.throttle])
        await simulator.advance(through: 5.5)
        #expect(await simulator.activeFaults().map(\.kind) == [.throttle], "a 'for: 2' fault from t=4 lasts until t=6")
        #expect(await simulator.order(first)?.status == "ERROR", "putOrder brings the order back")
        await simulator.advance(through: 6)
        #expect(await simulator.activeFaults().isEmpty, "the 'for: 2' fault injected at t=4 ends at t=6")
    }

    @Test func scenarioRoundTripsThroughJSON() throws {
        let scenario = try Scenario.decode(Data(Self.everyStepKind.utf8))
        let again = try Scenario.decode(try scenario.jsonData())
        #expect(again == scenario)
        let defaultAgain = try Scenario.decode(try Scenario.default.jsonData())
        #expect(defaultAgain == Scenario.default)
    }

    @Test(arguments: [
        (#"{"orders": [], "timeline": [{"at": 1, "order": "oo-00000000000000001", "stauts": "X"}]}"#, "unknown step key 'stauts'"),
        (#"{"orders": [], "timeline": [{"at": 1, "order": "oo-00000000000000001", "status": "X"}]}"#, "does not exist"),
        (#"{"orders": [{"OrderId": "oo-1", "Status": "PREPARING"}], "timeline": []}"#, "does not match oo-[a-f0-9]{17}"),
        (#"{"orders": [{"OrderId": "oo-00000000000000001"}], "timeline": []}"#, "Status is missing"),
        (#"{"orders": [], "timeline": [{"at": 1}]}"#, "changes nothing"),
        (#"{"orders": [], "timeline": [{"at": 1, "fault": {"kind": "explode"}}]}"#, "timeline[0].fault.kind"),
        (#"{"orders": [], "timeline": [{"at": 1, "fault": {"kind": "throttle", "ratio": 2}}]}"#, "ratio must be in (0, 1]"),
        (#"{"orders": [{"OrderId": "oo-00000000000000001", "Status": "PREPARING"}],"#
            + #" "timeline": [{"at": 1, "order": "oo-00000000000000001", "shipment": {}}]}"#, "need 'lineItem'"),
        (#"{"orders": [{"OrderId": "oo-00000000000000001", "Status": "PREPARING"}],"#
            + #" "timeline": [{"at": 1, "order": "oo-00000000000000001", "deleteOrder": true},"#
            + #" {"at": 2, "order": "oo-00000000000000001", "status": "X"}]}"#, "timeline[1] (at 2.0): order oo-00000000000000001 does not exist"),
        (#"{"orders": [{"OrderId": "oo-00000000000000001", "Status": "P", "OrderSubmissionDate": "yesterday"}], "timeline": []}"#,
            "orders[0].OrderSubmissionDate"),
    ])
    func invalidScenariosAreRejectedWithTheReason(json: String, reason: String) {
        do {
            _ = try Scenario.decode(Data(json.utf8))
            Issue.record("accepted: \(json)")
        } catch let error as ScenarioError {
            #expect(error.message.contains(reason), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func loadingAFileNamesIt() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-\(UUID().uuidString).json")
        try Data(#"{"orders": [], "timeline": [{"at": 1}]}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: ScenarioError.self) { try Scenario.load(contentsOf: url) }
        do {
            _ = try Scenario.load(contentsOf: url)
        } catch let error as ScenarioError {
            #expect(error.message.hasPrefix(url.path))
        }
    }

    @Test func inProcessAdminOperations() async throws {
        let simulator = OutpostsSimulator(scenario: .default, speed: 0)
        let added = Order(outpostId: "op-0123456789abcdef0", orderId: "oo-00000000000000abc", status: "PREPARING")
        try await simulator.putOrder(added)
        #expect(await simulator.currentOrders().map(\.orderId) == [Self.rack, Self.cancelled, "oo-00000000000000abc"])
        await #expect(throws: ScenarioError.self) { try await simulator.putOrder(Order(orderId: "bad", status: "X")) }
        #expect(await simulator.deleteOrder(Self.cancelled))
        #expect(await simulator.deleteOrder(Self.cancelled) == false)
        #expect(await simulator.order(Self.cancelled) == nil)
        // Steps naming a deleted order are skipped; the rest of the timeline still runs.
        await simulator.advanceToEnd()
        #expect(await simulator.order(Self.rack)?.status == "COMPLETED")
        #expect(await simulator.order(Self.cancelled) == nil)

        try await simulator.injectFault(FaultInjection(kind: .error500, ratio: 0.5))
        await #expect(throws: ScenarioError.self) { try await simulator.injectFault(FaultInjection(kind: .hang, count: 0)) }
        #expect(await simulator.activeFaults() == [FaultInjection(kind: .error500, ratio: 0.5)])
        await simulator.clearFaults()
        #expect(await simulator.activeFaults().isEmpty)
    }
}
