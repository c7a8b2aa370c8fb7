import Foundation
import Testing
import WatchConfig

/// The `account` of `[[eventbridge]]` and `[[sns]]` (docs/configuration.md, "Accounts and
/// regions"): whose credentials sign their calls, chosen as for orders.
@Suite("Config loading: the account of the AWS sinks")
struct AccountSinkConfigTests {
    static let topic = "arn:aws:sns:us-west-2:111111111111:outposts"

    func parse(_ text: String) -> ConfigResult {
        ConfigLoader.parse(text: text, file: "a.toml", environment: [:])
    }

    static let twoAccounts = """
        [[account]]
        name = "prod"
        region = "us-west-2"
        [[account]]
        name = "lab"
        region = "eu-west-1"
        [[order]]
        id = "oo-0123456789abcdef0"
        account = "prod"

        """

    @Test("a sink names its account; without [aws] and with several accounts it must")
    func namedAccount() throws {
        let result = parse(Self.twoAccounts + """
            [[eventbridge]]
            name = "bus"
            account = "lab"
            [[sns]]
            name = "topic"
            topic_arn = "\(Self.topic)"
            account = "prod"
            """)
        let settings = try #require(result.settings, "\(result.errors)")
        #expect(settings.eventBridge.map(\.account) == ["lab"])
        #expect(settings.sns.map(\.account) == ["prod"])

        let missing = parse(Self.twoAccounts + """
            [[sns]]
            name = "topic"
            topic_arn = "\(Self.topic)"
            """)
        #expect(missing.settings == nil)
        #expect(missing.errors.map(\.line) == [10])
        #expect(missing.errors.first?.message.contains("account is required") == true, "\(missing.errors)")

        let unknown = parse(Self.twoAccounts + """
            [[eventbridge]]
            name = "bus"
            account = "stage"
            """)
        #expect(unknown.errors.map { "\($0.line):\($0.column)" } == ["12:11"])
        #expect(unknown.errors.first?.message.contains("unknown account \"stage\"") == true, "\(unknown.errors)")
    }

    @Test("with [aws] a sink without account is default's, as before")
    func defaultAccount() throws {
        let result = parse("""
            [aws]
            region = "us-west-2"
            [[order]]
            id = "oo-0123456789abcdef0"
            [[sns]]
            name = "topic"
            topic_arn = "\(Self.topic)"
            """)
        let settings = try #require(result.settings, "\(result.errors)")
        #expect(settings.sns.map(\.account) == ["default"])
    }
}
