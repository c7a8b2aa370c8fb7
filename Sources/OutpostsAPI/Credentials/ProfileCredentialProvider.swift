import AsyncHTTPClient
import Foundation

/// Credentials of one profile of the shared credentials and config files, in botocore's order:
/// `role_arn` (with `source_profile` or `credential_source`, AssumeRole through STS, chains of
/// roles followed), then `web_identity_token_file`, then `aws_access_key_id` & co. from the
/// credentials file, then `credential_process`, then keys in the config file.
///
/// The files are re-read at every lookup (that is, at every refresh, not every request), so a
/// rotated key file is picked up without a restart.
public struct ProfileCredentialProvider: CredentialSource {
    public let profileName: String
    /// Named by the config, `AWS_DEFAULT_PROFILE` or `AWS_PROFILE`: then a missing profile is an error.
    public let explicit: Bool
    public let environment: [String: String]
    public let httpClient: any HTTPTransport
    /// Region of the STS calls for `role_arn` profiles.
    public let region: String
    public let processTimeout: Duration

    public init(profileName: String, explicit: Bool, environment: [String: String], httpClient: any HTTPTransport,
                region: String, processTimeout: Duration = .seconds(30)) {
        self.profileName = profileName
        self.explicit = explicit
        self.environment = environment
        self.httpClient = httpClient
        self.region = region
        self.processTimeout = processTimeout
    }

    public var sourceName: String {
        let paths = AWSConfigFiles.locations(environment: environment)
        return "shared credentials file \(paths.credentialsFile) and config file \(paths.configFile) (profile \(profileName))"
    }

    public func lookup() async throws -> CredentialLookup {
        let files = try AWSConfigFiles.load(environment: environment)
        guard files.profile(profileName) != nil else {
            if explicit { throw Self.profileNotFound(profileName, files: files) }
            let notes = files.notes
            return .unavailable(note: notes.isEmpty ? "no such profile" : notes.joined(separator: "; "))
        }
        var resolver = ProfileResolver(files: files, environment: environment, httpClient: httpClient, region: region,
                                       processTimeout: processTimeout, visited: [profileName])
        return try await resolver.resolve(profileName)
    }

    /// The error for an explicitly named profile that neither file defines (botocore's ProfileNotFound).
    static func profileNotFound(_ name: String, files: AWSConfigFiles) -> CredentialError {
        var message = "profile \"\(name)\" not found in \(files.credentialsFile) or \(files.configFile)"
        if !files.notes.isEmpty { message += " (\(files.notes.joined(separator: "; ")))" }
        return CredentialError(source: "AWS profile \(name)", message: message)
    }
}

/// Walks `role_arn` / `source_profile` chains as botocore's AssumeRoleProvider does, keeping the
/// profiles visited to refuse loops.
struct ProfileResolver {
    let files: AWSConfigFiles
    let environment: [String: String]
    let httpClient: any HTTPTransport
    let region: String
    let processTimeout: Duration
    var visited: [String]

    func source(_ name: String) -> String { "profile \(name)" }

    mutating func resolve(_ name: String) async throws -> CredentialLookup {
        guard let profile = files.profile(name) else {
            throw CredentialError(source: source(name), message: "profile not found in \(files.credentialsFile) or \(files.configFile)")
        }
        if Self.hasAssumeRoleSettings(profile) {
            return .found(try await assumeRole(name, profile))
        }
        return try await resolveWithoutRole(name, profile)
    }

