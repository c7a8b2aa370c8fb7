import Foundation
import NIOCore
import NIOFoundationCompat

// How answers and failures become OutpostsError: AWS error codes classified as botocore does,
// transport failures said by TransportError.

extension OutpostsClient {
    private static let authenticationCodes: Set<String> = [
        "InvalidSignatureException", "UnrecognizedClientException", "ExpiredTokenException", "ExpiredToken",
        "IncompleteSignature", "IncompleteSignatureException", "MissingAuthenticationToken",
        "MissingAuthenticationTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch", "RequestExpired",
    ]

    /// botocore's `ThrottledRetryableChecker._THROTTLED_ERROR_CODES`.
    private static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
        "PriorRequestNotComplete", "EC2ThrottledException",
    ]

    /// The AWS error of a non-2xx answer, named and classified like botocore's rest-json parser.
    static func serviceError(_ response: RawResponse) -> OutpostsError {
        let status = response.status
        let requestId = response.header("x-amzn-RequestId")
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
        var code: String?
        if let header = response.header("x-amzn-ErrorType"), !header.isEmpty {
            code = stripNamespace(String(header.prefix { $0 != ":" }))
        } else if let type = json?["__type"] as? String {
            code = stripNamespace(type)
        } else if let value = (json?["code"] ?? json?["Code"]) as? String {
            code = stripNamespace(value)
        }
        if code?.isEmpty == true { code = nil }
        let rawMessage = (json?["message"] ?? json?["Message"]) as? String
        let message = rawMessage.map { String($0.prefix(500)) } ?? (response.reason.isEmpty ? "HTTP \(status)" : response.reason)

        let kind: OutpostsErrorKind
        if let code, authenticationCodes.contains(code) {
            kind = .authentication
        } else if status == 429 || code.map(throttlingCodes.contains) == true {
            kind = .throttling
        } else if code.map(transientCodes.contains) == true {
            kind = .server
        } else if code == "NotFoundException" || code == "ResourceNotFoundException" || (code == nil && status == 404) {
            kind = .notFound
        } else if code == "AccessDeniedException" || (code == nil && status == 403) {
            kind = .accessDenied
        } else if code == "ValidationException" {
            kind = .validation
        } else if status >= 500 {
            kind = .server
        } else if status == 401 {
            kind = .authentication
        } else if status == 403 {
            kind = .accessDenied
        } else if status == 404 {
            kind = .notFound
        } else if status >= 400 {
            kind = .validation
        } else {
            kind = .invalidResponse
        }
        return OutpostsError(kind: kind, code: code, message: message, statusCode: status, requestId: requestId)
    }

    /// `aws.protocols#ValidationException` → `ValidationException`.
    private static func stripNamespace(_ code: String) -> String {
        let trimmed = code.trimmingCharacters(in: .whitespaces)
        if let hash = trimmed.lastIndex(of: "#") { return String(trimmed[trimmed.index(after: hash)...]) }
        return trimmed
    }

    /// A failure to reach the API: `.timeout` for timeouts, else `.network`, said by ``TransportError``.
    static func transportError(_ error: any Error, operation: String, elapsed: Duration) -> OutpostsError {
        if TransportError.isTimeout(error) {
            return OutpostsError(kind: .timeout, message: "\(operation) \(TransportError.describe(error))")
        }
        return OutpostsError(kind: .network, message: "\(operation) failed: \(TransportError.describe(error))")
    }
}
