import CSystemd
import Foundation
import WatchModel

#if canImport(Glibc)
import Glibc
#endif

/// Why the journal refused an entry.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    /// The negative errno `sd_journal_sendv` returned.
    public var code: Int32

    public var description: String {
        "journald refused the entry: \(String(cString: strerror(-code))) (\(code))"
    }
}

/// Direct access to the systemd journal through libsystemd's native protocol.
///
/// The native protocol keeps every field separate and searchable (`journalctl ORDER_ID=…`),
/// which writing lines to stderr would not.
public enum Journal {
    /// The socket journald listens on for native-protocol entries.
    public static let socketPath = "/run/systemd/journal/socket"

    /// Whether a journald is there to receive entries: its socket accepts a connection.
    ///
    /// The socket file alone proves nothing: it outlives a journald that was killed (a container
    /// or CI runner restarted without its journald), and entries sent to it are refused.
    public static var isAvailable: Bool {
        isListening(socketPath)
    }

    /// Whether a datagram socket at `path` has a process bound to it.
    public static func isListening(_ path: String) -> Bool {
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
        #else
        return FileManager.default.fileExists(atPath: path)
        #endif
    }

    /// Sends one entry. Field names must already follow journald's rules (see ``fieldName(_:)``);
    /// values may hold any text, newlines included.
    public static func send(_ fields: [(String, String)]) throws {
        // sd_journal_sendv reads the buffers synchronously, so they only need to outlive the call.
        var buffers: [UnsafeMutableRawBufferPointer] = []
        buffers.reserveCapacity(fields.count)
        defer { buffers.forEach { $0.deallocate() } }
        var vectors: [iovec] = []
        vectors.reserveCapacity(fields.count)
        for (name, value) in fields {
            let bytes = Array(name.utf8) + [UInt8(ascii: "=")] + Array(value.utf8)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            buffer.copyBytes(from: bytes)
            buffers.append(buffer)
            vectors.append(iovec(iov_base: buffer.baseAddress, iov_len: bytes.count))
        }
        let result = vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        if result < 0 { throw JournalError(code: result) }
    }

    /// A journald field name made from any key: upper-cased, only `A-Z`, `0-9` and `_`, not
    /// starting with `_` (reserved for trusted fields) or a digit, at most 64 characters.
    public static func fieldName(_ key: String) -> String {
        var name = String(key.uppercased().unicodeScalars.map { scalar -> Character in
            let c = Character(scalar)
            return (("A"..."Z").contains(c) || ("0"..."9").contains(c)) ? c : "_"
        })
        while name.hasPrefix("_") { name.removeFirst() }
        if name.first.map({ ("0"..."9").contains($0) }) ?? true { name = "F_" + name }
        return String(name.prefix(64))
    }
}

/// The journald sink: one structured journal entry per event.
///
/// Entries carry a catalogued `MESSAGE_ID` per event type (see `systemd/outpostwatch.catalog`)
/// so `journalctl -x` explains them, and one field per fact so they can be filtered.
public struct JournaldSink: EventSink {
    public let name = JournaldSink.sinkName

    /// The name deliveries to journald are routed by.
    public static let sinkName = "journald"
    /// `SYSLOG_IDENTIFIER` of every entry outpostwatch writes.
    public static let syslogIdentifier = "outpostwatch"

    /// The 128-bit `MESSAGE_ID` of each event type; the catalog documents exactly these.
    public static let messageIDs: [EventType: String] = [
        .orderFirstSeen: "6247fd53625945a0a4799fc20b103dad",
        .orderStatusChanged: "b0580adc1d9b44ce8566a5c433c5fed1",
        .orderFulfilled: "8bb8ce9d2aaf4ee28878c556e535b0bf",
        .lineItemAdded: "6995390f229d490fba48833573f595f2",
        .lineItemRemoved: "18df5cfb785d45a0b6fc9cfea1bc12a8",
        .lineItemStatusChanged: "c9bd99c433464354b93ee2585dbb86d0",
        .lineItemShipmentChanged: "f2976a8b509343ec87dbc79b635cf043",
        .lineItemAssetsChanged: "0ce329e517014d6d8ad676b633673627",
        .orderNotFound: "f2c44568c22749faae3a1fbab48d0fda",
        .watchFailing: "bdd977ce7029474ab7302abedd97440b",
        .orderStalled: "5d1c3e0b9a7f4c2e8b6d4f1a2c3e5b7d",
        .lineItemStalled: "8e2f4a6c1b3d4e5f9a7c6b5d4e3f2a1c",
        .watchRecovered: "20e49571f5cb44458234b04db062db2b",
    ]

    public init() {}

    /// One entry at a time: `sd_journal_sendv` is a local datagram, nothing to overlap.
    public var defaultConcurrency: Int { 1 }

    public func send(_ stored: StoredEvent) async -> SinkOutcome {
        do {
            try Journal.send(Self.fields(for: stored.event))
            return .delivered(status: 0)
        } catch {
            return .retry(status: nil, error: "\(error)", retryAfter: nil)
        }
    }

    /// The journal fields of an event, in a stable order.
    public static func fields(for event: Event) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("MESSAGE", EventText.sentence(event)),
            ("PRIORITY", EventText.isWarning(event) ? "4" : "5"),
            ("MESSAGE_ID", messageIDs[event.type]!),
            ("SYSLOG_IDENTIFIER", syslogIdentifier),
            ("EVENT_ID", event.id),
            ("EVENT_TYPE", event.type.rawValue),
            ("EVENT_SEQUENCE", String(event.sequence)),
            ("ORDER_ID", event.order.id),
        ]
        func add(_ name: String, _ value: String?) {
            if let value, !value.isEmpty { fields.append((name, value)) }
        }
        add("OUTPOST_ID", event.order.outpostId)
        add("ACCOUNT", event.order.account)
        add("REGION", event.order.region)
        add("ORDER_LABEL", event.order.label)
        add("ORDER_STATUS", event.order.status)
        add("LINE_ITEM_ID", event.lineItem?.id)
        if event.change.field == .status {
            if case .string(let from) = event.change.from { add("FROM_STATUS", from) }
            if case .string(let to) = event.change.to { add("TO_STATUS", to) }
        }
        add("SHIPMENT_CARRIER", event.shipment?.carrier)
        add("SHIPMENT_TRACKING_NUMBER", event.shipment?.trackingNumber)
        add("SHIPMENT_TRACKING_URL", event.shipment?.trackingURL)
        add("POLL_ERROR", event.error)
        if case .stall(let stall) = event.change.to {
            add("STALLED_STATUS", stall.status)
            add("STALLED_SINCE", ISO8601.format(stall.since))
            add("STALL_THRESHOLD", stall.threshold)
        }
        return fields
    }
}
