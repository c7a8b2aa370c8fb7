import Foundation
import OutpostsAPI
import OutpostsSimulator
import Testing

/// Proof that the simulator speaks the real AWS wire format: boto3's own Outposts client, run by
/// Tests/python/boto3_interop.py, talks to it and must parse exactly what the simulator holds.
@Suite struct SimulatorInteropTests {
    static let scriptURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/boto3_interop.py")
    static let onCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let boto3Available: Bool = {
        guard let result = try? runProcess(["python3", "-c", "import boto3, botocore"], stdin: Data(), timeout: 30) else { return false }
        return result.status == 0
    }()

    @Test(.enabled(if: boto3Available || onCI, "python3 with boto3 is not installed (set CI=true to make this a failure)"))
    func boto3ReadsTheSimulatorAsAWS() async throws {
        try #require(Self.boto3Available, "python3 with boto3 and botocore is required (CI=true)")
        let simulator = OutpostsSimulator(scenario: .default, speed: 0, region: "us-west-2")
        // The end state has every field: shipments, assets, a fulfilled date, a cancelled order.
        await simulator.advanceToEnd()
        try await simulator.putOrder(Order(
            outpostId: "op-0123456789abcdef0", orderId: "oo-00000000000000abc", status: "IN_PROGRESS",
            lineItems: [LineItem(catalogItemId: "OR-ZZZZ999", lineItemId: "ooi-00000000000000abc", quantity: 3, status: "BUILDING",
                                 previousLineItemId: "ooi-00000000000000abb", previousOrderId: "oo-00000000000000abb")],
            paymentOption: "PARTIAL_UPFRONT", orderSubmissionDate: Date(timeIntervalSince1970: 1_764_331_200.25),
            paymentTerm: "FIVE_YEARS", orderType: "REPLACEMENT"))
        let orders = await simulator.currentOrders()
        #expect(orders.count == 3)
        let expected: [String: Any] = ["orders": orders.map(Self.expectedJSON), "missingOrderId": "oo-00000000000000fff"]
        let input = try JSONSerialization.data(withJSONObject: expected, options: [.sortedKeys])

        let result = try await withRunningSimulator(simulator) { base in
            try await runProcessOffThePool(["python3", Self.scriptURL.path, "--endpoint", base], stdin: input, timeout: 60)
        }
        #expect(result.status == 0, "boto3_interop.py failed:\n\(result.output)")
        #expect(result.output.contains("0 failure(s)"), "\(result.output)")
        // The script really talked to us: every order once, three list pages, the retries.
        let stats = await simulator.stats()
        #expect(stats.calls(SimulatorOperation.getOrder, answer: "ThrottlingException") == 4)
        #expect(stats.calls(SimulatorOperation.getOrder, answer: "MissingAuthenticationTokenException") == 1)
        #expect(stats.calls(SimulatorOperation.listOrders, answer: "InternalServerException") == 1)
    }

    /// What boto3 must parse, written independently of the simulator's encoder: dates as
    /// ISO-8601 strings, members named as in botocore's model.
    static func expectedJSON(_ order: Order) -> [String: Any] {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var json: [String: Any] = [:]
        json["OrderId"] = order.orderId
        json["OutpostId"] = order.outpostId
        json["Status"] = order.status
        json["PaymentOption"] = order.paymentOption
        json["PaymentTerm"] = order.paymentTerm
        json["OrderType"] = order.orderType
        json["OrderSubmissionDate"] = order.orderSubmissionDate.map { iso.string(from: $0) }
        json["OrderFulfilledDate"] = order.orderFulfilledDate.map { iso.string(from: $0) }
        json["LineItems"] = (order.lineItems ?? []).map { item -> [String: Any] in
            var line: [String: Any] = [:]
            line["CatalogItemId"] = item.catalogItemId
            line["LineItemId"] = item.lineItemId
            line["Quantity"] = item.quantity
            line["Status"] = item.status
            line["PreviousLineItemId"] = item.previousLineItemId
            line["PreviousOrderId"] = item.previousOrderId
            if let shipment = item.shipmentInformation {
                var info: [String: Any] = [:]
                info["ShipmentCarrier"] = shipment.shipmentCarrier
                info["ShipmentTrackingNumber"] = shipment.shipmentTrackingNumber
                line["ShipmentInformation"] = info
            }
            if let assets = item.assetInformationList {
                line["AssetInformationList"] = assets.map { asset -> [String: Any] in
                    var entry: [String: Any] = [:]
                    entry["AssetId"] = asset.assetId
                    entry["MacAddressList"] = asset.macAddressList
                    return entry
                }
            }
            return line
        }
        return json
    }
}

struct ProcessResult: Sendable {
    var status: Int32
    /// stdout and stderr, interleaved as written.
    var output: String
}

enum ProcessTimeout: Error {
    case timedOut(String)
}

/// ``runProcess(_:stdin:timeout:)`` on a thread of its own: waiting on a cooperative thread
/// would starve the in-process simulator the child talks to.
func runProcessOffThePool(_ arguments: [String], stdin: Data, timeout: TimeInterval) async throws -> ProcessResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try runProcess(arguments, stdin: stdin, timeout: timeout) })
        }.start()
    }
}

/// Runs a command (looked up on PATH) with `stdin`, collecting its output; kills it after `timeout` seconds.
func runProcess(_ arguments: [String], stdin: Data, timeout: TimeInterval) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    // Output goes to a file: a pipe would block the child once its buffer filled.
    let outputURL = FileManager.default.temporaryDirectory.appendingPathComponent("simulator-interop-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: outputURL) }
    let output = try FileHandle(forWritingTo: outputURL)
    defer { try? output.close() }
    let input = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = output
    try process.run()
    input.fileHandleForWriting.write(stdin)
    try input.fileHandleForWriting.close()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
        if Date() > deadline {
            process.terminate()
            process.waitUntilExit()
            let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
            throw ProcessTimeout.timedOut("\(arguments.joined(separator: " ")) ran over \(timeout) s:\n\(text)")
        }
        Thread.sleep(forTimeInterval: 0.02)
    }
    let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
    return ProcessResult(status: process.terminationStatus, output: text)
}
