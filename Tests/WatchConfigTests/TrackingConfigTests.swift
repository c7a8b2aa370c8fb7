import Foundation
import Testing
import WatchConfig
import WatchModel

@Suite struct TrackingConfigTests {
    private func parse(_ text: String) -> ConfigResult {
        ConfigLoader.parse(text: "[[order]]\nid = \"oo-0123456789abcdef0\"\n" + text, file: "t.toml", environment: [:])
    }

    @Test func noTableMeansTheBuiltInTemplates() throws {
        let settings = try #require(parse("").settings)
        #expect(settings.tracking == .builtIn)
    }

    @Test func templatesOverrideAndExtend() throws {
        let settings = try #require(parse("[tracking]\nUPS = \"https://u.example/{number}\"\nDBS = \"https://d.example/{number}\"\n").settings)
        #expect(settings.tracking.url(carrier: "UPS", number: "1") == "https://u.example/1")
        #expect(settings.tracking.url(carrier: "DBS", number: "2") == "https://d.example/2")
        #expect(settings.tracking.url(carrier: "FEDEX", number: "3") != nil)
    }

    @Test func badTemplatesAreErrorsAtTheirValue() {
        let result = parse("[tracking]\nUPS = \"https://u.example/\"\nDHL = \"mailto:x@{number}\"\nX = 1\nups = \"https://a.example/{number}\"\n")
        #expect(result.settings == nil)
        let where_ = result.errors.map { "\($0.line):\($0.column)" }
        #expect(where_ == ["4:7", "5:7", "6:5", "7:1"])
    }
}
