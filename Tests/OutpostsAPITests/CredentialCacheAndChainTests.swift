import Foundation
import OutpostsAPI
import Testing

/// A provider that counts its fetches and answers what the test scripts, optionally waiting for
/// a gate so concurrent callers pile up.
actor CredScriptedProvider: CredentialProvider {
    private(set) var fetches = 0
    private(set) var invalidations = 0
    private var answers: [Result<AWSCredentials, CredentialError>]
    private var gate: CheckedContinuation<Void, Never>?
    private var gated: Bool
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ answers: [Result<AWSCredentials, CredentialError>], gated: Bool = false) {
        self.answers = answers
        self.gated = gated
    }

    func credentials() async throws -> AWSCredentials {
        fetches += 1
        if gated {
            await withCheckedContinuation { waiting.append($0) }
        }
        let answer = answers.count > 1 ? answers.removeFirst() : answers[0]
        return try answer.get()
    }

    func invalidate() async { invalidations += 1 }

    /// Lets every gated fetch finish.
    func open() {
        gated = false
        for continuation in waiting { continuation.resume() }
        waiting.removeAll()
    }

    var waitingCount: Int { waiting.count }
}

/// A clock the test moves by hand.
final class CredManualClock: Sendable {
    private let current: CredLocked<Date>
    init(_ start: Date) { current = CredLocked(start) }
    var now: Date { current.withLock { $0 } }
    func advance(minutes: Double) { current.withLock { $0 = $0.addingTimeInterval(minutes * 60) } }
}

@Suite("credential caching")
struct CredentialCachingTests {
    static let start = Date(timeIntervalSince1970: 1_900_000_000)

    static func temporary(_ id: String, minutes: Double) -> AWSCredentials {
        AWSCredentials(accessKeyId: id, secretAccessKey: "s-\(id)", sessionToken: "t-\(id)",
                       expiration: start.addingTimeInterval(minutes * 60))
    }

    @Test("long-term credentials are fetched once for any number of calls")
    func staticOnce() async throws {
        let base = CredScriptedProvider([.success(AWSCredentials(accessKeyId: "AKIA", secretAccessKey: "s"))])
        let cache = CachingCredentialProvider(base)
        for _ in 0..<100 { _ = try await cache.credentials() }
        #expect(await base.fetches == 1)
    }

    @Test("temporary credentials: kept until 15 min before expiry, refreshed in the advisory window")
    func advisoryRefresh() async throws {
        let clock = CredManualClock(Self.start)
        let base = CredScriptedProvider([.success(Self.temporary("one", minutes: 60)), .success(Self.temporary("two", minutes: 120))])
        let cache = CachingCredentialProvider(base, now: { clock.now })
        #expect(try await cache.credentials().accessKeyId == "one")
        clock.advance(minutes: 44)   // 16 min left
        #expect(try await cache.credentials().accessKeyId == "one")
        #expect(await base.fetches == 1)
        clock.advance(minutes: 2)    // 14 min left: advisory
        #expect(try await cache.credentials().accessKeyId == "two")
        #expect(await base.fetches == 2)
        #expect(try await cache.credentials().accessKeyId == "two")
        #expect(await base.fetches == 2)
    }

    @Test("a failed advisory refresh keeps the old credentials; a failed mandatory one is an error")
    func refreshFailures() async throws {
        let clock = CredManualClock(Self.start)
        let failure = CredentialError(source: "fake", message: "down")
        let base = CredScriptedProvider([.success(Self.temporary("one", minutes: 60)), .failure(failure)])
        let cache = CachingCredentialProvider(base, now: { clock.now })
        _ = try await cache.credentials()
        clock.advance(minutes: 48)   // 12 min left: advisory
        #expect(try await cache.credentials().accessKeyId == "one")
        #expect(await base.fetches == 2)
        clock.advance(minutes: 3)    // 9 min left: mandatory
        await #expect(throws: CredentialError.self) { _ = try await cache.credentials() }
    }

