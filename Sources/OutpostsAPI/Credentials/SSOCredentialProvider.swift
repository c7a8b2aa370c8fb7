import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// The IAM Identity Center (SSO) settings of a profile, in either layout botocore reads
/// (docs/configuration.md, "AWS credentials"): `sso_session = NAME` with `sso_start_url` and
/// `sso_region` in `[sso-session NAME]`, or the legacy `sso_start_url` and `sso_region` in the
/// profile itself; both with `sso_account_id` and `sso_role_name`.
struct SSOProfileSettings: Equatable {
    var startURL: String
    var region: String
    var accountId: String
    var roleName: String
    /// The `sso_session` name, `nil` for the legacy layout.
    var session: String?

    /// The settings, `nil` when the profile is not an SSO profile; throws when it is one with
    /// keys missing.
    init?(profileName: String, profile: AWSConfigProfile, files: AWSConfigFiles) throws {
        let source = "SSO (profile \(profileName))"
        func required(_ key: String, in values: AWSConfigProfile, _ place: String) throws -> String {
            guard let value = values[key], !value.isEmpty else {
                throw CredentialError(source: source, message: "\(key) is missing from \(place)")
            }
            return value
        }
        if let session = profile["sso_session"] {
            guard let sessionValues = files.ssoSessions[session] else {
                throw CredentialError(source: source, message: "sso_session \"\(session)\" has no [sso-session \(session)] section in \(files.configFile)")
            }
            let place = "[sso-session \(session)]"
            startURL = try required("sso_start_url", in: sessionValues, place)
            region = try required("sso_region", in: sessionValues, place)
            for key in ["sso_start_url", "sso_region"] {
                if let own = profile[key], own != sessionValues[key] {
                    throw CredentialError(source: source, message: "\(key) of the profile differs from the one of \(place)")
                }
            }
            self.session = session
        } else if profile["sso_start_url"] != nil || profile["sso_account_id"] != nil || profile["sso_role_name"] != nil {
            startURL = try required("sso_start_url", in: profile, "the profile")
            region = try required("sso_region", in: profile, "the profile")
            session = nil
        } else {
            return nil
        }
        accountId = try required("sso_account_id", in: profile, "the profile")
        roleName = try required("sso_role_name", in: profile, "the profile")
    }
}

/// Role credentials of an SSO profile, as botocore's `SSOProvider` gets them: the access token
/// `aws sso login` cached in `~/.aws/sso/cache/SHA1.json` (SHA1 of the session name, or of the
/// start URL for the legacy layout), exchanged at the portal's `GetRoleCredentials`
/// (`GET /federation/credentials`, bearer token in `x-amz-sso_bearer_token`). The portal is
/// `AWS_ENDPOINT_URL_SSO`, else `AWS_ENDPOINT_URL`, else `https://portal.sso.REGION.amazonaws.com`.
/// The credentials expire; the chain's cache fetches new ones before they do, with the cached
/// token, until the token itself expires: then every lookup is the same error, telling the
/// operator to run `aws sso login --profile NAME`. (The token is not refreshed through SSO OIDC:
/// the next `aws sso login` does that.)
struct SSOCredentialProvider: CredentialSource {
    let profileName: String
    let settings: SSOProfileSettings
    let environment: [String: String]
    let httpClient: any HTTPTransport
    var timeout: Duration = .seconds(10)
    var now: @Sendable () -> Date = Date.init

    var sourceName: String { "SSO (profile \(profileName))" }

    func lookup() async throws -> CredentialLookup {
        let token = try cachedToken()
        var request = HTTPClientRequest(url: try portalURL())
        request.method = .GET
        request.headers.add(name: "x-amz-sso_bearer_token", value: token)
        request.headers.add(name: "accept", value: "application/json")
        let status: Int
        let body: [UInt8]
        do {
            (status, body) = try await CredentialSupport.fetch(request, client: httpClient, timeout: timeout)
        } catch {
            throw CredentialError(source: sourceName, message: "GetRoleCredentials \(TransportError.describe(error))")
        }
        guard (200..<300).contains(status) else {
            if status == 401 || status == 403 {
                throw expired("the SSO portal refused the cached token (HTTP \(status))")
            }
            throw CredentialError(source: sourceName, message: "GetRoleCredentials answered HTTP \(status)")
        }
        struct Answer: Decodable {
            struct Role: Decodable {
                var accessKeyId: String
                var secretAccessKey: String
                var sessionToken: String?
                var expiration: Double
            }
            var roleCredentials: Role
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(body)) else {
            throw CredentialError(source: sourceName, message: "GetRoleCredentials answer is not the expected JSON")
        }
        let role = answer.roleCredentials
        return .found(AWSCredentials(accessKeyId: role.accessKeyId, secretAccessKey: role.secretAccessKey,
                                     sessionToken: role.sessionToken,
                                     expiration: Date(timeIntervalSince1970: role.expiration / 1000)))
    }

    /// The token file `aws sso login` writes for this profile.
    var cacheFile: String {
        let key = settings.session ?? settings.startURL
        let digest = Insecure.SHA1.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
        return CredentialSupport.homeDirectory(environment: environment) + "/.aws/sso/cache/\(digest).json"
    }

    private func cachedToken() throws -> String {
        guard let text = try? CredentialSupport.readTextFile(cacheFile) else {
            throw expired("no cached SSO token (\(cacheFile))")
        }
        struct Cached: Decodable {
            var accessToken: String
            var expiresAt: String
        }
        guard let cached = try? JSONDecoder().decode(Cached.self, from: Data(text.utf8)),
              let expiresAt = Self.parseTime(cached.expiresAt) else {
            throw expired("the cached SSO token \(cacheFile) is not readable JSON with accessToken and expiresAt")
        }
        guard expiresAt > now() else {
            throw expired("the SSO token expired at \(expiresAt.ISO8601Format())")
        }
        return cached.accessToken
    }

    private func portalURL() throws -> String {
        let configured = [environment["AWS_ENDPOINT_URL_SSO"], environment["AWS_ENDPOINT_URL"]]
            .compactMap { $0 }.first { !$0.isEmpty }
        var base = configured ?? "https://portal.sso.\(settings.region).amazonaws.com"
        while base.hasSuffix("/") { base.removeLast() }
        var components = URLComponents(string: base + "/federation/credentials")
        components?.queryItems = [URLQueryItem(name: "role_name", value: settings.roleName),
                                  URLQueryItem(name: "account_id", value: settings.accountId)]
        guard let url = components?.url?.absoluteString, base.hasPrefix("http") else {
            throw CredentialError(source: sourceName, message: "the SSO portal endpoint \(base) is not an http(s) URL")
        }
        return url
    }

    /// The one error of an SSO profile without a usable login.
    private func expired(_ reason: String) -> CredentialError {
        CredentialError(source: sourceName,
                        message: "\(reason); log in again with: aws sso login --profile \(profileName)")
    }

    /// `2026-12-02T09:00:00Z`, with or without fractional seconds, or `+00:00`.
    static func parseTime(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return plain.date(from: text) ?? fractional.date(from: text)
    }
}
