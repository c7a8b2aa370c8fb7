import Foundation
import Testing
import WatchModel
import WatchStore

@Suite struct ReaderTests {
    @Test func readOnlyOpenOfMissingFileFailsWithoutCreatingIt() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/absent.db"
            let error = await storeError { _ = try StateStore(path: path, readOnly: true) }
            #expect(error?.kind == .cannotOpen)
            #expect(error?.message.contains(path) == true && error?.message.contains("no such database") == true)
            #expect(!FileManager.default.fileExists(atPath: path))
            let noDirectory = await storeError { _ = try StateStore(path: dir + "/missing/state.db") }
            #expect(noDirectory?.kind == .cannotOpen)
            #expect(noDirectory?.message.contains("does not exist") == true)
        }
    }

    @Test func readerSeesCommittedDataAndCannotWrite() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            let writer = try StateStore(path: path)
            let committed = try await writer.commit(Sample.success(events: [Sample.event()]), route: Sample.twoSinks)
            let reader = try StateStore(path: path, readOnly: true)
            #expect(try await reader.history() == committed)
            #expect(try await reader.watchedOrder(Sample.orderA)?.lastSequence == 1)
            #expect(try await reader.pendingCounts() == ["journald": 1, "ops": 1])

            let more = try await writer.commit(Sample.success(at: 10, events: [Sample.event(at: 10)]), route: Sample.twoSinks)
            #expect(try await reader.history().map(\.id) == (committed + more).map(\.id))

            let refused = await storeError {
                _ = try await reader.commit(Sample.success(at: 20, events: []), route: Sample.twoSinks)
            }
            #expect(refused?.kind == .readOnly)
        }
    }

    /// A reader is never blocked by a writer's open transaction and never sees its uncommitted rows.
    @Test func readerIsNotBlockedByAnOpenWriteTransaction() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            let writer = try StateStore(path: path)
            _ = try await writer.commit(Sample.success(events: [Sample.event()]), route: Sample.twoSinks)
            let locker = try Database(path: path)
            try locker.exec("BEGIN IMMEDIATE")
            try locker.execute("UPDATE orders SET last_sequence = 99")
            // No busy timeout: a reader the lock blocked would fail with SQLITE_BUSY at once (no
            // timing to assert, which a loaded machine would make flaky).
            let reader = try StateStore(path: path, readOnly: true, options: StoreOptions(busyTimeout: .zero))
            #expect(try await reader.watchedOrder(Sample.orderA)?.lastSequence == 1)
            try locker.exec("COMMIT")
            #expect(try await reader.watchedOrder(Sample.orderA)?.lastSequence == 99)
        }
    }

    /// While one store commits, another connection reads: every read sees a whole prefix of the
    /// history (no gaps, no half-committed poll), and never less than the previous read.
    @Test func concurrentReaderSeesConsistentPrefixes() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            let writer = try StateStore(path: path)
            let reader = try StateStore(path: path, readOnly: true)
            let commits = 150
            let writerDone = Flag()
            let readCount = Counter()
            let writing = Task {
                defer { writerDone.set() }
                for round in 0..<commits {
                    // Two events per poll: a reader must never see one without the other.
                    _ = try await writer.commit(Sample.success(at: Double(round), events: [Sample.event(at: Double(round)), Sample.lineItemEvent(at: Double(round))]),
                                                route: Sample.twoSinks)
                    // Every 10 commits, let the reader catch up once, so reads really interleave with
                    // writes whatever the scheduler does.
                    if round % 10 == 9 {
                        while readCount.value < (round + 1) / 10 { await Task.yield() }
                    }
                }
            }
            var reads = 0
            var last = 0
            var finalRead = false
            while !finalRead {
                // One more read after the writer finished sees everything.
                finalRead = writerDone.isSet
                let sequences = try await reader.history(orderId: Sample.orderA).map(\.sequence)
                #expect(sequences == Array(0..<Int64(sequences.count)).map { $0 + 1 })
                #expect(sequences.count % 2 == 0)
                #expect(sequences.count >= last)
                let pending = try await reader.pendingCounts()["ops"] ?? 0
                #expect(pending >= sequences.count)   // read after the history: deliveries commit with their events
                last = sequences.count
                reads += 1
                readCount.increment()
                await Task.yield()
            }
            #expect(last == commits * 2)
            #expect(reads > commits / 10)
            try await writing.value
            print("concurrent reader: \(reads) consistent reads during \(commits) commits")
        }
    }
}

/// A thread-safe one-way switch.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
