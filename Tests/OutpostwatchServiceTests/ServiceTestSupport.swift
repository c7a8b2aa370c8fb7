import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OutpostwatchService
import Synchronization
import Testing

let orderA = "oo-0123456789abcdef0"
let orderB = "oo-0123456789abcdef1"
let orderC = "oo-0123456789abcdef2"

/// A fresh directory under the system temp dir, removed when `body` ends.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("service-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}

/// Writes `text` to `path`, readable by its owner only (so an inline secret draws no warning).
func writeFile(_ path: String, _ text: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
}

/// The calls `CommandFailure` makes: runs `body`, returns the failure it throws (or records an issue).
func commandFailure(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> CommandFailure? {
    do {
        try await body()
        Issue.record("expected a CommandFailure, nothing was thrown", sourceLocation: sourceLocation)
    } catch let failure as CommandFailure {
        return failure
    } catch {
        Issue.record("expected a CommandFailure, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Collects every log message, so a test can check what the daemon said.
final class LogCapture: Sendable {
    private let entries = Mutex<[(level: Logger.Level, message: String)]>([])

    var logger: Logger {
        var logger = Logger(label: "service-test") { _ in CapturingHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    func append(_ level: Logger.Level, _ message: String) {
        entries.withLock { $0.append((level, message)) }
    }

    /// The messages logged at `level`, in order.
    func messages(_ level: Logger.Level) -> [String] {
        entries.withLock { $0.filter { $0.level == level }.map(\.message) }
    }

    func reset() { entries.withLock { $0.removeAll() } }
}

struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        capture.append(event.level, event.message.description)
    }
}

/// A webhook receiver on 127.0.0.1 (free port) that answers 200 and counts what it got.
final class WebhookReceiver: Sendable {
    let port: Int
    private let received = Mutex<[String]>([])
    private let task = Mutex<Task<Void, any Error>?>(nil)

    /// Request bodies, in order.
    var bodies: [String] { received.withLock { $0 } }
    var url: String { "http://127.0.0.1:\(port)/hook" }

    private init(port: Int) { self.port = port }

    static func start() async throws -> WebhookReceiver {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let box = Mutex<WebhookReceiver?>(nil)
        let router = Router()
        router.post("**") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            box.withLock { $0 }?.received.withLock { $0.append(String(buffer: body)) }
            return Response(status: .ok)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
                                  continuation.yield(channel.localAddress?.port ?? -1)
                                  continuation.finish()
                              },
                              logger: Logger(label: "receiver", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw ReceiverError()
        }
        let receiver = WebhookReceiver(port: port)
        receiver.task.withLock { $0 = task }
        box.withLock { $0 = receiver }
        return receiver
    }

    func stop() async {
        let task = self.task.withLock { $0 }
        task?.cancel()
        _ = try? await task?.value
    }
}

struct ReceiverError: Error {}
