import Foundation
import WatchModel
import WatchStore

extension Poller {
    /// Looks for stays of one order past their `[stall]` threshold (docs/events.md): commits the
    /// stalled events that are due and tells the schedule when the next threshold passes. The
    /// decision is ``StallDetector``'s, on the order's stored state and history; the commit
    /// happens only if no other event landed meanwhile, else the check runs again on the new
    /// history, so a stay that just ended is never reported.
    func checkStalls(_ orderId: String) async {
        var next: ContinuousClock.Instant?
        for _ in 0..<3 {
            do {
                guard let watched = try await store.watchedOrder(orderId), watched.active,
                      let snapshot = watched.snapshot else { break }
                let history = try await store.history(orderId: orderId)
                let now = Date()
                let result = StallDetector.evaluate(snapshot: snapshot, context: watched.context, history: history,
                                                    rules: settings.stall, now: now)
                next = result.nextDeadline.map { ContinuousClock.now + .seconds(max(0, $0.timeIntervalSince(Date()))) }
                guard !result.events.isEmpty else { break }
                // Line items carry their tracking links here too, like every event (docs/events.md).
                let events = result.events.map { $0.linkingShipments(settings.tracking) }
                guard let stored = try await store.append(events, orderId: orderId,
                                                          ifLastSequence: watched.lastSequence, at: now,
                                                          route: route) else { continue }
                for event in stored {
                    logger.notice("order stalled", metadata: ["order_id": "\(orderId)", "event": "\(event.type.rawValue)"])
                }
                onCommit(stored)
                onceReport?.events += stored
                break
            } catch {
                logger.error("could not check for stalled stays; checked again at the next change",
                             metadata: ["order_id": "\(orderId)", "error": "\(error)"])
                onceReport?.failures.append(PollFailure(orderId: orderId, message: "state store: \(error)"))
                break
            }
        }
        apply(schedule.stallsChecked(orderId, next: next, now: .now), failure: PollFailure(orderId: orderId, message: ""))
    }
}
