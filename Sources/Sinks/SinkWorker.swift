import Foundation
import Logging
import Support
import WatchStore

/// One sink's share of the dispatcher: carries out what its ``DeliveryStateMachine`` decides
/// (read the outbox, start attempts, record them, sleep) and nothing else.
struct SinkWorker: Sendable {
    let sink: any EventSink
    let store: StateStore
    let maxAge: Duration
    let limit: Int
    let policy: RetryPolicy
    let logger: Logger
    let now: @Sendable () -> Date
    /// The dispatcher-wide wake-up (commits).
    let work: WakeSignal
    /// Re-arms this worker's timer after it scheduled a retry earlier than the one it sleeps for.
    let rearm = WakeSignal()

    private enum Step: Sendable {
        /// One call ended: an outcome per row it carried (one row unless the sink batches).
        case attempted([(Delivery, SinkOutcome)], at: Date)
        case woken
    }

    /// How the state machine groups rows for a sink that batches (`nil`: one row per call).
    private var grouping: DeliveryStateMachine.Grouping? { (sink as? any BatchEventSink)?.grouping }

    private func machine(_ mode: DeliveryStateMachine.Mode) -> DeliveryStateMachine {
        DeliveryStateMachine(mode: mode, limit: limit, maxAge: maxAge, policy: policy, grouping: grouping)
    }

    /// Delivers until cancelled (the daemon).
    func run() async {
        _ = await drive(machine(.continuous))
    }

    /// Sends every delivery of this sink that is due now, each at most once.
    func drain() async -> DrainReport {
        await drive(machine(.drain))
    }

    /// Sends exactly these rows of this sink now (`redeliver`).
    func send(_ rows: [Delivery]) async -> DrainReport {
        await drive(machine(.rows(rows)))
    }

    private func drive(_ initial: DeliveryStateMachine) async -> DrainReport {
        var machine = initial
        // The daemon's worker keeps counts only: a list of every attempt would grow forever.
        var report = DrainReport(collectsAttempts: initial.mode != .continuous)
        await withTaskGroup(of: Step.self) { group in
            loop: while !Task.isCancelled {
                // Seen before reading the outbox, so a commit in between still wakes the timer.
                let seenWork = work.generation
                let seenRearm = rearm.generation
                var action = machine.next()
                actions: while true {
                    switch action {
                    case .fetchDue(let limit):
                        do {
                            action = machine.fetched(try await store.dueDeliveries(now: now(), sink: sink.name, limit: limit,
                                                                             inOrder: sink.deliversInOrder))
                        } catch {
                            logger.error("cannot read the outbox", metadata: ["sink": "\(sink.name)", "error": "\(error)"])
                            report.note(storeError: "\(sink.name): \(error)")
                            action = machine.storeReadFailed()
                        }
                    case .send(let deliveries):
                        for delivery in deliveries {
                            group.addTask { [sink, now] in
                                .attempted([(delivery, await sink.send(delivery.stored))], at: now())
                            }
                        }
                        action = machine.afterStart()
                    case .sendBatches(let batches):
                        guard let batchSink = sink as? any BatchEventSink else { break loop }
                        for rows in batches {
                            group.addTask { [now] in
                                let outcomes = await batchSink.send(batch: rows.map(\.stored))
                                return .attempted(rows.enumerated().map { index, row in
                                    (row, index < outcomes.count ? outcomes[index]
                                        : .retry(status: nil, error: "no outcome for the event", retryAfter: nil))
                                }, at: now())
                            }
                        }
                        action = machine.afterStart()
                    case .queryNextDue:
                        do {
                            action = machine.nextDue(try await store.nextDueDate(sink: sink.name, inOrder: sink.deliversInOrder), now: now())
                        } catch {
                            logger.error("cannot read the outbox", metadata: ["sink": "\(sink.name)", "error": "\(error)"])
                            action = machine.storeReadFailed()
                        }
                    case .sleep(let timeout):
                        group.addTask { [work, rearm] in
                            await Self.waitForEither(work, seenWork, rearm, seenRearm, timeout: timeout)
                            return .woken
                        }
                        break actions
                    case .wait:
                        break actions
                    case .finished:
                        break loop
                    }
                }
                guard let step = await group.next() else { continue }
                switch step {
                case .woken:
                    machine.woken()
                case .attempted(let results, let at):
                    for (delivery, outcome) in results {
                        let record = machine.attemptFinished(delivery, outcome: outcome, at: at, cancelled: Task.isCancelled)
                        guard case .write(let result, let failSink) = record else { continue }
                        var followUp = await write(result, failSink: failSink, of: delivery, outcome: outcome, at: at,
                                                   into: &report)
                            .map { machine.recorded($0, now: .now) } ?? machine.recordFailed()
                        if followUp.expedite, let count = try? await store.expediteRetries(sink: sink.name, now: at) {
                            if count > 0 {
                                logger.notice("receiver answers again; its pending deliveries are retried now",
                                              metadata: ["sink": "\(sink.name)", "deliveries": "\(count)"])
                            }
                            let expedited = machine.expedited(count)
                            followUp.rearm = followUp.rearm || expedited.rearm
                        }
                        if followUp.rearm { rearm.bump() }
                        if let pause = followUp.pause { try? await LoopSleep.sleep(for: pause) }
                    }
                }
            }
            group.cancelAll()
        }
        return report
    }

