import Foundation
import WatchModel

/// A destination for events: journald, a webhook. One small notifier per integration; what
/// every integration shares (retries, outcome policy, routing) lives outside them.
///
/// The dispatcher calls ``send(_:)`` once per delivery attempt and turns the outcome into
/// the next state of the delivery row; a sink never retries by itself, so every attempt is
/// recorded in the store and survives a restart.
public protocol EventSink: Sendable {
    /// The name deliveries are routed by (`journald`, or the webhook's `name`).
    var name: String { get }
    /// Attempts in flight at most when the config names no `concurrency`.
    var defaultConcurrency: Int { get }
    /// Whether this sink takes the event (its `events` and `orders` filters).
    func accepts(_ event: Event) -> Bool
    /// Whether the receiver needs one order's events in sequence (PagerDuty: a resolve must not
    /// overtake its trigger): an event then waits while an earlier one of its order is pending.
    var deliversInOrder: Bool { get }
    /// One attempt to hand over the event, as committed (a webhook sends its body byte for
    /// byte). Must not throw: every failure is an outcome.
    func send(_ event: StoredEvent) async -> SinkOutcome
}

extension EventSink {
    public var defaultConcurrency: Int { 4 }
    public func accepts(_ event: Event) -> Bool { true }
    public var deliversInOrder: Bool { false }

    /// Sends an event that was never stored (`test-sink`): encoded here, once.
    public func send(_ event: Event) async -> SinkOutcome {
        do {
            return await send(try StoredEvent(encoding: event))
        } catch {
            return .permanent(status: nil, error: "cannot encode the event: \(error)")
        }
    }
}

/// How one attempt to hand an event to a sink ended.
public enum SinkOutcome: Sendable, Equatable {
    /// The receiver took it (2xx, or journald accepted the entry).
    case delivered(status: Int)
    /// Worth trying again later; `retryAfter` is the receiver's own wish (`Retry-After`).
    case retry(status: Int?, error: String, retryAfter: Duration?)
    /// The receiver is gone for good (HTTP 410): every pending delivery of the sink fails.
    case gone(status: Int, error: String)
    /// Retrying this event cannot help (e.g. it cannot be encoded): this delivery fails.
    case permanent(status: Int?, error: String)

    /// Whether the receiver accepted the event.
    public var isDelivered: Bool {
        if case .delivered = self { return true }
        return false
    }

    /// The HTTP status of the attempt, when there was one.
    public var status: Int? {
        switch self {
        case .delivered(let status): return status
        case .retry(let status, _, _): return status
        case .gone(let status, _): return status
        case .permanent(let status, _): return status
        }
    }

    /// The error text of a failed attempt (already free of secrets), `nil` when delivered.
    public var error: String? {
        switch self {
        case .delivered: return nil
        case .retry(_, let error, _), .gone(_, let error), .permanent(_, let error): return error
        }
    }
}
