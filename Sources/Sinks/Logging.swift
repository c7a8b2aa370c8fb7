import Foundation
import Logging
import WatchModel

#if canImport(Glibc)
import Glibc
#endif

/// Keeps secrets out of operational logs and flattens metadata to text.
///
/// A key that looks like it names a secret has its value replaced, whatever the value is, so a
/// careless `logger.info("…", metadata: ["token": …])` cannot leak one.
public enum LogRedaction {
    /// What a redacted value is replaced by.
    public static let placeholder = "[REDACTED]"

    private static let secretWords = ["secret", "token", "password", "passwd", "authorization", "credential",
                                      "api_key", "apikey", "private_key", "signature"]

    /// Whether a metadata key names something that must never be logged.
    public static func isSecretKey(_ key: String) -> Bool {
        let lower = key.lowercased().replacingOccurrences(of: "-", with: "_")
        return secretWords.contains { lower.contains($0) }
    }

    /// The text of a metadata value, with secret-named keys redacted at every nesting level.
    public static func render(_ value: Logger.MetadataValue, key: String) -> String {
        if isSecretKey(key) { return placeholder }
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        case .array(let values): return "[" + values.map { render($0, key: "") }.joined(separator: ", ") + "]"
        case .dictionary(let dict):
            return "[" + dict.sorted { $0.key < $1.key }.map { "\($0.key): \(render($0.value, key: $0.key))" }
                .joined(separator: ", ") + "]"
        }
    }

    /// Handler metadata, provider metadata and the message's own, later ones winning (swift-log's rule).
    static func merge(_ handler: Logger.Metadata, _ provider: Logger.MetadataProvider?,
                      _ event: Logger.Metadata?) -> Logger.Metadata {
        var merged = handler
        if let provided = provider?.get() { merged.merge(provided) { _, new in new } }
        if let event { merged.merge(event) { _, new in new } }
        return merged
    }
}

/// A swift-log handler: the level, metadata and provider every handler keeps, and a ``LogOutput``
/// that writes each message (journald or stderr). One handler type, so the two outputs differ
/// only in how they write.
public struct OutputLogHandler<Output: LogOutput>: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    public init(label: String, level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        Output.write(event, label: label, level: logLevel,
                     metadata: LogRedaction.merge(metadata, metadataProvider, event.metadata))
    }
}

/// Where a ``OutputLogHandler`` writes; metadata arrives merged, not yet redacted.
public protocol LogOutput {
    static func write(_ event: LogEvent, label: String, level: Logger.Level, metadata: Logger.Metadata)
}

/// swift-log handler writing structured entries to journald (the daemon's operational logs).
///
/// Metadata becomes journal fields (`order_id` → `ORDER_ID`) so `journalctl ORDER_ID=…` finds
/// the log lines next to the events; secret-named keys are redacted.
public typealias JournalLogHandler = OutputLogHandler<JournalLogOutput>

/// swift-log handler writing one readable line per message to stderr (terminals, `once`, CLI).
///
/// `2026-11-28T12:00:00.123Z warning message key=value …`, secret-named keys redacted.
public typealias StderrLogHandler = OutputLogHandler<StderrLogOutput>

public enum JournalLogOutput: LogOutput {
    /// Field names the handler sets itself; metadata with these names gets a `META_` prefix.
    private static let ownFields: Set<String> = ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE",
                                                 "CODE_FUNC", "LOGGER", "MESSAGE_ID"]

    public static func write(_ event: LogEvent, label: String, level: Logger.Level, metadata: Logger.Metadata) {
        do {
            try Journal.send(fields(label: label, event: event, metadata: metadata))
        } catch {
            // journald went away (restart, shutdown): the message still reaches stderr,
            // which systemd also collects.
            StderrLogOutput.write(event, label: label, level: level, metadata: metadata)
        }
    }

    /// The journal fields of one log message.
    static func fields(label: String, event: LogEvent, metadata: Logger.Metadata) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("MESSAGE", event.message.description),
            ("PRIORITY", String(priority(event.level))),
            ("SYSLOG_IDENTIFIER", JournaldSink.syslogIdentifier),
            ("LOGGER", label),
            ("CODE_FILE", event.file),
            ("CODE_LINE", String(event.line)),
            ("CODE_FUNC", event.function),
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            var name = Journal.fieldName(key)
            if ownFields.contains(name) { name = "META_" + name }
            fields.append((name, LogRedaction.render(value, key: key)))
        }
        return fields
    }

    /// syslog priority of a swift-log level.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }
}

public enum StderrLogOutput: LogOutput {
    public static func write(_ event: LogEvent, label: String, level: Logger.Level, metadata: Logger.Metadata) {
        let bytes = Array((line(event: event, metadata: metadata, at: Date()) + "\n").utf8)
        // One write(2) per line keeps lines from concurrent tasks whole.
        _ = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// The text of one message, without the newline.
    public static func line(event: LogEvent, metadata: Logger.Metadata, at date: Date) -> String {
        var parts = [ISO8601.formatMillis(date), event.level.rawValue, event.message.description]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            let text = LogRedaction.render(value, key: key)
            parts.append("\(key)=" + (text.contains(" ") || text.isEmpty ? "\"\(text)\"" : text))
        }
        return parts.joined(separator: " ").split(whereSeparator: { $0.isNewline }).joined(separator: " ")
    }
}

/// Chooses where the process's operational logs go, once, at start.
public enum LoggingSetup {
    /// Installs the journald handler when stderr is the journal (running under systemd), the
    /// stderr handler otherwise (a terminal, a pipe, a container).
    public static func bootstrap(level: Logger.Level) {
        let useJournal = shouldUseJournal()
        LoggingSystem.bootstrap { label in
            if useJournal { return JournalLogHandler(label: label, level: level) }
            return StderrLogHandler(label: label, level: level)
        }
    }

    /// Whether stderr is connected to journald: `JOURNAL_STREAM` names stderr's device and inode
    /// (systemd sets it for the service's own stdio), stderr is not a terminal, and the journal
    /// socket exists.
    public static func shouldUseJournal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let stream = environment["JOURNAL_STREAM"], isatty(STDERR_FILENO) == 0, Journal.isAvailable else {
            return false
        }
        let parts = stream.split(separator: ":")
        var info = stat()
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]),
              fstat(STDERR_FILENO, &info) == 0 else { return false }
        // A child that inherited JOURNAL_STREAM but has its stderr redirected elsewhere logs there.
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }
}

extension ISO8601 {
    /// Always with milliseconds: log lines line up and sort.
    static func formatMillis(_ date: Date) -> String {
        // Not `.time(includingFractionalSeconds:)`: on a full style that drops the date part.
        Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).format(date)
    }
}
