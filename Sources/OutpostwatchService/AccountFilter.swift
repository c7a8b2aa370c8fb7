import WatchConfig
import WatchModel
import WatchStore

/// `--account NAME` of `status` and `history` (docs/cli.md).
///
/// A name the config configures or the store has orders of is a filter, even when it matches
/// nothing now (an account without orders yet, or one removed from the config whose history
/// stays); any other name is a typo, a usage error (64) naming the accounts there are.
package struct AccountFilter: Sendable {
    package let name: String
    /// The account of every order the store knows, watched or not: events recorded before
    /// accounts existed carry none, and belong to their order's.
    private let accountOfOrder: [String: String]

    package init(name: String, settings: Settings, orders: [WatchedOrder]) throws {
        let known = Set(settings.accounts.map(\.name)).union(orders.map(\.account))
        guard known.contains(name) else {
            throw CommandFailure(.usage, "--account: no account named \(name) in the config or the store (known: \(known.sorted().joined(separator: ", ")))")
        }
        self.name = name
        accountOfOrder = Dictionary(orders.map { ($0.orderId, $0.account) }, uniquingKeysWith: { first, _ in first })
    }

    /// `nil` without `--account`; else the filter, or the usage error.
    package static func load(_ name: String?, settings: Settings, store: StateStore) async throws -> AccountFilter? {
        guard let name else { return nil }
        return try AccountFilter(name: name, settings: settings, orders: try await store.watchedOrders())
    }

    /// Whether an event is about an order of this account: the account the event names, else its
    /// order's in the store.
    package func matches(_ event: Event) -> Bool {
        (event.order.account ?? accountOfOrder[event.order.id] ?? WatchedOrder.defaultAccount) == name
    }
}
