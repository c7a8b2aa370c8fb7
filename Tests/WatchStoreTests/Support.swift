import Foundation
import Testing
import WatchModel
import WatchStore

/// A fresh directory under the system temp dir, removed when the test ends.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("watchstore-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}

/// A tmpfs of `size` mounted on a fresh directory for the duration of `body`, or `nil` passed
/// to `body` when mounting is impossible here (not root, no mount namespace rights).
func withTmpfs<T>(size: String, _ body: (String?) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        let mountPoint = directory + "/mnt"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard run("/bin/mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mountPoint) == 0 else {
            return try await body(nil)
        }
        defer { _ = run("/bin/umount", "-l", mountPoint) }
        return try await body(mountPoint)
    }
}

/// Runs a command, waiting for it; returns its exit status.
@discardableResult
func run(_ executable: String, _ arguments: String...) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do {
        try process.run()
    } catch {
        return -1
    }
    process.waitUntilExit()
    return process.terminationStatus
}

/// Whether a test that cannot find what it needs must fail instead of skipping.
var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

/// Calls `body` and returns the StoreError it throws; records an issue if it throws nothing or
/// something else.
func storeError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> StoreError? {
    do {
        try await body()
        Issue.record("expected a StoreError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Builders of realistic orders and events. Instants are whole milliseconds, the precision of
/// the event JSON.
enum Sample {
    static let orderA = "oo-0123456789abcdef0"
    static let orderB = "oo-0123456789abcdef1"
    static let base = Date(timeIntervalSince1970: 1_780_000_000)

    static func at(_ seconds: Double) -> Date { base.addingTimeInterval(seconds) }

    static func snapshot(_ orderId: String = orderA, status: String = "IN_PROGRESS",
                         items: [(String, String)] = [("li-1", "BUILDING"), ("li-2", "BUILDING")]) -> OrderSnapshot {
        OrderSnapshot(orderId: orderId, outpostId: "op-0123456789abcdef0", status: status,
                      // A fractional, non-millisecond instant: it must survive the store bit for bit.
                      submissionDate: Date(timeIntervalSince1970: 1_765_432_101.123_456_7),
                      paymentOption: "ALL_UPFRONT", paymentTerm: "THREE_YEARS", orderType: "OUTPOST",
                      lineItems: items.map { id, itemStatus in
                          LineItemSnapshot(lineItemId: id, catalogItemId: "CAT1", quantity: 1, status: itemStatus,
                                           shipment: itemStatus == "SHIPPED" ? Shipment(carrier: "UPS", trackingNumber: "1Z999") : nil,
                                           assets: [Asset(assetId: "a-1", macAddresses: ["0a:00:00:00:00:01"])])
                      })
    }

    static func event(_ orderId: String = orderA, type: EventType = .orderStatusChanged, from: String? = "PREPARING",
                      to: String? = "IN_PROGRESS", at seconds: Double = 0, id: String = Event.newID()) -> Event {
        Event(id: id, type: type, occurredAt: at(seconds),
              order: OrderRef(id: orderId, outpostId: "op-0123456789abcdef0", label: "Seattle rack 2", status: to),
              change: Change(field: .status, from: .from(from), to: .from(to)))
    }

    static func lineItemEvent(_ orderId: String = orderA, at seconds: Double = 0) -> Event {
        Event(type: .lineItemShipmentChanged, occurredAt: at(seconds),
              order: OrderRef(id: orderId, outpostId: "op-0123456789abcdef0", label: nil, status: "IN_PROGRESS"),
              lineItem: LineItemRef(id: "li-1", catalogItemId: "CAT1", quantity: 1, status: "SHIPPED",
                                    shipment: Shipment(carrier: "UPS", trackingNumber: "1Z999"),
                                    assets: [Asset(assetId: "a-1", macAddresses: ["0a:00:00:00:00:01"])]),
              change: Change(field: .shipment, from: .null,
                             to: .shipment(Shipment(carrier: "UPS", trackingNumber: "1Z999"))))
    }

    static func success(_ orderId: String = orderA, at seconds: Double = 0, snapshot: OrderSnapshot? = nil,
                        events: [Event]) -> PollCommit {
        PollCommit(orderId: orderId, polledAt: at(seconds), succeeded: true, snapshot: snapshot ?? Sample.snapshot(orderId),
                   consecutiveFailures: 0, failing: false, notFound: false, lastError: nil, events: events)
    }

    static func failure(_ orderId: String = orderA, at seconds: Double, failures: Int, failing: Bool = false,
                        error: String = "GetOrder: connection refused", events: [Event] = []) -> PollCommit {
        PollCommit(orderId: orderId, polledAt: at(seconds), succeeded: false, snapshot: nil,
                   consecutiveFailures: failures, failing: failing, notFound: false, lastError: error, events: events)
    }

    /// Routes every event to the two sinks of a typical config.
    static let twoSinks: @Sendable (Event) -> [String] = { _ in ["journald", "ops"] }
}

/// A child process started with posix_spawn and reaped by the test itself, never by Foundation's
/// `Process`, whose `waitUntilExit` spins a run loop on a cooperative thread and was seen to miss
/// a child's death while the test process's two cooperative threads were busy.
final class ChildProcess {
    let pid: pid_t
    /// The raw wait status, once the child has been reaped.
    private(set) var waitStatus: Int32?

    /// Starts `executable` with `arguments` and `environment`, output to /dev/null.
    init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard result == 0 else {
            throw StoreError(kind: .cannotOpen, message: "cannot start \(executable): error \(result)")
        }
        self.pid = pid
    }

    /// Whether the child still runs (reaps it when it has ended).
    var isRunning: Bool {
        guard waitStatus == nil else { return false }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return true }
        waitStatus = status
        return false
    }

    /// Waits for the child to end, without holding the calling thread.
    func exit() async throws -> Int32 {
        while isRunning { try await Task.sleep(for: .milliseconds(5)) }
        return waitStatus!
    }

    /// The signal that ended the child, if one did.
    static func signal(of status: Int32) -> Int32? {
        status & 0x7f != 0 && status & 0x7f != 0x7f ? status & 0x7f : nil
    }
}
