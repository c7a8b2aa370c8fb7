import Foundation
import Testing
import WatchConfig
import WatchModel

/// A fresh directory under the system temp dir, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "watchconfig-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ contents: String, mode: Int = 0o600) throws -> String {
        let file = "\(path)/\(name)"
        try Data(contents.utf8).write(to: URL(fileURLWithPath: file))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
        return file
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

private let noEnvironment: [String: String] = [:]

private func parse(_ text: String, environment: [String: String] = [:]) -> ConfigResult {
    ConfigLoader.parse(text: text, file: "test.toml", environment: environment)
}

/// The `(line, column, message)` of each error, for compact expectations.
private func located(_ diagnostics: [ConfigDiagnostic]) -> [(Int, Int, String)] {
    diagnostics.map { ($0.line, $0.column, $0.message) }
}

@Suite("Config loading: the typed schema")
struct ConfigLoaderTests {
    static let specExample = """
    [aws]
    region   = "us-west-2"               # else AWS_REGION, AWS_DEFAULT_REGION, the profile's region
    profile  = "outposts-readonly"       # optional; else AWS_PROFILE, else the default chain
    endpoint = "http://127.0.0.1:8714"   # optional; else AWS_ENDPOINT_URL_OUTPOSTS, AWS_ENDPOINT_URL, the regional endpoint
    role_arn = "arn:aws:iam::123456789012:role/OutpostsRead"   # optional: AssumeRole through STS
    use_fips = false

    [poll]
    interval          = "5m"    # durations: "500ms", "30s", "5m", "1h", "1h30m"
    jitter            = 0.1     # each delay is spread by ±10 %
    concurrency       = 4       # GetOrder calls in flight at most
    max_rps           = 5       # client-side ceiling on API calls per second
    terminal_interval = "6h"    # for COMPLETED / CANCELLED orders; "off" stops polling them
    failing_after     = 3       # consecutive failed polls before watch.failing

    [storage]
    path = "/var/lib/outpostwatch/state.db"   # default: $STATE_DIRECTORY/state.db, else ./outpostwatch.db

    [journald]
    enabled = true              # default: true where the journald socket exists

    [[order]]
    id    = "oo-0123456789abcdef0"   # OrderId pattern oo-[a-f0-9]{17}
    label = "Seattle rack 2"        # optional, carried in every event

    [[discover]]                    # optional: watch every order ListOrders returns
    outpost  = "op-0123456789abcdef0"   # optional OutpostIdentifierFilter
    interval = "1h"

    [[webhook]]
    name         = "ops"
    url          = "https://hooks.example.com/outposts"
    secret_file  = "/etc/outpostwatch/ops.secret"   # or secret = "whsec_…", or a systemd credential named webhook-ops
    format       = "json"           # json | slack
    events       = ["order.status_changed", "line_item.shipment_changed"]   # default: every type but order.first_seen
    orders       = ["oo-0123456789abcdef0"]   # optional filter
    timeout      = "10s"
    max_age      = "72h"            # retry for this long, then the delivery is failed (dead letter)
    headers      = { "X-Team" = "infra" }
    """

    @Test("the example of docs/configuration.md reads into the expected settings")
    func specExampleParses() throws {
        let result = parse(Self.specExample)
        #expect(result.errors.isEmpty, "\(result.errors)")
        let settings = try #require(result.settings)
        var expected = Settings(
            aws: AWSSettings(region: "us-west-2", profile: "outposts-readonly", endpoint: "http://127.0.0.1:8714",
                             roleArn: "arn:aws:iam::123456789012:role/OutpostsRead", useFips: false),
            poll: PollSettings(interval: .seconds(300), jitter: 0.1, concurrency: 4, maxRPS: 5,
                               terminalInterval: .seconds(21600), failingAfter: 3, requestTimeout: .seconds(10)),
            storage: StorageSettings(path: "/var/lib/outpostwatch/state.db"),
            journald: JournaldSettings(enabled: true),
            retention: RetentionSettings(),
            http: nil,
            orders: [OrderSettings(id: "oo-0123456789abcdef0", label: "Seattle rack 2")],
            discover: [DiscoverSettings(outpost: "op-0123456789abcdef0", interval: .seconds(3600))],
            webhooks: [WebhookSettings(name: "ops", url: "https://hooks.example.com/outposts",
                                       secret: .file("/etc/outpostwatch/ops.secret"), format: .json,
                                       events: [.orderStatusChanged, .lineItemShipmentChanged],
                                       orders: ["oo-0123456789abcdef0"], timeout: .seconds(10),
                                       maxAge: .seconds(259_200), headers: ["X-Team": "infra"], concurrency: 4)])
        expected.accounts = [expected.aws.defaultAccount]
        #expect(settings == expected)
    }

