import Foundation
import Testing
import WatchModel
import WatchStore

/// The watch set per account (docs/configuration.md, "Accounts and regions"): syncing one
/// account never stops another's orders; a removed account's orders stop, their history stays.
@Suite struct AccountWatchSetTests {
    static let (x, y, z) = ("oo-00000000000000001", "oo-00000000000000002", "oo-00000000000000003")

    @Test(arguments: StoreBackend.allCases) func syncingOneAccountLeavesTheOthersAlone(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            try await store.syncWatchSet([(Self.x, "rack")], source: .config, account: "prod", region: "us-west-2")
            try await store.syncWatchSet([(Self.y, nil)], source: .config, account: "dev", region: "eu-west-1")
            // prod's list shrinks to nothing: dev's order stays watched.
            try await store.syncWatchSet([], source: .config, account: "prod", region: "us-west-2")
            let orders = try await store.watchedOrders()
            #expect(orders.map { [$0.orderId, $0.account, $0.region ?? "-", "\($0.active)"] }
                    == [[Self.x, "prod", "us-west-2", "false"], [Self.y, "dev", "eu-west-1", "true"]])
            #expect(try await store.activeSchedule(account: "dev").map(\.orderId) == [Self.y])
            #expect(try await store.activeSchedule(account: "prod").isEmpty)
            #expect(try await store.watchedOrders(account: "prod").map(\.orderId) == [Self.x])
        }
    }

    @Test(arguments: StoreBackend.allCases) func anOrderMovesToTheAccountThatNowListsIt(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            try await store.syncWatchSet([(Self.x, nil)], source: .config, account: "prod", region: "us-west-2")
            try await store.syncWatchSet([(Self.x, nil)], source: .config, account: "dev", region: "eu-west-1")
            // prod syncing afterwards without it must not stop it: it is dev's now.
            try await store.syncWatchSet([], source: .config, account: "prod", region: "us-west-2")
            let order = try #require(try await store.watchedOrder(Self.x))
            #expect(order.account == "dev" && order.region == "eu-west-1" && order.active)
            #expect(order.context == OrderContext(label: nil, account: "dev", region: "eu-west-1"))
        }
    }

    @Test(arguments: StoreBackend.allCases) func removedAccountsStopAndDiscoveryBringsThemBack(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            try await store.syncWatchSet([(Self.x, nil)], source: .config, account: "prod")
            #expect(try await store.addDiscovered([Self.y, Self.z], account: "dev", region: "eu-west-1") == [Self.y, Self.z])
            #expect(try await store.deactivateAccounts(notIn: ["prod"]) == 2)
            #expect(try await store.activeSchedule().map(\.orderId) == [Self.x])
            // dev configured again: its sweep finds the orders again and they are watched again.
            #expect(try await store.addDiscovered([Self.y], account: "dev", region: "eu-west-1") == [Self.y])
            #expect(try await store.activeSchedule().map(\.orderId) == [Self.x, Self.y])
            // Another account's sweep does not take an order over.
            #expect(try await store.addDiscovered([Self.x], account: "dev").isEmpty)
            #expect(try await store.watchedOrder(Self.x)?.account == "prod")
        }
    }
}
