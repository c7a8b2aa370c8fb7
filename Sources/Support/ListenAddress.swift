import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `HOST:PORT` address to listen on (`simulate --listen`, `[metrics] listen`): the one parser
/// of that syntax.
///
/// The host is a name of letters, digits, `.` and `-` (`localhost`, `metrics.internal`), an IPv4
/// address (`127.0.0.1`, `0.0.0.0`) or an IPv6 address in brackets (`[::1]`, `[::]`); the port is
/// 1 to 5 ASCII digits from 0 to 65535. Nothing else is accepted: no empty host, no spaces, no
/// unbracketed IPv6, no sign or other text in the port.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host as written, without the brackets of an IPv6 address.
    public var host: String
    /// 0 to 65535 (0: any free port).
    public var port: Int

    /// Parses `HOST:PORT`; `nil` when `text` is not one.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), port <= 65535 else { return nil }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { return nil }
            host = String(host.dropFirst().dropLast())
            var v6 = in6_addr()
            guard inet_pton(AF_INET6, host, &v6) == 1 else { return nil }
        } else {
            guard !host.isEmpty, host.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-"
            }) else { return nil }
        }
        self.host = host
        self.port = port
    }

    /// `HOST:PORT` again, IPv6 hosts in brackets: what ``init(_:)`` reads back.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
