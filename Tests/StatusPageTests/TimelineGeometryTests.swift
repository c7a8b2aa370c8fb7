import Foundation
import Testing
import StatusPage
import WatchModel
import WatchReport

@Suite struct TimelineGeometryTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    func at(_ hours: Double) -> Date { t0.addingTimeInterval(hours * 3600) }

    var timeline: PhaseTimeline {
        PhaseTimeline(orderId: "oo-0123456789abcdef0", phases: [
            Phase(status: "PREPARING", from: at(0), to: at(25)),
            Phase(status: "IN_PROGRESS", from: at(25), to: nil),
        ], lineItems: [
            LineItemPhases(id: "li-a", phases: [Phase(status: "BUILDING", from: at(0), to: at(75)),
                                                Phase(status: "SHIPPED", from: at(75), to: nil)]),
            LineItemPhases(id: "li-b", phases: [Phase(status: "BUILDING", from: at(50), to: at(50.0001))]),
        ])
    }

    @Test func timeMapsLinearlyFromTheFirstStartToNowAtTheRightEdge() {
        let g = TimelineGeometry.layout(timeline, now: at(100), width: 1000)
        let left = TimelineGeometry.labelWidth
        let plot = 1000 - TimelineGeometry.labelWidth - TimelineGeometry.rightMargin
        #expect(g.start == at(0) && g.end == at(100))
        #expect(g.nowX == left + plot)
        let order = g.lanes[0].segments
        #expect(order[0].x == left)
        #expect(abs(order[0].width - plot * 0.25) < 1e-9)
        #expect(abs(order[1].x - (left + plot * 0.25)) < 1e-9)
        // The current stay runs to now.
        #expect(abs(order[1].x + order[1].width - g.nowX) < 1e-9)
    }

    @Test func oneLanePerLineItemBelowTheOrdersWithoutOverlap() {
        let g = TimelineGeometry.layout(timeline, now: at(100))
        #expect(g.lanes.map(\.title) == ["order", "li-a", "li-b"])
        for (a, b) in zip(g.lanes, g.lanes.dropFirst()) {
            #expect(b.y >= a.y + TimelineGeometry.laneHeight)
        }
        let lastBottom = g.lanes.last!.y + TimelineGeometry.laneHeight
        #expect(g.height > lastBottom)
        // Segments of a lane follow each other left to right.
        for lane in g.lanes {
            for (a, b) in zip(lane.segments, lane.segments.dropFirst()) { #expect(b.x >= a.x + a.width - 1e-9) }
        }
    }

    @Test func aStayOfSecondsIsStillVisibleAndLabelsOnlyWhereTheyFit() {
        let g = TimelineGeometry.layout(timeline, now: at(100))
        let blip = g.lanes[2].segments[0]
        #expect(blip.width == TimelineGeometry.minimumSegmentWidth)
        #expect(!blip.labelFits)
        #expect(g.lanes[1].segments[0].labelFits)
    }

    @Test func legendListsEveryStatusOnceInOrderOfAppearanceWithItsColour() {
        let g = TimelineGeometry.layout(timeline, now: at(100))
        #expect(g.legend == ["PREPARING", "IN_PROGRESS", "BUILDING", "SHIPPED"])
        #expect(g.lanes[1].segments[0].colorIndex == StatusPalette.index(for: "BUILDING"))
        #expect(StatusPalette.index(for: "SHIPPED") != StatusPalette.index(for: "BUILDING"))
        // An unknown status gets a spare colour, the same one every time.
        let spare = StatusPalette.index(for: "SOMETHING_NEW")
        #expect(spare >= 8 && spare < StatusPalette.colors.count)
        #expect(StatusPalette.index(for: "SOMETHING_NEW") == spare)
    }

    @Test func ticksSpanThePlotEvenly() {
        let g = TimelineGeometry.layout(timeline, now: at(100), width: 1000, ticks: 5)
        #expect(g.ticks.count == 5)
        #expect(g.ticks.first!.x == TimelineGeometry.labelWidth)
        #expect(g.ticks.last!.x == g.nowX)
        #expect(g.ticks[2].date == at(50))
    }

    @Test func anEmptyOrInstantTimelineHasAPositiveSpan() {
        let now = at(0)
        let g = TimelineGeometry.layout(PhaseTimeline(orderId: "oo-0123456789abcdef0",
                                                      phases: [Phase(status: "PREPARING", from: now, to: nil)],
                                                      lineItems: []), now: now)
        #expect(g.end > g.start)
        #expect(g.lanes[0].segments[0].width >= TimelineGeometry.minimumSegmentWidth)
        #expect(g.nowX.isFinite)
    }

    @Test func tickLabelsAreAsPreciseAsTheSpanNeeds() {
        let date = ISO8601.parse("2026-11-28T12:34:56Z")!
        #expect(TimelineGeometry.tickLabel(date, span: 30 * 86400) == "2026-11-28")
        #expect(TimelineGeometry.tickLabel(date, span: 86400) == "11-28 12:34")
        #expect(TimelineGeometry.tickLabel(date, span: 60) == "12:34:56")
        #expect(TimelineGeometry.tickLabel(date.addingTimeInterval(0.5), span: 60) == "12:34:56")
    }

    @Test func relativeTimes() {
        let now = at(100)
        #expect(RelativeTime.describe(now.addingTimeInterval(-10), now: now) == "just now")
        #expect(RelativeTime.describe(now.addingTimeInterval(-3 * 86400 - 5), now: now) == "3 days ago")
        #expect(RelativeTime.describe(now.addingTimeInterval(-3600), now: now) == "1 hour ago")
        #expect(RelativeTime.describe(now.addingTimeInterval(300), now: now) == "in 5 minutes")
        #expect(RelativeTime.compact(3 * 86400 + 4 * 3600) == "3d 4h")
        #expect(RelativeTime.compact(42 * 60) == "42m")
    }
}
