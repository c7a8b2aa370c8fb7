import Foundation
import OutpostsAPI
import Testing

@Suite struct EndpointTests {
    @Test func precedenceIsConfigThenServiceEnvThenGlobalEnvThenRegional() throws {
        let env = ["AWS_ENDPOINT_URL_OUTPOSTS": "http://127.0.0.1:9001", "AWS_ENDPOINT_URL": "http://127.0.0.1:9002"]
        #expect(try OutpostsEndpoint.resolve(region: "us-west-2", configuredEndpoint: "http://127.0.0.1:8714",
                                             useFips: false, environment: env).url.absoluteString == "http://127.0.0.1:8714")
        #expect(try OutpostsEndpoint.resolve(region: "us-west-2", configuredEndpoint: nil, useFips: false,
                                             environment: env).url.absoluteString == "http://127.0.0.1:9001")
        #expect(try OutpostsEndpoint.resolve(region: "us-west-2", configuredEndpoint: nil, useFips: false,
                                             environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:9002"]).url.absoluteString == "http://127.0.0.1:9002")
        // Empty values count as unset.
        #expect(try OutpostsEndpoint.resolve(region: "us-west-2", configuredEndpoint: "", useFips: false,
                                             environment: ["AWS_ENDPOINT_URL_OUTPOSTS": "", "AWS_ENDPOINT_URL": " "]).url.absoluteString
                == "https://outposts.us-west-2.amazonaws.com")
        // An explicit endpoint wins over use_fips, and the signing region stays the configured one.
        let explicit = try OutpostsEndpoint.resolve(region: "eu-west-1", configuredEndpoint: "https://proxy.example.com/outposts/",
                                                    useFips: true, environment: [:])
        #expect(explicit == OutpostsEndpoint(region: "eu-west-1", url: URL(string: "https://proxy.example.com/outposts")!))
    }

    /// botocore's own resolution (its endpoint rules for outposts), for every partition.
    static let expected: [(region: String, fips: Bool, url: String, signingRegion: String)] = [
        ("us-west-2", false, "https://outposts.us-west-2.amazonaws.com", "us-west-2"),
        ("us-west-2", true, "https://outposts-fips.us-west-2.amazonaws.com", "us-west-2"),
        ("ca-central-1", true, "https://outposts-fips.ca-central-1.amazonaws.com", "ca-central-1"),
        ("ap-southeast-5", false, "https://outposts.ap-southeast-5.amazonaws.com", "ap-southeast-5"),
        ("cn-north-1", false, "https://outposts.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ("cn-northwest-1", true, "https://outposts-fips.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1"),
        ("us-gov-west-1", false, "https://outposts.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("us-gov-west-1", true, "https://outposts.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("us-iso-east-1", false, "https://outposts.us-iso-east-1.c2s.ic.gov", "us-iso-east-1"),
        ("us-isob-east-1", true, "https://outposts-fips.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1"),
        ("eu-isoe-west-1", false, "https://outposts.eu-isoe-west-1.cloud.adc-e.uk", "eu-isoe-west-1"),
        ("us-isof-south-1", false, "https://outposts.us-isof-south-1.csp.hci.ic.gov", "us-isof-south-1"),
        ("eusc-de-east-1", false, "https://outposts.eusc-de-east-1.amazonaws.eu", "eusc-de-east-1"),
        ("fips-us-east-1", false, "https://outposts-fips.us-east-1.amazonaws.com", "us-east-1"),
    ]

    @Test func regionalEndpointsMatchBotocoreTable() throws {
        for row in Self.expected {
            let endpoint = try OutpostsEndpoint.resolve(region: row.region, configuredEndpoint: nil, useFips: row.fips, environment: [:])
            #expect(endpoint.url.absoluteString == row.url, "\(row.region) fips=\(row.fips)")
            #expect(endpoint.region == row.signingRegion, "\(row.region)")
        }
    }

    /// The table above, recomputed live by the installed botocore (guards against drift).
    @Test(.enabled(if: SigV4Botocore.available || SigV4Botocore.required, "python3 with boto3/botocore is not installed"))
    func tableAgreesWithInstalledBotocore() throws {
        let script = """
        import boto3, json, sys
        out = []
        for region, fips in json.loads(sys.argv[1]):
            client = boto3.client("outposts", region_name=region, aws_access_key_id="a", aws_secret_access_key="b",
                                  config=boto3.session.Config(use_fips_endpoint=fips))
            out.append(client.meta.endpoint_url)
        print(json.dumps(out))
        """
        let input = try JSONSerialization.data(withJSONObject: Self.expected.map { [$0.region, $0.fips] as [Any] })
        let result = try SigV4Botocore.run(["-c", script, String(decoding: input, as: UTF8.self)])
        try #require(result.status == 0, "boto3 resolved the endpoints")
        let urls = try #require(try JSONSerialization.jsonObject(with: result.output) as? [String])
        #expect(urls == Self.expected.map(\.url))
    }

    @Test(arguments: [
        ("outposts.us-west-2.amazonaws.com", "is not a URL"),
        ("ftp://example.com", "must use http or https"),
        ("http://", "has no host"),
        ("https://user:pw@example.com", "must not contain user information"),
        ("https://example.com/?a=b", "must not contain a query or fragment"),
        ("https://example.com/#frag", "must not contain a query or fragment"),
        ("http://exa mple.com", "is not a URL"),
    ])
    func malformedEndpointsAreClearErrors(_ value: String, _ message: String) {
        do {
            _ = try OutpostsEndpoint.resolve(region: "us-west-2", configuredEndpoint: value, useFips: false, environment: [:])
            Issue.record("\(value) was accepted")
        } catch let error as EndpointError {
            #expect(error.source == "config endpoint")
            #expect(error.description.contains(message), "\(error)")
            #expect(error.description.contains(value))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func malformedEnvironmentEndpointNamesTheVariable() {
        #expect(throws: EndpointError(source: "AWS_ENDPOINT_URL_OUTPOSTS", value: "nonsense",
                                      message: "is not a URL (expected e.g. https://outposts.us-west-2.amazonaws.com or http://127.0.0.1:8714)")) {
            try OutpostsEndpoint.resolve(region: "us-west-2", configuredEndpoint: nil, useFips: false,
                                         environment: ["AWS_ENDPOINT_URL_OUTPOSTS": "nonsense"])
        }
    }

    @Test(arguments: ["", "US-WEST-2", "us west 2", "us-west-2.evil.com", "-us-west-2"])
    func badRegionsAreRejected(_ region: String) {
        #expect(throws: EndpointError.self) {
            try OutpostsEndpoint.resolve(region: region, configuredEndpoint: nil, useFips: false, environment: [:])
        }
    }
}
