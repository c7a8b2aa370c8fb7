import Foundation
import Support

/// Credentials printed by an external command, the `credential_process` setting of a profile.
///
/// The command runs through `/bin/sh -c` (so quoting and pipes work as a user would type them)
/// with the daemon's environment, and must print the JSON of the AWS "sourcing credentials
/// from an external process" contract: `{"Version": 1, "AccessKeyId", "SecretAccessKey",
/// "SessionToken"?, "Expiration"?}`. A non-zero exit is an error carrying the first line of its
/// stderr; a command still running after `timeout` is killed together with its children.
public struct ProcessCredentialProvider: CredentialSource {
    public let command: String
    public let timeout: Duration
    /// Where the setting came from, e.g. `credential_process of profile default`.
    public let origin: String
    /// The command's environment; `nil` inherits the daemon's.
    public let environment: [String: String]?

    public init(command: String, timeout: Duration = .seconds(30), origin: String = "credential_process",
                environment: [String: String]? = nil) {
        self.command = command
        self.timeout = timeout
        self.origin = origin
        self.environment = environment
    }

    public var sourceName: String { origin }

    public func lookup() async throws -> CredentialLookup {
        let result: ProcessRunner.Result
        do {
            result = try await ProcessRunner.run(command: command, environment: environment, timeout: timeout)
        } catch {
            throw CredentialError(source: sourceName, message: "could not start /bin/sh: \(error)")
        }
        if result.timedOut {
            throw CredentialError(source: sourceName, message: "the command did not finish within \(timeout) and was killed")
        }
        if result.outputTooLarge {
            throw CredentialError(source: sourceName, message: "the command printed more than \(ProcessRunner.outputLimit) bytes")
        }
        guard result.exitStatus == 0 else {
            let firstLine = String(decoding: result.stderr, as: UTF8.self)
                .split(whereSeparator: \.isNewline).first.map { String($0.prefix(300)) } ?? ""
            let how = result.signaled ? "was killed by signal \(result.exitStatus)" : "exited with status \(result.exitStatus)"
            throw CredentialError(source: sourceName, message: "the command \(how)" + (firstLine.isEmpty ? "" : ": \(firstLine)"))
        }
        guard (try? JSONSerialization.jsonObject(with: Data(result.stdout))) is [String: Any] else {
            throw CredentialError(source: sourceName, message: "the command's output is not a JSON object")
        }
        guard let output = try? JSONDecoder().decode(ProcessOutput.self, from: Data(result.stdout)) else {
            throw CredentialError(source: sourceName, message: "the command's output has a field of the wrong type (Version must be the number 1, the others strings)")
        }
        guard output.version == 1 else {
            throw CredentialError(source: sourceName, message: "the command's output must have \"Version\": 1")
        }
        guard let accessKeyId = output.accessKeyId, !accessKeyId.isEmpty else {
            throw CredentialError(source: sourceName, message: "the command's output has no AccessKeyId")
        }
        guard let secret = output.secretAccessKey, !secret.isEmpty else {
            throw CredentialError(source: sourceName, message: "the command's output has no SecretAccessKey")
        }
        var expiration: Date?
        if let raw = output.expiration {
            guard let date = CredentialSupport.parseTimestamp(raw) else {
                throw CredentialError(source: sourceName, message: "the command's Expiration is not an ISO-8601 timestamp")
            }
            expiration = date
        }
        let credentials = AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secret,
                                         sessionToken: output.sessionToken.flatMap { $0.isEmpty ? nil : $0 }, expiration: expiration)
        return .found(credentials)
    }
}

/// The JSON a credential process prints (AWS's "Version 1" contract).
private struct ProcessOutput: Decodable {
    var version: Int?
    var accessKeyId: String?
    var secretAccessKey: String?
    var sessionToken: String?
    var expiration: String?

    enum CodingKeys: String, CodingKey {
        case version = "Version"
        case accessKeyId = "AccessKeyId"
        case secretAccessKey = "SecretAccessKey"
        case sessionToken = "SessionToken"
        case expiration = "Expiration"
    }
}

/// Runs a shell command with a deadline, collecting its output off the cooperative thread pool.
enum ProcessRunner {
    static let outputLimit = 1 << 20

    struct Result: Sendable {
        var exitStatus: Int32
        var signaled: Bool
        var stdout: [UInt8]
        var stderr: [UInt8]
        var timedOut: Bool
        var outputTooLarge: Bool
    }

    static func run(command: String, environment: [String: String]?, timeout: Duration) async throws -> Result {
        let running = RunningProcess()
        let process = running.process
        if let environment { process.environment = environment }
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardOutput = running.stdout
        process.standardError = running.stderr
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { [exited = running.exited] _ in exited.signal() }
        try process.run()

        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: running.collect(timeout: timeout))
            }
        }
    }

    /// A started child and its pipes, used from the blocking dispatch threads only.
    private final class RunningProcess: @unchecked Sendable {
        let process = Process()
        let stdout = Pipe()
        let stderr = Pipe()
        let exited = DispatchSemaphore(value: 0)

        /// Blocks until the child exits (or is killed at the deadline) and its output is read.
        func collect(timeout: Duration) -> Result {
            let group = DispatchGroup()
            let collected = Collected()
            for (index, pipe) in [stdout, stderr].enumerated() {
                group.enter()
                let handle = pipe.fileHandleForReading
                DispatchQueue.global().async {
                    collected.set(index, ProcessRunner.readAll(handle, limit: ProcessRunner.outputLimit + 1))
                    group.leave()
                }
            }
            let seconds = timeout.seconds
            var timedOut = false
            if exited.wait(timeout: .now() + seconds) == .timedOut {
                timedOut = true
                // Foundation starts the child in a process group of its own, so this reaches
                // whatever the shell started too and the pipes close.
                let pid = process.processIdentifier
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                exited.wait()
            }
            // A grandchild that left the group may still hold a pipe open: do not wait for it forever.
            _ = group.wait(timeout: .now() + 2)
            let outputs = collected.get()
            return Result(
                exitStatus: process.terminationStatus,
                signaled: process.terminationReason == .uncaughtSignal,
                stdout: Array(outputs[0].prefix(ProcessRunner.outputLimit)),
                stderr: Array(outputs[1].prefix(ProcessRunner.outputLimit)),
                timedOut: timedOut,
                outputTooLarge: outputs[0].count > ProcessRunner.outputLimit)
        }
    }

    fileprivate static func readAll(_ handle: FileHandle, limit: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < limit {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            bytes.append(contentsOf: chunk)
        }
        // Keep draining so the child never blocks on a full pipe.
        while !handle.availableData.isEmpty {}
        return bytes
    }

    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var outputs: [[UInt8]] = [[], []]
        func set(_ index: Int, _ bytes: [UInt8]) { lock.withLock { outputs[index] = bytes } }
        func get() -> [[UInt8]] { lock.withLock { outputs } }
    }
}
