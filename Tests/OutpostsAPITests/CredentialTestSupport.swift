import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import OutpostsAPI
import Logging
import Testing

/// One request as a fake endpoint saw it.
struct CredRecordedRequest: Sendable {
    var method: String
    /// Path and query as sent.
    var uri: String
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The form fields of an `application/x-www-form-urlencoded` body.
    var formFields: [String: String] {
        var fields: [String: String] = [:]
        for pair in bodyText.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            fields[key] = value
        }
        return fields
    }
}

/// What a fake endpoint answers.
struct CredFakeAnswer: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: String = ""

    static func json(_ body: String, status: Int = 200) -> CredFakeAnswer {
        CredFakeAnswer(status: status, headers: [("Content-Type", "application/json")], body: body)
    }
}

/// A real HTTP server on 127.0.0.1 (port chosen by the kernel) that records every request and
/// answers with a handler: the stand-in for IMDS, the ECS endpoint and STS in these tests.
final class CredFakeServer: Sendable {
    typealias Handler = @Sendable (CredRecordedRequest) async -> CredFakeAnswer

    private let recorded = CredLocked<[CredRecordedRequest]>([])
    let port: Int

    private init(port: Int) {
        self.port = port
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var requests: [CredRecordedRequest] { recorded.withLock { $0 } }

    fileprivate func record(_ request: CredRecordedRequest) {
        recorded.withLock { $0.append(request) }
    }

    /// Runs `body` while the server is up, and stops it afterwards.
    static func with(_ handler: @escaping Handler, _ body: (CredFakeServer) async throws -> Void) async throws {
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let serverBox = CredLocked<CredFakeServer?>(nil)
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let bodyBuffer = try await request.body.collect(upTo: 1 << 20)
            let recordedRequest = CredRecordedRequest(
                method: request.method.rawValue, uri: request.uri.description,
                headers: request.headers.map { ($0.name.rawName, $0.value) },
                body: Array(bodyBuffer.readableBytesView))
            serverBox.withLock { $0 }?.record(recordedRequest)
            let answer = await handler(recordedRequest)
            var fields = HTTPFields()
            for (name, value) in answer.headers {
                if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
            }
            return Response(status: HTTPResponse.Status(code: answer.status), headers: fields,
                            body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
        }
        var logger = Logger(label: "fake-server")
        logger.logLevel = .critical
        let app = Application(responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let task = Task { try await app.run() }
        defer { task.cancel() }
        guard let port = await ports.first(where: { _ in true }), port > 0 else {
            throw CredentialError(source: "test", message: "fake server did not start")
        }
        let server = CredFakeServer(port: port)
        serverBox.withLock { $0 = server }
        try await body(server)
        task.cancel()
        _ = await task.result
    }
}

/// A value behind a lock, shareable between tasks.
final class CredLocked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A fresh directory under the system temp dir, removed by `remove()`.
struct CredTempDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "outpostwatch-cred-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `contents` at `name` (sub-directories created) and returns the full path.
    @discardableResult
    func write(_ name: String, _ contents: String, mode: Int = 0o600) throws -> String {
        let full = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: full))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
        return full
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Shared test fixtures.
enum CredentialFixtures {
    static let httpClient = HTTPClient.shared

    /// An environment with nothing AWS in it: HOME points into `dir` (so no real ~/.aws is read)
    /// and instance metadata is off, so a test never waits on 169.254.169.254.
    /// IMDS timeouts are generous: the fakes answer at once, but a loaded 2-core test machine may not.
    static func environment(home dir: CredTempDir, _ extra: [String: String] = [:]) -> [String: String] {
        var env = ["HOME": dir.path, "AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin",
                   "AWS_METADATA_SERVICE_TIMEOUT": "10"]
        env.merge(extra) { _, new in new }
        return env
    }

