import Foundation
import WatchModel

/// The human summary `check-config` prints: what is watched, how it is polled and where events go.
///
/// It shows an operator what the daemon would do with this file, so it must never show a secret:
/// inline secrets are named but not printed, URL userinfo and query values are masked, header
/// values are left out (they often hold tokens).
public enum ConfigSummary {
    /// `environment` tells where a PostgreSQL password would come from (a systemd credential,
    /// `PGPASSFILE`, `~/.pgpass`); no password is ever shown.
    public static func render(_ settings: Settings,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let durations = DurationParser()
        var lines: [String] = []

        let orderCount = settings.orders.count
        lines.append("Watching \(orderCount) order\(orderCount == 1 ? "" : "s")"
                     + (settings.discover.isEmpty ? "" : " plus every order found by \(settings.discover.count) discovery rule\(settings.discover.count == 1 ? "" : "s")")
                     + (orderCount > 0 ? ":" : ""))
        // With one account, `default`, every order is its; otherwise each line names its account.
        let onlyDefault = settings.accounts.map(\.name) == [AccountSettings.defaultName]
        let inAccount = { (name: String) in onlyDefault ? "" : " (account \(name))" }
        for order in settings.orders {
            lines.append("  \(order.id)" + (order.label.map { "  \($0)" } ?? "") + inAccount(order.account))
        }
        for rule in settings.discover {
            lines.append("  discover: \(rule.outpost.map { "orders of outpost \($0)" } ?? "all orders") (ListOrders every \(durations.format(rule.interval)))"
                         + inAccount(rule.account))
        }

        if onlyDefault, let account = settings.accounts.first {
            lines.append("AWS: " + describe(account).joined(separator: ", "))
        } else {
            lines.append("AWS accounts:")
            for account in settings.accounts {
                let orders = settings.orders.count(where: { $0.account == account.name })
                let sweeps = settings.discover.count(where: { $0.account == account.name })
                var parts = describe(account)
                parts.append("\(orders) order\(orders == 1 ? "" : "s")"
                             + (sweeps == 0 ? "" : " plus \(sweeps) discovery rule\(sweeps == 1 ? "" : "s")"))
                lines.append("  \(account.name): " + parts.joined(separator: ", "))
            }
        }

        let poll = settings.poll
        let jitterPercent = number((poll.jitter * 1000).rounded() / 10)
        lines.append("Polling: every \(durations.format(poll.interval)) ±\(jitterPercent) %, \(poll.concurrency) in flight, at most \(number(poll.maxRPS)) calls/s, request timeout \(durations.format(poll.requestTimeout))")
        lines.append("  completed/cancelled orders: " + (poll.terminalInterval.map { "every \(durations.format($0))" } ?? "no longer polled")
                     + "; watch.failing after \(poll.failingAfter) failed poll\(poll.failingAfter == 1 ? "" : "s") in a row")

        if let postgres = settings.storage.postgres {
            let password = PostgresPassword.source(postgres, environment: environment).map { "password from \($0)" }
                ?? "no password"
            lines.append("Storage: \(postgres.address) (sslmode \(postgres.sslMode.rawValue)"
                         + (postgres.sslRootCert.map { ", sslrootcert \($0)" } ?? "")
                         + ", takeover \(durations.format(postgres.takeover)), \(password))")
        } else {
            lines.append("Storage: \(settings.storage.path)")
        }
        lines.append("Retention: deliveries \(durations.format(settings.retention.deliveries)), events "
                     + (settings.retention.events.map { durations.format($0) } ?? "kept forever"))
        lines.append("HTTP endpoint: " + (settings.http.map { http in
            "status page, /metrics and /healthz on \(http.listen), "
                + (http.token == nil ? "no token" : "bearer token required")
        } ?? "off"))

        lines.append("Events go to:")
        switch settings.journald.enabled {
        case true?: lines.append("  journald")
        case false?: lines.append("  journald: disabled")
        case nil: lines.append("  journald, when its socket exists")
        }
        for hook in settings.webhooks {
            lines.append("  webhook \(hook.name): POST \(maskURL(hook.url, format: hook.format)) (\(hook.format.rawValue), \(describe(hook.secret)))")
            let events = hook.events == EventType.webhookDefault
                ? "every type but order.first_seen"
                : EventType.allCases.filter(hook.events.contains).map(\.rawValue).joined(separator: ", ")
            lines.append("    events: \(events.isEmpty ? "none" : events)")
            lines.append("    orders: " + (hook.orders.map { $0.isEmpty ? "none" : $0.sorted().joined(separator: ", ") } ?? "all"))
            lines.append("    timeout \(durations.format(hook.timeout)), retried for \(durations.format(hook.maxAge)), \(hook.concurrency) in flight"
                         + (hook.headers.isEmpty ? "" : ", extra headers: \(hook.headers.keys.sorted().joined(separator: ", "))"))
        }
        if settings.webhooks.isEmpty { lines.append("  no webhooks") }
        for bus in settings.eventBridge {
            lines.append("  eventbridge \(bus.common.name): PutEvents to bus \(bus.eventBus), source \(bus.source)"
                         + (bus.region.map { ", region \($0)" } ?? "") + (bus.endpoint.map { ", endpoint \(maskURL($0, format: .json))" } ?? ""))
            lines.append(contentsOf: describe(bus.common, durations: durations))
        }
        for topic in settings.sns {
            lines.append("  sns \(topic.common.name): Publish to \(topic.topicArn)\(topic.isFIFO ? " (FIFO)" : "")"
                         + (topic.region.map { ", region \($0)" } ?? "") + (topic.endpoint.map { ", endpoint \(maskURL($0, format: .json))" } ?? ""))
            lines.append(contentsOf: describe(topic.common, durations: durations))
        }
        for service in settings.pagerDuty {
            lines.append("  pagerduty \(service.common.name): Events API v2 at \(maskURL(service.url, format: .json)) (routing key \(describeKey(service.routingKey)))")
            lines.append(contentsOf: describe(service.common, durations: durations))
        }
        return lines.joined(separator: "\n")
    }

