import WatchStore

/// What one drain (``Dispatcher/drainOnce()``, ``Dispatcher/redeliver(_:)``) did.
public struct DrainReport: Sendable, Equatable {
    public static func == (a: DrainReport, b: DrainReport) -> Bool {
        (a.attempted, a.delivered, a.retrying, a.failed, a.storeErrors, a.attempts)
            == (b.attempted, b.delivered, b.retrying, b.failed, b.storeErrors, b.attempts)
    }

    /// One attempt and what was recorded for it.
    public struct Attempt: Sendable, Equatable {
        public var sink: String
        public var eventId: String
        public var outcome: SinkOutcome
        /// `nil` when the record could not be written (the row stays pending).
        public var result: AttemptResult?
    }

    public var attempted = 0
    public var delivered = 0
    /// Attempts that failed and are scheduled again.
    public var retrying = 0
    /// Deliveries given up (max_age, 410 Gone — counting every pending one it failed — or permanent errors).
    public var failed = 0
    /// Store errors met on the way (the deliveries concerned stay pending).
    public var storeErrors: [String] = []
    /// Every attempt, in the order they finished.
    public var attempts: [Attempt] = []

    /// Whether ``attempts`` and ``storeErrors`` are kept (not by the daemon's endless worker).
    private var collectsAttempts = true

    public init() {}

    init(collectsAttempts: Bool) {
        self.collectsAttempts = collectsAttempts
    }

    mutating func note(_ attempt: Attempt) {
        if collectsAttempts { attempts.append(attempt) }
    }

    mutating func note(storeError: String) {
        if collectsAttempts { storeErrors.append(storeError) }
    }

    public init(attempted: Int = 0, delivered: Int = 0, retrying: Int = 0, failed: Int = 0, storeErrors: [String] = []) {
        self.attempted = attempted
        self.delivered = delivered
        self.retrying = retrying
        self.failed = failed
        self.storeErrors = storeErrors
    }

    mutating func add(_ other: DrainReport) {
        attempted += other.attempted
        delivered += other.delivered
        retrying += other.retrying
        failed += other.failed
        storeErrors += other.storeErrors
        attempts += other.attempts
    }
}
