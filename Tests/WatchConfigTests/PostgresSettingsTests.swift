import Foundation
import Testing
import WatchConfig

/// `[storage] url`, `password_file` and `takeover` (docs/configuration.md, `[storage]`): the
/// URL's parts and defaults, the schema's errors and where they point, the password sources and
/// their order, and that no password shows up in a message or the summary.
@Suite struct PostgresSettingsTests {
    // MARK: the URL

    private func parseError(_ url: String) -> String? {
        do {
            _ = try PostgresSettings.parse(url: url)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func theDefaults() throws {
        let settings = try PostgresSettings.parse(url: "postgresql://outpostwatch@db.example.com")
        #expect(settings == PostgresSettings(host: "db.example.com", port: 5432, user: "outpostwatch",
                                             database: "outpostwatch", sslMode: .prefer))
        #expect(settings.sslRootCert == nil)
        #expect(settings.passwordFile == nil)
        #expect(settings.takeover == .seconds(15))
        #expect(settings.applicationName == nil)
        #expect(settings.redacted == "postgresql://outpostwatch@db.example.com:5432/outpostwatch?sslmode=prefer")
        // A trailing slash is no database name either; postgres:// is the same scheme.
        #expect(try PostgresSettings.parse(url: "postgres://ow@db/").database == "ow")
    }

