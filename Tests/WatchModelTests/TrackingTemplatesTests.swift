import Foundation
import Testing
import WatchModel

@Suite struct TrackingTemplatesTests {
    @Test func builtInCarriersIgnoreCaseAndEncodeTheNumber() throws {
        let t = TrackingTemplates.builtIn
        let url = try #require(t.url(carrier: "ups", number: "1Z 9/9&x#ü"))
        #expect(url.hasSuffix("tracknum=1Z%209%2F9%26x%23%C3%BC"))
        #expect(t.url(carrier: "FEDEX", number: "123") != nil)
        #expect(t.url(carrier: "DHL", number: "123") != nil)
        #expect(t.url(carrier: "EXPEDITORS", number: "123") == nil)
        #expect(t.url(carrier: "UPS", number: "") == nil)
        #expect(t.url(carrier: nil, number: "1") == nil)
    }

    @Test func overridesReplaceAndExtend() {
        let t = TrackingTemplates(overrides: ["ups": "https://u.example/{number}", "DBS": "https://d.example/?n={number}&x={number}"])
        #expect(t.url(carrier: "UPS", number: "a b") == "https://u.example/a%20b")
        #expect(t.url(carrier: "dbs", number: "7") == "https://d.example/?n=7&x=7")
        #expect(t.url(carrier: "DHL", number: "7") == TrackingTemplates.builtIn.url(carrier: "DHL", number: "7"))
    }

    @Test func unreservedCharactersStayEverythingElseIsEncoded() {
        #expect(TrackingTemplates.percentEncoded("AZaz09-._~") == "AZaz09-._~")
        #expect(TrackingTemplates.percentEncoded("+%?=/:@!") == "%2B%25%3F%3D%2F%3A%40%21")
    }

    @Test func templateProblems() {
        #expect(TrackingTemplates.problem(with: "https://x.example/{number}") == nil)
        #expect(TrackingTemplates.problem(with: "http://127.0.0.1:8080/t?n={number}") == nil)
        #expect(TrackingTemplates.problem(with: "https://x.example/track") != nil)
        #expect(TrackingTemplates.problem(with: "ftp://x.example/{number}") != nil)
        #expect(TrackingTemplates.problem(with: "/track/{number}") != nil)
    }

    @Test func eventsGetTheLinkOnEveryShipmentTheyCarryAndItSurvivesJSON() throws {
        let ups = Shipment(carrier: "UPS", trackingNumber: "1Z/1")
        let event = Event(type: .lineItemShipmentChanged, occurredAt: Date(timeIntervalSince1970: 0),
                          order: OrderRef(id: "oo-0123456789abcdef0"),
                          lineItem: LineItemRef(id: "ooi-1", shipment: ups),
                          change: Change(field: .shipment, from: .null, to: .shipment(ups)))
        let linked = event.linkingShipments(.builtIn)
        let url = TrackingTemplates.builtIn.url(for: ups)
        #expect(url != nil)
        #expect(linked.lineItem?.shipment?.trackingURL == url)
        #expect(linked.change.to == .shipment(Shipment(carrier: "UPS", trackingNumber: "1Z/1", trackingURL: url)))
        #expect(linked.shipment?.trackingURL == url)
        let back = try EventJSON.decode(EventJSON.encode(linked))
        #expect(back == linked)
        // No template: no key in the body.
        let plain = Shipment(carrier: "EXPEDITORS", trackingNumber: "1")
        let body = try EventJSON.encode(Event(type: .lineItemShipmentChanged, occurredAt: Date(), order: OrderRef(id: "o"),
                                              lineItem: LineItemRef(id: "l", shipment: plain),
                                              change: Change(field: .shipment, from: .null, to: .shipment(plain)))
            .linkingShipments(.builtIn))
        #expect(!String(decoding: body, as: UTF8.self).contains("tracking_url"))
    }
}