    @Test("short-lived credentials are not refetched on every call")
    func shortLived() async throws {
        let clock = CredManualClock(Self.start)
        let base = CredScriptedProvider([.success(Self.temporary("short", minutes: 15))])
        let cache = CachingCredentialProvider(base, now: { clock.now })
        for _ in 0..<10 { _ = try await cache.credentials() }
        clock.advance(minutes: 5)
        for _ in 0..<10 { _ = try await cache.credentials() }
        #expect(await base.fetches == 1)
    }

    @Test("concurrent callers share one fetch")
    func coalescing() async throws {
        let base = CredScriptedProvider([.success(Self.temporary("shared", minutes: 600))], gated: true)
        let cache = CachingCredentialProvider(base, now: { Self.start })
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask { try await cache.credentials().accessKeyId }
            }
            // Wait until the one fetch is parked at the gate, then let it through.
            while await base.waitingCount == 0 { await Task.yield() }
            await base.open()
            var ids: [String] = []
            for try await id in group { ids.append(id) }
            #expect(ids == Array(repeating: "shared", count: 20))
        }
        #expect(await base.fetches == 1)
    }

    @Test("invalidate drops the cache and tells the base")
    func invalidate() async throws {
        let base = CredScriptedProvider([.success(AWSCredentials(accessKeyId: "A1", secretAccessKey: "s")),
                                     .success(AWSCredentials(accessKeyId: "A2", secretAccessKey: "s"))])
        let cache = CachingCredentialProvider(base)
        #expect(try await cache.credentials().accessKeyId == "A1")
        await cache.invalidate()
        #expect(await base.invalidations == 1)
        #expect(try await cache.credentials().accessKeyId == "A2")
        #expect(try await cache.credentials().accessKeyId == "A2")
        #expect(await base.fetches == 2)
    }

    @Test("credentials already expired when fetched are refused")
    func alreadyExpired() async throws {
        let base = CredScriptedProvider([.success(Self.temporary("old", minutes: -1))])
        let cache = CachingCredentialProvider(base, now: { Self.start })
        await #expect(throws: CredentialError.self) { _ = try await cache.credentials() }
    }
}

