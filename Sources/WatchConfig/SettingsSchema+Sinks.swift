import Foundation
import Support
import WatchModel

// The sink tables of config.toml (docs/configuration.md): what every kind shares (name, filters,
// timeout, max_age, concurrency, secrets) and the keys of [[eventbridge]], [[sns]], [[pagerduty]].

extension SettingsSchema {
    static let eventBridgeKeys = ["name", "event_bus", "source", "account", "region", "endpoint", "events", "orders",
                                  "timeout", "max_age", "concurrency"]
    static let snsKeys = ["name", "topic_arn", "account", "region", "endpoint", "events", "orders", "timeout", "max_age",
                          "concurrency"]
    static let pagerDutyKeys = ["name", "routing_key", "routing_key_file", "url", "events", "orders", "timeout",
                                "max_age", "concurrency", "ca_bundle"]

    // MARK: shared

    /// The name (required, unique across every sink kind, `journald` reserved) and the keys every
    /// sink shares. `nil` when the table has no usable name.
    func readCommon(_ table: SchemaTable, section: String, defaultEvents: Set<EventType>) -> SinkCommonSettings? {
        let hasName = reader.requireKey(table, "name")
        var common = SinkCommonSettings(name: "", events: defaultEvents)
        if let name = reader.string(table, "name") {
            if name.value == "journald" {
                diagnostics.error("\(section).name: \"journald\" is reserved for the journald sink; choose another name",
                                  at: name.position)
            } else if !ConfigValidation.isSinkName(name.value) {
                diagnostics.error("\(section).name: \(SchemaReader.quoted(name.value)) may only contain a-z, 0-9, _ and -",
                                  at: name.position)
            } else if let first = sinkNames[name.value] {
                diagnostics.error("\(section).name: duplicate sink name \(name.value) (already used at \(first))",
                                  at: name.position)
            } else {
                sinkNames[name.value] = name.position
            }
            common.name = name.value
        }
        if let events = reader.stringArray(table, "events") {
            common.events = readEventTypes(events, section: section)
        }
        if let orders = reader.stringArray(table, "orders") {
            var filter: Set<String> = []
            for order in orders.value {
                if ConfigValidation.isOrderID(order.value) {
                    filter.insert(order.value)
                } else {
                    diagnostics.error("\(section).orders: malformed order id \(SchemaReader.quoted(order.value)): expected oo- and 17 lowercase hex digits",
                                      at: order.position)
                }
            }
            common.orders = filter
            if orders.value.isEmpty {
                diagnostics.warning("\(section).orders: empty, so this sink receives no events (leave it out for every order)",
                                    at: orders.position)
            }
        }
        if let timeout = reader.requiredDuration(table, "timeout") { common.timeout = timeout }
        if let maxAge = reader.requiredDuration(table, "max_age") { common.maxAge = maxAge }
        if let concurrency = reader.integer(table, "concurrency", minimum: 1) { common.concurrency = concurrency }
        return hasName ? common : nil
    }

    /// A secret given inline (`keys.inline`), in a file (`keys.file`), or else the systemd
    /// credential `credential` when it exists. Messages never show the secret.
    func readSecret(_ table: SchemaTable, section: String, keys: (inline: String, file: String), credential: String?,
                    validate: (String) -> String?) -> SecretSource? {
        let secret = reader.string(table, keys.inline)
        let file = reader.string(table, keys.file)
        if let secret, firstInlineSecret == nil { firstInlineSecret = secret.keyPosition }
        if let secret, let file {
            let later = secret.keyPosition > file.keyPosition ? secret.keyPosition : file.keyPosition
            diagnostics.error("\(section): set either \(keys.inline) or \(keys.file), not both", at: later)
            return nil
        }
        if let secret {
            if secret.value.isEmpty {
                diagnostics.error("\(section).\(keys.inline): must not be empty", at: secret.position)
                return nil
            }
            if let problem = validate(secret.value) {
                diagnostics.error("\(section).\(keys.inline): \(problem)", at: secret.position)
                return nil
            }
            return .inline(secret.value)
        }
        if let file {
            guard !file.value.isEmpty else {
                diagnostics.error("\(section).\(keys.file): must not be empty", at: file.position)
                return nil
            }
            if !FileManager.default.fileExists(atPath: file.value) {
                diagnostics.warning("\(section).\(keys.file): \(file.value) does not exist (yet)", at: file.position)
            }
            return .file(file.value)
        }
        if let credential, SystemdCredentials.exists(name: credential, environment: environment) {
            return .systemdCredential(credential)
        }
        return nil
    }

    func readEventTypes(_ events: Located<[Located<String>]>, section: String) -> Set<EventType> {
        var types: Set<EventType> = []
        for event in events.value {
            if let type = EventType(rawValue: event.value) {
                types.insert(type)
                continue
            }
            var message = "\(section).events: unknown event type \(SchemaReader.quoted(event.value))"
            if let suggestion = Suggestion.closest(to: event.value, among: EventType.allCases.map(\.rawValue)) {
                message += "; did you mean \"\(suggestion)\"?"
            } else {
                message += " (known: \(EventType.allCases.map(\.rawValue).joined(separator: ", ")))"
            }
            diagnostics.error(message, at: event.position)
        }
        if events.value.isEmpty {
            diagnostics.warning("\(section).events: empty, so this sink receives no events", at: events.position)
        }
        return types
    }