    /// Where and as whom an account calls the API; its `external_id` is only said to be set.
    private static func describe(_ account: AccountSettings) -> [String] {
        let regionSource = account.name == AccountSettings.defaultName
            ? "from AWS_REGION / AWS_DEFAULT_REGION / the profile"
            : "from the profile / AWS_REGION / AWS_DEFAULT_REGION"
        var parts = ["region \(account.region ?? regionSource)"]
        parts.append("profile \(account.profile ?? "from AWS_PROFILE / the default chain")")
        if let endpoint = account.endpoint { parts.append("endpoint \(maskURL(endpoint, format: .json))") }
        if let role = account.roleArn {
            parts.append("assuming \(role)" + (account.externalId == nil ? "" : " (external id set)"))
        }
        if account.useFips { parts.append("FIPS endpoint") }
        if let maxRPS = account.maxRPS { parts.append("at most \(number(maxRPS)) calls/s") }
        if let concurrency = account.concurrency { parts.append("\(concurrency) in flight") }
        return parts
    }

    /// The filter and retry lines of a sink of a kind added after webhooks.
    private static func describe(_ common: SinkCommonSettings, durations: DurationParser) -> [String] {
        let events = EventType.allCases.filter(common.events.contains).map(\.rawValue).joined(separator: ", ")
        return ["    events: \(events.isEmpty ? "none" : events)",
                "    orders: " + (common.orders.map { $0.isEmpty ? "none" : $0.sorted().joined(separator: ", ") } ?? "all"),
                "    timeout \(durations.format(common.timeout)), retried for \(durations.format(common.maxAge)), \(common.concurrency) in flight"]
    }

    private static func describeKey(_ key: SecretSource) -> String {
        switch key {
        case .inline: return "in the config file"
        case .file(let path): return "from \(path)"
        case .systemdCredential(let name): return "from systemd credential \(name)"
        }
    }

    private static func describe(_ secret: SecretSource?) -> String {
        switch secret {
        case .inline?: return "signed, secret in the config file"
        case .file(let path)?: return "signed, secret from \(path)"
        case .systemdCredential(let name)?: return "signed, secret from systemd credential \(name)"
        case nil: return "unsigned"
        }
    }

    private static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// `url` with whatever may be a secret replaced by `***`: userinfo, query values, the fragment,
    /// and for Slack-style hooks (whose path is the secret) every path segment after the first.
    public static func maskURL(_ url: String, format: WebhookFormat) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let scheme = url[..<schemeEnd.upperBound]
        var rest = url[schemeEnd.upperBound...]
        var fragment = ""
        if let hash = rest.firstIndex(of: "#") {
            fragment = "#***"
            rest = rest[..<hash]
        }
        var query = ""
        if let question = rest.firstIndex(of: "?") {
            let items = rest[rest.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false)
            query = "?" + items.map { item in
                guard let equals = item.firstIndex(of: "=") else { return String(item) }
                return item[...equals] + "***"
            }.joined(separator: "&")
            rest = rest[..<question]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = String(rest[..<authorityEnd])
        var path = String(rest[authorityEnd...])
        if let at = authority.lastIndex(of: "@") {
            authority = "***@" + authority[authority.index(after: at)...]
        }
        if format == .slack {
            let segments = path.split(separator: "/", omittingEmptySubsequences: false)
            if segments.count > 2 {
                path = segments[0...1].joined(separator: "/") + "/***"
            }
        }
        return scheme + authority + path + query + fragment
    }
}
