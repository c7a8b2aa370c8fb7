import Foundation
import Testing
import WatchModel

/// The JSON form of events (docs/events.md "JSON form" and "`change` values"): what every webhook
/// receives, what `history --json` prints and what the store keeps.
@Suite("Event JSON")
struct EventJSONTests {
    /// `2026-11-28T12:00:00Z`, the instant the docs use.
    static let noon = Date(timeIntervalSince1970: 1_795_867_200)

    static let order = OrderRef(id: "oo-0123456789abcdef0", outpostId: "op-0123456789abcdef0",
                                label: "Seattle rack 2", status: "IN_PROGRESS")
    static let shipment = Shipment(carrier: "UPS", trackingNumber: "1Z999AA10123456784")
    static let assets = [Asset(assetId: "7e2f9c81ab", macAddresses: ["0a:1b:2c:3d:4e:5f", "0a:1b:2c:3d:4e:60"])]
    static let item = LineItemRef(id: "ooi-0a1b2c3d4e5f60701", catalogItemId: "OR-8CVV0EV", quantity: 1,
                                  status: "SHIPPED", shipment: shipment, assets: assets)

    /// One event of `type` shaped as the docs' event table says (`change.field`, `from` → `to`).
    static func sample(_ type: EventType) -> Event {
        let at = noon.addingTimeInterval(0.25)
        func event(_ field: ChangeField, _ from: ChangeValue, _ to: ChangeValue, lineItem: LineItemRef? = nil,
                   status: String? = "IN_PROGRESS", error: String? = nil) -> Event {
            var order = Self.order
            order.status = status
            return Event(type: type, sequence: 7, occurredAt: at, order: order, lineItem: lineItem,
                         change: Change(field: field, from: from, to: to), error: error)
        }
        switch type {
        case .orderFirstSeen: return event(.status, .null, .string("PREPARING"), status: "PREPARING")
        case .orderStatusChanged: return event(.status, .string("PREPARING"), .string("IN_PROGRESS"))
        case .orderFulfilled: return event(.fulfilledDate, .null, .string("2026-11-28T12:00:00Z"), status: "FULFILLED")
        case .lineItemAdded: return event(.lineItem, .null, .string(item.id), lineItem: item)
        case .lineItemRemoved: return event(.lineItem, .string(item.id), .null, lineItem: item)
        case .lineItemStatusChanged: return event(.status, .string("BUILDING"), .string("SHIPPED"), lineItem: item)
        case .lineItemShipmentChanged: return event(.shipment, .null, .shipment(shipment), lineItem: item)
        case .lineItemAssetsChanged: return event(.assets, .null, .assets(assets), lineItem: item)
        case .orderNotFound: return event(.status, .string("IN_PROGRESS"), .null)
        case .watchFailing:
            return event(.watch, .string("ok"), .string("failing"), error: "GetOrder: connection refused")
        case .watchRecovered: return event(.watch, .string("failing"), .string("ok"))
        case .orderStalled:
            return event(.stalled, .null, .stall(Stall(status: "IN_PROGRESS", since: noon, threshold: "45d")))
        case .lineItemStalled:
            return event(.stalled, .null, .stall(Stall(status: "SHIPPED", since: noon.addingTimeInterval(0.5),
                                                       threshold: "10d")), lineItem: item)
        }
    }

    static func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("every event type survives encode → decode unchanged", arguments: EventType.allCases)
    func roundTrip(type: EventType) throws {
        let event = Self.sample(type)
        let data = try EventJSON.encode(event)
        let decoded = try EventJSON.decode(data)
        #expect(decoded == event)
        // And the second encoding is byte for byte the first: the form is canonical.
        #expect(try EventJSON.encode(decoded) == data)
    }

    @Test("top-level keys: line_item only for line_item.*, error only for watch.failing", arguments: EventType.allCases)
    func topLevelKeys(type: EventType) throws {
        let json = try Self.object(EventJSON.encode(Self.sample(type)))
        var expected: Set<String> = ["id", "type", "sequence", "occurred_at", "order", "change"]
        if type.rawValue.hasPrefix("line_item.") { expected.insert("line_item") }
        if type == .watchFailing { expected.insert("error") }
        #expect(Set(json.keys) == expected)
        #expect(json["type"] as? String == type.rawValue)
        #expect(json["sequence"] as? Int == 7)
        #expect(json["occurred_at"] as? String == "2026-11-28T12:00:00.250Z")
        let change = try #require(json["change"] as? [String: Any])
        #expect(Set(change.keys) == ["field", "from", "to"], "from and to are always present, null or not")
    }

