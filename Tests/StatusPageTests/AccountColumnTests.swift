import Foundation
import StatusPage
import Testing
import WatchModel
import WatchReport
import WatchStore

/// The account on the status page (docs/status-page.md): a column of `/` when the orders belong to
/// more than one account, and the account with its region (and the quote ids) on an order's page.
@Suite struct AccountColumnTests {
    let now = Date(timeIntervalSince1970: 1_800_360_000)

    func row(_ id: String, account: String, region: String? = nil, quote: (String, String)? = nil) -> StatusRow {
        StatusRow(WatchedOrder(orderId: id, account: account, region: region,
                               snapshot: OrderSnapshot(orderId: id, status: "IN_PROGRESS", quoteId: quote?.0,
                                                       quoteOptionId: quote?.1),
                               lastPollAt: now))
    }

    @Test func accountColumnOnlyWithSeveralAccounts() {
        let renderer = StatusPageRenderer()
        let several = renderer.index(rows: [row("oo-0123456789abcdef0", account: "prod"),
                                            row("oo-0123456789abcdef1", account: "<lab>")], now: now)
        #expect(several.contains("<th>Account</th>"))
        #expect(several.contains("<td class=\"account\">prod</td>"))
        #expect(several.contains("<td class=\"account\">&lt;lab&gt;</td>"), "escaped like every value")
        let one = renderer.index(rows: [row("oo-0123456789abcdef0", account: "default"),
                                        row("oo-0123456789abcdef1", account: "default")], now: now)
        #expect(!one.contains("<th>Account</th>"))
        #expect(!one.contains("class=\"account\""))
    }

    @Test func orderPageShowsAccountRegionAndQuoteIds() {
        let r = row("oo-0123456789abcdef0", account: "prod", region: "us-west-2", quote: ("q-0abc", "qo-0def"))
        let detail = OrderDetail(row: r, snapshot: nil, events: [], timeline: PhaseTimeline.derive(
            orderId: r.orderId, events: [], snapshot: nil), deliveries: [:], now: now)
        let html = StatusPageRenderer().order(detail)
        #expect(html.contains("<dt>Account</dt><dd class=\"account\">prod <span class=\"sub\">(us-west-2)</span></dd>"))
        #expect(html.contains("<dt>Quote id</dt><dd><code>q-0abc</code></dd>"))
        #expect(html.contains("<dt>Quote option id</dt><dd><code>qo-0def</code></dd>"))

        let plain = row("oo-0123456789abcdef1", account: "default")
        let plainHTML = StatusPageRenderer().order(OrderDetail(row: plain, snapshot: nil, events: [], timeline:
            PhaseTimeline.derive(orderId: plain.orderId, events: [], snapshot: nil), deliveries: [:], now: now))
        #expect(plainHTML.contains("<dt>Account</dt><dd class=\"account\">default</dd>"))
        #expect(!plainHTML.contains("Quote"))
    }
}
