import Foundation

/// An event together with the JSON body it was committed as (docs/events.md): what the outbox
/// holds and what every sink sends. The body is encoded once, at commit; a webhook sends it byte
/// for byte, journald and chat formats read the decoded value.
public struct StoredEvent: Sendable, Equatable {
    public let event: Event
    /// ``EventJSON`` of ``event``, as stored.
    public let body: Data

    public init(event: Event, body: Data) {
        self.event = event
        self.body = body
    }

    /// An event that was never stored (a `test-sink` event): encoded here.
    public init(encoding event: Event) throws {
        self.init(event: event, body: try EventJSON.encode(event))
    }
}
