import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// The one describer of transport failures: an AsyncHTTPClient, NIO or POSIX error turned into
/// one short line for logs, metrics and stored `last_error` columns.
///
/// The line never holds a request's headers, body or URL path (a Slack-style webhook URL carries
/// its secret in the path): it is built from the error's type and errno where they are known,
/// and only for errors of other types from their description, cut at 200 characters.
public enum TransportError {
    /// What went wrong, as far as the error's type tells.
    public enum Kind: Sendable, Equatable {
        /// No (complete) answer in time: a deadline, read, write, TLS-handshake, proxy-handshake
        /// or connection-pool timeout.
        case timeout
        /// The TCP connection could not be set up in time.
        case connectTimeout
        /// Nothing listens there (`ECONNREFUSED`).
        case connectionRefused
        /// The peer reset the connection (`ECONNRESET`, `EPIPE`).
        case connectionReset
        /// The peer closed the connection before the answer was complete.
        case connectionClosed
        /// The host name did not resolve.
        case hostNotFound
        /// Anything else (TLS, protocol, local errors).
        case other
    }

    /// Longest description kept of an error of an unknown type.
    static let maxDescriptionLength = 200

    /// What `error` is, from its type alone (`HTTPClientError`, `ChannelError`, `NIOConnectionError`,
    /// `IOError`, `POSIXError`); `.other` for anything else.
    public static func kind(of error: any Error) -> Kind {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .tlsHandshakeTimeout,
                 .getConnectionFromPoolTimeout, .httpProxyHandshakeTimeout, .socksHandshakeTimeout:
                return .timeout
            case .connectTimeout:
                return .connectTimeout
            case .remoteConnectionClosed:
                return .connectionClosed
            default:
                return .other
            }
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return .connectTimeout
            case .eof: return .connectionClosed
            default: return .other
            }
        }
        if let error = error as? NIOConnectionError {
            // Happy eyeballs tried every address: the first failure with a known kind says it.
            if let kind = error.connectionErrors.lazy.map({ kind(of: $0.error) }).first(where: { $0 != .other }) {
                return kind
            }
            if error.connectionErrors.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil {
                return .hostNotFound
            }
            return .other
        }
        if let code = errno(of: error) {
            switch code {
            case ECONNREFUSED: return .connectionRefused
            case ECONNRESET, EPIPE: return .connectionReset
            default: return .other
            }
        }
        return .other
    }

    /// Whether `error` is a timeout (``Kind/timeout`` or ``Kind/connectTimeout``).
    public static func isTimeout(_ error: any Error) -> Bool {
        let kind = kind(of: error)
        return kind == .timeout || kind == .connectTimeout
    }

    /// One short, secret-free line saying what went wrong: `timed out`, `connect timed out`,
    /// `connection refused`, `connection reset by the server`, `connection closed by the server`,
    /// `cannot resolve HOST`, the `strerror` text of another errno (`network is unreachable`),
    /// or the error's own description, cut at 200 characters.
    public static func describe(_ error: any Error) -> String {
        switch kind(of: error) {
        case .timeout: return "timed out"
        case .connectTimeout: return "connect timed out"
        case .connectionRefused: return "connection refused"
        case .connectionReset: return "connection reset by the server"
        case .connectionClosed: return "connection closed by the server"
        case .hostNotFound: return "cannot resolve \((error as? NIOConnectionError)?.host ?? "the host name")"
        case .other: break
        }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(first.error)
        }
        if let code = errno(of: error) {
            let text = String(cString: strerror(code))
            return text.prefix(1).lowercased() + text.dropFirst()
        }
        // A type this file cannot see (TLS errors, wrappers): its text is all there is.
        let text = String(describing: error)
        if text.contains("connectTimeout") { return "connect timed out" }
        if text.contains("deadlineExceeded") { return "timed out" }
        if text.localizedCaseInsensitiveContains("connection refused") { return "connection refused" }
        if text.localizedCaseInsensitiveContains("connection reset") { return "connection reset by the server" }
        return text.count > maxDescriptionLength ? String(text.prefix(maxDescriptionLength)) + "…" : text
    }

    /// The errno an `IOError` or `POSIXError` carries.
    private static func errno(of error: any Error) -> CInt? {
        if let error = error as? IOError { return error.errnoCode }
        if let error = error as? POSIXError { return error.code.rawValue }
        return nil
    }
}
