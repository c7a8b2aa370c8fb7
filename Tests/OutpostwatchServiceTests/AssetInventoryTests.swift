import Foundation
import OutpostwatchService
import Testing
import WatchModel

@Suite struct AssetInventoryTests {
    static let order = OrderSnapshot(orderId: "oo-0123456789abcdef0", outpostId: "op-0123456789abcdef0", status: "IN_PROGRESS",
                                     lineItems: [
        LineItemSnapshot(lineItemId: "ooi-2", status: "SHIPPED", assets: [
            Asset(assetId: "ASSET_B", macAddresses: ["0A-1B-2C-3D-4E-5F", "0a1b.2c3d.4e60"]),
            Asset(assetId: "12345", macAddresses: ["AABBCCDDEEFF"]),
        ]),
        LineItemSnapshot(lineItemId: "ooi-1", status: "BUILDING", assets: [
            Asset(assetId: "asset-b", macAddresses: ["aa:bb:cc:dd:ee:01", "AA:BB:CC:DD:EE:FF", "not-a-mac"]),
            Asset(assetId: nil, macAddresses: []),
        ]),
    ])

    @Test func macsAreNormalised() {
        #expect(AssetInventory.normalizedMAC("0A-1B-2C-3D-4E-5F") == "0a:1b:2c:3d:4e:5f")
        #expect(AssetInventory.normalizedMAC("0a1b.2c3d.4e5f") == "0a:1b:2c:3d:4e:5f")
        #expect(AssetInventory.normalizedMAC("0A1B2C3D4E5F") == "0a:1b:2c:3d:4e:5f")
        #expect(AssetInventory.normalizedMAC("0a:1b:2c:3d:4e") == nil)
        #expect(AssetInventory.normalizedMAC("0g:1b:2c:3d:4e:5f") == nil)
    }

    @Test func hostLabelsAreValidDNSLabels() {
        #expect(AssetInventory.hostLabel(for: "ASSET_B") == "asset-b")
        #expect(AssetInventory.hostLabel(for: "12345") == "asset-12345")
        #expect(AssetInventory.hostLabel(for: "__x__") == "x")
        #expect(AssetInventory.hostLabel(for: nil) == "asset")
        #expect(AssetInventory.hostLabel(for: "_") == "asset")
        let long = AssetInventory.hostLabel(for: String(repeating: "a", count: 100))
        #expect(long.count == 63)
    }

    @Test func oneReservationPerMACWithUniqueNames() {
        let inventory = AssetInventory(snapshots: [Self.order])
        let reservations = inventory.reservations
        #expect(reservations.map(\.mac) == ["aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:ff", "0a:1b:2c:3d:4e:5f", "0a:1b:2c:3d:4e:60"])
        // asset-b (line item 1) has two valid MACs: -1, -2; ASSET_B maps to the same label, so its
        // names move on to the next free suffix. 12345's MAC is already reserved: no second one.
        #expect(reservations.map(\.hostName) == ["asset-b-1", "asset-b-2", "asset-b-1-2", "asset-b-2-2"])
        #expect(Set(reservations.map(\.hostName)).count == reservations.count)
        #expect(inventory.warnings.count == 2)
        #expect(inventory.rows.contains { $0.assetId == nil && $0.macAddress == nil })
    }

    @Test func csvHasTheHeaderAndOneRowPerMAC() throws {
        let csv = try AssetFormat.csv.render(AssetInventory(snapshots: [Self.order]))
        let lines = csv.split(separator: "\r\n").map(String.init)
        #expect(lines.first == "order_id,outpost_id,line_item_id,asset_id,mac_address,line_item_status")
        #expect(lines.count == 1 + 6)
        #expect(lines.contains("oo-0123456789abcdef0,op-0123456789abcdef0,ooi-2,ASSET_B,0a:1b:2c:3d:4e:5f,SHIPPED"))
    }

    @Test func dhcpFormatsHoldEveryReservation() throws {
        let inventory = AssetInventory(snapshots: [Self.order])
        let dnsmasq = try AssetFormat.dnsmasq.render(inventory)
        #expect(dnsmasq.contains("dhcp-host=aa:bb:cc:dd:ee:01,asset-b-1\n"))
        let kea = try AssetFormat.kea.render(inventory)
        let parsed = try JSONSerialization.jsonObject(with: Data(kea.utf8)) as? [String: [[String: String]]]
        #expect(parsed?["reservations"]?.count == 4)
        #expect(parsed?["reservations"]?.first == ["hw-address": "aa:bb:cc:dd:ee:01", "hostname": "asset-b-1"])
        let isc = try AssetFormat.iscDHCP.render(inventory)
        #expect(isc.contains("host asset-b-2-2 {\n  hardware ethernet 0a:1b:2c:3d:4e:60;"))
        let ethers = try AssetFormat.ethers.render(inventory)
        #expect(ethers.contains("\n0a:1b:2c:3d:4e:5f asset-b-1-2\n"))
    }
}
