import AsyncHTTPClient
import Foundation
import OutpostsAPI
import Testing

/// Tests/python/sigv4_verifier.py, running on a free loopback port for one test.
///
/// The server holds the read end of a pipe as stdin and exits when it closes, so it cannot
/// outlive the test process even if the test crashes.
final class SigV4VerifierProcess: Sendable {
    let port: Int
    private let process: Process
    private let stdin: Pipe

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// - Parameter credentials: `ACCESS_KEY:SECRET[:TOKEN]` pairs the server accepts.
    init(credentials: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", SigV4Botocore.scriptsDirectory.appendingPathComponent("sigv4_verifier.py").path,
                             "--exit-with-stdin"] + credentials.flatMap { ["--credential", $0] }
        let stdout = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardInput = stdin
        process.standardError = FileHandle.standardError
        try process.run()
        // The first line is "LISTENING <port>"; EOF first means it could not start (no botocore).
        // Read it off the cooperative pool: a blocking read there can starve other tests.
        let text = await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            DispatchQueue.global().async {
                var line: [UInt8] = []
                while true {
                    let byte = stdout.fileHandleForReading.readData(ofLength: 1)
                    guard let first = byte.first, first != UInt8(ascii: "\n") else { break }
                    line.append(first)
                }
                continuation.resume(returning: String(decoding: line, as: UTF8.self))
            }
        }
        guard text.hasPrefix("LISTENING "), let port = Int(text.dropFirst("LISTENING ".count)) else {
            try? stdin.fileHandleForWriting.close()
            process.terminate()
            throw SigV4VerifierUnavailable(detail: "sigv4_verifier.py did not start (said \"\(text)\")")
        }
        self.port = port
        self.process = process
        self.stdin = stdin
    }

    /// Closing its stdin makes the server exit; SIGTERM as well, in case it does not read.
    func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
    }

    deinit { stop() }
}

struct SigV4VerifierUnavailable: Error, CustomStringConvertible {
    var detail: String
    var description: String { detail }
}

/// Requests signed by ``SigV4Signer`` and sent over real HTTP, checked by botocore on the other side.
@Suite(.enabled(if: SigV4Botocore.available || SigV4Botocore.required, "python3 with boto3/botocore is not installed (set CI=true to make this a failure)"))
struct SigV4LiveVerifierTests {
    static let token = "FwoGZXIvYXdzEXAMPLE//////////token+with/odd=chars"

    @Test func botocoreIsInstalled() {
        #expect(SigV4Botocore.available, "python3 -c 'import botocore, boto3' must work for the live SigV4 checks")
    }