    /// botocore's profile providers for a profile: web identity, IAM Identity Center (SSO),
    /// credentials-file keys, credential_process, config-file keys.
    func resolveWithoutRole(_ name: String, _ profile: AWSConfigProfile) async throws -> CredentialLookup {
        if let tokenFile = profile["web_identity_token_file"] {
            guard let roleArn = profile["role_arn"], !roleArn.isEmpty else {
                throw CredentialError(source: source(name), message: "web_identity_token_file is set but role_arn is not")
            }
            let provider = WebIdentityCredentialProvider(
                roleArn: roleArn, tokenFile: CredentialSupport.expandPath(tokenFile, environment: environment),
                sessionName: profile["role_session_name"], sts: sts(), origin: "web identity of profile \(name)")
            return try await provider.lookup()
        }
        if let sso = try SSOProfileSettings(profileName: name, profile: profile, files: files) {
            return try await SSOCredentialProvider(profileName: name, settings: sso, environment: environment,
                                                   httpClient: httpClient).lookup()
        }
        if let section = files.credentialsProfiles[name], StaticProfileKeys.has(section) {
            return .found(try StaticProfileKeys.credentials(from: section, source: "shared credentials file \(files.credentialsFile) (profile \(name))"))
        }
        if let command = profile["credential_process"], !command.isEmpty {
            let provider = ProcessCredentialProvider(command: command, timeout: processTimeout,
                                                     origin: "credential_process of profile \(name)", environment: environment)
            return try await provider.lookup()
        }
        if let section = files.configProfiles[name], StaticProfileKeys.has(section) {
            return .found(try StaticProfileKeys.credentials(from: section, source: "config file \(files.configFile) (profile \(name))"))
        }
        return .unavailable(note: "profile \(name) holds no credentials")
    }

    static func hasAssumeRoleSettings(_ profile: AWSConfigProfile) -> Bool {
        profile["role_arn"] != nil && profile["web_identity_token_file"] == nil
    }

    static func hasStaticKeys(_ profile: AWSConfigProfile) -> Bool {
        profile["aws_access_key_id"] != nil || profile["aws_secret_access_key"] != nil
    }

    private func sts() -> STSClient {
        STSClient(region: region, environment: environment, httpClient: httpClient)
    }

    private mutating func assumeRole(_ name: String, _ profile: AWSConfigProfile) async throws -> AWSCredentials {
        let roleArn = profile["role_arn"] ?? ""
        guard !roleArn.isEmpty else {
            throw CredentialError(source: source(name), message: "role_arn is empty")
        }
        if profile["mfa_serial"] != nil {
            throw CredentialError(source: source(name), message: "mfa_serial needs a code typed at a prompt, which a daemon cannot do; use a role without MFA or a credential_process")
        }
        var durationSeconds: Int?
        if let raw = profile["duration_seconds"] {
            guard let value = Int(raw) else {
                throw CredentialError(source: source(name), message: "duration_seconds is not a whole number")
            }
            durationSeconds = value
        }
        let sourceCredentials: AWSCredentials
        switch (profile["source_profile"], profile["credential_source"]) {
        case (_?, _?):
            throw CredentialError(source: source(name), message: "has both source_profile and credential_source; set only one")
        case (nil, nil):
            throw CredentialError(source: source(name), message: "role_arn needs source_profile or credential_source")
        case (nil, let credentialSource?):
            sourceCredentials = try await namedSource(credentialSource, profile: name)
        case (let sourceProfile?, nil):
            sourceCredentials = try await sourceProfileCredentials(sourceProfile, parent: name)
        }
        return try await sts().assumeRole(roleArn: roleArn, sessionName: profile["role_session_name"] ?? STSClient.defaultSessionName(),
                                          durationSeconds: durationSeconds, externalId: profile["external_id"],
                                          sourceCredentials: sourceCredentials)
    }

    /// `credential_source`: Environment, Ec2InstanceMetadata or EcsContainer (case-insensitive).
    private func namedSource(_ name: String, profile: String) async throws -> AWSCredentials {
        let provider: any CredentialSource
        switch name.lowercased() {
        case "environment":
            provider = EnvironmentCredentialProvider(environment: environment)
        case "ec2instancemetadata":
            provider = InstanceMetadataCredentialProvider(environment: environment, httpClient: httpClient)
        case "ecscontainer":
            provider = ContainerCredentialProvider(environment: environment, httpClient: httpClient)
        default:
            throw CredentialError(source: source(profile), message: "credential_source \"\(name)\" is not one of Environment, Ec2InstanceMetadata, EcsContainer")
        }
        switch try await provider.lookup() {
        case .found(let credentials):
            return credentials
        case .unavailable(let note):
            throw CredentialError(source: source(profile), message: "no credentials found in credential_source \(name) (\(provider.sourceName)\(note.map { ": \($0)" } ?? ""))")
        }
    }

