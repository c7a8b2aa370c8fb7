import Foundation

/// Temporary credentials for a role, from STS AssumeRole signed with another provider's
/// credentials (a source profile, `credential_source`, or the rest of the chain when the
/// outpostwatch config names `role_arn`).
///
/// Uncached: wrap it in ``CachingCredentialProvider`` (``CredentialChain`` does) so STS is
/// called once per session lifetime, not once per request.
public struct AssumeRoleCredentialProvider: CredentialSource {
    public let roleArn: String
    /// `nil`: a fresh `outpostwatch-{epoch}` per session.
    public let sessionName: String?
    public let externalId: String?
    public let durationSeconds: Int?
    public let source: any CredentialProvider
    public let sts: STSClient

    public init(roleArn: String, sessionName: String? = nil, externalId: String? = nil, durationSeconds: Int? = nil,
                source: any CredentialProvider, sts: STSClient) {
        self.roleArn = roleArn
        self.sessionName = sessionName
        self.externalId = externalId
        self.durationSeconds = durationSeconds
        self.source = source
        self.sts = sts
    }

    public var sourceName: String { "STS AssumeRole of \(roleArn)" }

    public func lookup() async throws -> CredentialLookup {
        let sourceCredentials: AWSCredentials
        do {
            sourceCredentials = try await source.credentials()
        } catch let error as CredentialError {
            throw CredentialError(source: sourceName, message: "no source credentials: \(error)")
        }
        return .found(try await sts.assumeRole(roleArn: roleArn, sessionName: sessionName ?? STSClient.defaultSessionName(),
                                               durationSeconds: durationSeconds, externalId: externalId,
                                               sourceCredentials: sourceCredentials))
    }

    /// Drops the source's cached credentials too: an auth failure may be theirs.
    public func invalidate() async {
        await source.invalidate()
    }
}

/// Temporary credentials for a role from STS AssumeRoleWithWebIdentity, exchanging an OIDC token
/// read from a file (EKS IRSA, GitHub Actions and similar federations). The file is read at every
/// fetch because those tokens rotate.
public struct WebIdentityCredentialProvider: CredentialSource {
    public let roleArn: String
    public let tokenFile: String
    public let sessionName: String?
    public let sts: STSClient
    /// Where the settings came from, e.g. `web identity (AWS_WEB_IDENTITY_TOKEN_FILE)`.
    public let origin: String

    public init(roleArn: String, tokenFile: String, sessionName: String? = nil, sts: STSClient,
                origin: String = "web identity") {
        self.roleArn = roleArn
        self.tokenFile = tokenFile
        self.sessionName = sessionName
        self.sts = sts
        self.origin = origin
    }

    public var sourceName: String { "\(origin): STS AssumeRoleWithWebIdentity of \(roleArn)" }

    public func lookup() async throws -> CredentialLookup {
        let token: String
        do {
            guard let text = try CredentialSupport.readTextFile(tokenFile) else {
                throw CredentialError(source: sourceName, message: "token file \(tokenFile) does not exist")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } catch let error as CredentialSupport.FileReadError {
            throw CredentialError(source: sourceName, message: "token file \(error)")
        }
        guard !token.isEmpty else {
            throw CredentialError(source: sourceName, message: "token file \(tokenFile) is empty")
        }
        return .found(try await sts.assumeRoleWithWebIdentity(roleArn: roleArn, sessionName: sessionName ?? STSClient.defaultSessionName(),
                                                              webIdentityToken: token))
    }
}
