import Foundation
import OutpostsAPI
import Testing

/// The shared config/credentials file parser, against botocore's own parser as the oracle.
@Suite("AWS config files")
struct CredentialFilesTests {
    /// INI texts chosen for the corners of Python's RawConfigParser and botocore's profile map.
    static let oracleCases: [String] = [
        // Basics, both delimiters, case-folded keys, whole-line comments, a `#` inside a value.
        """
        [default]
        aws_access_key_id = AKIAEXAMPLE1
        Aws_Secret_Access_Key: s3cr#t ; kept
        # a comment
            ; an indented comment
        [profile dev]
        region=us-west-2
        """,
        // Sub-sections, multi-line values with blank lines, [DEFAULT] inheritance.
        """
        [DEFAULT]
        inherited = yes
        region = eu-west-1
        [profile dev]
        region = us-east-2
        s3 =
          max_concurrent_requests = 10
          Addressing_Style = path
        multi = first
           second

           third
        [default]
        output = json
        """,
        // Profile names: quoted, extra spaces, the `profiler` quirk, non-profile sections, [profile default] then [default].
        """
        [profile "with space"]
        x = 1
        [profile   spaced]
        x = 2
        [profiler odd]
        y = 2
        [sso-session corp]
        sso_region = us-east-1
        [services dev]
        z = 3
        [plain]
        w = 4
        [profile a b]
        v = 5
        [profile 'unclosed]
        u = 6
        [profile default]
        from = profile-default
        [default]
        from = default
        """,
        // CRLF line endings, trailing spaces, a header with text after it, an empty value.
        "[default]\r\naws_access_key_id = AKIA2  \r\nempty =\r\n[profile x] trailing\r\nk = v\r\n",
        // Header greedy to the last bracket.
        "[profile a]b]\nk = v\n",
        // Errors: duplicate section, duplicate key, key before any section, a line without a delimiter,
        // an indented sub-section line without `=`.
        "[default]\na = 1\n[default]\nb = 2\n",
        "[default]\na = 1\nA = 2\n",
        "a = 1\n[default]\n",
        "[default]\njust some words\n",
        "[default]\ns3 =\n  no equals sign here\n",
        // An empty file and a file of comments only.
        "",
        "# nothing\n; here\n",
    ]

    @Test("parses like botocore", .enabled(if: CredPythonOracle.enabled, "python3 with botocore is not installed"))
    func matchesBotocore() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        var paths: [String] = []
        for (index, text) in Self.oracleCases.enumerated() {
            paths.append(try dir.write("case\(index).ini", text))
        }
        let result = try await CredPythonOracle.script("fake_ini_oracle.py", arguments: paths)
        try #require(result.status == 0, "oracle failed: \(result.stderr)")
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        try #require(expected.count == Self.oracleCases.count)

        for (index, text) in Self.oracleCases.enumerated() {
            let oracle = expected[index]
            let sections: [(name: String, profile: AWSConfigProfile)]
            do {
                sections = try AWSConfigFiles.parseSections(text, source: "case \(index)")
            } catch {
                #expect(oracle["error"] != nil, "case \(index): we refused a file botocore accepts: \(error)")
                continue
            }
            guard let raw = oracle["raw"] as? [String: Any], let profiles = oracle["profiles"] as? [String: Any] else {
                Issue.record("case \(index): botocore refused (\(oracle["error"] ?? "?")) a file we accepted")
                continue
            }
            let ours = Dictionary(sections.map { ($0.name, $0.profile) }, uniquingKeysWith: { _, last in last })
            #expect(Self.plain(ours) == Self.plain(raw), "case \(index): sections differ")
            #expect(Self.plain(AWSConfigFiles.profileMap(sections)) == Self.plain(profiles), "case \(index): profiles differ")
        }
    }

    /// Both sides as `[section: [key: String or [String: String]]]` compared through NSDictionary.
    static func plain(_ sections: [String: AWSConfigProfile]) -> NSDictionary {
        var out: [String: Any] = [:]
        for (name, profile) in sections {
            var entry: [String: Any] = profile.values
            for (key, nested) in profile.subsections { entry[key] = nested }
            out[name] = entry
        }
        return out as NSDictionary
    }

    static func plain(_ json: [String: Any]) -> NSDictionary { json as NSDictionary }

    @Test("a parse error names file and line but never quotes the line")
    func parseErrorIsSafe() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let dir = try CredTempDir()
        defer { dir.remove() }
        let path = try dir.write("credentials", "[default]\naws_access_key_id = AKIA\n\(secret)\n")
        #expect(throws: CredentialError.self) {
            _ = try AWSConfigFiles(credentialsFile: path, configFile: dir.path + "/none")
        }
        do {
            _ = try AWSConfigFiles(credentialsFile: path, configFile: dir.path + "/none")
        } catch {
            CredentialFixtures.expectSafeError(error, mentions: [path, "line 3"], secrets: [secret])
        }
    }

    @Test("file locations: environment overrides, ~ is HOME, missing files are empty")
    func locations() throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        let defaults = AWSConfigFiles.locations(environment: ["HOME": "/home/op"])
        #expect(defaults.credentialsFile == "/home/op/.aws/credentials")
        #expect(defaults.configFile == "/home/op/.aws/config")
        let overridden = AWSConfigFiles.locations(environment: [
            "HOME": "/home/op", "AWS_SHARED_CREDENTIALS_FILE": "~/creds", "AWS_CONFIG_FILE": "$HOME/cfg/${HOME}x",
        ])
        #expect(overridden.credentialsFile == "/home/op/creds")
        #expect(overridden.configFile == "/home/op/cfg//home/opx")

        try dir.write(".aws/credentials", "[default]\naws_access_key_id = AKIAHOME\naws_secret_access_key = s\n")
        let files = try AWSConfigFiles.load(environment: ["HOME": dir.path])
        #expect(files.profile("default")?["aws_access_key_id"] == "AKIAHOME")
        #expect(files.configProfiles.isEmpty)
        #expect(files.notes.isEmpty)
    }

    @Test("profile selection: configured, then AWS_DEFAULT_PROFILE, then AWS_PROFILE, then default")
    func profileSelection() {
        #expect(AWSConfigFiles.selectProfile(configured: "cfg", environment: ["AWS_PROFILE": "p", "AWS_DEFAULT_PROFILE": "d"]) == ("cfg", true))
        #expect(AWSConfigFiles.selectProfile(configured: nil, environment: ["AWS_PROFILE": "p", "AWS_DEFAULT_PROFILE": "d"]) == ("d", true))
        #expect(AWSConfigFiles.selectProfile(configured: nil, environment: ["AWS_PROFILE": "p"]) == ("p", true))
        #expect(AWSConfigFiles.selectProfile(configured: nil, environment: ["AWS_PROFILE": ""]) == ("default", false))
    }

    @Test("the credentials file wins key by key over the config file")
    func merging() throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        let credentials = try dir.write("credentials", "[dev]\naws_access_key_id = FROMCREDS\n[profile x]\nk = raw-name\n")
        let config = try dir.write("config", "[profile dev]\naws_access_key_id = FROMCONFIG\nregion = us-west-2\n")
        let files = try AWSConfigFiles(credentialsFile: credentials, configFile: config)
        #expect(files.profile("dev")?["aws_access_key_id"] == "FROMCREDS")
        #expect(files.profile("dev")?["region"] == "us-west-2")
        // In the credentials file the section name is the profile name, "profile" prefix and all.
        #expect(files.profile("profile x")?["k"] == "raw-name")
        #expect(files.profile("x") == nil)
        #expect(files.profileNames == ["dev", "profile x"])
    }
}
