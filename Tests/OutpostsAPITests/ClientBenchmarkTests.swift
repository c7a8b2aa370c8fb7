import Foundation
import OutpostsAPI
import Testing

/// Prints what one signed GetOrder round trip costs on loopback. Measures, never asserts timing.
@Suite struct ClientBenchmarkTests {
    @Test func signedGetOrderRoundTripCost() async throws {
        let body = #"{"Order": {"OrderId": "oo-0123456789abcdef0", "OutpostId": "op-0123456789abcdef0", "Status": "IN_PROGRESS", "LineItems": [{"LineItemId": "ooi-0123456789abcdef0", "Status": "BUILDING", "Quantity": 1}], "OrderSubmissionDate": 1764331200}}"#
        let server = try await ScriptedServer { _, _ in .json(body) }
        defer { server.stop() }
        let client = ClientTestHTTP.client(for: server, credentials: StaticCredentialProvider(
            AWSCredentials(accessKeyId: "AKIDBENCH", secretAccessKey: "bench-secret", sessionToken: "bench-token")))
        _ = try await client.getOrder("oo-0123456789abcdef0") // warm the connection pool
        let calls = 1000
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for _ in 0..<calls { _ = try await client.getOrder("oo-0123456789abcdef0") }
        }
        #expect(await server.requests.count == calls + 1)

        let signer = SigV4Signer(service: "outposts", region: "us-west-2")
        let credentials = AWSCredentials(accessKeyId: "AKIDBENCH", secretAccessKey: "bench-secret", sessionToken: "bench-token")
        let url = URL(string: "https://outposts.us-west-2.amazonaws.com/orders/oo-0123456789abcdef0")!
        let signings = 10_000
        let signingTime = clock.measure {
            for _ in 0..<signings {
                _ = signer.sign(method: "GET", url: url, headers: [("User-Agent", "bench")], body: [], credentials: credentials, date: Date())
            }
        }
        let perCall = elapsed / calls
        let perSignature = signingTime / signings
        print("BENCHMARK signed GetOrder round trip on loopback (client + in-process server): \(perCall) per call over \(calls) sequential calls; SigV4 signing alone: \(perSignature)")
    }
}
