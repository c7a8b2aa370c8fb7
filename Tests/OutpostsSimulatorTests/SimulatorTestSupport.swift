import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OutpostsAPI
import OutpostsSimulator
import Synchronization
import Testing

/// A wall clock the test moves by hand, so simulator speed is checked without sleeping.
final class HandMovedClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_764_331_200)) {
        current = Mutex(start)
    }

    var now: Date { current.withLock { $0 } }

    func move(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    var simulatorClock: SimulatorClock { SimulatorClock { self.now } }
}

enum SimulatorServerError: Error {
    case stoppedBeforeListening
}

/// Runs `simulator` on a free loopback port for the duration of `body`.
func withRunningSimulator<T: Sendable>(_ simulator: OutpostsSimulator,
                                       _ body: (_ baseURL: String) async throws -> T) async throws -> T {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let server = Task {
        // Finishing the stream turns a server that fails to start into an error, not a hang.
        defer { continuation.finish() }
        try await simulator.run(host: "127.0.0.1", port: 0) { port in continuation.yield(port) }
    }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else {
        _ = try await server.value
        throw SimulatorServerError.stoppedBeforeListening
    }
    do {
        let result = try await body("http://127.0.0.1:\(port)")
        server.cancel()
        _ = await server.result
        return result
    } catch {
        server.cancel()
        _ = await server.result
        throw error
    }
}

/// A syntactically valid SigV4 header set (the simulator checks form, not the signature).
func signedHeaders(date: Date = Date(), accessKeyId: String = "AKIDEXAMPLE", region: String = "us-west-2",
                   service: String = "outposts", signedHeaderNames: String = "host;x-amz-date",
                   signature: String = String(repeating: "5d", count: 32)) -> [(String, String)] {
    let amzDate = amzDateString(date)
    let scope = "\(accessKeyId)/\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    return [
        ("X-Amz-Date", amzDate),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=\(scope), SignedHeaders=\(signedHeaderNames), Signature=\(signature)"),
    ]
}

func amzDateString(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    return formatter.string(from: date)
}

/// One HTTP exchange's outcome, body collected.
struct HTTPAnswer: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: Data

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The body as a JSON object; nil when it is not one.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }
}

/// Sends one request over loopback with AsyncHTTPClient.
func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: Data? = nil,
          timeout: TimeAmount = .seconds(10)) async throws -> HTTPAnswer {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: timeout)
    let collected = try await response.body.collect(upTo: 8 << 20)
    return HTTPAnswer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                      body: Data(collected.readableBytesView))
}

/// A GetOrder as a signed client would send it.
func getOrder(_ baseURL: String, _ orderId: String) async throws -> HTTPAnswer {
    try await send(.GET, "\(baseURL)/orders/\(orderId)", headers: signedHeaders())
}

/// Decodes a wire-format order from a GetOrder body.
func decodeOrder(_ body: Data) throws -> Order {
    struct Output: Decodable {
        var order: Order
        enum CodingKeys: String, CodingKey { case order = "Order" }
    }
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .secondsSince1970
    return try decoder.decode(Output.self, from: body).order
}
