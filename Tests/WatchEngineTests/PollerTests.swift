import Foundation
import OutpostsAPI
import Testing
import WatchConfig
import WatchEngine
import WatchModel
import WatchStore

@Suite struct PollerOnceTests {
    @Test func firstPollThenASequenceOfChanges() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let id = orderId(1)
        await source.set(apiOrder(id, "PREPARING", items: [LineItem(catalogItemId: "OR-1", lineItemId: "li-1",
                                                                    quantity: 1, status: "BUILDING")]))
        let recorder = Recorder()
        let poller = makePoller(store: store, source: source, settings: settings(orders: [id], path: path),
                                recorder: recorder)

        let first = await poller.pollAllOnce()
        #expect(first.failures.isEmpty)
        #expect(first.events.map(\.type) == [.orderFirstSeen])
        #expect(first.events.map(\.sequence) == [1])
        #expect(first.events.first?.order.label == "label 01")

        let unchanged = await poller.pollAllOnce()
        #expect(unchanged.events.isEmpty && unchanged.failures.isEmpty)

        await source.set(apiOrder(id, "IN_PROGRESS", items: [
            LineItem(catalogItemId: "OR-1", lineItemId: "li-1", quantity: 1, status: "SHIPPED",
                     shipmentInformation: ShipmentInformation(shipmentTrackingNumber: "1Z999", shipmentCarrier: "UPS")),
        ]))
        let changed = await poller.pollAllOnce()
        #expect(changed.events.map(\.type) == [.orderStatusChanged, .lineItemStatusChanged, .lineItemShipmentChanged])
        #expect(changed.events.map(\.sequence) == [2, 3, 4])
        #expect(changed.events[2].change.to == .shipment(Shipment(
            carrier: "UPS", trackingNumber: "1Z999", trackingURL: "https://www.ups.com/track?loc=en_US&tracknum=1Z999")),
            "the built-in UPS link rides along")

        await source.set(apiOrder(id, "IN_PROGRESS", items: [
            LineItem(catalogItemId: "OR-1", lineItemId: "li-1", quantity: 1, status: "SHIPPED",
                     shipmentInformation: ShipmentInformation(shipmentTrackingNumber: "1Z999", shipmentCarrier: "UPS"),
                     assetInformationList: [LineItemAssetInformation(assetId: "as-1", macAddressList: ["0a:01"])]),
            LineItem(catalogItemId: "OR-2", lineItemId: "li-2", quantity: 1, status: "PREPARING"),
        ]))
        let more = await poller.pollAllOnce()
        #expect(more.events.map(\.type) == [.lineItemAssetsChanged, .lineItemAdded])
        #expect(more.events.map(\.sequence) == [5, 6])

        // Everything reached onCommit, and the store's history is the same list.
        let history = try await store.history(orderId: id)
        #expect(history == recorder.all)
        #expect(history.map(\.sequence) == Array(1...6))
        // One pending delivery per event, to the routed sink.
        #expect(try await store.pendingCounts()["ops"] == 6)
    }

    @Test func changeWhileStoppedIsReportedOnRestart() async throws {
        let path = try temporaryStorePath()
        let source = ScriptedSource()
        let id = orderId(2)
        await source.set(apiOrder(id, "IN_PROGRESS"))
        do {
            let store = try StateStore(path: path)
            let poller = makePoller(store: store, source: source, settings: settings(orders: [id], path: path),
                                    recorder: Recorder())
            #expect(await poller.pollAllOnce().events.map(\.type) == [.orderFirstSeen])
        }
        // "Stopped": a change happens, then a new process (new store connection, new poller) starts.
        await source.set(apiOrder(id, "DELIVERED"))
        let store = try StateStore(path: path)
        let recorder = Recorder()
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: [id], interval: .milliseconds(100), path: path),
                                recorder: recorder)
        try await whileRunning(poller) {
            #expect(await eventually { !recorder.all.isEmpty })
        }
        let events = recorder.all
        #expect(events.map(\.type) == [.orderStatusChanged])
        #expect(events.first?.change == Change(field: .status, from: .string("IN_PROGRESS"), to: .string("DELIVERED")))
        #expect(events.first?.sequence == 2)
    }

    @Test func failingAfterThresholdThenRecovered() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let id = orderId(3)
        await source.set(apiOrder(id, "IN_PROGRESS"))
        let recorder = Recorder()
        let poller = makePoller(store: store, source: source, settings: settings(orders: [id], failingAfter: 3, path: path),
                                recorder: recorder)
        _ = await poller.pollAllOnce()
        let error = OutpostsError(kind: .server, code: "InternalServerException", message: "try later", statusCode: 500)
        await source.script(id, Array(repeating: .fail(error), count: 5))
        var failureCounts: [Int] = []
        for _ in 0..<5 {
            let report = await poller.pollAllOnce()
            #expect(report.failures == [PollFailure(orderId: id, message: error.description)])
            failureCounts.append(try await store.watchedOrder(id)?.consecutiveFailures ?? -1)
        }
        #expect(failureCounts == [1, 2, 3, 4, 5])
        #expect(recorder.types(of: id) == [.orderFirstSeen, .watchFailing])
        #expect(await poller.status().failing == 1)
        #expect(recorder.statusReports.last?.failing == 1)

        let back = await poller.pollAllOnce()
        #expect(back.failures.isEmpty)
        #expect(back.events.map(\.type) == [.watchRecovered])
        #expect(recorder.types(of: id) == [.orderFirstSeen, .watchFailing, .watchRecovered])
        #expect(await poller.status().failing == 0)
        let watched = try #require(try await store.watchedOrder(id))
        #expect(watched.consecutiveFailures == 0 && !watched.failing)
    }

    @Test func repeatedAnswersOnlyMovePollTimesAndChangesAreStillSeen() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let id = orderId(7)
        await source.set(apiOrder(id, "PREPARING"))
        let recorder = Recorder()
        let poller = makePoller(store: store, source: source, settings: settings(orders: [id], failingAfter: 3, path: path),
                                recorder: recorder)
        func onDisk() async throws -> WatchedOrder? { try await StateStore(path: path, readOnly: true).watchedOrder(id) }
        _ = await poller.pollAllOnce()
        let first = try #require(try await onDisk()?.lastPollAt)
        for _ in 0..<3 {
            let report = await poller.pollAllOnce()
            #expect(report.events.isEmpty && report.failures.isEmpty)
        }
        // The same answer again: written at the end of the round (pollAllOnce flushes), nothing else.
        let after = try #require(try await onDisk())
        #expect(after.lastPollAt! > first && after.lastSuccessAt == after.lastPollAt)
        #expect(after.lastSequence == 1 && after.snapshot?.status == "PREPARING")

        await source.set(apiOrder(id, "IN_PROGRESS"))
        #expect(await poller.pollAllOnce().events.map(\.type) == [.orderStatusChanged])
        // A failure in between: the same answer afterwards must reset the count, not pass as unchanged.
        let error = OutpostsError(kind: .server, code: "InternalServerException", message: "try later", statusCode: 500)
        await source.script(id, [.fail(error)])
        _ = await poller.pollAllOnce()
        #expect(try await onDisk()?.consecutiveFailures == 1)
        #expect(await poller.pollAllOnce().failures.isEmpty)
        let settled = try #require(try await onDisk())
        #expect(settled.consecutiveFailures == 0 && settled.lastError == nil)
        #expect(recorder.types(of: id) == [.orderFirstSeen, .orderStatusChanged])
        #expect(try await store.history(orderId: id).map(\.sequence) == [1, 2])
    }

    @Test func invalidBodyIsAFailureWithoutEvents() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let id = orderId(4)
        await source.script(id, [.body(Order(orderId: orderId(5), status: "IN_PROGRESS"))])
        let poller = makePoller(store: store, source: source, settings: settings(orders: [id], path: path),
                                recorder: Recorder())
        let report = await poller.pollAllOnce()
        #expect(report.events.isEmpty)
        #expect(report.failures.count == 1)
        #expect(report.failures.first?.message.contains("invalid Order") == true)
        #expect(try await store.history(orderId: id).isEmpty)
    }

    @Test func notFoundIsReportedOnce() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let id = orderId(6)
        await source.set(apiOrder(id, "IN_PROGRESS"))
        let poller = makePoller(store: store, source: source, settings: settings(orders: [id], path: path),
                                recorder: Recorder())
        _ = await poller.pollAllOnce()
        await source.remove(id)
        var types: [EventType] = []
        for _ in 0..<3 {
            let report = await poller.pollAllOnce()
            #expect(report.failures.isEmpty, "not found is an answer, not a failed poll")
            types += report.events.map(\.type)
        }
        #expect(types == [.orderNotFound])
        #expect(try await store.watchedOrder(id)?.notFound == true)
        await source.set(apiOrder(id, "DELIVERED"))
        #expect(await poller.pollAllOnce().events.map(\.type) == [.orderStatusChanged])
    }

    @Test func concurrencyAndRateAreRespected() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let ids = (10..<22).map(orderId)
        for id in ids { await source.set(apiOrder(id, "PREPARING")) }
        // Each call takes far longer than the 20 ms rate spacing, so the bound of 3 is reached even on
        // a loaded machine (a store commit can take tens of milliseconds there).
        await source.setDelay(.milliseconds(300))
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: ids, concurrency: 3, maxRPS: 50, path: path),
                                recorder: Recorder())
        let start = ContinuousClock.now
        let report = await poller.pollAllOnce()
        #expect(report.failures.isEmpty)
        #expect(report.events.count == 12)
        #expect(report.events.map(\.order.id) == ids, "listed by order id")
        #expect(await source.maxInFlight == 3)
        let starts = await source.calls.map(\.at)
        #expect(starts.count == 12)
        // Capacity-one bucket at 50 rps: the k-th call is granted no sooner than k × 20 ms after the
        // start (arrival at the source can only be later than the grant, never earlier).
        for (k, at) in starts.enumerated() { #expect(at - start >= .milliseconds(20 * k)) }
    }

    @Test func discoveryAddsOrdersThatAreThenPolled() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let mine = orderId(30), other = orderId(31)
        await source.set(apiOrder(mine, "PREPARING"))
        await source.set(apiOrder(other, "PREPARING"))
        await source.setSummaries([OrderSummary(outpostId: "op-0123456789abcdef0", orderId: mine),
                                   OrderSummary(outpostId: "op-fffffffffffffffff", orderId: other)])
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: [], discover: [DiscoverSettings(outpost: "op-0123456789abcdef0")],
                                                   path: path),
                                recorder: Recorder())
        let report = await poller.pollAllOnce()
        #expect(report.failures.isEmpty)
        #expect(report.events.map(\.order.id) == [mine])
        #expect(try await store.watchedOrder(mine)?.source == .discovered)
        #expect(try await store.watchedOrder(other) == nil)
    }

    @Test func throttledOnceIsRetriedNotFailed() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let id = orderId(40)
        await source.set(apiOrder(id, "PREPARING"))
        await source.script(id, [.throttle, .throttle])
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: [id], maxRPS: 40, failingAfter: 1, path: path),
                                recorder: Recorder())
        let report = await poller.pollAllOnce()
        #expect(report.failures.isEmpty)
        #expect(report.events.map(\.type) == [.orderFirstSeen])
        #expect(await source.calls.count == 3)
        #expect(await poller.status().effectiveRate < 40)
    }
}

