import Foundation
import Logging
import Sinks
import Testing
import WatchModel

/// Makes sure a journald is listening: starts `/lib/systemd/systemd-journald` in its own session
/// when the socket is missing (containers and CI runners have no systemd as PID 1).
/// Returns whether the socket is there.
func ensureJournald() -> Bool {
    if Journal.isAvailable { return true }
    let daemon = "/lib/systemd/systemd-journald"
    guard FileManager.default.isExecutableFile(atPath: daemon) else { return false }
    // setsid: journald must outlive this test process and not get its signals.
    _ = try? runProcess("/bin/sh", ["-c", "(setsid \(daemon) >/dev/null 2>&1 &)"])
    let deadline = Date().addingTimeInterval(5)
    while !Journal.isAvailable && Date() < deadline { usleep(20_000) }
    return Journal.isAvailable
}

/// A journald to test against, or a recorded failure under CI=true.
let journaldReady: Bool = ensureJournald()

/// The entries `journalctl` has for `field=value`, retrying briefly (journald writes asynchronously).
func journalEntries(_ match: String, expected: Int = 1) async throws -> [[String: Any]] {
    let deadline = ContinuousClock.now + .seconds(5)
    while true {
        let result = try runProcess("/usr/bin/journalctl", ["-o", "json", "--no-pager", "--all", match])
        let entries = result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        if entries.count >= expected || ContinuousClock.now > deadline { return entries }
        try await Task.sleep(for: .milliseconds(50))
    }
}

@Suite("journald")
struct JournaldTests {
    @Test("each event is one entry with every field", .enabled(if: journaldReady || runningInCI, "no journald here"))
    func eventEntry() async throws {
        try #require(journaldReady, "journald is not running and could not be started")
        var event = shippedEvent()
        event.sequence = 7
        #expect(await JournaldSink().send(event) == .delivered(status: 0))
        let entry = try #require(try await journalEntries("EVENT_ID=\(event.id)").first)
        let expected: [String: String] = [
            "MESSAGE": "Order oo-0123456789abcdef0 (Seattle rack 2) line item li-1234: BUILDING → SHIPPED (UPS 1Z999AA10123456784)",
            "PRIORITY": "5",
            "MESSAGE_ID": "c9bd99c433464354b93ee2585dbb86d0",
            "SYSLOG_IDENTIFIER": "outpostwatch",
            "EVENT_ID": event.id,
            "EVENT_TYPE": "line_item.status_changed",
            "EVENT_SEQUENCE": "7",
            "ORDER_ID": "oo-0123456789abcdef0",
            "OUTPOST_ID": "op-0123456789abcdef0",
            "ORDER_LABEL": "Seattle rack 2",
            "LINE_ITEM_ID": "li-1234",
            "FROM_STATUS": "BUILDING",
            "TO_STATUS": "SHIPPED",
            "SHIPMENT_CARRIER": "UPS",
            "SHIPMENT_TRACKING_NUMBER": "1Z999AA10123456784",
        ]
        for (field, value) in expected {
            #expect(entry[field] as? String == value, "\(field)")
        }
    }

