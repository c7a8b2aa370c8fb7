import Foundation

// The AWS SDKs' standard retry mode: which errors are retried, the backoff between attempts and
// the retry quota shared by the calls of one client.

extension OutpostsClient {
    /// botocore's `TransientRetryableChecker`: codes and statuses worth another try.
    static let transientCodes: Set<String> = ["RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"]
    private static let transientStatuses: Set<Int> = [500, 502, 503, 504]

    static func isRetryable(_ error: OutpostsError) -> Bool {
        switch error.kind {
        case .throttling, .network, .timeout:
            return true
        case .server:
            return error.statusCode.map(transientStatuses.contains) == true || error.code.map(transientCodes.contains) == true
        default:
            return false
        }
    }
}

/// Delay between attempts: botocore standard mode's full jitter,
/// `random(0, 1) × min(scale × 2^(attempt−1), maxBackoff)`.
public struct RetryBackoff: Sendable {
    /// 1 s in the SDKs; tests use milliseconds so retries cost no wall time.
    public var scale: Duration
    public var maxBackoff: Duration
    /// Uniform in [0, 1).
    public var random: @Sendable () -> Double

    public init(scale: Duration = .seconds(1), maxBackoff: Duration = .seconds(20),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.scale = scale
        self.maxBackoff = maxBackoff
        self.random = random
    }

    /// The AWS SDKs' standard mode.
    public static let standard = RetryBackoff()

    /// The delay after failed attempt `attempt` (1-based).
    public func delay(afterAttempt attempt: Int) -> Duration {
        let exponential = scale * Double(1 << min(max(attempt - 1, 0), 30))
        return min(exponential, maxBackoff) * random()
    }
}

/// botocore's `RetryQuota` with its standard-mode costs: shared by every call of one client, so
/// a failing endpoint cannot multiply the load by the attempt count.
actor RetryQuota {
    static let capacity = 500
    static let retryCost = 5
    static let timeoutRetryCost = 10

    private(set) var available = RetryQuota.capacity

    func acquire(_ amount: Int) -> Bool {
        guard amount <= available else { return false }
        available -= amount
        return true
    }

    func release(_ amount: Int) {
        available = min(Self.capacity, available + amount)
    }
}