    @Test("defaults apply to everything the file leaves out")
    func defaults() throws {
        let result = parse("""
        [[order]]
        id = "oo-0123456789abcdef0"
        [[webhook]]
        name = "local"
        url = "http://127.0.0.1:9000/hook"
        [http]
        [retention]
        deliveries = "7d"
        events = "off"
        """, environment: ["STATE_DIRECTORY": "/var/lib/outpostwatch:/other"])
        #expect(result.errors.isEmpty, "\(result.errors)")
        let settings = try #require(result.settings)
        #expect(settings.aws == AWSSettings())
        #expect(settings.poll == PollSettings())
        #expect(settings.storage.path == "/var/lib/outpostwatch/state.db")
        #expect(settings.journald.enabled == nil)
        #expect(settings.retention == RetentionSettings(deliveries: .seconds(7 * 86400), events: nil))
        #expect(settings.http == HTTPSettings(listen: "127.0.0.1:9464"))
        #expect(settings.orders == [OrderSettings(id: "oo-0123456789abcdef0")])
        #expect(settings.webhooks == [WebhookSettings(name: "local", url: "http://127.0.0.1:9000/hook")])
        #expect(settings.webhooks[0].events == EventType.webhookDefault)
        #expect(parse("[[order]]\nid = \"oo-0123456789abcdef0\"\n").settings?.storage.path == "./outpostwatch.db")
    }

    @Test("off, inline tables for arrays of tables, and the extra keys")
    func extraKeys() throws {
        let result = parse("""
        order = [{ id = "oo-0123456789abcdef0" }, { id = "oo-0123456789abcdef1", label = "b" }]
        [poll]
        terminal_interval = "off"
        request_timeout = "2500ms"
        max_rps = 0.5
        jitter = 0
        [retention]
        events = "90d"
        [http]
        listen = "[::1]:9464"
        [[webhook]]
        name = "slack-ops_2"
        url = "https://hooks.slack.com/services/T0/B0/XYZ"
        format = "slack"
        concurrency = 1
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        """)
        #expect(result.errors.isEmpty, "\(result.errors)")
        let settings = try #require(result.settings)
        #expect(settings.orders.map(\.id) == ["oo-0123456789abcdef0", "oo-0123456789abcdef1"])
        #expect(settings.poll.terminalInterval == nil)
        #expect(settings.poll.requestTimeout == .milliseconds(2500))
        #expect(settings.poll.maxRPS == 0.5)
        #expect(settings.poll.jitter == 0)
        #expect(settings.retention.events == .seconds(90 * 86400))
        #expect(settings.http?.listen == "[::1]:9464")
        #expect(settings.webhooks.first?.format == .slack)
        #expect(settings.webhooks.first?.concurrency == 1)
        #expect(settings.webhooks.first?.secret == .inline("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
    }

