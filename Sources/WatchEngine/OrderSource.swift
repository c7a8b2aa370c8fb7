import OutpostsAPI

/// Where the poller gets orders from: the real ``OutpostsClient``, or anything answering like it.
///
/// A protocol so that scheduling, rate and shutdown behaviour can be exercised against scripted
/// in-process sources; errors are expected to be ``OutpostsError`` (see ``PollResult/from(_:)``).
public protocol OrderSource: Sendable {
    /// GetOrder.
    func getOrder(_ orderId: String) async throws -> Order
    /// Every page of ListOrders.
    func listAllOrders(outpostIdentifierFilter: String?) async throws -> [OrderSummary]
}

extension OutpostsClient: OrderSource {}
