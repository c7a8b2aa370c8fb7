import Foundation
import WatchConfig
import WatchStore

/// `outpostwatch migrate-store --from PATH --to URL`: copies a SQLite store into an empty
/// PostgreSQL store (docs/cli.md, docs/high-availability.md).
public enum MigrateStoreCommand {
    /// Copies and prints what was copied. Exit 64 for a bad URL, 78 for an unreadable password
    /// file, 1 for everything else (a non-empty target, an unreachable server, an old source).
    /// No message carries the password: only the URL's address is ever printed.
    public static func run(from path: String, to url: String, passwordFile: String?,
                           environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var settings: PostgresSettings
        do {
            settings = try PostgresSettings.parse(url: url)
        } catch {
            throw CommandFailure(.usage, "--to: \(error)")
        }
        if let passwordFile { settings.passwordFile = passwordFile }
        let options = try settings.connectOptions(environment: environment, role: "outpostwatch-migrate")

        let source: Database
        do {
            source = try Database(path: path, mode: .readOnly)
        } catch {
            throw CommandFailure(.failure, "cannot open the source store: \(error)")
        }
        defer { source.close() }
        let target: PostgresDatabase
        do {
            target = try PostgresDatabase.connect(options)
        } catch {
            throw CommandFailure(.failure, "cannot open the target store: \(error)")
        }
        defer { target.close() }

        let counts: StoreCopy.Counts
        do {
            counts = try StoreCopy.copy(from: source, to: target)
        } catch {
            throw CommandFailure(.failure, "\(error)")
        }
        Output.line("copied \(counts.orders) orders, \(counts.events) events, \(counts.deliveries) deliveries and "
            + "\(counts.attempts) delivery attempts from \(path) into \(settings.address); counts verified")
    }
}
