import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The forward proxies the environment asks for (docs/configuration.md, "Proxies"): the one
/// reader of `HTTPS_PROXY`/`https_proxy`, `HTTP_PROXY`/`http_proxy` and `NO_PROXY`/`no_proxy`.
///
/// As botocore (Python's `urllib.request.getproxies`) reads them: the lower-case variable wins
/// when both are set; a proxy URL without a scheme is `http://`; only `http://` proxies are
/// supported (the request is tunnelled with CONNECT; TLS runs end to end inside the tunnel).
public struct ProxyEnvironment: Sendable, Equatable {
    /// A proxy server, with the credentials of its URL (`http://user:pass@host:port`).
    public struct Proxy: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        /// Percent-decoded. Never printed: ``description`` leaves them out.
        public var username: String?
        public var password: String?

        public init(host: String, port: Int, username: String? = nil, password: String? = nil) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
        }

        /// `http://host:port`, with `***@` when the URL had credentials.
        public var description: String {
            "http://\(username == nil ? "" : "***@")\(host.contains(":") ? "[\(host)]" : host):\(port)"
        }
    }

    /// A proxy variable that cannot be used; the message names the variable, never its
    /// credentials.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var variable: String
        public var reason: String
        public var description: String { "\(variable): \(reason)" }
    }

    /// For `https://` requests.
    public var https: Proxy?
    /// For `http://` requests.
    public var http: Proxy?
    /// Hosts reached directly.
    public var noProxy: NoProxy

    public init(https: Proxy? = nil, http: Proxy? = nil, noProxy: NoProxy = NoProxy("")) {
        self.https = https
        self.http = http
        self.noProxy = noProxy
    }

    /// Reads the variables; throws ``ParseError`` for a proxy URL that cannot be used.
    public init(environment: [String: String]) throws {
        func value(_ name: String) -> (name: String, value: String)? {
            for candidate in [name.lowercased(), name.uppercased()] {
                if let value = environment[candidate]?.trimmingCharacters(in: .whitespaces), !value.isEmpty {
                    return (candidate, value)
                }
            }
            return nil
        }
        self.https = try value("https_proxy").map { try Self.parse($0.value, variable: $0.name) }
        self.http = try value("http_proxy").map { try Self.parse($0.value, variable: $0.name) }
        self.noProxy = NoProxy(value("no_proxy")?.value ?? "")
    }

    /// The proxy for a request to `url`, or `nil` to connect directly.
    public func proxy(for url: URL) -> Proxy? {
        guard let host = url.host, !noProxy.bypasses(host: host, port: url.port) else { return nil }
        switch url.scheme?.lowercased() {
        case "https": return https
        case "http": return http
        default: return nil
        }
    }

    static func parse(_ text: String, variable: String) throws -> Proxy {
        let full = text.contains("://") ? text : "http://" + text
        guard let components = URLComponents(string: full), let host = components.host, !host.isEmpty else {
            throw ParseError(variable: variable, reason: "not a proxy URL (expected http://[user:password@]host:port)")
        }
        guard components.scheme?.lowercased() == "http" else {
            throw ParseError(variable: variable,
                             reason: "only http:// proxies are supported (the connection to the proxy is plain; "
                                 + "https requests are tunnelled through it with CONNECT)")
        }
        let port = components.port ?? 80
        guard (1...65535).contains(port) else { throw ParseError(variable: variable, reason: "port out of range") }
        return Proxy(host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: port,
                     username: components.percentEncodedUser.flatMap { $0.removingPercentEncoding },
                     password: components.percentEncodedPassword.flatMap { $0.removingPercentEncoding })
    }
}

/// `NO_PROXY`: comma- (or space-) separated entries, each `*` (every host), a domain (matches
/// itself and every name under it; a leading `.` or `*.` changes nothing), an IP address, an
/// IPv4/IPv6 network in CIDR form, any of them optionally with `:port`.
public struct NoProxy: Sendable, Equatable {
    public let entries: [String]

    public init(_ text: String) {
        entries = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" })
            .map { $0.lowercased() }.filter { !$0.isEmpty }
    }

    public func bypasses(host rawHost: String, port: Int?) -> Bool {
        let host = rawHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        for raw in entries {
            if raw == "*" { return true }
            var entry = raw
            // host:port (not an IPv6 address, which has several colons)
            if let colon = entry.lastIndex(of: ":"), entry.filter({ $0 == ":" }).count == 1 || entry.hasPrefix("[") {
                let portText = entry[entry.index(after: colon)...]
                if let entryPort = Int(portText) {
                    guard port == entryPort else { continue }
                    entry = String(entry[..<colon])
                }
            }
            entry = entry.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            if entry.contains("/") {
                if Self.network(entry, contains: host) { return true }
                continue
            }
            if Self.isAddress(entry) || Self.isAddress(host) {
                if Self.isAddress(entry), Self.isAddress(host), Self.bytes(entry) == Self.bytes(host) { return true }
                continue
            }
            while entry.hasPrefix("*") { entry.removeFirst() }
            while entry.hasPrefix(".") { entry.removeFirst() }
            if entry.isEmpty { continue }
            if host == entry || host.hasSuffix("." + entry) { return true }
        }
        return false
    }

    static func isAddress(_ text: String) -> Bool { bytes(text) != nil }

    /// The address bytes of an IPv4 or IPv6 literal.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func network(_ cidr: String, contains host: String) -> Bool {
        let parts = cidr.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let prefix = Int(parts[1]), let net = bytes(String(parts[0])),
              let address = bytes(host), net.count == address.count, (0...net.count * 8).contains(prefix) else {
            return false
        }
        for bit in 0..<prefix where (net[bit / 8] ^ address[bit / 8]) & UInt8(0x80 >> (bit % 8)) != 0 {
            return false
        }
        return true
    }
}
