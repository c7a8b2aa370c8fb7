import Foundation

/// Every kind of transition outpostwatch reports (docs/events.md).
///
/// The raw value is the wire name used in webhook bodies, `history --json`, the
/// `EVENT_TYPE` journald field and the `events = [...]` filter of a webhook.
public enum EventType: String, Codable, Sendable, CaseIterable, Hashable {
    case orderFirstSeen = "order.first_seen"
    case orderStatusChanged = "order.status_changed"
    case orderFulfilled = "order.fulfilled"
    case lineItemAdded = "line_item.added"
    case lineItemRemoved = "line_item.removed"
    case lineItemStatusChanged = "line_item.status_changed"
    case lineItemShipmentChanged = "line_item.shipment_changed"
    case lineItemAssetsChanged = "line_item.assets_changed"
    case orderNotFound = "order.not_found"
    case watchFailing = "watch.failing"
    case watchRecovered = "watch.recovered"
    case orderStalled = "order.stalled"
    case lineItemStalled = "line_item.stalled"

    /// The types a webhook receives when its config names no `events` (all but the baseline).
    public static let webhookDefault: Set<EventType> = Set(allCases).subtracting([.orderFirstSeen])
}

/// Which part of the order an event is about (`change.field`).
public enum ChangeField: String, Codable, Sendable, Hashable {
    case status
    case shipment
    case assets
    case fulfilledDate = "fulfilled_date"
    case lineItem = "line_item"
    case watch
    case stalled
}

/// An old or new value in `change.from` / `change.to`.
///
/// Encodes as JSON `null`, a string, a `{"carrier","tracking_number"}` object, a list of
/// `{"asset_id","mac_addresses"}` objects or a `{"status","since","threshold"}` stall, as
/// docs/events.md defines.
public enum ChangeValue: Sendable, Equatable, Hashable, Codable {
    case null
    case string(String)
    case shipment(Shipment)
    case assets([Asset])
    case stall(Stall)

    /// `.string(s)` or `.null` when `s` is nil.
    public static func from(_ s: String?) -> ChangeValue { s.map { .string($0) } ?? .null }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([Asset].self) { self = .assets(a); return }
        // Before the shipment: a shipment's keys are all optional, so any object would read as one.
        if let stall = try? c.decode(Stall.self) { self = .stall(stall); return }
        self = .shipment(try c.decode(Shipment.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .string(let s): try c.encode(s)
        case .shipment(let s): try c.encode(s)
        case .assets(let a): try c.encode(a)
        case .stall(let stall): try c.encode(stall)
        }
    }

    /// A short human form for journald messages and terminal output.
    public var display: String {
        switch self {
        case .null: return "none"
        case .string(let s): return s
        case .shipment(let s):
            return [s.carrier, s.trackingNumber].compactMap { $0 }.joined(separator: " ")
        case .assets(let assets):
            return assets.map { "\($0.assetId ?? "?")[\($0.macAddresses.joined(separator: ","))]" }
                .joined(separator: " ")
        case .stall(let stall):
            return "\(stall.status) since \(ISO8601.format(stall.since)) (threshold \(stall.threshold))"
        }
    }
}

/// What changed: `{"field", "from", "to"}`.
public struct Change: Codable, Sendable, Equatable, Hashable {
    public var field: ChangeField
    public var from: ChangeValue
    public var to: ChangeValue

    public init(field: ChangeField, from: ChangeValue, to: ChangeValue) {
        self.field = field
        self.from = from
        self.to = to
    }

    enum CodingKeys: String, CodingKey { case field, from, to }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(field, forKey: .field)
        try c.encode(from, forKey: .from)   // explicit null
        try c.encode(to, forKey: .to)
    }
}

/// The order an event is about, as carried in every event body.
public struct OrderRef: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var outpostId: String?
    public var label: String?
    /// The order status after this event (the last known one for watch and not_found events).
    public var status: String?
    /// The name of the configured account that watches the order (docs/events.md); `nil` only in
    /// events recorded before accounts existed.
    public var account: String?
    /// That account's region.
    public var region: String?
    /// `QuoteIdentifier` and `QuoteOptionIdentifier` of the order, when AWS sends them.
    public var quoteId: String?
    public var quoteOptionId: String?

    public init(id: String, outpostId: String? = nil, label: String? = nil, status: String? = nil,
                account: String? = nil, region: String? = nil, quoteId: String? = nil, quoteOptionId: String? = nil) {
        self.id = id
        self.outpostId = outpostId
        self.label = label
        self.status = status
        self.account = account
        self.region = region
        self.quoteId = quoteId
        self.quoteOptionId = quoteOptionId
    }

    enum CodingKeys: String, CodingKey {
        case id
        case outpostId = "outpost_id"
        case label
        case status
        case account
        case region
        case quoteId = "quote_id"
        case quoteOptionId = "quote_option_id"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(outpostId, forKey: .outpostId)
        try c.encode(label, forKey: .label)
        try c.encode(status, forKey: .status)
        try c.encode(account, forKey: .account)
        try c.encode(region, forKey: .region)
        try c.encodeIfPresent(quoteId, forKey: .quoteId)
        try c.encodeIfPresent(quoteOptionId, forKey: .quoteOptionId)
    }
}

/// What the watch set knows of an order besides its polled state, carried in the `order` of
/// every event: its label, and the account and region that watch it.
public struct OrderContext: Sendable, Equatable, Hashable {
    public var label: String?
    public var account: String?
    public var region: String?

    public init(label: String? = nil, account: String? = nil, region: String? = nil) {
        self.label = label
        self.account = account
        self.region = region
    }

