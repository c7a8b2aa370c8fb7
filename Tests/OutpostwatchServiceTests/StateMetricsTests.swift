import Foundation
import OutpostwatchService
import Testing
import WatchModel
import WatchStore

@Suite struct StateMetricsTests {
    @Test func labelValuesAreEscaped() {
        #expect(Exposition.escapedLabel("rack \"1\" \\ west\nnext") == "rack \\\"1\\\" \\\\ west\\nnext")
        var out = Exposition()
        out.sample("m", ["a": "x\"y"], 1.5)
        #expect(out.text == "m{a=\"x\\\"y\"} 1.5\n")
    }

    @Test func oneSeriesPerOrderWithItsCurrentStatus() {
        let order = WatchedOrder(orderId: "oo-0123456789abcdef0", label: "Seattle",
                                 snapshot: OrderSnapshot(orderId: "oo-0123456789abcdef0", outpostId: "op-1", status: "IN_PROGRESS",
                                                         lineItems: [LineItemSnapshot(lineItemId: "li-1", status: "SHIPPED")]),
                                 failing: true)
        let since = Date(timeIntervalSince1970: 1_700_000_000)
        let sample = OrderStateSample(order, start: StatusStart(type: .orderStatusChanged, at: since), stalled: true)
        var out = Exposition()
        OrderStateMetrics.render([sample], failing: 1, version: "9.9", into: &out)
        let lines = out.text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        #expect(lines == [
            "outpostwatch_build_info{version=\"9.9\"} 1",
            "outpostwatch_order_status{account=\"default\",order_id=\"oo-0123456789abcdef0\",outpost_id=\"op-1\",label=\"Seattle\",status=\"IN_PROGRESS\"} 1",
            "outpostwatch_order_status_since_timestamp_seconds{account=\"default\",order_id=\"oo-0123456789abcdef0\"} 1700000000",
            "outpostwatch_line_item_status{account=\"default\",order_id=\"oo-0123456789abcdef0\",line_item_id=\"li-1\",status=\"SHIPPED\"} 1",
            "outpostwatch_order_stalled{account=\"default\",order_id=\"oo-0123456789abcdef0\"} 1",
            "outpostwatch_orders_failing 1",
        ])
    }

    @Test func sinceOfAnOrderFirstSeenPreparingIsItsSubmissionDate() {
        let submitted = Date(timeIntervalSince1970: 1_000)
        let seen = Date(timeIntervalSince1970: 5_000)
        func sample(_ status: String, _ type: EventType) -> OrderStateSample {
            let order = WatchedOrder(orderId: "o", snapshot: OrderSnapshot(orderId: "o", status: status, submissionDate: submitted))
            return OrderStateSample(order, start: StatusStart(type: type, at: seen), stalled: false)
        }
        #expect(sample("PREPARING", .orderFirstSeen).since == submitted)
        #expect(sample("IN_PROGRESS", .orderFirstSeen).since == seen)
        #expect(sample("PREPARING", .orderStatusChanged).since == seen)
        #expect(OrderStateSample(WatchedOrder(orderId: "o", notFound: true), start: nil, stalled: false).status == "NOT_FOUND")
        #expect(OrderStateSample(WatchedOrder(orderId: "o"), start: nil, stalled: false).status == "UNKNOWN")
    }

    @Test func processStatIsParsedAfterTheCommandName() throws {
        let stat = "4242 (out post) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 12000 104857600 2560 18446744073709551615"
        let metrics = try #require(ProcessMetrics.parse(stat: stat, procStat: "cpu 1 2 3\nbtime 1700000000\n",
                                                        ticksPerSecond: 100, pageSize: 4096, openFDs: 7, maxFDs: 1024))
        #expect(metrics.cpuSeconds == 3)
        #expect(metrics.startTime == 1_700_000_120)
        #expect(metrics.virtualBytes == 104_857_600)
        #expect(metrics.residentBytes == 2560 * 4096)
        #expect(metrics.openFDs == 7)
        #expect(ProcessMetrics.current() != nil)
    }
}
