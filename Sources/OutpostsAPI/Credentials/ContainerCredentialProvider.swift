import AsyncHTTPClient
import Foundation
import NIOCore
import Support

/// Credentials from the ECS task role endpoint (or EKS Pod Identity / any container credential
/// agent speaking the same protocol).
///
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is appended to `http://169.254.170.2`;
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` is used as is, but (as botocore) plain http only to a
/// loopback address or the ECS/EKS agent hosts, so a misconfigured URL cannot ship the
/// `Authorization` token elsewhere. That token comes from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at every fetch: it rotates) or
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
public struct ContainerCredentialProvider: CredentialSource {
    public let environment: [String: String]
    /// Always the direct client: this endpoint is link-local and never goes through a proxy.
    public let httpClient: HTTPClient
    public let timeout: Duration
    public let attempts: Int
    public let retryDelay: Duration

    /// Hosts besides loopback addresses that may be reached over plain http (botocore's list).
    public static let allowedHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"]

    /// botocore's defaults: 2 s timeout, 3 attempts 1 s apart.
    public init(environment: [String: String], httpClient: any HTTPTransport, timeout: Duration = .seconds(2),
                attempts: Int = 3, retryDelay: Duration = .seconds(1)) {
        self.environment = environment
        self.httpClient = httpClient.directClient
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.retryDelay = retryDelay
    }

    private var relativeURI: String? { environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"].flatMap { $0.isEmpty ? nil : $0 } }
    private var fullURI: String? { environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The URL credentials are fetched from, if configured.
    public var url: String? {
        if let relativeURI { return "http://169.254.170.2" + relativeURI }
        return fullURI
    }

    public var sourceName: String {
        guard let url else { return "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI unset)" }
        return "container credentials \(Self.redactQuery(url))"
    }

    public func lookup() async throws -> CredentialLookup {
        guard let url else { return .unavailable(note: nil) }
        if relativeURI == nil {
            try validateFullURI(url)
        }
        var lastError: CredentialError?
        for attempt in 1...attempts {
            if attempt > 1 { try await LoopSleep.sleep(for: retryDelay) }
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            request.headers.add(name: "Accept", value: "application/json")
            if let token = try authorizationToken() { request.headers.add(name: "Authorization", value: token) }
            let status: Int
            let body: [UInt8]
            do {
                (status, body) = try await CredentialSupport.fetch(request, client: httpClient, timeout: timeout)
            } catch {
                lastError = CredentialError(source: sourceName, message: "not reachable: \(TransportError.describe(error))")
                continue
            }
            guard status == 200 else {
                lastError = CredentialError(source: sourceName, message: "answered HTTP \(status)")
                continue
            }
            do {
                return .found(try CredentialSupport.credentialsFromJSON(body, source: sourceName, tokenKeys: ["Token"]))
            } catch let error as CredentialError {
                lastError = error
            }
        }
        throw lastError ?? CredentialError(source: sourceName, message: "no attempt was made")
    }

    private func authorizationToken() throws -> String? {
        var token: String?
        if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !file.isEmpty {
            do {
                guard let text = try CredentialSupport.readTextFile(file) else {
                    throw CredentialError(source: sourceName, message: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file) does not exist")
                }
                // A trailing newline is how most tools write files, not part of the token.
                token = text.trimmingCharacters(in: .newlines)
            } catch let error as CredentialSupport.FileReadError {
                throw CredentialError(source: sourceName, message: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(error)")
            }
        } else if let value = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] {
            token = value
        }
        if let token, token.contains("\r") || token.contains("\n") {
            throw CredentialError(source: sourceName, message: "the authorization token is not a legal header value (line break)")
        }
        return token
    }

    private func validateFullURI(_ raw: String) throws {
        guard let components = URLComponents(string: raw), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            throw CredentialError(source: sourceName, message: "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL")
        }
        if scheme == "https" { return }
        guard scheme == "http" else {
            throw CredentialError(source: sourceName, message: "AWS_CONTAINER_CREDENTIALS_FULL_URI must use http or https")
        }
        let bareHost = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if Self.isLoopback(bareHost) || Self.allowedHosts.contains(bareHost) { return }
        throw CredentialError(source: sourceName, message: "unsupported host \(bareHost): plain http is allowed only to a loopback address or one of \(Self.allowedHosts.sorted().joined(separator: ", "))")
    }

    /// An IP literal in 127.0.0.0/8 or `::1` (host names other than `localhost` are not resolved).
    static func isLoopback(_ host: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            if bytes == Array(repeating: 0, count: 15) + [1] { return true }
            // IPv4-mapped loopback ::ffff:127.x.y.z
            return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
        }
        return false
    }

    /// Query strings of credential URLs can carry tokens; names keep only scheme, host and path.
    static func redactQuery(_ url: String) -> String {
        guard let index = url.firstIndex(of: "?") else { return url }
        return String(url[..<index]) + "?…"
    }
}
