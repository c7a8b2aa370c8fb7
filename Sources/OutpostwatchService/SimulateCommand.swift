import Foundation
import Logging
import OutpostsSimulator
import Support

/// `outpostwatch simulate`: the fake Outposts endpoint as a foreground process.
public enum SimulateCommand {
    public static func run(listen: String, scenarioPath: String?, speed: Double, logger: Logger) async throws {
        guard let address = ListenAddress(listen) else {
            throw CommandFailure(.usage, "--listen: expected HOST:PORT, got \(listen)")
        }
        guard speed >= 0, speed.isFinite else {
            throw CommandFailure(.usage, "--speed: expected a number ≥ 0, got \(speed)")
        }
        let scenario: Scenario
        if let scenarioPath {
            do {
                scenario = try Scenario.load(contentsOf: URL(fileURLWithPath: scenarioPath))
            } catch {
                throw CommandFailure(.config, "\(scenarioPath): \(error)")
            }
        } else {
            scenario = .default
        }
        let simulator = OutpostsSimulator(scenario: scenario, speed: speed)
        let signals = SignalCancellation()
        try await signals.run {
            try await simulator.run(host: address.host, port: address.port) { bound in
                // The first line on stdout names the address, so scripts can use port 0.
                Output.line("outpostwatch simulator listening on http://\(address.host):\(bound) (\(scenario.orders.count) orders, speed \(speed))")
            }
        }
    }
}

/// Runs a body until it ends or SIGINT/SIGTERM arrives, then cancels it (foreground tools).
struct SignalCancellation {
    func run(_ body: @escaping @Sendable () async throws -> Void) async throws {
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            return DispatchSource.makeSignalSource(signal: sig, queue: .global())
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            let stream = AsyncStream<Void> { continuation in
                for source in sources {
                    source.setEventHandler { continuation.yield() }
                    source.resume()
                }
            }
            group.addTask { try await body() }
            group.addTask {
                for await _ in stream { return }
            }
            _ = try await group.next()
            group.cancelAll()
        }
        for source in sources { source.cancel() }
    }
}
