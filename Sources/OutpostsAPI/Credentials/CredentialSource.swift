import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// What one source of the credential chain found.
public enum CredentialLookup: Sendable {
    /// The source is configured and produced these credentials.
    case found(AWSCredentials)
    /// The source is not configured (or, for instance metadata, not reachable), so the chain moves
    /// on. The note, if any, says why, and goes into the chain's "tried" list; it never holds a secret.
    case unavailable(note: String?)
}

/// One source of the standard credential chain (environment, a profile, instance metadata…).
///
/// The chain needs to tell "nothing configured here, try the next one" apart from "configured but
/// broken": the first lets it move on, the second must stop it with the source's own error,
/// as botocore does (a half-set environment must not silently fall through to instance metadata).
public protocol CredentialSource: CredentialProvider {
    /// How the source is named in errors and in the chain's "tried" list, e.g. `environment` or
    /// `shared credentials file /root/.aws/credentials (profile default)`.
    var sourceName: String { get }
    /// Looks the credentials up once, without caching. Throws ``CredentialError`` when the source
    /// is configured but fails.
    func lookup() async throws -> CredentialLookup
}

extension CredentialSource {
    /// One uncached lookup; an unconfigured source is an error naming it.
    public func credentials() async throws -> AWSCredentials {
        switch try await lookup() {
        case .found(let credentials):
            return credentials
        case .unavailable(let note):
            throw CredentialError(source: sourceName, message: note ?? "not configured")
        }
    }

    /// Sources keep no cache; ``CachingCredentialProvider`` does.
    public func invalidate() async {}
}

// MARK: - Shared helpers

/// Parsing and I/O helpers shared by the credential sources.
enum CredentialSupport {
    /// Timestamps in credential answers: ISO-8601 with or without fractional seconds (IMDS, ECS,
    /// credential_process, STS all use variants of it).
    static func parseTimestamp(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: trimmed) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: trimmed) { return date }
        // Epoch seconds, which some credential helpers print.
        if let seconds = Double(trimmed), seconds.isFinite { return Date(timeIntervalSince1970: seconds) }
        return nil
    }

    /// The JSON shape shared by IMDS, the ECS endpoint and credential_process output:
    /// `AccessKeyId`, `SecretAccessKey`, `Token` or `SessionToken`, `Expiration`.
    static func credentialsFromJSON(_ bytes: [UInt8], source: String, tokenKeys: [String]) throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CredentialError(source: source, message: "the answer is not a JSON object")
        }
        func string(_ key: String) -> String? {
            guard let value = object[key] as? String, !value.isEmpty else { return nil }
            return value
        }
        guard let accessKeyId = string("AccessKeyId") else {
            throw CredentialError(source: source, message: "the answer has no AccessKeyId")
        }
        guard let secret = string("SecretAccessKey") else {
            throw CredentialError(source: source, message: "the answer has no SecretAccessKey")
        }
        let token = tokenKeys.lazy.compactMap(string).first
        var expiration: Date?
        if let raw = object["Expiration"] {
            if let text = raw as? String, let date = parseTimestamp(text) {
                expiration = date
            } else if let seconds = raw as? Double {
                expiration = Date(timeIntervalSince1970: seconds)
            } else {
                throw CredentialError(source: source, message: "the answer's Expiration is not a timestamp")
            }
        }
        return AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }

    /// Reads a small text file; `nil` when it does not exist.
    static func readTextFile(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileReadError(path: path, reason: "not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FileReadError(path: path, reason: "not valid UTF-8")
        }
        return text
    }

    /// Why a file could not be read; its contents never appear.
    struct FileReadError: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "\(path): \(reason)" }
    }

    /// Sends one request and collects at most `limit` bytes of its body.
    static func fetch(_ request: HTTPClientRequest, client: any HTTPTransport, timeout: Duration,
                      limit: Int = 64 * 1024) async throws -> (status: Int, body: [UInt8]) {
        let response = try await client.execute(request, deadline: .now() + TimeAmount(timeout), logger: nil)
        let buffer = try await response.body.collect(upTo: limit)
        return (Int(response.status.code), Array(buffer.readableBytesView))
    }

    /// botocore's `os.path.expanduser` + `expandvars` for file settings, against the given
    /// environment rather than the process's.
    static func expandPath(_ path: String, environment: [String: String]) -> String {
        var result = expandVariables(path, environment: environment)
        if result == "~" || result.hasPrefix("~/") {
            result = homeDirectory(environment: environment) + result.dropFirst()
        }
        return result
    }

    static func homeDirectory(environment: [String: String]) -> String {
        if let home = environment["HOME"], !home.isEmpty { return home }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }

    /// `$NAME` and `${NAME}`; unknown variables stay as written, as in Python's `expandvars`.
    static func expandVariables(_ text: String, environment: [String: String]) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var index = text.startIndex
        func isNameCharacter(_ c: Character) -> Bool { c == "_" || (c.isASCII && (c.isLetter || c.isNumber)) }
        while index < text.endIndex {
            let c = text[index]
            guard c == "$" else {
                out.append(c)
                index = text.index(after: index)
                continue
            }
            let next = text.index(after: index)
            if next < text.endIndex, text[next] == "{", let close = text[next...].firstIndex(of: "}") {
                let name = String(text[text.index(after: next)..<close])
                if let value = environment[name] {
                    out += value
                } else {
                    out += text[index...close]
                }
                index = text.index(after: close)
                continue
            }
            var end = next
            while end < text.endIndex, isNameCharacter(text[end]) { end = text.index(after: end) }
            let name = String(text[next..<end])
            if !name.isEmpty, let value = environment[name] {
                out += value
            } else {
                out += text[index..<end]
            }
            index = end == next ? next : end
        }
        return out
    }
}
