import Foundation
import Support
import WatchModel

/// The schema of `config.toml` (docs/configuration.md): which keys exist, their types, defaults and rules.
///
/// Reading never stops at a bad value: it records the error, keeps the default and goes on, so
/// `check-config` lists every problem of the file at once.
final class SettingsSchema {
    let reader: SchemaReader
    let diagnostics: DiagnosticCollector
    let environment: [String: String]
    /// Where the first inline secret (`secret = …`, `routing_key = …`) is, for the file-permission warning.
    var firstInlineSecret: SourcePosition?
    /// Every sink name seen so far, of every kind (names are unique across kinds).
    var sinkNames: [String: SourcePosition] = [:]

    static let topLevelKeys = ["aws", "account", "poll", "storage", "journald", "retention", "http", "order", "discover", "webhook",
                                "eventbridge", "sns", "pagerduty", "stall", "tracking"]
    static let awsKeys = ["region", "profile", "endpoint", "role_arn", "external_id", "use_fips", "ca_bundle"]
    static let pollKeys = ["interval", "jitter", "concurrency", "max_rps", "terminal_interval", "failing_after",
                           "request_timeout"]
    static let storageKeys = ["path", "url", "password_file", "takeover"]
    static let journaldKeys = ["enabled"]
    static let retentionKeys = ["deliveries", "events"]
    static let httpKeys = ["listen", "token_file"]
    static let orderKeys = ["id", "label", "account"]
    static let discoverKeys = ["outpost", "interval", "account"]
    static let webhookKeys = ["name", "url", "secret", "secret_file", "format", "events", "orders", "timeout",
                              "max_age", "headers", "concurrency", "ca_bundle"]
    /// Headers the webhook sink sets itself; letting the config override them would break signatures.
    static let reservedHeaders: Set<String> = ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type",
                                               "content-length", "host", "user-agent", "transfer-encoding",
                                               "connection"]

    init(diagnostics: DiagnosticCollector, environment: [String: String]) {
        self.diagnostics = diagnostics
        self.reader = SchemaReader(diagnostics: diagnostics)
        self.environment = environment
    }

    func read(_ document: TOMLTable) -> Settings {
        let root = SchemaTable(table: document, name: "", position: .start)
        reader.rejectUnknownKeys(root, allowed: Self.topLevelKeys)
        var settings = Settings(storage: StorageSettings(path: StorageSettings.defaultPath(environment: environment)))
        let awsTable = reader.table(root, "aws")
        if let awsTable { settings.aws = readAWS(awsTable) }
        // Before [[order]] and [[discover]], which may come first in the file but name accounts.
        let accounts = readAccounts(reader.arrayOfTables(root, "account"), aws: awsTable.map { ($0, settings.aws) })
        settings.accounts = accounts.accounts
        if let poll = reader.table(root, "poll") { settings.poll = readPoll(poll) }
        if let storage = reader.table(root, "storage") { readStorage(storage, into: &settings.storage) }
        if let journald = reader.table(root, "journald") {
            reader.rejectUnknownKeys(journald, allowed: Self.journaldKeys)
            settings.journald.enabled = reader.boolean(journald, "enabled")
        }
        if let retention = reader.table(root, "retention") { settings.retention = readRetention(retention) }
        if let http = reader.table(root, "http") { settings.http = readHTTP(http) }
        if let tracking = reader.table(root, "tracking") { settings.tracking = readTracking(tracking) }
        if let stall = reader.table(root, "stall") { settings.stall = readStall(stall) }
        settings.orders = readOrders(reader.arrayOfTables(root, "order"), accounts: accounts)
        settings.discover = reader.arrayOfTables(root, "discover").map { readDiscover($0, accounts: accounts) }
        settings.webhooks = readWebhooks(reader.arrayOfTables(root, "webhook"))
        settings.eventBridge = reader.arrayOfTables(root, "eventbridge").compactMap { readEventBridge($0, accounts: accounts) }
        settings.sns = reader.arrayOfTables(root, "sns").compactMap { readSNS($0, accounts: accounts) }
        settings.pagerDuty = reader.arrayOfTables(root, "pagerduty").compactMap(readPagerDuty)
        if document["order"] == nil && document["discover"] == nil {
            diagnostics.warning("nothing to watch: add an [[order]] (or a [[discover]]) table", at: .start)
        }
        return settings
    }

    // MARK: sections

    private func readPoll(_ table: SchemaTable) -> PollSettings {
        reader.rejectUnknownKeys(table, allowed: Self.pollKeys)
        var poll = PollSettings()
        if let interval = reader.requiredDuration(table, "interval") { poll.interval = interval }
        if let jitter = reader.number(table, "jitter", rule: "must be from 0 to 1", isValid: { (0...1).contains($0) }) {
            poll.jitter = jitter
        }
        if let concurrency = reader.integer(table, "concurrency", minimum: 1) { poll.concurrency = concurrency }
        if let rps = readMaxRPS(table) { poll.maxRPS = rps }
        switch reader.duration(table, "terminal_interval", allowOff: true) {
        case .off?: poll.terminalInterval = nil
        case .duration(let value)?: poll.terminalInterval = value
        case nil: break
        }
        if let failing = reader.integer(table, "failing_after", minimum: 1) { poll.failingAfter = failing }
        if let timeout = reader.requiredDuration(table, "request_timeout") { poll.requestTimeout = timeout }
        return poll
    }

    /// `[storage]`: `path` (SQLite), or `url` with `password_file` and `takeover` (PostgreSQL).
    private func readStorage(_ table: SchemaTable, into storage: inout StorageSettings) {
        reader.rejectUnknownKeys(table, allowed: Self.storageKeys)
        let path = reader.nonEmptyString(table, "path")
        if let path { storage.path = path.value }
        let hasURL = table.table["url"] != nil
        // Not echoed anywhere: the URL may hold the password it must not hold.
        let url = reader.nonEmptyString(table, "url")
        if let url, path != nil {
            diagnostics.error("storage.url: [storage] takes either path (SQLite) or url (PostgreSQL), not both",
                              at: url.keyPosition)
        }
        var postgres: PostgresSettings?
        if let url {
            do {
                postgres = try PostgresSettings.parse(url: url.value)
            } catch {
                diagnostics.error("storage.url: \(error)", at: url.position)
            }
        }
        if let entry = table.table["password_file"], !hasURL {
            diagnostics.error("storage.password_file: only used with url (PostgreSQL); a SQLite store at path has no password",
                              at: entry.keyPosition)
        }
        if let entry = table.table["takeover"], !hasURL {
            diagnostics.error("storage.takeover: only used with url (PostgreSQL), whose daemons share one store",
                              at: entry.keyPosition)
        }
        let passwordFile = reader.nonEmptyString(table, "password_file")
        if let passwordFile, hasURL, !FileManager.default.fileExists(atPath: passwordFile.value) {
            diagnostics.warning("storage.password_file: \(passwordFile.value) does not exist (yet)", at: passwordFile.position)
        }
        var takeover = PostgresSettings.defaultTakeover
        if let value = reader.requiredDuration(table, "takeover") {
            let range = PostgresSettings.takeoverRange
            if range.contains(value) {
                takeover = value
            } else if let entry = table.table["takeover"] {
                let durations = DurationParser()
                diagnostics.error("storage.takeover: \(durations.format(value)) is out of range: must be from \(durations.format(range.lowerBound)) to \(durations.format(range.upperBound))",
                                  at: entry.node.position)
            }
        }
        guard var postgres, path == nil else { return }
        postgres.passwordFile = passwordFile?.value
        postgres.takeover = takeover
        storage.postgres = postgres
    }

    private func readRetention(_ table: SchemaTable) -> RetentionSettings {
        reader.rejectUnknownKeys(table, allowed: Self.retentionKeys)
        var retention = RetentionSettings()
        if let deliveries = reader.requiredDuration(table, "deliveries") { retention.deliveries = deliveries }
        switch reader.duration(table, "events", allowOff: true) {
        case .off?: retention.events = nil
        case .duration(let value)?: retention.events = value
        case nil: break
        }
        return retention
    }

    /// The address `[http]` listens on when the table names none.
    static let defaultListen = "127.0.0.1:9464"

    private func readHTTP(_ table: SchemaTable) -> HTTPSettings {
        reader.rejectUnknownKeys(table, allowed: Self.httpKeys)
        var http = HTTPSettings(listen: Self.defaultListen)
        let listen = reader.string(table, "listen")
        if let listen {
            if ConfigValidation.listenAddress(listen.value) != nil {
                http.listen = listen.value
            } else {
                diagnostics.error("http.listen: \(SchemaReader.quoted(listen.value)) is not HOST:PORT such as \"127.0.0.1:9464\" or \"[::1]:9464\"",
                                  at: listen.position)
            }
        }
        if let file = reader.string(table, "token_file") {
            if file.value.isEmpty {
                diagnostics.error("http.token_file: must not be empty", at: file.position)
            } else {
                if !FileManager.default.fileExists(atPath: file.value) {
                    diagnostics.warning("http.token_file: \(file.value) does not exist (yet)", at: file.position)
                }
                http.token = .file(file.value)
            }
        } else if SystemdCredentials.exists(name: "http-token", environment: environment) {
            http.token = .systemdCredential("http-token")
        }
        if http.token == nil, let listen, let address = ListenAddress(http.listen),
           !ConfigValidation.isLoopbackHost(address.host) {
            diagnostics.warning("http.listen: \(address) is reachable from other machines and no token protects the status page; set http.token_file (or the systemd credential http-token)",
                                at: listen.position)
        }
        return http
    }

    private func readOrders(_ tables: [SchemaTable], accounts: AccountDirectory) -> [OrderSettings] {
        var orders: [OrderSettings] = []
        var seen: [String: (position: SourcePosition, account: String?)] = [:]
        for table in tables {
            reader.rejectUnknownKeys(table, allowed: Self.orderKeys)
            let label = reader.string(table, "label")?.value
            var subject = "order"
            if case .string(let text)? = table.table["id"]?.node.value, ConfigValidation.isOrderID(text) {
                subject += " \(text)"
            }
            let account = self.account(of: table, in: accounts, subject: subject)
            guard reader.requireKey(table, "id"), let id = reader.string(table, "id") else { continue }
            guard ConfigValidation.isOrderID(id.value) else {
                diagnostics.error("order.id: malformed order id \(SchemaReader.quoted(id.value)): expected oo- and 17 lowercase hex digits, e.g. \"oo-0123456789abcdef0\"",
                                  at: id.position)
                continue
            }
            if let first = seen[id.value] {
                if let account, let other = first.account, account != other {
                    diagnostics.error("order.id: duplicate order id \(id.value) under account \(account) (already listed at \(first.position) under account \(other); an order belongs to one account)",
                                      at: id.position)
                } else {
                    diagnostics.error("order.id: duplicate order id \(id.value) (already listed at \(first.position))",
                                      at: id.position)
                }
                continue
            }
            seen[id.value] = (id.position, account)
            orders.append(OrderSettings(id: id.value, label: label, account: account ?? AccountSettings.defaultName))
        }
        return orders
    }

    private func readDiscover(_ table: SchemaTable, accounts: AccountDirectory) -> DiscoverSettings {
        reader.rejectUnknownKeys(table, allowed: Self.discoverKeys)
        var discover = DiscoverSettings()
        if let outpost = reader.string(table, "outpost") {
            if ConfigValidation.isOutpostIdentifier(outpost.value) {
                discover.outpost = outpost.value
            } else {
                diagnostics.error("discover.outpost: \(SchemaReader.quoted(outpost.value)) is not an outpost id (op- and 17 lowercase hex digits) or outpost ARN",
                                  at: outpost.position)
            }
        }
        if let interval = reader.requiredDuration(table, "interval") { discover.interval = interval }
        let subject = discover.outpost.map { "discover \($0)" } ?? "discover"
        discover.account = account(of: table, in: accounts, subject: subject) ?? AccountSettings.defaultName
        return discover
    }

    // MARK: webhooks

    private func readWebhooks(_ tables: [SchemaTable]) -> [WebhookSettings] {
        var webhooks: [WebhookSettings] = []
        for table in tables {
            reader.rejectUnknownKeys(table, allowed: Self.webhookKeys)
            let common = readCommon(table, section: "webhook", defaultEvents: EventType.webhookDefault)
            let hasURL = reader.requireKey(table, "url")
            let url = reader.string(table, "url")
            if let url { checkWebhookURL(url) }
            var webhook = WebhookSettings(name: common?.name ?? "", url: url?.value ?? "")
            webhook.secret = readSecret(table, section: "webhook", keys: ("secret", "secret_file"),
                                        credential: common.map { "webhook-\($0.name)" }, validate: { value in
                ConfigValidation.isUsableWebhookSecret(value)
                    ? nil : "a whsec_ secret must be followed by non-empty standard base64"
            })
            if let format = reader.string(table, "format") {
                if let known = WebhookFormat(rawValue: format.value) {
                    webhook.format = known
                } else {
                    diagnostics.error("webhook.format: unknown format \(SchemaReader.quoted(format.value)): expected \"json\", \"slack\" or \"teams\"",
                                      at: format.position)
                }
            }
            if let headers = reader.table(table, "headers") { webhook.headers = readHeaders(headers) }
            webhook.caBundle = reader.nonEmptyString(table, "ca_bundle")?.value
            if let common {
                webhook.events = common.events
                webhook.orders = common.orders
                webhook.timeout = common.timeout
                webhook.maxAge = common.maxAge
                webhook.concurrency = common.concurrency
                if hasURL { webhooks.append(webhook) }
            }
        }
        return webhooks
    }

    private func checkWebhookURL(_ url: Located<String>) {
        guard let parsed = ConfigValidation.httpURL(url.value) else {
            diagnostics.error("webhook.url: \(SchemaReader.quoted(Self.maskedForMessage(url.value))) is not an http(s) URL",
                              at: url.position)
            return
        }
        if parsed.scheme == "http" && !ConfigValidation.isLoopbackHost(parsed.host) {
            diagnostics.error("webhook.url: plain http to \(parsed.host) would send events unprotected; use https (http is allowed only to localhost, 127.0.0.0/8 and ::1)",
                              at: url.position)
        }
    }

    /// URLs may carry credentials; messages show them the way the summary does.
    static func maskedForMessage(_ url: String) -> String {
        ConfigSummary.maskURL(url, format: .json)
    }

    private func readHeaders(_ table: SchemaTable) -> [String: String] {
        var headers: [String: String] = [:]
        var seen: Set<String> = []
        for entry in table.table.entries {
            let name = entry.key
            guard ConfigValidation.isHeaderName(name) else {
                diagnostics.error("webhook.headers: \(SchemaReader.quoted(name)) is not a valid HTTP header name",
                                  at: entry.keyPosition)
                continue
            }
            guard !Self.reservedHeaders.contains(name.lowercased()) else {
                diagnostics.error("webhook.headers: \(name) is set by outpostwatch itself and cannot be configured",
                                  at: entry.keyPosition)
                continue
            }
            guard seen.insert(name.lowercased()).inserted else {
                diagnostics.error("webhook.headers: \(name) is given twice (header names ignore case)",
                                  at: entry.keyPosition)
                continue
            }
            guard case .string(let value) = entry.node.value else {
                diagnostics.error("webhook.headers.\(TOMLKeyPath.display([name])): expected a string, found \(entry.node.value.typeName)",
                                  at: entry.node.position)
                continue
            }
            guard ConfigValidation.isHeaderValue(value) else {
                diagnostics.error("webhook.headers.\(TOMLKeyPath.display([name])): header values may not contain control characters such as newlines",
                                  at: entry.node.position)
                continue
            }
            headers[name] = value
        }
        return headers
    }
}
