import Foundation
import Testing
import WatchModel
import WatchStore

/// SIGKILL of a process in the middle of committing loses no committed poll and leaves no half
/// of one. The child is this test binary itself, re-run with an environment variable that turns
/// this test into the writer, so no extra executable target is needed.
@Suite struct CrashTests {
    private static let childVariable = "WATCHSTORE_CRASH_CHILD"

    @Test func sigkillMidCommitLosesNothingCommitted() async throws {
        let environment = ProcessInfo.processInfo.environment
        if let spec = environment[Self.childVariable] {
            try await Self.runChild(spec)
            return
        }
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            let log = dir + "/committed.log"
            try #require(FileManager.default.createFile(atPath: log, contents: nil))
            try await StateStore(path: path).close()   // the parent's reader needs the file to exist

            let child = try ChildProcess(CommandLine.arguments[0],
                                         ["--testing-library", "swift-testing", "--filter", "sigkillMidCommitLosesNothingCommitted"],
                                         environment: environment.merging([Self.childVariable: "\(path)|\(log)"]) { $1 })

            // Wait until the child has committed a good number of polls, then kill it at a random instant.
            let reader = try StateStore(path: path, readOnly: true)
            let deadline = ContinuousClock.now + .seconds(30)
            while try await reader.watchedOrder(Sample.orderA)?.lastSequence ?? 0 < 150 {
                try #require(child.isRunning, "the child writer exited early (wait status \(child.waitStatus ?? -1))")
                try #require(ContinuousClock.now < deadline, "the child writer made no progress in 30 s")
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .microseconds(Int.random(in: 0...20_000)))
            kill(child.pid, SIGKILL)
            #expect(ChildProcess.signal(of: try await child.exit()) == SIGKILL)
            await reader.close()

            let reported = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
            let store = try StateStore(path: path)
            let history = try await store.history(orderId: Sample.orderA)
            let order = try #require(try await store.watchedOrder(Sample.orderA))
            // Every poll the child saw committed is there; at most the one in flight is extra.
            #expect(Array(history.map(\.id).prefix(reported.count)) == reported)
            #expect(history.count - reported.count <= 2)   // two events per poll
            #expect(history.count % 2 == 0)                // never half a poll
            #expect(history.map(\.sequence) == Array(1...Int64(history.count)))
            #expect(order.lastSequence == Int64(history.count))
            #expect(try await store.pendingCounts() == ["journald": history.count, "ops": history.count])
            await store.close()
            let db = try Database(path: path, mode: .readOnly)
            #expect(try db.scalar("PRAGMA integrity_check", as: String.self) == "ok")
            print("SIGKILL: \(reported.count / 2) polls reported committed, \(history.count / 2) found after restart")
        }
    }

    /// The child: commits two-event polls as fast as it can and appends each committed event id
    /// to the log once `commit` returned. Stops by itself after a minute in case nobody kills it.
    private static func runChild(_ spec: String) async throws {
        let parts = spec.split(separator: "|").map(String.init)
        let store = try StateStore(path: parts[0])
        let log = try #require(FileHandle(forWritingAtPath: parts[1]))
        let stop = ContinuousClock.now + .seconds(60)
        var round = 0
        while ContinuousClock.now < stop {
            let events = [Sample.event(at: Double(round)), Sample.lineItemEvent(at: Double(round))]
            let stored = try await store.commit(Sample.success(at: Double(round), events: events), route: Sample.twoSinks)
            try log.seekToEnd()
            try log.write(contentsOf: Data(stored.map { $0.id + "\n" }.joined().utf8))
            round += 1
        }
    }
}
