import Foundation

/// "3 days ago", "in 5 minutes": how the status page shows an instant next to the exact time.
public enum RelativeTime {
    /// `date` relative to `now`; whole units, rounded down; "just now" within 45 seconds.
    public static func describe(_ date: Date, now: Date) -> String {
        let delta = now.timeIntervalSince(date)
        let seconds = abs(delta)
        if seconds < 45 { return "just now" }
        let text = amount(seconds)
        return delta >= 0 ? "\(text) ago" : "in \(text)"
    }

    /// "1 minute", "2 hours", "3 days", "4 months", "5 years" (a month is 30 days, a year 365).
    public static func amount(_ seconds: Double) -> String {
        let units: [(String, Double)] = [("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400),
                                         ("hour", 3600), ("minute", 60), ("second", 1)]
        for (name, size) in units where seconds >= size {
            let n = Int(seconds / size)
            return "\(n) \(name)\(n == 1 ? "" : "s")"
        }
        return "0 seconds"
    }

    /// "3d 4h", "5h 12m", "42m", "30s": a compact duration for the timeline.
    public static func compact(_ seconds: Double) -> String {
        let s = Int(max(0, seconds))
        let (d, h, m) = (s / 86400, (s % 86400) / 3600, (s % 3600) / 60)
        if d > 0 { return h > 0 ? "\(d)d \(h)h" : "\(d)d" }
        if h > 0 { return m > 0 ? "\(h)h \(m)m" : "\(h)h" }
        if m > 0 { return "\(m)m" }
        return "\(s)s"
    }
}
