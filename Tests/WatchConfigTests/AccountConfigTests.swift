import Foundation
import Testing
import WatchConfig
import WatchModel

/// `[[account]]` and the `account` of `[[order]]` and `[[discover]]` (docs/configuration.md,
/// "Accounts and regions"): which accounts a file configures, which account each order and
/// sweep belongs to, and what is refused, at FILE:LINE:COL.
@Suite("Config loading: accounts and regions")
struct AccountConfigTests {
    static let first = "oo-0123456789abcdef0"
    static let second = "oo-0123456789abcdef1"
    static let role = "arn:aws:iam::111111111111:role/OutpostsRead"

    func parse(_ text: String) -> ConfigResult {
        ConfigLoader.parse(text: text, file: "a.toml", environment: [:])
    }

    /// The one error of `text`, checked to be at `line`:`column` and to contain `message`.
    func expectOneError(_ text: String, _ line: Int, _ column: Int, _ message: String,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = parse(text)
        #expect(result.settings == nil, sourceLocation: sourceLocation)
        #expect(result.errors.count == 1, "\(result.errors.map(\.description))", sourceLocation: sourceLocation)
        let error = try #require(result.errors.first, "no error for:\n\(text)", sourceLocation: sourceLocation)
        #expect(error.line == line && error.column == column, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(message), "\(error)", sourceLocation: sourceLocation)
        #expect(error.description == "a.toml:\(line):\(column): \(error.message)", sourceLocation: sourceLocation)
    }

    // MARK: which accounts

    @Test("a config with [aws] only works as before: one account, default, with [aws]'s keys")
    func awsOnly() throws {
        let result = parse("""
            [aws]
            region = "us-west-2"
            profile = "outposts"
            role_arn = "\(Self.role)"
            external_id = "ext-42"
            [[order]]
            id = "\(Self.first)"
            [[discover]]
            """)
        let settings = try #require(result.settings, "\(result.errors)")
        let expected = AccountSettings(name: "default", region: "us-west-2", profile: "outposts",
                                       roleArn: Self.role, externalId: "ext-42")
        #expect(settings.accounts == [expected])
        #expect(settings.aws.defaultAccount == expected)
        #expect(settings.aws.externalId == "ext-42")
        #expect(settings.orders == [OrderSettings(id: Self.first, account: "default")])
        #expect(settings.discover.map(\.account) == ["default"])
        let summary = ConfigSummary.render(settings)
        #expect(summary.contains("AWS: region us-west-2, profile outposts, assuming \(Self.role) (external id set)"), "\(summary)")
        #expect(!summary.contains("ext-42"), "\(summary)")
        #expect(!summary.contains("(account default)"), "\(summary)")
    }

    @Test("neither [aws] nor [[account]]: the account default, with nothing set")
    func noAccountAtAll() throws {
        let settings = try #require(parse("[[order]]\nid = \"\(Self.first)\"\n").settings)
        #expect(settings.accounts == [AccountSettings(name: "default")])
        #expect(settings.orders.first?.account == "default")
        let explicit = try #require(parse("[[order]]\nid = \"\(Self.first)\"\naccount = \"default\"\n").settings)
        #expect(explicit.orders.first?.account == "default")
    }

    @Test("only [[account]] tables: exactly those, and one account needs no account key")
    func onlyAccountTables() throws {
        let result = parse("""
            [[order]]
            id = "\(Self.first)"
            [[account]]
            name = "prod"
            region = "eu-west-1"
            """)
        let settings = try #require(result.settings, "\(result.errors)")
        #expect(settings.accounts == [AccountSettings(name: "prod", region: "eu-west-1")])
        #expect(settings.orders == [OrderSettings(id: Self.first, account: "prod")])
    }

    static let twoAccounts = """
        [[order]]
        id = "\(first)"
        account = "prod"
        label = "rack 1"
        [[order]]
        id = "\(second)"
        account = "staging"
        [[discover]]
        account = "staging"
        outpost = "op-0123456789abcdef0"
        [[account]]
        name = "prod"
        region = "us-west-2"
        profile = "prod-readonly"
        role_arn = "\(role)"
        external_id = "a1b2c3"
        endpoint = "http://127.0.0.1:8714"
        use_fips = true
        max_rps = 2.5
        concurrency = 8
        [[account]]
        name = "staging"
        [poll]
        max_rps = 5
        concurrency = 4
        """

