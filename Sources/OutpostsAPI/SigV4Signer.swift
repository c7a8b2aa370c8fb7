import Crypto
import Foundation
import Synchronization

/// AWS Signature Version 4, header-based, computed exactly as botocore's `SigV4Auth` does for
/// every service but S3 (path segments encoded once more, payload always hashed).
///
/// The path and query are taken from `url` as they will go on the wire (already
/// percent-encoded): botocore signs what its serializer put in the URL, so callers build the
/// URL with ``SigV4Signer/percentEncode(_:)`` for query keys, values and path segments.
/// The intermediate steps are public so they can be compared one by one with botocore's.
public struct SigV4Signer: Sendable {
    public let service: String
    public let region: String
    /// The derived key of the current day: four HMACs saved on every request but the first of a
    /// day (a daemon signs thousands of requests a day with the same secret).
    private let keyCache = SigningKeyCache()

    public init(service: String, region: String) {
        self.service = service
        self.region = region
    }

    /// Every intermediate value of one signature. `headers` is what must be sent.
    /// Its `description` shows no secret (the canonical request can hold the session token, so
    /// it is left out too).
    public struct Signing: Sendable, CustomStringConvertible {
        /// Input headers (minus stale auth/date headers) + host if absent + x-amz-date
        /// + x-amz-security-token + authorization.
        public var headers: [(String, String)]
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var authorization: String
        /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
        public var timestamp: String

        public var description: String {
            "SigV4Signing(timestamp: \(timestamp), signature: \(signature))"
        }
    }

    /// What a signature covers of a request's URL, as it goes on the wire (already
    /// percent-encoded): the `host` header's value, the path and the query. A caller that sends
    /// many requests to one endpoint builds it from parts it already has, so no URL is parsed
    /// per request.
    public struct Target: Sendable, Equatable {
        /// botocore's `_host_from_url`: lower-cased host, IPv6 in brackets, port unless default.
        public var host: String
        /// The percent-encoded path (`""` is `/`).
        public var path: String
        /// The percent-encoded query, without `?` (`""`: none).
        public var query: String

        public init(host: String, path: String, query: String) {
            self.host = host
            self.path = path
            self.query = query
        }

        /// The parts of `url` (one URL parse).
        public init(url: URL) {
            let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
            self.init(host: SigV4Signer.hostHeader(components), path: components?.percentEncodedPath ?? "",
                      query: components?.percentEncodedQuery ?? "")
        }
    }

    /// Signs and returns the full header list to send.
    public func sign(method: String, url: URL, headers: [(String, String)], body: [UInt8],
                     credentials: AWSCredentials, date: Date) -> [(String, String)] {
        sign(method: method, target: Target(url: url), headers: headers, body: body, credentials: credentials, date: date)
    }

    /// Signs a request to `target` and returns the full header list to send.
    public func sign(method: String, target: Target, headers: [(String, String)], body: [UInt8],
                     credentials: AWSCredentials, date: Date) -> [(String, String)] {
        signing(method: method, target: target, headers: headers, body: body, credentials: credentials, date: date).headers
    }

    /// Signs and returns every intermediate step as well as the headers to send.
    public func signing(method: String, url: URL, headers: [(String, String)], body: [UInt8],
                        credentials: AWSCredentials, date: Date) -> Signing {
        signing(method: method, target: Target(url: url), headers: headers, body: body, credentials: credentials, date: date)
    }

    /// Signs a request to `target` and returns every intermediate step as well.
    public func signing(method: String, target: Target, headers: [(String, String)], body: [UInt8],
                        credentials: AWSCredentials, date: Date) -> Signing {
        let timestamp = Self.timestamp(date)
        // botocore drops a previous signature and date and re-adds them, so retries re-sign cleanly.
        var prepared = headers.filter { name, _ in
            let lower = name.lowercased()
            return lower != "authorization" && lower != "x-amz-date"
        }
        if prepared.contains(where: { $0.0.lowercased() == "date" }) {
            // botocore keeps a `Date` header (re-dated) instead of adding X-Amz-Date.
            prepared.removeAll { $0.0.lowercased() == "date" }
            prepared.append(("Date", Self.rfc2822Date(date)))
        } else {
            prepared.append(("X-Amz-Date", timestamp))
        }
        if let token = credentials.sessionToken, !token.isEmpty {
            prepared.removeAll { $0.0.lowercased() == "x-amz-security-token" }
            prepared.append(("X-Amz-Security-Token", token))
        }
        var toSend = prepared
        if !prepared.contains(where: { $0.0.lowercased() == "host" }) {
            toSend.insert(("host", target.host), at: 0)
        }

        let canonical = canonicalRequest(method: method, target: target, headers: toSend, body: body)
        let scope = credentialScope(timestamp: timestamp)
        let stringToSign = Self.stringToSign(canonicalRequest: canonical.request, timestamp: timestamp, scope: scope)
        let signature = signature(stringToSign: stringToSign, secretAccessKey: credentials.secretAccessKey,
                                  timestamp: timestamp)
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        toSend.append(("Authorization", authorization))
        return Signing(headers: toSend, canonicalRequest: canonical.request, stringToSign: stringToSign,
                       signature: signature, authorization: authorization, timestamp: timestamp)
    }