    /// `region` and `endpoint` of an AWS sink.
    private func readAWSTarget(_ table: SchemaTable, section: String) -> (region: String?, endpoint: String?) {
        var region: String?
        if let value = reader.nonEmptyString(table, "region") {
            if value.value.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) {
                region = value.value
            } else {
                diagnostics.error("\(section).region: \(SchemaReader.quoted(value.value)) is not a region name such as \"us-west-2\"",
                                  at: value.position)
            }
        }
        var endpoint: String?
        if let value = reader.string(table, "endpoint") {
            if ConfigValidation.httpURL(value.value) != nil {
                endpoint = value.value
            } else {
                diagnostics.error("\(section).endpoint: \(SchemaReader.quoted(ConfigSummary.maskURL(value.value, format: .json))) is not an http(s) URL",
                                  at: value.position)
            }
        }
        return (region, endpoint)
    }

    // MARK: kinds

    func readEventBridge(_ table: SchemaTable, accounts: AccountDirectory) -> EventBridgeSettings? {
        reader.rejectUnknownKeys(table, allowed: Self.eventBridgeKeys)
        let common = readCommon(table, section: "eventbridge", defaultEvents: EventType.webhookDefault)
        let target = readAWSTarget(table, section: "eventbridge")
        // Whose credentials (and, without `region`, whose region) sign the calls: as for orders.
        let account = self.account(of: table, in: accounts, subject: "eventbridge \(common?.name ?? "")")
        var settings = EventBridgeSettings(common: common ?? SinkCommonSettings(name: ""), region: target.region,
                                           endpoint: target.endpoint)
        settings.account = account ?? AccountSettings.defaultName
        if let bus = reader.nonEmptyString(table, "event_bus") {
            // A name (1–256 of A-Z a-z 0-9 . _ - /) or an event bus ARN.
            let isName = bus.value.count <= 256 && bus.value.allSatisfy {
                $0.isASCII && ($0.isLetter || $0.isNumber || "._-/".contains($0))
            }
            if isName || (bus.value.hasPrefix("arn:aws") && bus.value.contains(":event-bus/")) {
                settings.eventBus = bus.value
            } else {
                diagnostics.error("eventbridge.event_bus: \(SchemaReader.quoted(bus.value)) is not an event bus name or ARN",
                                  at: bus.position)
            }
        }
        if let source = reader.nonEmptyString(table, "source") {
            if source.value.hasPrefix("aws.") {
                diagnostics.error("eventbridge.source: \(SchemaReader.quoted(source.value)) starts with \"aws.\", which AWS reserves for its own services",
                                  at: source.position)
            } else if source.value.count > 256 || source.value.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                diagnostics.error("eventbridge.source: must be at most 256 characters without control characters",
                                  at: source.position)
            } else {
                settings.source = source.value
            }
        }
        return common == nil ? nil : settings
    }

    func readSNS(_ table: SchemaTable, accounts: AccountDirectory) -> SNSSettings? {
        reader.rejectUnknownKeys(table, allowed: Self.snsKeys)
        let common = readCommon(table, section: "sns", defaultEvents: EventType.webhookDefault)
        let target = readAWSTarget(table, section: "sns")
        let account = self.account(of: table, in: accounts, subject: "sns \(common?.name ?? "")")
        let hasTopic = reader.requireKey(table, "topic_arn")
        var arn: String?
        if let topic = reader.string(table, "topic_arn") {
            if SNSTopicARN(topic.value) != nil {
                arn = topic.value
            } else {
                diagnostics.error("sns.topic_arn: \(SchemaReader.quoted(topic.value)) is not an SNS topic ARN such as \"arn:aws:sns:us-west-2:111111111111:outposts-orders\"",
                                  at: topic.position)
            }
        }
        guard let common, hasTopic else { return nil }
        var settings = SNSSettings(common: common, topicArn: arn ?? "", region: target.region, endpoint: target.endpoint)
        settings.account = account ?? AccountSettings.defaultName
        return settings
    }

    func readPagerDuty(_ table: SchemaTable) -> PagerDutySettings? {
        reader.rejectUnknownKeys(table, allowed: Self.pagerDutyKeys)
        let common = readCommon(table, section: "pagerduty", defaultEvents: PagerDutySettings.defaultEvents)
        let credential = common.map { "pagerduty-\($0.name)" }
        let key = readSecret(table, section: "pagerduty", keys: ("routing_key", "routing_key_file"),
                             credential: credential, validate: { value in
            value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
                ? nil : "a routing key is printable ASCII without spaces"
        })
        var url = PagerDutySettings.defaultURL
        if let value = reader.string(table, "url") {
            if let parsed = ConfigValidation.httpURL(value.value),
               parsed.scheme == "https" || ConfigValidation.isLoopbackHost(parsed.host) {
                url = value.value
            } else {
                diagnostics.error("pagerduty.url: \(SchemaReader.quoted(ConfigSummary.maskURL(value.value, format: .json))) is not an https URL (http is allowed only to localhost, 127.0.0.0/8 and ::1)",
                                  at: value.position)
            }
        }
        guard let common else { return nil }
        if key == nil, table.table["routing_key"] == nil, table.table["routing_key_file"] == nil, let credential {
            diagnostics.warning("pagerduty: no routing_key or routing_key_file, and no systemd credential \(credential) now: the daemon needs one of them",
                                at: table.position)
        }
        var settings = PagerDutySettings(common: common, routingKey: key ?? .systemdCredential(credential ?? ""), url: url)
        settings.caBundle = reader.nonEmptyString(table, "ca_bundle")?.value
        return settings
    }
}
