import Foundation
import Testing
import WatchConfig

/// `[http]` (docs/configuration.md, docs/status-page.md): the token sources and the warning for a
/// reachable address without one.
@Suite struct HTTPConfigTests {
    private func parse(_ http: String, environment: [String: String] = [:]) -> ConfigResult {
        ConfigLoader.parse(text: "[[order]]\nid = \"oo-0123456789abcdef0\"\n[http]\n" + http, file: "t.toml",
                           environment: environment)
    }

    private func unprotectedWarnings(_ result: ConfigResult) -> [String] {
        result.warnings.map(\.message).filter { $0.contains("no token protects") }
    }

    @Test func tokenFileIsTheTokenSource() throws {
        let result = parse("listen = \"0.0.0.0:9464\"\ntoken_file = \"/etc/hostname\"\n")
        #expect(try #require(result.settings).http?.token == .file("/etc/hostname"))
        #expect(unprotectedWarnings(result).isEmpty)
    }

    @Test func theSystemdCredentialIsUsedWhenNoFileIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("creds-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "secret\n".write(toFile: dir + "/http-token", atomically: true, encoding: .utf8)
        let result = parse("listen = \"0.0.0.0:9464\"\n", environment: ["CREDENTIALS_DIRECTORY": dir])
        #expect(try #require(result.settings).http?.token == .systemdCredential("http-token"))
        #expect(unprotectedWarnings(result).isEmpty)
        // The file wins over the credential.
        let both = parse("token_file = \"/etc/hostname\"\n", environment: ["CREDENTIALS_DIRECTORY": dir])
        #expect(try #require(both.settings).http?.token == .file("/etc/hostname"))
    }

    @Test func aReachableAddressWithoutATokenIsAWarningAtTheListenValue() throws {
        for listen in ["0.0.0.0:9464", "[::]:9464", "10.1.2.3:80", "metrics.internal:9464"] {
            let result = parse("listen = \"\(listen)\"\n")
            #expect(result.settings?.http?.token == nil)
            let warnings = result.warnings.filter { $0.message.contains("no token protects") }
            #expect(warnings.count == 1, "\(listen)")
            #expect(warnings.first.map { "\($0.line):\($0.column)" } == "4:10")
        }
        for listen in ["127.0.0.1:9464", "[::1]:9464", "localhost:9464", "127.8.9.10:1"] {
            #expect(unprotectedWarnings(parse("listen = \"\(listen)\"\n")).isEmpty, "\(listen)")
        }
        // No listen key: the default is loopback.
        #expect(unprotectedWarnings(parse("")).isEmpty)
    }

    @Test func emptyOrMissingTokenFiles() {
        let empty = parse("token_file = \"\"\n")
        #expect(empty.settings == nil)
        #expect(empty.errors.map(\.message) == ["http.token_file: must not be empty"])
        let missing = parse("token_file = \"/nonexistent/token\"\n")
        #expect(missing.settings?.http?.token == .file("/nonexistent/token"))
        #expect(missing.warnings.contains { $0.message.contains("/nonexistent/token does not exist") })
    }
}