    private mutating func sourceProfileCredentials(_ sourceName: String, parent: String) async throws -> AWSCredentials {
        guard let sourceProfile = files.profile(sourceName) else {
            throw CredentialError(source: source(parent), message: "source_profile \"\(sourceName)\" does not exist")
        }
        if visited.contains(sourceName) {
            // A profile may name itself to take its own static keys; any other revisit is a loop.
            guard sourceName == parent, Self.hasStaticKeys(sourceProfile) else {
                throw CredentialError(source: source(parent), message: "source_profile loop: \((visited + [sourceName]).joined(separator: " → "))")
            }
            return try StaticProfileKeys.credentials(from: sourceProfile, source: source(sourceName))
        }
        visited.append(sourceName)
        if Self.hasStaticKeys(sourceProfile) || !Self.hasAssumeRoleSettings(sourceProfile) {
            switch try await resolveWithoutRole(sourceName, sourceProfile) {
            case .found(let credentials):
                return credentials
            case .unavailable:
                throw CredentialError(source: source(parent), message: "source_profile \"\(sourceName)\" has no credentials")
            }
        }
        return try await assumeRole(sourceName, sourceProfile)
    }
}

/// The chain's web identity step: `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` and
/// `AWS_ROLE_SESSION_NAME`, each falling back to the profile's `web_identity_token_file`,
/// `role_arn`, `role_session_name` (botocore reads them key by key). The environment is ignored
/// when a profile was named in the outpostwatch config, as botocore ignores it for a profile
/// given to the session.
struct StandardWebIdentitySource: CredentialSource {
    let profileName: String
    let useEnvironment: Bool
    let environment: [String: String]
    let httpClient: any HTTPTransport
    let region: String

    var sourceName: String {
        useEnvironment ? "web identity (AWS_WEB_IDENTITY_TOKEN_FILE or profile \(profileName))"
            : "web identity (profile \(profileName))"
    }

    func lookup() async throws -> CredentialLookup {
        func fromEnvironment(_ name: String) -> String? {
            guard useEnvironment, let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        var profile: AWSConfigProfile?
        func fromProfile(_ key: String) throws -> String? {
            if profile == nil {
                profile = try AWSConfigFiles.load(environment: environment).profile(profileName) ?? AWSConfigProfile()
            }
            return profile?[key].flatMap { $0.isEmpty ? nil : $0 }
        }
        let envTokenFile = fromEnvironment("AWS_WEB_IDENTITY_TOKEN_FILE")
        guard let tokenFile = try envTokenFile ?? fromProfile("web_identity_token_file") else {
            return .unavailable(note: nil)
        }
        let origin = envTokenFile != nil ? "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)" : "web identity of profile \(profileName)"
        guard let roleArn = try fromEnvironment("AWS_ROLE_ARN") ?? fromProfile("role_arn") else {
            throw CredentialError(source: origin, message: "a web identity token file is configured but no role ARN (set AWS_ROLE_ARN or the profile's role_arn)")
        }
        let sessionName = try fromEnvironment("AWS_ROLE_SESSION_NAME") ?? fromProfile("role_session_name")
        let provider = WebIdentityCredentialProvider(
            roleArn: roleArn, tokenFile: CredentialSupport.expandPath(tokenFile, environment: environment), sessionName: sessionName,
            sts: STSClient(region: region, environment: environment, httpClient: httpClient), origin: origin)
        return try await provider.lookup()
    }
}
