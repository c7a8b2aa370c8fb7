import Foundation
import Logging
import WatchConfig
import WatchStore

/// Opening the shared PostgreSQL store (docs/high-availability.md): the settings of `[storage]
/// url` and the password from its sources, as one connection.
extension PostgresSettings {
    /// The connection options, with the password from password_file, the credential
    /// postgres-password or a pgpass file (docs/configuration.md, `[storage]`).
    public func connectOptions(environment: [String: String], role: String = "outpostwatch") throws -> PostgresConnectOptions {
        let password: String?
        do {
            password = try PostgresPassword.resolve(self, environment: environment)
        } catch {
            throw CommandFailure(.config, ["\(error)"])
        }
        let tls: PostgresConnectOptions.TLSMode
        switch sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer
        case .require: tls = .require
        case .verifyFull: tls = .verifyFull(rootCertificate: sslRootCert == "system" ? nil : sslRootCert)
        }
        return PostgresConnectOptions(host: host, port: port, user: user, password: password, database: database,
                                      tls: tls, applicationName: applicationName ?? role, redacted: address)
    }
}

/// Opens the store `[storage]` names for a command: the SQLite file, or a PostgreSQL session of
/// its own (not the leader's: commands never take the lock, and never migrate).
public func openCommandStore(_ storage: StorageSettings, readOnly: Bool,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StateStore {
    guard let postgres = storage.postgres else {
        return try StateStore(path: storage.path, readOnly: readOnly)
    }
    let options = try postgres.connectOptions(environment: environment, role: "outpostwatch-cli")
    return try StateStore(postgres: try PostgresDatabase.connect(options), migrate: false)
}

extension StorageSettings {
    /// The SQLite file, or the PostgreSQL URL without password: for messages.
    public var location: String { postgres?.address ?? path }
}

/// The leader's store: a session that took the leader lock, ends itself when idle for
/// `takeover` (a hung leader loses the lock by then), migrated the schema under the lock and
/// recorded this daemon in the leader row (docs/high-availability.md). `nil` when another
/// daemon leads. `onSessionEnd` runs once the session ends, whatever ended it.
public func openLeaderStore(_ postgres: PostgresSettings, environment: [String: String],
                            onSessionEnd: @escaping @Sendable () -> Void = {}) throws -> StateStore? {
    let options = try postgres.connectOptions(environment: environment)
    let session = try PostgresDatabase.connect(options)
    do {
        try session.endSessionWhenIdle(for: postgres.takeover)
        guard try session.takeLeadership(holder: leaderName, pid: getpid()) else {
            session.close()
            return nil
        }
        session.onSessionEnd(onSessionEnd)
    } catch {
        session.close()
        throw error
    }
    // A store that fails to open drops the session, which closes it (and frees the lock).
    return try StateStore(postgres: session, migrate: false)
}

/// "HOST:PID" of this process, as the leader row and a standby's status show it.
public let leaderName: String = {
    var name = [CChar](repeating: 0, count: 256)
    gethostname(&name, name.count)
    let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return "\(host):\(getpid())"
}()
