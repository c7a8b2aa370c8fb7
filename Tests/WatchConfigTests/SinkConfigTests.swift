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
