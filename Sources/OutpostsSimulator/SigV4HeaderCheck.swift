import Foundation

/// The checks AWS makes on a SigV4 `Authorization` header before it looks at the signature
/// itself. The simulator has no secret keys, so a signature is only checked for its form; what
/// it does catch are the mistakes a client can make in building the header, answered with the
/// error codes AWS uses.
struct SigV4HeaderCheck: Sendable {
    /// A request that passed: who signed it, for where.
    struct Signer: Sendable, Equatable {
        var accessKeyId: String
        var region: String
    }

    /// An AWS error answer: HTTP status, `x-amzn-ErrorType` code and message.
    struct Rejection: Error, Sendable, Equatable {
        var status: Int
        var code: String
        var message: String
    }

    static let service = "outposts"

    /// When set, the credential scope must name this region.
    var region: String?
    /// AWS refuses requests signed more than 15 minutes away from its clock.
    var maximumClockSkew: TimeInterval? = 15 * 60

    /// - Parameters:
    ///   - headers: request headers, names lowercased.
    ///   - now: the real wall clock (not scenario time): signing uses the client's real clock.
    func check(headers: [String: String], now: Date) -> Result<Signer, Rejection> {
        guard let authorization = headers["authorization"] else {
            return .failure(Rejection(status: 403, code: "MissingAuthenticationTokenException", message: "Missing Authentication Token"))
        }
        let algorithm = "AWS4-HMAC-SHA256"
        guard authorization.hasPrefix(algorithm + " ") else {
            return .failure(incomplete("Authorization header must start with '\(algorithm) ' (SigV4)."))
        }
        var parameters: [String: String] = [:]
        for part in authorization.dropFirst(algorithm.count + 1).split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let equals = trimmed.firstIndex(of: "=") else {
                return .failure(incomplete("Authorization header has a malformed component (no '=')."))
            }
            parameters[String(trimmed[..<equals])] = String(trimmed[trimmed.index(after: equals)...])
        }
        let missing = ["Credential", "Signature", "SignedHeaders"].filter { (parameters[$0] ?? "").isEmpty }
        if !missing.isEmpty {
            return .failure(incomplete(missing.map { "Authorization header requires '\($0)' parameter." }.joined(separator: " ")))
        }
        let credential = parameters["Credential"]!.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard credential.count == 5, credential.allSatisfy({ !$0.isEmpty }) else {
            return .failure(incomplete("Credential must have the form ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request."))
        }
        let (accessKeyId, scopeDate, scopeRegion, scopeService, terminator) =
            (credential[0], credential[1], credential[2], credential[3], credential[4])
        guard accessKeyId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return .failure(Rejection(status: 403, code: "UnrecognizedClientException", message: "The security token included in the request is invalid."))
        }
        guard terminator == "aws4_request" else {
            return .failure(incomplete("Credential should be scoped with a valid terminator: 'aws4_request', not '\(terminator)'."))
        }
        guard scopeService == Self.service else {
            return .failure(invalid("Credential should be scoped to correct service: '\(Self.service)'."))
        }
        if let region, scopeRegion != region {
            return .failure(invalid("Credential should be scoped to a valid region, not '\(scopeRegion)'."))
        }
        let signature = parameters["Signature"]!
        guard signature.count == 64, signature.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            return .failure(incomplete("Signature must be 64 lowercase hexadecimal characters."))
        }
        let signedHeaders = parameters["SignedHeaders"]!.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard signedHeaders.allSatisfy({ !$0.isEmpty && $0 == $0.lowercased() }), signedHeaders == signedHeaders.sorted() else {
            return .failure(incomplete("SignedHeaders must be lowercase header names, sorted, separated by ';'."))
        }
        guard signedHeaders.contains("host") else {
            return .failure(incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."))
        }
        guard let amzDate = headers["x-amz-date"] else {
            return .failure(incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."))
        }
        if let unsent = signedHeaders.first(where: { headers[$0] == nil }) {
            return .failure(invalid("The request signature we calculated does not match the signature you provided: signed header '\(unsent)' is not in the request."))
        }
        guard let requestDate = Self.parseAmzDate(amzDate) else {
            return .failure(incomplete("Date must be in ISO-8601 'basic format'. Got '\(amzDate)'. See http://en.wikipedia.org/wiki/ISO_8601"))
        }
        guard amzDate.hasPrefix(scopeDate) else {
            return .failure(invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(scopeDate)' != '\(amzDate.prefix(8))', from '\(amzDate)'."))
        }
        if let maximumClockSkew, abs(requestDate.timeIntervalSince(now)) > maximumClockSkew {
            return .failure(invalid("Signature expired: \(amzDate) is now earlier than \(Self.formatAmzDate(now.addingTimeInterval(-maximumClockSkew))) (\(Self.formatAmzDate(now)) - 15 min.)"))
        }
        if accessKeyId.hasPrefix("ASIA"), headers["x-amz-security-token"] == nil {
            // Temporary credentials are worthless without their session token.
            return .failure(Rejection(status: 403, code: "UnrecognizedClientException", message: "The security token included in the request is invalid."))
        }
        return .success(Signer(accessKeyId: accessKeyId, region: scopeRegion))
    }

    private func incomplete(_ message: String) -> Rejection {
        Rejection(status: 403, code: "IncompleteSignatureException", message: message)
    }

    private func invalid(_ message: String) -> Rejection {
        Rejection(status: 403, code: "InvalidSignatureException", message: message)
    }

    /// `YYYYMMDDTHHMMSSZ`, the only form SigV4 uses.
    static func parseAmzDate(_ text: String) -> Date? {
        let digits = Array(text.utf8)
        guard digits.count == 16, digits[8] == UInt8(ascii: "T"), digits[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in digits[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))
    }

    static func formatAmzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(c.year, 4))\(pad(c.month, 2))\(pad(c.day, 2))T\(pad(c.hour, 2))\(pad(c.minute, 2))\(pad(c.second, 2))Z"
    }
}
