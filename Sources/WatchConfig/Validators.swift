import Foundation
import Support
#if canImport(Glibc)
import Glibc
#endif

/// The shape checks of configuration values, public so the command line can apply the same
/// rules to its arguments (`history ORDER_ID`, `simulate --listen`).
public enum ConfigValidation {
    /// An Outposts order id as GetOrder accepts it: `oo-` and 17 lowercase hex digits.
    public static func isOrderID(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 20, text.hasPrefix("oo-") else { return false }
        return scalars[3...].allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    /// An outpost id (`op-` and 17 lowercase hex digits) or its ARN, as ListOrders' filter accepts.
    public static func isOutpostIdentifier(_ text: String) -> Bool {
        var id = Substring(text)
        if text.hasPrefix("arn:") {
            // arn:aws[-partition]:outposts:REGION:ACCOUNT:outpost/op-…
            let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            guard parts.count == 6, parts[1].hasPrefix("aws"), parts[2] == "outposts",
                  !parts[3].isEmpty, parts[3].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }),
                  parts[4].count == 12, parts[4].allSatisfy({ $0.isASCII && $0.isNumber }),
                  parts[5].hasPrefix("outpost/") else { return false }
            id = parts[5].dropFirst("outpost/".count)
        }
        let scalars = Array(id.unicodeScalars)
        guard scalars.count == 20, id.hasPrefix("op-") else { return false }
        return scalars[3...].allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    /// A webhook sink name: lowercase letters, digits, `_` and `-` (it appears in credential names and CLI arguments).
    public static func isSinkName(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
    }

    /// The longest account name.
    public static let accountNameLimit = 64

    /// An account name (`[[account]] name`): 1 to 64 of lowercase letters, digits, `_` and `-`
    /// (it appears in events, CLI arguments and metric labels).
    public static func isAccountName(_ text: String) -> Bool {
        text.unicodeScalars.count <= accountNameLimit && isSinkName(text)
    }

    /// Whether `host` (a URL host, brackets allowed around IPv6) names this machine:
    /// `localhost`, 127.0.0.0/8 or ::1. Plain http is acceptable only there.
    public static func isLoopbackHost(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if name == "localhost" { return true }
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
            // ::ffff:127.x.y.z, an IPv4 loopback address written as IPv6.
            return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
        }
        return false
    }

    /// The parts of an http(s) URL that the checks need, or `nil` when it is not one.
    public struct HTTPURL: Sendable, Equatable {
        /// Lowercased: `http` or `https`.
        public var scheme: String
        /// As written, IPv6 addresses without brackets.
        public var host: String
        public var port: Int?
    }

    /// Parses an absolute `http://` or `https://` URL with a host.
    public static func httpURL(_ text: String) -> HTTPURL? {
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }),
              let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let rawHost = components.host, !rawHost.isEmpty else { return nil }
        var host = rawHost
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let port = components.port, !(0...65535).contains(port) { return nil }
        return HTTPURL(scheme: scheme, host: host, port: components.port)
    }

    /// `HOST:PORT` for a listening socket, as ``ListenAddress`` (Support) parses it: a host name,
    /// an IPv4 address or a bracketed IPv6 address, and a port from 0 to 65535. Returns the host
    /// (without brackets) and port.
    public static func listenAddress(_ text: String) -> (host: String, port: Int)? {
        ListenAddress(text).map { ($0.host, $0.port) }
    }

    /// An HTTP header name: an RFC 9110 token.
    public static func isHeaderName(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || "!#$%&'*+-.^_`|~".unicodeScalars.contains($0)
        }
    }

    /// An HTTP header value: no control characters but tab (a newline would inject headers).
    public static func isHeaderValue(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0 == "\t" || !($0.value < 0x20 || $0.value == 0x7F) }
    }

    /// Whether a `whsec_…` secret carries a usable key: non-empty standard base64 after the prefix.
    /// Secrets without the prefix are used as raw bytes and always pass.
    public static func isUsableWebhookSecret(_ secret: String) -> Bool {
        guard secret.hasPrefix("whsec_") else { return !secret.isEmpty }
        guard let key = Data(base64Encoded: String(secret.dropFirst("whsec_".count))) else { return false }
        return !key.isEmpty
    }
}
