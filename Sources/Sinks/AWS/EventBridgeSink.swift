import Foundation
import OutpostsAPI
import WatchConfig
import WatchModel

/// An `[[eventbridge]]` sink: each event becomes one PutEvents entry on the configured bus
/// (docs/delivery.md): `Source` = `source`, `DetailType` = the event type, `Detail` = the event's
/// JSON body byte for byte, `Time` = `occurred_at`. Several due events go in one call (up to 10
/// entries and 256 KiB); an entry EventBridge refuses is retried alone.
public struct EventBridgeSink: BatchEventSink, CustomStringConvertible {
    public let settings: EventBridgeSettings
    public let client: EventBridgeClient
    /// Throttling slows the whole sink down, not only the throttled deliveries.
    private let gate = ThrottleGate()

    public init(settings: EventBridgeSettings, client: EventBridgeClient) {
        self.settings = settings
        self.client = client
    }

    public var name: String { settings.common.name }
    public var description: String { "EventBridgeSink(\(name))" }
    public var maxBatchEntries: Int { EventBridgeClient.maxEntries }
    public var maxBatchBytes: Int { EventBridgeClient.maxBytes }

    public func accepts(_ event: Event) -> Bool {
        settings.common.accepts(event.type, orderId: event.order.id)
    }

    /// The PutEvents entry of one event.
    public func entry(for stored: StoredEvent) -> EventBridgeClient.Entry {
        EventBridgeClient.Entry(source: settings.source, detailType: stored.event.type.rawValue,
                                detail: String(decoding: stored.body, as: UTF8.self), time: stored.event.occurredAt,
                                eventBusName: settings.eventBus)
    }

    public func batchSize(of stored: StoredEvent) -> Int { entry(for: stored).size }

    public func send(batch: [StoredEvent]) async -> [SinkOutcome] {
        guard !batch.isEmpty else { return [] }
        let results: [EventBridgeClient.EntryResult]
        await gate.waitTurn()
        do {
            results = try await client.putEvents(batch.map(entry(for:)), timeout: settings.common.timeout)
            await gate.record(throttled: results.contains { $0.errorCode == "ThrottlingException" })
        } catch let error as OutpostsError {
            await gate.record(throttled: error.kind == .throttling)
            if error.kind == .authentication { await client.call.credentials.invalidate() }
            return Array(repeating: .aws(error), count: batch.count)
        } catch {
            return Array(repeating: .retry(status: nil, error: "PutEvents failed: \(type(of: error))", retryAfter: nil),
                         count: batch.count)
        }
        return results.map(Self.outcome)
    }

    /// Entry error codes that no retry can fix: the entry itself is invalid.
    static let invalidEntryCodes: Set<String> = ["MalformedDetail", "InvalidArgument", "ValidationException"]

    /// What one entry of a successful call means: an `EventId` is delivered; an `ErrorCode` is
    /// retried (throttling, internal failures, access to the bus) unless the entry itself is invalid.
    public static func outcome(_ result: EventBridgeClient.EntryResult) -> SinkOutcome {
        guard let code = result.errorCode, !code.isEmpty else { return .delivered(status: 200) }
        let error = "PutEvents entry failed: \(code)" + (result.errorMessage.map { ": \(String($0.prefix(300)))" } ?? "")
        if invalidEntryCodes.contains(code) { return .permanent(status: 200, error: error) }
        return .retry(status: 200, error: error, retryAfter: nil)
    }
}
