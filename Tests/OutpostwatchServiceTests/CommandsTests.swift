import Foundation
import OutpostwatchService
import Testing
import WatchConfig

/// `history --since` (docs/cli.md): an ISO-8601 instant, or a duration meaning that long ago.
@Suite("--since")
struct SinceTests {
    static let now = Date(timeIntervalSince1970: 1_795_867_200) // 2026-11-28T12:00:00Z

    @Test("ISO-8601 instants, with or without milliseconds", arguments: [
        ("2026-11-28T12:00:00Z", 1_795_867_200.0),
        ("2026-11-28T12:00:00.250Z", 1_795_867_200.25),
        ("2026-01-01T00:00:00Z", 1_767_225_600.0),
        // An instant after `now` is taken as given (it simply selects nothing yet).
        ("2030-01-01T00:00:00Z", 1_893_456_000.0),
    ])
    func instants(text: String, seconds: Double) {
        #expect(Commands.parseSince(text, now: Self.now) == Date(timeIntervalSince1970: seconds))
    }

    @Test("durations count back from now", arguments: [
        ("24h", 86_400.0), ("7d", 604_800.0), ("1h30m", 5_400.0), ("90s", 90.0), ("500ms", 0.5),
        ("0s", 0.0), ("2d12h", 216_000.0),
    ])
    func durations(text: String, secondsAgo: Double) {
        #expect(Commands.parseSince(text, now: Self.now) == Self.now.addingTimeInterval(-secondsAgo))
    }

    @Test("anything else is rejected (a usage error, 64, for the command)", arguments: [
        "", "yesterday", "24", "24 h", "-1h", "+1h", "1m1h", "1.5h", "24H", "2026-11-28", "2026-11-28 12:00:00",
        "12:00:00", "off", " 24h", "24h ",
    ])
    func rejected(text: String) {
        #expect(Commands.parseSince(text, now: Self.now) == nil)
    }

    @Test("an explicit UTC offset denotes the instant it names")
    func offset() {
        #expect(Commands.parseSince("2026-11-28T14:00:00+02:00", now: Self.now) == Self.now)
        #expect(Commands.parseSince("2026-11-28T07:00:00-05:00", now: Self.now) == Self.now)
    }
}

/// Where the config file is (docs/cli.md): `--config`, else `$OUTPOSTWATCH_CONFIG`, else the default.
@Suite("config path")
struct ConfigPathTests {
    @Test func precedence() {
        let env = ["OUTPOSTWATCH_CONFIG": "/srv/ow.toml"]
        #expect(resolveConfigPath("/tmp/a.toml", environment: env) == "/tmp/a.toml")
        #expect(resolveConfigPath(nil, environment: env) == "/srv/ow.toml")
        // An empty option or variable counts as not given.
        #expect(resolveConfigPath("", environment: env) == "/srv/ow.toml")
        #expect(resolveConfigPath(nil, environment: ["OUTPOSTWATCH_CONFIG": ""]) == "/etc/outpostwatch/config.toml")
        #expect(resolveConfigPath(nil, environment: [:]) == "/etc/outpostwatch/config.toml")
        #expect(resolveConfigPath(nil, environment: [:]) == ConfigLoader.defaultPath)
    }
}

