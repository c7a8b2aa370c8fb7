import Testing
import WatchConfig

@Suite("Duration strings")
struct DurationParserTests {
    @Test("accepted forms", arguments: [
        ("500ms", Duration.milliseconds(500)),
        ("30s", .seconds(30)),
        ("5m", .seconds(300)),
        ("1h", .seconds(3600)),
        ("1h30m", .seconds(5400)),
        ("2d", .seconds(172_800)),
        ("1d2h3m4s5ms", .milliseconds(93_784_005)),
        ("0s", .zero),
        ("90m", .seconds(5400)),
        ("72h", .seconds(259_200)),
    ])
    func accepted(text: String, expected: Duration) {
        #expect(parseDuration(text) == expected)
        #expect(DurationParser().parse(text) == expected)
    }

    @Test("rejected forms", arguments: [
        "", "5", "m", "5 m", " 5m", "5m ", "-5m", "+5m", "1.5h", "30m1h", "1h1h", "5M", "5min", "5sec", "1s500ms5m",
        "off", "5m30", "1h 30m", "99999999999999999999s", "9223372036854775807d", "٣s",
    ])
    func rejected(text: String) {
        #expect(parseDuration(text) == nil, "accepted \(text)")
    }

    @Test("format writes what parse reads back")
    func roundTrip() {
        let parser = DurationParser()
        for duration in [Duration.milliseconds(500), .seconds(30), .seconds(5400), .seconds(172_800 + 61),
                         .milliseconds(93_784_005)] {
            #expect(parser.parse(parser.format(duration)) == duration)
        }
        #expect(parser.format(.seconds(5400)) == "1h30m")
        #expect(parser.format(.seconds(21600)) == "6h")
    }
}
