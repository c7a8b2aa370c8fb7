import Foundation
import OutpostsAPI

extension Scenario {
    /// One AWS account the simulator plays (docs/simulator.md, "Accounts"): the access key id its
    /// callers sign with, the region its orders live in, and the orders it owns.
    ///
    /// ```json
    /// {"name": "prod", "accessKeyId": "AKIAPROD00000000001", "region": "us-west-2",
    ///  "orders": ["oo-0123456789abcdef0"]}
    /// ```
    public struct Account: Codable, Sendable, Equatable {
        /// Free text naming the account in stats and fault filters; the access key id when absent.
        public var name: String?
        /// Requests signed with another key are refused (`UnrecognizedClientException`).
        public var accessKeyId: String
        /// Requests signed for another region are refused (`InvalidSignatureException`).
        public var region: String
        /// The order ids the account owns; other accounts get `NotFoundException` for them.
        public var orders: [String]

        public init(name: String? = nil, accessKeyId: String, region: String, orders: [String] = []) {
            self.name = name
            self.accessKeyId = accessKeyId
            self.region = region
            self.orders = orders
        }

        /// How stats, fault filters and the admin API name the account.
        public var label: String { name ?? accessKeyId }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, accessKeyId, region, orders
        }

        public init(from decoder: any Decoder) throws {
            // A misspelt key (e.g. "accessKey") would otherwise be dropped silently.
            try AnyCodingKey.rejectUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue), kind: "account")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            accessKeyId = try c.decode(String.self, forKey: .accessKeyId)
            region = try c.decode(String.self, forKey: .region)
            orders = try c.decodeIfPresent([String].self, forKey: .orders) ?? []
        }

        /// Shape problems of one account on its own.
        func problems() -> [String] {
            var problems: [String] = []
            if accessKeyId.isEmpty || !accessKeyId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                problems.append("accessKeyId must be ASCII letters and digits, got '\(accessKeyId)'")
            }
            if region.isEmpty || !region.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) {
                problems.append("region must be lowercase letters, digits and '-', got '\(region)'")
            }
            if let name, name.isEmpty { problems.append("name must not be empty") }
            for order in orders where (try? SimulatedWorld.orderIdPattern.wholeMatch(in: order)) == nil {
                problems.append("order \(order) does not match oo-[a-f0-9]{17}")
            }
            return problems
        }
    }

    /// Problems of `accounts` as a whole (empty when there are none): duplicate keys and names,
    /// orders owned twice, orders of the scenario owned by nobody, faults naming no account.
    func accountProblems() -> [String] {
        guard let accounts else {
            let named = timeline.enumerated().filter { $0.element.fault?.account != nil }
            return named.map { "timeline[\($0.offset)]: fault 'account' needs the scenario's 'accounts'" }
        }
        var problems: [String] = []
        if accounts.isEmpty { problems.append("accounts: declare at least one account, or leave 'accounts' out") }
        var keys: Set<String> = []
        var names: Set<String> = []
        var owners: [String: String] = [:]
        for (index, account) in accounts.enumerated() {
            problems += account.problems().map { "accounts[\(index)]: \($0)" }
            if !keys.insert(account.accessKeyId).inserted {
                problems.append("accounts[\(index)]: duplicate accessKeyId \(account.accessKeyId)")
            }
            if !names.insert(account.label).inserted {
                problems.append("accounts[\(index)]: duplicate name \(account.label)")
            }
            for order in account.orders {
                if let owner = owners[order], owner != account.label {
                    problems.append("accounts[\(index)]: order \(order) is already owned by account \(owner)")
                } else {
                    owners[order] = account.label
                }
            }
        }
        for (index, order) in orders.enumerated() {
            if let id = order.orderId, owners[id] == nil {
                problems.append("orders[\(index)]: order \(id) belongs to no account (list it in one account's 'orders')")
            }
        }
        let labels = Set(accounts.map(\.label)).union(accounts.map(\.accessKeyId))
        for (index, step) in timeline.enumerated() {
            if let id = step.putOrder?.orderId, owners[id] == nil {
                problems.append("timeline[\(index)]: putOrder \(id) belongs to no account (list it in one account's 'orders')")
            }
            if let account = step.fault?.account, !labels.contains(account) {
                problems.append("timeline[\(index)]: fault names account \(account), which the scenario does not declare")
            }
        }
        return problems
    }
}

/// The accounts of a scenario at run time: who signs with which key, and who owns which order.
/// Without accounts, every well-signed caller sees every order (``isEnabled`` is false).
struct AccountDirectory: Sendable {
    private(set) var accounts: [Scenario.Account]
    private var byKey: [String: Int] = [:]
    /// Order id → index of its owner in ``accounts``.
    private var owners: [String: Int] = [:]
    let isEnabled: Bool

    init(_ accounts: [Scenario.Account]?) {
        self.accounts = accounts ?? []
        self.isEnabled = accounts != nil
        for (index, account) in self.accounts.enumerated() {
            byKey[account.accessKeyId] = index
            for order in account.orders where owners[order] == nil { owners[order] = index }
        }
    }

    /// The account a label names: its name or its access key id.
    func account(named label: String) -> Scenario.Account? {
        accounts.first { $0.label == label || $0.accessKeyId == label }
    }

    /// The account of a signer, or the answer AWS gives a caller it does not know, or one that
    /// signed for another region than the account's.
    func authorize(_ signer: SigV4HeaderCheck.Signer?) -> Result<Scenario.Account?, SigV4HeaderCheck.Rejection> {
        guard isEnabled else { return .success(nil) }
        guard let signer, let index = byKey[signer.accessKeyId] else {
            return .failure(.init(status: 403, code: "UnrecognizedClientException",
                                  message: "The security token included in the request is invalid."))
        }
        let account = accounts[index]
        guard signer.region == account.region else {
            return .failure(.init(status: 403, code: "InvalidSignatureException",
                                  message: "Credential should be scoped to a valid region, not '\(signer.region)'. "))
        }
        return .success(account)
    }

    /// Whether `account` may see order `orderId` (always, without accounts).
    func owns(_ account: Scenario.Account?, _ orderId: String) -> Bool {
        guard isEnabled else { return true }
        guard let account, let owner = owners[orderId] else { return false }
        return accounts[owner].accessKeyId == account.accessKeyId
    }

    /// The account owning `orderId`, if any.
    func owner(of orderId: String) -> Scenario.Account? {
        owners[orderId].map { accounts[$0] }
    }

    /// Gives `orderId` to the account `label` names (taking it from any other).
    mutating func assign(_ orderId: String, to label: String) -> Bool {
        guard let index = accounts.firstIndex(where: { $0.label == label || $0.accessKeyId == label }) else { return false }
        if let previous = owners[orderId] { accounts[previous].orders.removeAll { $0 == orderId } }
        owners[orderId] = index
        if !accounts[index].orders.contains(orderId) { accounts[index].orders.append(orderId) }
        return true
    }
}