    /// Stores an attempt (and, for a 410, fails the sink's pending rows) and logs it. Returns the
    /// result written, or `nil` when the store refused it (the row stays pending: at least once).
    private func write(_ result: AttemptResult, failSink: String?, of delivery: Delivery, outcome: SinkOutcome,
                       at: Date, into report: inout DrainReport) async -> AttemptResult? {
        report.attempted += 1
        var metadata: Logger.Metadata = [
            "sink": "\(sink.name)", "event_id": "\(delivery.eventId)", "attempt": "\(delivery.attempts + 1)",
        ]
        if let status = outcome.status { metadata["status"] = "\(status)" }
        do {
            try await store.recordAttempt(deliveryId: delivery.id, at: at, result: result)
        } catch {
            metadata["error"] = "\(error)"
            logger.error("cannot record a delivery attempt", metadata: metadata)
            report.note(storeError: "\(sink.name): \(error)")
            report.note(.init(sink: sink.name, eventId: delivery.eventId, outcome: outcome, result: nil))
            return nil
        }
        report.note(.init(sink: sink.name, eventId: delivery.eventId, outcome: outcome, result: result))
        switch result {
        case .delivered:
            report.delivered += 1
            logger.debug("delivered", metadata: metadata)
        case .retry(let next, _, let error):
            report.retrying += 1
            metadata["error"] = "\(error)"
            metadata["retry_in"] = "\(max(0, next.timeIntervalSince(at)).formattedSeconds)"
            logger.warning("delivery attempt failed, will retry", metadata: metadata)
        case .failed(_, let error):
            report.failed += 1
            metadata["error"] = "\(error)"
            logger.error("delivery failed for good (see `outpostwatch deliveries --state failed`)", metadata: metadata)
        }
        if let failSink {
            do {
                let count = try await store.failPending(sink: sink.name, error: failSink, at: at)
                report.failed += count
                logger.error("receiver answered 410 Gone: every pending delivery of this sink failed; fix or remove the sink",
                             metadata: ["sink": "\(sink.name)", "failed": "\(count + 1)"])
            } catch {
                report.note(storeError: "\(sink.name): \(error)")
                logger.error("cannot fail the pending deliveries of a gone sink",
                             metadata: ["sink": "\(sink.name)", "error": "\(error)"])
            }
        }
        return result
    }

    private static func waitForEither(_ a: WakeSignal, _ seenA: UInt64, _ b: WakeSignal, _ seenB: UInt64,
                                      timeout: Duration?) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await a.wait(after: seenA, timeout: timeout) }
            group.addTask { await b.wait(after: seenB, timeout: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
