/// Paces the client's own retries from outside: before each retry (after its backoff) the
/// client waits here, so a caller with a rate limit counts every retry against it, and learns of
/// a throttled answer the retry then got through (docs/service.md, throttling).
public protocol RetryPacer: Sendable {
    /// The previous attempt failed with `error`; the client tries again when this returns.
    func beforeRetry(after error: OutpostsError) async
}

extension OutpostsClient {
    /// The pacer of the calls made by the current task (the poller sets it around each call).
    @TaskLocal public static var retryPacer: (any RetryPacer)?
}
