import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import OutpostwatchService
import Sinks
import WatchModel
#if canImport(CMalloc)
import CMalloc
#endif

/// `outpostwatch`: the command line of docs/cli.md. Argument parsing only; the work is in
/// `OutpostwatchService.Commands`, `Daemon`, `Simulate` and `Demo`.
@main
struct Outpostwatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpostwatch",
        abstract: "Watch AWS Outposts orders and report every change to journald and webhooks.",
        discussion: """
            Config: --config PATH, else $OUTPOSTWATCH_CONFIG, else /etc/outpostwatch/config.toml.
            Exit status: 0 success, 1 failure, 64 usage error, 78 configuration error.
            """,
        version: OutpostwatchVersion.string,
        subcommands: [Run.self, Once.self, CheckConfig.self, Status.self, History.self, Deliveries.self,
                      Redeliver.self, TestSink.self, Simulate.self, Demo.self, Assets.self, Timeline.self,
                      MigrateStore.self])

    /// The entry point: the arguments are parsed first, because the command decides how many
    /// event loops the process runs (``eventLoops(for:)``); then NIO's event loops run Swift
    /// concurrency's jobs too, so an answer is handled on the thread that read it
    /// (docs/service.md, threads; `OUTPOSTWATCH_NIO_EXECUTOR=0` keeps Swift's own pool, for
    /// comparison), then the command.
    static func main() async {
        limitMallocArenas()
        do {
            var command = try parseAsRoot()
            let environment = ProcessInfo.processInfo.environment
            if environment["NIO_SINGLETON_GROUP_LOOP_COUNT"] == nil {
                NIOSingletons.groupLoopCountSuggestion = eventLoops(for: command)
            }
            if environment["OUTPOSTWATCH_NIO_EXECUTOR"] != "0" {
                NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
            }
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// Event loops (threads) for a command: one for the daemon and every other command, whose
    /// work is waiting on the network (a poll's answer takes tens of milliseconds), so nothing
    /// is handed from one loop's thread to another's; one per core for the simulator, a server
    /// that answers many clients at once. NIO's own `NIO_SINGLETON_GROUP_LOOP_COUNT=N` in the
    /// environment overrides it (docs/service.md, threads).
    static func eventLoops(for command: any ParsableCommand) -> Int {
        command is Simulate ? System.coreCount : 1
    }

    /// Runs a command body, turning ``CommandFailure`` into its message and exit status.
    static func perform(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let failure as CommandFailure {
            for line in failure.lines { Output.error(line) }
            throw ExitCode(failure.status.rawValue)
        }
    }

    static func logger(verbose: Bool = false) -> Logger {
        LoggingSetup.bootstrap(level: verbose ? .debug : .info)
        return Logger(label: "outpostwatch")
    }
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The config file (default: $OUTPOSTWATCH_CONFIG, else /etc/outpostwatch/config.toml).")
    var config: String?

    var path: String { resolveConfigPath(config) }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground (systemd Type=notify).",
        discussion: "SIGHUP re-reads the config; SIGTERM and SIGINT stop it, leaving pending deliveries in the store.")

    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Log debug messages.") var verbose = false

    func run() async throws {
        try await Outpostwatch.perform {
            try await Daemon(configPath: options.path, logger: Outpostwatch.logger(verbose: verbose)).run()
        }
    }
}

struct Once: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Poll every watched order once, record and emit, print the transitions, exit.",
        discussion: "Exits 1 when any poll failed, after recording and emitting what the others found.")

    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print the transitions as one JSON array of events.") var json = false

    func run() async throws {
        try await Outpostwatch.perform {
            try await Commands.once(configPath: options.path, json: json, logger: Outpostwatch.logger())
        }
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the config: exit 0 with a summary, or 78 with every error as FILE:LINE:COL: message.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        try await Outpostwatch.perform { try Commands.checkConfig(configPath: options.path) }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One row per watched order: status, line items by status, last poll, last change, failures.",
        discussion: "With ORDER_ID, that order in detail: account and region, quote ids, shipments.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "Only this order (oo-…), in detail.") var orderId: String?
    @Option(name: .long, help: "Only the orders of this account (a configured [[account]] name, or default).")
    var account: String?
    @Flag(name: .long, help: "Print one JSON array (one object with ORDER_ID).") var json = false

    func run() async throws {
        try await Outpostwatch.perform {
            try await Commands.status(configPath: options.path, json: json, account: account, orderId: orderId)
        }
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Transitions, oldest first.",
        discussion: "--json prints a JSON array of events shaped exactly like the webhook body.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "Only this order (oo-…).") var orderId: String?
    @Option(name: .long, help: "Only events since this time: ISO-8601 (2026-11-28T12:00:00Z) or a duration ago (24h).")
    var since: String?
    @Option(name: .long, help: "Only the events of this account's orders.") var account: String?
    @Flag(name: .long, help: "Print one JSON array.") var json = false

    func run() async throws {
        try await Outpostwatch.perform {
            try await Commands.history(configPath: options.path, orderId: orderId, since: since, json: json,
                                       account: account)
        }
    }
}

struct Timeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "How long the order and each line item spent in each status.",
        discussion: "From the stored history: entered, left, duration (the current stay so far). --json prints {\"order_id\", \"phases\", \"line_items\"}.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The order (oo-…).") var orderId: String
    @Flag(name: .long, help: "Print one JSON object.") var json = false

    func run() async throws {
        try await Outpostwatch.perform {
            try await TimelineCommand.run(configPath: options.path, orderId: orderId, json: json)
        }
    }
}

struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Webhook and journald deliveries with attempts and last error.")

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "pending, failed or delivered.") var state: String?
    @Option(name: .long, help: "Show the newest N (0: all).") var limit = 1000
    @Flag(name: .long, help: "Print one JSON array.") var json = false

    func run() async throws {
        try await Outpostwatch.perform {
            try await Commands.deliveries(configPath: options.path, state: state, json: json, limit: limit)
        }
    }
}

struct Redeliver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send an event again now (to one sink, or every sink it had) and record the attempt.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The event id (evt_…).") var eventId: String
    @Option(name: .long, help: "Only this sink.") var sink: String?

    func run() async throws {
        try await Outpostwatch.perform {
            try await Commands.redeliver(configPath: options.path, eventId: eventId, sink: sink,
                                         logger: Outpostwatch.logger())
        }
    }
}

struct MigrateStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract: "Copy a SQLite store into an empty PostgreSQL store, every row with the same ids, in one transaction.",
        discussion: """
            Stop the daemon on the SQLite file first. The target must be empty; the counts of both sides are \
            compared before committing. The password comes from --password-file, else the credential \
            postgres-password, else PGPASSFILE (never from the URL). See docs/high-availability.md.
            """)

    @Option(name: .long, help: "The SQLite store to copy (e.g. /var/lib/outpostwatch/state.db).") var from: String
    @Option(name: .long, help: "The PostgreSQL store: postgresql://USER@HOST:PORT/DATABASE?sslmode=…") var to: String
    @Option(name: .long, help: "A file holding the PostgreSQL password.") var passwordFile: String?

    func run() async throws {
        try await Outpostwatch.perform {
            try MigrateStoreCommand.run(from: from, to: to, passwordFile: passwordFile)
        }
    }
}

struct TestSink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-sink",
        abstract: "Send a synthetic event, signed like real ones, through one sink and print the result.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The sink name (a [[webhook]] name, or journald).") var name: String

    func run() async throws {
        try await Outpostwatch.perform {
            try await Commands.testSink(configPath: options.path, name: name, logger: Outpostwatch.logger())
        }
    }
}

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a local fake Outposts endpoint (GetOrder, ListOrders) from a scenario.",
        discussion: "Without --scenario it plays the built-in scenario: two orders through a full lifecycle.")

    @Option(name: .long, help: "HOST:PORT to listen on.") var listen = "127.0.0.1:8714"
    @Option(name: .long, help: "A scenario file (JSON, see docs/simulator.md).") var scenario: String?
    @Option(name: .long, help: "Scenario time runs this many times faster than real time; 0 waits for the admin API.")
    var speed: Double = 1

    func run() async throws {
        try await Outpostwatch.perform {
            try await SimulateCommand.run(listen: listen, scenarioPath: scenario, speed: speed,
                                          logger: Outpostwatch.logger())
        }
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole pipeline against the embedded simulator, no AWS account needed.",
        discussion: "Starts the simulator, a webhook receiver that verifies signatures and the daemon, shows each transition and delivery, and prints a summary.")

    @Option(name: .long, help: "Scenario speed factor (1 plays it in about 20 s).") var speed: Double = 1
    @Flag(name: .long, help: "Keep the temporary directory with the config and the store.") var keep = false
    @Flag(name: .long, help: "Never use colour.") var noColor = false

    func run() async throws {
        try await Outpostwatch.perform {
            try await DemoCommand.run(speed: speed, keep: keep, color: !noColor)
        }
    }
}

/// At most two malloc arenas, unless `MALLOC_ARENA_MAX` says otherwise: glibc gives each thread
/// that allocates under contention an arena of its own, and memory freed in one is not reused by
/// another, so the event loops and the store's thread each kept megabytes of their own
/// (docs/service.md, threads).
private func limitMallocArenas() {
    #if canImport(CMalloc)
    if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil {
        _ = mallopt(M_ARENA_MAX, 2)
    }
    #endif
}
