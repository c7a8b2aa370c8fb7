import Foundation
import OutpostsAPI

/// The orders of the simulated account, in the order they were added (which ListOrders keeps).
struct SimulatedWorld: Sendable {
    private(set) var orderIds: [String] = []
    private var ordersById: [String: Order] = [:]

    // Computed: a stored static Regex would be shared mutable-looking state to the compiler.
    static var orderIdPattern: Regex<Substring> { /oo-[a-f0-9]{17}/ }

    var orders: [Order] { orderIds.compactMap { ordersById[$0] } }

    func order(_ id: String) -> Order? { ordersById[id] }

    mutating func put(_ order: Order) {
        guard let id = order.orderId else { return }
        if ordersById[id] == nil { orderIds.append(id) }
        ordersById[id] = order
    }

    @discardableResult
    mutating func delete(_ id: String) -> Bool {
        guard ordersById.removeValue(forKey: id) != nil else { return false }
        orderIds.removeAll { $0 == id }
        return true
    }

    /// What makes an order unservable: GetOrder could never reach it or its line items are ambiguous.
    static func problems(of order: Order) -> [String] {
        var problems: [String] = []
        if let id = order.orderId {
            if (try? orderIdPattern.wholeMatch(in: id)) == nil {
                problems.append("OrderId \(id) does not match oo-[a-f0-9]{17}")
            }
        } else {
            problems.append("OrderId is missing")
        }
        if order.status == nil { problems.append("Status is missing") }
        var seen = Set<String>()
        for (index, item) in (order.lineItems ?? []).enumerated() {
            guard let itemId = item.lineItemId else {
                problems.append("LineItems[\(index)]: LineItemId is missing")
                continue
            }
            if !seen.insert(itemId).inserted { problems.append("LineItems[\(index)]: duplicate LineItemId \(itemId)") }
        }
        return problems
    }

    /// Applies a step's order changes (not its fault, which the simulator schedules).
    /// `date` is the wall time of the step, used for `fulfilled`.
    mutating func apply(_ step: Scenario.Step, date: Date) throws(ScenarioError) {
        if let replacement = step.putOrder {
            let problems = Self.problems(of: replacement)
            if !problems.isEmpty { throw ScenarioError("putOrder: " + problems.joined(separator: "; ")) }
            put(replacement)
        }
        guard let orderId = step.order else { return }
        let changesOrder = step.status != nil || step.shipment != nil || step.assets != nil || step.fulfilled != nil
            || step.addLineItem != nil || step.removeLineItem != nil
        if changesOrder {
            guard var order = ordersById[orderId] else { throw ScenarioError("order \(orderId) does not exist at this point") }
            if let lineItemId = step.lineItem {
                guard let index = order.lineItems?.firstIndex(where: { $0.lineItemId == lineItemId }) else {
                    throw ScenarioError("order \(orderId) has no line item \(lineItemId) at this point")
                }
                if let status = step.status { order.lineItems![index].status = status }
                if let shipment = step.shipment { order.lineItems![index].shipmentInformation = shipment }
                if let assets = step.assets { order.lineItems![index].assetInformationList = assets }
            } else if let status = step.status {
                order.status = status
            }
            if let fulfilled = step.fulfilled { order.orderFulfilledDate = fulfilled ? date : nil }
            if let added = step.addLineItem {
                guard let addedId = added.lineItemId else { throw ScenarioError("addLineItem needs a LineItemId") }
                if order.lineItems?.contains(where: { $0.lineItemId == addedId }) == true {
                    throw ScenarioError("order \(orderId) already has line item \(addedId)")
                }
                order.lineItems = (order.lineItems ?? []) + [added]
            }
            if let removed = step.removeLineItem {
                guard let index = order.lineItems?.firstIndex(where: { $0.lineItemId == removed }) else {
                    throw ScenarioError("order \(orderId) has no line item \(removed) to remove")
                }
                order.lineItems!.remove(at: index)
            }
            ordersById[orderId] = order
        }
        if step.deleteOrder == true {
            guard delete(orderId) else { throw ScenarioError("order \(orderId) does not exist to delete") }
        }
    }
}

extension OrderSummary {
    /// The ListOrders view of an order, with line items counted by status as AWS does.
    init(summarizing order: Order) {
        var counts: [String: Int] = [:]
        for item in order.lineItems ?? [] {
            if let status = item.status { counts[status, default: 0] += 1 }
        }
        self.init(outpostId: order.outpostId, orderId: order.orderId, orderType: order.orderType, status: order.status,
                  lineItemCountsByStatus: counts, orderSubmissionDate: order.orderSubmissionDate,
                  orderFulfilledDate: order.orderFulfilledDate)
    }
}