/// `loadSettings`: every config error is one `FILE:LINE:COL: message` line, exit status 78.
@Suite("loading the config")
struct LoadSettingsTests {
    /// `FILE:LINE:COL: message`, LINE and COL from 1.
    static func isDiagnostic(_ line: String) -> Bool {
        line.wholeMatch(of: #/^.+:[1-9][0-9]*:[1-9][0-9]*: .+$/#) != nil
    }

    @Test("every error is reported, each at its position, with exit status 78")
    func everyError() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/config.toml"
            try writeFile(path, """
                [aws]
                regoin = "us-west-2"
                [poll]
                interval = "5 minutes"
                [[order]]
                id = "oo-123"

                """)
            let failure = try #require(await commandFailure { _ = try loadSettings(path: path, environment: ["HOME": dir]) })
            #expect(failure.status == .config)
            #expect(failure.status.rawValue == 78)
            #expect(failure.lines.count == 3, "\(failure.lines)")
            for line in failure.lines {
                #expect(line.hasPrefix(path + ":"), "\(line)")
                #expect(Self.isDiagnostic(line), "\(line)")
            }
            #expect(failure.lines.contains { $0.hasPrefix("\(path):2:1: unknown key regoin in [aws]; did you mean region?") })
            #expect(failure.lines.contains { $0.hasPrefix("\(path):4:12: poll.interval: bad duration \"5 minutes\"") })
            #expect(failure.lines.contains { $0.hasPrefix("\(path):6:6: order.id: malformed order id \"oo-123\"") })
            #expect(failure.description == failure.lines.joined(separator: "\n"))
        }
    }

    @Test("a TOML syntax error stops at the first one")
    func syntaxError() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/config.toml"
            try writeFile(path, "[aws]\nregion = \"us-west-2\n[poll\n")
            let failure = try #require(await commandFailure { _ = try loadSettings(path: path, environment: [:]) })
            #expect(failure.status == .config)
            #expect(failure.lines.count == 1)
            #expect(failure.lines.first?.hasPrefix("\(path):2:") == true, "\(failure.lines)")
        }
    }

    @Test("a missing file or a directory is reported at FILE:1:1")
    func unreadable() async throws {
        try await withTemporaryDirectory { dir in
            for path in [dir + "/absent.toml", dir] {
                let failure = try #require(await commandFailure { _ = try loadSettings(path: path, environment: [:]) })
                #expect(failure.status == .config)
                #expect(failure.lines.count == 1)
                #expect(failure.lines.first?.hasPrefix("\(path):1:1: ") == true, "\(failure.lines)")
            }
        }
    }

    @Test("a valid file loads; warnings do not fail it; the environment fills the defaults")
    func valid() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/config.toml"
            // No [[order]] and no [[discover]]: a warning, not an error.
            try writeFile(path, "[aws]\nregion = \"eu-west-1\"\n[poll]\ninterval = \"1h30m\"\n")
            let settings = try loadSettings(path: path, environment: ["STATE_DIRECTORY": dir + "/state"])
            #expect(settings.aws.region == "eu-west-1")
            #expect(settings.poll.interval == .seconds(5400))
            #expect(settings.orders.isEmpty)
            #expect(settings.storage.path == dir + "/state/state.db")
        }
    }

    @Test("no region anywhere is a config error at FILE:1:1")
    func missingRegion() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/config.toml"
            try writeFile(path, "[[order]]\nid = \"\(orderA)\"\n")
            // HOME points at an empty directory: no ~/.aws/config to take a region from either.
            let environment = ["HOME": dir]
            let settings = try loadSettings(path: path, environment: environment)
            let failure = try #require(await commandFailure {
                _ = try resolveEndpoint(settings.accounts[0], configPath: path, environment: environment)
            })
            #expect(failure.status == .config)
            #expect(failure.lines.count == 1)
            #expect(failure.lines.first?.hasPrefix("\(path):1:1: ") == true, "\(failure.lines)")

            let endpoint = try resolveEndpoint(settings.accounts[0], configPath: path, environment: ["HOME": dir, "AWS_REGION": "us-east-2"])
            #expect(endpoint.region == "us-east-2")
            #expect(endpoint.url.absoluteString.hasPrefix("https://outposts.us-east-2.amazonaws.com"))
        }
    }

    @Test("the configured endpoint wins over the environment's")
    func endpointOverride() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/config.toml"
            try writeFile(path, "[aws]\nregion = \"us-west-2\"\nendpoint = \"http://127.0.0.1:8714\"\n[[order]]\nid = \"\(orderA)\"\n")
            let settings = try loadSettings(path: path, environment: ["HOME": dir])
            let endpoint = try resolveEndpoint(settings.accounts[0], configPath: path,
                                               environment: ["HOME": dir, "AWS_ENDPOINT_URL_OUTPOSTS": "http://127.0.0.1:9"])
            #expect(endpoint.region == "us-west-2")
            #expect(endpoint.url.absoluteString.hasPrefix("http://127.0.0.1:8714"))
        }
    }
}

/// The plain-text output helpers of the commands.
@Suite("output")
struct OutputTests {
    @Test("tables pad every column but the last to its widest cell")
    func table() {
        let text = Output.table(["ORDER", "STATUS", "LAST"], [
            [orderA, "IN_PROGRESS", "-"],
            ["oo-1", "-", "2026-11-28T12:00:00Z"],
        ])
        #expect(text == """
            ORDER                 STATUS       LAST
            oo-0123456789abcdef0  IN_PROGRESS  -
            oo-1                  -            2026-11-28T12:00:00Z
            """)
    }

    @Test func times() {
        #expect(Output.time(nil) == "-")
        #expect(Output.time(Date(timeIntervalSince1970: 1_795_867_200)) == "2026-11-28T12:00:00Z")
        #expect(Output.time(Date(timeIntervalSince1970: 1_795_867_200.5)) == "2026-11-28T12:00:00.500Z")
    }
}

@Suite struct TimelineTextTests {
    @Test func durationsReadInTheTwoLargestUnits() {
        #expect(TimelineCommand.compact(0) == "0s")
        #expect(TimelineCommand.compact(40) == "40s")
        #expect(TimelineCommand.compact(5 * 60 + 12) == "5m 12s")
        #expect(TimelineCommand.compact(3 * 3600 + 20 * 60 + 59) == "3h 20m")
        #expect(TimelineCommand.compact(12 * 86_400 + 4 * 3600 + 59) == "12d 4h")
        #expect(TimelineCommand.compact(2 * 86_400 + 30) == "2d 0h")
        #expect(TimelineCommand.compact(-5) == "0s")
    }
}
