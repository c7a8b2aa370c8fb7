import Foundation
import OutpostsAPI

/// What the simulated Outposts account holds and how it changes over time.
///
/// A scenario file is JSON with two members:
/// - `orders`: the orders at scenario time 0, in the wire form of GetOrder's `Order`
///   (`OrderId`, `OutpostId`, `Status`, `LineItems[]` with `CatalogItemId`, `LineItemId`,
///   `Quantity`, `Status`, …, `PaymentOption`, `PaymentTerm`, `OrderType`,
///   `OrderSubmissionDate`). Timestamps are epoch seconds or ISO-8601 strings; a missing
///   `OrderSubmissionDate` becomes 14 days before the simulator's start.
/// - `timeline`: steps, each at `at` seconds of scenario time, applied in time order
///   (file order for equal times). A step names its target with `order` (and `lineItem`) and
///   carries one or more changes:
///   `status` (of the line item when `lineItem` is given, else of the order),
///   `shipment` (`{"ShipmentCarrier": "UPS", "ShipmentTrackingNumber": "1Z…"}`, needs `lineItem`),
///   `assets` (`[{"AssetId": "…", "MacAddressList": ["…"]}]`, needs `lineItem`),
///   `fulfilled` (true sets `OrderFulfilledDate` to the step's wall time, false clears it),
///   `addLineItem` (a wire `LineItem`), `removeLineItem` (a line item id),
///   `deleteOrder: true` (GetOrder then answers NotFoundException),
///   `putOrder` (a whole wire `Order`, added or replacing), and
///   `fault` (a ``FaultInjection``, which needs no `order`). `note` is free text.
/// - `accounts` (optional): the AWS accounts the simulator plays, each an ``Account`` with the
///   access key id its callers sign with, its region and the order ids it owns. Without it, any
///   well-signed caller sees every order; with it, a caller sees only its account's orders.
///
/// ```json
/// {"orders": [{"OrderId": "oo-0123456789abcdef0", "OutpostId": "op-0123456789abcdef0",
///              "Status": "PREPARING", "OrderType": "OUTPOST",
///              "LineItems": [{"LineItemId": "ooi-0123456789abcdef1", "CatalogItemId": "OR-8CVV0EV",
///                             "Quantity": 1, "Status": "PREPARING"}]}],
///  "timeline": [{"at": 2, "order": "oo-0123456789abcdef0", "status": "IN_PROGRESS"},
///               {"at": 4, "order": "oo-0123456789abcdef0", "lineItem": "ooi-0123456789abcdef1",
///                "status": "SHIPPED", "shipment": {"ShipmentCarrier": "UPS", "ShipmentTrackingNumber": "1Z999AA10123456784"}},
///               {"at": 5, "fault": {"kind": "throttle", "count": 2}}]}
/// ```
///
/// A step takes effect at the wall time it falls due (`start + at / speed`), or at the moment of an
/// explicit advance; that is the `OrderFulfilledDate` a `fulfilled` step sets.
public struct Scenario: Codable, Sendable, Equatable {
    public var orders: [Order]
    public var timeline: [Step]
    /// `nil`: one account that every well-signed caller belongs to (docs/simulator.md, "Accounts").
    public var accounts: [Account]?

    public init(orders: [Order], timeline: [Step] = [], accounts: [Account]? = nil) {
        self.orders = orders
        self.timeline = timeline
        self.accounts = accounts
    }

    /// One change (or a few that AWS makes together) at a point of scenario time.
    public struct Step: Codable, Sendable, Equatable {
        /// Seconds of scenario time from the start.
        public var at: Double
        public var order: String?
        public var lineItem: String?
        public var status: String?
        public var shipment: ShipmentInformation?
        public var assets: [LineItemAssetInformation]?
        public var fulfilled: Bool?
        public var addLineItem: LineItem?
        public var removeLineItem: String?
        public var deleteOrder: Bool?
        public var putOrder: Order?
        public var fault: FaultInjection?
        /// Free text for the people reading the scenario.
        public var note: String?

        public init(at: Double, order: String? = nil, lineItem: String? = nil, status: String? = nil,
                    shipment: ShipmentInformation? = nil, assets: [LineItemAssetInformation]? = nil,
                    fulfilled: Bool? = nil, addLineItem: LineItem? = nil, removeLineItem: String? = nil,
                    deleteOrder: Bool? = nil, putOrder: Order? = nil, fault: FaultInjection? = nil,
                    note: String? = nil) {
            self.at = at
            self.order = order
            self.lineItem = lineItem
            self.status = status
            self.shipment = shipment
            self.assets = assets
            self.fulfilled = fulfilled
            self.addLineItem = addLineItem
            self.removeLineItem = removeLineItem
            self.deleteOrder = deleteOrder
            self.putOrder = putOrder
            self.fault = fault
            self.note = note
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case at, order, lineItem, status, shipment, assets, fulfilled, addLineItem, removeLineItem
            case deleteOrder, putOrder, fault, note
        }

