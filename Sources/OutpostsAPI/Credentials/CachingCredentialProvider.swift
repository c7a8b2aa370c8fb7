import Foundation
import Support

/// Caches another provider's credentials and refreshes temporary ones ahead of expiry, so the
/// source (STS, instance metadata, a credential process) is asked once per credential lifetime,
/// never once per request.
///
/// Timing follows botocore's `RefreshableCredentials`: from 15 minutes before expiry
/// ("advisory") one caller refreshes while the others keep using the cached credentials, and a
/// failed refresh keeps them; from 10 minutes before expiry ("mandatory") every caller waits for
/// the refresh and its failure is an error. For short-lived credentials both windows shrink to
/// a half and a quarter of the lifetime, so 15-minute STS sessions are not refetched on every
/// call as botocore would. Concurrent refreshes are coalesced into one fetch. Credentials
/// without an expiration are kept until ``invalidate()``.
public actor CachingCredentialProvider: CredentialProvider {
    public nonisolated let base: any CredentialProvider
    private let advisoryLead: TimeInterval
    private let mandatoryLead: TimeInterval
    private let now: @Sendable () -> Date

    private var cached: (credentials: AWSCredentials, fetchedAt: Date)?
    private var inFlight: (id: UInt64, task: Task<AWSCredentials, any Error>, startedAt: Date)?
    private var nextFetchId: UInt64 = 0

    /// - Parameters:
    ///   - advisoryRefresh: how long before expiry a refresh is attempted (botocore: 15 min).
    ///   - mandatoryRefresh: how long before expiry a refresh is required (botocore: 10 min).
    ///   - now: the clock; tests pass their own.
    public init(_ base: any CredentialProvider, advisoryRefresh: Duration = .seconds(15 * 60),
                mandatoryRefresh: Duration = .seconds(10 * 60), now: @escaping @Sendable () -> Date = { Date() }) {
        self.base = base
        self.advisoryLead = advisoryRefresh.seconds
        self.mandatoryLead = mandatoryRefresh.seconds
        self.now = now
    }

    public func credentials() async throws -> AWSCredentials {
        if let cached {
            guard let expiration = cached.credentials.expiration else { return cached.credentials }
            let lifetime = max(0, expiration.timeIntervalSince(cached.fetchedAt))
            let remaining = expiration.timeIntervalSince(now())
            if remaining > min(advisoryLead, lifetime / 2) { return cached.credentials }
            if remaining > min(mandatoryLead, lifetime / 4) {
                // Advisory window: someone is already refreshing, or we try and keep the old ones on failure.
                if inFlight != nil { return cached.credentials }
                do {
                    return try await refresh()
                } catch {
                    if let still = self.cached, let expiration = still.credentials.expiration, expiration > now() {
                        return still.credentials
                    }
                    throw error
                }
            }
        }
        return try await refresh()
    }

    /// Forgets the cached credentials (and any fetch in flight) and tells the base provider to
    /// forget its own, so the next call fetches fresh ones.
    public func invalidate() async {
        cached = nil
        inFlight = nil
        await base.invalidate()
    }

    /// Joins the fetch in flight or starts one; only the fetch still current when it ends is cached.
    private func refresh() async throws -> AWSCredentials {
        let id: UInt64
        let task: Task<AWSCredentials, any Error>
        let fetchedAt: Date
        if let inFlight {
            (id, task, fetchedAt) = inFlight
        } else {
            nextFetchId += 1
            id = nextFetchId
            let base = self.base
            task = Task { try await base.credentials() }
            fetchedAt = now()
            inFlight = (id, task, fetchedAt)
        }
        do {
            let fresh = try await task.value
            if inFlight?.id == id {
                inFlight = nil
                if let expiration = fresh.expiration, expiration <= now() {
                    throw CredentialError(source: "credential cache", message: "the source returned credentials that had already expired")
                }
                cached = (fresh, fetchedAt)
            }
            return fresh
        } catch {
            if inFlight?.id == id { inFlight = nil }
            throw error
        }
    }

}
