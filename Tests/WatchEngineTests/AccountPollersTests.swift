import Foundation
import OutpostsAPI
import Testing
import WatchConfig
import WatchEngine
import WatchModel
import WatchStore

/// Several accounts in one daemon (docs/configuration.md, "Accounts and regions"): each polled
/// through its own source, its own rate and back-off, its events naming it.
@Suite struct AccountPollersTests {
    /// Two accounts, `a` (us-west-2) and `b` (eu-west-1), with the given orders each.
    static func twoAccounts(a: [String], b: [String], path: String, maxRPS: Double = 1000,
                            interval: Duration = .seconds(300)) -> Settings {
        var settings = settings(orders: [], interval: interval, maxRPS: maxRPS, path: path)
        settings.accounts = [AccountSettings(name: "a", region: "us-west-2"), AccountSettings(name: "b", region: "eu-west-1")]
        settings.orders = a.map { OrderSettings(id: $0, account: "a") } + b.map { OrderSettings(id: $0, account: "b") }
        return settings
    }

    static func pollers(_ store: StateStore, _ settings: Settings, sources: [String: ScriptedSource],
                        recorder: Recorder) throws -> AccountPollers {
        try AccountPollers(
            store: store, settings: settings,
            makeSource: { account, _ in
                guard let source = sources[account.name] else { throw ScenarioFailure("no source for \(account.name)") }
                return AccountPollers.Source(source: source, region: account.region)
            },
            route: { _ in ["ops"] }, logger: quietLogger(), onCommit: { recorder.committed($0) },
            onHeartbeat: { recorder.beat() }, onStatus: { recorder.status($0) })
    }

    @Test func eachAccountPollsOnlyItsOrdersAndItsEventsNameIt() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let (a, b) = (ScriptedSource(), ScriptedSource())
        for n in 1...3 { await a.set(apiOrder(orderId(n), "PREPARING")) }
        for n in 4...5 { await b.set(apiOrder(orderId(n), "IN_PROGRESS")) }
        let recorder = Recorder()
        let pollers = try Self.pollers(store, Self.twoAccounts(a: (1...3).map(orderId), b: (4...5).map(orderId), path: path),
                                       sources: ["a": a, "b": b], recorder: recorder)