    @Test("warnings: CANCELLED, ERROR, not_found and failing get priority 4",
          .enabled(if: journaldReady || runningInCI, "no journald here"))
    func warningPriority() async throws {
        try #require(journaldReady, "journald is not running and could not be started")
        let order = OrderRef(id: testOrderId, label: "rack", status: "CANCELLED")
        let cancelled = Event(type: .orderStatusChanged, occurredAt: Date(), order: order,
                              change: Change(field: .status, from: .string("IN_PROGRESS"), to: .string("CANCELLED")))
        let failing = Event(type: .watchFailing, occurredAt: Date(), order: order,
                            change: Change(field: .watch, from: .string("ok"), to: .string("failing")),
                            error: "connection refused\nby peer")
        for event in [cancelled, failing] {
            #expect(await JournaldSink().send(event).isDelivered)
        }
        let cancelledEntry = try #require(try await journalEntries("EVENT_ID=\(cancelled.id)").first)
        #expect(cancelledEntry["PRIORITY"] as? String == "4")
        #expect(cancelledEntry["OUTPOST_ID"] == nil, "fields that do not apply are absent")
        #expect(cancelledEntry["LINE_ITEM_ID"] == nil)
        let failingEntry = try #require(try await journalEntries("EVENT_ID=\(failing.id)").first)
        #expect(failingEntry["PRIORITY"] as? String == "4")
        #expect(failingEntry["MESSAGE"] as? String == "Order oo-0123456789abcdef0 (rack): polling is failing: connection refused by peer")
        #expect(failingEntry["POLL_ERROR"] as? String == "connection refused\nby peer")
        #expect(failingEntry["MESSAGE_ID"] as? String == JournaldSink.messageIDs[.watchFailing])
    }

    @Test("operational logs: structured fields, levels, redacted secrets",
          .enabled(if: journaldReady || runningInCI, "no journald here"))
    func logHandler() async throws {
        try #require(journaldReady, "journald is not running and could not be started")
        let run = UUID().uuidString
        var logger = Logger(label: "outpostwatch.test") { JournalLogHandler(label: $0, level: .debug) }
        logger[metadataKey: "test_run"] = "\(run)"
        logger.warning("poll failed", metadata: [
            "order_id": "oo-0123456789abcdef0",
            "webhook_secret": "whsec_c2VjcmV0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIA",
            "nested": ["session_token": "FwoG", "region": "us-west-2"],
            "1st-try": "yes",
            "_hidden": "x",
            "message": "not the message",
        ])
        let entry = try #require(try await journalEntries("TEST_RUN=\(run)").first)
        #expect(entry["MESSAGE"] as? String == "poll failed")
        #expect(entry["PRIORITY"] as? String == "4")
        #expect(entry["SYSLOG_IDENTIFIER"] as? String == "outpostwatch")
        #expect(entry["ORDER_ID"] as? String == "oo-0123456789abcdef0")
        #expect(entry["WEBHOOK_SECRET"] as? String == "[REDACTED]")
        #expect(entry["AUTHORIZATION"] as? String == "[REDACTED]")
        #expect(entry["NESTED"] as? String == "[region: us-west-2, session_token: [REDACTED]]")
        #expect(entry["F_1ST_TRY"] as? String == "yes")
        #expect(entry["HIDDEN"] as? String == "x")
        #expect(entry["META_MESSAGE"] as? String == "not the message")
        #expect((entry["CODE_FILE"] as? String)?.hasSuffix("JournaldTests.swift") == true)
        #expect(Int(entry["CODE_LINE"] as? String ?? "") ?? 0 > 0)
        #expect((entry["CODE_FUNC"] as? String)?.contains("logHandler") == true)
        let text = try runProcess("/usr/bin/journalctl", ["-o", "json", "--no-pager", "TEST_RUN=\(run)"]).stdout
        for secret in ["c2VjcmV0", "AKIA", "FwoG"] { #expect(!text.contains(secret)) }
    }

    @Test("a socket file with no process behind it is not a journald")
    func staleSocketIsNotAvailable() throws {
        // A real datagram socket: listening while bound and open, stale once closed (the file
        // stays, connections are refused), like the socket of a journald killed by a restart.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("socket").path
        #expect(!Journal.isListening(path), "no file at all")
        // CLOEXEC: a process another test starts meanwhile (journalctl) must not keep it open.
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0, "bind: \(String(cString: strerror(errno)))")
        #expect(Journal.isListening(path), "bound and open")
        close(fd)
        #expect(FileManager.default.fileExists(atPath: path), "the file outlives the socket")
        #expect(!Journal.isListening(path), "stale: nobody behind the file")
    }

