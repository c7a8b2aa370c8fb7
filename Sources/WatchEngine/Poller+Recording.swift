import Foundation
import OutpostsAPI
import WatchModel
import WatchStore

extension Poller {
    /// Evaluates a result against the order's stored state, commits it, and says how it ended
    /// for the schedule. `once` collects the committed events and the failures.
    func record(_ orderId: String, _ result: PollResult) async -> PollSchedule.PollCompletion {
        let answered: Bool = switch result {
        case .order, .notFound: true
        case .failed, .throttled: false
        }
        let fingerprint: Int? = if case .order(let order) = result { Self.fingerprint(order) } else { nil }
        if let fingerprint, settledAnswers[orderId] == fingerprint {
            return recordUnchanged(orderId)
        }
        settledAnswers[orderId] = nil
        let store = self.store
        let route = self.route
        let failingAfter = settings.poll.failingAfter
        let tracking = settings.tracking
        let account = self.account
        do {
            // No cancellation point between the answer and its commit (the store's calls check
            // none), so a SIGTERM mid-commit neither loses nor repeats it.
            let stored = try await store.commitEvaluated(orderId, route: route) { watched in
                // An order a reload moved to another account is that account's poller's now.
                guard watched.active, watched.account == account else { return nil }
                return PollEvaluation.evaluate(watched: watched, outcome: result, failingAfter: failingAfter,
                                               tracking: tracking, at: Date())
            }
            guard let (events, commit) = stored else { return .unwatched }
            if let fingerprint, commit.succeeded, !commit.failing, !commit.notFound, commit.consecutiveFailures == 0 {
                settledAnswers[orderId] = fingerprint
            }
            if !commit.succeeded {
                let message = commit.lastError ?? "poll failed"
                logger.warning("poll failed", metadata: ["order_id": "\(orderId)", "error": "\(message)",
                                                         "consecutive_failures": "\(commit.consecutiveFailures)"])
                onceReport?.failures.append(PollFailure(orderId: orderId, message: message))
            }
            if !events.isEmpty {
                onCommit(events)
                onceReport?.events += events
            }
            return .recorded(terminal: commit.snapshot?.isTerminal, failing: commit.failing,
                             heldPollTimes: commit.onlyPollTimesChanged, answered: answered, changed: !events.isEmpty)
        } catch {
            logger.error("could not record a poll result; the order is polled again later",
                         metadata: ["order_id": "\(orderId)", "error": "\(error)"])
            onceReport?.failures.append(PollFailure(orderId: orderId, message: "state store: \(error)"))
            return .storeError
        }
    }

    /// Records a poll that answered exactly what was committed last: only its time changes, held
    /// by the store in memory without a hop to its thread.
    private func recordUnchanged(_ orderId: String) -> PollSchedule.PollCompletion {
        store.holdPollTime(orderId, polledAt: Date())
        return .recorded(terminal: nil, failing: false, heldPollTimes: true, answered: true)
    }

    static func fingerprint(_ order: Order) -> Int {
        var hasher = Hasher()
        hasher.combine(order)
        return hasher.finalize()
    }
}
