import Foundation
import OutpostsAPI
import Testing

/// One botocore-signed request from Fixtures/sigv4_vectors.json (Tests/python/gen_sigv4_vectors.py).
struct SigV4Vector: Decodable, Sendable, CustomTestStringConvertible {
    struct Expected: Decodable, Sendable {
        var canonical_request: String
        var string_to_sign: String
        var signature: String
        var authorization: String
        var signed_headers: [[String]]
    }

    var name: String
    var method: String
    var url: String
    var headers: [[String]]
    var body_base64: String
    var service: String
    var region: String
    var access_key_id: String
    var secret_access_key: String
    var session_token: String?
    var epoch_seconds: Double
    var expected: Expected

    var testDescription: String { name }

    static func loadAll() throws -> [SigV4Vector] {
        struct File: Decodable { var cases: [SigV4Vector] }
        let url = try #require(Bundle.module.url(forResource: "sigv4_vectors", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }
}

@Suite struct SigV4VectorTests {
    @Test func fixtureHoldsEnoughCases() throws {
        let vectors = try SigV4Vector.loadAll()
        #expect(vectors.count >= 30)
        #expect(Set(vectors.map(\.name)).count == vectors.count, "case names are unique")
    }

    @Test(arguments: (try? SigV4Vector.loadAll()) ?? [])
    func matchesBotocoreStepByStep(_ vector: SigV4Vector) throws {
        let url = try #require(URL(string: vector.url), "URL parses: \(vector.url)")
        let body = try #require(Data(base64Encoded: vector.body_base64))
        let credentials = AWSCredentials(accessKeyId: vector.access_key_id, secretAccessKey: vector.secret_access_key,
                                         sessionToken: vector.session_token)
        let signer = SigV4Signer(service: vector.service, region: vector.region)
        let signing = signer.signing(method: vector.method, url: url, headers: vector.headers.map { ($0[0], $0[1]) },
                                     body: Array(body), credentials: credentials,
                                     date: Date(timeIntervalSince1970: vector.epoch_seconds))

        #expect(signing.canonicalRequest == vector.expected.canonical_request)
        #expect(signing.stringToSign == vector.expected.string_to_sign)
        #expect(signing.signature == vector.expected.signature)
        #expect(signing.authorization == vector.expected.authorization)

        // botocore leaves host to the HTTP layer; the signer sends it explicitly (first) when absent.
        var sent = signing.headers
        let callerGaveHost = vector.headers.contains { $0[0].lowercased() == "host" }
        if !callerGaveHost {
            let host = try #require(sent.first)
            #expect(host.0 == "host")
            #expect(vector.expected.canonical_request.contains("\nhost:\(host.1)\n"))
            sent.removeFirst()
        }
        #expect(sent.map { [$0.0, $0.1] } == vector.expected.signed_headers)

        // The public one-call API gives the same headers.
        let headersOnly = signer.sign(method: vector.method, url: url, headers: vector.headers.map { ($0[0], $0[1]) },
                                      body: Array(body), credentials: credentials,
                                      date: Date(timeIntervalSince1970: vector.epoch_seconds))
        #expect(headersOnly.map { [$0.0, $0.1] } == signing.headers.map { [$0.0, $0.1] })
    }

    @Test func signingDescriptionHidesSecrets() {
        let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "very-secret-key", sessionToken: "session-token-value")
        let signing = SigV4Signer(service: "outposts", region: "us-west-2").signing(
            method: "GET", url: URL(string: "https://outposts.us-west-2.amazonaws.com/orders/x")!, headers: [],
            body: [], credentials: credentials, date: Date(timeIntervalSince1970: 0))
        #expect(!"\(signing)".contains("very-secret-key"))
        #expect(!"\(signing)".contains("session-token-value"))
    }

    @Test func percentEncodeMatchesAWSUnreservedSet() {
        #expect(SigV4Signer.percentEncode("AZaz09-_.~") == "AZaz09-_.~")
        #expect(SigV4Signer.percentEncode("a b/c+d=é") == "a%20b%2Fc%2Bd%3D%C3%A9")
    }
}