    @Test func portDatabaseAndQuery() throws {
        let settings = try PostgresSettings.parse(
            url: "postgresql://outpostwatch@db.example.com:6543/watch?sslmode=verify-full&sslrootcert=/etc/ssl/pg-ca.pem&application_name=outpostwatch%20a")
        #expect(settings.host == "db.example.com")
        #expect(settings.port == 6543)
        #expect(settings.database == "watch")
        #expect(settings.sslMode == .verifyFull)
        #expect(settings.sslRootCert == "/etc/ssl/pg-ca.pem")
        #expect(settings.applicationName == "outpostwatch a")
        #expect(settings.redacted
            == "postgresql://outpostwatch@db.example.com:6543/watch?sslmode=verify-full&sslrootcert=/etc/ssl/pg-ca.pem&application_name=outpostwatch%20a")
        #expect(try PostgresSettings.parse(url: settings.redacted) == settings)
    }

    @Test func ipAddresses() throws {
        let v6 = try PostgresSettings.parse(url: "postgresql://ow@[2001:db8::5]:5433/store")
        #expect(v6.host == "2001:db8::5")
        #expect(v6.port == 5433)
        #expect(v6.redacted.hasPrefix("postgresql://ow@[2001:db8::5]:5433/store?"))
        #expect(try PostgresSettings.parse(url: "postgresql://ow@[::1]/store").host == "::1")
        #expect(try PostgresSettings.parse(url: "postgresql://ow@10.0.0.7:5432").host == "10.0.0.7")
        #expect(parseError("postgresql://ow@[2001:db8::zz]/store")?.contains("not an IPv6 address") == true)
        #expect(parseError("postgresql://ow@[::1/store")?.contains("without its ]") == true)
        #expect(parseError("postgresql://ow@::1/store") != nil)
    }

    @Test func percentEncodedUserAndDatabase() throws {
        let settings = try PostgresSettings.parse(url: "postgresql://watch%40corp@db/order%20history")
        #expect(settings.user == "watch@corp")
        #expect(settings.database == "order history")
        #expect(settings.redacted == "postgresql://watch%40corp@db:5432/order%20history?sslmode=prefer")
        #expect(try PostgresSettings.parse(url: "postgresql://%C3%A9mile@db").database == "émile")
        #expect(parseError("postgresql://bad%zzuser@db")?.contains("malformed %-escape") == true)
        #expect(parseError("postgresql://ow@db/bad%2")?.contains("malformed %-escape") == true)
    }

    @Test func sslModes() throws {
        for (text, mode) in [("disable", PostgresSettings.SSLMode.disable), ("prefer", .prefer), ("require", .require),
                             ("verify-full", .verifyFull)] {
            #expect(try PostgresSettings.parse(url: "postgresql://ow@db?sslmode=\(text)").sslMode == mode)
        }
        for unsupported in ["verify-ca", "allow"] {
            #expect(parseError("postgresql://ow@db?sslmode=\(unsupported)")
                == "sslmode=\(unsupported) is not supported: use verify-full (certificate and host name checked) or require (encrypted, not checked)")
        }
        #expect(parseError("postgresql://ow@db?sslmode=strict")
            == "unknown sslmode \"strict\": expected disable, prefer, require or verify-full")
        #expect(parseError("postgresql://ow@db?sslmode=require&sslrootcert=/ca.pem")
            == "sslrootcert is only used with sslmode=verify-full (sslmode is require)")
        // libpq's sslrootcert=system: the system roots, which verify-full uses anyway.
        #expect(try PostgresSettings.parse(url: "postgresql://ow@db?sslmode=verify-full&sslrootcert=system").sslRootCert == nil)
    }

    @Test func unknownOrRepeatedQueryKeys() {
        #expect(parseError("postgresql://ow@db/x?connect_timeout=5")
            == "unknown URL parameter connect_timeout: the URL takes only sslmode, sslrootcert, application_name")
        #expect(parseError("postgresql://ow@db/x?sslmode=require&sslmode=disable") == "the URL gives sslmode twice")
        #expect(parseError("postgresql://ow@db/x?sslmode") == "sslmode in the URL has no value: write sslmode=VALUE")
    }

    @Test func userHostAndSchemeAreRequired() {
        #expect(parseError("postgresql://db.example.com/outpostwatch")
            == "the URL names no user: write it as postgresql://USER@HOST/DATABASE")
        #expect(parseError("postgresql://@db.example.com/outpostwatch")
            == "the URL names no user: write it as postgresql://USER@HOST/DATABASE")
        #expect(parseError("postgresql://ow@/outpostwatch")?.hasPrefix("the URL names no host") == true)
        #expect(parseError("mysql://ow@db/x")?.hasPrefix("not a PostgreSQL URL") == true)
        #expect(parseError("/var/lib/outpostwatch/state.db")?.hasPrefix("not a PostgreSQL URL") == true)
        #expect(parseError("postgresql://ow@db1,db2/x")?.contains("several hosts") == true)
        #expect(parseError("postgresql://ow@db:0/x") == "the port in the URL is not a number from 1 to 65535")
        #expect(parseError("postgresql://ow@db:65536/x") == "the port in the URL is not a number from 1 to 65535")
        #expect(parseError("postgresql://ow@db:/x") == "the port in the URL is not a number from 1 to 65535")
        #expect(parseError("postgresql://ow@db/x#top") == "the URL must not have a #fragment")
    }

    @Test func aPasswordInTheURLIsAnErrorThatDoesNotRepeatIt() {
        let expected = "the URL must not contain a password: put the password in password_file, the systemd credential postgres-password or PGPASSFILE"
        for url in ["postgresql://ow:hunter2secret@db/x",
                    "postgresql://ow:hunter2secret@[::1]:5432/x?sslmode=require",
                    "postgresql://ow:hun@ter2secret@db/x",
                    "postgresql://ow:hunter2secret?x=1@db/x",
                    "postgresql://ow@db/x?password=hunter2secret",
                    "postgresql://ow:@db/x"] {
            let error = parseError(url)
            #expect(error == expected, "\(url)")
            #expect(error?.contains("hunter2") == false)
        }
        // A password with an unescaped "/" cannot be told from the host; no message repeats it.
        for url in ["postgresql://ow:hunter2/secret@db/x", "postgresql://ow:pa/hunter2?secret@db/x",
                    "postgresql://ow:hunter2:5432/x"] {
            let error = parseError(url)
            #expect(error != nil, "\(url)")
            #expect(error?.contains("hunter2") == false, "\(url): \(error ?? "")")
            #expect(error?.contains("secret") == false, "\(url): \(error ?? "")")
        }
    }

    // MARK: the schema

    private func parse(_ storage: String, environment: [String: String] = [:]) -> ConfigResult {
        ConfigLoader.parse(text: "[[order]]\nid = \"oo-0123456789abcdef0\"\n[storage]\n" + storage, file: "t.toml",
                           environment: environment)
    }

    private func located(_ result: ConfigResult) -> [String] {
        result.errors.map(\.description)
    }

    @Test func theStorageTableWithAURL() throws {
        let result = parse("""
            url = "postgresql://outpostwatch@db.example.com:5432/outpostwatch?sslmode=verify-full"
            password_file = "/etc/hostname"
            takeover = "30s"
            """)
        #expect(result.errors.isEmpty, "\(result.errors)")
        let postgres = try #require(result.settings?.storage.postgres)
        #expect(postgres.host == "db.example.com")
        #expect(postgres.sslMode == .verifyFull)
        #expect(postgres.passwordFile == "/etc/hostname")
        #expect(postgres.takeover == .seconds(30))
        // Without url the store is SQLite, as before.
        let sqlite = parse("path = \"/tmp/x.db\"\n")
        #expect(sqlite.settings?.storage.postgres == nil)
        #expect(sqlite.settings?.storage.path == "/tmp/x.db")
        // takeover's default.
        #expect(parse("url = \"postgresql://ow@db\"\n").settings?.storage.postgres?.takeover == .seconds(15))
    }

    @Test func pathAndURLTogetherIsAnErrorAtURL() {
        let result = parse("path = \"/tmp/x.db\"\nurl = \"postgresql://ow@db\"\n")
        #expect(result.settings == nil)
        #expect(located(result)
            == ["t.toml:5:1: storage.url: [storage] takes either path (SQLite) or url (PostgreSQL), not both"])
    }

    @Test func passwordFileOrTakeoverWithoutURL() {
        let result = parse("path = \"/tmp/x.db\"\n  password_file = \"/etc/pg.password\"\ntakeover = \"15s\"\n")
        #expect(located(result) == [
            "t.toml:5:3: storage.password_file: only used with url (PostgreSQL); a SQLite store at path has no password",
            "t.toml:6:1: storage.takeover: only used with url (PostgreSQL), whose daemons share one store",
        ])
    }

    @Test func takeoverRange() {
        #expect(located(parse("url = \"postgresql://ow@db\"\ntakeover = \"2s\"\n"))
            == ["t.toml:5:12: storage.takeover: 2s is out of range: must be from 3s to 10m"])
        #expect(located(parse("url = \"postgresql://ow@db\"\ntakeover = \"10m1s\"\n"))
            == ["t.toml:5:12: storage.takeover: 10m1s is out of range: must be from 3s to 10m"])
        #expect(located(parse("url = \"postgresql://ow@db\"\ntakeover = \"soon\"\n")).first?
            .hasPrefix("t.toml:5:12: storage.takeover: bad duration \"soon\"") == true)
        #expect(parse("url = \"postgresql://ow@db\"\ntakeover = \"3s\"\n").settings?.storage.postgres?.takeover == .seconds(3))
        #expect(parse("url = \"postgresql://ow@db\"\ntakeover = \"10m\"\n").settings?.storage.postgres?.takeover == .seconds(600))
    }

    @Test func urlErrorsPointAtTheValueAndHideThePassword() {
        let result = parse("url = \"postgresql://ow:hunter2@db/x\"\n")
        #expect(located(result) == ["t.toml:4:7: storage.url: the URL must not contain a password: put the password in password_file, the systemd credential postgres-password or PGPASSFILE"])
        #expect(!result.errors.description.contains("hunter2"))
        #expect(located(parse("url = \"postgresql://ow@db?sslmode=verify-ca\"\n"))
            == ["t.toml:4:7: storage.url: sslmode=verify-ca is not supported: use verify-full (certificate and host name checked) or require (encrypted, not checked)"])
        #expect(located(parse("url = \"\"\n")) == ["t.toml:4:7: storage.url: must not be empty"])
        #expect(located(parse("urll = \"postgresql://ow@db\"\n")) == ["t.toml:4:1: unknown key urll in [storage]; did you mean url?"])
    }

    @Test func aMissingPasswordFileIsAWarning() {
        let result = parse("url = \"postgresql://ow@db\"\npassword_file = \"/nonexistent/pg.password\"\n")
        #expect(result.errors.isEmpty)
        #expect(result.warnings.map(\.description).contains("t.toml:5:17: storage.password_file: /nonexistent/pg.password does not exist (yet)"))
    }

    // MARK: the password

    /// A fresh temporary directory, removed by the caller.
    private func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ow-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    private func settings(_ url: String = "postgresql://outpostwatch@db.example.com:5432/outpostwatch",
                          passwordFile: String? = nil) throws -> PostgresSettings {
        var settings = try PostgresSettings.parse(url: url)
        settings.passwordFile = passwordFile
        return settings
    }

    private func resolveError(_ settings: PostgresSettings, _ environment: [String: String]) -> String? {
        do {
            _ = try PostgresPassword.resolve(settings, environment: environment)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func fromThePasswordFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/pg.password"
        try "s3cret pass \n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try PostgresPassword.resolve(settings(passwordFile: file), environment: [:]) == "s3cret pass ")
        // One line break is dropped, no more.
        try "s3cret\r\n\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try PostgresPassword.resolve(settings(passwordFile: file), environment: [:]) == "s3cret\r\n")
        try "s3cret".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try PostgresPassword.resolve(settings(passwordFile: file), environment: [:]) == "s3cret")
        #expect(PostgresPassword.source(try settings(passwordFile: file), environment: [:]) == .passwordFile(file))

        try "\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(resolveError(try settings(passwordFile: file), [:]) == "password_file \(file): is empty")
        #expect(resolveError(try settings(passwordFile: dir + "/missing"), [:]) == "password_file \(dir)/missing: no such file")
        #expect(resolveError(try settings(passwordFile: dir), [:]) == "password_file \(dir): is a directory")
        try Data([0x73, 0xFF, 0xFE]).write(to: URL(fileURLWithPath: file))
        #expect(resolveError(try settings(passwordFile: file), [:]) == "password_file \(file): not valid UTF-8")
    }

    @Test func fromTheSystemdCredential() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let environment = ["CREDENTIALS_DIRECTORY": dir]
        #expect(try PostgresPassword.resolve(settings(), environment: environment) == nil)
        try "from-credential\n\n".write(toFile: dir + "/postgres-password", atomically: true, encoding: .utf8)
        #expect(try PostgresPassword.resolve(settings(), environment: environment) == "from-credential")
        #expect(PostgresPassword.source(try settings(), environment: environment) == .credential("postgres-password"))
        try "\n".write(toFile: dir + "/postgres-password", atomically: true, encoding: .utf8)
        #expect(resolveError(try settings(), environment)
            == "systemd credential postgres-password: \(dir)/postgres-password is empty")
    }

    @Test func fromAPgpassFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pgpass = dir + "/pgpass"
        try #"""
            # comment:*:*:*:never
            other.example.com:5432:outpostwatch:outpostwatch:wrong-host
            db.example.com:6543:*:outpostwatch:wrong-port
            db.example.com:5432:*:reader:wrong-user

            db.example.com:5432:archive:*:archive-pass
            *:5432:*:outpostwatch:p\:ass\\word:ignored
            *:*:*:*:catch-all
            \:\:1:5432:outpostwatch:outpostwatch:v6-pass
            """#.write(toFile: pgpass, atomically: true, encoding: .utf8)
        let environment = ["PGPASSFILE": pgpass]
        #expect(try PostgresPassword.resolve(settings(), environment: environment) == "p:ass\\word")
        #expect(try PostgresPassword.resolve(settings("postgresql://outpostwatch@db.example.com/archive"),
                                             environment: environment) == "archive-pass")
        #expect(try PostgresPassword.resolve(settings("postgresql://someone@elsewhere:1/x"),
                                             environment: environment) == "catch-all")
        // The first match wins: the wildcard line comes before the IPv6 one.
        #expect(try PostgresPassword.resolve(settings("postgresql://outpostwatch@[::1]/outpostwatch"),
                                             environment: environment) == "p:ass\\word")
        #expect(PostgresPassword.source(try settings(), environment: environment)
            == .pgpass(path: pgpass, fromEnvironment: true))

        // Escaped colons match the colons of an IPv6 host; no wildcard line: no password.
        try #"""
            \:\:1:5432:outpostwatch:outpostwatch:v6-pass\r
            db.example.com:5432:outpostwatch:outpostwatch
            """#.replacingOccurrences(of: "\\r", with: "\r").write(toFile: pgpass, atomically: true, encoding: .utf8)
        #expect(try PostgresPassword.resolve(settings("postgresql://outpostwatch@[::1]/outpostwatch"),
                                             environment: environment) == "v6-pass")
        // A line with too few fields does not match.
        #expect(try PostgresPassword.resolve(settings(), environment: environment) == nil)
        #expect(PostgresPassword.source(try settings(), environment: environment) == nil)

        // Without PGPASSFILE: $HOME/.pgpass, when it exists.
        let home = dir + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        #expect(try PostgresPassword.resolve(settings(), environment: ["HOME": home]) == nil)
        try "*:*:*:outpostwatch:home-pass\n".write(toFile: home + "/.pgpass", atomically: true, encoding: .utf8)
        #expect(try PostgresPassword.resolve(settings(), environment: ["HOME": home]) == "home-pass")
        #expect(PostgresPassword.source(try settings(), environment: ["HOME": home])
            == .pgpass(path: home + "/.pgpass", fromEnvironment: false))
        // PGPASSFILE replaces ~/.pgpass, even when it names no file (as with libpq).
        #expect(try PostgresPassword.resolve(settings(), environment: ["HOME": home, "PGPASSFILE": dir + "/none"]) == nil)
    }

    @Test func thePrecedence() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/pg.password"
        try "from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        let credentials = dir + "/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        try "from-credential".write(toFile: credentials + "/postgres-password", atomically: true, encoding: .utf8)
        try "*:*:*:*:from-pgpass\n".write(toFile: dir + "/pgpass", atomically: true, encoding: .utf8)
        let everything = ["CREDENTIALS_DIRECTORY": credentials, "PGPASSFILE": dir + "/pgpass"]

        #expect(try PostgresPassword.resolve(settings(passwordFile: file), environment: everything) == "from-file")
        #expect(try PostgresPassword.resolve(settings(), environment: everything) == "from-credential")
        #expect(try PostgresPassword.resolve(settings(), environment: ["PGPASSFILE": dir + "/pgpass"]) == "from-pgpass")
        #expect(try PostgresPassword.resolve(settings(), environment: [:]) == nil)
        // A password_file that cannot be read is an error, not a fall-through to the next source.
        #expect(resolveError(try settings(passwordFile: dir + "/missing"), everything)
            == "password_file \(dir)/missing: no such file")
    }

    // MARK: check-config

    @Test func theSummaryNamesTheSourceNeverThePassword() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/pg.password"
        try "TopSecretPassword\n".write(toFile: file, atomically: true, encoding: .utf8)
        try "*:*:*:*:TopSecretPassword\n".write(toFile: dir + "/pgpass", atomically: true, encoding: .utf8)
        try "TopSecretPassword".write(toFile: dir + "/postgres-password", atomically: true, encoding: .utf8)
        let url = "url = \"postgresql://outpostwatch@db.example.com/outpostwatch?sslmode=require\"\n"

        func summary(_ storage: String, _ environment: [String: String]) throws -> String {
            let settings = try #require(parse(storage, environment: environment).settings)
            return ConfigSummary.render(settings, environment: environment)
        }
        let cases: [(String, [String: String], String)] = [
            (url + "password_file = \"\(file)\"\n", [:], "password from password_file \(file)"),
            (url + "takeover = \"1m\"\n", ["CREDENTIALS_DIRECTORY": dir], "password from credential postgres-password"),
            (url, ["PGPASSFILE": dir + "/pgpass"], "password from PGPASSFILE \(dir)/pgpass"),
            (url, [:], "no password"),
        ]
        for (storage, environment, source) in cases {
            let text = try summary(storage, environment)
            let takeover = storage.contains("1m") ? "1m" : "15s"
            #expect(text.contains("Storage: postgresql://outpostwatch@db.example.com:5432/outpostwatch (sslmode require, takeover \(takeover), \(source))"),
                    "\(text)")
            #expect(!text.contains("TopSecret"))
        }
        // The SQLite line is unchanged.
        #expect(try summary("path = \"/tmp/x.db\"\n", [:]).contains("\nStorage: /tmp/x.db\n"))
    }
}
