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

    /// Calls signed with one access key id (whatever the simulator answered them).
    public struct SignerStats: Codable, Sendable, Equatable {
        public var calls: Int
        /// Calls by the region of the credential scope.
        public var regions: [String: Int]
        /// Calls by answer, labelled as in ``OperationStats/answers``.
        public var answers: [String: Int]
        /// Calls by operation.
        public var operations: [String: Int]

        public init(calls: Int = 0, regions: [String: Int] = [:], answers: [String: Int] = [:],
                    operations: [String: Int] = [:]) {
            self.calls = calls
            self.regions = regions
            self.answers = answers
            self.operations = operations
        }
    }

    public var calls: Int
    /// Keyed by `GetOrder`, `ListOrders` or `Unknown`.
    public var operations: [String: OperationStats]
    /// Keyed by the access key id of the SigV4 credential scope; calls without a well-formed
    /// `Authorization` header have no signer and are not counted here.
    public var signers: [String: SignerStats]

    public init(calls: Int = 0, operations: [String: OperationStats] = [:], signers: [String: SignerStats] = [:]) {
        self.calls = calls
        self.operations = operations
        self.signers = signers
    }

    /// Calls of `operation`, only those answered with `answer` when given.
    public func calls(_ operation: String, answer: String? = nil) -> Int {
        guard let stats = operations[operation] else { return 0 }
        guard let answer else { return stats.calls }
        return stats.answers[answer] ?? 0
    }

    /// Calls signed with `accessKeyId`, only those scoped to `region` when given.
    public func calls(signedBy accessKeyId: String, region: String? = nil) -> Int {
        guard let stats = signers[accessKeyId] else { return 0 }
        guard let region else { return stats.calls }
        return stats.regions[region] ?? 0
    }

    mutating func record(operation: String, answer: String, signer: SigV4HeaderCheck.Signer? = nil) {
        calls += 1
        operations[operation, default: OperationStats()].calls += 1
        operations[operation, default: OperationStats()].answers[answer, default: 0] += 1
        if let signer {
            var stats = signers[signer.accessKeyId] ?? SignerStats()
            stats.calls += 1
            stats.regions[signer.region, default: 0] += 1
            stats.answers[answer, default: 0] += 1
            stats.operations[operation, default: 0] += 1
            signers[signer.accessKeyId] = stats
        }
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
    /// The scenario account the access key id belongs to (its name, else its key), when the
    /// scenario declares accounts and knows the key.
    public var account: String?
}
