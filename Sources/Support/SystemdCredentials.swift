import Foundation

/// The credentials systemd hands a service (`LoadCredential=`, `LoadCredentialEncrypted=`,
/// `SetCredential=`): files in the directory named by `$CREDENTIALS_DIRECTORY`. The one reader
/// of that directory.
///
/// Trimming rule, the same for every credential: trailing line breaks (`\n`, `\r\n`, `\r`, any
/// number of them) are stripped, because editors, `echo` and `systemd-creds` add them; nothing else
/// is, so a value's own leading or trailing spaces stay. What is left may be empty: the caller
/// decides whether an empty credential counts as missing.
public enum SystemdCredentials {
    /// The value of `$CREDENTIALS_DIRECTORY` in `environment`, or `nil` when it is unset or empty.
    public static func directory(environment: [String: String]) -> String? {
        guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else { return nil }
        return directory
    }

    /// The path of credential `name`, or `nil` when `$CREDENTIALS_DIRECTORY` is unset. The file
    /// need not exist.
    public static func path(name: String, environment: [String: String]) -> String? {
        guard let directory = directory(environment: environment) else { return nil }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Whether credential `name` exists (`false` when `$CREDENTIALS_DIRECTORY` is unset).
    public static func exists(name: String, environment: [String: String]) -> Bool {
        guard let path = path(name: name, environment: environment) else { return false }
        return FileManager.default.fileExists(atPath: path)
    }

    /// The text of credential `name`, trailing line breaks stripped (see the type's trimming rule);
    /// `nil` when `$CREDENTIALS_DIRECTORY` is unset or the file does not exist.
    ///
    /// - Throws: ``ReadError`` when the file exists but cannot be read or is not UTF-8. The error
    ///   names the path and the reason only, never the contents.
    public static func read(name: String, environment: [String: String]) throws -> String? {
        guard let path = path(name: name, environment: environment),
              FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReadError(path: path, reason: .unreadable)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ReadError(path: path, reason: .notUTF8)
        }
        return trimmed(text)
    }

    /// `text` with its trailing line breaks removed: the trimming rule of every credential.
    public static func trimmed(_ text: String) -> String {
        var end = text.unicodeScalars.endIndex
        let scalars = text.unicodeScalars
        while end > scalars.startIndex {
            let previous = scalars.index(before: end)
            guard scalars[previous] == "\n" || scalars[previous] == "\r" else { break }
            end = previous
        }
        return String(scalars[..<end])
    }

    /// Why an existing credential file could not be read; its contents never appear.
    public struct ReadError: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Reason: Sendable, Equatable {
            /// The file exists but could not be read (permissions, a directory…).
            case unreadable
            /// The bytes are not UTF-8 text.
            case notUTF8
        }

        public var path: String
        public var reason: Reason

        public init(path: String, reason: Reason) {
            self.path = path
            self.reason = reason
        }

        /// `PATH: not readable` or `PATH: not valid UTF-8`.
        public var description: String {
            switch reason {
            case .unreadable: return "\(path): not readable"
            case .notUTF8: return "\(path): not valid UTF-8"
            }
        }
    }
}
