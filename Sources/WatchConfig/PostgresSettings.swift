import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `[storage] url`: the PostgreSQL store (docs/configuration.md, `[storage]`), read from a
/// `postgresql://USER@HOST:PORT/DATABASE?sslmode=…` URL plus `password_file` and `takeover`.
///
/// The password never comes from the URL (a URL with one is refused); ``PostgresPassword``
/// finds it when the store is opened.
public struct PostgresSettings: Sendable, Equatable {
    /// How the connection uses TLS: libpq's `sslmode`, without `allow` and `verify-ca`.
    public enum SSLMode: String, Sendable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, its certificate not checked (libpq's default).
        case prefer
        /// TLS always, the certificate not checked.
        case require
        /// TLS always; the certificate must chain to `sslrootcert` (else the system roots) and name the host.
        case verifyFull = "verify-full"
    }

    /// The default of `takeover`.
    public static let defaultTakeover: Duration = .seconds(15)
    /// The shortest and longest `takeover` accepted.
    public static let takeoverRange: ClosedRange<Duration> = .seconds(3) ... .seconds(600)
    /// The query keys the URL may carry.
    public static let knownQueryKeys = ["sslmode", "sslrootcert", "application_name"]

    /// As in the URL, an IPv6 address without its brackets.
    public var host: String
    /// 5432 unless the URL names one.
    public var port: Int
    /// The URL's user, percent-decoded; required.
    public var user: String
    /// The URL's path, percent-decoded; the user name when the URL has none.
    public var database: String
    /// `?sslmode=`; `.prefer` when absent, as with libpq.
    public var sslMode: SSLMode
    /// `?sslrootcert=PATH`: the PEM roots `verify-full` trusts instead of the system's.
    public var sslRootCert: String?
    /// `[storage] password_file`, as written (a relative path is relative to the working
    /// directory, like `[storage] path` and `ca_bundle`).
    public var passwordFile: String?
    /// `[storage] takeover`: how long a leader that stopped answering keeps leadership before a
    /// standby takes over. 3 s to 10 min; 15 s by default.
    public var takeover: Duration
    /// `?application_name=`, shown in `pg_stat_activity`.
    public var applicationName: String?

    public init(host: String, port: Int = 5432, user: String, database: String? = nil,
                sslMode: SSLMode = .prefer, sslRootCert: String? = nil, passwordFile: String? = nil,
                takeover: Duration = PostgresSettings.defaultTakeover, applicationName: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database ?? user
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
        self.passwordFile = passwordFile
        self.takeover = takeover
        self.applicationName = applicationName
    }

