import Foundation
import WatchModel
import WatchStore

/// A sink whose receiver takes several events in one call (EventBridge PutEvents): the delivery
/// worker hands it the due rows in groups within its limits, and it answers one outcome per
/// event, so an event the receiver refused is retried alone while its siblings are recorded
/// delivered (docs/delivery.md).
public protocol BatchEventSink: EventSink {
    /// Events per call at most.
    var maxBatchEntries: Int { get }
    /// Bytes per call at most, as the receiver counts them (``batchSize(of:)``).
    var maxBatchBytes: Int { get }
    /// What one event counts against ``maxBatchBytes``.
    func batchSize(of stored: StoredEvent) -> Int
    /// One call carrying every event; exactly one outcome per event, in order. Must not throw.
    func send(batch: [StoredEvent]) async -> [SinkOutcome]
}

extension BatchEventSink {
    /// A single event is a batch of one.
    public func send(_ stored: StoredEvent) async -> SinkOutcome {
        await send(batch: [stored]).first ?? .retry(status: nil, error: "no outcome for the event", retryAfter: nil)
    }

    /// How the delivery state machine groups this sink's rows.
    var grouping: DeliveryStateMachine.Grouping {
        DeliveryStateMachine.Grouping(maxEntries: maxBatchEntries, maxBytes: maxBatchBytes,
                                      size: { [self] in batchSize(of: $0.stored) })
    }
}
