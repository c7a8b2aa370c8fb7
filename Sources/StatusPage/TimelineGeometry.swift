import Foundation
import WatchModel
import WatchReport

/// Where everything of the order page's timeline picture goes: a pure layout of a
/// ``PhaseTimeline`` into SVG coordinates (docs/status-page.md, "Timeline"), rendered by the
/// template.
///
/// Time runs left to right from the first phase's start to `now`, which is the right edge of the
/// plot; the first lane is the order's, then one per line item. A segment is at least
/// ``minimumSegmentWidth`` wide, so even a stay of seconds stays visible.
public struct TimelineGeometry: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        public var status: String
        public var x: Double
        public var width: Double
        public var from: Date
        public var to: Date?
        /// Index into ``StatusPalette/colors``.
        public var colorIndex: Int
        /// Whether the status name fits inside the segment.
        public var labelFits: Bool
    }

    public struct Lane: Sendable, Equatable {
        public var title: String
        public var y: Double
        public var segments: [Segment]
    }

    public struct Tick: Sendable, Equatable {
        public var x: Double
        public var date: Date
    }

    public var width: Double
    public var height: Double
    public var lanes: [Lane]
    public var ticks: [Tick]
    /// The x of the "now" marker: the right edge of the plot.
    public var nowX: Double
    /// Every status drawn, in order of first appearance: the legend.
    public var legend: [String]
    public var start: Date
    public var end: Date

    public static let labelWidth = 180.0
    public static let rightMargin = 40.0
    public static let top = 30.0
    public static let laneHeight = 26.0
    public static let laneGap = 10.0
    public static let bottom = 10.0
    public static let minimumSegmentWidth = 2.0
    /// Roughly how many pixels a character of the segment label takes (11 px sans-serif).
    public static let characterWidth = 7.0

    /// A tick's label, UTC, as precise as the span needs: `2026-11-28` over more than two days,
    /// `11-28 12:00` over more than an hour, `12:00:05` below.
    public static func tickLabel(_ date: Date, span: TimeInterval) -> String {
        let iso = ISO8601.format(date)   // 2026-11-28T12:00:05Z or …05.123Z
        if span > 2 * 86400 { return String(iso.prefix(10)) }
        let time = iso.dropFirst(11).prefix(8)
        if span > 3600 { return iso.dropFirst(5).prefix(5) + " " + time.prefix(5) }
        return String(time)
    }

    public static func layout(_ timeline: PhaseTimeline, now: Date, width: Double = 960, ticks tickCount: Int = 5)
        -> TimelineGeometry {
        let all = timeline.phases + timeline.lineItems.flatMap(\.phases)
        let start = all.map(\.from).min() ?? now
        let end = max(now, all.compactMap(\.to).max() ?? now, start.addingTimeInterval(1))
        let plotLeft = labelWidth
        let plotWidth = max(1, width - labelWidth - rightMargin)
        let span = end.timeIntervalSince(start)
        func x(_ date: Date) -> Double { plotLeft + date.timeIntervalSince(start) / span * plotWidth }

        var legend: [String] = []
        func segments(_ phases: [Phase]) -> [Segment] {
            phases.map { phase in
                if !legend.contains(phase.status) { legend.append(phase.status) }
                let left = x(phase.from)
                let right = x(phase.to ?? end)
                let w = max(minimumSegmentWidth, right - left)
                return Segment(status: phase.status, x: left, width: w, from: phase.from, to: phase.to,
                               colorIndex: StatusPalette.index(for: phase.status),
                               labelFits: Double(phase.status.count) * characterWidth + 8 <= w)
            }
        }
        var lanes = [Lane(title: "order", y: top, segments: segments(timeline.phases))]
        for item in timeline.lineItems {
            lanes.append(Lane(title: item.id, y: top + Double(lanes.count) * (laneHeight + laneGap),
                              segments: segments(item.phases)))
        }
        let height = top + Double(lanes.count) * (laneHeight + laneGap) - laneGap + bottom + 16
        let ticks = (0..<max(2, tickCount)).map { i -> Tick in
            let date = start.addingTimeInterval(span * Double(i) / Double(max(2, tickCount) - 1))
            return Tick(x: x(date), date: date)
        }
        return TimelineGeometry(width: width, height: height, lanes: lanes, ticks: ticks, nowX: x(now),
                                legend: legend, start: start, end: end)
    }
}
