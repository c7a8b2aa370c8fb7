import AsyncHTTPClient
import Foundation
import Sinks
import Testing
import WatchConfig
import WatchModel

/// Runs a program with `input` on stdin; returns its exit status and outputs.
func runProcess(_ executable: String, _ arguments: [String], input: Data = Data()) throws
    -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(input)
    try stdin.fileHandleForWriting.close()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// Asks the `standardwebhooks` reference library whether a captured request verifies.
/// Returns the parsed body on success, `nil` when the library rejects it.
func verifyWithStandardWebhooks(secret: String? = nil, key: [UInt8]? = nil, request: ReceivedRequest) throws -> String? {
    var document: [String: Any] = [
        "headers": request.headers.filter { $0.key.hasPrefix("webhook-") },
        "body_b64": Data(request.body).base64EncodedString(),
    ]
    if let secret { document["secret"] = secret }
    if let key { document["secret_bytes_b64"] = Data(key).base64EncodedString() }
    let script = repositoryRoot.appendingPathComponent("Tests/python/webhook_verify.py").path
    let result = try runProcess("/usr/bin/env", ["python3", script],
                                input: try JSONSerialization.data(withJSONObject: document))
    switch result.status {
    case 0: return result.stdout
    case 1: return nil
    default: throw TestFailure("webhook_verify.py failed (\(result.status)): \(result.stderr)")
    }
}

/// Whether python3 has the reference library (`pip install standardwebhooks`).
let standardWebhooksInstalled: Bool = {
    (try? runProcess("/usr/bin/env", ["python3", "-c", "import standardwebhooks"]).status) == 0
}()

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = Date()) { current = start }

    var now: Date { lock.withLock { current } }

    func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }

    func set(_ date: Date) { lock.withLock { current = date } }
}

@Suite("Webhook sink")
struct WebhookTests {
    /// A `whsec_` secret of 24 random bytes, as Standard Webhooks providers issue them.
    static func randomSecret() -> String {
        "whsec_" + Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    @Test("signatures verify with the standardwebhooks reference library",
          .enabled(if: standardWebhooksInstalled || runningInCI,
                   "python3 -m pip install standardwebhooks (required when CI=true)"))
    func signatureInterop() async throws {
        #expect(standardWebhooksInstalled, "standardwebhooks is missing: pip install standardwebhooks")
        let receiver = try await TestReceiver.start()
        defer { Task { await receiver.stop() } }
        let secret = Self.randomSecret()
        let key = try #require(try WebhookSecret.resolve(.inline(secret), sinkName: "ops", environment: [:]))
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: receiver.url), secret: key,
                               httpClient: sharedHTTPClient)
        let event = shippedEvent()
        #expect(await sink.send(event) == .delivered(status: 200))

