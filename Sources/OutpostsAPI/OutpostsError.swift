import Foundation

/// What kind of failure an Outposts API call ended in; decides retrying and how the watch engine reacts.
public enum OutpostsErrorKind: String, Sendable, Equatable {
    /// `NotFoundException`: the order does not exist (any more) for this account.
    case notFound
    /// `ValidationException` and other 400s caused by the request.
    case validation
    /// `AccessDeniedException`: the IAM policy does not allow the call.
    case accessDenied
    /// Signature or credential problems: InvalidSignatureException, UnrecognizedClientException,
    /// ExpiredTokenException, IncompleteSignature, MissingAuthenticationToken…
    case authentication
    /// HTTP 429 or any AWS throttling code (ThrottlingException, TooManyRequestsException, …).
    case throttling
    /// 5xx from AWS (InternalServerException, ServiceUnavailable…).
    case server
    /// Connection refused, reset, DNS, TLS: nothing usable came back.
    case network
    /// The request did not finish within its timeout.
    case timeout
    /// A 2xx whose body is not a valid answer (malformed, truncated, empty, wrong types, too large).
    case invalidResponse
    /// No credentials could be had.
    case credentials
}

/// An error from the Outposts API or from reaching it. `description` never holds a secret.
public struct OutpostsError: Error, Sendable, CustomStringConvertible {
    public var kind: OutpostsErrorKind
    /// AWS error code (`x-amzn-ErrorType`, `__type` or `code`, without namespace), if any.
    public var code: String?
    public var message: String
    public var statusCode: Int?
    /// `x-amzn-RequestId`, if any.
    public var requestId: String?

    public init(kind: OutpostsErrorKind, code: String? = nil, message: String, statusCode: Int? = nil, requestId: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.statusCode = statusCode
        self.requestId = requestId
    }

    public var description: String {
        var parts: [String] = []
        if let code { parts.append(code) }
        if let statusCode { parts.append("HTTP \(statusCode)") }
        var s = parts.isEmpty ? kind.rawValue : parts.joined(separator: ", ")
        s += ": \(message)"
        if let requestId { s += " (request id \(requestId))" }
        return s
    }
}
