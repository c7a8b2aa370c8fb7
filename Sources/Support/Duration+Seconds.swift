import Foundation

/// The one conversion between `Duration` and plain numbers of seconds or milliseconds, for the
/// APIs that take those (Foundation timeouts, `sqlite3_busy_timeout`, `Task.sleep(for: .milliseconds)`,
/// log fields).
extension Duration {
    /// The duration in seconds, with the fraction (attosecond precision, as far as `Double` holds it).
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, rounded down (towards negative infinity), saturating at
    /// `Int64.min` / `Int64.max` instead of trapping for durations beyond ±292 million years.
    public var milliseconds: Int64 {
        let parts = components
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        let (whole, overflow) = parts.seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return parts.seconds < 0 ? .min : .max }
        var fraction = parts.attoseconds / attosecondsPerMillisecond
        if parts.attoseconds % attosecondsPerMillisecond < 0 { fraction -= 1 }
        let (total, overflow2) = whole.addingReportingOverflow(fraction)
        if overflow2 { return whole < 0 ? .min : .max }
        return total
    }
}