    /// The `order` of an event about `snapshot`.
    public func ref(_ snapshot: OrderSnapshot) -> OrderRef {
        OrderRef(id: snapshot.orderId, outpostId: snapshot.outpostId, label: label, status: snapshot.status,
                 account: account, region: region, quoteId: snapshot.quoteId, quoteOptionId: snapshot.quoteOptionId)
    }

    /// The `order` of an event about an order known only by id and perhaps a last snapshot
    /// (watch and not-found events).
    public func ref(orderId: String, lastKnown snapshot: OrderSnapshot?) -> OrderRef {
        snapshot.map(ref) ?? OrderRef(id: orderId, label: label, account: account, region: region)
    }
}

/// The line item a line-item event is about, as carried in the event body.
public struct LineItemRef: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var catalogItemId: String?
    public var quantity: Int?
    public var status: String?
    public var shipment: Shipment?
    public var assets: [Asset]?

    public init(id: String, catalogItemId: String? = nil, quantity: Int? = nil, status: String? = nil,
                shipment: Shipment? = nil, assets: [Asset]? = nil) {
        self.id = id
        self.catalogItemId = catalogItemId
        self.quantity = quantity
        self.status = status
        self.shipment = shipment
        self.assets = assets
    }

    /// The reference an event carries for this line item.
    public init(_ item: LineItemSnapshot) {
        self.init(id: item.lineItemId, catalogItemId: item.catalogItemId, quantity: item.quantity,
                  status: item.status, shipment: item.shipment, assets: item.assets.isEmpty ? nil : item.assets)
    }

    enum CodingKeys: String, CodingKey {
        case id
        case catalogItemId = "catalog_item_id"
        case quantity
        case status
        case shipment
        case assets
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(catalogItemId, forKey: .catalogItemId)
        try c.encode(quantity, forKey: .quantity)
        try c.encode(status, forKey: .status)
        try c.encode(shipment, forKey: .shipment)
        try c.encodeIfPresent(assets, forKey: .assets)
    }
}

/// One transition, as stored in the history and sent to every sink.
///
/// The JSON form (``EventJSON``) is the webhook body of docs/delivery.md and the element of
/// `history --json`. `id` is assigned once, when the event is created, and never changes,
/// so receivers de-duplicate redeliveries by it; `sequence` is assigned by the store when
/// the event is committed (1 for `order.first_seen`, then +1 per event of the same order).
public struct Event: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var type: EventType
    public var sequence: Int64
    public var occurredAt: Date
    public var order: OrderRef
    public var lineItem: LineItemRef?
    public var change: Change
    /// For `watch.failing`: the last error, already free of secrets.
    public var error: String?

    public init(id: String = Event.newID(), type: EventType, sequence: Int64 = 0, occurredAt: Date,
                order: OrderRef, lineItem: LineItemRef? = nil, change: Change, error: String? = nil) {
        self.id = id
        self.type = type
        self.sequence = sequence
        self.occurredAt = occurredAt
        self.order = order
        self.lineItem = lineItem
        self.change = change
        self.error = error
    }

    /// A fresh, unique event id: `evt_` and 32 random hex digits.
    public static func newID() -> String {
        "evt_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    enum CodingKeys: String, CodingKey {
        case id, type, sequence
        case occurredAt = "occurred_at"
        case order
        case lineItem = "line_item"
        case change
        case error
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(type, forKey: .type)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(occurredAt, forKey: .occurredAt)
        try c.encode(order, forKey: .order)
        try c.encodeIfPresent(lineItem, forKey: .lineItem)   // absent for order-level events
        try c.encode(change, forKey: .change)
        try c.encodeIfPresent(error, forKey: .error)
    }
}

/// The one JSON form of events: webhook bodies, `history --json`, the store's event column.
public enum EventJSON {
    /// An encoder writing ISO-8601 dates (`2026-11-28T12:00:00Z`) and sorted keys.
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(ISO8601.format(date))
        }
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// A decoder reading what ``encoder()`` writes.
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            guard let date = ISO8601.parse(s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO-8601 date: \(s)")
            }
            return date
        }
        return d
    }

    /// The webhook body / history element of one event.
    public static func encode(_ event: Event) throws -> Data { try encoder().encode(event) }

    /// Reads an event back from its JSON form.
    public static func decode(_ data: Data) throws -> Event { try decoder().decode(Event.self, from: data) }
}

/// ISO-8601 formatting used everywhere an instant leaves the process.
public enum ISO8601 {
    /// `2026-11-28T12:00:00Z`, or `2026-11-28T12:00:00.123Z` when the instant has milliseconds.
    public static func format(_ date: Date) -> String {
        // Truncated (not rounded) to milliseconds: an instant is never shown later than it
        // happened. With a microsecond of tolerance: k/1000 s is not exact in binary, and an
        // instant read back from `….099Z` must not be written as `….098Z`.
        let totalMillis = (date.timeIntervalSince1970 * 1000 + 0.001).rounded(.down)
        let seconds = (totalMillis / 1000).rounded(.down)
        let millis = Int(totalMillis - seconds * 1000)
        let text = whole.format(Date(timeIntervalSince1970: seconds))
        guard millis > 0, text.hasSuffix("Z") else { return text }
        return text.dropLast() + "." + String(1000 + millis).dropFirst() + "Z"
    }

    /// Parses `2026-11-28T12:00:00Z`, with or without fractional seconds (kept to the microsecond).
    public static func parse(_ s: String) -> Date? {
        guard let date = (try? whole.parse(s)) ?? (try? fractional.parse(s)) else { return nil }
        return Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1_000_000).rounded() / 1_000_000)
    }

    private static let utc = TimeZone.gmt
    private static let whole = Date.ISO8601FormatStyle(timeZone: utc)
    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: utc)
}
