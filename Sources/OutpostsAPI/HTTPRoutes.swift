import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOSSL
import Support

/// What sends outpostwatch's HTTP requests: an `HTTPClient`, or ``HTTPRoutes`` (the daemon's).
public protocol HTTPTransport: Sendable {
    func execute(_ request: HTTPClientRequest, deadline: NIODeadline, logger: Logger?) async throws
        -> HTTPClientResponse
    /// Sends a bodiless request and reads its whole answer (at most `maxBodyBytes` of body),
    /// everything bounded by `deadline` (see ``HTTPClient/exchange(_:deadline:maxBodyBytes:)``).
    func exchange(_ request: HTTPClient.Request, deadline: NIODeadline, maxBodyBytes: Int) async throws
        -> HTTPExchangeResponse
    /// The client that never goes through a proxy: EC2 instance metadata and ECS container
    /// credentials are link-local and must not leave the host.
    var directClient: HTTPClient { get }
}

extension HTTPClient: HTTPTransport {
    public var directClient: HTTPClient { self }
}

/// The HTTP clients of the process, one per route (docs/configuration.md, "Proxies and private
/// CAs"): AsyncHTTPClient sets a proxy per client, so a proxied request and a direct one need
/// different clients. This is the one place that picks: by the request's scheme and host, from
/// ``ProxyEnvironment`` (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`). A value can also carry
/// extra trusted roots (``trusting(caBundle:)``), applied to each https request it sends.
public struct HTTPRoutes: HTTPTransport {
    public let direct: HTTPClient
    private let viaHTTPS: HTTPClient?
    private let viaHTTP: HTTPClient?
    public let proxies: ProxyEnvironment
    /// Set by ``trusting(caBundle:)``: the system roots plus a bundle's.
    public private(set) var tlsConfiguration: TLSConfiguration?
    private let owned: Bool

    /// Connections per host each client may keep open when the caller does not say
    /// (AsyncHTTPClient's own default is 8, which made `[poll] concurrency = 16` behave as 8).
    public static let defaultConnectionsPerHost = 16

