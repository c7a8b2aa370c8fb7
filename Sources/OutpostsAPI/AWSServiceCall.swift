import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// One SigV4-signed POST to an AWS service, answered or failed, never retried: the base of the
/// EventBridge and SNS clients, whose callers (the delivery worker) decide about retries and
/// record every attempt.
public struct AWSServiceCall: Sendable {
    /// The signing name: `events`, `sns`.
    public let service: String
    public let endpoint: OutpostsEndpoint
    public let credentials: any CredentialProvider
    private let httpClient: any HTTPTransport
    private let signer: SigV4Signer
    private let userAgent: String

    /// Largest answer read (a PutEvents answer for 10 entries is well under 4 KiB).
    public static let maxResponseBytes = 256 * 1024

    public init(service: String, endpoint: OutpostsEndpoint, credentials: any CredentialProvider,
                httpClient: any HTTPTransport, applicationVersion: String) {
        self.service = service
        self.endpoint = endpoint
        self.credentials = credentials
        self.httpClient = httpClient
        self.signer = SigV4Signer(service: service, region: endpoint.region)
        self.userAgent = "outpostwatch/\(applicationVersion) md/\(service) lang/swift os/linux"
    }

    /// The provider's current credentials, or an ``OutpostsError`` of kind `.credentials` saying
    /// why there are none (the one place AWS calls turn a credential failure into an error).
    static func credentials(from provider: any CredentialProvider) async throws -> AWSCredentials {
        do {
            return try await provider.credentials()
        } catch let error as CredentialError {
            throw OutpostsError(kind: .credentials, message: error.description)
        } catch {
            throw OutpostsError(kind: .credentials, message: "no AWS credentials: \(type(of: error))")
        }
    }

    /// An answer of any status, fully read.
    public struct Response: Sendable {
        public var status: Int
        public var reason: String
        public var headers: [(String, String)]
        public var body: Data
    }

    /// POSTs `body` to the endpoint's root, signed. Throws ``OutpostsError`` of kind
    /// `.credentials`, `.timeout`, `.network` or `.invalidResponse` (oversized answer) when no
    /// answer could be had; any answer, error statuses included, is returned.
    public func post(body: [UInt8], headers: [(String, String)], timeout: Duration,
                     operation: String) async throws -> Response {
        let current = try await Self.credentials(from: credentials)
        var base = endpoint.url.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base + "/") else {
            throw OutpostsError(kind: .validation, message: "cannot form a request URL for \(operation)")
        }
        let signed = signer.sign(method: "POST", url: url, headers: headers + [("User-Agent", userAgent)],
                                 body: body, credentials: current, date: Date())
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        do {
            let response = try await httpClient.execute(request, deadline: .now() + TimeAmount(timeout), logger: nil)
            let status = Int(response.status.code)
            let collected: ByteBuffer
            do {
                collected = try await response.body.collect(upTo: Self.maxResponseBytes)
            } catch is NIOTooManyBytesError {
                throw OutpostsError(kind: .invalidResponse,
                                    message: "\(operation) answer is larger than \(Self.maxResponseBytes) bytes",
                                    statusCode: status)
            }
            return Response(status: status, reason: response.status.reasonPhrase,
                            headers: response.headers.map { ($0.name, $0.value) }, body: Data(buffer: collected))
        } catch let error as OutpostsError {
            throw error
        } catch {
            throw OutpostsClient.transportError(error, operation: operation, elapsed: .zero)
        }
    }
}
