import AsyncHTTPClient
import Foundation
import NIOCore
import Support

/// The two AWS STS calls the credential chain needs, AssumeRole (SigV4-signed, service `sts`)
/// and AssumeRoleWithWebIdentity (unsigned), in the AWS query protocol: a form-encoded POST
/// answered with XML.
///
/// The endpoint is `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the regional
/// `https://sts.{region}.amazonaws.com` (botocore's default since regional STS endpoints became
/// the default). Network errors, 5xx and throttling are retried with backoff.
public struct STSClient: Sendable {
    public let region: String
    public let endpoint: URL
    public let httpClient: any HTTPTransport
    public let timeout: Duration
    public let maxAttempts: Int
    public let retryBaseDelay: Duration

    public init(region: String, environment: [String: String], httpClient: any HTTPTransport, timeout: Duration = .seconds(10),
                maxAttempts: Int = 3, retryBaseDelay: Duration = .milliseconds(500)) {
        self.region = region
        self.endpoint = Self.endpoint(region: region, environment: environment)
        self.httpClient = httpClient
        self.timeout = timeout
        self.maxAttempts = max(1, maxAttempts)
        self.retryBaseDelay = retryBaseDelay
    }

    /// The STS endpoint for a region, honouring the endpoint override variables.
    public static func endpoint(region: String, environment: [String: String]) -> URL {
        for variable in ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"] {
            if let raw = environment[variable]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty,
               let url = URL(string: raw), url.scheme != nil, url.host != nil {
                return url
            }
        }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return URL(string: "https://sts.\(region).\(suffix)")!
    }

    /// `AssumeRole` with the given source credentials. Errors name the role, never a key.
    public func assumeRole(roleArn: String, sessionName: String, durationSeconds: Int? = nil, externalId: String? = nil,
                           sourceCredentials: AWSCredentials) async throws -> AWSCredentials {
        var parameters = [("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleArn),
                          ("RoleSessionName", sessionName)]
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        if let externalId { parameters.append(("ExternalId", externalId)) }
        return try await call(parameters: parameters, source: "STS AssumeRole of \(roleArn)",
                              signingCredentials: sourceCredentials,
                              secrets: [sourceCredentials.secretAccessKey, sourceCredentials.sessionToken].compactMap { $0 })
    }

    /// `AssumeRoleWithWebIdentity` (unsigned: the token is the proof).
    public func assumeRoleWithWebIdentity(roleArn: String, sessionName: String, webIdentityToken: String,
                                          durationSeconds: Int? = nil) async throws -> AWSCredentials {
        var parameters = [("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleArn),
                          ("RoleSessionName", sessionName), ("WebIdentityToken", webIdentityToken)]
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        return try await call(parameters: parameters, source: "STS AssumeRoleWithWebIdentity of \(roleArn)",
                              signingCredentials: nil, secrets: [webIdentityToken])
    }

    /// A session name for a fresh session: `outpostwatch-{epoch seconds}`, as botocore's
    /// `botocore-session-{epoch}`, so CloudTrail shows which program assumed the role.
    public static func defaultSessionName(now: Date = Date()) -> String {
        "outpostwatch-\(Int(now.timeIntervalSince1970))"
    }

    // MARK: - Private

    private func call(parameters: [(String, String)], source: String, signingCredentials: AWSCredentials?,
                      secrets: [String]) async throws -> AWSCredentials {
        let body = Array(parameters.map { "\(SigV4Signer.percentEncode($0.0))=\(SigV4Signer.percentEncode($0.1))" }
            .joined(separator: "&").utf8)
        var url = endpoint
        if url.path.isEmpty, let rooted = URL(string: url.absoluteString + "/") { url = rooted }
        var lastError: CredentialError?
        for attempt in 1...maxAttempts {
            if attempt > 1 {
                // Full jitter, as the SDKs' standard retry mode.
                let cap = retryBaseDelay * (1 << min(attempt - 2, 4))
                let millis = Int(cap.milliseconds)
                try await LoopSleep.sleep(for: .milliseconds(Int.random(in: 0...max(millis, 1))))
            }
            var headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
            if let signingCredentials {
                headers = SigV4Signer(service: "sts", region: region)
                    .sign(method: "POST", url: url, headers: headers, body: body, credentials: signingCredentials, date: Date())
            }
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = .POST
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(body)
            let status: Int
            let answer: [UInt8]
            do {
                (status, answer) = try await CredentialSupport.fetch(request, client: httpClient, timeout: timeout, limit: 256 * 1024)
            } catch {
                lastError = CredentialError(source: source, message: "\(url.host ?? "STS") not reachable: \(TransportError.describe(error))")
                continue
            }
            let text = String(decoding: answer, as: UTF8.self)
            if (200..<300).contains(status) {
                return try Self.parseCredentials(text, source: source)
            }
            let code = MinimalXML.firstText(of: "Code", in: text)
            var message = MinimalXML.firstText(of: "Message", in: text) ?? ""
            for secret in secrets where !secret.isEmpty {
                message = message.replacingOccurrences(of: secret, with: "<redacted>")
            }
            if message.count > 300 { message = String(message.prefix(300)) + "…" }
            let error = CredentialError(source: source, message: "HTTP \(status)" + (code.map { ", \($0)" } ?? "")
                                        + (message.isEmpty ? "" : ": \(message)"))
            let retryable = status >= 500 || status == 429
                || ["Throttling", "ThrottlingException", "RequestLimitExceeded", "IDPCommunicationError"].contains(code ?? "")
            guard retryable else { throw error }
            lastError = error
        }
        throw lastError ?? CredentialError(source: source, message: "no attempt was made")
    }

    static func parseCredentials(_ xml: String, source: String) throws -> AWSCredentials {
        guard let block = MinimalXML.firstText(of: "Credentials", in: xml, decode: false) else {
            throw CredentialError(source: source, message: "the answer holds no Credentials element")
        }
        guard let accessKeyId = MinimalXML.firstText(of: "AccessKeyId", in: block), !accessKeyId.isEmpty,
              let secret = MinimalXML.firstText(of: "SecretAccessKey", in: block), !secret.isEmpty,
              let token = MinimalXML.firstText(of: "SessionToken", in: block), !token.isEmpty else {
            throw CredentialError(source: source, message: "the answer's Credentials lack AccessKeyId, SecretAccessKey or SessionToken")
        }
        guard let expirationText = MinimalXML.firstText(of: "Expiration", in: block),
              let expiration = CredentialSupport.parseTimestamp(expirationText) else {
            throw CredentialError(source: source, message: "the answer's Credentials have no valid Expiration")
        }
        return AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }
}

/// Just enough XML for STS answers: the content of the first element with a given local name.
///
/// A hand-written reader rather than Foundation's `XMLParser` because on Linux that lives in
/// FoundationXML, which pulls in libxml2, a shared library a `--static-swift-stdlib` binary
/// would still need on the server; STS answers are small, flat and machine-written.
enum MinimalXML {
    /// The text between `<name …>` and `</name>` (any namespace prefix accepted), entity-decoded
    /// unless `decode` is false (for an element whose children are searched next).
    static func firstText(of name: String, in xml: String, decode: Bool = true) -> String? {
        var searchStart = xml.startIndex
        while let open = xml.range(of: "<", range: searchStart..<xml.endIndex) {
            guard let close = xml.range(of: ">", range: open.upperBound..<xml.endIndex) else { return nil }
            let tag = xml[open.upperBound..<close.lowerBound]
            searchStart = close.upperBound
            if tag.hasPrefix("/") || tag.hasPrefix("?") || tag.hasPrefix("!") { continue }
            let tagName = tag.prefix { !$0.isWhitespace && $0 != "/" }
            let localName = tagName.split(separator: ":").last.map(String.init) ?? ""
            guard localName == name else { continue }
            if tag.hasSuffix("/") { return "" }
            let closing = "</\(tagName)>"
            guard let end = xml.range(of: closing, range: close.upperBound..<xml.endIndex) else { return nil }
            let content = String(xml[close.upperBound..<end.lowerBound])
            return decode ? decodeEntities(content) : content
        }
        return nil
    }

    static func decodeEntities(_ text: String) -> String {
        var content = text
        if let cdataStart = content.range(of: "<![CDATA["), let cdataEnd = content.range(of: "]]>", range: cdataStart.upperBound..<content.endIndex) {
            return String(content[cdataStart.upperBound..<cdataEnd.lowerBound])
        }
        guard content.contains("&") else { return content.trimmingCharacters(in: .whitespacesAndNewlines) }
        var out = ""
        var index = content.startIndex
        while index < content.endIndex {
            let c = content[index]
            if c == "&", let semicolon = content[index...].firstIndex(of: ";"),
               content.distance(from: index, to: semicolon) <= 10 {
                let entity = String(content[content.index(after: index)..<semicolon])
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X"), let value = UInt32(entity.dropFirst(2), radix: 16),
                       let scalar = Unicode.Scalar(value) {
                        replacement = String(Character(scalar))
                    } else if entity.hasPrefix("#"), let value = UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(value) {
                        replacement = String(Character(scalar))
                    }
                }
                if let replacement {
                    out += replacement
                    index = content.index(after: semicolon)
                    continue
                }
            }
            out.append(c)
            index = content.index(after: index)
        }
        content = out
        return content.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
