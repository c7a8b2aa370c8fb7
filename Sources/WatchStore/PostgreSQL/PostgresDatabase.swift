import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Support

/// Where and how to reach the PostgreSQL store (docs/high-availability.md).
public struct PostgresConnectOptions: Sendable {
    public enum TLSMode: Sendable, Equatable {
        case disable
        /// TLS when the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// TLS always, without checking the certificate.
        case require
        /// TLS always; the certificate must chain to `rootCertificate` (or the system roots) and name the host.
        case verifyFull(rootCertificate: String?)
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var applicationName: String
    public var connectTimeout: Duration
    /// The URL without the password: for every message.
    public var redacted: String

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
                tls: TLSMode = .prefer, applicationName: String = "outpostwatch",
                connectTimeout: Duration = .seconds(5), redacted: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.redacted = redacted ?? "postgresql://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }
}

/// One PostgreSQL session, used synchronously by the store's actor (see ``SQLDatabase``).
///
/// Every call waits for its answer: the store's SQL is short and runs on the store's own thread
/// (``StoreExecutor``). Sessions live on an event loop of their own (``sessionLoop``), so a
/// caller that blocks on a shared event loop (a command, where NIO runs Swift's jobs: see
/// docs/service.md, threads) stalls only itself, never the session it waits for. A session the server ended (a restart, `pg_terminate_backend`,
/// `idle_session_timeout`) turns every later call into `.sessionLost`; it never reconnects by
/// itself, because leadership lives on the session (docs/high-availability.md).
public final class PostgresDatabase: SQLDatabase {
    public let location: String
    public var dialect: SQLDialect { .postgres }
    public private(set) var isInTransaction = false
    let connection: PostgresConnection
    private let logger: Logger
    private var translated: [String: String] = [:]
    private var closed = false

    /// The server process serving this session (`pg_backend_pid()`).
    public private(set) var backendPID = 0

    /// The query waiting for its answer (one at a time: the store's actor runs one statement at a
    /// time). The session's end fails it, so no caller waits on a session that is gone.
    private let inflight = NIOLockedValueBox<EventLoopPromise<PostgresQueryResult>?>(nil)
    /// The longest a statement may wait for its answer (a server that stopped answering without
    /// closing the connection).
    public var statementTimeout: Duration = .seconds(30)

    init(connection: PostgresConnection, location: String, logger: Logger) {
        self.connection = connection
        self.location = location
        self.logger = logger
        let inflight = self.inflight
        let gone = StoreError(kind: .sessionLost, message: "\(location): the database session is gone")
        connection.closeFuture.whenComplete { _ in
            inflight.withLockedValue { promise in
                promise?.fail(gone)
                promise = nil
            }
        }
    }

    deinit {
        if !closed { let _: EventLoopFuture<Void> = connection.close() }
    }

    /// The event loop every PostgreSQL session of the process runs on: not one of the shared
    /// loops that run the polls, the HTTP exchanges and (by default) Swift's jobs.
    static let sessionLoop: any EventLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1).next()

