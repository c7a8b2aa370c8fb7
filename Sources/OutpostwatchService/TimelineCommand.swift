import Foundation
import WatchReport
import WatchStore

/// `outpostwatch timeline ORDER_ID [--json]` (docs/cli.md): how long the order and each line
/// item spent in each status, from the stored history (``PhaseTimeline``, the derivation the
/// status page uses too).
public enum TimelineCommand {
    public static func run(configPath: String, orderId: String, json: Bool, now: Date = Date()) async throws {
        let settings = try loadSettings(path: configPath)
        let store = try Commands.openReadOnly(settings)
        guard let watched = try await store.watchedOrder(orderId) else {
            throw CommandFailure(.failure, "no order \(orderId) in \(settings.storage.location)")
        }
        let events = try await store.history(orderId: orderId)
        let timeline = PhaseTimeline.derive(orderId: orderId, events: events, snapshot: watched.snapshot)
        if json { return try Output.json(TimelineJSON(timeline, now: now)) }
        guard !timeline.phases.isEmpty else {
            return Output.line("\(orderId): no history yet (not polled successfully)")
        }
        Output.line(render(timeline, label: watched.label, now: now))
    }

    /// The terminal form: one aligned table for the order, one per line item.
    package static func render(_ timeline: PhaseTimeline, label: String?, now: Date) -> String {
        func table(_ phases: [Phase]) -> String {
            Output.table(["STATUS", "ENTERED", "LEFT", "DURATION"], phases.map { phase in
                [phase.status, Output.time(phase.from), phase.to.map(Output.time) ?? "-",
                 compact(phase.durationSeconds(now: now)) + (phase.to == nil ? " so far" : "")]
            })
        }
        var parts = ["Order \(timeline.orderId)" + (label.map { " (\($0))" } ?? ""), table(timeline.phases)]
        for item in timeline.lineItems where !item.phases.isEmpty {
            parts += ["", "Line item \(item.id)", table(item.phases)]
        }
        return parts.joined(separator: "\n")
    }

    /// `12d 4h`, `3h 20m`, `5m 12s`, `40s`: the two largest units.
    package static func compact(_ seconds: Double) -> String {
        let total = Int(max(0, seconds))
        let units = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)]
        var parts: [String] = []
        var rest = total
        for (name, size) in units where parts.count < 2 {
            let value = rest / size
            rest %= size
            if value > 0 || (!parts.isEmpty) { parts.append("\(value)\(name)") }
        }
        return parts.isEmpty ? "0s" : parts.joined(separator: " ")
    }
}
