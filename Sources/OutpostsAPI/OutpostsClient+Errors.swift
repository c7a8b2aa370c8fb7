import Foundation
import NIOCore
import NIOFoundationCompat

// How answers and failures become OutpostsError: AWS error codes classified by AWSServiceErrors,
// transport failures said by TransportError.

extension OutpostsClient {
    /// The AWS error of a non-2xx answer, named and classified like botocore's rest-json parser.
    static func serviceError(_ response: RawResponse) -> OutpostsError {
        AWSServiceErrors.fromJSON(status: response.status, reason: response.reason, headers: response.headers,
                                  body: Data(buffer: response.body))
    }

    /// A failure to reach the API: `.timeout` for timeouts, else `.network`, said by ``TransportError``.
    static func transportError(_ error: any Error, operation: String, elapsed: Duration) -> OutpostsError {
        if TransportError.isTimeout(error) {
            return OutpostsError(kind: .timeout, message: "\(operation) \(TransportError.describe(error))")
        }
        return OutpostsError(kind: .network, message: "\(operation) failed: \(TransportError.describe(error))")
    }
}
