import Foundation
import PropertyBased
import WatchEngine
import WatchModel

/// Random order snapshots for the property tests, drawn from small pools so that two snapshots
/// share line items, statuses and MAC addresses often enough for the diff to be exercised.
enum Snapshots {
    static let orderStatuses: [String?] = ["RECEIVED", "PENDING", "PROCESSING", "INSTALLING", "FULFILLED", "CANCELLED",
                                           "PREPARING", "IN_PROGRESS", "DELIVERED", "COMPLETED", "ERROR",
                                           "SOME_FUTURE_STATUS", nil]
    static let itemStatuses: [String?] = ["PREPARING", "BUILDING", "SHIPPED", "DELIVERED", "INSTALLING", "INSTALLED",
                                          "ERROR", "CANCELLED", "REPLACED", nil]
    static let carriers: [String?] = ["UPS", "FEDEX", "DHL", "DBS", "EXPEDITORS", nil]
    static let trackingNumbers: [String?] = ["1Z999AA10123456784", "7946 1234 5678", "JD014600003828", nil]
    static let lineItemIds = (1...6).map { "li-\($0)" }
    static let assetIds: [String?] = ["as-1", "as-2", "as-3", "as-4", nil]
    static let macs = ["0a:00:00:00:00:01", "0a:00:00:00:00:02", "0a:00:00:00:00:03", "0a:00:00:00:00:04"]
    static let orderId = "oo-0123456789abcdef0"

    static func pick<T>(_ values: [T], _ rng: inout some RandomNumberGenerator) -> T {
        values[Int.random(in: 0..<values.count, using: &rng)]
    }

    static func chance(_ p: Double, _ rng: inout some RandomNumberGenerator) -> Bool {
        Double.random(in: 0..<1, using: &rng) < p
    }

    static func shipment(_ rng: inout some RandomNumberGenerator) -> Shipment? {
        guard chance(0.6, &rng) else { return nil }
        let carrier = pick(carriers, &rng)
        let tracking = pick(trackingNumbers, &rng)
        if carrier == nil && tracking == nil { return Shipment(carrier: "UPS", trackingNumber: nil) }
        return Shipment(carrier: carrier, trackingNumber: tracking)
    }

    /// Assets as ``OrderMapping`` stores them: MAC lists sorted and unique.
    static func assets(_ rng: inout some RandomNumberGenerator) -> [Asset] {
        let count = Int.random(in: 0...3, using: &rng)
        var ids = assetIds.shuffled(using: &rng).prefix(count)
        if ids.filter({ $0 == nil }).count > 1 { ids = ids.filter { $0 != nil }[...] }
        return ids.map { id in
            Asset(assetId: id, macAddresses: OrderMapping.normalizedMACs(
                macs.filter { _ in chance(0.4, &rng) }))
        }
    }

    static func lineItem(_ id: String, _ rng: inout some RandomNumberGenerator) -> LineItemSnapshot {
        LineItemSnapshot(lineItemId: id, catalogItemId: pick(["OR-ABC", "OR-XYZ", nil], &rng),
                         quantity: Int.random(in: 1...3, using: &rng), status: pick(itemStatuses, &rng),
                         shipment: shipment(&rng), assets: assets(&rng))
    }

    static func date(_ rng: inout some RandomNumberGenerator) -> Date {
        Date(timeIntervalSince1970: Double(Int.random(in: 1_700_000_000...1_800_000_000, using: &rng)))
    }

    static func snapshot(_ rng: inout some RandomNumberGenerator) -> OrderSnapshot {
        let ids = lineItemIds.filter { _ in chance(0.5, &rng) }
        return OrderSnapshot(
            orderId: orderId, outpostId: "op-0123456789abcdef0", status: pick(orderStatuses, &rng),
            submissionDate: date(&rng), fulfilledDate: chance(0.3, &rng) ? date(&rng) : nil,
            paymentOption: "ALL_UPFRONT", paymentTerm: "THREE_YEARS", orderType: "OUTPOST",
            lineItems: ids.map { lineItem($0, &rng) })
    }