    @Test("two accounts, every key read, and orders and sweeps assigned (even when they come first)")
    func twoAccountsAssigned() throws {
        let result = parse(Self.twoAccounts)
        #expect(result.errors.isEmpty, "\(result.errors)")
        let settings = try #require(result.settings)
        #expect(settings.accounts == [
            AccountSettings(name: "prod", region: "us-west-2", profile: "prod-readonly", endpoint: "http://127.0.0.1:8714",
                            roleArn: Self.role, externalId: "a1b2c3", useFips: true, maxRPS: 2.5, concurrency: 8),
            AccountSettings(name: "staging"),
        ])
        #expect(settings.orders == [OrderSettings(id: Self.first, label: "rack 1", account: "prod"),
                                    OrderSettings(id: Self.second, account: "staging")])
        #expect(settings.discover == [DiscoverSettings(outpost: "op-0123456789abcdef0", account: "staging")])
        #expect(settings.account(named: "staging") == AccountSettings(name: "staging"))
        #expect(settings.account(named: "default") == nil)

        let summary = ConfigSummary.render(settings)
        for expected in ["\(Self.first)  rack 1 (account prod)",
                         "\(Self.second) (account staging)",
                         "ListOrders every 1h) (account staging)",
                         "AWS accounts:",
                         "  prod: region us-west-2, profile prod-readonly, endpoint http://127.0.0.1:8714, assuming \(Self.role) (external id set), FIPS endpoint, at most 2.5 calls/s, 8 in flight, 1 order",
                         "  staging: region from the profile / AWS_REGION / AWS_DEFAULT_REGION, profile from AWS_PROFILE / the default chain, 1 order plus 1 discovery rule"] {
            #expect(summary.contains(expected), "missing \(expected):\n\(summary)")
        }
        #expect(!summary.contains("a1b2c3"), "\(summary)")
    }

    @Test("scoped(to:) gives each account its orders, its sweeps and its [poll] overrides")
    func scoped() throws {
        let settings = try #require(parse(Self.twoAccounts).settings)
        let prod = try #require(settings.account(named: "prod"))
        let staging = try #require(settings.account(named: "staging"))

        let forProd = settings.scoped(to: prod)
        #expect(forProd.accounts == [prod])
        #expect(forProd.orders.map(\.id) == [Self.first])
        #expect(forProd.discover.isEmpty)
        #expect(forProd.poll.maxRPS == 2.5 && forProd.poll.concurrency == 8)
        #expect(forProd.poll.interval == settings.poll.interval)

        let forStaging = settings.scoped(to: staging)
        #expect(forStaging.orders.map(\.id) == [Self.second])
        #expect(forStaging.discover.count == 1)
        #expect(forStaging.poll == settings.poll, "no override: [poll] as written")
    }

    @Test("[aws] and [[account]]: default first, orders without account go to default")
    func awsAndAccounts() throws {
        let result = parse("""
            [[account]]
            name = "lab"
            region = "us-east-1"
            [aws]
            region = "us-west-2"
            [[order]]
            id = "\(Self.first)"
            [[order]]
            id = "\(Self.second)"
            account = "lab"
            [[discover]]
            """)
        let settings = try #require(result.settings, "\(result.errors)")
        #expect(settings.accounts.map(\.name) == ["default", "lab"])
        #expect(settings.accounts.first?.region == "us-west-2")
        #expect(settings.orders.map(\.account) == ["default", "lab"])
        #expect(settings.discover.map(\.account) == ["default"])
        #expect(ConfigSummary.render(settings).contains("  default: region us-west-2"))
    }

    // MARK: what is refused

    @Test("with two accounts and no default, an order or a sweep without account is an error at its table")
    func accountRequired() throws {
        let accounts = "[[account]]\nname = \"prod\"\n[[account]]\nname = \"staging\"\n"
        try expectOneError(accounts + "[[order]]\nid = \"\(Self.first)\"\n", 5, 1,
                           "order \(Self.first): account is required when several accounts are configured (prod, staging)")
        try expectOneError(accounts + "[[discover]]\noutpost = \"op-0123456789abcdef0\"\n", 5, 1,
                           "discover op-0123456789abcdef0: account is required when several accounts are configured (prod, staging)")
        try expectOneError(accounts + "[[discover]]\n", 5, 1, "discover: account is required")
        try expectOneError("order = [{ id = \"\(Self.first)\" }]\n" + accounts, 1, 10, "order \(Self.first): account is required")
    }

    @Test("each kind of account error, at the offending value (or key)", arguments: [
        // unknown account, with a hint for a typo
        ("[[account]]\nname = \"prod\"\n[[order]]\nid = \"\(first)\"\naccount = \"prd\"\n", 5, 11,
         "order.account: unknown account \"prd\"; did you mean prod? (known accounts: prod)"),
        ("[aws]\n[[order]]\nid = \"\(first)\"\naccount = \"staging\"\n", 4, 11,
         "order.account: unknown account \"staging\" (known accounts: default)"),
        ("[[order]]\nid = \"\(first)\"\naccount = \"prod\"\n", 3, 11,
         "order.account: unknown account \"prod\" (known accounts: default)"),
        ("[[account]]\nname = \"prod\"\n[[account]]\nname = \"lab\"\n[[discover]]\naccount = \"staging\"\n", 6, 11,
         "discover.account: unknown account \"staging\" (known accounts: prod, lab)"),
        ("[[order]]\nid = \"\(first)\"\naccount = 1\n", 3, 11, "order.account: expected a string, found integer"),
        // names
        ("[[account]]\nname = \"a\"\n[[account]]\nname = \"a\"\n", 4, 8,
         "account.name: duplicate account name a (already used at 2:8)"),
        ("[aws]\nregion = \"us-west-2\"\n[[account]]\nname = \"default\"\n", 4, 8,
         "account.name: duplicate account name default: [aws] is the account \"default\""),
        ("[[account]]\nname = \"Prod\"\n", 2, 8, "account.name: \"Prod\" may only contain a-z, 0-9, _ and -"),
        ("[[account]]\nname = \"\"\n", 2, 8, "account.name: \"\" may only contain a-z, 0-9, _ and -"),
        ("[[account]]\nname = \"prod.eu\"\n", 2, 8, "may only contain a-z, 0-9, _ and -"),
        ("[[account]]\nname = \"\(String(repeating: "a", count: 65))\"\n", 2, 8, "is longer than 64 characters"),
        ("[[account]]\nregion = \"us-west-2\"\n", 1, 1, "[[account]]: missing required key name"),
        ("[account]\nname = \"a\"\n", 1, 2, "write [[account]], not [account]"),
        // the keys [aws] also has, checked the same way
        ("[[account]]\nname = \"a\"\nregion = \"US West\"\n", 3, 10, "account.region: \"US West\" is not a region name"),
        ("[[account]]\nname = \"a\"\nregion = \"\"\n", 3, 10, "account.region: must not be empty"),
        ("[[account]]\nname = \"a\"\nendpoint = \"127.0.0.1:8714\"\n", 3, 12, "account.endpoint: \"127.0.0.1:8714\" is not an http(s) URL"),
        ("[[account]]\nname = \"a\"\nrole_arn = \"OutpostsRead\"\n", 3, 12, "account.role_arn: \"OutpostsRead\" is not an IAM role ARN"),
        ("[[account]]\nname = \"a\"\nuse_fips = \"yes\"\n", 3, 12, "account.use_fips: expected a boolean"),
        ("[[account]]\nname = \"a\"\nprofile = \"\"\n", 3, 11, "account.profile: must not be empty"),
        ("[[account]]\nname = \"a\"\nmax_rps = 0\n", 3, 11, "account.max_rps: 0 is out of range: must be greater than 0"),
        ("[[account]]\nname = \"a\"\nmax_rps = \"5\"\n", 3, 11, "account.max_rps: expected a number, found string"),
        ("[[account]]\nname = \"a\"\nconcurrency = 0\n", 3, 15, "account.concurrency: 0 is out of range: must be at least 1"),
        ("[[account]]\nname = \"a\"\nca_bundle = \"/x.pem\"\n", 3, 1, "unknown key ca_bundle in [account]"),
        ("[[account]]\nname = \"a\"\nrgion = \"us-west-2\"\n", 3, 1, "unknown key rgion in [account]; did you mean region?"),
        // external_id
        ("[[account]]\nname = \"a\"\nexternal_id = \"abc\"\n", 3, 1,
         "account.external_id: only used with role_arn (AssumeRole sends it); set role_arn or remove external_id"),
        ("[aws]\nexternal_id = \"abc\"\n", 2, 1, "aws.external_id: only used with role_arn"),
        ("[[account]]\nname = \"a\"\nrole_arn = \"\(role)\"\nexternal_id = \"a b\"\n", 4, 15,
         "account.external_id: must be 2 to 1224 characters"),
        ("[aws]\nrole_arn = \"\(role)\"\nexternal_id = \"\"\n", 3, 15, "aws.external_id: must not be empty"),
        // the same order under two accounts
        ("[[account]]\nname = \"a\"\n[[account]]\nname = \"b\"\n[[order]]\nid = \"\(first)\"\naccount = \"a\"\n[[order]]\nid = \"\(first)\"\naccount = \"b\"\n",
         9, 6, "order.id: duplicate order id \(first) under account b (already listed at 6:6 under account a; an order belongs to one account)"),
        ("[[account]]\nname = \"a\"\n[[order]]\nid = \"\(first)\"\n[[order]]\nid = \"\(first)\"\naccount = \"a\"\n",
         6, 6, "order.id: duplicate order id \(first) (already listed at 4:6)"),
    ] as [(String, Int, Int, String)])
    func errorKinds(text: String, line: Int, column: Int, message: String) throws {
        try expectOneError(text, line, column, message)
    }

    @Test("a refused account name is reported once, not again at every order that names it")
    func noCascade() throws {
        try expectOneError("[[account]]\nname = \"Prod\"\n[[order]]\nid = \"\(Self.first)\"\naccount = \"Prod\"\n", 2, 8,
                           "account.name: \"Prod\" may only contain")
        try expectOneError("[[account]]\nname = \"a\"\n[[account]]\nname = \"a\"\n[[order]]\nid = \"\(Self.first)\"\n", 4, 8,
                           "duplicate account name a")
        try expectOneError("[[account]]\nregion = \"us-west-2\"\n[[order]]\nid = \"\(Self.first)\"\naccount = \"x\"\n", 1, 1,
                           "missing required key name")
    }

    @Test("every account error of a file is reported in one pass, in source order")
    func allErrorsAtOnce() {
        let result = parse("""
            [aws]
            region = "us-west-2"
            [[order]]
            id = "\(Self.first)"
            account = "lab"
            [[order]]
            id = "\(Self.second)"
            account = "stagin"
            [[account]]
            name = "default"
            [[account]]
            name = "lab"
            region = "eu_west_1"
            endpoint = "outposts.local"
            role_arn = "arn:aws:iam::1:role/x"
            max_rps = -1
            concurrency = 0
            [[account]]
            name = "Staging"
            external_id = "x"
            [[order]]
            id = "\(Self.first)"
            [[discover]]
            account = "nope"
            """)
        #expect(result.settings == nil)
        let expected: [(Int, Int, String)] = [
            (8, 11, "order.account: unknown account \"stagin\" (known accounts: default, lab)"),
            (10, 8, "account.name: duplicate account name default: [aws] is the account \"default\""),
            (13, 10, "account.region: \"eu_west_1\" is not a region name"),
            (14, 12, "account.endpoint: \"outposts.local\" is not an http(s) URL"),
            (15, 12, "account.role_arn: \"arn:aws:iam::1:role/x\" is not an IAM role ARN"),
            (16, 11, "account.max_rps: -1 is out of range"),
            (17, 15, "account.concurrency: 0 is out of range"),
            (19, 8, "account.name: \"Staging\" may only contain"),
            (20, 1, "account.external_id: only used with role_arn"),
            (22, 6, "order.id: duplicate order id \(Self.first) under account default (already listed at 4:6 under account lab"),
            (24, 11, "discover.account: unknown account \"nope\" (known accounts: default, lab)"),
        ]
        let actual = result.errors.map { ($0.line, $0.column, $0.message) }
        #expect(actual.count == expected.count, "\(result.errors.map(\.description).joined(separator: "\n"))")
        for (got, want) in zip(actual, expected) {
            #expect(got.0 == want.0 && got.1 == want.1 && got.2.hasPrefix(want.2), "got \(got), want \(want)")
        }
    }
}
