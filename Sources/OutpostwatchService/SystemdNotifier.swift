import CSystemd
import Foundation

/// Talks to the service manager through `sd_notify` (docs/service.md: `Type=notify`).
///
/// Every call is a no-op when `NOTIFY_SOCKET` is unset (run from a terminal), so the daemon
/// code calls it unconditionally.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Whether a service manager listens (`NOTIFY_SOCKET` is set).
    public var isActive: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    /// `READY=1` with a status line: the store is open and the schedule loaded.
    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }

    /// `STATUS=…`: what the daemon is doing, shown by `systemctl status`.
    public func status(_ text: String) { send("STATUS=\(text)") }

    /// `WATCHDOG=1`, sent from the poll loop itself so a wedged loop gets the service restarted.
    public func watchdog() { send("WATCHDOG=1") }

    /// `RELOADING=1` with the monotonic timestamp systemd ≥ 253 asks for, before a config reload.
    public func reloading() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let usec = UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
        send("RELOADING=1\nMONOTONIC_USEC=\(usec)")
    }

    /// `STOPPING=1`: shutdown has begun.
    public func stopping() { send("STOPPING=1\nSTATUS=stopping") }

    /// The interval at which `WATCHDOG=1` must be sent (half of `WATCHDOG_USEC`), or `nil` when
    /// the unit has no watchdog.
    public var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec / 2))
    }

    private func send(_ state: String) {
        _ = sd_notify(0, state)
    }
}