    /// A later state of `old`: every field may or may not move, as AWS might move it between polls.
    static func successor(of old: OrderSnapshot, _ rng: inout some RandomNumberGenerator) -> OrderSnapshot {
        var new = old
        if chance(0.3, &rng) { new.status = pick(orderStatuses, &rng) }
        if chance(0.2, &rng) { new.fulfilledDate = chance(0.8, &rng) ? date(&rng) : nil }
        var items: [LineItemSnapshot] = []
        for id in lineItemIds {
            if var item = old.lineItem(id) {
                if chance(0.15, &rng) { continue }   // removed
                if chance(0.3, &rng) { item.status = pick(itemStatuses, &rng) }
                if chance(0.3, &rng) { item.shipment = shipment(&rng) }
                if chance(0.3, &rng) { item.assets = assets(&rng) }
                items.append(item)
            } else if chance(0.2, &rng) {
                items.append(lineItem(id, &rng))
            }
        }
        new.lineItems = items
        return OrderSnapshot(orderId: new.orderId, outpostId: new.outpostId, status: new.status,
                             submissionDate: new.submissionDate, fulfilledDate: new.fulfilledDate,
                             paymentOption: new.paymentOption, paymentTerm: new.paymentTerm,
                             orderType: new.orderType, lineItems: new.lineItems)
    }

    static let one = Generator<OrderSnapshot, Shrink.None<OrderSnapshot>>(run: { rng in snapshot(&rng) })

    static let pair = Generator<(OrderSnapshot, OrderSnapshot), Shrink.None<(OrderSnapshot, OrderSnapshot)>>(
        run: { rng in
            let old = snapshot(&rng)
            return (old, successor(of: old, &rng))
        })
}

/// Replays events on a snapshot: what a receiver that only sees the events can reconstruct.
///
/// The inverse of the diff for every field docs/events.md reports; `first_seen` carries no
/// snapshot, so it cannot be replayed and is rejected.
enum Replay {
    struct Unreplayable: Error { var event: Event }

    static func apply(_ events: [Event], to old: OrderSnapshot) throws -> OrderSnapshot {
        var state = old
        for event in events {
            switch event.type {
            case .orderStatusChanged:
                state.status = string(event.change.to)
            case .orderFulfilled:
                state.fulfilledDate = string(event.change.to).flatMap(ISO8601.parse)
            case .lineItemAdded:
                guard let ref = event.lineItem else { throw Unreplayable(event: event) }
                state.lineItems.append(LineItemSnapshot(
                    lineItemId: ref.id, catalogItemId: ref.catalogItemId, quantity: ref.quantity, status: ref.status,
                    shipment: ref.shipment, assets: ref.assets ?? []))
            case .lineItemRemoved:
                guard let id = string(event.change.from) else { throw Unreplayable(event: event) }
                state.lineItems.removeAll { $0.lineItemId == id }
            case .lineItemStatusChanged, .lineItemShipmentChanged, .lineItemAssetsChanged:
                guard let id = event.lineItem?.id,
                      let index = state.lineItems.firstIndex(where: { $0.lineItemId == id }) else {
                    throw Unreplayable(event: event)
                }
                switch event.type {
                case .lineItemStatusChanged: state.lineItems[index].status = string(event.change.to)
                case .lineItemShipmentChanged:
                    if case .shipment(let s) = event.change.to { state.lineItems[index].shipment = s }
                    else { state.lineItems[index].shipment = nil }
                default:
                    if case .assets(let a) = event.change.to { state.lineItems[index].assets = a }
                    else { state.lineItems[index].assets = [] }
                }
            case .orderFirstSeen, .orderNotFound, .watchFailing, .watchRecovered, .orderStalled, .lineItemStalled:
                throw Unreplayable(event: event)
            }
        }
        state.lineItems.sort { $0.lineItemId < $1.lineItemId }
        return state
    }

    static func string(_ value: ChangeValue) -> String? {
        if case .string(let s) = value { return s }
        return nil
    }

    /// The fields events describe, for comparing a replayed snapshot with the real one.
    struct Described: Equatable {
        var status: String?
        var fulfilledDate: Date?
        var items: [Item]

        struct Item: Equatable {
            var id: String
            var status: String?
            var shipment: Shipment?
            var assets: [Asset]
        }

        init(_ s: OrderSnapshot) {
            status = s.status
            fulfilledDate = s.fulfilledDate
            items = s.lineItems.map {
                Item(id: $0.lineItemId, status: $0.status, shipment: $0.shipment,
                     assets: OrderDiff.canonicalAssets($0.assets))
            }
        }
    }
}
