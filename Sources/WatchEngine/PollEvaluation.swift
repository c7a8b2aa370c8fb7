import Foundation
import OutpostsAPI
import WatchModel
import WatchStore

/// How one GetOrder call for a watched order ended, as far as watching is concerned.
public enum PollResult: Sendable, Equatable {
    /// A 200 answer (not yet validated: an invalid body still becomes a failed poll).
    case order(Order)
    /// `NotFoundException`: the order is gone for this account.
    case notFound
    /// Anything else that went wrong, described without secrets.
    case failed(String)
    /// The API asked us to slow down: not the order's fault, retried later, never a failure.
    case throttled

    /// The result a thrown error stands for: ``OutpostsError`` kinds `.notFound` and `.throttling`
    /// keep their meaning, every other error is a failed poll.
    public static func from(_ error: any Error) -> PollResult {
        if let error = error as? OutpostsError {
            switch error.kind {
            case .notFound: return .notFound
            case .throttling: return .throttled
            default: return .failed(error.description)
            }
        }
        if let error = error as? InvalidOrderError { return .failed(error.description) }
        return .failed(String(describing: error))
    }
}

/// Decides what one poll result does to a watched order: the state to store and the events to
/// emit (docs/events.md: first_seen, changes, not_found once, failing / recovered).
///
/// Pure, like ``OrderDiff``: everything it needs is the stored ``WatchedOrder``, so a restarted
/// daemon continues exactly where the stored state says it was.
public enum PollEvaluation {
    /// - Parameter tracking: the templates that give every shipment an event carries its tracking
    ///   URL, so the committed body holds the link (docs/events.md).
    /// - Returns: the commit for the store, or `nil` for a throttled poll (nothing to record: the
    ///   order is retried and its failure count is untouched).
    public static func evaluate(watched: WatchedOrder, outcome: PollResult, failingAfter: Int,
                                tracking: TrackingTemplates = .builtIn, at: Date) -> PollCommit? {
        guard var commit = evaluateUnlinked(watched: watched, outcome: outcome, failingAfter: failingAfter, at: at) else {
            return nil
        }
        commit.events = commit.events.map { $0.linkingShipments(tracking) }
        return commit
    }

    private static func evaluateUnlinked(watched: WatchedOrder, outcome: PollResult, failingAfter: Int, at: Date) -> PollCommit? {
        switch outcome {
        case .throttled:
            return nil
        case .failed(let message):
            return failed(watched, message: message, failingAfter: failingAfter, at: at)
        case .notFound:
            var events = recovery(watched, at: at)
            if !watched.notFound {
                events.append(Event(type: .orderNotFound, occurredAt: at, order: lastKnownRef(watched),
                                    change: Change(field: .status, from: .from(watched.snapshot?.status), to: .null)))
            }
            return PollCommit(orderId: watched.orderId, polledAt: at, succeeded: true, snapshot: nil,
                              consecutiveFailures: 0, failing: false, notFound: true, lastError: nil, events: events,
                              onlyPollTimesChanged: events.isEmpty && isSettled(watched) && watched.notFound)
        case .order(let order):
            let snapshot: OrderSnapshot
            do {
                snapshot = try OrderMapping.snapshot(of: order, requestedId: watched.orderId)
            } catch {
                return failed(watched, message: PollResult.from(error).failureMessage ?? "\(error)",
                              failingAfter: failingAfter, at: at)
            }
            // An order that was not found and is back is diffed against what was stored before it
            // vanished: the operator learns what changed meanwhile, not a second baseline.
            let events = recovery(watched, at: at)
                + OrderDiff.events(old: watched.snapshot, new: snapshot, context: watched.context, at: at)
            return PollCommit(orderId: watched.orderId, polledAt: at, succeeded: true, snapshot: snapshot,
                              consecutiveFailures: 0, failing: false, notFound: false, lastError: nil, events: events,
                              onlyPollTimesChanged: events.isEmpty && isSettled(watched) && !watched.notFound
                                  && watched.snapshot == snapshot)
        }
    }

    private static func failed(_ watched: WatchedOrder, message: String, failingAfter: Int, at: Date) -> PollCommit {
        let failures = watched.consecutiveFailures + 1
        // `>=` rather than `==`: a reload that lowers failing_after below the current streak still
        // reports the order failing, once.
        let nowFailing = failures >= max(1, failingAfter)
        var events: [Event] = []
        if nowFailing && !watched.failing {
            events.append(Event(type: .watchFailing, occurredAt: at, order: lastKnownRef(watched),
                                change: Change(field: .watch, from: .string("ok"), to: .string("failing")),
                                error: message))
        }
        return PollCommit(orderId: watched.orderId, polledAt: at, succeeded: false, snapshot: nil,
                          consecutiveFailures: failures, failing: watched.failing || nowFailing,
                          notFound: watched.notFound, lastError: message, events: events)
    }

    /// Nothing about the order's failure state would change with a successful poll.
    private static func isSettled(_ watched: WatchedOrder) -> Bool {
        watched.consecutiveFailures == 0 && !watched.failing && watched.lastError == nil
    }

    private static func recovery(_ watched: WatchedOrder, at: Date) -> [Event] {
        guard watched.failing else { return [] }
        return [Event(type: .watchRecovered, occurredAt: at, order: lastKnownRef(watched),
                      change: Change(field: .watch, from: .string("failing"), to: .string("ok")))]
    }

    private static func lastKnownRef(_ watched: WatchedOrder) -> OrderRef {
        watched.context.ref(orderId: watched.orderId, lastKnown: watched.snapshot)
    }
}

extension PollResult {
    /// The message of a `.failed` result.
    public var failureMessage: String? {
        if case .failed(let message) = self { return message }
        return nil
    }
}
