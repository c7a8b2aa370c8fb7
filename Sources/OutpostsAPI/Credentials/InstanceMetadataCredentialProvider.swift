import AsyncHTTPClient
import Foundation
import NIOCore

/// Credentials of the EC2 instance profile role from the instance metadata service, IMDSv2 first.
///
/// PUT `/latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds: 21600`, then GET
/// `/latest/meta-data/iam/security-credentials/` for the role name and `…/{role}` for the keys,
/// both with `X-aws-ec2-metadata-token`. As botocore: if the token PUT is refused (403, 404, 405)
/// or gets no answer, IMDSv1 (no token) is tried unless `AWS_EC2_METADATA_V1_DISABLED=true`;
/// `AWS_EC2_METADATA_DISABLED=true` turns the source off; `AWS_EC2_METADATA_SERVICE_ENDPOINT`
/// (or `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`) moves it. Every request has a 1 s timeout
/// (`AWS_METADATA_SERVICE_TIMEOUT` seconds, as botocore, when set), so a host that is not on EC2
/// costs at most a few seconds once. Unreachable metadata means
/// "unavailable" (the chain reports it), not an error, since off EC2 that is the normal case.
public struct InstanceMetadataCredentialProvider: CredentialSource {
    public let environment: [String: String]
    /// Always the direct client: this endpoint is link-local and never goes through a proxy.
    public let httpClient: HTTPClient
    public let timeout: Duration

    /// - Parameter timeout: per request; `nil` takes `AWS_METADATA_SERVICE_TIMEOUT`, else 1 s.
    public init(environment: [String: String], httpClient: any HTTPTransport, timeout: Duration? = nil) {
        self.environment = environment
        self.httpClient = httpClient.directClient
        if let timeout {
            self.timeout = timeout
        } else if let raw = environment["AWS_METADATA_SERVICE_TIMEOUT"], let seconds = Double(raw), seconds > 0, seconds < 3600 {
            self.timeout = .milliseconds(Int(seconds * 1000))
        } else {
            self.timeout = .seconds(1)
        }
    }

    private func flag(_ name: String) -> Bool {
        environment[name]?.lowercased() == "true"
    }

    /// Base URL without trailing slash.
    public var endpoint: String {
        if let raw = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"], !raw.isEmpty {
            return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
        }
        if environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() == "ipv6" {
            return "http://[fd00:ec2::254]"
        }
        return "http://169.254.169.254"
    }

    public var sourceName: String {
        if flag("AWS_EC2_METADATA_DISABLED") { return "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)" }
        return "EC2 instance metadata (IMDSv2) at \(endpoint)"
    }

    public func lookup() async throws -> CredentialLookup {
        if flag("AWS_EC2_METADATA_DISABLED") { return .unavailable(note: nil) }
        let token: String?
        switch await fetchToken() {
        case .token(let value):
            token = value
        case .refused(let why), .noAnswer(let why):
            if flag("AWS_EC2_METADATA_V1_DISABLED") {
                return .unavailable(note: "no IMDSv2 token (\(why)) and IMDSv1 is disabled by AWS_EC2_METADATA_V1_DISABLED")
            }
            token = nil
        case .badRequest:
            return .unavailable(note: "the token request was rejected as bad (HTTP 400)")
        }
        let base = "/latest/meta-data/iam/security-credentials/"
        let roleAnswer = await get(base, token: token)
        guard case .ok(let roleBody) = roleAnswer else {
            return .unavailable(note: "role name: \(roleAnswer.reason)")
        }
        guard let role = String(decoding: roleBody, as: UTF8.self).split(whereSeparator: \.isNewline).first
            .map({ $0.trimmingCharacters(in: .whitespaces) }), !role.isEmpty else {
            return .unavailable(note: "no IAM role is attached to the instance")
        }
        let path = base + (role.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? role)
        let credentialAnswer = await get(path, token: token)
        guard case .ok(let body) = credentialAnswer else {
            return .unavailable(note: "credentials of role \(role): \(credentialAnswer.reason)")
        }
        do {
            return .found(try CredentialSupport.credentialsFromJSON(body, source: sourceName, tokenKeys: ["Token"]))
        } catch let error as CredentialError {
            return .unavailable(note: "credentials of role \(role): \(error.message)")
        }
    }

    private enum TokenAnswer {
        case token(String)
        case refused(String)
        case noAnswer(String)
        case badRequest
    }

    private enum GetAnswer {
        case ok([UInt8])
        case failed(String)
        var reason: String {
            switch self {
            case .ok: return "ok"
            case .failed(let why): return why
            }
        }
    }

    private func fetchToken() async -> TokenAnswer {
        var request = HTTPClientRequest(url: endpoint + "/latest/api/token")
        request.method = .PUT
        request.headers.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: "21600")
        do {
            let (status, body) = try await CredentialSupport.fetch(request, client: httpClient, timeout: timeout, limit: 4096)
            switch status {
            case 200:
                let token = String(decoding: body, as: UTF8.self)
                return token.isEmpty ? .noAnswer("empty token") : .token(token)
            case 400:
                return .badRequest
            default:
                return .refused("HTTP \(status)")
            }
        } catch {
            return .noAnswer(TransportError.describe(error))
        }
    }

    private func get(_ path: String, token: String?) async -> GetAnswer {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .GET
        if let token { request.headers.add(name: "X-aws-ec2-metadata-token", value: token) }
        do {
            let (status, body) = try await CredentialSupport.fetch(request, client: httpClient, timeout: timeout)
            guard status == 200 else { return .failed("HTTP \(status)") }
            guard !body.isEmpty else { return .failed("empty answer") }
            return .ok(body)
        } catch {
            return .failed(TransportError.describe(error))
        }
    }
}
