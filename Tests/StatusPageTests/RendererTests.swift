import Foundation
import Testing
import StatusPage
import WatchModel
import WatchReport
import WatchStore

@Suite struct RendererTests {
    static let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)> \"quoted\" & 'single'"
    let now = Date(timeIntervalSince1970: 1_800_360_000)

    func watched(label: String?, status: String) -> WatchedOrder {
        WatchedOrder(orderId: "oo-0123456789abcdef0", label: label,
                     snapshot: OrderSnapshot(orderId: "oo-0123456789abcdef0", outpostId: "op-0123456789abcdef0",
                                             status: status, lineItems: [
                                                LineItemSnapshot(lineItemId: "li-1", status: status,
                                                                 shipment: Shipment(carrier: "UPS", trackingNumber: Self.hostile),
                                                                 assets: [Asset(assetId: Self.hostile, macAddresses: ["0a:00:00:00:00:01"])]),
                                             ]),
                     lastSequence: 2, lastPollAt: now, lastChangeAt: now.addingTimeInterval(-3 * 86400 - 60))
    }

    func detail(_ w: WatchedOrder) -> OrderDetail {
        let events = [
            Event(id: "evt_1", type: .orderFirstSeen, sequence: 1, occurredAt: now.addingTimeInterval(-5 * 86400),
                  order: OrderRef(id: w.orderId, label: w.label, status: "PREPARING"),
                  change: Change(field: .status, from: .null, to: .string("PREPARING"))),
            Event(id: "evt_2", type: .orderStatusChanged, sequence: 2, occurredAt: now.addingTimeInterval(-3 * 86400),
                  order: OrderRef(id: w.orderId, label: w.label, status: Self.hostile),
                  change: Change(field: .status, from: .string("PREPARING"), to: .string(Self.hostile))),
        ]
        return OrderDetail(row: StatusRow(w), snapshot: w.snapshot, events: events,
                           timeline: PhaseTimeline.derive(orderId: w.orderId, events: events, snapshot: w.snapshot),
                           deliveries: [:], now: now)
    }

    /// Nothing of the hostile text survives as markup: no `<script`, no `<img`, no raw quote in an attribute.
    func expectInert(_ html: String) {
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("onerror=alert(2)>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&quot;quoted&quot; &amp; &#39;single&#39;"))
    }

    @Test func indexEscapesLabelsAndStatuses() {
        let html = StatusPageRenderer().index(rows: [StatusRow(watched(label: Self.hostile, status: Self.hostile))], now: now)
        expectInert(html)
        #expect(html.contains("href=\"/orders/oo-0123456789abcdef0\""))
        #expect(html.contains("3 days ago"))
        #expect(html.contains("title=\"\(ISO8601.format(now.addingTimeInterval(-3 * 86400 - 60)))\""))
    }

    @Test func orderPageEscapesEverythingAndDrawsOneSegmentPerStay() {
        let html = StatusPageRenderer().order(detail(watched(label: Self.hostile, status: Self.hostile)))
        expectInert(html)
        #expect(html.contains("<svg"))
        #expect(html.components(separatedBy: "<g class=\"segment\"").count - 1 == 3)   // order: 2 stays, line item: 1
        #expect(html.contains(">now</text>"))
        // A wide segment says when its stay began.
        #expect(html.contains(">PREPARING · \(TimelineGeometry.tickLabel(now.addingTimeInterval(-5 * 86400), span: 5 * 86400))</text>"))
        // The tracking link's number is URL-encoded, then HTML-escaped in the attribute.
        #expect(html.contains("href=\"https://www.ups.com/track?loc=en_US&amp;tracknum=%3Cscript%3E"))
    }

    @Test func templatesNeverUseUnescapedTags() throws {
        let html = StatusPageRenderer().order(detail(watched(label: "rack", status: "PREPARING")))
        #expect(!html.contains("{{"))
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("http://") || html.contains("http://www.w3.org/2000/svg"))
    }

    @Test func rowsNeedingAttentionComeFirst() {
        var done = watched(label: "done", status: "COMPLETED")
        done.orderId = "oo-00000000000000001"
        var failing = watched(label: "failing", status: "IN_PROGRESS")
        failing.orderId = "oo-00000000000000002"
        failing.failing = true
        var gone = watched(label: "gone", status: "IN_PROGRESS")
        gone.orderId = "oo-00000000000000003"
        gone.notFound = true
        var busy = watched(label: "busy", status: "IN_PROGRESS")
        busy.orderId = "oo-00000000000000004"
        var stalled = StatusRow(watched(label: "stalled", status: "IN_PROGRESS"))
        stalled.orderId = "oo-00000000000000005"
        stalled.stalled = true
        let sorted = Attention.sorted([done, busy, failing, gone].map { StatusRow($0) } + [stalled]).map(\.label)
        #expect(Set(sorted.prefix(2)) == ["failing", "gone"])
        #expect(Array(sorted.suffix(3)) == ["stalled", "busy", "done"])
        let html = StatusPageRenderer().index(rows: [stalled], now: now)
        #expect(html.contains("<span class=\"marker stalled\" title=\"\">stalled</span>"))
    }
}
