import Foundation
import OutpostsAPI
import Support
import Testing

/// The proxy variables as botocore (urllib's getproxies) reads them, and NO_PROXY matching.
/// End to end through a real proxy: Tests/python/test_proxy.py.
struct ProxyEnvironmentTests {
    @Test func lowerCaseWinsAndSchemeDefaults() throws {
        let proxies = try ProxyEnvironment(environment: [
            "HTTPS_PROXY": "http://upper:3128", "https_proxy": "lower:8080", "HTTP_PROXY": "http://plain.example",
        ])
        #expect(proxies.https == .init(host: "lower", port: 8080))
        #expect(proxies.http == .init(host: "plain.example", port: 80))
        let none = try ProxyEnvironment(environment: ["https_proxy": "  ", "NO_PROXY": "x"])
        #expect(none.https == nil && none.http == nil)
    }

    @Test func credentialsAreDecodedAndNeverDescribed() throws {
        let proxies = try ProxyEnvironment(environment: ["HTTPS_PROXY": "http://us%40er:p%3Ass@[::1]:3128"])
        let proxy = try #require(proxies.https)
        #expect(proxy.username == "us@er")
        #expect(proxy.password == "p:ss")
        #expect(proxy.host == "::1")
        #expect(proxy.description == "http://***@[::1]:3128")
    }

    @Test func unusableProxyURLsAreErrorsWithoutTheirCredentials() {
        for value in ["https://user:secret@proxy:443", "socks5://user:secret@proxy:1080", "http://:8080", "http://h:99999"] {
            #expect(throws: ProxyEnvironment.ParseError.self) {
                try ProxyEnvironment(environment: ["HTTPS_PROXY": value])
            }
            do {
                _ = try ProxyEnvironment(environment: ["HTTPS_PROXY": value])
            } catch {
                #expect(!"\(error)".contains("secret"))
                #expect("\(error)".hasPrefix("HTTPS_PROXY: "))
            }
        }
    }

    @Test func noProxyEntries() {
        let rule = NoProxy(".internal.example, amazonaws.com *.corp 10.0.0.0/8,192.168.1.7,[fd00::1],vpce:8443,fd00:ec2::/64")
        #expect(rule.bypasses(host: "hooks.internal.example", port: nil))
        #expect(rule.bypasses(host: "internal.example", port: nil))
        #expect(!rule.bypasses(host: "notinternal.example", port: nil))
        #expect(rule.bypasses(host: "outposts.us-west-2.amazonaws.com", port: 443))
        #expect(rule.bypasses(host: "a.corp", port: nil))
        #expect(rule.bypasses(host: "10.20.30.40", port: nil))
        #expect(!rule.bypasses(host: "11.0.0.1", port: nil))
        #expect(rule.bypasses(host: "192.168.1.7", port: 80))
        #expect(!rule.bypasses(host: "192.168.1.8", port: 80))
        #expect(rule.bypasses(host: "[fd00::1]", port: nil))
        #expect(rule.bypasses(host: "fd00:ec2::23", port: nil))
        #expect(rule.bypasses(host: "vpce", port: 8443))
        #expect(!rule.bypasses(host: "vpce", port: 443))
        #expect(!rule.bypasses(host: "example.com", port: nil))
        #expect(NoProxy("*").bypasses(host: "anything", port: 1))
        #expect(!NoProxy("").bypasses(host: "anything", port: 1))
    }

    @Test func routeByScheme() throws {
        let proxies = try ProxyEnvironment(environment: ["HTTPS_PROXY": "http://p:1", "NO_PROXY": "direct.example"])
        #expect(proxies.proxy(for: URL(string: "https://outposts.us-west-2.amazonaws.com/orders/x")!)?.port == 1)
        #expect(proxies.proxy(for: URL(string: "http://hooks.example/x")!) == nil)
        #expect(proxies.proxy(for: URL(string: "https://direct.example/x")!) == nil)
    }
}
