import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One configuration error or warning, pointing at the spot to fix.
///
/// `description` is the `FILE:LINE:COL: message` form `check-config` prints and editors jump to.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based.
    public var line: Int
    /// 1-based, in Unicode scalars.
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public init(file: String, position: SourcePosition, message: String) {
        self.init(file: file, line: position.line, column: position.column, message: message)
    }

    public var position: SourcePosition { SourcePosition(line: line, column: column) }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// The outcome of loading a configuration: the settings when it is valid, and every problem found.
public struct ConfigResult: Sendable {
    /// `nil` exactly when `errors` is not empty.
    public var settings: Settings?
    /// All errors of the file in source order, not just the first.
    public var errors: [ConfigDiagnostic]
    /// Problems that do not stop the daemon (exit status unchanged).
    public var warnings: [ConfigDiagnostic]

    public init(settings: Settings?, errors: [ConfigDiagnostic], warnings: [ConfigDiagnostic]) {
        self.settings = settings
        self.errors = errors
        self.warnings = warnings
    }
}

/// Reads `config.toml` into ``Settings``, checking it against the schema of docs/configuration.md.
public enum ConfigLoader {
    /// Where the configuration lives when neither `--config` nor `$OUTPOSTWATCH_CONFIG` says otherwise.
    public static let defaultPath = "/etc/outpostwatch/config.toml"

    /// Reads and validates the file at `path`.
    ///
    /// `environment` supplies `STATE_DIRECTORY` (default database path) and `CREDENTIALS_DIRECTORY`
    /// (systemd credentials holding webhook secrets).
    public static func load(path: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) -> ConfigResult {
        let contents: ConfigFileContents
        switch ConfigFileContents.read(path: path) {
        case .success(let read): contents = read
        case .failure(let failure):
            return ConfigResult(settings: nil, errors: [
                ConfigDiagnostic(file: path, position: failure.position, message: failure.message),
            ], warnings: [])
        }
        var (result, secretPosition) = parseReportingSecret(text: contents.text, file: path, environment: environment)
        if contents.readableByOthers, let secretPosition {
            result.warnings.insert(ConfigDiagnostic(
                file: path, position: secretPosition,
                message: "\(path) contains a webhook secret and is readable by other users; chmod 600 it"), at: 0)
        }
        return result
    }

    /// Validates `text` as if it were the file `file` (which is only used in diagnostics).
    public static func parse(text: String, file: String,
                             environment: [String: String] = ProcessInfo.processInfo.environment) -> ConfigResult {
        parseReportingSecret(text: text, file: file, environment: environment).result
    }

    /// The one-screen summary `check-config` prints; secrets never appear in it.
    public static func summary(_ settings: Settings) -> String {
        ConfigSummary.render(settings)
    }

    /// The result, and where the first inline `secret` key is (for the file-permission warning).
    static func parseReportingSecret(text: String, file: String,
                                     environment: [String: String]) -> (result: ConfigResult, secret: SourcePosition?) {
        let diagnostics = DiagnosticCollector(file: file)
        let document: TOMLTable
        do {
            document = try TOMLParser.parse(text)
        } catch {
            diagnostics.error(error.message, at: error.position)
            return (ConfigResult(settings: nil, errors: diagnostics.errors, warnings: []),
                    textualSecretPosition(text))
        }
        let schema = SettingsSchema(diagnostics: diagnostics, environment: environment)
        let settings = schema.read(document)
        let errors = diagnostics.sortedErrors
        return (ConfigResult(settings: errors.isEmpty ? settings : nil, errors: errors,
                             warnings: diagnostics.sortedWarnings),
                schema.firstInlineSecret ?? textualSecretPosition(text))
    }

    /// A line reading `secret = …`, for files that do not parse (the warning still applies).
    private static func textualSecretPosition(_ text: String) -> SourcePosition? {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            guard trimmed.hasPrefix("secret") else { continue }
            let rest = trimmed.dropFirst("secret".count).drop(while: { $0 == " " || $0 == "\t" })
            if rest.hasPrefix("=") {
                return SourcePosition(line: index + 1, column: line.count - trimmed.count + 1)
            }
        }
        return nil
    }
}

/// The bytes of the config file, decoded, with what the permission check needs.
struct ConfigFileContents {
    var text: String
    /// Group or other may read it (`mode & 0o077` beyond the owner's bits).
    var readableByOthers: Bool

    struct Failure: Error {
        var position: SourcePosition
        var message: String
    }

    static func read(path: String) -> Result<ConfigFileContents, Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            return .failure(Failure(position: .start, message: "cannot read \(path): \(String(cString: strerror(errno)))"))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            return .failure(Failure(position: .start, message: "cannot stat \(path): \(String(cString: strerror(errno)))"))
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            return .failure(Failure(position: .start, message: "cannot read \(path): Is a directory"))
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(Failure(position: .start, message: "cannot read \(path): \(String(cString: strerror(errno)))"))
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        if let invalid = firstInvalidUTF8(bytes) {
            return .failure(Failure(position: invalid, message: "\(path) is not valid UTF-8 text"))
        }
        var text = String(decoding: bytes, as: UTF8.self)
        // Editors on some systems start files with a byte-order mark; it is not part of the TOML.
        if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }
        return .success(ConfigFileContents(text: text, readableByOthers: (info.st_mode & 0o077) != 0))
    }

    /// Where the first byte that is not UTF-8 sits, so the error can point at it.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> SourcePosition? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var line = 1
        var column = 1
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                if scalar == "\n" {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .emptyInput:
                return nil
            case .error:
                return SourcePosition(line: line, column: column)
            }
        }
    }
}

/// Gathers errors and warnings of one load, each tied to the file being read.
final class DiagnosticCollector {
    let file: String
    private(set) var errors: [ConfigDiagnostic] = []
    private(set) var warnings: [ConfigDiagnostic] = []

    init(file: String) {
        self.file = file
    }

    /// Errors in source order, whatever order the schema checked them in.
    var sortedErrors: [ConfigDiagnostic] { errors.enumerated().sorted(by: Self.sourceOrder).map(\.element) }
    var sortedWarnings: [ConfigDiagnostic] { warnings.enumerated().sorted(by: Self.sourceOrder).map(\.element) }

    private static func sourceOrder(_ a: (offset: Int, element: ConfigDiagnostic),
                                    _ b: (offset: Int, element: ConfigDiagnostic)) -> Bool {
        (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
    }

    func error(_ message: String, at position: SourcePosition) {
        errors.append(ConfigDiagnostic(file: file, position: position, message: message))
    }

    func warning(_ message: String, at position: SourcePosition) {
        warnings.append(ConfigDiagnostic(file: file, position: position, message: message))
    }
}
