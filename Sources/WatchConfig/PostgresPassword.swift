import Foundation
import Support

/// Where the PostgreSQL store's password comes from (docs/configuration.md, `[storage]`): the
/// first of
///
/// 1. `[storage] password_file`: the file's text, one trailing line break dropped;
/// 2. the systemd credential `postgres-password` (`$CREDENTIALS_DIRECTORY/postgres-password`),
///    trimmed like every credential (``SystemdCredentials``);
/// 3. a password file in libpq's format: `$PGPASSFILE` when set, else `$HOME/.pgpass`; its first
///    line matching host, port, database and user;
///
/// else no password at all (the server trusts the connection, or authenticates it otherwise).
///
/// A password is only ever returned: errors name the file or credential, never its content.
public enum PostgresPassword {
    /// The systemd credential holding the password.
    public static let credentialName = "postgres-password"

    /// Where a password was found.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// `[storage] password_file`, as written.
        case passwordFile(String)
        /// A systemd credential, by name.
        case credential(String)
        /// A libpq password file: `$PGPASSFILE` (`fromEnvironment`) or `$HOME/.pgpass`.
        case pgpass(path: String, fromEnvironment: Bool)

        /// `password_file PATH`, `credential postgres-password`, `PGPASSFILE PATH` or `~/.pgpass`.
        public var description: String {
            switch self {
            case .passwordFile(let path): return "password_file \(path)"
            case .credential(let name): return "credential \(name)"
            case .pgpass(let path, true): return "PGPASSFILE \(path)"
            case .pgpass(_, false): return "~/.pgpass"
            }
        }
    }

    /// The password to log in with, or `nil` when no source has one.
    ///
    /// - Throws: ``PostgresPasswordError`` when `password_file` or the credential cannot be read
    ///   or is empty, or when the pgpass file exists but cannot be read.
    public static func resolve(_ settings: PostgresSettings, environment: [String: String]) throws -> String? {
        try lookup(settings, environment: environment)?.password
    }

    /// Which source ``resolve(_:environment:)`` takes the password from, without reading a
    /// password file or credential (a pgpass file is read, for the matching line); `nil`: none.
    /// A source that cannot be read is still named, since `resolve` fails on it.
    public static func source(_ settings: PostgresSettings, environment: [String: String]) -> Source? {
        if let file = settings.passwordFile { return .passwordFile(file) }
        if SystemdCredentials.exists(name: credentialName, environment: environment) { return .credential(credentialName) }
        guard let (path, fromEnvironment) = pgpassPath(environment: environment) else { return nil }
        do {
            return try pgpassLookup(settings, path: path) == nil ? nil : .pgpass(path: path, fromEnvironment: fromEnvironment)
        } catch {
            return .pgpass(path: path, fromEnvironment: fromEnvironment)
        }
    }

    /// The password and its source.
    public static func lookup(_ settings: PostgresSettings,
                              environment: [String: String]) throws -> (password: String, source: Source)? {
        if let file = settings.passwordFile {
            return (try readPasswordFile(file), .passwordFile(file))
        }
        let credential: String?
        do {
            credential = try SystemdCredentials.read(name: credentialName, environment: environment)
        } catch {
            throw PostgresPasswordError("systemd credential \(credentialName): \(error)")
        }
        if let credential {
            guard !credential.isEmpty else {
                let path = SystemdCredentials.path(name: credentialName, environment: environment) ?? credentialName
                throw PostgresPasswordError("systemd credential \(credentialName): \(path) is empty")
            }
            return (credential, .credential(credentialName))
        }
        guard let (path, fromEnvironment) = pgpassPath(environment: environment),
              let password = try pgpassLookup(settings, path: path) else { return nil }
        return (password, .pgpass(path: path, fromEnvironment: fromEnvironment))
    }

    // MARK: password_file

    private static func readPasswordFile(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PostgresPasswordError("password_file \(path): no such file")
        }
        guard !isDirectory.boolValue else { throw PostgresPasswordError("password_file \(path): is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PostgresPasswordError("password_file \(path): not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PostgresPasswordError("password_file \(path): not valid UTF-8")
        }
        let password = droppingOneLineBreak(text)
        guard !password.isEmpty else { throw PostgresPasswordError("password_file \(path): is empty") }
        return password
    }

    /// `text` without one trailing `\n` (or `\r\n`): what an editor or `echo` adds.
    static func droppingOneLineBreak(_ text: String) -> String {
        var scalars = text.unicodeScalars[...]
        if scalars.last == "\n" {
            scalars = scalars.dropLast()
            if scalars.last == "\r" { scalars = scalars.dropLast() }
        }
        return String(String.UnicodeScalarView(scalars))
    }

    // MARK: pgpass

    /// `$PGPASSFILE` when set and not empty, else `$HOME/.pgpass` when it exists.
    private static func pgpassPath(environment: [String: String]) -> (path: String, fromEnvironment: Bool)? {
        if let path = environment["PGPASSFILE"], !path.isEmpty { return (path, true) }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        let path = home.hasSuffix("/") ? home + ".pgpass" : home + "/.pgpass"
        return FileManager.default.fileExists(atPath: path) ? (path, false) : nil
    }

    /// The matching password of the pgpass file at `path`; `nil` when the file does not exist
    /// (as libpq: not an error) or no line matches.
    private static func pgpassLookup(_ settings: PostgresSettings, path: String) throws -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        guard !isDirectory.boolValue else { throw PostgresPasswordError("password file \(path): is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PostgresPasswordError("password file \(path): not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PostgresPasswordError("password file \(path): not valid UTF-8")
        }
        return pgpassPassword(in: text, host: settings.host, port: settings.port,
                              database: settings.database, user: settings.user)
    }

    /// The password of the first line of a pgpass file's `text` that matches, by libpq's rules:
    /// lines `host:port:database:user:password`; empty lines and lines starting with `#` skipped;
    /// a field that is exactly `*` matches anything; `\:` and `\\` stand for `:` and `\`; the
    /// password ends at the first unescaped `:` or at the end of the line.
    static func pgpassPassword(in text: String, host: String, port: Int, database: String, user: String) -> String? {
        for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = Array(rawLine)
            while line.last == "\r" { line.removeLast() }
            if line.isEmpty || line[0] == "#" { continue }
            var index = 0
            var matched = true
            for token in [host, String(port), database, user] {
                guard let next = matchField(line, from: index, token) else {
                    matched = false
                    break
                }
                index = next
            }
            guard matched else { continue }
            var password = String.UnicodeScalarView()
            while index < line.count, line[index] != ":" {
                if line[index] == "\\", index + 1 < line.count { index += 1 }
                password.append(line[index])
                index += 1
            }
            return String(password)
        }
        return nil
    }

    /// Where the field starting at `start` ends (after its `:`) when it matches `token`; libpq's
    /// `pwdfMatchesString`.
    private static func matchField(_ line: [Unicode.Scalar], from start: Int, _ token: String) -> Int? {
        if start + 1 < line.count, line[start] == "*", line[start + 1] == ":" { return start + 2 }
        let token = Array(token.unicodeScalars)
        var index = start
        var matched = 0
        while index < line.count {
            var escaped = false
            if line[index] == "\\" {
                index += 1
                escaped = true
                guard index < line.count else { return nil }
            }
            if line[index] == ":", !escaped, matched == token.count { return index + 1 }
            guard matched < token.count, line[index] == token[matched] else { return nil }
            index += 1
            matched += 1
        }
        return nil
    }
}

/// Why the PostgreSQL password could not be read. Names the file or credential, never its content.
public struct PostgresPasswordError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
