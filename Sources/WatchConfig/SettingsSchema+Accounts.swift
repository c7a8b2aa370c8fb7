// The accounts of config.toml (docs/configuration.md, "Accounts and regions"): [aws] as the
// account `default`, every [[account]], and the account each [[order]] and [[discover]] belongs to.

extension SettingsSchema {
    static let accountKeys = ["name", "region", "profile", "role_arn", "external_id", "endpoint", "use_fips", "max_rps",
                              "concurrency"]

    // MARK: [aws] and [[account]]

    func readAWS(_ table: SchemaTable) -> AWSSettings {
        reader.rejectUnknownKeys(table, allowed: Self.awsKeys)
        let account = readConnection(table, name: AccountSettings.defaultName)
        var aws = AWSSettings(region: account.region, profile: account.profile, endpoint: account.endpoint,
                              roleArn: account.roleArn, externalId: account.externalId, useFips: account.useFips)
        aws.caBundle = reader.nonEmptyString(table, "ca_bundle")?.value
        return aws
    }

    /// Every account: `default` from `[aws]` when the table exists, then each usable `[[account]]`
    /// in file order; `default` alone when the file has neither. Reports bad and duplicate names.
    func readAccounts(_ tables: [SchemaTable], aws: (table: SchemaTable, settings: AWSSettings)?) -> AccountDirectory {
        var directory = AccountDirectory()
        var seen: [String: SourcePosition] = [:]
        if let aws {
            directory.accounts.append(aws.settings.defaultAccount)
            seen[AccountSettings.defaultName] = aws.table.position
        }
        for table in tables {
            reader.rejectUnknownKeys(table, allowed: Self.accountKeys)
            var account = readConnection(table, name: "")
            account.maxRPS = readMaxRPS(table)
            account.concurrency = reader.integer(table, "concurrency", minimum: 1)
            guard reader.requireKey(table, "name"), let name = reader.string(table, "name") else {
                directory.unnamedTables += 1
                continue
            }
            guard ConfigValidation.isAccountName(name.value) else {
                let rule = name.value.unicodeScalars.count > ConfigValidation.accountNameLimit
                    ? "is longer than \(ConfigValidation.accountNameLimit) characters"
                    : "may only contain a-z, 0-9, _ and -"
                diagnostics.error("account.name: \(SchemaReader.quoted(name.value)) \(rule)", at: name.position)
                directory.refusedNames.insert(name.value)
                continue
            }
            if let first = seen[name.value] {
                if aws != nil && name.value == AccountSettings.defaultName {
                    diagnostics.error("account.name: duplicate account name default: [aws] is the account \"default\" (at \(first)); give this [[account]] another name",
                                      at: name.position)
                } else {
                    diagnostics.error("account.name: duplicate account name \(name.value) (already used at \(first))",
                                      at: name.position)
                }
                continue
            }
            seen[name.value] = name.position
            account.name = name.value
            directory.accounts.append(account)
        }
        if aws == nil && tables.isEmpty {
            directory.accounts = [AccountSettings(name: AccountSettings.defaultName)]
        }
        return directory
    }

    /// The keys `[aws]` and `[[account]]` share, each checked by one validator: where and as whom
    /// to call the Outposts API.
    private func readConnection(_ table: SchemaTable, name: String) -> AccountSettings {
        var account = AccountSettings(name: name)
        account.region = readRegion(table)
        account.profile = reader.nonEmptyString(table, "profile")?.value
        account.endpoint = readEndpoint(table)
        account.roleArn = readRoleARN(table)
        account.externalId = readExternalID(table)
        if let fips = reader.boolean(table, "use_fips") { account.useFips = fips }
        return account
    }

