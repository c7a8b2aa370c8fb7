import Foundation
import WatchModel

/// One MAC address of one asset, as `outpostwatch assets` lists it (docs/cli.md); an asset AWS
/// has assigned no MAC yet is one row without a MAC (shown by `table` and `json` only).
public struct AssetRow: Sendable, Equatable, Encodable {
    public var orderId: String
    public var outpostId: String?
    public var lineItemId: String
    public var assetId: String?
    /// Lower-case and colon-separated; as AWS sent it (lower-cased) when it is not a 48-bit MAC.
    public var macAddress: String?
    public var lineItemStatus: String?
    /// The DHCP host name of this MAC's reservation; `nil` without a usable MAC.
    public var hostName: String?

    public init(orderId: String, outpostId: String?, lineItemId: String, assetId: String?, macAddress: String?,
                lineItemStatus: String?, hostName: String? = nil) {
        self.orderId = orderId
        self.outpostId = outpostId
        self.lineItemId = lineItemId
        self.assetId = assetId
        self.macAddress = macAddress
        self.lineItemStatus = lineItemStatus
        self.hostName = hostName
    }

    enum CodingKeys: String, CodingKey {
        case orderId = "order_id", outpostId = "outpost_id", lineItemId = "line_item_id", assetId = "asset_id"
        case macAddress = "mac_address", lineItemStatus = "line_item_status", hostName = "host_name"
    }

    // Explicit nulls: every row has every key.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(orderId, forKey: .orderId)
        try c.encode(outpostId, forKey: .outpostId)
        try c.encode(lineItemId, forKey: .lineItemId)
        try c.encode(assetId, forKey: .assetId)
        try c.encode(macAddress, forKey: .macAddress)
        try c.encode(lineItemStatus, forKey: .lineItemStatus)
        try c.encode(hostName, forKey: .hostName)
    }
}

/// Every asset and MAC address of some orders' stored snapshots, ready for DHCP and IPAM
/// (docs/cli.md, `assets`): a pure function of the snapshots.
///
/// - MACs are normalised to `aa:bb:cc:dd:ee:ff` (AWS may send upper case, `-`, `.` or no
///   separators); a value that is not 12 hex digits is kept (lower-cased) but gets no reservation.
/// - Each MAC gets one reservation: a MAC listed twice (under two assets or orders) keeps the first.
/// - Host names come from the asset id (see ``hostLabel(for:)``); an asset with several MACs gets
///   `-1`, `-2`, … per MAC, and a name already taken gets the next free `-N`, so all are unique.
public struct AssetInventory: Sendable, Equatable {
    public var rows: [AssetRow]
    /// What was left out of the reservations, one sentence each (printed on stderr).
    public var warnings: [String]

    /// The inventory of `snapshots`, in the order given (orders), line item id, asset id, MAC.
    public init(snapshots: [OrderSnapshot]) {
        var rows: [AssetRow] = []
        var warnings: [String] = []
        var reservedMACs: [String: String] = [:]   // MAC → asset that holds it
        var takenNames: Set<String> = []
        for order in snapshots {
            for item in order.lineItems {
                for asset in item.assets {
                    func row(_ mac: String?, _ host: String?) -> AssetRow {
                        AssetRow(orderId: order.orderId, outpostId: order.outpostId, lineItemId: item.lineItemId,
                                 assetId: asset.assetId, macAddress: mac, lineItemStatus: item.status, hostName: host)
                    }
                    let macs = Array(Set(asset.macAddresses.map { Self.normalizedMAC($0) ?? $0.lowercased() })).sorted()
                    if macs.isEmpty { rows.append(row(nil, nil)) }
                    let base = Self.hostLabel(for: asset.assetId)
                    for (index, mac) in macs.enumerated() {
                        let who = "asset \(asset.assetId ?? "(no id)") of order \(order.orderId)"
                        guard Self.normalizedMAC(mac) != nil else {
                            warnings.append("\(who): \(mac) is not a MAC address; no reservation")
                            rows.append(row(mac, nil))
                            continue
                        }
                        if let holder = reservedMACs[mac] {
                            warnings.append("\(who): \(mac) is already reserved for \(holder); no second reservation")
                            rows.append(row(mac, nil))
                            continue
                        }
                        reservedMACs[mac] = who
                        let wanted = macs.count > 1 ? Self.suffixed(base, index + 1) : base
                        let name = Self.unique(wanted, taken: &takenNames)
                        rows.append(row(mac, name))
                    }
                }
            }
        }
        self.rows = rows
        self.warnings = warnings
    }

    /// The rows that carry a reservation (a valid, first-seen MAC and its host name).
    public var reservations: [(mac: String, hostName: String, row: AssetRow)] {
        rows.compactMap { row in
            guard let mac = row.macAddress, let name = row.hostName else { return nil }
            return (mac, name, row)
        }
    }

    /// `aa:bb:cc:dd:ee:ff` for a 48-bit MAC written with `:`, `-`, `.` or no separators, in any
    /// case; `nil` for anything else.
    public static func normalizedMAC(_ text: String) -> String? {
        let hex = text.trimmingCharacters(in: .whitespaces).lowercased().filter { !":-.".contains($0) }
        guard hex.count == 12, hex.allSatisfy({ $0.isHexDigit && $0.isASCII }) else { return nil }
        var out = ""
        for (i, c) in hex.enumerated() {
            if i > 0 && i % 2 == 0 { out.append(":") }
            out.append(c)
        }
        return out
    }

    /// Host names are single DNS labels (RFC 1123): at most 63 of `a-z 0-9 -`, not starting or
    /// ending with `-`. From the asset id: lower-cased, every other character (AWS allows `_`)
    /// becomes `-`, runs of `-` collapse; an id that starts with a digit (dnsmasq would read an
    /// all-digit field as a lease time) or is empty gets the prefix `asset-`.
    public static func hostLabel(for assetId: String?) -> String {
        var label = ""
        for c in (assetId ?? "").lowercased() {
            let keep = c.isASCII && (c.isLetter || c.isNumber)
            if keep { label.append(c) } else if !label.isEmpty && label.last != "-" { label.append("-") }
        }
        while label.last == "-" { label.removeLast() }
        if label.isEmpty || label.first!.isNumber { label = "asset-" + label }
        while label.last == "-" { label.removeLast() }
        return fitted(label, suffix: "")
    }

    /// `label-N`, shortened so the whole stays a valid label.
    static func suffixed(_ label: String, _ n: Int) -> String {
        fitted(label, suffix: "-\(n)")
    }

    /// `wanted`, or `wanted-2`, `wanted-3`, … when taken; the result is then taken.
    static func unique(_ wanted: String, taken: inout Set<String>) -> String {
        var name = wanted
        var n = 2
        while taken.contains(name) {
            name = suffixed(wanted, n)
            n += 1
        }
        taken.insert(name)
        return name
    }

    private static func fitted(_ label: String, suffix: String) -> String {
        var head = String(label.prefix(63 - suffix.count))
        while head.last == "-" { head.removeLast() }
        return head + suffix
    }
}
