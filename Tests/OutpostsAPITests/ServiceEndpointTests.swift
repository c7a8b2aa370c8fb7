import Foundation
import OutpostsAPI
import Testing

/// The endpoint resolution of the sinks' services (`events`, `sns`): the same precedence as
/// Outposts with the service's own variable, and the service's FIPS host.
@Suite struct ServiceEndpointTests {
    @Test("config, then AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the regional endpoint")
    func precedence() throws {
        let env = ["AWS_ENDPOINT_URL_EVENTS": "http://127.0.0.1:9001", "AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:9003",
                   "AWS_ENDPOINT_URL_OUTPOSTS": "http://127.0.0.1:9004", "AWS_ENDPOINT_URL": "http://127.0.0.1:9002"]
        func url(_ service: String, _ configured: String?, _ environment: [String: String], fips: Bool = false,
                 region: String = "us-west-2") throws -> String {
            try OutpostsEndpoint.resolve(service: service, region: region, configuredEndpoint: configured, useFips: fips,
                                         environment: environment).url.absoluteString
        }
        #expect(try url("events", "http://127.0.0.1:5000", env) == "http://127.0.0.1:5000")
        #expect(try url("events", nil, env) == "http://127.0.0.1:9001")
        #expect(try url("sns", nil, env) == "http://127.0.0.1:9003")
        #expect(try url("sns", nil, ["AWS_ENDPOINT_URL": "http://127.0.0.1:9002"]) == "http://127.0.0.1:9002")
        #expect(try url("events", nil, [:]) == "https://events.us-west-2.amazonaws.com")
        #expect(try url("sns", nil, [:], fips: true) == "https://sns-fips.us-west-2.amazonaws.com")
        #expect(try url("events", nil, [:], fips: true, region: "us-gov-west-1") == "https://events.us-gov-west-1.amazonaws.com")
        #expect(try url("sns", nil, [:], region: "cn-north-1") == "https://sns.cn-north-1.amazonaws.com.cn")
    }
}
