import Foundation

/// The PostgreSQL schema: the same tables and columns as the SQLite one (``Schema``), spelled in
/// PostgreSQL's types, plus the leader row (docs/high-availability.md).
///
/// `schema_version` holds how many steps ran. Steps are only ever appended, and run once, by the
/// leader, under its lock and in one transaction with the version update.
public enum PostgresSchema {
    public static let steps: [String] = [
        // 1: SQLite's steps 1 and 2, and the leader row.
        """
        CREATE TABLE orders (
            order_id             TEXT PRIMARY KEY NOT NULL,
            label                TEXT,
            source               TEXT NOT NULL CHECK (source IN ('config', 'discovered')),
            active               BIGINT NOT NULL DEFAULT 1,
            snapshot             TEXT,
            last_sequence        BIGINT NOT NULL DEFAULT 0,
            consecutive_failures BIGINT NOT NULL DEFAULT 0,
            failing              BIGINT NOT NULL DEFAULT 0,
            not_found            BIGINT NOT NULL DEFAULT 0,
            last_poll_at         DOUBLE PRECISION,
            last_success_at      DOUBLE PRECISION,
            last_change_at       DOUBLE PRECISION,
            last_error           TEXT,
            created_at           DOUBLE PRECISION NOT NULL,
            account              TEXT NOT NULL DEFAULT 'default',
            region               TEXT
        );
        CREATE INDEX orders_by_account ON orders (account, active);

        CREATE TABLE events (
            id          TEXT PRIMARY KEY NOT NULL,
            order_id    TEXT NOT NULL REFERENCES orders (order_id),
            sequence    BIGINT NOT NULL CHECK (sequence > 0),
            type        TEXT NOT NULL,
            occurred_at DOUBLE PRECISION NOT NULL,
            recorded_at DOUBLE PRECISION NOT NULL,
            body        TEXT NOT NULL,
            UNIQUE (order_id, sequence)
        );
        CREATE INDEX events_by_time ON events (occurred_at, order_id, sequence);

        CREATE TABLE deliveries (
            id              BIGSERIAL PRIMARY KEY,
            event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
            sink            TEXT NOT NULL,
            state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
            attempts        BIGINT NOT NULL DEFAULT 0,
            created_at      DOUBLE PRECISION NOT NULL,
            pending_since   DOUBLE PRECISION NOT NULL,
            next_attempt_at DOUBLE PRECISION NOT NULL,
            last_attempt_at DOUBLE PRECISION,
            last_status     BIGINT,
            last_error      TEXT,
            delivered_at    DOUBLE PRECISION,
            finished_at     DOUBLE PRECISION,
            UNIQUE (event_id, sink)
        );
        CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
        CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE finished_at IS NOT NULL;

        CREATE TABLE delivery_attempts (
            id          BIGSERIAL PRIMARY KEY,
            delivery_id BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
            at          DOUBLE PRECISION NOT NULL,
            outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
            status      BIGINT,
            error       TEXT
        );
        CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, at);

        CREATE TABLE leader (
            id           INTEGER PRIMARY KEY CHECK (id = 1),
            holder       TEXT NOT NULL,
            pid          BIGINT NOT NULL,
            backend_pid  BIGINT NOT NULL,
            since        DOUBLE PRECISION NOT NULL,
            heartbeat_at DOUBLE PRECISION NOT NULL
        );
        """,
    ]

    public static var currentVersion: Int { steps.count }

    /// The version the database is at: 0 for an empty one.
    static func version(_ db: PostgresDatabase) throws -> Int {
        guard try db.scalar("SELECT to_regclass('schema_version') IS NOT NULL", as: Int.self) == 1 else { return 0 }
        return try db.scalar("SELECT max(version) FROM schema_version", as: Int?.self).flatMap { $0 } ?? 0
    }

    /// Runs the missing steps in one transaction. The caller holds the leader lock, so no other
    /// daemon migrates at the same time; a newer schema than this code knows is refused.
    @discardableResult
    public static func migrate(_ db: PostgresDatabase) throws -> Int {
        try db.transaction(.immediate) {
            let current = try version(db)
            if current > steps.count {
                throw StoreError.schemaTooNew(path: db.location, found: current, known: steps.count)
            }
            if current < steps.count {
                try db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                for step in steps[current...] {
                    for statement in statements(step) {
                        try db.execute(statement)
                    }
                }
                try db.execute("DELETE FROM schema_version")
                try db.execute("INSERT INTO schema_version (version) VALUES (?)", [steps.count])
            }
            return current
        }
    }

    /// The statements of one step (the extended protocol takes one at a time).
    static func statements(_ step: String) -> [String] {
        step.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}
