import Foundation
import OutpostsAPI
import WatchConfig
import WatchModel

/// An `[[sns]]` sink: one Publish per event to a standard or FIFO topic (docs/delivery.md).
public struct SNSSink: EventSink, CustomStringConvertible {
    public let settings: SNSSettings
    public let client: SNSClient
    /// Throttling slows the whole sink down, not only the throttled deliveries.
    private let gate = ThrottleGate()

    public init(settings: SNSSettings, client: SNSClient) {
        self.settings = settings
        self.client = client
    }

    public var name: String { settings.common.name }
    public var description: String { "SNSSink(\(name))" }

    public func accepts(_ event: Event) -> Bool {
        settings.common.accepts(event.type, orderId: event.order.id)
    }

    public func send(_ stored: StoredEvent) async -> SinkOutcome {
        let message: SNSClient.Message
        do {
            message = try SNSMessageBuilder.message(for: stored, topicArn: settings.topicArn, fifo: settings.isFIFO)
        } catch {
            return .permanent(status: nil, error: "cannot encode the event: \(error)")
        }
        await gate.waitTurn()
        do {
            _ = try await client.publish(message, timeout: settings.common.timeout)
            await gate.record(throttled: false)
            return .delivered(status: 200)
        } catch let error as OutpostsError {
            await gate.record(throttled: error.kind == .throttling)
            if error.kind == .authentication { await client.call.credentials.invalidate() }
            return .aws(error)
        } catch {
            return .retry(status: nil, error: "Publish failed: \(type(of: error))", retryAfter: nil)
        }
    }
}
