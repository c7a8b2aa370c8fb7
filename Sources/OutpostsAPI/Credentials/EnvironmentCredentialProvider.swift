import Foundation

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SECURITY_TOKEN` /
/// `AWS_SESSION_TOKEN` (checked in that order, as botocore does), with an optional
/// `AWS_CREDENTIAL_EXPIRATION`.
///
/// Configured when `AWS_ACCESS_KEY_ID` is non-empty; a key id without a secret is an error, not
/// a reason to fall through to other sources.
public struct EnvironmentCredentialProvider: CredentialSource {
    public let environment: [String: String]
    public var sourceName: String { "environment" }

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public func lookup() async throws -> CredentialLookup {
        func value(_ name: String) -> String? {
            guard let raw = environment[name], !raw.isEmpty else { return nil }
            return raw
        }
        guard let accessKeyId = value("AWS_ACCESS_KEY_ID") else {
            return .unavailable(note: nil)
        }
        guard let secret = value("AWS_SECRET_ACCESS_KEY") else {
            throw CredentialError(source: sourceName, message: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
        let token = value("AWS_SECURITY_TOKEN") ?? value("AWS_SESSION_TOKEN")
        var expiration: Date?
        if let raw = value("AWS_CREDENTIAL_EXPIRATION") {
            guard let date = CredentialSupport.parseTimestamp(raw) else {
                throw CredentialError(source: sourceName, message: "AWS_CREDENTIAL_EXPIRATION is not an ISO-8601 timestamp")
            }
            expiration = date
        }
        return .found(AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secret, sessionToken: token,
                                     expiration: expiration))
    }
}