    /// Signs with SigV4Signer, optionally tampers, sends with AsyncHTTPClient; returns the status.
    private func send(to verifier: SigV4VerifierProcess, path: String, credentials: AWSCredentials,
                      extraHeaders: [(String, String)] = [],
                      tamper: (inout String, inout [(String, String)]) -> Void = { _, _ in }) async throws -> (Int, String?) {
        let url = URL(string: "http://127.0.0.1:\(verifier.port)\(path)")!
        var headers = SigV4Signer(service: "outposts", region: "us-west-2").sign(
            method: "GET", url: url, headers: extraHeaders, body: [], credentials: credentials, date: Date())
        var target = path
        tamper(&target, &headers)
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(verifier.port)\(target)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await ClientTestHTTP.client.execute(request, timeout: .seconds(5))
        _ = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers.first(name: "x-amzn-ErrorType"))
    }

    @Test func acceptsSignedRequestsAndRejectsTamperedOnes() async throws {
        let verifier = try await SigV4VerifierProcess(credentials: ["AKIDLIVE:live-secret", "AKIDTOKEN:token-secret:\(Self.token)"])
        defer { verifier.stop() }
        let good = AWSCredentials(accessKeyId: "AKIDLIVE", secretAccessKey: "live-secret")
        let withToken = AWSCredentials(accessKeyId: "AKIDTOKEN", secretAccessKey: "token-secret", sessionToken: Self.token)
        let odd = "/orders/" + SigV4Signer.percentEncode("oo-a/b c+d%é") + "?b=2&a=" + SigV4Signer.percentEncode("x y/z")
        let custom = [("X-Custom", "  spaced   value "), ("x-custom", "second")]

        // Accepted: plain, odd path/query, session token, duplicate custom headers.
        #expect(try await send(to: verifier, path: "/orders/oo-0123456789abcdef0", credentials: good).0 == 200)
        #expect(try await send(to: verifier, path: odd, credentials: good).0 == 200)
        #expect(try await send(to: verifier, path: "/list-orders?MaxResults=5", credentials: withToken).0 == 200)
        #expect(try await send(to: verifier, path: "/orders/x", credentials: good, extraHeaders: custom).0 == 200)

        // Rejected: each tampering on its own.
        let changedHeader = try await send(to: verifier, path: "/orders/x", credentials: good, extraHeaders: custom) { _, headers in
            if let index = headers.firstIndex(where: { $0.0 == "X-Custom" }) { headers[index].1 = "other value" }
        }
        #expect(changedHeader.0 == 403)
        #expect(changedHeader.1?.hasPrefix("InvalidSignatureException") == true)
        #expect(try await send(to: verifier, path: "/orders/oo-0123456789abcdef0", credentials: good) { target, _ in
            target = "/orders/oo-0123456789abcdef1"
        }.0 == 403)
        #expect(try await send(to: verifier, path: "/list-orders?MaxResults=5", credentials: good) { target, _ in
            target = "/list-orders?MaxResults=6"
        }.0 == 403)
        let wrongSecret = AWSCredentials(accessKeyId: "AKIDLIVE", secretAccessKey: "not-the-secret")
        #expect(try await send(to: verifier, path: "/orders/x", credentials: wrongSecret).0 == 403)
        #expect(try await send(to: verifier, path: "/orders/x", credentials: withToken) { _, headers in
            if let index = headers.firstIndex(where: { $0.0 == "X-Amz-Security-Token" }) { headers[index].1 += "x" }
        }.0 == 403)
        #expect(try await send(to: verifier, path: "/orders/x", credentials: good) { _, headers in
            headers.removeAll { $0.0 == "Authorization" }
        }.0 == 403)
    }

    @Test func clientCallsAreAcceptedByBotocore() async throws {
        let verifier = try await SigV4VerifierProcess(credentials: ["AKIDTOKEN:token-secret:\(Self.token)"])
        defer { verifier.stop() }
        let credentials = StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIDTOKEN", secretAccessKey: "token-secret",
                                                                  sessionToken: Self.token))
        let client = OutpostsClient(endpoint: OutpostsEndpoint(region: "us-west-2", url: verifier.baseURL),
                                    credentials: credentials, httpClient: ClientTestHTTP.client, maxAttempts: 1)

        let order = try await client.getOrder("oo-0123456789abcdef0")
        #expect(order.orderId == "oo-0123456789abcdef0")
        // The verifier echoes the decoded path segment: encoding and signature agree on odd ids.
        let oddId = "oo-a/b c+d%é?#"
        #expect(try await client.getOrder(oddId).orderId == oddId)

        // Two pages; the filter (an ARN with ':' and '/') and the token ('#') are signed as sent.
        let arn = "arn:aws:outposts:us-west-2:123456789012:outpost/op-0123456789abcdef0"
        let all = try await client.listAllOrders(outpostIdentifierFilter: arn)
        #expect(all.count == 4)
        #expect(Set(all.compactMap(\.orderId)).count == 4)
        #expect(all.allSatisfy { $0.outpostId == "op-0123456789abcdef0" })
    }

    @Test func unrecognizedKeyIsRefreshedOnceThenAccepted() async throws {
        // AKID1 is unknown to the server, AKID2 (after invalidate) is accepted.
        let verifier = try await SigV4VerifierProcess(credentials: ["AKID2:secret2:token2"])
        defer { verifier.stop() }
        let credentials = ClientRotatingCredentials()
        let client = OutpostsClient(endpoint: OutpostsEndpoint(region: "us-west-2", url: verifier.baseURL),
                                    credentials: credentials, httpClient: ClientTestHTTP.client)
        _ = try await client.getOrder("oo-0123456789abcdef0")
        #expect(await credentials.invalidations == 1)

        // A key that stays wrong fails as authentication after exactly one refresh.
        let failing = OutpostsClient(endpoint: OutpostsEndpoint(region: "us-west-2", url: verifier.baseURL),
                                     credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "AKID2", secretAccessKey: "wrong", sessionToken: "token2")),
                                     httpClient: ClientTestHTTP.client)
        let error = try await #require(throws: OutpostsError.self) { try await failing.getOrder("oo-0123456789abcdef0") }
        #expect(error.kind == .authentication)
        #expect(error.code == "InvalidSignatureException")
        #expect(!error.description.contains("wrong"))
    }

    @Test func fullBotocoreShapedOrderDecodesLikeBotocoreParsesIt() async throws {
        let sample = try SigV4Botocore.run([SigV4Botocore.scriptsDirectory.appendingPathComponent("sigv4_verifier.py").path,
                                       "--print-sample", "GetOrder"])
        try #require(sample.status == 0)
        let document = try #require(try JSONSerialization.jsonObject(with: sample.output) as? [String: Any])
        let parsed = try #require((document["parsed"] as? [String: Any])?["Order"])

        let verifier = try await SigV4VerifierProcess(credentials: ["AKIDLIVE:live-secret"])
        defer { verifier.stop() }
        let client = OutpostsClient(endpoint: OutpostsEndpoint(region: "us-west-2", url: verifier.baseURL),
                                    credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIDLIVE", secretAccessKey: "live-secret")),
                                    httpClient: ClientTestHTTP.client)
        let order = try await client.getOrder("oo-0123456789abcdef0")

        // Re-encoding what we decoded must give botocore's parse back, member for member: a model
        // member missing from Order (or misnamed) shows up here.
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        let ours = try JSONSerialization.jsonObject(with: encoder.encode(order))
        #expect(sigV4CanonicalJSON(ours) == sigV4CanonicalJSON(parsed))
        #expect(order.lineItems?.count == 2)
        #expect(order.lineItems?.first?.assetInformationList?.first?.macAddressList?.count == 2)
        #expect(order.orderSubmissionDate != nil && order.orderFulfilledDate != nil)
    }
}

/// JSON with sorted keys and numbers as doubles, so two decoders' outputs compare exactly.
func sigV4CanonicalJSON(_ value: Any) -> String {
    switch value {
    case let dictionary as [String: Any]:
        return "{" + dictionary.keys.sorted().map { "\"\($0)\":" + sigV4CanonicalJSON(dictionary[$0]!) }.joined(separator: ",") + "}"
    case let array as [Any]:
        return "[" + array.map(sigV4CanonicalJSON).joined(separator: ",") + "]"
    case let string as String:
        return "\"\(string)\""
    case let number as NSNumber:
        return String(number.doubleValue)
    default:
        return "null"
    }
}
