import Foundation
import WatchModel
import WatchStore

/// What `/metrics` adds to the daemon's counters (docs/metrics.md): the state of every watched
/// order read from the store at scrape time, `build_info` and the `process_*` metrics. Read at
/// each scrape, so an order a reload stopped watching has no series any more.
///
/// Written as text rather than through swift-prometheus 2.4.1: these series are a projection of
/// the store, and that library has no scrape-time collector, so every (order, status) series
/// would be a registered gauge whose handle must be unregistered when the status changes or the
/// order leaves. Measured on this machine (release, 3 line items per order): with every status
/// changing, reconciling the handles and emitting took 0.30 s per scrape for 1000 orders and
/// 7.5 s for 5000 (unregistering is linear), against 12 ms and 52 ms for the text; steady state
/// was 7 ms against 8 ms. The `process_*` metrics would stay hand-written either way (the
/// library has none).
package enum StateMetricsCollector {
    package static func render(store: StateStore) async throws -> String {
        let orders = try await store.watchedOrders().filter(\.active)
        let starts = try await store.statusStarts()
        let stalled = try await store.stalledOrders()
        let samples = orders.map { OrderStateSample($0, start: starts[$0.orderId], stalled: stalled.contains($0.orderId)) }
        var out = Exposition()
        OrderStateMetrics.render(samples, failing: orders.filter(\.failing).count, version: OutpostwatchVersion.string,
                                 into: &out)
        ProcessMetrics.current()?.render(into: &out)
        return out.text
    }
}
