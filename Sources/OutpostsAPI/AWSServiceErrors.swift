import Foundation

/// How an AWS error answer becomes an ``OutpostsError``, for every protocol outpostwatch speaks:
/// JSON (Outposts' rest-json, EventBridge's JSON 1.1) and XML (SNS's query protocol). The code is
/// read the way botocore's parsers read it; the kind is decided by one rule for all services.
public enum AWSServiceErrors {
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

    /// The kind of an AWS error answer with this HTTP status and error code (`nil`: none sent).
    public static func kind(status: Int, code: String?) -> OutpostsErrorKind {
        if let code, authenticationCodes.contains(code) { return .authentication }
        if status == 429 || code.map(throttlingCodes.contains) == true { return .throttling }
        if code.map(OutpostsClient.transientCodes.contains) == true { return .server }
        if code == "NotFoundException" || code == "ResourceNotFoundException" || code == "NotFound"
            || (code == nil && status == 404) { return .notFound }
        if code == "AccessDeniedException" || code == "AuthorizationError" || (code == nil && status == 403) {
            return .accessDenied
        }
        if code == "ValidationException" { return .validation }
        if status >= 500 { return .server }
        if status == 401 { return .authentication }
        if status == 403 { return .accessDenied }
        if status == 404 { return .notFound }
        if status >= 400 { return .validation }
        return .invalidResponse
    }

    /// A JSON error answer (rest-json, JSON 1.0/1.1): the code from `x-amzn-ErrorType`, `__type`
    /// or `code`, without its namespace; the message from `message`.
    public static func fromJSON(status: Int, reason: String, headers: [(String, String)], body: Data) -> OutpostsError {
        let requestId = header("x-amzn-RequestId", in: headers)
        let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        var code: String?
        if let header = header("x-amzn-ErrorType", in: headers), !header.isEmpty {
            code = stripNamespace(String(header.prefix { $0 != ":" }))
        } else if let type = json?["__type"] as? String {
            code = stripNamespace(type)
        } else if let value = (json?["code"] ?? json?["Code"]) as? String {
            code = stripNamespace(value)
        }
        if code?.isEmpty == true { code = nil }
        let rawMessage = (json?["message"] ?? json?["Message"]) as? String
        return error(status: status, reason: reason, code: code, message: rawMessage, requestId: requestId)
    }

    /// An XML error answer of the query protocol:
    /// `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
    public static func fromXML(status: Int, reason: String, headers: [(String, String)], body: Data) -> OutpostsError {
        let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        var code = XMLText.first("Code", in: text).map(stripNamespace)
        if code?.isEmpty == true { code = nil }
        let requestId = XMLText.first("RequestId", in: text) ?? header("x-amzn-RequestId", in: headers)
        return error(status: status, reason: reason, code: code, message: XMLText.first("Message", in: text),
                     requestId: requestId)
    }

    private static func error(status: Int, reason: String, code: String?, message: String?,
                              requestId: String?) -> OutpostsError {
        let text = message.map { String($0.prefix(500)) } ?? (reason.isEmpty ? "HTTP \(status)" : reason)
        return OutpostsError(kind: kind(status: status, code: code), code: code, message: text, statusCode: status,
                             requestId: requestId)
    }

    private static func header(_ name: String, in headers: [(String, String)]) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0.lowercased() == lower }?.1
    }

    /// `aws.protocols#ValidationException` → `ValidationException`.
    private static func stripNamespace(_ code: String) -> String {
        let trimmed = code.trimmingCharacters(in: .whitespaces)
        if let hash = trimmed.lastIndex(of: "#") { return String(trimmed[trimmed.index(after: hash)...]) }
        return trimmed
    }
}

/// The little XML reading the query protocol needs: the text of the first element with a given
/// name (AWS answers are flat and never use CDATA or attributes for these values).
public enum XMLText {
    /// The unescaped text of the first `<name>…</name>`, or `nil`.
    public static func first(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"),
              let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else { return nil }
        return unescape(String(xml[open.upperBound..<close.lowerBound]))
    }

    /// XML's five entities and numeric character references.
    public static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semi) <= 10 else {
                out += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "lt": out += "<"
            case "gt": out += ">"
            case "amp": out += "&"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst(), radix: 10) : nil
                if let number, let scalar = Unicode.Scalar(number) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += rest[amp...semi]
                }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
