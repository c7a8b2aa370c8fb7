import Foundation
import Support
import WatchConfig

/// Reads a sink's secret (a webhook's signing secret, a PagerDuty routing key) from where the
/// config says it is. Errors name the sink and the source, never the content.
public enum SecretText {
    /// The secret's text and a description of where it came from (`secret_file /path`).
    /// Files and systemd credentials lose their trailing line breaks (the one trimming rule of
    /// ``SystemdCredentials``).
    public static func read(_ source: SecretSource, sinkName: String, kind: String = "webhook",
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> (text: String, origin: String) {
        let fileKey = kind == "pagerduty" ? "routing_key_file" : "secret_file"
        switch source {
        case .inline(let secret):
            return (secret, kind == "pagerduty" ? "routing_key" : "secret")
        case .file(let path):
            return (try readFile(path, sinkName: sinkName, kind: kind, what: "\(fileKey) \(path)"), "\(fileKey) \(path)")
        case .systemdCredential(let name):
            guard let path = SystemdCredentials.path(name: name, environment: environment) else {
                throw WebhookSecretError(sink: sinkName,
                                         reason: "systemd credential \(name) expected but $CREDENTIALS_DIRECTORY is not set",
                                         kind: kind)
            }
            return (try readFile(path, sinkName: sinkName, kind: kind, what: "systemd credential \(name)"),
                    "systemd credential \(name)")
        }
    }

    private static func readFile(_ path: String, sinkName: String, kind: String, what: String) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            // The Foundation error text is fine (it names the file and errno), but keep it short.
            let reason = FileManager.default.fileExists(atPath: path) ? "is not readable" : "does not exist"
            throw WebhookSecretError(sink: sinkName, reason: "\(what) \(reason)", kind: kind)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw WebhookSecretError(sink: sinkName, reason: "\(what) is not UTF-8 text", kind: kind)
        }
        return SystemdCredentials.trimmed(text)
    }
}
