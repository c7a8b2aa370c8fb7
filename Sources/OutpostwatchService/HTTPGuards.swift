import Crypto
import Foundation
import Hummingbird

/// The headers every answer of the `[http]` server carries (docs/status-page.md): no caching
/// (pages show the store at request time), no script and nothing from elsewhere, no sniffing.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var headers: HTTPFields {
        [.cacheControl: "no-store",
         .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
         .xContentTypeOptions: "nosniff"]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            // Errors (404 of the router, 401, 405) get the headers too.
            response = try error.response(from: request, context: context)
        }
        for field in Self.headers { response.headers[field.name] = field.value }
        return response
    }
}

/// With a token configured (`[http] token_file` or the credential `http-token`), every path but
/// `/healthz` needs `Authorization: Bearer TOKEN`; anything else is 401 with `WWW-Authenticate`.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?
    static var openPaths: Set<String> { ["/healthz"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, !Self.openPaths.contains(request.uri.path) else { return try await next(request, context) }
        guard BearerToken.authorized(request.headers[.authorization], token: token) else {
            return Response(status: .unauthorized,
                            headers: [.wwwAuthenticate: "Bearer realm=\"outpostwatch\"", .contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: .init(string: "401 unauthorized: send Authorization: Bearer TOKEN\n")))
        }
        return try await next(request, context)
    }
}

/// The bearer check itself: pure, so it is tested without a server.
package enum BearerToken {
    /// Whether `header` is `Bearer TOKEN` (scheme case-insensitive) for exactly `token`.
    package static func authorized(_ header: String?, token: String) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        return constantTimeEqual(String(header.dropFirst(7)), token)
    }

    /// Compares the SHA-256 digests of both, every byte: the time taken says nothing about where
    /// the strings differ, nor about the token's length.
    package static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let da = Array(SHA256.hash(data: Data(a.utf8)))
        let db = Array(SHA256.hash(data: Data(b.utf8)))
        var difference: UInt8 = 0
        for i in 0..<da.count { difference |= da[i] ^ db[i] }
        return difference == 0
    }
}

/// A read-only server: GET and HEAD (which the router answers like GET); anything else is 405.
struct ReadOnlyMethodsMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            return Response(status: .methodNotAllowed,
                            headers: [.allow: "GET, HEAD", .contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: .init(string: "405 method not allowed: this server is read-only\n")))
        }
        return try await next(request, context)
    }
}
