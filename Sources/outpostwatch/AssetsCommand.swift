import ArgumentParser
import OutpostwatchService

struct Assets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every asset and MAC address of the watched orders, from the stored state.",
        discussion: """
            One row (or DHCP reservation) per MAC address, lower-case and colon-separated; each
            reservation has a unique host name derived from the asset id. ethers, dnsmasq, kea and
            isc-dhcp print configuration for /etc/ethers, dnsmasq (dhcp-host lines), a Kea subnet4
            ("reservations") and isc-dhcp-server (host blocks).
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "Only these orders (oo-…); default: every watched order.") var orderIds: [String] = []
    @Option(name: .long, help: "table, json, csv, ethers, dnsmasq, kea or isc-dhcp.") var format = "table"

    func validate() throws {
        guard AssetFormat(rawValue: format) != nil else {
            throw ValidationError("--format: expected one of \(AssetFormat.allCases.map(\.rawValue).joined(separator: ", ")), got \(format)")
        }
    }

    func run() async throws {
        try await Outpostwatch.perform {
            try await Commands.assets(configPath: options.path, orderIds: orderIds, format: AssetFormat(rawValue: format)!)
        }
    }
}
