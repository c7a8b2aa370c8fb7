import OutpostsAPI
import WatchEngine

/// An account's ``OrderSource`` whose errors name the account (docs/configuration.md,
/// "Accounts and regions"): with several accounts, "account prod: no credentials …" says which
/// account's credentials or permissions to fix. Not-found and throttling answers pass unchanged;
/// the poller reads those by kind.
struct AccountNamedSource: OrderSource {
    let base: any OrderSource
    let account: String

    func getOrder(_ orderId: String) async throws -> Order {
        try await named { try await base.getOrder(orderId) }
    }

    func listAllOrders(outpostIdentifierFilter: String?) async throws -> [OrderSummary] {
        try await named { try await base.listAllOrders(outpostIdentifierFilter: outpostIdentifierFilter) }
    }

    private func named<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch var error as OutpostsError where error.kind != .notFound && error.kind != .throttling {
            error.message = "account \(account): \(error.message)"
            throw error
        }
    }
}
