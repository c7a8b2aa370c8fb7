import Foundation
import WatchStore

// A copy of Tests/WatchStoreTests/PostgresTestServer.swift (this target cannot import a test
// target), cut to what the benchmarks need.

/// A real PostgreSQL server for this benchmark process: started once through
/// scripts/pg-test-server.sh on a free loopback port, stopped by a reaper when the process ends.
/// Each store gets a fresh database of its own.
final class BenchPostgresServer: @unchecked Sendable {
    static let superuserPassword = "postgres-test-superuser-pw"
    let port: Int
    let directory: String

    /// The server, or why none can start here.
    nonisolated(unsafe) static var sharedResult: Result<BenchPostgresServer, any Error>?
    static let lock = NSLock()

    static func shared() throws -> BenchPostgresServer {
        lock.lock()
        defer { lock.unlock() }
        if let sharedResult { return try sharedResult.get() }
        let result = Result { try BenchPostgresServer() }
        sharedResult = result
        return try result.get()
    }

    private init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/pg-test-server.sh").path
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ow-bench-pg-\(getpid())").path
        port = Self.freePort()
        // system(3), not Foundation's Process: its waitUntilExit can hang in a test process whose
        // two cooperative threads are both busy.
        let outputPath = directory + ".out"
        let status = system("/bin/sh '\(script)' start '\(directory)' \(port) >'\(outputPath)' 2>&1 </dev/null")
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        unlink(outputPath)
        guard status == 0 else {
            throw BenchmarkError("cannot start a PostgreSQL server: \(output)")
        }
        // Stops the server once this process is gone, however it ends.
        let reaper = "while kill -0 \(getpid()) 2>/dev/null; do sleep 0.5; done; /bin/sh '\(script)' stop '\(directory)'"
        _ = system("setsid /bin/sh -c \"\(reaper)\" >/dev/null 2>&1 </dev/null &")
    }

    func options(database: String, user: String = "postgres", password: String? = BenchPostgresServer.superuserPassword)
        -> PostgresConnectOptions {
        PostgresConnectOptions(host: "127.0.0.1", port: port, user: user, password: password, database: database, tls: .disable)
    }

    /// A fresh, empty database; dropped by `drop`.
    func createDatabase() throws -> String {
        let name = "b_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try PostgresDatabase.connect(options(database: "postgres"))
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(name)")
        return name
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