    /// An STS XML answer with these credentials.
    static func stsAnswer(action: String, accessKeyId: String, secret: String, token: String, expiration: String) -> CredFakeAnswer {
        CredFakeAnswer(status: 200, headers: [("Content-Type", "text/xml")], body: """
        <\(action)Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <\(action)Result>
            <AssumedRoleUser>
              <AssumedRoleId>AROA123EXAMPLE:outpostwatch</AssumedRoleId>
              <Arn>arn:aws:sts::123456789012:assumed-role/Role/outpostwatch</Arn>
            </AssumedRoleUser>
            <Credentials>
              <AccessKeyId>\(accessKeyId)</AccessKeyId>
              <SecretAccessKey>\(secret)</SecretAccessKey>
              <SessionToken>\(token)</SessionToken>
              <Expiration>\(expiration)</Expiration>
            </Credentials>
          </\(action)Result>
          <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
        </\(action)Response>
        """)
    }

    static func stsError(code: String, message: String, status: Int = 403) -> CredFakeAnswer {
        CredFakeAnswer(status: status, headers: [("Content-Type", "text/xml")], body: """
        <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <Error><Type>Sender</Type><Code>\(code)</Code><Message>\(message)</Message></Error>
          <RequestId>8a1b2c3d</RequestId>
        </ErrorResponse>
        """)
    }

    /// ISO-8601 for `date`, as AWS writes expirations.
    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// Asserts the error names `source` and does not contain any of `secrets`.
    static func expectSafeError(_ error: any Error, mentions fragments: [String], secrets: [String],
                                sourceLocation: SourceLocation = #_sourceLocation) {
        let text = "\(error)" + String(reflecting: error)
        for fragment in fragments {
            #expect(text.contains(fragment), "error \"\(error)\" should mention \"\(fragment)\"", sourceLocation: sourceLocation)
        }
        for secret in secrets {
            #expect(!text.contains(secret), "error leaks a secret: \(error)", sourceLocation: sourceLocation)
        }
    }
}

/// Runs the Python helpers of Tests/python (botocore as the oracle).
enum CredPythonOracle {
    /// Tests/python, found from this source file's location.
    static let scriptsDirectory: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("python").path
    }()

    /// Whether python3 with botocore can run here.
    static let available: Bool = {
        (try? run(["-c", "import botocore"], stdin: Data()))?.status == 0
    }()

    /// True under CI, where a missing oracle is a failure rather than a skip.
    static var required: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Tests needing botocore run when it is installed, and also under CI=true (and then fail
    /// loudly in `run` if it is not).
    static var enabled: Bool { available || required }

    /// Blocking; call from `script`, which keeps it off the cooperative thread pool.
    static func run(_ arguments: [String], stdin: Data) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        // stderr is drained on its own thread so a chatty script cannot block on a full pipe.
        let errorText = CredLocked(Data())
        let drained = DispatchSemaphore(value: 0)
        let errorHandle = errors.fileHandleForReading
        DispatchQueue.global().async {
            let data = errorHandle.readDataToEndOfFile()
            errorText.withLock { $0 = data }
            drained.signal()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self),
                String(decoding: errorText.withLock { $0 }, as: UTF8.self))
    }

    /// Runs a script of Tests/python; a missing interpreter or botocore is a test failure here.
    /// Blocking work (a Python process) runs on a dispatch thread: blocking one of the few
    /// cooperative threads would stall the loopback servers and clients of concurrent tests.
    static func script(_ name: String, arguments: [String] = [], stdin: Data = Data()) async throws -> (status: Int32, stdout: String, stderr: String) {
        guard available else {
            Issue.record("python3 with botocore is required (CI=true) but not available")
            throw CredentialError(source: "test", message: "python3/botocore missing")
        }
        let path = (scriptsDirectory as NSString).appendingPathComponent(name)
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try run([path] + arguments, stdin: stdin) })
            }
        }
    }

    /// Checks with botocore that `request` carries a valid SigV4 signature by these credentials.
    static func verifySignature(of request: CredRecordedRequest, url: String, credentials: AWSCredentials,
                                region: String, service: String) async throws -> String {
        let payload: [String: Any?] = [
            "method": request.method, "url": url, "headers": request.headers.map { [$0.0, $0.1] },
            "body": request.bodyText, "access_key": credentials.accessKeyId, "secret_key": credentials.secretAccessKey,
            "token": credentials.sessionToken, "region": region, "service": service,
        ]
        let data = try JSONSerialization.data(withJSONObject: payload.mapValues { $0 ?? NSNull() })
        let result = try await script("fake_sts_signature_check.py", stdin: data)
        return (result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