    /// `region`: a region name (`a-z`, `0-9`, `-`).
    private func readRegion(_ table: SchemaTable) -> String? {
        guard let region = reader.nonEmptyString(table, "region") else { return nil }
        guard region.value.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
            diagnostics.error("\(table.path("region")): \(SchemaReader.quoted(region.value)) is not a region name such as \"us-west-2\"",
                              at: region.position)
            return nil
        }
        return region.value
    }

    /// `endpoint`: an http(s) URL (shown masked in messages: it may carry credentials).
    private func readEndpoint(_ table: SchemaTable) -> String? {
        guard let endpoint = reader.string(table, "endpoint") else { return nil }
        guard ConfigValidation.httpURL(endpoint.value) != nil else {
            diagnostics.error("\(table.path("endpoint")): \(SchemaReader.quoted(Self.maskedForMessage(endpoint.value))) is not an http(s) URL such as \"https://outposts.us-west-2.amazonaws.com\"",
                              at: endpoint.position)
            return nil
        }
        return endpoint.value
    }

    /// `role_arn`: an IAM role ARN.
    private func readRoleARN(_ table: SchemaTable) -> String? {
        guard let role = reader.string(table, "role_arn") else { return nil }
        guard Self.isRoleARN(role.value) else {
            diagnostics.error("\(table.path("role_arn")): \(SchemaReader.quoted(role.value)) is not an IAM role ARN such as \"arn:aws:iam::123456789012:role/OutpostsRead\"",
                              at: role.position)
            return nil
        }
        return role.value
    }

    /// `external_id`: what `AssumeRole` accepts (2–1224 of `A-Z a-z 0-9 + = , . @ : / _ -`), and
    /// only next to `role_arn`. Messages do not repeat the value.
    private func readExternalID(_ table: SchemaTable) -> String? {
        guard let id = reader.nonEmptyString(table, "external_id") else { return nil }
        guard table.table["role_arn"] != nil else {
            diagnostics.error("\(table.path("external_id")): only used with role_arn (AssumeRole sends it); set role_arn or remove external_id",
                              at: id.keyPosition)
            return nil
        }
        let isValid = (2...1224).contains(id.value.unicodeScalars.count) && id.value.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "+=,.@:/_-".unicodeScalars.contains($0)
        }
        guard isValid else {
            diagnostics.error("\(table.path("external_id")): must be 2 to 1224 characters of A-Z, a-z, 0-9 and + = , . @ : / _ - (what AssumeRole accepts)",
                              at: id.position)
            return nil
        }
        return id.value
    }

    /// `max_rps` of `[poll]` and of an `[[account]]`: a number greater than 0.
    func readMaxRPS(_ table: SchemaTable) -> Double? {
        reader.number(table, "max_rps", rule: "must be greater than 0", isValid: { $0 > 0 })
    }

    /// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
    static func isRoleARN(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        return parts.count == 6 && parts[0] == "arn" && parts[1].hasPrefix("aws") && parts[2] == "iam"
            && parts[3].isEmpty && parts[4].count == 12 && parts[4].allSatisfy({ $0.isASCII && $0.isNumber })
            && parts[5].hasPrefix("role/") && parts[5].count > "role/".count
    }

    // MARK: the account of an [[order]] or a [[discover]]

    /// The account `table` belongs to: its `account` key, else `default` when that account
    /// exists, else the only account. `nil` when neither applies (reported, unless it follows
    /// from an `[[account]]` already refused). `subject` names the table in messages.
    func account(of table: SchemaTable, in directory: AccountDirectory, subject: String) -> String? {
        let known = directory.accounts.map(\.name)
        if let name = reader.string(table, "account") {
            if known.contains(name.value) { return name.value }
            if directory.refusedNames.contains(name.value) || directory.unnamedTables > 0 { return nil }
            var message = "\(table.path("account")): unknown account \(SchemaReader.quoted(name.value))"
            if let suggestion = Suggestion.closest(to: name.value, among: known) {
                message += "; did you mean \(suggestion)?"
            }
            message += " (known accounts: \(known.joined(separator: ", ")))"
            diagnostics.error(message, at: name.position)
            return nil
        }
        if table.table["account"] != nil { return nil }  // not a string: reported by the reader
        if known.contains(AccountSettings.defaultName) { return AccountSettings.defaultName }
        let configured = known.count + directory.refusedNames.count + directory.unnamedTables
        if configured <= 1 { return known.first }
        diagnostics.error("\(subject): account is required when several accounts are configured (\(known.joined(separator: ", ")))",
                          at: table.position)
        return nil
    }
}

/// The accounts a file configures, and what the orders' `account` checks need to know about
/// the `[[account]]` tables that were refused (their errors are not repeated at every reference).
struct AccountDirectory {
    /// `Settings.accounts`.
    var accounts: [AccountSettings] = []
    /// Names of `[[account]]` tables refused for a malformed name.
    var refusedNames: Set<String> = []
    /// `[[account]]` tables refused without a usable name (missing, or not a string).
    var unnamedTables = 0
}
