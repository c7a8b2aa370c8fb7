import Foundation
import WatchModel

/// The transitions between two states of one order (docs/events.md), as a pure function.
///
/// Pure so that the whole event vocabulary can be tested exhaustively without a network or a
/// store, and so that a change made while the daemon was stopped is reported exactly as if it had
/// been seen live: the diff only ever sees the stored state and the new one.
public enum OrderDiff {
    /// The events that take `old` to `new`, in the order docs/events.md lists them: the order's
    /// status, its fulfilment, then line item by line item (sorted by id) added or removed, status,
    /// shipment, assets.
    ///
    /// `old == nil` (never seen before) yields exactly one `order.first_seen`: the baseline, not a
    /// list of everything that "appeared". Events have `sequence` 0; the store assigns it.
    /// `context` (label, account, region) is carried in every event's `order`.
    public static func events(old: OrderSnapshot?, new: OrderSnapshot, context: OrderContext, at: Date) -> [Event] {
        let order = context.ref(new)
        func event(_ type: EventType, _ change: Change, _ item: LineItemSnapshot? = nil) -> Event {
            Event(type: type, occurredAt: at, order: order, lineItem: item.map(LineItemRef.init), change: change)
        }

        guard let old else {
            return [event(.orderFirstSeen, Change(field: .status, from: .null, to: .from(new.status)))]
        }

        var events: [Event] = []
        if old.status != new.status {
            events.append(event(.orderStatusChanged, Change(field: .status, from: .from(old.status), to: .from(new.status))))
        }
        // A fulfilled date that disappears is not a fulfilment; the snapshot keeps the truth.
        if let fulfilled = new.fulfilledDate, !sameInstant(old.fulfilledDate, fulfilled) {
            events.append(event(.orderFulfilled, Change(field: .fulfilledDate,
                                                       from: .from(old.fulfilledDate.map(ISO8601.format)),
                                                       to: .string(ISO8601.format(fulfilled)))))
        }

        let oldItems = Dictionary(old.lineItems.map { ($0.lineItemId, $0) }, uniquingKeysWith: { first, _ in first })
        let newItems = Dictionary(new.lineItems.map { ($0.lineItemId, $0) }, uniquingKeysWith: { first, _ in first })
        for id in Set(oldItems.keys).union(newItems.keys).sorted() {
            switch (oldItems[id], newItems[id]) {
            case (nil, let added?):
                events.append(event(.lineItemAdded, Change(field: .lineItem, from: .null, to: .string(id)), added))
            case (let removed?, nil):
                events.append(event(.lineItemRemoved, Change(field: .lineItem, from: .string(id), to: .null), removed))
            case (let before?, let after?):
                if before.status != after.status {
                    events.append(event(.lineItemStatusChanged,
                                        Change(field: .status, from: .from(before.status), to: .from(after.status)), after))
                }
                if before.shipment != after.shipment {
                    events.append(event(.lineItemShipmentChanged,
                                        Change(field: .shipment, from: value(before.shipment), to: value(after.shipment)),
                                        after))
                }
                if canonicalAssets(before.assets) != canonicalAssets(after.assets) {
                    events.append(event(.lineItemAssetsChanged,
                                        Change(field: .assets, from: value(before.assets), to: value(after.assets)),
                                        after))
                }
            case (nil, nil):
                break
            }
        }
        return events
    }

    /// Assets as a comparable whole: MAC lists as sets, assets in a total order (ids can be missing).
    public static func canonicalAssets(_ assets: [Asset]) -> [Asset] {
        assets
            .map { Asset(assetId: $0.assetId, macAddresses: OrderMapping.normalizedMACs($0.macAddresses)) }
            .sorted { a, b in
                if (a.assetId ?? "") != (b.assetId ?? "") { return (a.assetId ?? "") < (b.assetId ?? "") }
                if (a.assetId == nil) != (b.assetId == nil) { return a.assetId == nil }
                return a.macAddresses.lexicographicallyPrecedes(b.macAddresses)
            }
    }

    /// Equal at the millisecond: the precision dates keep through the store and the wire.
    static func sameInstant(_ a: Date?, _ b: Date) -> Bool {
        guard let a else { return false }
        return abs(a.timeIntervalSince1970 - b.timeIntervalSince1970) < 0.0005
    }

    private static func value(_ shipment: Shipment?) -> ChangeValue {
        shipment.map(ChangeValue.shipment) ?? .null
    }

    private static func value(_ assets: [Asset]) -> ChangeValue {
        assets.isEmpty ? .null : .assets(assets)
    }
}
