import Foundation
import Support

/// Who leads a shared PostgreSQL store, as the leader row says (docs/high-availability.md).
public struct LeaderRecord: Sendable, Equatable {
    /// "HOST:PID" of the leading daemon.
    public var holder: String
    /// The server process of the leader's session, for `pg_terminate_backend`.
    public var backendPID: Int
    public var since: Date
    public var heartbeatAt: Date
}

/// The leadership operations on one PostgreSQL session: the advisory lock, the timeouts that end
/// a hung leader's session, the leader row and its heartbeat (docs/high-availability.md).
///
/// The lock belongs to the session: whoever holds it leads, and the store of the leader writes on
/// this same session, so once the session is gone no write of the old leader can commit.
extension PostgresDatabase {
    /// One key for every outpostwatch of a database ("outpost" in ASCII).
    public static let leaderLockKey: Int64 = 0x6f_75_74_70_6f_73_74

    /// Tries to take the leader lock without waiting. `true` when this session holds it now.
    public func tryLeaderLock() throws -> Bool {
        try scalar("SELECT pg_try_advisory_lock(?)", [Self.leaderLockKey], as: Int.self) == 1
    }

    /// Makes the server end this session when it stays idle (or idle in a transaction) for
    /// `takeover`: a stopped or cut-off leader loses the lock by then, since its heartbeat
    /// (every third of `takeover`) stops.
    public func endSessionWhenIdle(for takeover: Duration) throws {
        let milliseconds = max(1000, takeover.milliseconds)
        try execute("SET idle_session_timeout = \(milliseconds)")
        try execute("SET idle_in_transaction_session_timeout = \(milliseconds)")
    }

    /// Takes leadership if no other session holds it: the lock, then the schema (migrated under
    /// the lock), then the leader row naming `holder`. `false` when another session leads.
    public func takeLeadership(holder: String, pid: Int32) throws -> Bool {
        guard try tryLeaderLock() else { return false }
        try PostgresSchema.migrate(self)
        try recordLeader(holder: holder, pid: pid)
        return true
    }

    /// The leader row, or `nil` when no daemon has led yet (or the schema is not there yet).
    public func leader() throws -> LeaderRecord? {
        guard try scalar("SELECT to_regclass('leader') IS NOT NULL", as: Int.self) == 1 else { return nil }
        return try query("SELECT holder, backend_pid, since, heartbeat_at FROM leader WHERE id = 1").first.map { row in
            LeaderRecord(holder: try row.get("holder"), backendPID: try row.get("backend_pid"),
                         since: try row.get("since"), heartbeatAt: try row.get("heartbeat_at"))
        }
    }

    /// Records this session's daemon as the leader (after taking the lock and migrating).
    public func recordLeader(holder: String, pid: Int32, at now: Date = Date()) throws {
        try execute("""
            INSERT INTO leader (id, holder, pid, backend_pid, since, heartbeat_at) VALUES (1, ?1, ?2, pg_backend_pid(), ?3, ?3)
            ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, pid = excluded.pid,
                backend_pid = excluded.backend_pid, since = excluded.since, heartbeat_at = excluded.heartbeat_at
            """, [holder, Int(pid), now])
    }

    /// The leader's heartbeat: keeps the session from idling out and the row fresh. Throws
    /// `.sessionLost` when this session no longer leads (the row names another session).
    public func leaderHeartbeat(at now: Date = Date()) throws {
        let changed = try execute("UPDATE leader SET heartbeat_at = ?1 WHERE id = 1 AND backend_pid = pg_backend_pid()", [now])
        if changed != 1 {
            throw StoreError(kind: .sessionLost, message: "\(location): another session leads this store now")
        }
    }
}