    @Test("each kind of error, at the offending value (or key)", arguments: [
        ("[poll]\nintervall = \"5m\"\n", 2, 1, "unknown key intervall in [poll]; did you mean interval?"),
        ("[pol]\n", 1, 2, "unknown table [pol]; did you mean poll?"),
        ("orders = []\n", 1, 1, "unknown key orders at the top level; did you mean order?"),
        ("[aws]\nregion = 5\n", 2, 10, "aws.region: expected a string, found integer"),
        ("[poll]\ninterval = 300\n", 2, 12, "poll.interval: expected a duration string such as \"5m\", found integer"),
        ("[poll]\ninterval = \"5 m\"\n", 2, 12, "poll.interval: bad duration \"5 m\""),
        ("[poll]\ninterval = \"off\"\n", 2, 12, "poll.interval: bad duration \"off\""),
        ("[poll]\ninterval = \"0s\"\n", 2, 12, "poll.interval: must be longer than 0"),
        ("[poll]\njitter = 1.5\n", 2, 10, "poll.jitter: 1.5 is out of range: must be from 0 to 1"),
        ("[poll]\njitter = \"10%\"\n", 2, 10, "poll.jitter: expected a number, found string"),
        ("[poll]\nconcurrency = 0\n", 2, 15, "poll.concurrency: 0 is out of range: must be at least 1"),
        ("[poll]\nconcurrency = 2.0\n", 2, 15, "poll.concurrency: expected an integer, found float"),
        ("[poll]\nmax_rps = 0\n", 2, 11, "poll.max_rps: 0 is out of range: must be greater than 0"),
        ("[poll]\nmax_rps = inf\n", 2, 11, "poll.max_rps: inf is out of range"),
        ("[poll]\nfailing_after = 0\n", 2, 17, "poll.failing_after: 0 is out of range: must be at least 1"),
        ("[journald]\nenabled = \"yes\"\n", 2, 11, "journald.enabled: expected a boolean (true or false), found string"),
        ("[retention]\ndeliveries = \"off\"\n", 2, 14, "retention.deliveries: bad duration \"off\""),
        ("poll = 5\n", 1, 8, "poll: expected a table [poll], found integer"),
        ("[[poll]]\n", 1, 3, "write [poll], not [[poll]]"),
        ("[order]\nid = \"oo-0123456789abcdef0\"\n", 1, 2, "write [[order]], not [order]"),
        ("[[order]]\nid = \"oo-123\"\n", 2, 6, "order.id: malformed order id \"oo-123\""),
        ("[[order]]\nid = \"OO-0123456789ABCDEF0\"\n", 2, 6, "malformed order id"),
        ("[[order]]\nlabel = \"x\"\n", 1, 1, "[[order]]: missing required key id"),
        ("[[order]]\nid = \"oo-0123456789abcdef0\"\n[[order]]\nid = \"oo-0123456789abcdef0\"\n", 4, 6,
         "order.id: duplicate order id oo-0123456789abcdef0 (already listed at 2:6)"),
        ("[[discover]]\noutpost = \"op-1\"\n", 2, 11, "discover.outpost: \"op-1\" is not an outpost id"),
        ("[aws]\nendpoint = \"127.0.0.1:8714\"\n", 2, 12, "aws.endpoint: \"127.0.0.1:8714\" is not an http(s) URL"),
        ("[aws]\nrole_arn = \"OutpostsRead\"\n", 2, 12, "aws.role_arn: \"OutpostsRead\" is not an IAM role ARN"),
        ("[http]\nlisten = \"9464\"\n", 2, 10, "http.listen: \"9464\" is not HOST:PORT"),
        ("[http]\nlisten = \"127.0.0.1:99999\"\n", 2, 10, "is not HOST:PORT"),
        ("[http]\nlisten = \"::1:9464\"\n", 2, 10, "is not HOST:PORT"),
        ("[[webhook]]\nname = \"a\"\nurl = \"http://hooks.example.com/x\"\n", 3, 7,
         "webhook.url: plain http to hooks.example.com would send events unprotected; use https"),
        ("[[webhook]]\nname = \"a\"\nurl = \"ftp://127.0.0.1/x\"\n", 3, 7, "webhook.url: \"ftp://127.0.0.1/x\" is not an http(s) URL"),
        ("[[webhook]]\nname = \"a\"\nurl = \"hooks.example.com\"\n", 3, 7, "is not an http(s) URL"),
        ("[[webhook]]\nname = \"journald\"\nurl = \"https://h/\"\n", 2, 8, "\"journald\" is reserved"),
        ("[[webhook]]\nname = \"Ops\"\nurl = \"https://h/\"\n", 2, 8, "webhook.name: \"Ops\" may only contain a-z, 0-9, _ and -"),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\n[[webhook]]\nname = \"a\"\nurl = \"https://i/\"\n", 5, 8,
         "webhook.name: duplicate sink name a (already used at 2:8)"),
        ("[[webhook]]\nurl = \"https://h/\"\n", 1, 1, "[[webhook]]: missing required key name"),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\nsecret = \"whsec_abc\"\nsecret_file = \"/x\"\n", 5, 1,
         "webhook: set either secret or secret_file, not both"),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\nsecret = \"whsec_not base64!\"\n", 4, 10,
         "webhook.secret: a whsec_ secret must be followed by non-empty standard base64"),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\nformat = \"xml\"\n", 4, 10,
         "webhook.format: unknown format \"xml\": expected \"json\", \"slack\" or \"teams\""),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\nevents = [\"order.status_changed\", \"order.status_change\"]\n", 4, 35,
         "webhook.events: unknown event type \"order.status_change\"; did you mean \"order.status_changed\"?"),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\nevents = [\"order.status_changed\", 5]\n", 4, 35,
         "webhook.events: expected an array of strings, found an integer element"),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\norders = [\"oo-0123456789abcdef0\", \"oo-x\"]\n", 4, 35,
         "webhook.orders: malformed order id \"oo-x\""),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\nheaders = { \"Content-Type\" = \"text/plain\" }\n", 4, 13,
         "webhook.headers: Content-Type is set by outpostwatch itself"),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\nheaders = { \"X-A\" = \"1\\r\\nX-B: 2\" }\n", 4, 21,
         "header values may not contain control characters"),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\nconcurrency = 0\n", 4, 15,
         "webhook.concurrency: 0 is out of range: must be at least 1"),
        ("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\nmax_age = \"3 days\"\n", 4, 11, "webhook.max_age: bad duration"),
        ("[poll]\ninterval = 1979-05-27\n", 2, 12, "dates and times are not supported"),
        // [[eventbridge]], [[sns]], [[pagerduty]] (docs/configuration.md)
        ("[[eventbridge]]\nname = \"b\"\nsource = \"aws.outposts\"\n", 3, 10,
         "eventbridge.source: \"aws.outposts\" starts with \"aws.\""),
        ("[[sns]]\nname = \"t\"\ntopic_arn = \"arn:aws:sns:us-west-2:1111:orders\"\n", 3, 13,
         "sns.topic_arn: \"arn:aws:sns:us-west-2:1111:orders\" is not an SNS topic ARN"),
        ("[[sns]]\nname = \"t\"\n", 1, 1, "[[sns]]: missing required key topic_arn"),
        ("[[webhook]]\nname = \"x\"\nurl = \"https://h/\"\n[[sns]]\nname = \"x\"\ntopic_arn = \"arn:aws:sns:us-west-2:111111111111:t\"\n",
         5, 8, "sns.name: duplicate sink name x (already used at 2:8)"),
        ("[[pagerduty]]\nname = \"journald\"\nrouting_key = \"k\"\n", 2, 8, "pagerduty.name: \"journald\" is reserved"),
        ("[[pagerduty]]\nname = \"p\"\nrouting_key = \"k\"\nrouting_key_file = \"/k\"\n", 4, 1,
         "pagerduty: set either routing_key or routing_key_file, not both"),
        ("[[pagerduty]]\nname = \"p\"\nrouting_key = \"k\"\nurl = \"http://events.example.com/v2/enqueue\"\n", 4, 7,
         "pagerduty.url:"),
        ("[[eventbridge]]\nname = \"b\"\naccount = \"prod\"\n", 3, 11, "unknown account \"prod\""),
        ("[[eventbridge]]\nname = \"b\"\nevents = [\"order.shiped\"]\n", 3, 11, "eventbridge.events: unknown event type"),
    ] as [(String, Int, Int, String)])
    func errorKinds(text: String, line: Int, column: Int, message: String) throws {
        let result = parse(text)
        #expect(result.settings == nil)
        let error = try #require(result.errors.first, "no error for:\n\(text)")
        #expect(result.errors.count == 1, "\(result.errors)")
        #expect(error.line == line && error.column == column, "\(error)")
        #expect(error.message.contains(message), "\(error)")
        #expect(error.description == "test.toml:\(line):\(column): \(error.message)")
    }

    @Test("plain http is fine to loopback hosts", arguments: [
        "http://localhost:9000/x", "http://127.0.0.1/x", "http://127.8.9.10:1/", "http://[::1]:8080/hook",
        "http://LOCALHOST/", "https://hooks.example.com/x",
    ])
    func loopbackHTTP(url: String) {
        let result = parse("[[order]]\nid = \"oo-00000000000000000\"\n[[webhook]]\nname = \"a\"\nurl = \"\(url)\"\n")
        #expect(result.errors.isEmpty, "\(result.errors)")
    }

    @Test("plain http to other hosts is refused", arguments: [
        "http://128.0.0.1/", "http://10.0.0.1/", "http://[::2]/", "http://localhost.example.com/", "http://127.0.0.1.nip.io/",
    ])
    func nonLoopbackHTTP(url: String) {
        let result = parse("[[webhook]]\nname = \"a\"\nurl = \"\(url)\"\n")
        #expect(result.errors.map(\.message).contains { $0.contains("plain http") }, "\(result.errors)")
    }

    @Test("every error of a file is reported in one pass, in source order, with its position")
    func allErrorsAtOnce() {
        let result = parse("""
        [aws]
        regoin = "us-west-2"
        [poll]
        interval = "5 minutes"
        jitter = 2
        concurrency = "4"
        [[order]]
        id = "oo-123"
        [[order]]
        id = "oo-0123456789abcdef0"
        [[order]]
        id = "oo-0123456789abcdef0"
        [[webhook]]
        name = "ops"
        url = "http://hooks.example.com/"
        events = ["order.shipped"]
        [[webhook]]
        name = "ops"
        url = "https://hooks.example.com/"
        format = "yaml"
        """)
        #expect(result.settings == nil)
        let expected: [(Int, Int, String)] = [
            (2, 1, "unknown key regoin in [aws]; did you mean region?"),
            (4, 12, "poll.interval: bad duration \"5 minutes\""),
            (5, 10, "poll.jitter: 2 is out of range: must be from 0 to 1"),
            (6, 15, "poll.concurrency: expected an integer, found string"),
            (8, 6, "order.id: malformed order id \"oo-123\""),
            (12, 6, "order.id: duplicate order id oo-0123456789abcdef0 (already listed at 10:6)"),
            (15, 7, "webhook.url: plain http to hooks.example.com"),
            (16, 11, "webhook.events: unknown event type \"order.shipped\""),
            (18, 8, "webhook.name: duplicate sink name ops (already used at 14:8)"),
            (20, 10, "webhook.format: unknown format \"yaml\""),
        ]
        let actual = located(result.errors)
        #expect(actual.count == expected.count, "\(result.errors.map(\.description).joined(separator: "\n"))")
        for (got, want) in zip(actual, expected) {
            #expect(got.0 == want.0 && got.1 == want.1 && got.2.hasPrefix(want.2), "got \(got), want \(want)")
        }
    }

    @Test("a syntax error is one error with file, line and column")
    func syntaxError() throws {
        let result = parse("[poll]\ninterval = \"5m\n")
        #expect(result.settings == nil)
        #expect(result.errors.map(\.description) == [
            "test.toml:2:15: unterminated string: a basic string must end on the line it starts (use \"\"\" for several lines)",
        ])
    }

    @Test("webhook secrets never appear in errors, warnings or the summary")
    func secretsStayHidden() throws {
        let secret = "whsec_c2VjcmV0LWtleS1ub3QtdG8tbGVhaw=="
        let broken = "whsec_SUPERSECRET!!"
        let result = parse("""
        [[order]]
        id = "oo-0123456789abcdef0"
        [[webhook]]
        name = "a"
        url = "https://user:hunter2@hooks.example.com/x?token=abc123&v=1"
        secret = "\(secret)"
        headers = { Authorization = "Bearer tok-999" }
        [[webhook]]
        name = "b"
        url = "https://hooks.example.com/"
        secret = "\(broken)"
        """)
        let texts = (result.errors + result.warnings).map(\.description)
        #expect(texts.count == 1)
        #expect(!texts.contains { $0.contains("SUPERSECRET") })
        // A secret someone forgot to quote is a syntax error that does not repeat the value.
        let unquoted = parse("[[webhook]]\nname = \"a\"\nurl = \"https://h/\"\nsecret = whsec_UNQUOTEDSECRET\n")
        #expect(unquoted.errors.map(\.description) == [
            "test.toml:4:10: invalid value: strings must be quoted, e.g. region = \"us-west-2\"",
        ])
        let good = parse("""
        [[order]]
        id = "oo-0123456789abcdef0"
        [[webhook]]
        name = "a"
        url = "https://user:hunter2@hooks.example.com/x?token=abc123&v=1"
        secret = "\(secret)"
        headers = { Authorization = "Bearer tok-999" }
        [[webhook]]
        name = "slack"
        url = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
        format = "slack"
        """)
        let settings = try #require(good.settings, "\(good.errors)")
        let summary = ConfigLoader.summary(settings)
        for leak in [secret, "hunter2", "user:", "abc123", "tok-999", "XXXXSECRETXXXX"] {
            #expect(!summary.contains(leak), "summary shows \(leak):\n\(summary)")
        }
        #expect(summary.contains("https://***@hooks.example.com/x?token=***&v=***"), "\(summary)")
        #expect(summary.contains("https://hooks.slack.com/services/***"), "\(summary)")
        #expect(summary.contains("oo-0123456789abcdef0"))
        #expect(summary.contains("Authorization"))
        #expect(ConfigSummary.render(settings) == summary)
    }

    @Test("the summary says what is watched and where events go")
    func summary() throws {
        let settings = try #require(parse(Self.specExample).settings)
        let summary = ConfigLoader.summary(settings)
        for expected in ["Watching 1 order plus every order found by 1 discovery rule:",
                         "oo-0123456789abcdef0  Seattle rack 2",
                         "orders of outpost op-0123456789abcdef0 (ListOrders every 1h)",
                         "region us-west-2", "endpoint http://127.0.0.1:8714",
                         "every 5m ±10 %, 4 in flight, at most 5 calls/s",
                         "completed/cancelled orders: every 6h",
                         "Storage: /var/lib/outpostwatch/state.db",
                         "  journald",
                         "webhook ops: POST https://hooks.example.com/outposts (json, signed, secret from /etc/outpostwatch/ops.secret)",
                         "events: order.status_changed, line_item.shipment_changed",
                         "orders: oo-0123456789abcdef0",
                         "timeout 10s, retried for 3d, 4 in flight, extra headers: X-Team"] {
            #expect(summary.contains(expected), "missing \(expected):\n\(summary)")
        }
    }
}

