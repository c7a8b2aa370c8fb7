import Foundation
import Testing
import WatchModel
import WatchStore

/// Each fault gives a clear StoreError naming the file, and nothing committed before it is lost.
@Suite struct FaultTests {
    @Test func lockedDatabaseIsBusyThenRecovers() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            let store = try StateStore(path: path, options: StoreOptions(busyTimeout: .milliseconds(200)))
            let first = try await store.commit(Sample.success(events: [Sample.event()]), route: Sample.twoSinks)
            let locker = try Database(path: path)
            try locker.exec("BEGIN IMMEDIATE")
            let started = ContinuousClock.now
            let error = await storeError {
                _ = try await store.commit(Sample.success(at: 10, events: [Sample.event(at: 10)]), route: Sample.twoSinks)
            }
            let waited = ContinuousClock.now - started
            #expect(error?.kind == .busy)
            #expect(error?.message.contains(path) == true && error?.message.contains("locked") == true)
            #expect(waited >= .milliseconds(150))   // it waited busy_timeout before giving up
            try locker.exec("ROLLBACK")
            let second = try await store.commit(Sample.success(at: 20, events: [Sample.event(at: 20)]), route: Sample.twoSinks)
            #expect(second.map(\.sequence) == [2])
            #expect(try await store.history().map(\.id) == (first + second).map(\.id))
        }
    }

    @Test func corruptFileIsReportedAndLeftUntouched() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            var generator = SystemRandomNumberGenerator()
            let garbage = Data((0..<16384).map { _ in UInt8.random(in: 0...255, using: &generator) })
            try garbage.write(to: URL(fileURLWithPath: path))
            for readOnly in [false, true] {
                let error = await storeError { _ = try StateStore(path: path, readOnly: readOnly) }
                #expect(error?.kind == .corrupt, "readOnly: \(readOnly)")
                #expect(error?.message.contains(path) == true)
                #expect(error?.message.contains("not a database") == true)
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
        }
    }

    @Test func damagedPagesAreReportedAsCorrupt() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            do {
                let store = try StateStore(path: path)
                for round in 0..<20 {
                    _ = try await store.commit(Sample.success(at: Double(round), events: [Sample.event(at: Double(round))]), route: Sample.twoSinks)
                }
                await store.close()   // checkpoints: everything is in the main file now
            }
            // Keep the header page, overwrite every later page with garbage.
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            let size = try handle.seekToEnd()
            try handle.seek(toOffset: 4096)
            try handle.write(contentsOf: Data(repeating: 0xA5, count: Int(size) - 4096))
            try handle.close()
            let error = await storeError {
                let store = try StateStore(path: path)
                _ = try await store.history()
            }
            #expect(error?.kind == .corrupt)
            #expect(error?.message.contains(path) == true)
        }
    }

    @Test func readOnlyFilesystem() async throws {
        try await withTmpfs(size: "4m") { mountPoint in
            guard let mountPoint else {
                #expect(!isCI, "cannot mount a tmpfs (needs root): the read-only filesystem test cannot run")
                return
            }
            let path = mountPoint + "/s.db"
            let committed: [Event]
            do {
                let store = try StateStore(path: path)
                committed = try await store.commit(Sample.success(events: [Sample.event()]), route: Sample.twoSinks)
                await store.close()
            }
            try #require(run("/bin/mount", "-o", "remount,ro", mountPoint) == 0)
            let error = await storeError { _ = try StateStore(path: path) }
            #expect(error?.kind == .readOnly)
            #expect(error?.message.contains(path) == true)
            // status/history still work: a read-only open needs neither -wal nor -shm to be created.
            let reader = try StateStore(path: path, readOnly: true)
            #expect(try await reader.history() == committed)
            let fresh = await storeError { _ = try StateStore(path: mountPoint + "/new.db") }
            #expect(fresh?.kind == .cannotOpen || fresh?.kind == .readOnly)
        }
    }

    @Test func fullDiskFailsTheCommitAndKeepsEarlierOnes() async throws {
        try await withTmpfs(size: "1m") { mountPoint in
            let path: String
            var options = StoreOptions()
            if let mountPoint {
                path = mountPoint + "/s.db"
            } else {
                #expect(!isCI, "cannot mount a tmpfs (needs root): falling back to max_page_count")
                path = FileManager.default.temporaryDirectory.appendingPathComponent("full-\(UUID().uuidString).db").path
                options.maxPageCount = 64
            }
            defer {
                if mountPoint == nil {
                    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                }
            }
            let store = try StateStore(path: path, options: options)
            var committed: [Event] = []
            var failure: StoreError?
            // Large error texts fill the disk in a few hundred commits.
            let bulk = String(repeating: "x", count: 4000)
            for round in 0..<5000 {
                var event = Sample.event(at: Double(round))
                event.error = bulk
                do {
                    committed += try await store.commit(Sample.success(at: Double(round), events: [event]), route: Sample.twoSinks)
                } catch let error as StoreError {
                    failure = error
                    break
                }
            }
            let error = try #require(failure)
            #expect(error.kind == .full, "\(error)")
            #expect(error.message.contains(path))
            #expect(committed.count > 10)
            // The failed commit left nothing behind, on this connection...
            #expect(try await store.history().map(\.sequence) == Array(1...Int64(committed.count)))
            await store.close()
            // ...and after a reopen with room again, every committed event is there and the sequence continues.
            if let mountPoint {
                try #require(run("/bin/mount", "-o", "remount,size=16m", mountPoint) == 0)
            }
            let reopened = try StateStore(path: path, options: StoreOptions())
            #expect(try await reopened.history().map(\.id) == committed.map(\.id))
            #expect(try await reopened.pendingCounts() == ["journald": committed.count, "ops": committed.count])
            let next = try await reopened.commit(Sample.success(at: 9999, events: [Sample.event(at: 9999)]), route: Sample.twoSinks)
            #expect(next.map(\.sequence) == [Int64(committed.count) + 1])
            print("full disk: \(committed.count) commits fitted before SQLITE_FULL: \(error)")
        }
    }

    @Test func deletedFileIsRebuiltFromTheOpenConnection() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            let store = try StateStore(path: path)
            var committed: [Event] = []
            for round in 0..<5 {
                committed += try await store.commit(Sample.success(at: Double(round), events: [Sample.event(at: Double(round))]), route: Sample.twoSinks)
            }
            try FileManager.default.removeItem(atPath: path)

            let error = await storeError {
                _ = try await store.commit(Sample.success(at: 10, events: [Sample.event(at: 10)]), route: Sample.twoSinks)
            }
            #expect(error?.kind == .io)
            #expect(error?.message.contains(path) == true && error?.message.contains("deleted") == true)
            #expect(FileManager.default.fileExists(atPath: path))

            // The retry is stored in the rebuilt file, after everything committed before the deletion.
            let retried = try await store.commit(Sample.success(at: 10, events: [Sample.event(at: 10)]), route: Sample.twoSinks)
            #expect(retried.map(\.sequence) == [6])
            await store.close()
            let reopened = try StateStore(path: path, readOnly: true)
            #expect(try await reopened.history().map(\.id) == (committed + retried).map(\.id))
            #expect(try await reopened.pendingCounts() == ["journald": 6, "ops": 6])
            let db = try Database(path: path, mode: .readOnly)
            #expect(try db.scalar("PRAGMA integrity_check", as: String.self) == "ok")
        }
    }

    @Test func replacedFileIsNeverWritten() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.db"
            let store = try StateStore(path: path)
            _ = try await store.commit(Sample.success(events: [Sample.event()]), route: Sample.twoSinks)
            try FileManager.default.moveItem(atPath: path, toPath: dir + "/aside.db")
            let replacement = Data("not ours".utf8)
            try replacement.write(to: URL(fileURLWithPath: path))
            let error = await storeError {
                _ = try await store.commit(Sample.success(at: 10, events: [Sample.event(at: 10)]), route: Sample.twoSinks)
            }
            #expect(error?.kind == .io)
            #expect(error?.message.contains("replaced") == true)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == replacement)
        }
    }
}
