import AsyncHTTPClient
import Crypto
import Foundation
import OutpostsAPI
import Support
import WatchConfig
import WatchModel

#if canImport(Glibc)
import Glibc
#endif

/// A webhook secret could not be resolved. The message names the sink and the source, never
/// the secret's content.
public struct WebhookSecretError: Error, Sendable, CustomStringConvertible {
    public var sink: String
    public var reason: String
    /// The sink's kind as the config names it (`webhook`, `pagerduty`).
    public var kind = "webhook"

    public var description: String { "\(kind) \"\(sink)\": \(reason)" }
}

/// Turns a configured ``SecretSource`` into the HMAC key bytes.
public enum WebhookSecret {
    /// The key for a sink, or `nil` when it has no secret (unsigned deliveries).
    ///
    /// `whsec_…` secrets are base64 after the prefix (Standard Webhooks); anything else is used
    /// as its UTF-8 bytes. Files and systemd credentials lose their trailing line breaks, which
    /// editors and `echo` add (the one trimming rule of ``SystemdCredentials``).
    public static func resolve(_ source: SecretSource?, sinkName: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [UInt8]? {
        guard let source else { return nil }
        let secret = try SecretText.read(source, sinkName: sinkName, environment: environment)
        return try key(from: secret.text, sinkName: sinkName, origin: secret.origin)
    }

    /// The HMAC key a secret string stands for.
    public static func key(from secret: String, sinkName: String, origin: String = "secret") throws -> [UInt8] {
        if secret.hasPrefix("whsec_") {
            var encoded = String(secret.dropFirst("whsec_".count))
            // Some providers hand out unpadded base64; the reference libraries accept it too.
            while encoded.count % 4 != 0 { encoded += "=" }
            guard let decoded = Data(base64Encoded: encoded), !decoded.isEmpty else {
                throw WebhookSecretError(sink: sinkName, reason: "\(origin): the part after whsec_ is not valid base64")
            }
            return Array(decoded)
        }
        guard !secret.isEmpty else { throw WebhookSecretError(sink: sinkName, reason: "\(origin) is empty") }
        return Array(secret.utf8)
    }
}

/// Standard Webhooks signatures (https://www.standardwebhooks.com).
public enum WebhookSignature {
    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    public static func sign(id: String, timestamp: Int, body: some DataProtocol, key: [UInt8]) -> String {
        var content = Data("\(id).\(timestamp).".utf8)
        content.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }
}

/// `Retry-After` (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date.
public enum RetryAfter {
    /// The delay the header asks for, never negative; `nil` when it cannot be read.
    public static func parse(_ value: String, now: Date) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed) { return .seconds(max(0, seconds)) }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: trimmed) {
                let millis = Int64((date.timeIntervalSince(now) * 1000).rounded())
                return .milliseconds(max(0, millis))
            }
        }
        return nil
    }
}

/// A `[[webhook]]` sink: POSTs each event, signed the Standard Webhooks way.
///
/// One attempt per ``send(_:)``: the dispatcher decides about retries, so every attempt is
/// re-signed with a fresh `webhook-timestamp` (receivers reject ones older than 5 minutes).
public struct WebhookSink: EventSink, CustomStringConvertible, CustomDebugStringConvertible {
    public var name: String { settings.name }
    public let settings: WebhookSettings
    private let key: [UInt8]?
    private let client: any HTTPTransport
    private let userAgent: String
    private let now: @Sendable () -> Date

    /// `User-Agent` when the caller names no version.
    public static let defaultUserAgent = "outpostwatch/" + OutpostwatchVersion.string
    /// How much of an error response is read for the attempt's error text.
    public static let responseBodyCap = 4096

    /// - Parameters:
    ///   - secret: the key from ``WebhookSecret/resolve(_:sinkName:environment:)``; `nil` sends unsigned.
    ///   - client: shared; create it with ``makeHTTPRoutes(environment:)`` (or ``makeHTTPClient()``)
    ///     so redirects are not followed.
    public init(settings: WebhookSettings, secret: [UInt8]?, httpClient client: any HTTPTransport,
                userAgent: String = WebhookSink.defaultUserAgent, now: @escaping @Sendable () -> Date = Date.init) {
        self.settings = settings
        self.key = secret
        self.client = client
        self.userAgent = userAgent
        self.now = now
    }

    /// The HTTP clients of the process (AWS calls and sinks share their connection pools): one
    /// per route, direct or through the proxy of `HTTPS_PROXY`/`HTTP_PROXY` unless `NO_PROXY`
    /// says otherwise (``HTTPRoutes``). Throws ``ProxyEnvironment/ParseError`` for an unusable
    /// proxy variable. `connectionsPerHost`: at least the most requests sent to one host at once
    /// (`[poll] concurrency`, a sink's `concurrency`), see ``HTTPRoutes``.
    public static func makeHTTPRoutes(environment: [String: String],
                                      connectionsPerHost: Int = HTTPRoutes.defaultConnectionsPerHost) throws -> HTTPRoutes {
        HTTPRoutes(proxies: try ProxyEnvironment(environment: environment), configuration: clientConfiguration,
                   connectionsPerHost: connectionsPerHost)
    }

