import AsyncHTTPClient
import Foundation
import OutpostsAPI
import WatchConfig
import WatchModel

/// Builds the signed calls of the AWS sinks from `[aws]` (docs/configuration.md): the region is
/// the sink's own, else `[aws] region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's; the
/// endpoint the sink's `endpoint`, else `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the
/// regional (FIPS with `use_fips`) one; the credentials `[aws]`'s profile and role through the
/// standard chain, one cached chain per region.
struct AWSSinkFactory {
    let aws: AWSSettings
    let httpClient: any HTTPTransport
    let environment: [String: String]
    let credentials: (any CredentialProvider)?
    private let chains = ChainCache()

    init(aws: AWSSettings, httpClient: any HTTPTransport, environment: [String: String], credentials: (any CredentialProvider)?) {
        self.aws = aws
        self.httpClient = httpClient
        self.environment = environment
        self.credentials = credentials
    }

    func call(service: String, region: String?, endpoint: String?) throws -> AWSServiceCall {
        let resolvedRegion = try region ?? AWSRegionResolver.resolve(configured: aws.region, profile: aws.profile,
                                                                     environment: environment)
        let resolved = try OutpostsEndpoint.resolve(service: service, region: resolvedRegion, configuredEndpoint: endpoint,
                                                    useFips: aws.useFips, environment: environment)
        let provider = credentials ?? chains.chain(region: resolved.region) {
            CredentialChain.standard(profile: aws.profile, roleArn: aws.roleArn, region: resolved.region,
                                     environment: environment, httpClient: httpClient)
        }
        return AWSServiceCall(service: service, endpoint: resolved, credentials: provider, httpClient: httpClient,
                              applicationVersion: OutpostwatchVersion.string)
    }

    /// One credential chain per region while a sink set is built.
    private final class ChainCache: @unchecked Sendable {
        private var chains: [String: any CredentialProvider] = [:]

        func chain(region: String, make: () -> any CredentialProvider) -> any CredentialProvider {
            if let chain = chains[region] { return chain }
            let chain = make()
            chains[region] = chain
            return chain
        }
    }
}