@Suite("Config loading: files, permissions and credentials")
struct ConfigFileTests {
    @Test("a missing file is one error at 1:1 naming the path and the OS error")
    func missingFile() {
        let result = ConfigLoader.load(path: "/nonexistent/outpostwatch.toml", environment: noEnvironment)
        #expect(result.settings == nil)
        #expect(result.errors.map(\.description) == [
            "/nonexistent/outpostwatch.toml:1:1: cannot read /nonexistent/outpostwatch.toml: No such file or directory",
        ])
    }

    @Test("a directory or a file that is not UTF-8 is an error")
    func unreadable() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(ConfigLoader.load(path: dir.path, environment: noEnvironment).errors.map(\.message)
                == ["cannot read \(dir.path): Is a directory"])
        let file = "\(dir.path)/latin1.toml"
        try Data("a = 1\nb = \"caf".utf8 + [0xE9] + Data("\"\n".utf8)).write(to: URL(fileURLWithPath: file))
        let result = ConfigLoader.load(path: file, environment: noEnvironment)
        #expect(result.errors.map(\.description) == ["\(file):2:9: \(file) is not valid UTF-8 text"])
    }

    @Test("a file holding a secret and readable by others gets a warning, not an error")
    func readableSecretWarning() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let text = """
        [[order]]
        id = "oo-0123456789abcdef0"
        [[webhook]]
        name = "ops"
        url = "https://hooks.example.com/"
          secret = "whsec_c2VjcmV0"
        """
        let open = try dir.write("open.toml", text, mode: 0o644)
        let result = ConfigLoader.load(path: open, environment: noEnvironment)
        #expect(result.errors.isEmpty)
        #expect(result.settings?.webhooks.first?.secret == .inline("whsec_c2VjcmV0"))
        #expect(result.warnings.map(\.description) == [
            "\(open):6:3: \(open) contains a webhook secret and is readable by other users; chmod 600 it",
        ])
        let closed = try dir.write("closed.toml", text, mode: 0o600)
        #expect(ConfigLoader.load(path: closed, environment: noEnvironment).warnings.isEmpty)
        let groupReadable = try dir.write("group.toml", text, mode: 0o640)
        #expect(ConfigLoader.load(path: groupReadable, environment: noEnvironment).warnings.count == 1)
        // Without an inline secret, a world-readable file is fine.
        let noSecret = try dir.write("nosecret.toml", text.replacingOccurrences(of: "  secret = \"whsec_c2VjcmV0\"", with: ""),
                                     mode: 0o644)
        #expect(ConfigLoader.load(path: noSecret, environment: noEnvironment).warnings.isEmpty)
        // The warning still applies when the file has errors.
        let broken = try dir.write("broken.toml", text + "\n[poll]\ninterval = 5\n", mode: 0o644)
        let brokenResult = ConfigLoader.load(path: broken, environment: noEnvironment)
        #expect(brokenResult.errors.count == 1 && brokenResult.warnings.count == 1)
    }

    @Test("where each webhook's secret comes from")
    func secretSources() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let credentials = "\(dir.path)/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        _ = try dir.write("credentials/webhook-fromcred", "whsec_c2VjcmV0")
        let secretFile = try dir.write("ops.secret", "whsec_c2VjcmV0")
        let config = try dir.write("config.toml", """
        [[order]]
        id = "oo-0123456789abcdef0"
        [[webhook]]
        name = "inline"
        url = "https://h/"
        secret = "raw-bytes-are-fine"
        [[webhook]]
        name = "file"
        url = "https://h/"
        secret_file = "\(secretFile)"
        [[webhook]]
        name = "fromcred"
        url = "https://h/"
        [[webhook]]
        name = "unsigned"
        url = "https://h/"
        """)
        let result = ConfigLoader.load(path: config, environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.warnings.isEmpty, "\(result.warnings)")
        let secrets = try #require(result.settings).webhooks.map(\.secret)
        #expect(secrets == [.inline("raw-bytes-are-fine"), .file(secretFile), .systemdCredential("webhook-fromcred"), nil])
        // Without $CREDENTIALS_DIRECTORY the credential is not looked for.
        let plain = ConfigLoader.load(path: config, environment: noEnvironment)
        #expect(plain.settings?.webhooks[2].secret == nil)
    }

    @Test("a missing secret_file and a file with nothing to watch are warnings")
    func warnings() throws {
        let result = ConfigLoader.parse(text: """
        [[webhook]]
        name = "ops"
        url = "https://h/"
        secret_file = "/nonexistent/ops.secret"
        events = []
        """, file: "c.toml", environment: noEnvironment)
        #expect(result.errors.isEmpty)
        #expect(result.settings != nil)
        #expect(result.warnings.map(\.description) == [
            "c.toml:1:1: nothing to watch: add an [[order]] (or a [[discover]]) table",
            "c.toml:4:15: webhook.secret_file: /nonexistent/ops.secret does not exist (yet)",
            "c.toml:5:10: webhook.events: empty, so this sink receives no events",
        ])
    }
}
