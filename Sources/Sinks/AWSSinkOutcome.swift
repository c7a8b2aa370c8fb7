import Foundation
import OutpostsAPI

extension SinkOutcome {
    /// The outcome of an AWS call that failed (EventBridge, SNS): a request AWS refuses as invalid
    /// fails the delivery with AWS's message; anything else (throttling, 5xx, network, timeouts,
    /// credentials, access denied, a missing bus or topic: all fixable without touching the event)
    /// is retried with the standard backoff until `max_age` (docs/delivery.md).
    public static func aws(_ error: OutpostsError) -> SinkOutcome {
        switch error.kind {
        case .validation:
            return .permanent(status: error.statusCode, error: error.description)
        default:
            return .retry(status: error.statusCode, error: error.description, retryAfter: nil)
        }
    }
}
