import Foundation

/// Carrier tracking-page URL templates (docs/configuration.md, `[tracking]`): built-in ones for
/// UPS, FedEx and DHL, which the config may override and extend.
///
/// A template holds `{number}`, replaced by the percent-encoded tracking number. Carriers are
/// matched without regard to case (AWS sends `UPS`, `FEDEX`, `DHL`, `DBS`, `EXPEDITORS`).
public struct TrackingTemplates: Sendable, Equatable {
    /// Upper-cased carrier → template.
    public private(set) var byCarrier: [String: String]

    /// The templates used when the config has no `[tracking]` table.
    public static let builtIn = TrackingTemplates(byCarrier: [
        "UPS": "https://www.ups.com/track?loc=en_US&tracknum={number}",
        "FEDEX": "https://www.fedex.com/fedextrack/?trknbr={number}",
        "DHL": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={number}",
    ])

    /// The placeholder every template must contain.
    public static let placeholder = "{number}"

    /// The built-in templates with `overrides` (carrier → template) laid over them.
    public init(overrides: [String: String] = [:]) {
        self = Self.builtIn
        for (carrier, template) in overrides { byCarrier[carrier.uppercased()] = template }
    }

    private init(byCarrier: [String: String]) {
        self.byCarrier = byCarrier
    }

    /// Why `template` cannot be used, or `nil` when it can: it must be an absolute http(s) URL
    /// with a host and hold `{number}` at least once.
    public static func problem(with template: String) -> String? {
        guard template.contains(placeholder) else { return "has no \(placeholder) placeholder" }
        let probe = template.replacingOccurrences(of: placeholder, with: "0")
        guard let url = URL(string: probe), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty else {
            return "is not an http(s) URL"
        }
        return nil
    }

    /// The tracking page of `number` at `carrier`, or `nil` when either is missing or no
    /// template exists for the carrier.
    public func url(carrier: String?, number: String?) -> String? {
        guard let carrier, let number, !number.isEmpty,
              let template = byCarrier[carrier.uppercased()] else { return nil }
        return template.replacingOccurrences(of: Self.placeholder, with: Self.percentEncoded(number))
    }

    /// The tracking page of a shipment (see ``url(carrier:number:)``).
    public func url(for shipment: Shipment?) -> String? {
        url(carrier: shipment?.carrier, number: shipment?.trackingNumber)
    }

    /// `shipment` with its ``Shipment/trackingURL`` set from these templates (`nil` stays `nil`).
    public func linking(_ shipment: Shipment?) -> Shipment? {
        guard var shipment else { return nil }
        shipment.trackingURL = url(for: shipment)
        return shipment
    }

    /// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) as `%XX` of its
    /// UTF-8 bytes, so a number can hold `/`, `&`, `#`, spaces or non-ASCII without breaking the URL.
    public static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF")
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out.append("%")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }
}

extension Event {
    /// The event with a ``Shipment/trackingURL`` on every shipment it carries (the line item's,
    /// and `change.from` / `change.to` of a shipment change): done once, when the event is
    /// created, so the committed body and every sink show the same link (docs/events.md).
    public func linkingShipments(_ templates: TrackingTemplates) -> Event {
        var event = self
        if let shipment = event.lineItem?.shipment { event.lineItem?.shipment = templates.linking(shipment) }
        if case .shipment(let from) = event.change.from { event.change.from = .shipment(templates.linking(from)!) }
        if case .shipment(let to) = event.change.to { event.change.to = .shipment(templates.linking(to)!) }
        return event
    }

    /// The shipment the event is about: the new one of a shipment change, else its line item's.
    public var shipment: Shipment? {
        if case .shipment(let to) = change.to { return to }
        return lineItem?.shipment
    }
}
