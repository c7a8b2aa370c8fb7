/// Process exit codes of docs/cli.md (sysexits.h values where one fits).
public enum ExitStatus: Int32, Sendable {
    case success = 0
    /// Any other failure; `once` when a poll failed.
    case failure = 1
    /// EX_USAGE: bad command line.
    case usage = 64
    /// EX_CONFIG: bad configuration (the unit says `RestartPreventExitStatus=78`).
    case config = 78
}

/// An error that ends a command with a given exit status and a message for stderr.
public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    public var status: ExitStatus
    /// Lines for stderr; already free of secrets.
    public var lines: [String]

    public init(_ status: ExitStatus, _ lines: [String]) {
        self.status = status
        self.lines = lines
    }

    public init(_ status: ExitStatus, _ line: String) {
        self.init(status, [line])
    }

    public var description: String { lines.joined(separator: "\n") }
}
