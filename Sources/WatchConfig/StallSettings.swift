/// `[stall.order]` and `[stall.line_item]` (docs/configuration.md): how long an order or a line
/// item may stay in a status before an `order.stalled` / `line_item.stalled` event. Statuses are
/// taken as written, known or not (AWS adds values); no entry means no stall detection for it.
public struct StallSettings: Sendable, Equatable {
    /// How long a stay may last, and the text it was written as (`"45d"`, carried in the event).
    public struct Threshold: Sendable, Equatable {
        public var duration: Duration
        public var text: String

        public init(_ duration: Duration, text: String) {
            self.duration = duration
            self.text = text
        }
    }

    /// Order status → threshold.
    public var order: [String: Threshold]
    /// Line-item status → threshold.
    public var lineItem: [String: Threshold]

    public init(order: [String: Threshold] = [:], lineItem: [String: Threshold] = [:]) {
        self.order = order
        self.lineItem = lineItem
    }

    /// Whether any threshold is configured.
    public var isEmpty: Bool { order.isEmpty && lineItem.isEmpty }
}
