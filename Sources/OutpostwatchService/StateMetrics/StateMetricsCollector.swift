import Foundation
import WatchModel
import WatchStore

/// What `/metrics` adds to the daemon's counters (docs/metrics.md): the state of every watched
/// order read from the store at scrape time, `build_info` and the `process_*` metrics. Read at
/// each scrape, so an order a reload stopped watching has no series any more.
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