    // MARK: - Steps

    /// The canonical request and its signed-headers list, from headers exactly as they will be
    /// sent (x-amz-date and token included; `host` derived from `url` when absent).
    public func canonicalRequest(method: String, url: URL, headers: [(String, String)],
                                 body: [UInt8]) -> (request: String, signedHeaders: String) {
        canonicalRequest(method: method, target: Target(url: url), headers: headers, body: body)
    }

    /// ``canonicalRequest(method:url:headers:body:)`` of a request to `target`.
    public func canonicalRequest(method: String, target: Target, headers: [(String, String)],
                                 body: [UInt8]) -> (request: String, signedHeaders: String) {
        let rawPath = target.path
        let path = Self.percentEncode(Self.removeDotSegments(rawPath.isEmpty ? "/" : rawPath), safe: Self.pathSafe)
        let query = Self.canonicalQuery(target.query)

        // Header names in first-seen order of their lower-cased form, values kept in order so
        // duplicates join the way botocore's HTTPHeaders.get_all does.
        var valuesByName: [String: [String]] = [:]
        var hasHost = false
        var payloadHashHeader: String?
        for (name, value) in headers {
            let lower = name.lowercased()
            if lower == "x-amz-content-sha256", payloadHashHeader == nil { payloadHashHeader = value }
            if Self.unsignedHeaders.contains(lower) { continue }
            if lower == "host" { hasHost = true }
            valuesByName[lower, default: []].append(value)
        }
        if !hasHost { valuesByName["host"] = [target.host] }
        let names = valuesByName.keys.sorted(by: Self.codePointLess)
        let canonicalHeaders = names.map { name in
            name + ":" + valuesByName[name]!.map(Self.trimAll).joined(separator: ",")
        }.joined(separator: "\n")
        let signedHeaders = names.map(Self.strip).joined(separator: ";")
        let payloadHash = payloadHashHeader ?? Self.hex(SHA256.hash(data: body))

        let request = [method.uppercased(), path, query, canonicalHeaders + "\n", signedHeaders, payloadHash]
            .joined(separator: "\n")
        return (request, signedHeaders)
    }

    /// `AWS4-HMAC-SHA256\n{timestamp}\n{scope}\n{hex sha256 of canonical request}`.
    public func stringToSign(canonicalRequest: String, timestamp: String) -> String {
        Self.stringToSign(canonicalRequest: canonicalRequest, timestamp: timestamp, scope: credentialScope(timestamp: timestamp))
    }

    private static func stringToSign(canonicalRequest: String, timestamp: String, scope: String) -> String {
        var canonicalRequest = canonicalRequest
        let digest = canonicalRequest.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return "AWS4-HMAC-SHA256\n" + timestamp + "\n" + scope + "\n" + hex(digest)
    }

    /// `{yyyyMMdd}/{region}/{service}/aws4_request`.
    public func credentialScope(timestamp: String) -> String {
        "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    /// Hex HMAC of the string to sign with the key derived from secret, date, region, service.
    public func signature(stringToSign: String, secretAccessKey: String, timestamp: String) -> String {
        let key = signingKey(secretAccessKey: secretAccessKey, day: String(timestamp.prefix(8)))
        var stringToSign = stringToSign
        return Self.hex(stringToSign.withUTF8 { HMAC<SHA256>.authenticationCode(for: UnsafeRawBufferPointer($0), using: key) })
    }

    private func signingKey(secretAccessKey: String, day: String) -> SymmetricKey {
        if let cached = keyCache.key(secretAccessKey: secretAccessKey, day: day) { return cached }
        let key = deriveSigningKey(secretAccessKey: secretAccessKey, day: day)
        keyCache.store(key, secretAccessKey: secretAccessKey, day: day)
        return key
    }

    private func deriveSigningKey(secretAccessKey: String, day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    // MARK: - Encoding helpers (public so requests are built the way they are signed)

    /// Bytes Python's `urllib.parse.quote` never encodes.
    private static let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8))
    private static let pathSafe: Set<UInt8> = unreserved.union([UInt8(ascii: "/")])

    /// Percent-encodes every byte of the UTF-8 form but `A-Z a-z 0-9 - _ . ~`, upper-case hex,
    /// as botocore's `percent_encode` does for query keys, values and (non-greedy) path labels.
    public static func percentEncode(_ string: String) -> String {
        percentEncode(string, safe: unreserved)
    }

