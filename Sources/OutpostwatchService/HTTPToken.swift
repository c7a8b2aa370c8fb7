import Foundation
import Support
import WatchConfig

/// Reads the status page's bearer token (docs/status-page.md) once, at start: from
/// `[http] token_file` or the systemd credential `http-token`, trailing line breaks removed (the
/// one trimming rule of ``SystemdCredentials``). Errors name the file, never its contents.
enum HTTPToken {
    /// The token, or `nil` when none is configured.
    static func load(_ source: SecretSource?, environment: [String: String]) throws -> String? {
        let token: String?
        let origin: String
        switch source {
        case nil:
            return nil
        case .inline(let value)?:
            (token, origin) = (value, "[http] token")
        case .file(let path)?:
            origin = "[http] token_file \(path)"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandFailure(.config, "\(origin): cannot be read")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw CommandFailure(.config, "\(origin): not valid UTF-8")
            }
            token = SystemdCredentials.trimmed(text)
        case .systemdCredential(let name)?:
            origin = "systemd credential \(name)"
            do {
                token = try SystemdCredentials.read(name: name, environment: environment)
            } catch {
                throw CommandFailure(.config, "\(origin): \(error)")
            }
        }
        guard let token, !token.isEmpty else { throw CommandFailure(.config, "\(origin): the token is empty") }
        return token
    }
}