@Suite struct PollerLoopTests {
    @Test func firstPollsAreSpreadOverTheStartupWindow() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let ids = (50..<55).map(orderId)
        for id in ids { await source.set(apiOrder(id, "PREPARING")) }
        let recorder = Recorder()
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: ids, interval: .seconds(1), path: path), recorder: recorder)
        let start = ContinuousClock.now
        try await whileRunning(poller) {
            #expect(await eventually { await source.calls.count >= 5 })
        }
        let firsts = await source.calls.prefix(5).map(\.at)
        // Five orders over a 1 s window: slots 0, 200, 400, 600, 800 ms. Sleeps never end early,
        // so each call starts no sooner than its slot.
        for (k, at) in firsts.enumerated() {
            #expect(at - start >= .milliseconds(200 * k))
        }
        #expect(Set(await source.calls.prefix(5).map(\.orderId)).count == 5)
    }

    @Test func aThousandOrdersDoNotFireAtOnce() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let ids = (0..<1000).map { orderId(2000 + $0) }
        for id in ids { await source.set(apiOrder(id, "PREPARING")) }
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: ids, interval: .seconds(300), path: path), recorder: Recorder())
        let start = ContinuousClock.now
        let loop = Task { try await poller.run() }
        #expect(await eventually { await source.calls.count >= 3 })
        loop.cancel()
        try await loop.value
        // Spread over 60 s: one order every 60 ms, so by the time the loop stopped at most one call
        // per 60 ms slot had started (plus the one at 0).
        let elapsed = ContinuousClock.now - start
        let calls = await source.calls.count
        #expect(calls <= Int(elapsed / .milliseconds(60)) + 1)
        #expect(calls < 1000)
    }

    @Test func jitterSpreadsLaterPolls() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let id = orderId(60)
        await source.set(apiOrder(id, "PREPARING"))
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: [id], interval: .milliseconds(60), jitter: 0.5, path: path),
                                recorder: Recorder())
        try await whileRunning(poller) {
            #expect(await eventually { await source.calls.count >= 12 })
        }
        let times = await source.calls(for: id)
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        // interval ± 50 %: never sooner than 30 ms after the previous poll, and not all alike.
        #expect(gaps.allSatisfy { $0 >= .milliseconds(29) })
        #expect(gaps.max()! - gaps.min()! >= .milliseconds(10))
    }

    @Test func terminalOrdersFollowTerminalInterval() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let open = orderId(70), done = orderId(71), cancelled = orderId(72)
        await source.set(apiOrder(open, "IN_PROGRESS"))
        await source.set(apiOrder(done, "COMPLETED"))
        await source.set(apiOrder(cancelled, "CANCELLED"))
        do {
            let poller = makePoller(store: store, source: source,
                                    settings: settings(orders: [open, done, cancelled], interval: .milliseconds(40),
                                                       terminalInterval: nil, path: path),
                                    recorder: Recorder())
            try await whileRunning(poller) {
                #expect(await eventually { await source.calls(for: open).count >= 10 })
            }
            #expect(await source.calls(for: done).count == 1, "terminal_interval = off: polled once, then never")
            #expect(await source.calls(for: cancelled).count == 1)
            #expect(await poller.status().watching == 3, "still watched, just not polled")
        }
        do {
            let poller = makePoller(store: store, source: source,
                                    settings: settings(orders: [open, done], interval: .milliseconds(20),
                                                       terminalInterval: .milliseconds(200), path: path),
                                    recorder: Recorder())
            try await whileRunning(poller) {
                #expect(await eventually { await source.calls(for: done).count >= 4 })
            }
            let times = await source.calls(for: done).dropFirst()   // the first of this run is the startup poll
            for (a, b) in zip(times, times.dropFirst()) { #expect(b - a >= .milliseconds(199)) }
        }
    }

    @Test func concurrencyBoundInTheLoop() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let ids = (80..<90).map(orderId)
        for id in ids { await source.set(apiOrder(id, "PREPARING")) }
        await source.setDelay(.milliseconds(40))
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: ids, interval: .milliseconds(50), concurrency: 2, path: path),
                                recorder: Recorder())
        try await whileRunning(poller) {
            #expect(await eventually { await source.calls.count >= 30 })
        }
        #expect(await source.maxInFlight == 2)
    }

    @Test func throttlingSlowsDownAndRecoversWithoutFailing() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let id = orderId(100)
        await source.set(apiOrder(id, "PREPARING"))
        await source.script(id, [.throttle, .throttle, .throttle])
        let recorder = Recorder()
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: [id], interval: .milliseconds(30), maxRPS: 20,
                                                   failingAfter: 1, path: path),
                                recorder: recorder)
        // Read the poller's rate from inside the first answered call: after the throttles, before
        // any success was recorded.
        let rateAtFirstSuccess = Recorder()
        await source.setHook { number in
            if number == 4 {
                let status = await poller.status()
                rateAtFirstSuccess.status(status)
            }
        }
        try await whileRunning(poller) {
            // Generous bounds: on a loaded CI machine a late wake-up can end the throttles'
            // hold-off and halve the rate again, so recovery takes more calls (the pace itself
            // is asserted below, from the call times).
            #expect(await eventually(timeout: .seconds(40)) { await source.calls.count >= 4 })
            #expect(await eventually(timeout: .seconds(40)) { await poller.status().effectiveRate == 20 },
                    "recovers to max_rps")
        }
        let reduced = try #require(rateAtFirstSuccess.statusReports.first?.effectiveRate)
        #expect(reduced <= 10)
        #expect(reduced >= AdaptiveRateLimiter.minimumRate)
        #expect(recorder.types(of: id) == [.orderFirstSeen], "throttling is never a failure")
        let watched = try #require(try await store.watchedOrder(id))
        #expect(watched.consecutiveFailures == 0 && !watched.failing)
        // The three retries came at the slowed-down pace, not in a burst.
        let times = await source.calls(for: id)
        #expect(times[3] - times[0] >= .milliseconds(190))
    }

    @Test func reloadStartsAddedAndStopsRemovedOrders() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let kept = orderId(110), removed = orderId(111), added = orderId(112)
        for id in [kept, removed, added] { await source.set(apiOrder(id, "PREPARING")) }
        let recorder = Recorder()
        let initial = settings(orders: [kept, removed], interval: .milliseconds(30), path: path)
        let poller = makePoller(store: store, source: source, settings: initial, recorder: recorder)
        try await whileRunning(poller) {
            #expect(await eventually { await source.calls(for: removed).count >= 2 })
            var next = initial
            next.orders = [OrderSettings(id: kept), OrderSettings(id: added, label: "new rack")]
            await poller.reload(next)
            let removedCalls = await source.calls(for: removed).count
            #expect(await eventually { await source.calls(for: added).count >= 1 })
            let keptBefore = await source.calls(for: kept).count
            #expect(await eventually { await source.calls(for: kept).count >= keptBefore + 5 })
            // At most one poll of the removed order was already under way when the reload landed.
            #expect(await source.calls(for: removed).count <= removedCalls + 1)
            #expect(await poller.status().watching == 2)
        }
        #expect(recorder.all.first { $0.order.id == added }?.order.label == "new rack")
        #expect(try await store.watchedOrder(removed)?.active == false)
        #expect(try await store.history(orderId: removed).count == 1, "history stays")
        #expect(recorder.statusReports.map(\.watching).contains(2))
    }

    @Test func discoveredOrdersArePolledByTheLoop() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let found = orderId(120)
        await source.set(apiOrder(found, "PREPARING"))
        await source.setSummaries([OrderSummary(orderId: found)])
        let recorder = Recorder()
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: [], interval: .seconds(60),
                                                   discover: [DiscoverSettings(interval: .seconds(3600))], path: path),
                                recorder: recorder)
        try await whileRunning(poller) {
            #expect(await eventually { recorder.types(of: found) == [.orderFirstSeen] })
        }
        #expect(await source.listCalls == 1)
        #expect(await poller.status().watching == 1)
    }

    @Test func heartbeatsWhileIdle() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let recorder = Recorder()
        let poller = makePoller(store: store, source: ScriptedSource(), settings: settings(orders: [], path: path),
                                recorder: recorder, heartbeat: .milliseconds(20))
        try await whileRunning(poller) {
            #expect(await eventually { recorder.heartbeats >= 5 })
        }
        let status = await poller.status()
        #expect(Date().timeIntervalSince(status.lastLoopAt) < 5)
        #expect(status.watching == 0 && status.effectiveRate == 1000)
    }

    @Test func cancellationIsPromptWithAHangingSource() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let source = ScriptedSource()
        let hanging = orderId(130), fine = orderId(131)
        await source.set(apiOrder(fine, "PREPARING"))
        await source.script(hanging, [.hangIgnoringCancellation])
        let recorder = Recorder()
        let poller = makePoller(store: store, source: source,
                                settings: settings(orders: [hanging, fine], interval: .milliseconds(20), path: path),
                                recorder: recorder)
        let loop = Task { try await poller.run() }
        #expect(await eventually { await source.calls(for: hanging).count == 1 && !recorder.all.isEmpty })
        let stopAsked = ContinuousClock.now
        loop.cancel()
        try await loop.value
        let took = ContinuousClock.now - stopAsked
        #expect(took < .seconds(3), "cancellation must not wait for the hanging source (SIGTERM budget: 5 s)")
        await source.releaseHung()
        // The abandoned call produced nothing; the other order's events were all committed.
        #expect(try await store.history(orderId: hanging).isEmpty)
        #expect(try await store.history(orderId: fine) == recorder.all.filter { $0.order.id == fine })
    }
}
