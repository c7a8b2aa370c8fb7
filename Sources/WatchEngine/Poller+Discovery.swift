import Foundation
import OutpostsAPI
import WatchConfig

extension Poller {
    /// One ListOrders sweep of a `[[discover]]` entry: new order ids join the watch set and are
    /// scheduled soon. The schedule decides when the next sweep runs, or whether a throttled
    /// one is retried.
    func discover(_ entry: DiscoverSettings, index: Int, generation: Int) async {
        let source = self.source
        let answer = await OutpostsClient.$retryPacer.withValue(RetryPacing(poller: self)) {
            await abandoningOnCancel { try await source.listAllOrders(outpostIdentifierFilter: entry.outpost) }
        }
        guard let answer else { return }   // cancelled: shutting down
        let scope = "discovery" + (entry.outpost.map { " for outpost \($0)" } ?? "")
        var throttled = false
        switch answer {
        case .success(let summaries):
            await addDiscovered(summaries.compactMap(\.orderId).filter { !$0.isEmpty })
        case .failure(let error):
            let result = PollResult.from(error)
            if result == .throttled {
                throttled = true
                logger.notice("throttled by the API; slowing down", metadata: ["discover": "\(scope)"])
            } else {
                let message = "\(scope): \(result.failureMessage ?? "\(error)")"
                logger.warning("discovery sweep failed", metadata: ["error": "\(message)"])
                onceReport?.failures.append(PollFailure(orderId: nil, message: message))
            }
        }
        let action = schedule.discoveryCompleted(index: index, generation: generation, throttled: throttled, now: .now)
        apply(action, failure: PollFailure(orderId: nil, message: "\(scope): throttled by the API"))
    }

    private func addDiscovered(_ ids: [String]) async {
        do {
            let added = try await store.addDiscovered(ids, account: account, region: region)
            if !added.isEmpty {
                logger.info("discovered new orders", metadata: ["count": "\(added.count)",
                                                                 "orders": "\(added.joined(separator: ","))"])
                try await refreshWatchSet()
            }
        } catch {
            logger.error("could not record discovered orders", metadata: ["error": "\(error)"])
            onceReport?.failures.append(PollFailure(orderId: nil, message: "state store: \(error)"))
        }
    }
}