    /// Clients for `proxies`, all with `configuration` (redirects, timeouts, pool).
    /// - Parameter connectionsPerHost: the least number of connections per host each client
    ///   keeps (the pool's soft limit; a larger one in `configuration` stays): at least the most
    ///   requests the process sends to one host at once, e.g. `[poll] concurrency`.
    public init(proxies: ProxyEnvironment, configuration: HTTPClient.Configuration,
                connectionsPerHost: Int = HTTPRoutes.defaultConnectionsPerHost) {
        var configuration = configuration
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit =
            max(configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit, connectionsPerHost)
        func client(_ proxy: ProxyEnvironment.Proxy?) -> HTTPClient? {
            guard let proxy else { return nil }
            var proxied = configuration
            // CONNECT carries Proxy-Authorization; AsyncHTTPClient never logs it.
            let authorization = proxy.username.map {
                HTTPClient.Authorization.basic(username: $0, password: proxy.password ?? "")
            }
            proxied.proxy = .server(host: proxy.host, port: proxy.port, authorization: authorization)
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: proxied)
        }
        self.proxies = proxies
        self.direct = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.viaHTTPS = client(proxies.https)
        // One proxy for both schemes (the usual case) is one client.
        self.viaHTTP = proxies.http == proxies.https && proxies.http != nil ? viaHTTPS : client(proxies.http)
        self.owned = true
    }

    /// Direct-only routes around an existing client (not owned: ``shutdown()`` leaves it).
    public init(client: HTTPClient) {
        self.proxies = ProxyEnvironment()
        self.direct = client
        self.viaHTTPS = nil
        self.viaHTTP = nil
        self.owned = false
    }

    public var directClient: HTTPClient { direct }

    /// The client a request to `url` goes through.
    public func client(for url: URL) -> HTTPClient {
        // Without a proxy client there is nothing to choose (NO_PROXY is not even read): with
        // only extra trust roots (AWS_CA_BUNDLE) every request used to evaluate NO_PROXY.
        guard viaHTTPS != nil || viaHTTP != nil, let proxy = proxies.proxy(for: url) else { return direct }
        if url.scheme?.lowercased() == "https", proxy == proxies.https, let viaHTTPS { return viaHTTPS }
        return viaHTTP ?? direct
    }

    /// Whether every request goes through `direct` as it is: no proxy, no extra trust roots
    /// (then a request's URL need not be parsed to route it).
    private var directOnly: Bool { viaHTTPS == nil && viaHTTP == nil && tlsConfiguration == nil }

    public func execute(_ request: HTTPClientRequest, deadline: NIODeadline, logger: Logger?) async throws
        -> HTTPClientResponse {
        if directOnly { return try await direct.execute(request, deadline: deadline, logger: logger) }
        guard let url = URL(string: request.url) else {
            return try await direct.execute(request, deadline: deadline, logger: logger)
        }
        var request = request
        if let tlsConfiguration, request.tlsConfiguration == nil, url.scheme?.lowercased() == "https" {
            request.tlsConfiguration = tlsConfiguration
        }
        return try await client(for: url).execute(request, deadline: deadline, logger: logger)
    }

    public func exchange(_ request: HTTPClient.Request, deadline: NIODeadline, maxBodyBytes: Int) async throws
        -> HTTPExchangeResponse {
        if directOnly { return try await direct.exchange(request, deadline: deadline, maxBodyBytes: maxBodyBytes) }
        var request = request
        if let tlsConfiguration, request.tlsConfiguration == nil, request.url.scheme?.lowercased() == "https" {
            request.tlsConfiguration = tlsConfiguration
        }
        return try await client(for: request.url).exchange(request, deadline: deadline, maxBodyBytes: maxBodyBytes)
    }

    /// The same routes, trusting the certificates of a PEM bundle besides the system's roots;
    /// `nil` changes nothing. Throws ``CABundleError`` for a bundle that holds no certificate.
    public func trusting(caBundle path: String?) throws -> HTTPRoutes {
        guard let path else { return self }
        var copy = self
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.certificates(try CABundle.load(path))]
        copy.tlsConfiguration = tls
        return copy
    }

    /// Closes every client.
    public func shutdown() async throws {
        for client in uniqueClients { try? await client.shutdown() }
    }

    /// Starts closing every client without waiting: for a synchronous caller that gives up
    /// (a config error at start), which may run on an event loop, where blocking is refused
    /// (docs/service.md, threads).
    public func shutdownWithoutWaiting() {
        for client in uniqueClients { client.shutdown { _ in } }
    }

    private var uniqueClients: [HTTPClient] {
        guard owned else { return [] }
        var seen: [HTTPClient] = []
        for client in [direct, viaHTTPS, viaHTTP].compactMap({ $0 }) where !seen.contains(where: { $0 === client }) {
            seen.append(client)
        }
        return seen
    }
}

/// A PEM file of extra trusted certificates (`AWS_CA_BUNDLE`, `ca_bundle`).
public enum CABundle {
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "CA bundle \(path): \(reason)" }
    }

    /// Every certificate of the file; throws when it is missing, unreadable or holds none.
    public static func load(_ path: String) throws -> [NIOSSLCertificate] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw LoadError(path: path, reason: "does not exist")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw LoadError(path: path, reason: "is not readable")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw LoadError(path: path, reason: "is not a PEM file of certificates (\(error))")
        }
        guard !certificates.isEmpty else {
            throw LoadError(path: path, reason: "holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        return certificates
    }
}

extension HTTPTransport {
    /// Sends a request that must be answered within `timeout`.
    public func send(_ request: HTTPClientRequest, timeout: Duration) async throws -> HTTPClientResponse {
        try await execute(request, deadline: .now() + TimeAmount(timeout), logger: nil)
    }

    /// This transport trusting a PEM bundle's certificates besides the system roots on https;
    /// `nil` returns it unchanged. A plain client becomes direct-only ``HTTPRoutes`` around it.
    public func trusting(caBundle path: String?) throws -> any HTTPTransport {
        guard let path else { return self }
        let routes = (self as? HTTPRoutes) ?? HTTPRoutes(client: directClient)
        return try routes.trusting(caBundle: path)
    }
}

extension CABundle {
    /// The bundle AWS requests trust: `[aws] ca_bundle`, else `AWS_CA_BUNDLE` (as botocore reads
    /// it, but adding to the system roots instead of replacing them).
    public static func awsPath(configured: String?, environment: [String: String]) -> String? {
        if let configured, !configured.isEmpty { return configured }
        if let path = environment["AWS_CA_BUNDLE"], !path.isEmpty { return path }
        return nil
    }
}