    /// Connects and checks the session with a first query. Errors name the server, never the password.
    public static func connect(_ options: PostgresConnectOptions, logger: Logger = Logger(label: "outpostwatch.postgres")) throws
        -> PostgresDatabase {
        var configuration = PostgresConnection.Configuration(
            host: options.host, port: options.port, username: options.user, password: options.password,
            database: options.database, tls: try tls(options))
        configuration.options.connectTimeout = .milliseconds(Int64(options.connectTimeout.milliseconds))
        configuration.options.additionalStartupParameters = [("application_name", options.applicationName)]
        if case .verifyFull = options.tls { configuration.options.tlsServerName = options.host }
        var quiet = logger
        quiet.logLevel = .critical
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(
                on: sessionLoop, configuration: configuration,
                id: 1, logger: quiet).blockingWait()
        } catch {
            throw describe(error, location: options.redacted, context: "connect", connecting: true)
        }
        let database = PostgresDatabase(connection: connection, location: options.redacted, logger: quiet)
        do {
            database.backendPID = try database.scalar("SELECT pg_backend_pid()", as: Int.self) ?? 0
            return database
        } catch {
            database.close()
            throw error
        }
    }

    private static func tls(_ options: PostgresConnectOptions) throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch options.tls {
        case .disable:
            return .disable
        case .prefer, .require:
            configuration.certificateVerification = .none
        case .verifyFull(let root):
            configuration.certificateVerification = .fullVerification
            if let root { configuration.trustRoots = .file(root) }
        }
        do {
            let context = try NIOSSLContext(configuration: configuration)
            return options.tls == .prefer ? .prefer(context) : .require(context)
        } catch {
            throw StoreError(kind: .cannotOpen, message: "\(options.redacted): TLS setup failed: \(error)")
        }
    }

    /// Called once when the session ends, whatever ended it (on a NIO thread: hand it on, do not block).
    public func onSessionEnd(_ body: @escaping @Sendable () -> Void) {
        connection.closeFuture.whenComplete { _ in body() }
    }

    public var isSessionAlive: Bool { !connection.isClosed }

    // MARK: SQLDatabase

    @discardableResult
    public func execute(_ sql: String, _ parameters: [any SQLValueConvertible]) throws -> Int {
        try run(sql, parameters).metadata.rows ?? 0
    }

    public func query(_ sql: String, _ parameters: [any SQLValueConvertible]) throws -> [Row] {
        try run(sql, parameters).rows.map { row in
            var columns: [String] = []
            var values: [SQLValue] = []
            for cell in row {
                columns.append(cell.columnName)
                values.append(try Self.value(of: cell))
            }
            return Row(columns: columns, values: values)
        }
    }

    public func transaction<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T {
        guard !isInTransaction else {
            throw StoreError(kind: .misuse, message: "\(location): nested transaction")
        }
        _ = try run("BEGIN", [])
        isInTransaction = true
        do {
            let result = try body()
            isInTransaction = false
            _ = try run("COMMIT", [])
            return result
        } catch {
            if isInTransaction {
                isInTransaction = false
                _ = try? run("ROLLBACK", [])
            }
            throw error
        }
    }

    public func close() {
        guard !closed else { return }
        closed = true
        let done: EventLoopFuture<Void> = connection.close()
        _ = try? done.blockingWait()
    }

    // MARK: Running

    private func run(_ sql: String, _ parameters: [any SQLValueConvertible]) throws -> PostgresQueryResult {
        guard !closed else {
            throw StoreError(kind: .misuse, message: "\(location): database is closed")
        }
        var bindings = PostgresBindings(capacity: parameters.count)
        for parameter in parameters {
            switch parameter.sqlValue {
            case .null: bindings.appendNull()
            case .integer(let v): bindings.append(v)
            case .real(let v): bindings.append(v)
            case .text(let v): bindings.append(v)
            case .blob(let v): bindings.append(ByteBuffer(bytes: v))
            }
        }
        let text = postgresText(sql)
        guard !connection.isClosed else {
            throw StoreError(kind: .sessionLost, message: "\(location): \(Self.summary(sql)): the database session is gone")
        }
        let promise = connection.eventLoop.makePromise(of: PostgresQueryResult.self)
        inflight.withLockedValue { $0 = promise }
        connection.query(PostgresQuery(unsafeSQL: text, binds: bindings), logger: logger).cascade(to: promise)
        let timeout = connection.eventLoop.scheduleTask(in: .milliseconds(statementTimeout.milliseconds)) {
            promise.fail(StoreError(kind: .sessionLost,
                                    message: "\(self.location): \(Self.summary(sql)): no answer within \(self.statementTimeout)"))
        }
        defer {
            timeout.cancel()
            inflight.withLockedValue { $0 = nil }
        }
        if connection.isClosed {
            promise.fail(StoreError(kind: .sessionLost, message: "\(location): \(Self.summary(sql)): the database session is gone"))
        }
        do {
            return try promise.futureResult.blockingWait()
        } catch {
            throw Self.describe(error, location: location, context: Self.summary(sql), connecting: false)
        }
    }

    /// SQLite's `?NNN` and `?` parameters as PostgreSQL's `$N` (quoted text left alone); cached.
    func postgresText(_ sql: String) -> String {
        if let done = translated[sql] { return done }
        let done = Self.translate(sql)
        translated[sql] = done
        return done
    }

    package static func translate(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8)
        var next = 1
        var quote: Character?
        var chars = sql.makeIterator()
        var pending: Character? = chars.next()
        while let c = pending {
            pending = chars.next()
            if let q = quote {
                out.append(c)
                if c == q { quote = nil }
                continue
            }
            if c == "'" || c == "\"" {
                quote = c
                out.append(c)
                continue
            }
            guard c == "?" else {
                out.append(c)
                continue
            }
            var digits = ""
            while let d = pending, d.isASCII, d.isNumber {
                digits.append(d)
                pending = chars.next()
            }
            if let number = Int(digits) {
                out += "$\(number)"
                next = max(next, number + 1)
            } else {
                out += "$\(next)"
                next += 1
            }
        }
        return out
    }

    private static func value(of cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8, .oid:
            return .integer(try cell.decode(Int64.self))
        case .float4, .float8:
            return .real(try cell.decode(Double.self))
        case .numeric:
            let text = try cell.decode(String.self)
            if let integer = Int64(text) { return .integer(integer) }
            return .real(Double(text) ?? .nan)
        case .bool:
            return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .bytea:
            var buffer = try cell.decode(ByteBuffer.self)
            return .blob(Data(buffer.readBytes(length: buffer.readableBytes) ?? []))
        default:
            return .text(try cell.decode(String.self))
        }
    }

    /// The first line of a statement, as the SQLite connection says it in messages.
    static func summary(_ sql: String) -> String {
        Database.summary(sql)
    }

    /// A ``StoreError`` saying what the server (or the network) said; never the password.
    static func describe(_ error: any Error, location: String, context: String, connecting: Bool) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let psql = error as? PSQLError else {
            let kind: StoreError.Kind = connecting ? .cannotOpen : .sessionLost
            return StoreError(kind: kind, message: "\(location): \(context): \(error)")
        }
        if let info = psql.serverInfo {
            let state = info[.sqlState] ?? ""
            let message = info[.message] ?? "error"
            let kind: StoreError.Kind
            switch state {
            case "28P01", "28000", "3D000", "08001", "08004": kind = .cannotOpen
            case "53100": kind = .full
            case "40001", "40P01", "55P03": kind = .busy
            case "25006", "42501": kind = .readOnly
            case "57P01", "57P02", "57P03", "57P05", "08006", "08003": kind = .sessionLost
            default: kind = connecting ? .cannotOpen : .other
            }
            var text = "\(location): \(context): \(message) (SQLSTATE \(state))"
            if let detail = info[.detail] { text += ": \(detail)" }
            return StoreError(kind: kind, message: text)
        }
        let reason = psql.underlying.map { "\($0)" } ?? "\(psql.code)"
        switch psql.code {
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return StoreError(kind: connecting ? .cannotOpen : .sessionLost,
                              message: "\(location): \(context): the database session is gone (\(reason))")
        case .connectionError:
            return StoreError(kind: connecting ? .cannotOpen : .sessionLost,
                              message: "\(location): \(context): cannot reach the server (\(reason))")
        case .sslUnsupported:
            return StoreError(kind: .cannotOpen, message: "\(location): the server does not offer TLS (sslmode requires it)")
        case .authMechanismRequiresPassword:
            return StoreError(kind: .cannotOpen,
                              message: "\(location): the server asks for a password and none is configured (password_file, the credential postgres-password or PGPASSFILE)")
        default:
            return StoreError(kind: connecting ? .cannotOpen : .other, message: "\(location): \(context): \(psql.code) (\(reason))")
        }
    }
}

// A session is used by one owner at a time: the standby loop, then the leader's store it is
// handed to (docs/high-availability.md); never by two at once.
extension PostgresDatabase: @unchecked Sendable {}

extension EventLoopFuture {
    /// Blocks the calling thread until the future completes, on any thread but the future's own
    /// loop: unlike `wait()`, which refuses every event loop thread, this may run on a shared
    /// loop, since the sessions' loop is another (``PostgresDatabase/sessionLoop``).
    func blockingWait() throws -> Value {
        precondition(!eventLoop.inEventLoop, "a PostgreSQL call on the sessions' own event loop")
        let outcome = Outcome<Value>()
        whenComplete { result in
            outcome.done.lock()
            outcome.result = result
            outcome.done.unlock(withValue: true)
        }
        outcome.done.lock(whenValue: true)
        defer { outcome.done.unlock() }
        return try outcome.result!.get()
    }
}

/// The result ``EventLoopFuture/blockingWait()`` waits for, handed over under its lock.
private final class Outcome<Value>: @unchecked Sendable {
    let done = ConditionLock(value: false)
    var result: Result<Value, any Error>?
}
