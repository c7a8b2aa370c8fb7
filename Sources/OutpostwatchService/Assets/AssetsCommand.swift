import Foundation
import WatchConfig
import WatchModel
import WatchStore

extension Commands {
    // MARK: assets

    /// Every asset and MAC address of the watched orders (or of `orderIds`) from the stored
    /// state, in `format` (docs/cli.md). An order id the store does not know is an error (exit 1);
    /// MACs left out of the reservations are said on stderr.
    public static func assets(configPath: String, orderIds: [String], format: AssetFormat) async throws {
        let settings = try loadSettings(path: configPath)
        let store = try openReadOnly(settings)
        let watched = try await store.watchedOrders()
        let chosen: [WatchedOrder]
        if orderIds.isEmpty {
            chosen = watched.filter(\.active)
        } else {
            let byId = Dictionary(watched.map { ($0.orderId, $0) }, uniquingKeysWith: { first, _ in first })
            let unknown = orderIds.filter { byId[$0] == nil }
            guard unknown.isEmpty else {
                throw CommandFailure(.failure, unknown.map { "unknown order \($0): not in the state database \(settings.storage.location)" })
            }
            var seen: Set<String> = []
            chosen = orderIds.filter { seen.insert($0).inserted }.compactMap { byId[$0] }
        }
        let inventory = AssetInventory(snapshots: chosen.compactMap(\.snapshot))
        for warning in inventory.warnings { Output.error("warning: \(warning)") }
        FileHandle.standardOutput.write(Data(try format.render(inventory).utf8))
    }
}