        public init(from decoder: any Decoder) throws {
            // A misspelt key would otherwise be dropped silently and the step would do nothing.
            try AnyCodingKey.rejectUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue), kind: "step")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            at = try c.decode(Double.self, forKey: .at)
            order = try c.decodeIfPresent(String.self, forKey: .order)
            lineItem = try c.decodeIfPresent(String.self, forKey: .lineItem)
            status = try c.decodeIfPresent(String.self, forKey: .status)
            shipment = try c.decodeIfPresent(ShipmentInformation.self, forKey: .shipment)
            assets = try c.decodeIfPresent([LineItemAssetInformation].self, forKey: .assets)
            fulfilled = try c.decodeIfPresent(Bool.self, forKey: .fulfilled)
            addLineItem = try c.decodeIfPresent(LineItem.self, forKey: .addLineItem)
            removeLineItem = try c.decodeIfPresent(String.self, forKey: .removeLineItem)
            deleteOrder = try c.decodeIfPresent(Bool.self, forKey: .deleteOrder)
            putOrder = try c.decodeIfPresent(Order.self, forKey: .putOrder)
            fault = try c.decodeIfPresent(FaultInjection.self, forKey: .fault)
            note = try c.decodeIfPresent(String.self, forKey: .note)
        }

        /// Whether the step changes an order (as opposed to only injecting a fault).
        var changesOrders: Bool {
            status != nil || shipment != nil || assets != nil || fulfilled != nil || addLineItem != nil
                || removeLineItem != nil || deleteOrder == true || putOrder != nil
        }

        /// Shape problems that need no knowledge of the orders.
        func shapeProblems() -> [String] {
            var problems: [String] = []
            if !at.isFinite || at < 0 { problems.append("'at' must be a non-negative number of seconds") }
            if !changesOrders && fault == nil { problems.append("the step changes nothing") }
            if lineItem != nil && order == nil { problems.append("'lineItem' needs 'order'") }
            if (shipment != nil || assets != nil) && lineItem == nil { problems.append("'shipment' and 'assets' need 'lineItem'") }
            let needsOrder = status != nil || fulfilled != nil || addLineItem != nil || removeLineItem != nil || deleteOrder == true
            if needsOrder && order == nil { problems.append("the step needs 'order'") }
            if let putOrder, let order, putOrder.orderId != order {
                problems.append("'putOrder' has OrderId \(putOrder.orderId ?? "null") but the step names order \(order)")
            }
            if let fault { problems += fault.problems() }
            return problems
        }
    }

    /// Decodes and validates a scenario file.
    public static func load(contentsOf url: URL) throws -> Scenario {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ScenarioError("cannot read scenario \(url.path): \(error.localizedDescription)")
        }
        do {
            return try decode(data)
        } catch let error as ScenarioError {
            throw ScenarioError("\(url.path): \(error.message)")
        }
    }

    /// Decodes and validates scenario JSON; errors name the JSON path of the problem.
    public static func decode(_ data: Data) throws -> Scenario {
        let scenario: Scenario
        do {
            scenario = try WireFormat.decoder().decode(Scenario.self, from: data)
        } catch let error as DecodingError {
            throw ScenarioError(WireFormat.describe(error))
        } catch {
            throw ScenarioError("not valid scenario JSON: \(error)")
        }
        try scenario.validate()
        return scenario
    }

    /// The scenario as JSON (timestamps as epoch seconds), readable by ``decode(_:)``.
    public func jsonData() throws -> Data {
        try WireFormat.prettyEncoder().encode(self)
    }

    /// The timeline in the order it is applied: by time, file order for equal times.
    var sortedTimeline: [Step] {
        timeline.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }

    /// Checks every order and step; throws one error listing every problem.
    public func validate() throws {
        var problems: [String] = []
        var world = SimulatedWorld()
        for (index, order) in orders.enumerated() {
            for problem in SimulatedWorld.problems(of: order) { problems.append("orders[\(index)]: \(problem)") }
            if let id = order.orderId {
                if world.order(id) != nil { problems.append("orders[\(index)]: duplicate OrderId \(id)") }
                world.put(order)
            }
        }
        // Replaying the timeline on a scratch world catches steps naming orders or line items
        // that do not exist at that point (e.g. after a deleteOrder).
        let indexed = timeline.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
        for (index, step) in indexed {
            let shape = step.shapeProblems()
            if !shape.isEmpty {
                problems += shape.map { "timeline[\(index)] (at \(step.at)): \($0)" }
                continue
            }
            do {
                try world.apply(step, date: Date(timeIntervalSince1970: 0))
            } catch {
                problems.append("timeline[\(index)] (at \(step.at)): \(error.message)")
            }
        }
        problems += accountProblems()
        if !problems.isEmpty { throw ScenarioError(problems.joined(separator: "\n")) }
    }
}

/// A scenario that cannot be used, with every problem found (one per line).
public struct ScenarioError: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A coding key for any string, to see which keys a JSON object really has.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }

    /// Refuses an object with a key outside `known`: a misspelt key would otherwise be dropped
    /// silently. `kind` names the object in the message ("unknown step key 'x'; known keys: …").
    static func rejectUnknownKeys(in decoder: any Decoder, known: [String], kind: String) throws {
        let raw = try decoder.container(keyedBy: AnyCodingKey.self)
        let known = Set(known)
        if let unknown = raw.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: raw,
                debugDescription: "unknown \(kind) key '\(unknown.stringValue)'; known keys: \(known.sorted().joined(separator: ", "))")
        }
    }
}
