import Foundation
import OutpostsAPI
import Testing

/// Which region the AWS calls go to, with real config files in temp dirs.
@Suite("region resolution")
struct RegionResolverTests {
    @Test("configured, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile's region")
    func precedence() throws {
        let home = try CredTempDir()
        defer { home.remove() }
        try home.write(".aws/config", "[default]\nregion = eu-west-1\n[profile ops]\nregion = ap-southeast-2\n")
        var env = ["HOME": home.path, "AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-west-1"]
        #expect(try AWSRegionResolver.resolve(configured: "ca-central-1", profile: nil, environment: env) == "ca-central-1")
        #expect(try AWSRegionResolver.resolve(configured: nil, profile: nil, environment: env) == "us-east-2")
        env["AWS_REGION"] = ""
        #expect(try AWSRegionResolver.resolve(configured: "", profile: nil, environment: env) == "us-west-1")
        env["AWS_DEFAULT_REGION"] = nil
        #expect(try AWSRegionResolver.resolve(configured: nil, profile: nil, environment: env) == "eu-west-1")
        #expect(try AWSRegionResolver.resolve(configured: nil, profile: "ops", environment: env) == "ap-southeast-2")
        env["AWS_PROFILE"] = "ops"
        #expect(try AWSRegionResolver.resolve(configured: nil, profile: nil, environment: env) == "ap-southeast-2")
    }

    @Test("no region anywhere is a clear error")
    func missing() throws {
        let home = try CredTempDir()
        defer { home.remove() }
        do {
            _ = try AWSRegionResolver.resolve(configured: nil, profile: nil, environment: ["HOME": home.path])
            Issue.record("no region must be an error")
        } catch {
            #expect("\(error)" == "no AWS region: set region in [aws] of the config, or AWS_REGION")
        }
        try home.write(".aws/config", "[profile ops]\noutput = json\n")
        do {
            _ = try AWSRegionResolver.resolve(configured: nil, profile: "ops", environment: ["HOME": home.path])
            Issue.record("a profile without region must be an error")
        } catch {
            #expect("\(error)".contains("profile \"ops\""))
            #expect("\(error)".hasPrefix("no AWS region: set region in [aws] of the config, or AWS_REGION"))
        }
    }
}
