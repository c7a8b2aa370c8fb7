import Foundation
import Support

/// Credentials handed to the service by systemd (`LoadCredential=` / `SetCredentialEncrypted=`),
/// found in `$CREDENTIALS_DIRECTORY` and read with ``SystemdCredentials``.
///
/// Either the files `aws-access-key-id` and `aws-secret-access-key` (and optionally
/// `aws-session-token`), each holding one value (trailing line breaks ignored, the rule of
/// ``SystemdCredentials``; a file empty after that counts as missing), or one file
/// `aws-credentials` in the shared-credentials format, profile `default`.
/// The separate files win when both exist. This keeps keys out of the unit file and out of the
/// environment, where any process of the same user could read them.
public struct SystemdCredentialProvider: CredentialSource {
    /// The value of `$CREDENTIALS_DIRECTORY`, if set.
    public let directory: String?
    private let environment: [String: String]

    public init(environment: [String: String]) {
        self.directory = SystemdCredentials.directory(environment: environment)
        self.environment = environment
    }

    public var sourceName: String {
        guard let directory else { return "systemd credentials ($CREDENTIALS_DIRECTORY unset)" }
        return "systemd credentials in \(directory)"
    }

    public func lookup() async throws -> CredentialLookup {
        guard directory != nil else { return .unavailable(note: nil) }
        func file(_ name: String) throws -> String? {
            do {
                return try SystemdCredentials.read(name: name, environment: environment)
            } catch {
                throw CredentialError(source: sourceName, message: "\(error)")
            }
        }
        func value(_ name: String) throws -> String? {
            try file(name).flatMap { $0.isEmpty ? nil : $0 }
        }
        let accessKeyId = try value("aws-access-key-id")
        let secret = try value("aws-secret-access-key")
        switch (accessKeyId, secret) {
        case (let accessKeyId?, let secret?):
            return .found(AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secret,
                                         sessionToken: try value("aws-session-token")))
        case (_?, nil):
            throw CredentialError(source: sourceName, message: "aws-access-key-id is present but aws-secret-access-key is missing or empty")
        case (nil, _?):
            throw CredentialError(source: sourceName, message: "aws-secret-access-key is present but aws-access-key-id is missing or empty")
        case (nil, nil):
            break
        }
        guard let text = try file("aws-credentials") else {
            return .unavailable(note: "no aws-access-key-id or aws-credentials file")
        }
        let filePath = SystemdCredentials.path(name: "aws-credentials", environment: environment) ?? "aws-credentials"
        let sections = try AWSConfigFiles.parseSections(text, source: "systemd credential \(filePath)")
        guard let profile = sections.last(where: { $0.name == "default" })?.profile else {
            throw CredentialError(source: sourceName, message: "aws-credentials has no [default] section")
        }
        return .found(try StaticProfileKeys.credentials(from: profile, source: "\(sourceName) (aws-credentials [default])"))
    }
}

/// The static keys of a profile section: `aws_access_key_id`, `aws_secret_access_key` and
/// `aws_security_token` / `aws_session_token` (botocore's order).
enum StaticProfileKeys {
    static func has(_ profile: AWSConfigProfile) -> Bool {
        profile["aws_access_key_id"] != nil
    }

    static func credentials(from profile: AWSConfigProfile, source: String) throws -> AWSCredentials {
        guard let accessKeyId = profile["aws_access_key_id"], !accessKeyId.isEmpty else {
            throw CredentialError(source: source, message: "aws_access_key_id is missing or empty")
        }
        guard let secret = profile["aws_secret_access_key"], !secret.isEmpty else {
            throw CredentialError(source: source, message: "aws_access_key_id is set but aws_secret_access_key is missing or empty")
        }
        let token = profile["aws_security_token"] ?? profile["aws_session_token"]
        return AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secret,
                              sessionToken: token.flatMap { $0.isEmpty ? nil : $0 })
    }
}
