import Foundation

/// The schema of the outpostwatch database, as forward-only migration steps.
///
/// `PRAGMA user_version` says how many steps a file has had. Steps are only ever appended: a
/// released step never changes, because files in the field were built by it.
public enum Schema {
    /// Step N (1-based) takes a file from version N-1 to N.
    public static let steps: [String] = [
        // 1: orders, events, the outbox and its attempt log.
        """
        CREATE TABLE orders (
            order_id             TEXT PRIMARY KEY NOT NULL,
            label                TEXT,
            source               TEXT NOT NULL CHECK (source IN ('config', 'discovered')),
            active               INTEGER NOT NULL DEFAULT 1,
            snapshot             TEXT,              -- JSON of the last OrderSnapshot
            last_sequence        INTEGER NOT NULL DEFAULT 0,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            failing              INTEGER NOT NULL DEFAULT 0,
            not_found            INTEGER NOT NULL DEFAULT 0,
            last_poll_at         REAL,
            last_success_at      REAL,
            last_change_at       REAL,
            last_error           TEXT,
            created_at           REAL NOT NULL
        ) STRICT;

        CREATE TABLE events (
            id          TEXT PRIMARY KEY NOT NULL,
            order_id    TEXT NOT NULL REFERENCES orders (order_id),
            sequence    INTEGER NOT NULL CHECK (sequence > 0),
            type        TEXT NOT NULL,
            occurred_at REAL NOT NULL,
            recorded_at REAL NOT NULL,
            body        TEXT NOT NULL,              -- EventJSON: the exact webhook body
            UNIQUE (order_id, sequence)
        ) STRICT;
        CREATE INDEX events_by_time ON events (occurred_at, order_id, sequence);

        CREATE TABLE deliveries (
            id              INTEGER PRIMARY KEY,
            event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
            sink            TEXT NOT NULL,
            state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            created_at      REAL NOT NULL,
            pending_since   REAL NOT NULL,          -- created_at, or when redeliver reset it
            next_attempt_at REAL NOT NULL,
            last_attempt_at REAL,
            last_status     INTEGER,
            last_error      TEXT,
            delivered_at    REAL,
            finished_at     REAL,                   -- when it became delivered or failed
            UNIQUE (event_id, sink)
        ) STRICT;
        CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
        CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE finished_at IS NOT NULL;

        CREATE TABLE delivery_attempts (
            id          INTEGER PRIMARY KEY,
            delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
            at          REAL NOT NULL,
            outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
            status      INTEGER,
            error       TEXT
        ) STRICT;
        CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, at);
        """,
        // 2: the account (docs/configuration.md, "Accounts and regions") and region of each
        // order; orders of a file from before accounts belong to `default`.
        """
        ALTER TABLE orders ADD COLUMN account TEXT NOT NULL DEFAULT 'default';
        ALTER TABLE orders ADD COLUMN region TEXT;
        CREATE INDEX orders_by_account ON orders (account, active);
        """,
    ]

    /// The version this code writes.
    public static var currentVersion: Int { steps.count }
}

/// Applies forward-only migration steps to a database, all pending ones in one transaction.
public struct Migrator: Sendable {
    public let steps: [String]

    public init(steps: [String] = Schema.steps) {
        self.steps = steps
    }

    /// Brings `database` to `version` (default: all steps). A file already at a higher version
    /// than this code knows is refused with `.schemaTooNew`: an older binary must not write a
    /// newer schema it does not understand. Returns the version before migrating.
    @discardableResult
    public func migrate(_ database: Database, to version: Int? = nil) throws -> Int {
        let target = version ?? steps.count
        precondition((0...steps.count).contains(target), "migration target \(target) outside 0...\(steps.count)")
        // IMMEDIATE: two processes opening a fresh file at once must not both run step 1.
        return try database.transaction(.immediate) {
            let current = try database.userVersion()
            if current > steps.count {
                throw StoreError.schemaTooNew(path: database.path, found: current, known: steps.count)
            }
            if current < target {
                for step in steps[current..<target] {
                    try database.exec(step)
                }
                try database.exec("PRAGMA user_version = \(target)")
            }
            return current
        }
    }
}

extension StoreError {
    static func schemaTooNew(path: String, found: Int, known: Int) -> StoreError {
        StoreError(kind: .schemaTooNew,
                   message: "\(path): schema version \(found) was written by a newer outpostwatch; this one knows up to \(known) (upgrade outpostwatch)")
    }
}