    /// One direct client with the same configuration (tests, benchmarks).
    public static func makeHTTPClient() -> HTTPClient {
        HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    }

    /// Redirects are answers, not followed (a 3xx from a webhook is retried, and a signed body
    /// is never replayed to another host). A refused connection fails the attempt at once instead
    /// of being retried inside the client until the connect timeout, kept short (2 s), so a
    /// receiver that is down costs seconds: the dispatcher does the backing off, and records it.
    static var clientConfiguration: HTTPClient.Configuration {
        var pool = HTTPClient.Configuration.ConnectionPool()
        pool.retryConnectionEstablishment = false
        return HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2)),
                                        connectionPool: pool, decompression: .disabled)
    }

    // The key must never reach a log line through string interpolation of the sink.
    public var description: String { "WebhookSink(\(settings.name))" }
    public var debugDescription: String { description }

    /// The request body for an event in this sink's format: `json` is the body committed with
    /// the event, byte for byte.
    public func body(for stored: StoredEvent) throws -> Data {
        switch settings.format {
        case .json:
            return stored.body
        case .slack:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return try encoder.encode(["text": EventText.slackText(stored.event)])
        case .teams:
            return try TeamsCard.body(stored.event)
        }
    }

    /// The headers of one attempt: configured ones first, then the ones outpostwatch owns.
    public func headers(for event: Event, body: Data, timestamp: Int) -> [(String, String)] {
        var headers: [(String, String)] = [("content-type", "application/json"), ("user-agent", userAgent)]
        for (name, value) in settings.headers.sorted(by: { $0.key < $1.key }) {
            headers.removeAll { $0.0 == name.lowercased() }
            headers.append((name.lowercased(), value))
        }
        let signatureHeaders = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        headers.removeAll { signatureHeaders.contains($0.0) }
        headers.append(("webhook-id", event.id))
        headers.append(("webhook-timestamp", String(timestamp)))
        if let key {
            headers.append(("webhook-signature",
                            WebhookSignature.sign(id: event.id, timestamp: timestamp, body: body, key: key)))
        }
        return headers
    }

    public func accepts(_ event: Event) -> Bool {
        settings.accepts(event.type, orderId: event.order.id)
    }

    public func send(_ stored: StoredEvent) async -> SinkOutcome {
        let event = stored.event
        let body: Data
        do {
            body = try self.body(for: stored)
        } catch {
            return .permanent(status: nil, error: "cannot encode the event: \(error)")
        }
        let timestamp = Int(now().timeIntervalSince1970.rounded(.down))
        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        for (name, value) in headers(for: event, body: body, timestamp: timestamp) {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(Array(body))

        do {
            let response = try await client.send(request, timeout: .milliseconds(settings.timeout.milliseconds))
            let status = Int(response.status.code)
            // Read a little (for the error text) and stop: a receiver cannot make us buffer megabytes.
            var excerpt: [UInt8] = []
            for try await chunk in response.body {
                excerpt.append(contentsOf: chunk.readableBytesView.prefix(Self.responseBodyCap - excerpt.count))
                if excerpt.count >= Self.responseBodyCap { break }
            }
            return Self.classify(status: status, retryAfterHeader: response.headers.first(name: "retry-after"),
                                 body: excerpt, now: now())
        } catch {
            return .retry(status: nil, error: describe(error), retryAfter: nil)
        }
    }

    /// How a receiver's answer maps to an outcome (docs/delivery.md).
    public static func classify(status: Int, retryAfterHeader: String?, body: [UInt8], now: Date) -> SinkOutcome {
        if (200..<300).contains(status) { return .delivered(status: status) }
        let text = String(decoding: body, as: UTF8.self)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
        let error = "HTTP \(status)" + (text.isEmpty ? "" : ": " + String(text.prefix(300)))
        if status == 410 { return .gone(status: status, error: error) }
        let retryAfter = retryAfterHeader.flatMap { RetryAfter.parse($0, now: now) }
        return .retry(status: status, error: error, retryAfter: retryAfter)
    }

    /// One short line for a transport failure (``TransportError``, which never quotes the URL:
    /// Slack-style URLs carry their secret in the path); a timeout says the configured bound.
    private func describe(_ error: any Error) -> String {
        switch TransportError.kind(of: error) {
        case .timeout: return "timed out: no answer within \(settings.timeout.seconds.formattedSeconds)"
        default: return TransportError.describe(error)
        }
    }
}