    @Test("the wire names of the event types are the documented ones")
    func typeNames() {
        #expect(EventType.allCases.map(\.rawValue) == [
            "order.first_seen", "order.status_changed", "order.fulfilled", "line_item.added", "line_item.removed",
            "line_item.status_changed", "line_item.shipment_changed", "line_item.assets_changed",
            "order.not_found", "watch.failing", "watch.recovered", "order.stalled", "line_item.stalled",
        ])
        #expect(EventType(rawValue: "order.shipped") == nil)
    }

    @Test("webhooks get every type but the baseline by default")
    func webhookDefault() {
        #expect(EventType.webhookDefault.count == EventType.allCases.count - 1)
        #expect(!EventType.webhookDefault.contains(.orderFirstSeen))
        #expect(EventType.webhookDefault.contains(.watchFailing))
    }

    @Test("the docs' example body decodes, and encodes back to the same bytes (sorted keys, one line)")
    func documentedExample() throws {
        let compact = #"{"change":{"field":"status","from":"BUILDING","to":"SHIPPED"},"id":"evt_2f1c0d7e9a4b4c1e8f3a5b6c7d8e9f01","#
            + #""line_item":{"catalog_item_id":"OR-8CVV0EV","id":"ooi-0a1b2c3d4e5f60701","quantity":1,"#
            + #""shipment":{"carrier":"UPS","tracking_number":"1Z999AA10123456784"},"status":"SHIPPED"},"#
            + #""occurred_at":"2026-11-28T12:00:00.250Z","order":{"account":"prod","id":"oo-0123456789abcdef0","#
            + #""label":"Seattle rack 2","outpost_id":"op-0123456789abcdef0","quote_id":"q-0123456789abcdef0","#
            + #""region":"us-west-2","status":"IN_PROGRESS"},"sequence":7,"type":"line_item.status_changed"}"#
        let event = try EventJSON.decode(Data(compact.utf8))
        #expect(event.id == "evt_2f1c0d7e9a4b4c1e8f3a5b6c7d8e9f01")
        #expect(event.type == .lineItemStatusChanged)
        #expect(event.sequence == 7)
        #expect(event.occurredAt == Self.noon.addingTimeInterval(0.25))
        var order = Self.order
        (order.account, order.region, order.quoteId) = ("prod", "us-west-2", "q-0123456789abcdef0")
        #expect(event.order == order)
        #expect(event.lineItem == LineItemRef(id: "ooi-0a1b2c3d4e5f60701", catalogItemId: "OR-8CVV0EV", quantity: 1,
                                              status: "SHIPPED", shipment: Self.shipment))
        #expect(event.change == Change(field: .status, from: .string("BUILDING"), to: .string("SHIPPED")))
        #expect(event.error == nil)
        #expect(String(decoding: try EventJSON.encode(event), as: UTF8.self) == compact)
    }

    /// The same bug seen from the event: an event read back from the store (its JSON) and sent or
    /// printed again carries an `occurred_at` one millisecond earlier than the stored one.
    @Test("an event read back from its JSON encodes to the same JSON, whatever its milliseconds")
    func storedEventReencodes() throws {
        var original = String(decoding: try EventJSON.encode(Self.sample(.orderStatusChanged)), as: UTF8.self)
        original = original.replacingOccurrences(of: "12:00:00.250Z", with: "12:00:00.099Z")
        let again = String(decoding: try EventJSON.encode(EventJSON.decode(Data(original.utf8))), as: UTF8.self)
        #expect(again == original)
    }

    @Test("unknown order and line item fields are written as null, never left out")
    func explicitNulls() throws {
        let event = Event(type: .lineItemAdded, sequence: 2, occurredAt: Self.noon, order: OrderRef(id: "oo-0123456789abcdef0"),
                          lineItem: LineItemRef(id: "ooi-1"), change: Change(field: .lineItem, from: .null, to: .string("ooi-1")))
        let text = String(decoding: try EventJSON.encode(event), as: UTF8.self)
        #expect(text.contains(#""order":{"account":null,"id":"oo-0123456789abcdef0","label":null,"outpost_id":null,"region":null,"status":null}"#),
                "quote_id and quote_option_id are absent (not null) when AWS sends none")
        #expect(text.contains(#""line_item":{"catalog_item_id":null,"id":"ooi-1","quantity":null,"shipment":null,"status":null}"#),
                "assets is absent (not null) when the line item has none")
        #expect(text.contains(#""change":{"field":"line_item","from":null,"to":"ooi-1"}"#))
        #expect(text.contains(#""occurred_at":"2026-11-28T12:00:00Z""#), "a whole-second instant has no fraction")
        #expect(try EventJSON.decode(Data(text.utf8)) == event)
    }

    @Test("shipment: both keys always present, either may be null")
    func shipmentKeys() throws {
        let partial = Change(field: .shipment, from: .shipment(Shipment(carrier: "UPS", trackingNumber: nil)), to: .null)
        let text = String(decoding: try EventJSON.encoder().encode(partial), as: UTF8.self)
        #expect(text == #"{"field":"shipment","from":{"carrier":"UPS","tracking_number":null},"to":null}"#)
        #expect(try EventJSON.decoder().decode(Change.self, from: Data(text.utf8)) == partial)
    }

    @Test("assets: a list of {asset_id, mac_addresses}")
    func assetKeys() throws {
        let change = Change(field: .assets, from: .null, to: .assets(Self.assets))
        let text = String(decoding: try EventJSON.encoder().encode(change), as: UTF8.self)
        #expect(text == #"{"field":"assets","from":null,"to":[{"asset_id":"7e2f9c81ab","mac_addresses":["0a:1b:2c:3d:4e:5f","0a:1b:2c:3d:4e:60"]}]}"#)
        #expect(try EventJSON.decoder().decode(Change.self, from: Data(text.utf8)) == change)
    }

    @Test("change values decode from each documented JSON shape", arguments: [
        (#"null"#, ChangeValue.null),
        (#""BUILDING""#, .string("BUILDING")),
        (#""2026-11-28T12:00:00Z""#, .string("2026-11-28T12:00:00Z")),
        (#"{"carrier":"UPS","tracking_number":"1Z9"}"#, .shipment(Shipment(carrier: "UPS", trackingNumber: "1Z9"))),
        (#"{"carrier":null,"tracking_number":null}"#, .shipment(Shipment(carrier: nil, trackingNumber: nil))),
        (#"[]"#, .assets([])),
        (#"[{"asset_id":null,"mac_addresses":[]}]"#, .assets([Asset(assetId: nil, macAddresses: [])])),
    ])
    func changeValueShapes(json: String, expected: ChangeValue) throws {
        let change = try EventJSON.decoder().decode(
            Change.self, from: Data(#"{"field":"status","from":\#(json),"to":\#(json)}"#.utf8))
        #expect(change.from == expected)
        #expect(change.to == expected)
    }

    @Test("a change value of another JSON type is rejected")
    func changeValueRejectsNumbers() {
        #expect(throws: DecodingError.self) {
            try EventJSON.decoder().decode(Change.self, from: Data(#"{"field":"status","from":42,"to":null}"#.utf8))
        }
    }

    @Test("an unknown type, field or a malformed instant is a decoding error, not a silent default")
    func rejectsMalformed() throws {
        let good = String(decoding: try EventJSON.encode(Self.sample(.orderStatusChanged)), as: UTF8.self)
        #expect(throws: DecodingError.self) {
            try EventJSON.decode(Data(good.replacingOccurrences(of: "order.status_changed", with: "order.moved").utf8))
        }
        #expect(throws: DecodingError.self) {
            try EventJSON.decode(Data(good.replacingOccurrences(of: #""field":"status""#, with: #""field":"colour""#).utf8))
        }
        #expect(throws: DecodingError.self) {
            try EventJSON.decode(Data(good.replacingOccurrences(of: "2026-11-28T12:00:00.250Z", with: "yesterday").utf8))
        }
        #expect(throws: DecodingError.self) {
            try EventJSON.decode(Data(good.replacingOccurrences(of: #""sequence":7,"#, with: "").utf8))
        }
    }

    @Test("change.field wire names", arguments: [
        (ChangeField.status, "status"), (.shipment, "shipment"), (.assets, "assets"),
        (.fulfilledDate, "fulfilled_date"), (.lineItem, "line_item"), (.watch, "watch"),
    ])
    func changeFieldNames(field: ChangeField, name: String) throws {
        let text = String(decoding: try EventJSON.encoder().encode(Change(field: field, from: .null, to: .null)), as: UTF8.self)
        #expect(text == #"{"field":"\#(name)","from":null,"to":null}"#)
    }

    @Test("event ids: evt_ and 32 lowercase hex digits, fresh every time")
    func eventIDs() {
        let ids = (0..<200).map { _ in Event.newID() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.hasPrefix("evt_"))
            let hex = id.dropFirst(4)
            #expect(hex.count == 32)
            #expect(hex.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }, "\(id)")
        }
        // Two events made alike without an id are still two events (receivers de-duplicate by id).
        func make() -> Event {
            Event(type: .watchRecovered, occurredAt: Self.noon, order: Self.order,
                  change: Change(field: .watch, from: .string("failing"), to: .string("ok")))
        }
        #expect(make().id != make().id)
    }

    @Test("line item reference from a snapshot: assets only when there are any")
    func lineItemRefFromSnapshot() throws {
        let bare = LineItemSnapshot(lineItemId: "ooi-1", catalogItemId: "CAT", quantity: 2, status: "BUILDING")
        let ref = LineItemRef(bare)
        #expect(ref == LineItemRef(id: "ooi-1", catalogItemId: "CAT", quantity: 2, status: "BUILDING"))
        #expect(ref.assets == nil)
        let json = try Self.object(EventJSON.encoder().encode(ref))
        #expect(json["assets"] == nil)

        let equipped = LineItemSnapshot(lineItemId: "ooi-2", status: "SHIPPED", shipment: Self.shipment,
                                        assets: [Asset(assetId: "b", macAddresses: []), Asset(assetId: "a", macAddresses: ["m"])])
        let full = LineItemRef(equipped)
        #expect(full.shipment == Self.shipment)
        #expect(full.assets?.map(\.assetId) == ["a", "b"])
        #expect(try Self.object(EventJSON.encoder().encode(full))["assets"] is [Any])
    }
}

/// The one-line value form (`none` for null) the journal and terminal sentences use.
@Suite("Change value display")
struct ChangeValueDisplayTests {
    @Test func display() {
        #expect(ChangeValue.null.display == "none")
        #expect(ChangeValue.from(nil) == .null)
        #expect(ChangeValue.from("SHIPPED") == .string("SHIPPED"))
        #expect(ChangeValue.string("SHIPPED").display == "SHIPPED")
        #expect(ChangeValue.shipment(Shipment(carrier: "UPS", trackingNumber: "1Z999AA10123456784")).display
                == "UPS 1Z999AA10123456784")
        #expect(ChangeValue.shipment(Shipment(carrier: nil, trackingNumber: "1Z9")).display == "1Z9")
        #expect(ChangeValue.assets([Asset(assetId: "a1", macAddresses: ["m1", "m2"]),
                                    Asset(assetId: nil, macAddresses: [])]).display == "a1[m1,m2] ?[]")
    }
}

/// The instant format of every timestamp that leaves the process.
@Suite("ISO-8601 instants")
struct ISO8601Tests {
    static let noon = Date(timeIntervalSince1970: 1_795_867_200)

    @Test func wholeSecondsHaveNoFraction() {
        #expect(ISO8601.format(Self.noon) == "2026-11-28T12:00:00Z")
        #expect(ISO8601.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
    }

    @Test func millisecondsWhenThereAreAny() {
        #expect(ISO8601.format(Self.noon.addingTimeInterval(0.25)) == "2026-11-28T12:00:00.250Z")
        #expect(ISO8601.format(Self.noon.addingTimeInterval(59.5)) == "2026-11-28T12:00:59.500Z")
    }

    @Test("sub-millisecond parts are truncated, never rounded up into a later instant")
    func truncates() {
        #expect(ISO8601.format(Self.noon.addingTimeInterval(0.2509)) == "2026-11-28T12:00:00.250Z")
        #expect(ISO8601.format(Self.noon.addingTimeInterval(0.9999)) == "2026-11-28T12:00:00.999Z")
        #expect(ISO8601.format(Self.noon.addingTimeInterval(0.0004)) == "2026-11-28T12:00:00Z")
    }

    @Test func parsesBothForms() {
        #expect(ISO8601.parse("2026-11-28T12:00:00Z") == Self.noon)
        #expect(ISO8601.parse("2026-11-28T12:00:00.250Z") == Self.noon.addingTimeInterval(0.25))
        #expect(ISO8601.parse("2026-11-28") == nil)
        #expect(ISO8601.parse("28/11/2026 12:00") == nil)
        #expect(ISO8601.parse("") == nil)
    }

    /// `parse` used to return the binary Double just below most written milliseconds and `format`
    /// truncated it to the previous one (`…00.099Z` came back as `…00.098Z`, 599 of 1000 values).
    @Test("every millisecond written survives parse → format unchanged")
    func textRoundTrip() throws {
        var changed: [String] = []
        for millis in 0..<1000 {
            let text = millis == 0 ? "2026-11-28T12:00:00Z" : String(format: "2026-11-28T12:00:00.%03dZ", millis)
            let parsed = try #require(ISO8601.parse(text))
            if ISO8601.format(parsed) != text { changed.append("\(text) → \(ISO8601.format(parsed))") }
        }
        #expect(changed.isEmpty, "\(changed.count) of 1000 instants changed, e.g. \(changed.prefix(3))")
        // Truncation still holds: 0.9999 s is shown as .999, never rounded up to the next second.
        #expect(ISO8601.format(Self.noon.addingTimeInterval(0.9999)) == "2026-11-28T12:00:00.999Z")
    }
}