    @Test("the catalog documents exactly the MESSAGE_IDs the code writes, and journalctl accepts it")
    func catalog() throws {
        let path = repositoryRoot.appendingPathComponent("systemd/outpostwatch.catalog")
        let text = try String(contentsOf: path, encoding: .utf8)
        let blocks = text.components(separatedBy: "\n-- ").dropFirst()
        var ids: [String] = []
        for block in blocks {
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
            let id = String(lines[0])
            ids.append(id)
            #expect(id.count == 32 && id.allSatisfy(\.isHexDigit) && id == id.lowercased())
            #expect(lines.contains { $0.hasPrefix("Subject: ") }, "\(id) has a Subject")
            #expect(lines.contains("Defined-By: outpostwatch"), "\(id) has Defined-By")
            #expect(lines.contains { $0.hasPrefix("Documentation: ") }, "\(id) has Documentation")
            #expect(lines.filter { !$0.isEmpty && !$0.contains(": ") }.count >= 2, "\(id) explains itself")
        }
        #expect(ids.sorted() == JournaldSink.messageIDs.values.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(Set(JournaldSink.messageIDs.keys) == Set(EventType.allCases))

        // journalctl's own parser reads it (into a scratch root, not the system catalog).
        let journalctl = "/usr/bin/journalctl"
        guard FileManager.default.isExecutableFile(atPath: journalctl) else {
            #expect(!runningInCI, "journalctl is missing")
            return
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let catalogDir = root.appendingPathComponent("usr/lib/systemd/catalog")
        try FileManager.default.createDirectory(at: catalogDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("var/lib/systemd/catalog"),
                                                withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: path, to: catalogDir.appendingPathComponent("outpostwatch.catalog"))
        #expect(try runProcess(journalctl, ["--root=\(root.path)", "--update-catalog"]).status == 0)
        let listed = try runProcess(journalctl, ["--root=\(root.path)", "--list-catalog"]).stdout
        let listedIDs = listed.split(separator: "\n").map { String($0.prefix(32)) }
        #expect(listedIDs.sorted() == JournaldSink.messageIDs.values.sorted())
    }
}

@Suite("Logging")
struct LoggingTests {
    @Test("stderr lines: time, level, message, sorted metadata, secrets redacted")
    func stderrLine() {
        let event = LogEvent(level: .warning, message: "delivery attempt failed", metadata: nil, source: "Sinks",
                             file: "f.swift", function: "g()", line: 1)
        let line = StderrLogOutput.line(event: event, metadata: [
            "sink": "ops", "error": "HTTP 500: boom\nsecond line", "password": "hunter2",
        ], at: Date(timeIntervalSince1970: 1_800_000_000.25))
        #expect(line == #"2027-01-15T08:00:00.250Z warning delivery attempt failed error="HTTP 500: boom second line" password=[REDACTED] sink=ops"#)
    }

    @Test("journald field names follow journald's rules")
    func fieldNames() {
        #expect(Journal.fieldName("order_id") == "ORDER_ID")
        #expect(Journal.fieldName("hb.request.id") == "HB_REQUEST_ID")
        #expect(Journal.fieldName("_SYSTEMD_UNIT") == "SYSTEMD_UNIT")
        #expect(Journal.fieldName("9lives") == "F_9LIVES")
        #expect(Journal.fieldName("") == "F_")
        #expect(Journal.fieldName("ünïcode-key") == "N_CODE_KEY")
        #expect(Journal.fieldName(String(repeating: "a", count: 100)).count == 64)
        #expect(JournalLogOutput.priority(.critical) == 2 && JournalLogOutput.priority(.debug) == 7)
    }

    @Test("secret-looking keys are redacted")
    func redaction() {
        for key in ["secret", "webhook_secret", "AWS_SESSION_TOKEN", "password", "Authorization", "x-api-key"] {
            #expect(LogRedaction.isSecretKey(key), "\(key)")
        }
        for key in ["order_id", "sink", "status", "error"] {
            #expect(!LogRedaction.isSecretKey(key), "\(key)")
        }
    }