@Suite("credential chain")
struct CredentialChainTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    static func chain(_ env: [String: String], profile: String? = nil) -> CredentialChain {
        CredentialChain.standard(profile: profile, roleArn: nil, region: "us-west-2", environment: env,
                                 httpClient: CredentialFixtures.httpClient)
    }

    /// Every source configured at once; removing them one by one from the top must reveal the next.
    @Test("order: environment, web identity, profile, systemd, container, instance metadata")
    func order() async throws {
        let home = try CredTempDir()
        let systemd = try CredTempDir()
        defer { home.remove(); systemd.remove() }
        try home.write(".aws/credentials", "[default]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = \(Self.secret)\n")
        let jwt = try home.write("jwt", "header.payload.signature")
        try systemd.write("aws-access-key-id", "AKIASYSTEMD")
        try systemd.write("aws-secret-access-key", Self.secret)
        try await CredFakeServer.with(CredentialEndpointsTests.sts()) { sts in
            try await CredFakeServer.with(CredentialEndpointsTests.imds()) { imds in
                try await CredFakeServer.with(CredentialEndpointsTests.ecs(expectedAuthorization: nil)) { ecs in
                    var env = CredentialFixtures.environment(home: home, [
                        "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": Self.secret,
                        "AWS_WEB_IDENTITY_TOKEN_FILE": jwt, "AWS_ROLE_ARN": "arn:aws:iam::1:role/Web",
                        "AWS_ENDPOINT_URL_STS": sts.baseURL,
                        "CREDENTIALS_DIRECTORY": systemd.path,
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.baseURL + "/v2/credentials/abc",
                        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.baseURL,
                    ])
                    env["AWS_EC2_METADATA_DISABLED"] = nil
                    var seen: [String] = []
                    seen.append(try await Self.chain(env).credentials().accessKeyId)
                    env["AWS_ACCESS_KEY_ID"] = nil
                    seen.append(try await Self.chain(env).credentials().accessKeyId)
                    env["AWS_WEB_IDENTITY_TOKEN_FILE"] = nil
                    seen.append(try await Self.chain(env).credentials().accessKeyId)
                    try home.write(".aws/credentials", "")
                    seen.append(try await Self.chain(env).credentials().accessKeyId)
                    env["CREDENTIALS_DIRECTORY"] = nil
                    seen.append(try await Self.chain(env).credentials().accessKeyId)
                    env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = nil
                    seen.append(try await Self.chain(env).credentials().accessKeyId)
                    #expect(seen == ["AKIAENV", "ASIAWEB", "AKIAPROFILE", "AKIASYSTEMD", "ASIAECS", "ASIAIMDS"])
                    #expect(sts.requests.count == 1)
                    #expect(ecs.requests.count == 1)
                    #expect(imds.requests.count == 3)
                }
            }
        }
    }

    @Test("the chain caches: one IMDS round per credential lifetime, whatever the number of calls")
    func chainCaches() async throws {
        let home = try CredTempDir()
        defer { home.remove() }
        try await CredFakeServer.with(CredentialEndpointsTests.imds(expiration: "2031-01-01T00:00:00Z")) { imds in
            var env = CredentialFixtures.environment(home: home, ["AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.baseURL])
            env["AWS_EC2_METADATA_DISABLED"] = nil
            let chain = Self.chain(env)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<50 { group.addTask { _ = try await chain.credentials() } }
                try await group.waitForAll()
            }
            #expect(imds.requests.count == 3)
            await chain.invalidate()
            _ = try await chain.credentials()
            #expect(imds.requests.count == 6)
        }
    }

    @Test("a profile named in the config skips the environment")
    func configuredProfileSkipsEnvironment() async throws {
        let home = try CredTempDir()
        defer { home.remove() }
        try home.write(".aws/config", "[profile ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = \(Self.secret)\n")
        let env = CredentialFixtures.environment(home: home, ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": Self.secret])
        #expect(try await Self.chain(env, profile: "ops").credentials().accessKeyId == "AKIAOPS")
        // Named by AWS_PROFILE instead, the environment keys still win (botocore).
        #expect(try await Self.chain(env.merging(["AWS_PROFILE": "ops"]) { $1 }).credentials().accessKeyId == "AKIAENV")
    }

    @Test("a named profile that does not exist is an error even when other sources have keys")
    func missingProfile() async throws {
        let home = try CredTempDir()
        defer { home.remove() }
        let env = CredentialFixtures.environment(home: home, ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": Self.secret,
                                                               "AWS_PROFILE": "typo"])
        do {
            _ = try await Self.chain(env).credentials()
            Issue.record("a missing AWS_PROFILE profile must be an error")
        } catch {
            CredentialFixtures.expectSafeError(error, mentions: ["profile \"typo\" not found", home.path + "/.aws/credentials"], secrets: [Self.secret])
        }
    }

    @Test("a configured but broken source stops the chain instead of falling through")
    func brokenSourceStops() async throws {
        let home = try CredTempDir()
        defer { home.remove() }
        try home.write(".aws/credentials", "[default]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = \(Self.secret)\n")
        let env = CredentialFixtures.environment(home: home, ["AWS_ACCESS_KEY_ID": "AKIAHALF"])
        do {
            _ = try await Self.chain(env).credentials()
            Issue.record("half-set environment keys must be an error")
        } catch {
            CredentialFixtures.expectSafeError(error, mentions: ["environment", "AWS_SECRET_ACCESS_KEY"], secrets: [Self.secret])
        }
    }

    @Test("nothing configured: one error listing every source tried")
    func nothingFound() async throws {
        let home = try CredTempDir()
        defer { home.remove() }
        let env = CredentialFixtures.environment(home: home)
        do {
            _ = try await Self.chain(env).credentials()
            Issue.record("no credentials anywhere must be an error")
        } catch {
            let text = "\(error)"
            #expect(text.contains("no AWS credentials found (tried: environment, web identity"))
            #expect(text.contains("shared credentials file \(home.path)/.aws/credentials and config file \(home.path)/.aws/config (profile default)"))
            #expect(text.contains("systemd credentials"))
            #expect(text.contains("container credentials"))
            #expect(text.contains("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)"))
        }
    }
}
