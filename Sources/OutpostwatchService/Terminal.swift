import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a command may do to the terminal it writes to (docs/cli.md, "Terminal output"): colour
/// only on a terminal and only without `NO_COLOR` (https://no-color.org: set and not empty);
/// progress only on a terminal. Piped or redirected output is plain text.
public enum Terminal {
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Colour for output written to `fd`.
    public static func colorAllowed(fd: Int32, requested: Bool = true,
                                    environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        requested && (environment["NO_COLOR"] ?? "").isEmpty && isTerminal(fd)
    }

    /// `once`'s progress on stderr when stderr is a terminal: `polled 3/12 orders`, rewritten in
    /// place with a carriage return (no escape sequence), the line ended when done. `nil`
    /// otherwise, so logs and pipes never see it.
    public static func onceProgress() -> (@Sendable (Int, Int) -> Void)? {
        guard isTerminal(STDERR_FILENO) else { return nil }
        return { done, total in
            let line = "\rpolled \(done)/\(total) order\(total == 1 ? "" : "s")" + (done >= total ? "\n" : "")
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
