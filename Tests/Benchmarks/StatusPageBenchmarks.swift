import Foundation
import StatusPage
import Support
import Testing
import WatchModel
import WatchReport
import WatchStore

/// How long the status page takes to render (docs/status-page.md): `/` with 1 000 orders read
/// from a real store, and an order page with 200 events. Printed, never asserted.
@Suite(.serialized) struct StatusPageBenchmarks {
    static let orders = 1000

    @Test func renderIndexOfAThousandOrders() async throws {
        try await withBenchStore(options: StoreOptions(synchronous: .normal)) { store, _ in
            let ids = (0..<Self.orders).map { String(format: "oo-%017x", $0 + 1) }
            try await store.syncWatchSet(ids.map { (id: $0, label: "rack \($0.suffix(4)) <Seattle & co>") }, source: .config)
            // Every order polled once: a stored state with two line items, its first_seen event.
            for (i, id) in ids.enumerated() {
                let snapshot = OrderSnapshot(orderId: id, outpostId: "op-0123456789abcdef0",
                                             status: ["PREPARING", "IN_PROGRESS", "COMPLETED"][i % 3], lineItems: [
                    LineItemSnapshot(lineItemId: "ooi-\(i)a", status: "BUILDING"),
                    LineItemSnapshot(lineItemId: "ooi-\(i)b", status: "SHIPPED"),
                ])
                let event = Event(type: .orderFirstSeen, occurredAt: Date(), order: OrderRef(id: id, status: snapshot.status),
                                  change: Change(field: .status, from: .null, to: .from(snapshot.status)))
                _ = try await store.commit(PollCommit(orderId: id, polledAt: Date(), succeeded: true, snapshot: snapshot,
                                                      consecutiveFailures: 0, failing: false, notFound: false,
                                                      lastError: nil, events: [event]), route: { _ in [] })
            }
            let renderer = StatusPageRenderer()
            var rowsTimes: [Double] = []
            var renderTimes: [Double] = []
            var bytes = 0
            for _ in 0..<20 {
                let t0 = ContinuousClock.now
                let rows = try await StatusRow.active(in: store)
                let t1 = ContinuousClock.now
                bytes = renderer.index(rows: rows, now: Date()).utf8.count
                let t2 = ContinuousClock.now
                rowsTimes.append((t1 - t0).seconds * 1000)
                renderTimes.append((t2 - t1).seconds * 1000)
            }
            print("status page /: \(Self.orders) orders, \(bytes / 1024) KiB: store read median \(median(rowsTimes)) ms, render median \(median(renderTimes)) ms, total median \(median(zip(rowsTimes, renderTimes).map { $0 + $1 })) ms")
        }
    }

    @Test func renderOrderPageWithTwoHundredEvents() {
        let orderId = "oo-0123456789abcdef0"
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let statuses = ["PREPARING", "IN_PROGRESS", "SHIPPED", "DELIVERED", "INSTALLING"]
        var events = [Event(type: .orderFirstSeen, sequence: 1, occurredAt: t0, order: OrderRef(id: orderId),
                            change: Change(field: .status, from: .null, to: .string("PREPARING")))]
        for i in 1..<200 {
            events.append(Event(type: .orderStatusChanged, sequence: Int64(i + 1), occurredAt: t0.addingTimeInterval(Double(i) * 3600),
                                order: OrderRef(id: orderId),
                                change: Change(field: .status, from: .string(statuses[(i - 1) % 5]), to: .string(statuses[i % 5]))))
        }
        let snapshot = OrderSnapshot(orderId: orderId, status: statuses[199 % 5], lineItems: (0..<10).map {
            LineItemSnapshot(lineItemId: "ooi-\($0)", status: "SHIPPED", shipment: Shipment(carrier: "UPS", trackingNumber: "1Z\($0)"),
                             assets: [Asset(assetId: "a\($0)", macAddresses: ["0a:00:00:00:00:0\($0)"])])
        })
        let detail = OrderDetail(row: StatusRow(WatchedOrder(orderId: orderId, snapshot: snapshot)), snapshot: snapshot,
                                 events: events, timeline: PhaseTimeline.derive(orderId: orderId, events: events, snapshot: snapshot),
                                 deliveries: [:], now: t0.addingTimeInterval(201 * 3600))
        let renderer = StatusPageRenderer()
        var times: [Double] = []
        for _ in 0..<20 {
            let start = ContinuousClock.now
            _ = renderer.order(detail)
            times.append((ContinuousClock.now - start).seconds * 1000)
        }
        print("status page /orders/ID: 200 events, 10 line items: render median \(median(times)) ms")
    }

    func median(_ values: [Double]) -> String {
        String(format: "%.1f", values.sorted()[values.count / 2])
    }
}