    /// `postgresql://USER@HOST:PORT/DATABASE`: where the store is, with nothing secret in it.
    public var address: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(Self.encode(user))@\(hostPart):\(port)/\(Self.encode(database))"
    }

    /// `postgresql://USER@HOST:PORT/DATABASE?sslmode=…` (and `sslrootcert`, `application_name`
    /// when set): the URL without any password, for logs and messages.
    public var redacted: String {
        var query = ["sslmode=\(sslMode.rawValue)"]
        if let sslRootCert { query.append("sslrootcert=\(Self.encode(sslRootCert, keeping: "/"))") }
        if let applicationName { query.append("application_name=\(Self.encode(applicationName))") }
        return address + "?" + query.joined(separator: "&")
    }

    /// Why a `[storage] url` cannot be used. The message never holds a password: it names the
    /// part of the URL that is wrong, and echoes only parts that cannot be one.
    public struct URLError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// The message for a URL that carries a password (`user:secret@host` or `?password=`).
    public static let passwordInURLMessage =
        "the URL must not contain a password: put the password in password_file, the systemd credential postgres-password or PGPASSFILE"

    /// Reads a `postgresql://` (or `postgres://`) URL: one host, an optional port, a required
    /// user, an optional database and the query keys ``knownQueryKeys``. `passwordFile` and
    /// `takeover` keep their defaults; they are keys of `[storage]`, not of the URL.
    ///
    /// - Throws: ``URLError``, whose message the schema reports at the `url` value.
    public static func parse(url: String) throws -> PostgresSettings {
        var rest: Substring
        if let range = url.range(of: "://"), ["postgresql", "postgres"].contains(url[..<range.lowerBound].lowercased()) {
            rest = url[range.upperBound...]
        } else {
            throw URLError("not a PostgreSQL URL: it must start with postgresql:// (or postgres://), as in postgresql://outpostwatch@db.example.com:5432/outpostwatch")
        }
        // The user part ends at the first "@" before any "/", as libpq reads it; everything in
        // it after a ":" is a password, whatever characters it holds.
        var userInfo: Substring?
        if let at = rest.firstIndex(where: { $0 == "@" || $0 == "/" }), rest[at] == "@" {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        if let userInfo, userInfo.contains(":") { throw URLError(passwordInURLMessage) }
        // A fragment means nothing to PostgreSQL; checked before the query, which would swallow it.
        if rest.contains("#") { throw URLError("the URL must not have a #fragment") }
        var queryText: Substring?
        if let question = rest.firstIndex(of: "?") {
            queryText = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let pathText = slash < rest.endIndex ? rest[rest.index(after: slash)...] : nil

        guard let userInfo, !userInfo.isEmpty else {
            throw URLError("the URL names no user: write it as postgresql://USER@HOST/DATABASE")
        }
        guard let user = decode(userInfo), !user.isEmpty else {
            throw URLError("the user name in the URL has a malformed %-escape")
        }
        let (host, port) = try hostAndPort(authority)
        var settings = PostgresSettings(host: host, port: port, user: user)
        if let pathText, !pathText.isEmpty {
            guard let database = decode(pathText) else {
                throw URLError("the database name in the URL has a malformed %-escape")
            }
            settings.database = database
        }
        if let queryText { try readQuery(queryText, into: &settings) }
        if settings.sslRootCert != nil, settings.sslMode != .verifyFull {
            throw URLError("sslrootcert is only used with sslmode=verify-full (sslmode is \(settings.sslMode.rawValue))")
        }
        return settings
    }

    /// `HOST`, `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT`. Nothing of it is echoed in an error: with
    /// a password holding an unescaped `/`, this part may be the password's start.
    private static func hostAndPort(_ authority: Substring) throws(URLError) -> (String, Int) {
        var hostText = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw URLError("the host in the URL has a [ without its ]: write an IPv6 address as [2001:db8::5]")
            }
            hostText = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw URLError("the URL has text after the ] of its IPv6 host") }
                portText = after.dropFirst()
            }
            var address = in6_addr()
            guard inet_pton(AF_INET6, String(hostText), &address) == 1 else {
                throw URLError("the host in the URL is not an IPv6 address between its [ ]")
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                hostText = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            }
            guard !hostText.isEmpty else {
                throw URLError("the URL names no host: write it as postgresql://USER@HOST/DATABASE (Unix sockets are not supported)")
            }
            if hostText.contains(",") {
                throw URLError("the URL names several hosts: give one host (a name that resolves to the current primary)")
            }
            guard hostText.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" || $0 == "_"
            }) else {
                throw URLError("the host in the URL is not a host name, an IPv4 address or an IPv6 address in [ ]")
            }
        }
        var port = 5432
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let number = Int(portText), (1...65535).contains(number) else {
                throw URLError("the port in the URL is not a number from 1 to 65535")
            }
            port = number
        }
        return (String(hostText), port)
    }

    private static func readQuery(_ query: Substring, into settings: inout PostgresSettings) throws(URLError) {
        var seen: Set<String> = []
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            let equals = item.firstIndex(of: "=")
            let rawKey = equals.map { item[..<$0] } ?? item
            let key = decode(rawKey) ?? ""
            if key == "password" { throw URLError(passwordInURLMessage) }
            guard knownQueryKeys.contains(key) else {
                // Only a plain word is echoed: a key could be part of a mistyped password.
                let plain = !key.isEmpty && key.count <= 40
                    && key.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || $0 == "_" }
                throw URLError("unknown URL parameter\(plain ? " \(key)" : ""): the URL takes only \(knownQueryKeys.joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else { throw URLError("the URL gives \(key) twice") }
            guard let equals else { throw URLError("\(key) in the URL has no value: write \(key)=VALUE") }
            guard let value = decode(item[item.index(after: equals)...]) else {
                throw URLError("the value of \(key) in the URL has a malformed %-escape")
            }
            switch key {
            case "sslmode":
                switch value {
                case "verify-ca", "allow":
                    throw URLError("sslmode=\(value) is not supported: use verify-full (certificate and host name checked) or require (encrypted, not checked)")
                default:
                    guard let mode = SSLMode(rawValue: value) else {
                        throw URLError("unknown sslmode \(SchemaReader.quoted(value)): expected disable, prefer, require or verify-full")
                    }
                    settings.sslMode = mode
                }
            case "sslrootcert":
                guard !value.isEmpty else { throw URLError("sslrootcert in the URL is empty: give the path of a PEM file") }
                // libpq's "system" means the system roots, which verify-full uses anyway.
                settings.sslRootCert = value == "system" ? nil : value
            default:
                guard !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                    throw URLError("application_name in the URL contains control characters")
                }
                settings.applicationName = value.isEmpty ? nil : value
            }
        }
    }

    /// `text` percent-decoded as UTF-8, or `nil` when an escape is malformed.
    private static func decode(_ text: Substring) -> String? {
        String(text).removingPercentEncoding
    }

    /// `text` with everything but unreserved URL characters (and `extra`) percent-encoded.
    private static func encode(_ text: String, keeping extra: Character? = nil) -> String {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        if let extra { allowed.insert(charactersIn: String(extra)) }
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
