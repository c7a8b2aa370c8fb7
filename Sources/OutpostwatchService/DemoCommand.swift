import Crypto
import Foundation
import Hummingbird
import Logging
import OutpostsAPI
import OutpostsSimulator
import Sinks
import Synchronization
import WatchModel
import WatchStore

/// `outpostwatch demo`: the whole product on one machine with no AWS account.
///
/// In one process: the simulator plays its default scenario on a free loopback port, a webhook
/// receiver verifies every Standard Webhooks signature, and the daemon polls with a temporary
/// config and store. Each transition is printed as the daemon detects it and each webhook as the
/// receiver verifies it; a summary ends the run.
public enum DemoCommand {
    public static func run(speed: Double, keep: Bool, color: Bool) async throws {
        guard speed > 0, speed.isFinite else { throw CommandFailure(.usage, "--speed: expected a number > 0") }
        let style = TerminalStyle(enabled: Terminal.colorAllowed(fd: STDOUT_FILENO, requested: color))
        let started = ContinuousClock.now
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("outpostwatch-demo-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

        // Quiet operational logs: the demo prints its own story.
        var logger = Logger(label: "outpostwatch")
        logger.logLevel = .warning

        let scenario = Scenario.default
        // Servers stopped by cancellation log it at error level: not news in a demo.
        var quiet = Logger(label: "outpostwatch.simulator")
        quiet.logLevel = .critical
        let simulator = OutpostsSimulator(scenario: scenario, speed: speed, logger: quiet)
        let secretKey = SymmetricKey(size: .bits256)
        let secret = "whsec_" + secretKey.withUnsafeBytes { Data($0).base64EncodedString() }
        let receiver = VerifyingReceiver(key: secretKey, style: style)
        let summary = DemoSummary()

        try await withThrowingTaskGroup(of: Void.self) { group in
            let simPort = PortBox()
            let hookPort = PortBox()
            group.addTask {
                try await simulator.run(host: "127.0.0.1", port: 0) { await simPort.set($0) }
            }
            group.addTask { try await receiver.run { await hookPort.set($0) } }
            let simulatorURL = "http://127.0.0.1:\(await simPort.get())"
            let hookURL = "http://127.0.0.1:\(await hookPort.get())/outposts"

            // Poll fast enough to see every step of the scenario separately.
            let gapSeconds = scenario.minimumStepGap / speed
            let intervalMillis = max(50, min(1000, Int(gapSeconds * 1000 / 3)))
            let configPath = dir.appendingPathComponent("config.toml").path
            let storePath = dir.appendingPathComponent("state.db").path
            let orders = scenario.orders.compactMap(\.orderId)
            var toml = """
                # Written by `outpostwatch demo`.
                [aws]
                region = "us-west-2"
                endpoint = "\(simulatorURL)"

                # A second account: the demo signs every account with one key, and the embedded
                # simulator's default scenario declares no accounts, so both reach the same orders.
                [[account]]
                name = "lab"
                region = "us-west-2"
                endpoint = "\(simulatorURL)"

                [poll]
                interval = "\(intervalMillis)ms"
                jitter = 0.0
                concurrency = 4
                max_rps = 100
                terminal_interval = "\(intervalMillis)ms"

                [storage]
                path = "\(storePath)"

                [journald]
                enabled = false


                """
            for (i, id) in orders.enumerated() {
                // The first order in the account `default` ([aws]), the others in `lab`.
                toml += "[[order]]\nid = \"\(id)\"\nlabel = \"\(i == 0 ? "Seattle rack 2" : "Dublin servers")\"\n"
                    + "account = \"\(i == 0 ? "default" : "lab")\"\n\n"
            }
            toml += """
                [[webhook]]
                name = "demo"
                url = "\(hookURL)"
                secret = "\(secret)"
                timeout = "5s"

                """
            try toml.write(toFile: configPath, atomically: true, encoding: .utf8)
            chmod(configPath, 0o600)

            print(style.bold("outpostwatch demo") + " — simulator \(simulatorURL), webhook receiver \(hookURL)")
            print("watching \(orders.joined(separator: ", ")) every \(intervalMillis) ms\n")

            let daemon = Daemon(
                configPath: configPath, logger: logger,
                credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIDDEMO", secretAccessKey: "demo")),
                onEvents: { events in
                    for event in events {
                        summary.detected(event)
                        print("\(style.dim(DemoCommand.clock()))  \(style.cyan("detected"))  #\(event.sequence) \(EventText.sentence(event))")
                    }
                })
            // The daemon returns early only on Ctrl-C (its service group traps SIGINT).
            group.addTask { try await daemon.run() }
            group.addTask {
                // Wait for the scenario to end, then for the outbox to drain.
                let scenarioEnd = (scenario.timeline.map(\.at).max() ?? 0) / speed
                try await Task.sleep(for: .milliseconds(Int(scenarioEnd * 1000) + intervalMillis * 4 + 300))
                let store = try StateStore(path: storePath, readOnly: true)
                let deadline = ContinuousClock.now + .seconds(15)
                while ContinuousClock.now < deadline {
                    let pending = try await store.pendingCounts().values.reduce(0, +)
                    if pending == 0 && receiver.verifiedCount >= summary.webhookBound { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }

        let elapsed = ContinuousClock.now - started
        print("")
        print(style.bold("summary"))
        print("  events detected:            \(summary.total)  (\(summary.byType))")
        print("  webhooks delivered/verified: \(receiver.verifiedCount) of \(receiver.receivedCount) received, \(receiver.rejectedCount) rejected")
        print("  wall time:                  \(elapsed.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
        if keep {
            print("  store:                      \(dir.path)/state.db")
            print("  inspect it:                 outpostwatch history --config \(dir.path)/config.toml")
        } else {
            try? FileManager.default.removeItem(at: dir)
            print("  store:                      removed (run with --keep to inspect it with `outpostwatch history`)")
        }
        if receiver.rejectedCount > 0 || receiver.verifiedCount < summary.webhookBound || summary.total == 0 {
            throw CommandFailure(.failure, "demo: not every transition reached the receiver verified")
        }
    }

    static func clock() -> String {
        let now = Date()
        let f = Date.VerbatimFormatStyle(format: "\(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits)",
                                         timeZone: .current, calendar: Calendar(identifier: .gregorian))
        return now.formatted(f)
    }
}

extension Scenario {
    /// The shortest time between two consecutive timeline steps (scenario seconds), 1 when none.
    var minimumStepGap: Double {
        let times = Set(timeline.map(\.at)).sorted()
        guard times.count > 1 else { return 1 }
        return zip(times.dropFirst(), times).map { $0 - $1 }.min() ?? 1
    }
}

/// A port that becomes known once a server is listening.
actor PortBox {
    private var port: Int?
    private var waiters: [CheckedContinuation<Int, Never>] = []

    func set(_ value: Int) {
        port = value
        for w in waiters { w.resume(returning: value) }
        waiters = []
    }

    func get() async -> Int {
        if let port { return port }
        return await withCheckedContinuation { waiters.append($0) }
    }
}

/// Counts what the demo's daemon detected.
final class DemoSummary: Sendable {
    private let counts = Mutex<[EventType: Int]>([:])

    func detected(_ event: Event) { counts.withLock { $0[event.type, default: 0] += 1 } }

    var total: Int { counts.withLock { $0.values.reduce(0, +) } }

    /// Events a default webhook receives (all but the baseline).
    var webhookBound: Int { counts.withLock { $0.filter { $0.key != .orderFirstSeen }.values.reduce(0, +) } }

    var byType: String {
        counts.withLock { c in
            c.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }
                .joined(separator: ", ")
        }
    }
}

/// The demo's webhook receiver: verifies each Standard Webhooks signature independently of the
/// sender's code path (recomputes the HMAC over `id.timestamp.body`) and prints what arrived.
final class VerifyingReceiver: Sendable {
    let key: SymmetricKey
    let style: TerminalStyle
    private let state = Mutex<(received: Int, verified: Int, rejected: Int)>((0, 0, 0))

    init(key: SymmetricKey, style: TerminalStyle) {
        self.key = key
        self.style = style
    }

    var receivedCount: Int { state.withLock { $0.received } }
    var verifiedCount: Int { state.withLock { $0.verified } }
    var rejectedCount: Int { state.withLock { $0.rejected } }

    func run(onListening: @escaping @Sendable (Int) async -> Void) async throws {
        let router = Router()
        router.post("/outposts") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let bytes = Data(body.readableBytesView)
            let headers = Dictionary(request.headers.map { ($0.name.canonicalName, $0.value) },
                                     uniquingKeysWith: { first, _ in first })
            let ok = self.verify(headers: headers, body: bytes)
            self.record(ok: ok, body: bytes)
            return Response(status: ok ? .noContent : .unauthorized)
        }
        var logger = Logger(label: "demo-receiver")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
                              logger: logger)
        try await app.run()
    }

    func verify(headers: [String: String], body: Data) -> Bool {
        guard let id = headers["webhook-id"],
              let timestamp = headers["webhook-timestamp"],
              let signatures = headers["webhook-signature"],
              let ts = Int(timestamp), abs(Int(Date().timeIntervalSince1970) - ts) < 300 else { return false }
        var signed = Data("\(id).\(timestamp).".utf8)
        signed.append(body)
        let expected = Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
        return signatures.split(separator: " ").contains { $0 == "v1,\(expected)" }
    }

    func record(ok: Bool, body: Data) {
        state.withLock {
            $0.received += 1
            if ok { $0.verified += 1 } else { $0.rejected += 1 }
        }
        if ok, let event = try? EventJSON.decode(body) {
            print("\(style.dim(DemoCommand.clock()))  \(style.green("webhook ✓"))  #\(event.sequence) \(event.type.rawValue) \(event.order.id) — signature verified")
        } else {
            print("\(style.dim(DemoCommand.clock()))  \(style.red("webhook ✗"))  signature rejected")
        }
    }
}

/// ANSI colour when writing to a terminal, plain text otherwise.
struct TerminalStyle: Sendable {
    let enabled: Bool
    func wrap(_ s: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    func bold(_ s: String) -> String { wrap(s, "1") }
    func dim(_ s: String) -> String { wrap(s, "2") }
    func cyan(_ s: String) -> String { wrap(s, "36") }
    func green(_ s: String) -> String { wrap(s, "32") }
    func red(_ s: String) -> String { wrap(s, "31") }
}
