import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OutpostsAPI
import Testing

/// A request as the loopback server saw it.
struct ClientSeenRequest: Sendable {
    var method: String
    /// The request target exactly as sent (path and query, percent-encoded).
    var target: String
    var headers: [(String, String)]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The access key id of the SigV4 Authorization header.
    var accessKeyId: String? {
        guard let auth = header("authorization"), let range = auth.range(of: "Credential=") else { return nil }
        return String(auth[range.upperBound...].prefix { $0 != "/" })
    }
}

/// What the scripted server answers to one request.
struct ScriptedAnswer: Sendable {
    var status: Int = 200
    var headers: [(String, String)] = [("content-type", "application/json")]
    var body: [UInt8] = []
    /// Wait before sending the response head.
    var headDelay: Duration?
    /// Send the first half of the body, wait this long, then the rest.
    var midBodyDelay: Duration?

    static func json(_ text: String, status: Int = 200, headers: [(String, String)] = []) -> ScriptedAnswer {
        ScriptedAnswer(status: status, headers: [("content-type", "application/json")] + headers, body: Array(text.utf8))
    }

    /// An AWS rest-json error answer.
    static func awsError(status: Int, code: String?, message: String = "scripted failure",
                         viaHeader: Bool = true, extraBody: String = "") -> ScriptedAnswer {
        var headers: [(String, String)] = [("x-amzn-RequestId", "req-\(status)")]
        var body = "{\"message\":\"\(message)\"\(extraBody)"
        if let code {
            if viaHeader {
                headers.append(("x-amzn-ErrorType", "\(code):http://internal.amazon.com/coral/com.amazonaws.outposts/"))
            } else {
                body += ",\"__type\":\"com.amazonaws.outposts#\(code)\""
            }
        }
        return .json(body + "}", status: status, headers: headers)
    }
}

/// Requests seen so far, in order.
actor ClientRequestLog {
    private(set) var requests: [ClientSeenRequest] = []
    func append(_ request: ClientSeenRequest) -> Int {
        requests.append(request)
        return requests.count
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 (free port) answering each request from a script.
final class ScriptedServer: Sendable {
    let port: Int
    let log: ClientRequestLog
    private let task: Task<Void, any Error>

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }
    var requests: [ClientSeenRequest] { get async { await log.requests } }

    /// - Parameter answer: called with the request and its 1-based number.
    init(_ answer: @escaping @Sendable (ClientSeenRequest, Int) async -> ScriptedAnswer) async throws {
        let log = ClientRequestLog()
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let recorded = ClientSeenRequest(method: request.method.rawValue, target: request.uri.string,
                                           headers: [("host", request.head.authority ?? "")] + request.headers.map { ($0.name.rawName, $0.value) })
            let number = await log.append(recorded)
            let scripted = await answer(recorded, number)
            if let delay = scripted.headDelay { try? await Task.sleep(for: delay) }
            var fields = HTTPFields()
            for (name, value) in scripted.headers {
                if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
            }
            let bytes = scripted.body
            let body: ResponseBody
            if let pause = scripted.midBodyDelay {
                body = ResponseBody(contentLength: bytes.count) { writer in
                    let half = bytes.count / 2
                    try await writer.write(ByteBuffer(bytes: bytes[..<half]))
                    try? await Task.sleep(for: pause)
                    try await writer.write(ByteBuffer(bytes: bytes[half...]))
                    try await writer.finish(nil)
                }
            } else {
                body = ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
            }
            return Response(status: .init(code: scripted.status), headers: fields, body: body)
        }
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "scripted-server")
        logger.logLevel = .critical
        let app = Application(responder: responder,
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
                                  portContinuation.yield(channel.localAddress?.port ?? 0)
                                  portContinuation.finish()
                              },
                              logger: logger)
        self.task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = portStream.makeAsyncIterator()
        self.port = await iterator.next() ?? 0
        self.log = log
        #expect(port > 0, "the loopback server started")
    }

    func stop() { task.cancel() }
    deinit { task.cancel() }
}

/// A provider that hands out numbered key pairs: `AKID1` until invalidated, then `AKID2`…
actor ClientRotatingCredentials: CredentialProvider {
    private(set) var generation = 1
    private(set) var invalidations = 0
    private(set) var fetches = 0

    func credentials() async throws -> AWSCredentials {
        fetches += 1
        return AWSCredentials(accessKeyId: "AKID\(generation)", secretAccessKey: "secret\(generation)",
                              sessionToken: "token\(generation)")
    }

    func invalidate() async {
        invalidations += 1
        generation += 1
    }
}

/// A provider that never has credentials.
struct ClientNoCredentials: CredentialProvider {
    func credentials() async throws -> AWSCredentials {
        throw CredentialError(source: "test", message: "nothing configured")
    }
    func invalidate() async {}
}

/// Counts throttle notifications from any thread.
final class ClientCounter: Sendable {
    private let box = ClientCounterBox()
    func increment() { box.increment() }
    var value: Int { box.value }
}

private final class ClientCounterBox: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// The test-wide HTTP client (one event loop group, shared like the daemon's).
enum ClientTestHTTP {
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(2))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Retries without waiting: tests count attempts, they do not measure jitter.
    static let instantBackoff = RetryBackoff(scale: .milliseconds(1), maxBackoff: .milliseconds(1), random: { 0 })

    static func client(for server: ScriptedServer, credentials: any CredentialProvider = ClientRotatingCredentials(),
                       timeout: Duration = .seconds(5), maxAttempts: Int = 3,
                       onThrottle: OutpostsClient.ThrottleObserver? = nil) -> OutpostsClient {
        OutpostsClient(endpoint: OutpostsEndpoint(region: "us-west-2", url: server.baseURL), credentials: credentials,
                       httpClient: client, requestTimeout: timeout, maxAttempts: maxAttempts,
                       onThrottle: onThrottle, applicationVersion: "9.9.9-test", backoff: instantBackoff)
    }
}

/// Locates python3 with botocore for the tests that check against botocore live.
enum SigV4Botocore {
    /// `CI=true`: a missing python3/botocore must fail the test instead of skipping it.
    static let required = ProcessInfo.processInfo.environment["CI"] == "true"

    static let available: Bool = {
        (try? run(["-c", "import botocore, boto3"]).status) == 0
    }()

    /// Tests/python, found from this source file.
    static let scriptsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("python")

    static func run(_ arguments: [String]) throws -> (status: Int32, output: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}

/// A loopback TCP port that refuses connections for as long as this value lives: bound but not
/// listening, so no other server (of a test running in parallel) can take it over, as it could a
/// port merely found free and closed again.
final class RefusingPort {
    let port: Int
    private let fd: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else {
            close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        fd = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
