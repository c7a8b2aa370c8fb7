import AsyncHTTPClient
import Foundation
import OutpostsAPI
import WatchConfig
import WatchModel

/// Builds the signed calls of the AWS sinks from the sink's account (docs/configuration.md,
/// "Accounts and regions"; `[aws]` is the account `default`): the region is the sink's own, else
/// the account's `region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's; the endpoint the
/// sink's `endpoint`, else `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the regional (FIPS
/// with `use_fips`) one; the credentials the account's profile and role (with its external id)
/// through the standard chain, one cached chain per account and region.
struct AWSSinkFactory {
    let settings: Settings
    let httpClient: any HTTPTransport
    let environment: [String: String]
    /// A fixed provider for every account (demo, tests).
    let credentials: (any CredentialProvider)?
    private let chains = ChainCache()

    init(settings: Settings, httpClient: any HTTPTransport, environment: [String: String],
         credentials: (any CredentialProvider)?) {
        self.settings = settings
        self.httpClient = httpClient
        self.environment = environment
        self.credentials = credentials
    }

    func call(service: String, account name: String, region: String?, endpoint: String?) throws -> AWSServiceCall {
        // The config loader only lets a sink name an account that exists.
        let account = settings.account(named: name) ?? AccountSettings(name: name)
        let resolvedRegion = try region ?? AWSRegionResolver.resolve(configured: account.region, profile: account.profile,
                                                                     environment: environment)
        let resolved = try OutpostsEndpoint.resolve(service: service, region: resolvedRegion, configuredEndpoint: endpoint,
                                                    useFips: account.useFips, environment: environment)
        let provider = credentials ?? chains.chain(key: "\(account.name) \(resolved.region)") {
            CredentialChain.standard(profile: account.profile, roleArn: account.roleArn, externalId: account.externalId,
                                     region: resolved.region, environment: environment, httpClient: httpClient)
        }
        return AWSServiceCall(service: service, endpoint: resolved, credentials: provider, httpClient: httpClient,
                              applicationVersion: OutpostwatchVersion.string)
    }

    /// One credential chain per account and region while a sink set is built.
    private final class ChainCache: @unchecked Sendable {
        private var chains: [String: any CredentialProvider] = [:]

        func chain(key: String, make: () -> any CredentialProvider) -> any CredentialProvider {
            if let chain = chains[key] { return chain }
            let chain = make()
            chains[key] = chain
            return chain
        }
    }
}
