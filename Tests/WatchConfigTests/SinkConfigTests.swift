import Foundation
import Testing
import WatchConfig
import WatchModel

/// `[[eventbridge]]`, `[[sns]]`, `[[pagerduty]]` and `format = "teams"`: what they read and
/// what they refuse, at FILE:LINE:COL.
@Suite("Config loading: EventBridge, SNS and PagerDuty sinks")
struct SinkConfigTests {
    static let order = "[[order]]\nid = \"oo-0123456789abcdef0\"\n"

    func parse(_ text: String, environment: [String: String] = [:]) -> ConfigResult {
        ConfigLoader.parse(text: Self.order + text, file: "s.toml", environment: environment)
    }

    @Test("every key is read, with the defaults of docs/configuration.md")
    func reads() throws {
        let result = parse("""
            [[eventbridge]]
            name = "bus"
            event_bus = "outposts"
            source = "acme.outposts"
            region = "us-east-1"
            endpoint = "http://127.0.0.1:5000"
            concurrency = 2
            [[eventbridge]]
            name = "bus2"
            [[sns]]
            name = "topic"
            topic_arn = "arn:aws:sns:us-west-2:111111111111:orders.fifo"
            events = ["order.status_changed"]
            [[pagerduty]]
            name = "oncall"
            routing_key = "R0123456789ABCDEF0123456789ABCDE"
            max_age = "1h"
            [[webhook]]
            name = "teams"
            url = "https://example.com/workflows/1"
            format = "teams"
            """)
        let settings = try #require(result.settings, "\(result.errors)")
        let bus = try #require(settings.eventBridge.first)
        #expect(bus.common.name == "bus" && bus.eventBus == "outposts" && bus.source == "acme.outposts")
        #expect(bus.region == "us-east-1" && bus.endpoint == "http://127.0.0.1:5000" && bus.common.concurrency == 2)
        #expect(bus.common.events == EventType.webhookDefault)
        let defaults = try #require(settings.eventBridge.last)
        #expect(defaults.eventBus == "default" && defaults.source == "outpostwatch" && defaults.region == nil)
        let topic = try #require(settings.sns.first)
        #expect(topic.isFIFO && topic.effectiveRegion == "us-west-2" && topic.common.events == [.orderStatusChanged])
        let pager = try #require(settings.pagerDuty.first)
        #expect(pager.routingKey == .inline("R0123456789ABCDEF0123456789ABCDE"))
        #expect(pager.url == PagerDutySettings.defaultURL && pager.common.maxAge == .seconds(3600))
        #expect(pager.common.events.contains(.watchFailing) && !pager.common.events.contains(.lineItemShipmentChanged))
        #expect(settings.webhooks.first?.format == .teams)
        #expect(settings.sinkKinds["bus"] == "eventbridge" && settings.sinkKinds["oncall"] == "pagerduty")
        let summary = ConfigSummary.render(settings)
        #expect(summary.contains("eventbridge bus: PutEvents to bus outposts"))
        #expect(!summary.contains("R0123456789ABCDEF"), "the routing key never shows")
    }

    @Test("refused values, each at its position", arguments: [
        ("[[eventbridge]]\nname = \"b\"\nsource = \"aws.outposts\"\n", 5, 10, "eventbridge.source: \"aws.outposts\" starts with \"aws.\""),
        ("[[sns]]\nname = \"t\"\ntopic_arn = \"arn:aws:sns:us-west-2:1111:orders\"\n", 5, 13, "sns.topic_arn: \"arn:aws:sns:us-west-2:1111:orders\" is not an SNS topic ARN"),
        ("[[sns]]\nname = \"t\"\n", 3, 1, "[[sns]]: missing required key topic_arn"),
        ("[[webhook]]\nname = \"x\"\nurl = \"https://h/\"\n[[sns]]\nname = \"x\"\ntopic_arn = \"arn:aws:sns:us-west-2:111111111111:t\"\n",
         7, 8, "sns.name: duplicate sink name x (already used at 4:8)"),
        ("[[pagerduty]]\nname = \"journald\"\nrouting_key = \"k\"\n", 4, 8, "pagerduty.name: \"journald\" is reserved"),
        ("[[pagerduty]]\nname = \"p\"\nrouting_key = \"k\"\nrouting_key_file = \"/k\"\n", 6, 1, "pagerduty: set either routing_key or routing_key_file, not both"),
        ("[[pagerduty]]\nname = \"p\"\nrouting_key = \"k\"\nurl = \"http://events.example.com/v2/enqueue\"\n", 6, 7, "pagerduty.url:"),
        ("[[eventbridge]]\nname = \"b\"\naccount = \"prod\"\n", 5, 1, "unknown key account"),
        ("[[eventbridge]]\nname = \"b\"\nevents = [\"order.shiped\"]\n", 5, 11, "eventbridge.events: unknown event type"),
    ] as [(String, Int, Int, String)])
    func refused(text: String, line: Int, column: Int, message: String) throws {
        let result = parse(text)
        #expect(result.settings == nil)
        let error = try #require(result.errors.first, "no error for:\n\(text)")
        #expect(result.errors.count == 1, "\(result.errors)")
        #expect(error.line == line && error.column == column, "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test("a routing key never appears in errors; without one the systemd credential is expected")
    func routingKeySources() throws {
        let bad = parse("[[pagerduty]]\nname = \"p\"\nrouting_key = \"SECRET KEY\"\n")
        #expect(bad.errors.count == 1)
        #expect(!bad.errors.contains { $0.message.contains("SECRET") })
        let credential = parse("[[pagerduty]]\nname = \"p\"\n")
        let settings = try #require(credential.settings)
        #expect(settings.pagerDuty.first?.routingKey == .systemdCredential("pagerduty-p"))
        #expect(credential.warnings.contains { $0.message.contains("pagerduty-p") })
    }
}
