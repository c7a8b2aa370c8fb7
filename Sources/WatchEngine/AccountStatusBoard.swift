import Foundation
import Synchronization

/// What the pollers of several accounts report, combined for systemd (docs/service.md): the
/// watched and failing counts summed over the accounts (`STATUS=`), and a heartbeat passed on
/// only while every account's loop goes round, so one stuck loop lets the watchdog fire.
final class AccountStatusBoard: Sendable {
    private struct State {
        var counts: [String: (watching: Int, failing: Int)] = [:]
        var beats: [String: ContinuousClock.Instant] = [:]
        var reported: (watching: Int, failing: Int)?
    }

    private let state = Mutex(State())
    private let onHeartbeat: @Sendable () -> Void
    private let onStatus: @Sendable (PollerStatus) -> Void
    /// A loop that has not beaten for this long holds the heartbeat back.
    private let stallAfter: Duration

    init(onHeartbeat: @escaping @Sendable () -> Void, onStatus: @escaping @Sendable (PollerStatus) -> Void,
         stallAfter: Duration) {
        self.onHeartbeat = onHeartbeat
        self.onStatus = onStatus
        self.stallAfter = stallAfter
    }

    /// A new account's poller: it counts as having just beaten.
    func add(_ account: String) {
        state.withLock { $0.beats[account] = .now }
    }

    /// An account removed by a reload: its counts leave the sums.
    func remove(_ account: String) {
        let changed = state.withLock { state -> PollerStatus? in
            state.counts[account] = nil
            state.beats[account] = nil
            return Self.changedTotal(&state)
        }
        if let changed { onStatus(changed) }
    }

    /// An account's loop went round.
    func beat(_ account: String) {
        let now = ContinuousClock.now
        let allAlive = state.withLock { state -> Bool in
            state.beats[account] = now
            return state.beats.values.allSatisfy { now - $0 < stallAfter }
        }
        if allAlive { onHeartbeat() }
    }

    /// An account's counts changed.
    func update(_ account: String, _ status: PollerStatus) {
        let changed = state.withLock { state -> PollerStatus? in
            state.counts[account] = (status.watching, status.failing)
            return Self.changedTotal(&state)
        }
        if let changed { onStatus(changed) }
    }

    private static func changedTotal(_ state: inout State) -> PollerStatus? {
        let watching = state.counts.values.reduce(0) { $0 + $1.watching }
        let failing = state.counts.values.reduce(0) { $0 + $1.failing }
        if let last = state.reported, last == (watching, failing) { return nil }
        state.reported = (watching, failing)
        return PollerStatus(watching: watching, failing: failing, lastLoopAt: Date(), effectiveRate: 0)
    }
}

/// `once`'s progress over several accounts: each poller reports its own (done, total); the
/// caller sees the sums.
final class OnceProgressTally: Sendable {
    private let state = Mutex([String: (done: Int, total: Int)]())
    private let report: (@Sendable (_ done: Int, _ total: Int) -> Void)?

    init(report: (@Sendable (_ done: Int, _ total: Int) -> Void)?) {
        self.report = report
    }

    func update(_ account: String, done: Int, total: Int) {
        let sums = state.withLock { state -> (Int, Int) in
            state[account] = (done, total)
            return state.values.reduce((0, 0)) { ($0.0 + $1.done, $0.1 + $1.total) }
        }
        report?(sums.0, sums.1)
    }
}
