import Foundation
import Synchronization
import Testing
import WatchStore

/// A real PostgreSQL server for this test process: started once through
/// scripts/pg-test-server.sh on a free loopback port, stopped by a reaper when the process ends.
/// Each store gets a fresh database of its own.
final class PostgresTestServer: @unchecked Sendable {
    static let superuserPassword = "postgres-test-superuser-pw"
    let port: Int
    let directory: String

    /// The one server of the process (or why none can start here; tests fail under CI=true),
    /// started once by the first caller, awaited by the others.
    private static let starting = Mutex<Task<PostgresTestServer, any Error>?>(nil)

    /// Starting takes seconds (initdb): it runs off the shared threads (``offThePool(_:)``).
    static func shared() async throws -> PostgresTestServer {
        let task = starting.withLock { task in
            if let task { return task }
            let started = Task { try await offThePool { try PostgresTestServer() } }
            task = started
            return started
        }
        return try await task.value
    }

    private init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/pg-test-server.sh").path
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ow-pg-\(getpid())").path
        // system(3), not Foundation's Process: its waitUntilExit can hang in a test process whose
        // two cooperative threads are both busy. A free port can be taken before the server binds
        // it (by any outgoing connection of a test running alongside, whose ephemeral port comes
        // from the same range): the start is tried again on another port, the same data kept.
        let outputPath = directory + ".out"
        var attempt = 0
        while true {
            attempt += 1
            let port = Self.freePort()
            let status = system("/bin/sh '\(script)' start '\(directory)' \(port) >'\(outputPath)' 2>&1 </dev/null")
            let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            unlink(outputPath)
            if status == 0 {
                self.port = port
                break
            }
            guard attempt < 3, output.contains("in use") else {
                throw StoreError(kind: .cannotOpen, message: "cannot start a PostgreSQL test server: \(output)")
            }
        }
        // Stops the server once this process is gone, however it ends.
        let reaper = "while kill -0 \(getpid()) 2>/dev/null; do sleep 0.5; done; /bin/sh '\(script)' stop '\(directory)'"
        _ = system("setsid /bin/sh -c \"\(reaper)\" >/dev/null 2>&1 </dev/null &")
    }

    func options(database: String, user: String = "postgres", password: String? = PostgresTestServer.superuserPassword)
        -> PostgresConnectOptions {
        PostgresConnectOptions(host: "127.0.0.1", port: port, user: user, password: password, database: database, tls: .disable)
    }

    /// A fresh, empty database; dropped by `drop`. `CREATE DATABASE` takes a while and the tests
    /// of both backends ask for one at once: off the cooperative pool.
    func createDatabase() async throws -> String {
        try await offThePool { [self] in
            let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let admin = try PostgresDatabase.connect(options(database: "postgres"))
            defer { admin.close() }
            try admin.execute("CREATE DATABASE \(name)")
            return name
        }
    }

    func drop(_ name: String) {
        guard let admin = try? PostgresDatabase.connect(options(database: "postgres")) else { return }
        defer { admin.close() }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Which store a test runs against: each store test runs on both.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// A fresh store of `backend` for `body` (with a scratch directory), closed and removed after.
/// PostgreSQL: a new database on the shared test server, migrated as the leader does.
func withStore<T>(_ backend: StoreBackend, _ body: (StateStore, String) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { dir in
        switch backend {
        case .sqlite:
            let store = try StateStore(path: dir + "/s.db")
            let result = try await body(store, dir)
            await store.close()
            return result
        case .postgres:
            let server = try await PostgresTestServer.shared()
            let name = try await server.createDatabase()
            do {
                let store = try await offThePool {
                    try StateStore(postgres: try PostgresDatabase.connect(server.options(database: name)), migrate: true)
                }
                let result = try await body(store, dir)
                await store.close()
                await offThePool { server.drop(name) }
                return result
            } catch {
                await offThePool { server.drop(name) }
                throw error
            }
        }
    }
}

/// Runs blocking `work` (a process, a server's answer awaited synchronously) on a thread of its
/// own: the test process has two cooperative threads and, on two cores, as few Dispatch worker
/// threads (which Foundation's `Process` and the tests' timers need), and every other test needs
/// them meanwhile.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

func offThePool(_ work: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { work(); continuation.resume() }
    }
}