        let report = await pollers.pollAllOnce()
        #expect(report.failures.isEmpty)
        #expect(report.events.count == 5)
        for event in report.events {
            let n = Int(event.order.id.suffix(2), radix: 16)!
            #expect(event.order.account == (n <= 3 ? "a" : "b"))
            #expect(event.order.region == (n <= 3 ? "us-west-2" : "eu-west-1"))
        }
        #expect(Set(await a.calls.map(\.orderId)) == Set((1...3).map(orderId)))
        #expect(Set(await b.calls.map(\.orderId)) == Set((4...5).map(orderId)))
        let watched = try await store.watchedOrders()
        #expect(watched.map(\.account) == ["a", "a", "a", "b", "b"])
        #expect(watched.map(\.region) == ["us-west-2", "us-west-2", "us-west-2", "eu-west-1", "eu-west-1"])
        // The history's bodies carry them too (what `history --json` prints).
        let stored = try await store.history(orderId: orderId(4))
        #expect(stored.map(\.order.account) == ["b"])
        #expect(await pollers.status().watching == 5)
    }

    @Test func badCredentialsInOneAccountFailOnlyItsOrders() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let (a, b) = (ScriptedSource(), ScriptedSource())
        let denied = OutpostsError(kind: .credentials, message: "account a: no credentials: profile \"a\" not found")
        await a.set(apiOrder(orderId(1), "PREPARING"))
        await a.script(orderId(1), Array(repeating: .fail(denied), count: 5))
        await b.set(apiOrder(orderId(2), "PREPARING"))
        var settings = Self.twoAccounts(a: [orderId(1)], b: [orderId(2)], path: path)
        settings.poll.failingAfter = 1
        let recorder = Recorder()
        let pollers = try Self.pollers(store, settings, sources: ["a": a, "b": b], recorder: recorder)

        let report = await pollers.pollAllOnce()
        #expect(report.failures.map(\.orderId) == [orderId(1)])
        #expect(report.failures.first?.message.contains("account a") == true)
        #expect(recorder.types(of: orderId(1)) == [.watchFailing])
        #expect(recorder.types(of: orderId(2)) == [.orderFirstSeen])
        #expect(await pollers.status().failing == 1)
    }

    /// A throttling storm in one account leaves the other's rate where it was: each has its own
    /// limiter and back-off. The calm daemon and the stormy one run side by side, so both see
    /// the same machine load; what is compared is account b's calls in the same window.
    @Test func aThrottlingStormSlowsOnlyItsAccount() async throws {
        struct Run {
            let pollers: AccountPollers
            let a: ScriptedSource
            let b: ScriptedSource
        }
        func makeRun(storm: Bool) async throws -> Run {
            let path = try temporaryStorePath()
            let store = try StateStore(path: path)
            let (a, b) = (ScriptedSource(), ScriptedSource())
            let aIds = (1...20).map(orderId), bIds = (101...140).map(orderId)
            for id in aIds {
                await a.set(apiOrder(id, "PREPARING"))
                if storm { await a.script(id, Array(repeating: .throttle, count: 1000)) }
            }
            for id in bIds { await b.set(apiOrder(id, "PREPARING")) }
            let pollers = try Self.pollers(store, Self.twoAccounts(a: aIds, b: bIds, path: path, maxRPS: 20,
                                                                   interval: .seconds(1)),
                                           sources: ["a": a, "b": b], recorder: Recorder())
            return Run(pollers: pollers, a: a, b: b)
        }
        let calm = try await makeRun(storm: false), stormy = try await makeRun(storm: true)
        let loops = [calm, stormy].map { run in Task { try await run.pollers.run() } }
        try await Task.sleep(for: .seconds(1))   // past the start-up burst
        let before = (await calm.b.calls.count, await stormy.b.calls.count)
        let aBefore = await stormy.a.calls.count
        try await Task.sleep(for: .seconds(3))
        let after = (await calm.b.calls.count, await stormy.b.calls.count)
        let aAfter = await stormy.a.calls.count
        for loop in loops { loop.cancel() }
        for loop in loops { try await loop.value }
        let (calmRate, stormRate) = (Double(after.0 - before.0) / 3, Double(after.1 - before.1) / 3)
        let aRate = Double(aAfter - aBefore) / 3
        #expect(calmRate > 0)
        // Against b of the same daemon, measured in the same window: a stall of one daemon's
        // store (a loaded CI machine's fsync) slows both of its accounts alike.
        #expect(aRate < stormRate, "account a backs off under its storm: \(aRate)/s against b's \(stormRate)/s")
        #expect(stormRate >= calmRate * 0.8, "b during a's storm: \(stormRate)/s against \(calmRate)/s calm")
    }

    @Test func reloadAddsMovesAndRemovesAccounts() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let (a, b, c) = (ScriptedSource(), ScriptedSource(), ScriptedSource())
        for n in 1...3 {
            for source in [a, b, c] { await source.set(apiOrder(orderId(n), "PREPARING")) }
        }
        let recorder = Recorder()
        let settings = Self.twoAccounts(a: [orderId(1), orderId(2)], b: [orderId(3)], path: path,
                                        interval: .seconds(1))
        let pollers = try Self.pollers(store, settings, sources: ["a": a, "b": b, "c": c], recorder: recorder)
        try await whileRunning(pollers) {
            #expect(await eventually { recorder.all.count == 3 })
            // Account a goes away, c arrives with order 2 (moved from a), b is unchanged.
            var next = settings
            next.accounts = [AccountSettings(name: "b", region: "eu-west-1"), AccountSettings(name: "c", region: "ap-south-1")]
            next.orders = [OrderSettings(id: orderId(3), account: "b"), OrderSettings(id: orderId(2), account: "c")]
            await pollers.reload(next)
            #expect(await pollers.accountNames == ["b", "c"])
            #expect(await eventually { await c.calls(for: orderId(2)).count >= 1 })
            let watched = try await store.watchedOrders()
            #expect(watched.first { $0.orderId == orderId(1) }?.active == false, "a's order stopped")
            #expect(watched.first { $0.orderId == orderId(2) }.map { ($0.account, $0.region, $0.active) }
                    ?? ("", nil, false) == ("c", "ap-south-1", true))
            #expect(try await store.history(orderId: orderId(1)).count == 1, "its history stays")
            let aCalls = await a.calls.count
            try await Task.sleep(for: .milliseconds(1500))
            #expect(await a.calls.count == aCalls, "nothing polls the removed account any more")
            #expect(await pollers.status().watching == 2)
        }
    }

    @Test func anAccountWhoseTableChangedIsRebuilt() async throws {
        let path = try temporaryStorePath()
        let store = try StateStore(path: path)
        let (old, new) = (ScriptedSource(), ScriptedSource())
        await old.set(apiOrder(orderId(1), "PREPARING"))
        await new.set(apiOrder(orderId(1), "PREPARING"))
        let built = Recorder()
        var settings = settings(orders: [orderId(1)], interval: .seconds(1), path: path)
        settings.accounts = [AccountSettings(name: "default", profile: "old")]
        let pollers = try AccountPollers(
            store: store, settings: settings,
            makeSource: { account, _ in
                AccountPollers.Source(source: account.profile == "old" ? old : new, region: "us-east-1")
            },
            route: { _ in [] }, logger: quietLogger(), onCommit: { built.committed($0) })
        try await whileRunning(pollers) {
            #expect(await eventually { await old.calls.count >= 1 })
            var next = settings
            next.accounts = [AccountSettings(name: "default", profile: "new")]
            await pollers.reload(next)
            let oldCalls = await old.calls.count
            #expect(await eventually { await new.calls.count >= 1 }, "the new credentials poll now")
            try await Task.sleep(for: .milliseconds(1200))
            #expect(await old.calls.count == oldCalls)
        }
    }
}

struct ScenarioFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs every account's loop in a task for the duration of `body`, then cancels it and waits.
func whileRunning<T>(_ pollers: AccountPollers, _ body: () async throws -> T) async throws -> T {
    let loop = Task { try await pollers.run() }
    defer { loop.cancel() }
    let result = try await body()
    loop.cancel()
    try await loop.value
    return result
}
