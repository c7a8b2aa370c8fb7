import Foundation

/// How many Outposts API calls the simulator served, by operation and by answer, so tests can
/// check what a client really sent (e.g. that a throttled call was retried).
///
/// Answers are counted as `200` for a good answer, the AWS error code for an error
/// (`NotFoundException`, `ThrottlingException`, `InternalServerException`, `ValidationException`,
/// `MissingAuthenticationTokenException`, `IncompleteSignatureException`, …), or the fault kind
/// (`malformed`, `truncated`, `empty`, `hang`) for a deliberately broken 200.
public struct SimulatorStats: Codable, Sendable, Equatable {
    /// Calls of one operation.
    public struct OperationStats: Codable, Sendable, Equatable {
        public var calls: Int
        public var answers: [String: Int]

        public init(calls: Int = 0, answers: [String: Int] = [:]) {
            self.calls = calls
            self.answers = answers
        }
    }

    public var calls: Int
    /// Keyed by `GetOrder`, `ListOrders` or `Unknown`.
    public var operations: [String: OperationStats]

    public init(calls: Int = 0, operations: [String: OperationStats] = [:]) {
        self.calls = calls
        self.operations = operations
    }

    /// Calls of `operation`, only those answered with `answer` when given.
    public func calls(_ operation: String, answer: String? = nil) -> Int {
        guard let stats = operations[operation] else { return 0 }
        guard let answer else { return stats.calls }
        return stats.answers[answer] ?? 0
    }

    mutating func record(operation: String, answer: String) {
        calls += 1
        operations[operation, default: OperationStats()].calls += 1
        operations[operation, default: OperationStats()].answers[answer, default: 0] += 1
    }
}

/// One Outposts API call as the simulator saw it, for tests that check what a client sends.
/// The session token header is redacted: it is a secret.
public struct RecordedRequest: Codable, Sendable, Equatable {
    public var method: String
    public var path: String
    public var query: String?
    public var operation: String
    public var answer: String
    /// Header names lowercased; repeated headers joined with ", ".
    public var headers: [String: String]
    /// From the SigV4 credential scope, when the Authorization header was well-formed.
    public var accessKeyId: String?
    public var region: String?
}
