import Foundation
import OutpostsAPI
import Testing

/// Prints what one signed GetOrder round trip costs on loopback. Measures, never asserts timing.
@Suite struct ClientBenchmarks {
    @Test func signedGetOrderRoundTripCost() async throws {
        let body = #"{"Order": {"OrderId": "oo-0123456789abcdef0", "OutpostId": "op-0123456789abcdef0", "Status": "IN_PROGRESS", "LineItems": [{"LineItemId": "ooi-0123456789abcdef0", "Status": "BUILDING", "Quantity": 1}], "OrderSubmissionDate": 1764331200}}"#
        let server = try await LoopbackServer.start(answering: body)
        let credentials = AWSCredentials(accessKeyId: "AKIDBENCH", secretAccessKey: "bench-secret", sessionToken: "bench-token")
        let client = OutpostsClient(endpoint: OutpostsEndpoint(region: "us-west-2", url: server.baseURL),
                                    credentials: StaticCredentialProvider(credentials), httpClient: benchHTTPClient,
                                    requestTimeout: .seconds(5), applicationVersion: "9.9.9-bench")
        _ = try await client.getOrder("oo-0123456789abcdef0") // warm the connection pool
        let calls = 1000
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for _ in 0..<calls { _ = try await client.getOrder("oo-0123456789abcdef0") }
        }
        #expect(await server.log.arrivals.count == calls + 1)
        await server.stop()

        let signer = SigV4Signer(service: "outposts", region: "us-west-2")
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
