import Foundation

/// The carrier's tracking page for a tracking number (docs/status-page.md): built-in templates
/// for UPS, FedEx and DHL, `{number}` replaced by the URL-encoded number.
public enum TrackingLink {
    public static let builtIn: [String: String] = [
        "UPS": "https://www.ups.com/track?tracknum={number}",
        "FEDEX": "https://www.fedex.com/fedextrack/?trknbr={number}",
        "DHL": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
    ]

    /// The URL, or `nil` for an unknown carrier or a missing number.
    public static func url(carrier: String?, number: String?, templates: [String: String] = builtIn) -> String? {
        guard let carrier, let number, !number.isEmpty,
              let template = templates[carrier.uppercased()] else { return nil }
        return template.replacingOccurrences(of: "{number}", with: encode(number))
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func encode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80 && (c.isLetter || c.isNumber || "-._~".contains(c)) {
                out.append(c)
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
