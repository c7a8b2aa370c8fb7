import AsyncHTTPClient
import Foundation

/// The standard AWS credential chain, cached: the first source that is configured answers.
///
/// A source that is not configured is skipped; a source that is configured but fails stops the
/// chain with its own error (a broken profile must not silently fall back to another identity).
/// When no source answers, one error lists everything tried. The result is cached by a
/// ``CachingCredentialProvider``, so the chain is walked once per credential lifetime.
public struct CredentialChain: CredentialProvider {
    /// The sources in the order they are tried.
    public let sources: [any CredentialSource]
    private let cache: CachingCredentialProvider

    /// A chain of these sources, tried in order and cached.
    public init(sources: [any CredentialSource], now: @escaping @Sendable () -> Date = { Date() }) {
        self.init(sources: sources, preflight: nil, assumeRole: nil, now: now)
    }

    /// - Parameter assumeRole: when set, the walked sources only provide the credentials this
    ///   AssumeRole is signed with, and the chain answers the role's credentials.
    init(sources: [any CredentialSource], preflight: (@Sendable () throws -> Void)?,
         assumeRole: (@Sendable (any CredentialProvider) -> AssumeRoleCredentialProvider)?,
         now: @escaping @Sendable () -> Date = { Date() }) {
        self.sources = sources
        let walker = ChainWalker(sources: sources, preflight: preflight)
        if let assumeRole {
            let sourceCache = CachingCredentialProvider(walker, now: now)
            self.cache = CachingCredentialProvider(assumeRole(sourceCache), now: now)
        } else {
            self.cache = CachingCredentialProvider(walker, now: now)
        }
    }

    public func credentials() async throws -> AWSCredentials {
        try await cache.credentials()
    }

    public func invalidate() async {
        await cache.invalidate()
    }

    /// The chain outpostwatch uses, in botocore's order:
    ///
    /// 1. environment (`AWS_ACCESS_KEY_ID`…), skipped when `profile` is given, as botocore skips
    ///    it for a profile passed to the session;
    /// 2. web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, or the profile's);
    /// 3. the profile of the shared credentials/config files (`role_arn` with `source_profile` or
    ///    `credential_source`, keys, `credential_process`);
    /// 4. systemd credentials in `$CREDENTIALS_DIRECTORY`;
    /// 5. ECS/EKS container credentials;
    /// 6. EC2 instance metadata (IMDSv2).
    ///
    /// With `roleArn` (the config's `[aws] role_arn`) the credentials found this way are only
    /// used to call STS AssumeRole for that role. The profile is `profile`, else
    /// `AWS_DEFAULT_PROFILE`, else `AWS_PROFILE`, else `default`; a profile named that way which
    /// neither file defines is an error, as in botocore.
    public static func standard(profile: String?, roleArn: String?, externalId: String? = nil, region: String,
                                environment: [String: String], httpClient: any HTTPTransport) -> CredentialChain {
        standard(profile: profile, roleArn: roleArn, externalId: externalId, region: region, environment: environment,
                 httpClient: httpClient, now: { Date() })
    }

    /// ``standard(profile:roleArn:region:environment:httpClient:)`` with a clock, for tests.
    public static func standard(profile: String?, roleArn: String?, externalId: String? = nil, region: String,
                                environment: [String: String], httpClient: any HTTPTransport,
                                now: @escaping @Sendable () -> Date) -> CredentialChain {
        let configuredProfile = profile.flatMap { $0.isEmpty ? nil : $0 }
        let selection = AWSConfigFiles.selectProfile(configured: configuredProfile, environment: environment)
        let profileFromConfig = configuredProfile != nil
        var sources: [any CredentialSource] = []
        if !profileFromConfig {
            sources.append(EnvironmentCredentialProvider(environment: environment))
        }
        sources.append(StandardWebIdentitySource(profileName: selection.name, useEnvironment: !profileFromConfig,
                                                 environment: environment, httpClient: httpClient, region: region))
        sources.append(ProfileCredentialProvider(profileName: selection.name, explicit: selection.explicit,
                                                 environment: environment, httpClient: httpClient, region: region))
        sources.append(SystemdCredentialProvider(environment: environment))
        sources.append(ContainerCredentialProvider(environment: environment, httpClient: httpClient))
        sources.append(InstanceMetadataCredentialProvider(environment: environment, httpClient: httpClient))

        var preflight: (@Sendable () throws -> Void)?
        if selection.explicit {
            let name = selection.name
            preflight = { @Sendable in
                let files = try AWSConfigFiles.load(environment: environment)
                if files.profile(name) == nil {
                    throw ProfileCredentialProvider.profileNotFound(name, files: files)
                }
            }
        }
        let assumeRole: (@Sendable (any CredentialProvider) -> AssumeRoleCredentialProvider)?
        if let roleArn = roleArn.flatMap({ $0.isEmpty ? nil : $0 }) {
            assumeRole = { source in
                AssumeRoleCredentialProvider(roleArn: roleArn, externalId: externalId, source: source,
                                             sts: STSClient(region: region, environment: environment, httpClient: httpClient))
            }
        } else {
            assumeRole = nil
        }
        return CredentialChain(sources: sources, preflight: preflight, assumeRole: assumeRole, now: now)
    }
}

/// Walks the sources once, uncached.
struct ChainWalker: CredentialProvider {
    let sources: [any CredentialSource]
    let preflight: (@Sendable () throws -> Void)?

    func credentials() async throws -> AWSCredentials {
        try preflight?()
        var tried: [String] = []
        for source in sources {
            switch try await source.lookup() {
            case .found(let credentials):
                return credentials
            case .unavailable(let note):
                tried.append(note.map { "\(source.sourceName): \($0)" } ?? source.sourceName)
            }
        }
        throw CredentialError(source: "AWS credential chain", message: "no AWS credentials found (tried: \(tried.joined(separator: ", ")))")
    }

    func invalidate() async {
        for source in sources { await source.invalidate() }
    }
}