        let request = try #require(await receiver.log.waitFor(1).first)
        let verified = try #require(try verifyWithStandardWebhooks(secret: secret, request: request),
                                    "the reference library rejected our signature")
        let decoded = try JSONSerialization.jsonObject(with: Data(verified.utf8)) as? [String: Any]
        #expect(decoded?["id"] as? String == event.id)

        // The oracle must be able to say no: a changed body or a wrong secret fails.
        var tampered = request
        tampered.body = Array(request.bodyText.replacingOccurrences(of: "SHIPPED", with: "DELIVERED").utf8)
        #expect(try verifyWithStandardWebhooks(secret: secret, request: tampered) == nil)
        #expect(try verifyWithStandardWebhooks(secret: Self.randomSecret(), request: request) == nil)

        // A plain (non-whsec) secret is used as its UTF-8 bytes.
        let plainKey = try #require(try WebhookSecret.resolve(.inline("plain s3cret"), sinkName: "p", environment: [:]))
        #expect(plainKey == Array("plain s3cret".utf8))
        let plainSink = WebhookSink(settings: WebhookSettings(name: "p", url: receiver.url), secret: plainKey,
                                    httpClient: sharedHTTPClient)
        #expect(await plainSink.send(event).isDelivered)
        let plainRequest = try #require(await receiver.log.waitFor(2).last)
        #expect(try verifyWithStandardWebhooks(key: plainKey, request: plainRequest) != nil)
    }

    @Test("headers and JSON body follow docs/delivery.md")
    func headersAndBody() async throws {
        let receiver = try await TestReceiver.start()
        defer { Task { await receiver.stop() } }
        let settings = WebhookSettings(name: "ops", url: receiver.url,
                                       headers: ["X-Team": "infra", "webhook-id": "forged", "Authorization": "Bearer t0k"])
        let key = Array("k".utf8)
        let sink = WebhookSink(settings: settings, secret: key, httpClient: sharedHTTPClient, userAgent: "outpostwatch/9.9")
        let event = shippedEvent()
        let before = Int(Date().timeIntervalSince1970)
        #expect(await sink.send(event) == .delivered(status: 200))
        let after = Int(Date().timeIntervalSince1970)
        let request = try #require(await receiver.log.waitFor(1).first)

        #expect(request.method == "POST")
        #expect(request.path == "/hook")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["user-agent"] == "outpostwatch/9.9")
        #expect(request.headers["x-team"] == "infra")
        #expect(request.headers["authorization"] == "Bearer t0k")
        #expect(request.headers["webhook-id"] == event.id, "configured headers cannot replace the signature headers")
        let timestamp = try #require(request.headers["webhook-timestamp"].flatMap(Int.init))
        #expect((before...after).contains(timestamp))
        #expect(request.body == Array(try EventJSON.encode(event)))
        #expect(request.headers["webhook-signature"]
            == WebhookSignature.sign(id: event.id, timestamp: timestamp, body: request.body, key: key))
        #expect(WebhookSink.defaultUserAgent == "outpostwatch/" + OutpostwatchVersion.string)
    }

    @Test("every attempt is signed afresh with the current timestamp")
    func resignedEveryAttempt() async throws {
        let receiver = try await TestReceiver.start()
        defer { Task { await receiver.stop() } }
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let key = Array("resign".utf8)
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: receiver.url), secret: key,
                               httpClient: sharedHTTPClient, now: { clock.now })
        let event = shippedEvent()
        _ = await sink.send(event)
        clock.advance(by: 90)
        _ = await sink.send(event)
        let requests = await receiver.log.waitFor(2)
        try #require(requests.count == 2)
        #expect(requests.map { $0.headers["webhook-timestamp"] } == ["1800000000", "1800000090"])
        #expect(requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"])
        #expect(requests[0].headers["webhook-signature"] != requests[1].headers["webhook-signature"])
        for request in requests {
            #expect(request.headers["webhook-signature"] == WebhookSignature.sign(
                id: event.id, timestamp: Int(request.headers["webhook-timestamp"]!)!, body: request.body, key: key))
        }
    }

    @Test("a sink without a secret sends no signature")
    func unsigned() async throws {
        let receiver = try await TestReceiver.start()
        defer { Task { await receiver.stop() } }
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: receiver.url), secret: nil,
                               httpClient: sharedHTTPClient)
        #expect(await sink.send(shippedEvent()).isDelivered)
        let request = try #require(await receiver.log.waitFor(1).first)
        #expect(request.headers["webhook-signature"] == nil)
        #expect(request.headers["webhook-id"] != nil && request.headers["webhook-timestamp"] != nil)
    }

    @Test("format slack posts a readable one-line text")
    func slackBody() async throws {
        let receiver = try await TestReceiver.start()
        defer { Task { await receiver.stop() } }
        let sink = WebhookSink(settings: WebhookSettings(name: "chat", url: receiver.url, format: .slack),
                               secret: nil, httpClient: sharedHTTPClient)
        #expect(await sink.send(shippedEvent()).isDelivered)
        let request = try #require(await receiver.log.waitFor(1).first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: String])
        #expect(object == ["text": "Order oo-0123456789abcdef0 (Seattle rack 2) line item li-1234: BUILDING → SHIPPED (UPS 1Z999AA10123456784)"])

        var cancelled = shippedEvent()
        cancelled.order.label = "<!channel> & co"
        cancelled.change = Change(field: .status, from: .string("SHIPPED"), to: .string("CANCELLED"))
        #expect(EventText.slackText(cancelled)
            == ":warning: Order oo-0123456789abcdef0 (&lt;!channel&gt; &amp; co) line item li-1234: SHIPPED → CANCELLED (UPS 1Z999AA10123456784)")
    }

    @Test("answers map to outcomes: 2xx, 410, Retry-After, other errors, redirects not followed")
    func outcomes() async throws {
        let receiver = try await TestReceiver.start { request, _ in
            switch request.path {
            case "/ok": return .status(204)
            case "/gone": return .status(410, body: "hook deleted")
            case "/throttled": return .status(429, headers: ["Retry-After": "7"])
            case "/unavailable": return .status(503, headers: ["Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"])
            case "/broken": return .status(500, body: String(repeating: "x", count: 100_000))
            case "/moved": return .status(302, headers: ["Location": "/ok"])
            default: return .status(404)
            }
        }
        defer { Task { await receiver.stop() } }
        func outcome(_ path: String) async -> SinkOutcome {
            await WebhookSink(settings: WebhookSettings(name: "t", url: "http://127.0.0.1:\(receiver.port)\(path)"),
                              secret: nil, httpClient: sharedHTTPClient).send(shippedEvent())
        }
        #expect(await outcome("/ok") == .delivered(status: 204))
        #expect(await outcome("/gone") == .gone(status: 410, error: "HTTP 410: hook deleted"))
        #expect(await outcome("/throttled") == .retry(status: 429, error: "HTTP 429", retryAfter: .seconds(7)))
        guard case .retry(503, _, let dateDelay?) = await outcome("/unavailable") else {
            Issue.record("503 with an HTTP-date Retry-After must be a retry with a delay")
            return
        }
        #expect(dateDelay > .seconds(86400 * 365 * 50))
        guard case .retry(500, let error, nil) = await outcome("/broken") else {
            Issue.record("500 must be a retry")
            return
        }
        #expect(error.hasPrefix("HTTP 500: xxx") && error.count < 400, "the error keeps a short excerpt of the body")

        let requestsBefore = await receiver.log.requests.count
        #expect(await outcome("/moved") == .retry(status: 302, error: "HTTP 302", retryAfter: nil))
        let paths = await receiver.log.requests.dropFirst(requestsBefore).map(\.path)
        #expect(paths == ["/moved"], "the redirect is not followed")
    }

    @Test("network errors and timeouts are retries, without the URL in the error")
    func networkErrors() async throws {
        // A port with nothing listening: bind one, then stop it.
        let gone = try await TestReceiver.start()
        await gone.stop()
        let secretPath = "/services/T000/B000/XXXXsecretpath"
        let refused = await WebhookSink(
            settings: WebhookSettings(name: "t", url: "http://127.0.0.1:\(gone.port)\(secretPath)"),
            secret: nil, httpClient: sharedHTTPClient).send(shippedEvent())
        guard case .retry(nil, let error, nil) = refused else {
            Issue.record("connection refused must be a retry, got \(refused)")
            return
        }
        #expect(!error.contains(secretPath))

        let hanging = try await TestReceiver.start { _, _ in .hang }
        defer { Task { await hanging.stop() } }
        let start = ContinuousClock.now
        let timedOut = await WebhookSink(
            settings: WebhookSettings(name: "t", url: hanging.url, timeout: .milliseconds(300)),
            secret: nil, httpClient: sharedHTTPClient).send(shippedEvent())
        let elapsed = ContinuousClock.now - start
        guard case .retry(nil, _, nil) = timedOut else {
            Issue.record("a timeout must be a retry, got \(timedOut)")
            return
        }
        #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(15))
    }

    @Test("Retry-After: delay-seconds and HTTP-date")
    func retryAfterParsing() {
        let now = Date(timeIntervalSince1970: 1_445_412_450)   // Wed, 21 Oct 2015 07:27:30 GMT
        #expect(RetryAfter.parse("120", now: now) == .seconds(120))
        #expect(RetryAfter.parse(" 0 ", now: now) == .seconds(0))
        #expect(RetryAfter.parse("-5", now: now) == .seconds(0))
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", now: now) == .seconds(30))
        #expect(RetryAfter.parse("Wednesday, 21-Oct-15 07:28:00 GMT", now: now) == .seconds(30))
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:00:00 GMT", now: now) == .seconds(0))
        #expect(RetryAfter.parse("soon", now: now) == nil)
    }

    @Test("secrets resolve from config, files and systemd credentials; errors never show them")
    func secretResolution() throws {
        let raw: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let whsec = "whsec_" + Data(raw).base64EncodedString()
        #expect(try WebhookSecret.resolve(.inline(whsec), sinkName: "a", environment: [:]) == raw)
        // Unpadded base64 after the prefix is accepted, like the reference libraries do.
        let unpadded = whsec.trimmingCharacters(in: CharacterSet(charactersIn: "="))
        #expect(try WebhookSecret.resolve(.inline(unpadded), sinkName: "a", environment: [:]) == raw)
        #expect(try WebhookSecret.resolve(nil, sinkName: "a", environment: [:]) == nil)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("ops.secret")
        try Data((whsec + "\n").utf8).write(to: file)
        #expect(try WebhookSecret.resolve(.file(file.path), sinkName: "ops", environment: [:]) == raw)
        try Data("plain-secret\r\n".utf8).write(to: file)
        #expect(try WebhookSecret.resolve(.file(file.path), sinkName: "ops", environment: [:]) == Array("plain-secret".utf8))

        try Data("cred-secret\n".utf8).write(to: dir.appendingPathComponent("webhook-ops"))
        #expect(try WebhookSecret.resolve(.systemdCredential("webhook-ops"), sinkName: "ops",
                                          environment: ["CREDENTIALS_DIRECTORY": dir.path]) == Array("cred-secret".utf8))

        let missing = dir.appendingPathComponent("nope").path
        let error = #expect(throws: WebhookSecretError.self) {
            try WebhookSecret.resolve(.file(missing), sinkName: "ops", environment: [:])
        }
        #expect(error?.description == "webhook \"ops\": secret_file \(missing) does not exist")
        #expect(throws: WebhookSecretError.self) {
            try WebhookSecret.resolve(.systemdCredential("webhook-ops"), sinkName: "ops", environment: [:])
        }
        let badBase64 = "whsec_!!not*base64!!hunter2"
        let decodeError = #expect(throws: WebhookSecretError.self) {
            try WebhookSecret.resolve(.inline(badBase64), sinkName: "ops", environment: [:])
        }
        #expect(decodeError.map { !$0.description.contains("hunter2") } ?? false)
        #expect(throws: WebhookSecretError.self) {
            try WebhookSecret.resolve(.inline(""), sinkName: "ops", environment: [:])
        }
    }

    @Test("a sink never prints its key")
    func descriptionHidesKey() {
        let key = Array("super-secret-key".utf8)
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: "http://127.0.0.1:1/hook"), secret: key,
                               httpClient: sharedHTTPClient)
        #expect(!"\(sink)".contains("super-secret-key"))
        #expect(!String(reflecting: sink).contains("super-secret-key"))
        #expect("\(sink)" == "WebhookSink(ops)")
    }

    @Test("test-sink sends a clearly marked synthetic event")
    func testEvent() async throws {
        let receiver = try await TestReceiver.start()
        defer { Task { await receiver.stop() } }
        let key = Array("t".utf8)
        let sink = WebhookSink(settings: WebhookSettings(name: "ops", url: receiver.url), secret: key,
                               httpClient: sharedHTTPClient)
        #expect(await sendTestEvent(sink: sink) == .delivered(status: 200))
        let request = try #require(await receiver.log.waitFor(1).first)
        let event = try EventJSON.decode(Data(request.body))
        #expect(event.type == .orderStatusChanged)
        #expect(event.order.id == "oo-00000000000000000")
        #expect(event.order.label?.contains("test") == true)
        let timestamp = try #require(request.headers["webhook-timestamp"].flatMap(Int.init))
        #expect(request.headers["webhook-signature"]
            == WebhookSignature.sign(id: event.id, timestamp: timestamp, body: request.body, key: key))
    }
}
