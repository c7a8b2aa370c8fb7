import Foundation
import WatchModel

/// The synthetic event of `outpostwatch test-sink`: obviously a test, shaped like a real one.
public enum TestEvent {
    /// An order id no real order has (the pattern's all-zero value).
    public static let orderId = "oo-00000000000000000"

    /// A fresh `order.status_changed` event for the all-zero order, labelled as a test.
    public static func make(now: Date = Date()) -> Event {
        // Whole seconds, like the timestamps AWS sends.
        Event(type: .orderStatusChanged, sequence: 0, occurredAt: Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)),
              order: OrderRef(id: orderId, outpostId: "op-00000000000000000",
                              label: "outpostwatch test event (not a real order)", status: "IN_PROGRESS"),
              change: Change(field: .status, from: .string("PREPARING"), to: .string("IN_PROGRESS")))
    }
}

/// Sends one synthetic event through a sink, signed and shaped like real ones (`test-sink`).
/// Nothing is stored: the outcome is the answer.
public func sendTestEvent(sink: any EventSink) async -> SinkOutcome {
    await sink.send(TestEvent.make())
}