    @Test("journald is chosen only when stderr is the journal stream")
    func journalChoice() {
        #expect(!LoggingSetup.shouldUseJournal(environment: [:]))
        #expect(!LoggingSetup.shouldUseJournal(environment: ["JOURNAL_STREAM": "1:2"]),
                "stderr of the test is not that stream")
    }
}

@Suite("Event text")
struct EventTextTests {
    static let order = OrderRef(id: "oo-0123456789abcdef0", outpostId: "op-1", label: "Seattle rack 2", status: "IN_PROGRESS")

    @Test("one sentence per event type")
    func sentences() {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let item = LineItemRef(id: "1234", status: "BUILDING")
        func text(_ type: EventType, _ change: Change, lineItem: LineItemRef? = nil, error: String? = nil) -> String {
            EventText.sentence(Event(type: type, occurredAt: at, order: Self.order, lineItem: lineItem, change: change,
                                     error: error))
        }
        let prefix = "Order oo-0123456789abcdef0 (Seattle rack 2)"
        #expect(text(.orderFirstSeen, Change(field: .status, from: .null, to: .string("IN_PROGRESS")))
            == "\(prefix): now watched, status IN_PROGRESS")
        #expect(text(.orderStatusChanged, Change(field: .status, from: .string("IN_PROGRESS"), to: .string("DELIVERED")))
            == "\(prefix): IN_PROGRESS → DELIVERED")
        #expect(text(.orderFulfilled, Change(field: .fulfilledDate, from: .null, to: .string("2027-01-15T08:00:00Z")))
            == "\(prefix): fulfilled (2027-01-15T08:00:00Z)")
        #expect(text(.lineItemAdded, Change(field: .lineItem, from: .null, to: .string("1234")), lineItem: item)
            == "\(prefix) line item 1234: added, status BUILDING")
        #expect(text(.lineItemRemoved, Change(field: .lineItem, from: .string("1234"), to: .null), lineItem: item)
            == "\(prefix) line item 1234: removed (was 1234)")
        let shipment = Shipment(carrier: "FEDEX", trackingNumber: "7712")
        #expect(text(.lineItemShipmentChanged, Change(field: .shipment, from: .null, to: .shipment(shipment)), lineItem: item)
            == "\(prefix) line item 1234: shipment none → FEDEX 7712")
        let assets = [Asset(assetId: "a-1", macAddresses: ["0A:1B:2C:3D:4E:5F"])]
        #expect(text(.lineItemAssetsChanged, Change(field: .assets, from: .null, to: .assets(assets)), lineItem: item)
            == "\(prefix) line item 1234: assets none → a-1[0A:1B:2C:3D:4E:5F]")
        #expect(text(.orderNotFound, Change(field: .status, from: .string("IN_PROGRESS"), to: .null))
            == "\(prefix): not found (GetOrder answers NotFoundException)")
        #expect(text(.watchFailing, Change(field: .watch, from: .string("ok"), to: .string("failing")), error: "timeout")
            == "\(prefix): polling is failing: timeout")
        #expect(text(.watchRecovered, Change(field: .watch, from: .string("failing"), to: .string("ok")))
            == "\(prefix): polling recovered")
    }

    @Test("warning events")
    func warnings() {
        let at = Date()
        func event(_ type: EventType, to: String) -> Event {
            Event(type: type, occurredAt: at, order: Self.order, change: Change(field: .status, from: .null, to: .string(to)))
        }
        #expect(EventText.isWarning(event(.orderStatusChanged, to: "CANCELLED")))
        #expect(EventText.isWarning(event(.lineItemStatusChanged, to: "ERROR")))
        #expect(EventText.isWarning(event(.orderNotFound, to: "x")))
        #expect(!EventText.isWarning(event(.orderStatusChanged, to: "DELIVERED")))
    }
}
