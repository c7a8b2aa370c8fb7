import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// One HTTP answer read whole: status, headers and a body of at most the cap asked for.
public struct HTTPExchangeResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    /// Empty when there was none, or when an error answer (not 2xx) was larger than the cap:
    /// its status still says what went wrong.
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// A 2xx answer whose body was larger than the cap asked for.
public struct HTTPBodyTooLarge: Error, Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var limit: Int
}

extension HTTPClient {
    /// Sends `request` and reads its whole answer, all of it (connect, head and body) bounded by
    /// `deadline`: AsyncHTTPClient's own deadline, a timer on the event loop the request already
    /// runs on. No task, no task group and no second timer per request; the async `execute`
    /// stops its deadline at the response head, so bounding the body there needed both.
    /// Cancelling the calling task cancels the request.
    public func exchange(_ request: HTTPClient.Request, deadline: NIODeadline,
                         maxBodyBytes: Int) async throws -> HTTPExchangeResponse {
        let task = execute(request: request, delegate: CappedCollector(limit: maxBodyBytes),
                           eventLoop: .indifferent, deadline: deadline, logger: nil)
        return try await withTaskCancellationHandler {
            try await task.futureResult.get()
        } onCancel: {
            task.cancel()
        }
    }
}

/// Collects an answer on the event loop, up to `limit` body bytes.
private final class CappedCollector: HTTPClientResponseDelegate, Sendable {
    typealias Response = HTTPExchangeResponse

    private struct State {
        var head: HTTPResponseHead?
        var body = ByteBuffer()
        /// An error answer past the cap: the rest is dropped, the status kept.
        var discarding = false
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    private static func isSuccess(_ status: HTTPResponseStatus) -> Bool {
        (200..<300).contains(Int(status.code))
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        let announced = head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
        if announced > limit, Self.isSuccess(head.status) {
            return task.eventLoop.makeFailedFuture(HTTPBodyTooLarge(status: head.status, headers: head.headers, limit: limit))
        }
        state.withLock {
            $0.head = head
            $0.discarding = announced > limit
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ part: ByteBuffer) -> EventLoopFuture<Void> {
        let tooLarge: HTTPBodyTooLarge? = state.withLock { state in
            guard !state.discarding, let head = state.head else { return nil }
            guard state.body.readableBytes + part.readableBytes <= limit else {
                if Self.isSuccess(head.status) { return HTTPBodyTooLarge(status: head.status, headers: head.headers, limit: limit) }
                state.discarding = true
                state.body = ByteBuffer()
                return nil
            }
            if state.body.readableBytes == 0 {
                state.body = part              // the usual case: the whole body in one part, no copy
            } else {
                var part = part
                state.body.writeBuffer(&part)
            }
            return nil
        }
        if let tooLarge { return task.eventLoop.makeFailedFuture(tooLarge) }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveError(task: HTTPClient.Task<Response>, _ error: any Error) {}

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        try state.withLock { state in
            guard let head = state.head else { throw HTTPClientError.remoteConnectionClosed }
            return HTTPExchangeResponse(status: head.status, headers: head.headers,
                                        body: state.discarding ? ByteBuffer() : state.body)
        }
    }
}
