import Foundation
import Hummingbird
import StatusPage
import WatchModel
import WatchReport
import WatchStore

/// The status page and its JSON API on the `[http]` server (docs/status-page.md).
///
/// Reads go through a read-only connection of their own, so a page being rendered never waits
/// for, nor holds up, the poller's store; every request reads the store as it is at that moment.
enum StatusRoutes {
    static func add(to router: Router<BasicRequestContext>, store: StateStore, tracking: TrackingTemplates) {
        let renderer = StatusPageRenderer(tracking: tracking)
        router.get("/") { _, _ -> Response in
            html(renderer.index(rows: try await StatusRow.active(in: store, tracking: tracking), now: Date()))
        }
        router.get("/orders/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            guard let detail = try await OrderDetail.load(orderId: id, from: store, tracking: tracking) else {
                return html(renderer.notFound(orderId: id, now: Date()), status: .notFound)
            }
            return html(renderer.order(detail))
        }
        router.get("/api/orders") { _, _ -> Response in
            try json(try await StatusRow.active(in: store, tracking: tracking))
        }
        router.get("/api/orders/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            guard let detail = try await OrderDetail.load(orderId: id, from: store, tracking: tracking) else {
                return try json(["error": "no watched order \(id)"], status: .notFound)
            }
            return try json(detail)
        }
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                 body: .init(byteBuffer: .init(string: text)))
    }

    /// The JSON of `status --json` and `history --json` (sorted keys, ISO-8601 dates), pretty-printed.
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = EventJSON.encoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(UInt8(ascii: "\n"))
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: .init(bytes: data)))
    }
}
