import Foundation

/// A set of AWS credentials. Its `description` never shows the secret or the token.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working; `nil` for long-term keys.
    public var expiration: Date?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    public var description: String {
        "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "none" : "<redacted>"))"
    }

    public var debugDescription: String { description }
}

/// Anything that can produce AWS credentials: one source of the standard chain, the chain
/// itself, or a fixed set (tests).
public protocol CredentialProvider: Sendable {
    /// Current credentials; temporary ones are cached and refreshed ahead of expiry.
    func credentials() async throws -> AWSCredentials
    /// Drops cached credentials so the next call fetches fresh ones (after ExpiredToken and
    /// similar auth failures).
    func invalidate() async
}

/// A provider that always answers the same credentials.
public struct StaticCredentialProvider: CredentialProvider {
    public let value: AWSCredentials

    public init(_ value: AWSCredentials) {
        self.value = value
    }

    public func credentials() async throws -> AWSCredentials { value }
    public func invalidate() async {}
}

/// Why no credentials could be had. `description` names the source and never holds a secret.
public struct CredentialError: Error, Sendable, CustomStringConvertible {
    /// The source that failed, e.g. `environment`, `shared credentials file ~/.aws/credentials`,
    /// `credential_process`, `EC2 instance metadata (IMDSv2)`.
    public var source: String
    public var message: String

    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }

    public var description: String { "\(source): \(message)" }
}
