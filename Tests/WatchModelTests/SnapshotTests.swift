import Foundation
import Testing
import WatchModel

/// Order snapshots: what the diff compares and the store keeps between polls.
@Suite("Order snapshots")
struct SnapshotTests {
    @Test("terminal statuses: COMPLETED, CANCELLED and the deprecated FULFILLED", arguments: [
        ("COMPLETED", true), ("CANCELLED", true), ("FULFILLED", true),
        ("IN_PROGRESS", false), ("PREPARING", false), ("ERROR", false),
        // Deprecated and unknown statuses are kept verbatim and keep being polled at the normal interval.
        ("RECEIVED", false), ("PENDING", false), ("PROCESSING", false), ("INSTALLING", false),
        ("SOMETHING_NEW", false),
        // Verbatim means case-sensitive: AWS sends upper case.
        ("completed", false), ("Cancelled", false), (" COMPLETED", false), ("", false),
    ])
    func terminal(status: String, terminal: Bool) {
        #expect(OrderSnapshot.isTerminal(status: status) == terminal)
        #expect(OrderSnapshot(orderId: "oo-1", status: status).isTerminal == terminal)
    }

    @Test("an order without a status is not terminal")
    func noStatus() {
        #expect(!OrderSnapshot.isTerminal(status: nil))
        #expect(!OrderSnapshot(orderId: "oo-1").isTerminal)
    }

    @Test("line items are kept sorted by id, so two answers listing them differently are equal")
    func lineItemOrder() {
        let b = LineItemSnapshot(lineItemId: "ooi-b", status: "BUILDING")
        let a = LineItemSnapshot(lineItemId: "ooi-a", status: "SHIPPED")
        let c = LineItemSnapshot(lineItemId: "ooi-c")
        let one = OrderSnapshot(orderId: "oo-1", status: "IN_PROGRESS", lineItems: [b, c, a])
        let other = OrderSnapshot(orderId: "oo-1", status: "IN_PROGRESS", lineItems: [c, a, b])
        #expect(one.lineItems.map(\.lineItemId) == ["ooi-a", "ooi-b", "ooi-c"])
        #expect(one == other)
        #expect(one.lineItem("ooi-a")?.status == "SHIPPED")
        #expect(one.lineItem("ooi-c")?.status == nil)
        #expect(one.lineItem("ooi-d") == nil)
    }

    @Test("assets are kept sorted by asset id (an asset without id first)")
    func assetOrder() {
        let item = LineItemSnapshot(lineItemId: "ooi-1", assets: [
            Asset(assetId: "b", macAddresses: ["02"]), Asset(assetId: nil, macAddresses: []),
            Asset(assetId: "a", macAddresses: ["01"]),
        ])
        #expect(item.assets.map(\.assetId) == [nil, "a", "b"])
        let reordered = LineItemSnapshot(lineItemId: "ooi-1", assets: [
            Asset(assetId: "a", macAddresses: ["01"]), Asset(assetId: "b", macAddresses: ["02"]),
            Asset(assetId: nil, macAddresses: []),
        ])
        #expect(item == reordered)
    }

    @Test("a change in any compared field makes snapshots differ")
    func inequality() {
        let base = OrderSnapshot(orderId: "oo-1", status: "IN_PROGRESS",
                                 lineItems: [LineItemSnapshot(lineItemId: "ooi-1", status: "BUILDING",
                                                              assets: [Asset(assetId: "a", macAddresses: ["01"])])])
        var status = base
        status.status = "COMPLETED"
        var fulfilled = base
        fulfilled.fulfilledDate = Date(timeIntervalSince1970: 1_795_867_200)
        var mac = base
        mac.lineItems[0].assets[0].macAddresses = ["02"]
        var shipment = base
        shipment.lineItems[0].shipment = Shipment(carrier: "UPS", trackingNumber: nil)
        for changed in [status, fulfilled, mac, shipment] { #expect(changed != base) }
    }

    @Test("a snapshot survives the JSON round trip the store makes, dates bit for bit")
    func codableRoundTrip() throws {
        let snapshot = OrderSnapshot(
            orderId: "oo-0123456789abcdef0", outpostId: "op-0123456789abcdef0", status: "IN_PROGRESS",
            submissionDate: Date(timeIntervalSince1970: 1_765_432_101.123_456_7),
            fulfilledDate: nil, paymentOption: "ALL_UPFRONT", paymentTerm: "THREE_YEARS", orderType: "OUTPOST",
            lineItems: [
                LineItemSnapshot(lineItemId: "ooi-2", catalogItemId: "CAT", quantity: 2, status: "SHIPPED",
                                 shipment: Shipment(carrier: "UPS", trackingNumber: "1Z9"),
                                 assets: [Asset(assetId: "a-1", macAddresses: ["0a:00:00:00:00:01"])],
                                 previousLineItemId: "ooi-0", previousOrderId: "oo-0"),
                LineItemSnapshot(lineItemId: "ooi-1"),
            ])
        let data = try JSONEncoder().encode(snapshot)
        let decoded = try JSONDecoder().decode(OrderSnapshot.self, from: data)
        #expect(decoded == snapshot)
        #expect(decoded.submissionDate == snapshot.submissionDate)
        #expect(decoded.lineItems.map(\.lineItemId) == ["ooi-1", "ooi-2"])
    }
}

@Suite("Version")
struct VersionTests {
    /// The version is the product token of every `user-agent` (`outpostwatch/VERSION`) and what
    /// `--version` prints: semantic versioning, no spaces or slashes that would break the header.
    @Test func semanticVersion() throws {
        let version = OutpostwatchVersion.string
        let pattern = try Regex(#"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$"#)
        #expect(version.wholeMatch(of: pattern) != nil, "\(version)")
        #expect(!version.contains(" ") && !version.contains("/"))
    }
}
