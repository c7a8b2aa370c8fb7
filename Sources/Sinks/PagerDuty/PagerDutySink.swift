import AsyncHTTPClient
import Foundation
import OutpostsAPI
import Support
import WatchConfig
import WatchModel

/// A `[[pagerduty]]` sink: each event that opens or closes an incident (``PagerDutyIncidents``)
/// becomes one or more Events API v2 calls (docs/delivery.md). 202 is success; 429 and 5xx are
/// retried (`Retry-After` honoured); any other answer fails the delivery with PagerDuty's error.
/// The routing key is never logged or shown.
public struct PagerDutySink: EventSink, CustomStringConvertible, CustomDebugStringConvertible {
    public let settings: PagerDutySettings
    private let routingKey: String
    private let client: any HTTPTransport
    private let now: @Sendable () -> Date

    public init(settings: PagerDutySettings, routingKey: String, httpClient: any HTTPTransport,
                now: @escaping @Sendable () -> Date = Date.init) {
        self.settings = settings
        self.routingKey = routingKey
        self.client = httpClient
        self.now = now
    }

    public var name: String { settings.common.name }
    /// Incidents pair up by dedup key: a resolve that overtook its trigger would leave the
    /// incident open, so one order's events go out in sequence (docs/delivery.md).
    public var deliversInOrder: Bool { true }
    // The routing key must never reach a log line through string interpolation of the sink.
    public var description: String { "PagerDutySink(\(name))" }
    public var debugDescription: String { description }

    public func accepts(_ event: Event) -> Bool {
        settings.common.accepts(event.type, orderId: event.order.id) && !PagerDutyIncidents.actions(for: event).isEmpty
    }

    public func send(_ stored: StoredEvent) async -> SinkOutcome {
        let actions = PagerDutyIncidents.actions(for: stored.event)
        // test-sink's event opens no incident: it resolves the order's stall key, which is harmless.
        var last: SinkOutcome = .delivered(status: 202)
        for action in actions {
            last = await send(action, stored: stored)
            // The calls are idempotent by dedup key: a retry sends them all again.
            guard last.isDelivered else { return last }
        }
        return last
    }

    private func send(_ action: PagerDutyIncidents.Action, stored: StoredEvent) async -> SinkOutcome {
        let body: Data
        do {
            body = try PagerDutyIncidents.body(action, stored: stored, routingKey: routingKey)
        } catch {
            return .permanent(status: nil, error: "cannot encode the event: \(error)")
        }
        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: WebhookSink.defaultUserAgent)
        request.body = .bytes(Array(body))
        do {
            let response = try await client.send(request, timeout: .milliseconds(settings.common.timeout.milliseconds))
            var excerpt: [UInt8] = []
            for try await chunk in response.body {
                excerpt.append(contentsOf: chunk.readableBytesView.prefix(WebhookSink.responseBodyCap - excerpt.count))
                if excerpt.count >= WebhookSink.responseBodyCap { break }
            }
            return redacted(Self.classify(status: Int(response.status.code),
                                          retryAfterHeader: response.headers.first(name: "retry-after"),
                                          body: excerpt, now: now()))
        } catch {
            let text = TransportError.kind(of: error) == .timeout
                ? "timed out: no answer within \(settings.common.timeout.seconds.formattedSeconds)"
                : TransportError.describe(error)
            return .retry(status: nil, error: text, retryAfter: nil)
        }
    }

    /// PagerDuty's answer as an outcome: 2xx delivered, 429 and 5xx retried, other statuses
    /// (400 invalid event, 401/403/404) fail with PagerDuty's `message` and `errors`.
    public static func classify(status: Int, retryAfterHeader: String?, body: [UInt8], now: Date) -> SinkOutcome {
        if (200..<300).contains(status) { return .delivered(status: status) }
        var text = ""
        if let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            let parts = [json["message"] as? String] + ((json["errors"] as? [Any])?.map { "\($0)" } ?? [])
            text = parts.compactMap { $0 }.joined(separator: "; ")
        } else {
            text = String(decoding: body, as: UTF8.self)
        }
        text = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        let error = "HTTP \(status)" + (text.isEmpty ? "" : ": " + String(text.prefix(300)))
        if status == 429 || status >= 500 {
            return .retry(status: status, error: error,
                          retryAfter: retryAfterHeader.flatMap { RetryAfter.parse($0, now: now) })
        }
        return .permanent(status: status, error: error)
    }

    /// An error text with the routing key masked, should a receiver echo it.
    private func redacted(_ outcome: SinkOutcome) -> SinkOutcome {
        guard let error = outcome.error, !routingKey.isEmpty, error.contains(routingKey) else { return outcome }
        let masked = error.replacingOccurrences(of: routingKey, with: "***")
        switch outcome {
        case .retry(let status, _, let after): return .retry(status: status, error: masked, retryAfter: after)
        case .permanent(let status, _): return .permanent(status: status, error: masked)
        case .gone(let status, _): return .gone(status: status, error: masked)
        case .delivered: return outcome
        }
    }
}
