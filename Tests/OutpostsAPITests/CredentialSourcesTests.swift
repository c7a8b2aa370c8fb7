import Foundation
import OutpostsAPI
import Testing

/// Environment, systemd credentials, profiles and credential_process: sources that read local
/// state (real files in temp dirs, real processes).
@Suite("credential sources: local")
struct CredentialSourcesTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let token = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDExampleSessionToken="

    // MARK: Environment

    @Test("environment: keys, AWS_SECURITY_TOKEN before AWS_SESSION_TOKEN, expiration")
    func environment() async throws {
        let plain = try await EnvironmentCredentialProvider(environment: [
            "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": Self.secret,
        ]).credentials()
        #expect(plain == AWSCredentials(accessKeyId: "AKIAENV", secretAccessKey: Self.secret))

        let withTokens = try await EnvironmentCredentialProvider(environment: [
            "AWS_ACCESS_KEY_ID": "ASIAENV", "AWS_SECRET_ACCESS_KEY": Self.secret,
            "AWS_SESSION_TOKEN": "session", "AWS_SECURITY_TOKEN": "security",
            "AWS_CREDENTIAL_EXPIRATION": "2030-01-02T03:04:05Z",
        ]).credentials()
        #expect(withTokens.sessionToken == "security")
        #expect(withTokens.expiration == Date(timeIntervalSince1970: 1_893_553_445))
    }

    @Test("environment: unset is unavailable; a key without secret is an error without secrets")
    func environmentFailures() async throws {
        guard case .unavailable = try await EnvironmentCredentialProvider(environment: ["AWS_ACCESS_KEY_ID": ""]).lookup() else {
            Issue.record("an empty AWS_ACCESS_KEY_ID should count as unset")
            return
        }
        await #expect(throws: CredentialError.self) {
            _ = try await EnvironmentCredentialProvider(environment: ["AWS_ACCESS_KEY_ID": "AKIA", "AWS_SESSION_TOKEN": Self.token]).credentials()
        }
        do {
            _ = try await EnvironmentCredentialProvider(environment: [
                "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_CREDENTIAL_EXPIRATION": "soon",
            ]).credentials()
            Issue.record("a bad expiration must be refused")
        } catch {
            CredentialFixtures.expectSafeError(error, mentions: ["environment", "AWS_CREDENTIAL_EXPIRATION"], secrets: [Self.secret])
        }
    }

    // MARK: systemd

    @Test("systemd credentials: separate files, trailing newlines ignored")
    func systemdFiles() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        try dir.write("aws-access-key-id", "AKIASYSTEMD\n")
        try dir.write("aws-secret-access-key", Self.secret + "\n")
        try dir.write("aws-session-token", Self.token + "\n")
        try dir.write("aws-credentials", "[default]\naws_access_key_id = IGNORED\naws_secret_access_key = x\n")
        let credentials = try await SystemdCredentialProvider(environment: ["CREDENTIALS_DIRECTORY": dir.path]).credentials()
        #expect(credentials == AWSCredentials(accessKeyId: "AKIASYSTEMD", secretAccessKey: Self.secret, sessionToken: Self.token))
    }

    @Test("systemd credentials: an aws-credentials file, profile default")
    func systemdSharedFile() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        try dir.write("aws-credentials", "[other]\naws_access_key_id = NO\n[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = \(Self.secret)\n")
        let credentials = try await SystemdCredentialProvider(environment: ["CREDENTIALS_DIRECTORY": dir.path]).credentials()
        #expect(credentials == AWSCredentials(accessKeyId: "AKIAFILE", secretAccessKey: Self.secret))
    }

    @Test("systemd credentials: unset, empty dir, half a key pair")
    func systemdFailures() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        guard case .unavailable = try await SystemdCredentialProvider(environment: [:]).lookup(),
              case .unavailable = try await SystemdCredentialProvider(environment: ["CREDENTIALS_DIRECTORY": dir.path]).lookup() else {
            Issue.record("no directory or an empty one must be unavailable")
            return
        }
        try dir.write("aws-secret-access-key", Self.secret)
        do {
            _ = try await SystemdCredentialProvider(environment: ["CREDENTIALS_DIRECTORY": dir.path]).credentials()
            Issue.record("half a key pair must be an error")
        } catch {
            CredentialFixtures.expectSafeError(error, mentions: ["systemd credentials", dir.path, "aws-access-key-id"], secrets: [Self.secret])
        }
    }

    // MARK: Profiles

    @Test("profile: keys from the credentials file win over credential_process and config keys")
    func profileStaticOrder() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        try dir.write(".aws/credentials", "[dev]\naws_access_key_id = AKIACREDS\naws_secret_access_key = \(Self.secret)\naws_session_token = t1\n")
        try dir.write(".aws/config", "[profile dev]\ncredential_process = /bin/false\naws_access_key_id = AKIACONFIG\naws_secret_access_key = x\n[profile cfg]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = \(Self.secret)\n")
        let env = CredentialFixtures.environment(home: dir)
        let dev = try await ProfileCredentialProvider(profileName: "dev", explicit: true, environment: env,
                                                      httpClient: CredentialFixtures.httpClient, region: "us-east-1").credentials()
        #expect(dev == AWSCredentials(accessKeyId: "AKIACREDS", secretAccessKey: Self.secret, sessionToken: "t1"))
        let cfg = try await ProfileCredentialProvider(profileName: "cfg", explicit: true, environment: env,
                                                      httpClient: CredentialFixtures.httpClient, region: "us-east-1").credentials()
        #expect(cfg.accessKeyId == "AKIACONFIG")
    }

    @Test("profile: a named profile that does not exist is an error, an implicit default is not")
    func profileMissing() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        try dir.write(".aws/config", "[profile other]\nregion = us-east-1\n")
        let env = CredentialFixtures.environment(home: dir)
        do {
            _ = try await ProfileCredentialProvider(profileName: "nope", explicit: true, environment: env,
                                                    httpClient: CredentialFixtures.httpClient, region: "us-east-1").credentials()
            Issue.record("a missing named profile must be an error")
        } catch {
            CredentialFixtures.expectSafeError(error, mentions: ["nope", dir.path + "/.aws/config"], secrets: [])
        }
        let implicit = try await ProfileCredentialProvider(profileName: "default", explicit: false, environment: env,
                                                           httpClient: CredentialFixtures.httpClient, region: "us-east-1").lookup()
        guard case .unavailable = implicit else {
            Issue.record("an absent implicit default profile is unavailable, not found")
            return
        }
    }

    // MARK: credential_process

    @Test("credential_process: runs through /bin/sh, parses Version 1 JSON with Expiration")
    func processSuccess() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        let script = try dir.write("helper.sh", """
        #!/bin/sh
        echo "starting" >&2
        printf '{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "%s", "SessionToken": "%s", "Expiration": "2031-05-06T07:08:09Z"}' "$1" "$HELPER_TOKEN"
        """, mode: 0o700)
        try dir.write(".aws/config", "[default]\ncredential_process = \(script) '\(Self.secret)'\n")
        let env = CredentialFixtures.environment(home: dir, ["HELPER_TOKEN": Self.token])
        let credentials = try await ProfileCredentialProvider(profileName: "default", explicit: false, environment: env,
                                                              httpClient: CredentialFixtures.httpClient, region: "us-east-1").credentials()
        #expect(credentials.accessKeyId == "ASIAPROC")
        #expect(credentials.secretAccessKey == Self.secret)
        #expect(credentials.sessionToken == Self.token)
        #expect(credentials.expiration == CredentialSupportProbe.date("2031-05-06T07:08:09Z"))
    }

    @Test("credential_process: non-zero exit carries stderr's first line, not stdout")
    func processFailure() async throws {
        let provider = ProcessCredentialProvider(
            command: "echo '{\"SecretAccessKey\": \"\(Self.secret)\"}'; echo 'token expired, run sso login' >&2; echo second >&2; exit 3",
            origin: "credential_process of profile dev")
        do {
            _ = try await provider.credentials()
            Issue.record("a failing command must be an error")
        } catch {
            CredentialFixtures.expectSafeError(error, mentions: ["credential_process of profile dev", "status 3", "token expired, run sso login"],
                                               secrets: [Self.secret, "second"])
        }
    }

    @Test("credential_process: wrong Version, missing keys, not JSON")
    func processBadOutput() async throws {
        let cases: [(String, String)] = [
            ("echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"\(Self.secret)\"}'", "Version"),
            ("echo '{\"Version\": 1, \"SecretAccessKey\": \"\(Self.secret)\"}'", "AccessKeyId"),
            ("echo 'AccessKeyId=A SecretAccessKey=\(Self.secret)'", "not a JSON object"),
        ]
        for (command, fragment) in cases {
            do {
                _ = try await ProcessCredentialProvider(command: command).credentials()
                Issue.record("\(fragment): must be refused")
            } catch {
                CredentialFixtures.expectSafeError(error, mentions: ["credential_process", fragment], secrets: [Self.secret])
            }
        }
    }

    @Test("credential_process: a command that hangs is killed with its children at the timeout")
    func processTimeout() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        let marker = dir.path + "/child-alive"
        // The shell starts a child that would outlive a kill of the shell alone and keep stdout open.
        let started = ContinuousClock.now
        do {
            _ = try await ProcessCredentialProvider(
                command: "(sleep 47; touch \(marker)) & sleep 47", timeout: .milliseconds(300)).credentials()
            Issue.record("a hanging command must time out")
        } catch {
            CredentialFixtures.expectSafeError(error, mentions: ["credential_process", "killed"], secrets: [])
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(20), "took \(elapsed): the 47 s command must not be waited for")
        // The background child was in the killed process group: no `sleep 47` is left.
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/bin/sh")
        check.arguments = ["-c", "ps -eo args | grep -c '^sleep 47$' || true"]
        let pipe = Pipe()
        check.standardOutput = pipe
        try check.run()
        check.waitUntilExit()
        let count = Int(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        #expect(count == 0, "children of the timed-out command are still running")
    }
}

/// Date parsing for expectations, independent of the code under test.
enum CredentialSupportProbe {
    static func date(_ iso: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: iso)
    }
}
