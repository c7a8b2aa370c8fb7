import Foundation
import Support
import Testing
import WatchModel
import WatchStore

/// The two store backends under the same workload, side by side: SQLite (a file, the daemon's
/// settings: `StateStore(path:)`) and PostgreSQL (a real server on loopback, through
/// scripts/pg-test-server.sh, fsync on). Printed, never asserted: figures depend on the machine.
///
/// - commit latency of a poll result that changes (one event, two deliveries): median and p95;
/// - quiet polls (nothing changed) per CPU-second of this process (getrusage user+sys), 1000
///   orders: the poller's two paths, `commit` of a PollCommit with onlyPollTimesChanged (the
///   answer's fingerprint is unchanged) and `commitEvaluated` (reads the order, then holds the
///   times), each pass ending with the `flushPollTimes` that writes the held times;
/// - changed commits per second (wall) and per CPU-second.
///
/// The PostgreSQL server's own CPU is not in these figures (another process): only this one's.
@Suite(.serialized) struct StoreBackendBenchmarks {
    static let orders = 1000
    static let changedCommits = 300
    static let quietPasses = 3

    @Test func sqliteBesidePostgres() async throws {
        let sqlite = try await Self.measureSQLite()
        let postgres: Result<Figures, any Error>
        do {
            postgres = .success(try await Self.measurePostgres())
        } catch {
            postgres = .failure(error)
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("PostgreSQL: \(error)") }
        }
        Self.printTable(sqlite: sqlite, postgres: postgres)
    }

    struct Figures {
        var commitMedianMs: Double
        var commitP95Ms: Double
        var commitMaxMs: Double
        var changedPerSecond: Double
        var changedPerCPUSecond: Double
        var quietCommitPerCPUSecond: Double
        var quietEvaluatedPerCPUSecond: Double
        var quietEvaluatedMicroseconds: Double
    }

    static func measureSQLite() async throws -> Figures {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-backends-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try StateStore(path: directory + "/state.db")
        do {
            let figures = try await measure(store)
            await store.close()
            return figures
        } catch {
            await store.close()
            throw error
        }
    }

    static func measurePostgres() async throws -> Figures {
        let server = try BenchPostgresServer.shared()
        let name = try server.createDatabase()
        defer { server.drop(name) }
        let store = try StateStore(postgres: try PostgresDatabase.connect(server.options(database: name)), migrate: true)
        do {
            let figures = try await measure(store)
            await store.close()
            return figures
        } catch {
            await store.close()
            throw error
        }
    }

    /// The same workload on either store.
    static func measure(_ store: StateStore) async throws -> Figures {
        let ids = (0..<orders).map { String(format: "oo-%017x", 0xb000_0000 + $0) }
        try await store.syncWatchSet(ids.map { (id: $0, label: "rack \($0.suffix(4))") }, source: .config)
        // Every order polled once with its first answer: a stored snapshot, as in a running daemon.
        let start = Date()
        for id in ids {
            _ = try await store.commit(poll(id, at: start, status: "BUILDING", events: []), route: twoSinks)
        }

        // Quiet polls, path 1: the answer's fingerprint is unchanged, the poller commits the times only.
        var clock = start
        let quietCommitCPU = try await cpuSeconds {
            for _ in 0..<quietPasses {
                clock += 60
                for id in ids {
                    let quiet = PollCommit(orderId: id, polledAt: clock, succeeded: true, snapshot: nil, consecutiveFailures: 0,
                                           failing: false, notFound: false, lastError: nil, events: [],
                                           onlyPollTimesChanged: true)
                    _ = try await store.commit(quiet, route: twoSinks)
                }
                try await store.flushPollTimes()
            }
        }
        // Quiet polls, path 2: commitEvaluated reads the order, the evaluation finds nothing new.
        let evaluatedStarted = ContinuousClock.now
        let quietEvaluatedCPU = try await cpuSeconds {
            for _ in 0..<quietPasses {
                clock += 60
                let at = clock
                for id in ids {
                    let stored = try await store.commitEvaluated(id, route: twoSinks) { watched in
                        PollCommit(orderId: watched.orderId, polledAt: at, succeeded: true, snapshot: watched.snapshot,
                                   consecutiveFailures: 0, failing: false, notFound: false, lastError: nil, events: [],
                                   onlyPollTimesChanged: true)
                    }
                    precondition(stored?.commit.onlyPollTimesChanged == true)
                }
                try await store.flushPollTimes()
            }
        }
        let evaluatedWall = (ContinuousClock.now - evaluatedStarted).seconds

        // Changed polls: one event and a new snapshot each, two deliveries; a few warm-up commits first.
        for round in 0..<20 {
            clock += 1
            _ = try await store.commit(changed(ids[round % orders], round: round, at: clock), route: twoSinks)
        }
        var latencies: [Double] = []
        latencies.reserveCapacity(changedCommits)
        let changedStarted = ContinuousClock.now
        let changedCPU = try await cpuSeconds {
            for round in 20..<(20 + changedCommits) {
                clock += 1
                let result = changed(ids[round % orders], round: round, at: clock)
                let before = ContinuousClock.now
                let events = try await store.commit(result, route: twoSinks)
                latencies.append((ContinuousClock.now - before).seconds * 1000)
                precondition(events.count == 1)
            }
        }
        let changedWall = (ContinuousClock.now - changedStarted).seconds
        let pending = try await store.pendingCounts()
        precondition(pending["journald"] == 20 + changedCommits && pending["ops"] == 20 + changedCommits)

        let sorted = latencies.sorted()
        let quietPolls = Double(orders * quietPasses)
        return Figures(commitMedianMs: sorted[sorted.count / 2],
                       commitP95Ms: sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.95))],
                       commitMaxMs: sorted.last ?? 0,
                       changedPerSecond: Double(changedCommits) / changedWall,
                       changedPerCPUSecond: Double(changedCommits) / changedCPU,
                       quietCommitPerCPUSecond: quietPolls / quietCommitCPU,
                       quietEvaluatedPerCPUSecond: quietPolls / quietEvaluatedCPU,
                       quietEvaluatedMicroseconds: evaluatedWall / quietPolls * 1e6)
    }

    static func printTable(sqlite: Figures, postgres: Result<Figures, any Error>) {
        let head = "sqlite (file)"
        let pgHead = "postgresql (loopback)"
        func row(_ label: String, _ value: (Figures) -> Double, _ format: String) -> String {
            let left = String(format: format, value(sqlite))
            let right: String = switch postgres {
            case .success(let figures): String(format: format, value(figures))
            case .failure: "n/a"
            }
            return "MEASURE [store backends] " + label.padding(toLength: 44, withPad: " ", startingAt: 0)
                + left.leftPad(14) + right.leftPad(24)
        }
        var lines = [
            "MEASURE [store backends] \(orders) orders; changed commit = 1 event + 2 deliveries; quiet polls = \(quietPasses) passes over all orders + 1 flushPollTimes per pass; CPU = this process (getrusage user+sys)",
            "MEASURE [store backends] " + "".padding(toLength: 44, withPad: " ", startingAt: 0) + head.leftPad(14) + pgHead.leftPad(24),
            row("changed commit latency, median (ms)", \.commitMedianMs, "%.3f"),
            row("changed commit latency, p95 (ms)", \.commitP95Ms, "%.3f"),
            row("changed commit latency, max (ms)", \.commitMaxMs, "%.3f"),
            row("changed commits / s (\(changedCommits), wall)", \.changedPerSecond, "%.0f"),
            row("changed commits / CPU-s", \.changedPerCPUSecond, "%.0f"),
            row("quiet polls / CPU-s, commit (held times)", \.quietCommitPerCPUSecond, "%.0f"),
            row("quiet polls / CPU-s, commitEvaluated", \.quietEvaluatedPerCPUSecond, "%.0f"),
            row("quiet poll via commitEvaluated, wall (µs)", \.quietEvaluatedMicroseconds, "%.1f"),
        ]
        if case .failure(let error) = postgres {
            lines.append("MEASURE [store backends] postgresql n/a: \(error)")
        }
        print(lines.joined(separator: "\n"))
    }

    // MARK: - Workload

    static let twoSinks: @Sendable (Event) -> [String] = { _ in ["journald", "ops"] }

    static func snapshot(_ orderId: String, status: String) -> OrderSnapshot {
        OrderSnapshot(orderId: orderId, outpostId: "op-0123456789abcdef0", status: "IN_PROGRESS",
                      submissionDate: Date(timeIntervalSince1970: 1_765_432_101.123_456_7),
                      paymentOption: "ALL_UPFRONT", paymentTerm: "THREE_YEARS", orderType: "OUTPOST",
                      lineItems: ["li-1", "li-2"].map { id in
                          LineItemSnapshot(lineItemId: id, catalogItemId: "CAT1", quantity: 1, status: status,
                                           assets: [Asset(assetId: "a-\(id)", macAddresses: ["0a:00:00:00:00:01"])])
                      })
    }

    static func poll(_ orderId: String, at: Date, status: String, events: [Event]) -> PollCommit {
        PollCommit(orderId: orderId, polledAt: at, succeeded: true, snapshot: snapshot(orderId, status: status),
                   consecutiveFailures: 0, failing: false, notFound: false, lastError: nil, events: events)
    }

    /// A poll whose answer changed: a line item moved, one event about it, the new snapshot.
    static func changed(_ orderId: String, round: Int, at: Date) -> PollCommit {
        let (from, to) = round % 2 == 0 ? ("BUILDING", "SHIPPED") : ("SHIPPED", "BUILDING")
        let event = Event(type: .lineItemStatusChanged, occurredAt: at,
                          order: OrderRef(id: orderId, outpostId: "op-0123456789abcdef0", label: "rack", status: "IN_PROGRESS"),
                          lineItem: LineItemRef(id: "li-1", catalogItemId: "CAT1", quantity: 1, status: to),
                          change: Change(field: .status, from: .string(from), to: .string(to)))
        return poll(orderId, at: at, status: to, events: [event])
    }

    /// User + system CPU seconds of this process spent while `body` ran.
    static func cpuSeconds(_ body: () async throws -> Void) async rethrows -> Double {
        let before = processCPUSeconds()
        try await body()
        return processCPUSeconds() - before
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

private extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? " " + self : String(repeating: " ", count: width - count) + self
    }
}