    private static func percentEncode(_ string: String, safe: Set<UInt8>) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            if safe.contains(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC, computed without a DateFormatter (hot path, no locale).
    public static func timestamp(_ date: Date) -> String {
        let c = civil(date)
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T" + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "Z"
    }

    // MARK: - Private

    /// Headers botocore never signs (hop-by-hop, or rewritten by proxies and clients).
    private static let unsignedHeaders: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// botocore's `_canonical_query_string_url`: pairs split on `&` and `=`, taken as already
    /// encoded, sorted by key then value.
    private static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs: [(String, String)] = query.split(separator: "&", omittingEmptySubsequences: false).map { pair in
            if let eq = pair.firstIndex(of: "=") {
                return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
            }
            return (String(pair), "")
        }
        return pairs.sorted { lhs, rhs in
            if lhs.0 != rhs.0 { return codePointLess(lhs.0, rhs.0) }
            return codePointLess(lhs.1, rhs.1)
        }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 dot-segment removal plus collapsing of empty segments, as botocore's
    /// `remove_dot_segments`.
    private static func removeDotSegments(_ path: String) -> String {
        guard !path.isEmpty else { return "" }
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !output.isEmpty { output.removeLast() }
            } else {
                output.append(segment)
            }
        }
        let first = path.hasPrefix("/") ? "/" : ""
        let last = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
        return first + output.joined(separator: "/") + last
    }

    /// Python's `str.strip()`: Python whitespace removed at both ends.
    private static func strip(_ value: String) -> String {
        let scalars = value.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isPythonWhitespace($0) }),
              let last = scalars.lastIndex(where: { !isPythonWhitespace($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// Python's `' '.join(value.split())`: strip and collapse runs of Python whitespace.
    private static func trimAll(_ value: String) -> String {
        // Nearly every header value is ASCII with single inner spaces: nothing to do.
        if isAlreadyTrimmedASCII(value) { return value }
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            if isPythonWhitespace(scalar) {
                if !current.isEmpty {
                    words.append(String(current))
                    current = String.UnicodeScalarView()
                }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words.joined(separator: " ")
    }

    /// ASCII only, no whitespace but single spaces between words.
    private static func isAlreadyTrimmedASCII(_ value: String) -> Bool {
        var previousWasSpace = true  // a leading space is not trimmed
        for byte in value.utf8 {
            // Control characters include Python whitespace (\t \n \v \f \r, U+001C…U+001F).
            if byte >= 0x80 || byte < 0x20 { return false }
            if byte == 0x20 {
                if previousWasSpace { return false }
                previousWasSpace = true
            } else {
                previousWasSpace = false
            }
        }
        return !previousWasSpace  // a trailing space (or an empty value) takes the general path
    }

    /// `str.isspace()` is Unicode White_Space plus the ASCII separators U+001C…U+001F.
    private static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        (0x1C...0x1F).contains(scalar.value) || scalar.properties.isWhitespace
    }

    /// Python compares strings by code point, which is the order of their UTF-8 bytes.
    private static func codePointLess(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// botocore's `_host_from_url`: lower-cased host, IPv6 in brackets, port unless default.
    static func hostHeader(for url: URL) -> String {
        hostHeader(URLComponents(url: url, resolvingAgainstBaseURL: false))
    }

    fileprivate static func hostHeader(_ components: URLComponents?) -> String {
        var host = (components?.host ?? "").lowercased()
        if host.contains(":"), !host.hasPrefix("[") { host = "[\(host)]" }
        if let port = components?.port {
            let scheme = components?.scheme?.lowercased()
            let defaultPort = scheme == "http" ? 80 : scheme == "https" ? 443 : nil
            if port != defaultPort { host += ":\(port)" }
        }
        return host
    }

    /// Lower-case hex of a digest: one allocation, for the string.
    private static func hex(_ digest: some ContiguousBytes) -> String {
        let digits: StaticString = "0123456789abcdef"
        return digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
                var i = 0
                for byte in bytes {
                    buffer[i] = digits.utf8Start[Int(byte >> 4)]
                    buffer[i + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    i += 2
                }
                return i
            }
        }
    }

    /// `email.utils.formatdate(t)`: `Mon, 02 Jan 2006 15:04:05 -0000`.
    private static func rfc2822Date(_ date: Date) -> String {
        let c = civil(date)
        let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let weekday = days[Int(((c.daysSinceEpoch % 7) + 7) % 7)]
        return "\(weekday), \(pad(c.day, 2)) \(months[c.month - 1]) \(pad(c.year, 4)) \(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) -0000"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// UTC calendar fields of a date (Howard Hinnant's days-to-civil algorithm).
    private static func civil(_ date: Date) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, daysSinceEpoch: Int) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, secondOfDay / 3600, secondOfDay % 3600 / 60, secondOfDay % 60, days)
    }
}

/// The signing key of one (secret, day), shared by the copies of a signer.
private final class SigningKeyCache: Sendable {
    private struct Entry {
        var secretAccessKey: String
        var day: String
        var key: SymmetricKey
    }

    private let entry = Mutex<Entry?>(nil)

    func key(secretAccessKey: String, day: String) -> SymmetricKey? {
        entry.withLock { entry in
            guard let entry, entry.day == day, entry.secretAccessKey == secretAccessKey else { return nil }
            return entry.key
        }
    }

    func store(_ key: SymmetricKey, secretAccessKey: String, day: String) {
        entry.withLock { $0 = Entry(secretAccessKey: secretAccessKey, day: day, key: key) }
    }
}
