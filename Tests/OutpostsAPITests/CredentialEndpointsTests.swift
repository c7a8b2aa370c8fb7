import Foundation
import OutpostsAPI
import Testing

/// Sources that fetch over HTTP, each against a real loopback server playing IMDS, the ECS
/// credential endpoint or STS.
@Suite("credential sources: endpoints")
struct CredentialEndpointsTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let sourceSecret = "sourceSECRETk3yEXAMPLEEXAMPLEEXAMPLE0000"
    static let token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN/+=="

    // MARK: IMDS

    /// A fake IMDS that behaves like the real one: a token only by PUT with the TTL header,
    /// GETs only with a live token (401 otherwise), one role.
    static func imds(issuedToken: String = "tok-1", acceptedToken: String = "tok-1", role: String = "outposts-reader",
                     expiration: String = "2031-01-01T00:00:00Z", tokenStatus: Int = 200) -> CredFakeServer.Handler {
        { request in
            switch (request.method, request.uri) {
            case ("PUT", "/latest/api/token"):
                guard request.header("X-aws-ec2-metadata-token-ttl-seconds") == "21600" else { return CredFakeAnswer(status: 400) }
                return CredFakeAnswer(status: tokenStatus, body: tokenStatus == 200 ? issuedToken : "")
            case ("GET", let path) where path.hasPrefix("/latest/meta-data/iam/security-credentials/"):
                if tokenStatus == 200 {
                    guard request.header("X-aws-ec2-metadata-token") == acceptedToken else { return CredFakeAnswer(status: 401) }
                }
                if path == "/latest/meta-data/iam/security-credentials/" { return CredFakeAnswer(status: 200, body: role) }
                guard path == "/latest/meta-data/iam/security-credentials/\(role)" else { return CredFakeAnswer(status: 404) }
                return .json("""
                {"Code": "Success", "LastUpdated": "2030-12-31T18:00:00Z", "Type": "AWS-HMAC",
                 "AccessKeyId": "ASIAIMDS", "SecretAccessKey": "\(secret)", "Token": "\(token)", "Expiration": "\(expiration)"}
                """)
            default:
                return CredFakeAnswer(status: 404)
            }
        }
    }

    @Test("IMDSv2: token by PUT with TTL, then role and credentials with the token")
    func imdsSuccess() async throws {
        try await CredFakeServer.with(Self.imds()) { server in
            let provider = InstanceMetadataCredentialProvider(
                environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL + "/", "AWS_METADATA_SERVICE_TIMEOUT": "10"],
                httpClient: CredentialFixtures.httpClient)
            let credentials = try await provider.credentials()
            #expect(credentials.accessKeyId == "ASIAIMDS")
            #expect(credentials.secretAccessKey == Self.secret)
            #expect(credentials.sessionToken == Self.token)
            #expect(credentials.expiration == CredentialSupportProbe.date("2031-01-01T00:00:00Z"))
            let requests = server.requests
            #expect(requests.map { "\($0.method) \($0.uri)" } == [
                "PUT /latest/api/token",
                "GET /latest/meta-data/iam/security-credentials/",
                "GET /latest/meta-data/iam/security-credentials/outposts-reader",
            ])
            #expect(requests.dropFirst().allSatisfy { $0.header("X-aws-ec2-metadata-token") == "tok-1" })
        }
    }

    @Test("IMDS: a token the service no longer accepts gives 401 and no credentials, without secrets")
    func imdsExpiredToken() async throws {
        try await CredFakeServer.with(Self.imds(issuedToken: "stale", acceptedToken: "fresh")) { server in
            let provider = InstanceMetadataCredentialProvider(
                environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL, "AWS_METADATA_SERVICE_TIMEOUT": "10"],
                httpClient: CredentialFixtures.httpClient)
            guard case .unavailable(let note) = try await provider.lookup() else {
                Issue.record("a rejected token must not yield credentials")
                return
            }
            #expect(note?.contains("HTTP 401") == true)
            do {
                _ = try await provider.credentials()
            } catch {
                CredentialFixtures.expectSafeError(error, mentions: ["EC2 instance metadata", "401"], secrets: ["stale", Self.secret])
            }
        }
    }

    @Test("IMDS: IMDSv1 fallback when the token PUT is refused, unless AWS_EC2_METADATA_V1_DISABLED")
    func imdsV1Fallback() async throws {
        try await CredFakeServer.with(Self.imds(tokenStatus: 403)) { server in
            let env = ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL, "AWS_METADATA_SERVICE_TIMEOUT": "10"]
            let v1 = try await InstanceMetadataCredentialProvider(environment: env, httpClient: CredentialFixtures.httpClient).credentials()
            #expect(v1.accessKeyId == "ASIAIMDS")
            #expect(server.requests.dropFirst().allSatisfy { $0.header("X-aws-ec2-metadata-token") == nil })

            let disabled = InstanceMetadataCredentialProvider(
                environment: env.merging(["AWS_EC2_METADATA_V1_DISABLED": "true"]) { $1 }, httpClient: CredentialFixtures.httpClient)
            guard case .unavailable(let note) = try await disabled.lookup() else {
                Issue.record("IMDSv1 must not be used when disabled")
                return
            }
            #expect(note?.contains("AWS_EC2_METADATA_V1_DISABLED") == true)
        }
    }

    @Test("IMDS: AWS_EC2_METADATA_DISABLED turns it off without any request; nothing listening is unavailable")
    func imdsDisabledAndDown() async throws {
        try await CredFakeServer.with(Self.imds()) { server in
            let off = InstanceMetadataCredentialProvider(
                environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL, "AWS_EC2_METADATA_DISABLED": "TRUE"],
                httpClient: CredentialFixtures.httpClient)
            guard case .unavailable = try await off.lookup() else {
                Issue.record("disabled IMDS must be unavailable")
                return
            }
            #expect(server.requests.isEmpty)
        }
        // A closed loopback port: connection refused, quickly.
        let down = InstanceMetadataCredentialProvider(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9"],
                                                      httpClient: CredentialFixtures.httpClient, timeout: .milliseconds(300))
        guard case .unavailable = try await down.lookup() else {
            Issue.record("unreachable IMDS must be unavailable")
            return
        }
    }

    // MARK: ECS container credentials

    static func ecs(expectedAuthorization: String?) -> CredFakeServer.Handler {
        { request in
            guard request.uri == "/v2/credentials/abc" else { return CredFakeAnswer(status: 404) }
            guard request.header("Authorization") == expectedAuthorization else {
                return .json(#"{"code": "AccessDenied", "message": "bad token"}"#, status: 401)
            }
            return .json("""
            {"AccessKeyId": "ASIAECS", "SecretAccessKey": "\(secret)", "Token": "\(token)",
             "Expiration": "2031-02-03T04:05:06Z", "RoleArn": "arn:aws:iam::123456789012:role/task"}
            """)
        }
    }

    @Test("ECS: full URI on loopback, Authorization from the environment")
    func ecsWithToken() async throws {
        try await CredFakeServer.with(Self.ecs(expectedAuthorization: "Bearer env-token")) { server in
            let provider = ContainerCredentialProvider(environment: [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/v2/credentials/abc",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer env-token",
            ], httpClient: CredentialFixtures.httpClient)
            let credentials = try await provider.credentials()
            #expect(credentials == AWSCredentials(accessKeyId: "ASIAECS", secretAccessKey: Self.secret, sessionToken: Self.token,
                                                  expiration: CredentialSupportProbe.date("2031-02-03T04:05:06Z")))
            #expect(server.requests.first?.header("Accept") == "application/json")
        }
    }

    @Test("ECS: the token file is read at every fetch and wins over the variable")
    func ecsTokenFile() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        let tokenFile = try dir.write("token", "rotated-1\n")
        try await CredFakeServer.with(Self.ecs(expectedAuthorization: "rotated-2")) { server in
            let provider = ContainerCredentialProvider(environment: [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/v2/credentials/abc",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "rotated-2",
            ], httpClient: CredentialFixtures.httpClient, attempts: 1)
            do {
                _ = try await provider.credentials()
                Issue.record("the file's token (rotated-1) must be sent, and the fake wants rotated-2")
            } catch {
                CredentialFixtures.expectSafeError(error, mentions: ["container credentials", "401"], secrets: ["rotated-1", Self.secret])
            }
            try dir.write("token", "rotated-2")
            #expect(try await provider.credentials().accessKeyId == "ASIAECS")
            #expect(server.requests.map { $0.header("Authorization") } == ["rotated-1", "rotated-2"])
        }
    }

    @Test("ECS: plain http only to loopback or the agent hosts; retries then a clear error")
    func ecsRefusals() async throws {
        let remote = ContainerCredentialProvider(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://evil.example.com/creds",
                                                               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "secret-token"],
                                                 httpClient: CredentialFixtures.httpClient)
        do {
            _ = try await remote.credentials()
            Issue.record("a non-loopback http URI must be refused")
        } catch {
            CredentialFixtures.expectSafeError(error, mentions: ["unsupported host evil.example.com"], secrets: ["secret-token"])
        }
        try await CredFakeServer.with({ _ in CredFakeAnswer(status: 500) }) { server in
            let provider = ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/v2/credentials/abc"],
                httpClient: CredentialFixtures.httpClient, attempts: 3, retryDelay: .milliseconds(10))
            await #expect(throws: CredentialError.self) { _ = try await provider.credentials() }
            #expect(server.requests.count == 3)
        }
        let relative = ContainerCredentialProvider(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/task-1",
                                                                 "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1/ignored"],
                                                   httpClient: CredentialFixtures.httpClient)
        #expect(relative.url == "http://169.254.170.2/v2/credentials/task-1")
        guard case .unavailable = try await ContainerCredentialProvider(environment: [:], httpClient: CredentialFixtures.httpClient).lookup() else {
            Issue.record("without the variables the source is unavailable")
            return
        }
    }

    // MARK: STS

    /// A fake STS answering AssumeRole / AssumeRoleWithWebIdentity for any role, with keys
    /// derived from the role name so chained calls can be told apart.
    static func sts(failWith failure: CredFakeAnswer? = nil) -> CredFakeServer.Handler {
        { request in
            if let failure { return failure }
            let fields = request.formFields
            guard request.method == "POST", request.uri == "/", fields["Version"] == "2011-06-15",
                  let action = fields["Action"], let role = fields["RoleArn"]?.split(separator: "/").last else {
                return CredentialFixtures.stsError(code: "InvalidAction", message: "bad request", status: 400)
            }
            return CredentialFixtures.stsAnswer(action: action, accessKeyId: "ASIA\(role.uppercased())",
                                                secret: "secret-of-\(role)", token: "token-of-\(role)",
                                                expiration: "2031-03-04T05:06:07Z")
        }
    }

    @Test("AssumeRole from a profile: form body, SigV4 by the source profile's keys (verified by botocore)",
          .enabled(if: CredPythonOracle.enabled, "python3 with botocore is not installed"))
    func assumeRoleSourceProfile() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        try dir.write(".aws/credentials", "[base]\naws_access_key_id = AKIASOURCE\naws_secret_access_key = \(Self.sourceSecret)\n")
        try dir.write(".aws/config", """
        [profile reader]
        role_arn = arn:aws:iam::123456789012:role/OutpostsRead
        source_profile = base
        external_id = ext-42
        duration_seconds = 1800
        """)
        try await CredFakeServer.with(Self.sts()) { server in
            let env = CredentialFixtures.environment(home: dir, ["AWS_ENDPOINT_URL_STS": server.baseURL])
            let provider = ProfileCredentialProvider(profileName: "reader", explicit: true, environment: env,
                                                     httpClient: CredentialFixtures.httpClient, region: "eu-central-1")
            let credentials = try await provider.credentials()
            #expect(credentials == AWSCredentials(accessKeyId: "ASIAOUTPOSTSREAD", secretAccessKey: "secret-of-OutpostsRead",
                                                  sessionToken: "token-of-OutpostsRead",
                                                  expiration: CredentialSupportProbe.date("2031-03-04T05:06:07Z")))
            let request = try #require(server.requests.first)
            let fields = request.formFields
            #expect(fields["Action"] == "AssumeRole")
            #expect(fields["RoleArn"] == "arn:aws:iam::123456789012:role/OutpostsRead")
            #expect(fields["ExternalId"] == "ext-42")
            #expect(fields["DurationSeconds"] == "1800")
            #expect(fields["RoleSessionName"]?.hasPrefix("outpostwatch-") == true)
            #expect(request.header("Content-Type") == "application/x-www-form-urlencoded; charset=utf-8")
            let verdict = try await CredPythonOracle.verifySignature(
                of: request, url: server.baseURL + "/",
                credentials: AWSCredentials(accessKeyId: "AKIASOURCE", secretAccessKey: Self.sourceSecret),
                region: "eu-central-1", service: "sts")
            #expect(verdict == "OK")
        }
    }

    @Test("AssumeRole chains: a role whose source profile is itself a role; loops are refused")
    func assumeRoleChain() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        try dir.write(".aws/config", """
        [profile base]
        aws_access_key_id = AKIABASE
        aws_secret_access_key = \(Self.sourceSecret)
        [profile hop]
        role_arn = arn:aws:iam::111111111111:role/Hop
        source_profile = base
        [profile final]
        role_arn = arn:aws:iam::222222222222:role/Final
        source_profile = hop
        [profile loop-a]
        role_arn = arn:aws:iam::1:role/A
        source_profile = loop-b
        [profile loop-b]
        role_arn = arn:aws:iam::1:role/B
        source_profile = loop-a
        [profile self]
        role_arn = arn:aws:iam::1:role/Self
        source_profile = self
        aws_access_key_id = AKIASELF
        aws_secret_access_key = \(Self.sourceSecret)
        """)
        try await CredFakeServer.with(Self.sts()) { server in
            let env = CredentialFixtures.environment(home: dir, ["AWS_ENDPOINT_URL": server.baseURL])
            func provider(_ name: String) -> ProfileCredentialProvider {
                ProfileCredentialProvider(profileName: name, explicit: true, environment: env,
                                          httpClient: CredentialFixtures.httpClient, region: "us-east-1")
            }
            let answer280 = try await provider("final").credentials().accessKeyId
            #expect(answer280 == "ASIAFINAL")
            let requests = server.requests
            #expect(requests.map { $0.formFields["RoleArn"] } == ["arn:aws:iam::111111111111:role/Hop", "arn:aws:iam::222222222222:role/Final"])
            // The second call is signed by the first role's temporary credentials.
            #expect(requests.last?.header("Authorization")?.contains("Credential=ASIAHOP/") == true)
            #expect(requests.last?.header("X-Amz-Security-Token") == "token-of-Hop")

            do {
                _ = try await provider("loop-a").credentials()
                Issue.record("a source_profile loop must be refused")
            } catch {
                CredentialFixtures.expectSafeError(error, mentions: ["loop", "loop-a", "loop-b"], secrets: [Self.sourceSecret])
            }
            let answer293 = try await provider("self").credentials().accessKeyId
            #expect(answer293 == "ASIASELF")
            #expect(server.requests.last?.header("Authorization")?.contains("Credential=AKIASELF/") == true)
        }
    }

    @Test("AssumeRole: credential_source Environment; misconfigurations name the profile")
    func assumeRoleCredentialSource() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        try dir.write(".aws/config", """
        [profile env-role]
        role_arn = arn:aws:iam::1:role/EnvRole
        credential_source = Environment
        [profile both]
        role_arn = arn:aws:iam::1:role/X
        credential_source = Environment
        source_profile = env-role
        [profile neither]
        role_arn = arn:aws:iam::1:role/X
        [profile bogus]
        role_arn = arn:aws:iam::1:role/X
        credential_source = Floppy
        [profile mfa]
        role_arn = arn:aws:iam::1:role/X
        credential_source = Environment
        mfa_serial = arn:aws:iam::1:mfa/op
        """)
        try await CredFakeServer.with(Self.sts()) { server in
            let env = CredentialFixtures.environment(home: dir, [
                "AWS_ENDPOINT_URL_STS": server.baseURL, "AWS_ACCESS_KEY_ID": "AKIAENVSRC", "AWS_SECRET_ACCESS_KEY": Self.sourceSecret,
            ])
            func provider(_ name: String) -> ProfileCredentialProvider {
                ProfileCredentialProvider(profileName: name, explicit: true, environment: env,
                                          httpClient: CredentialFixtures.httpClient, region: "us-east-1")
            }
            let answer328 = try await provider("env-role").credentials().accessKeyId
            #expect(answer328 == "ASIAENVROLE")
            #expect(server.requests.last?.header("Authorization")?.contains("Credential=AKIAENVSRC/") == true)
            for (name, fragment) in [("both", "both source_profile and credential_source"), ("neither", "source_profile or credential_source"),
                                     ("bogus", "Floppy"), ("mfa", "mfa_serial")] {
                do {
                    _ = try await provider(name).credentials()
                    Issue.record("profile \(name) must be refused")
                } catch {
                    CredentialFixtures.expectSafeError(error, mentions: ["profile \(name)", fragment], secrets: [Self.sourceSecret])
                }
            }
        }
    }

    @Test("AssumeRole: an STS error names the role and STS's code, never the source secret")
    func assumeRoleDenied() async throws {
        let denial = CredentialFixtures.stsError(
            code: "AccessDenied", message: "User arn:aws:iam::1:user/op is not authorized to perform: sts:AssumeRole")
        try await CredFakeServer.with(Self.sts(failWith: denial)) { server in
            let sts = STSClient(region: "us-east-1", environment: ["AWS_ENDPOINT_URL_STS": server.baseURL],
                                httpClient: CredentialFixtures.httpClient)
            let provider = AssumeRoleCredentialProvider(
                roleArn: "arn:aws:iam::1:role/Denied",
                source: StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIASRC", secretAccessKey: Self.sourceSecret, sessionToken: Self.token)),
                sts: sts)
            do {
                _ = try await provider.credentials()
                Issue.record("a denial must be an error")
            } catch {
                CredentialFixtures.expectSafeError(error, mentions: ["arn:aws:iam::1:role/Denied", "AccessDenied", "HTTP 403"],
                                                   secrets: [Self.sourceSecret, Self.token])
            }
            #expect(server.requests.count == 1, "a denial is not retried")
        }
    }

    @Test("STS 5xx is retried, then reported")
    func stsRetries() async throws {
        try await CredFakeServer.with(Self.sts(failWith: CredentialFixtures.stsError(code: "ServiceUnavailable", message: "busy", status: 503))) { server in
            let sts = STSClient(region: "us-east-1", environment: ["AWS_ENDPOINT_URL_STS": server.baseURL],
                                httpClient: CredentialFixtures.httpClient, maxAttempts: 3, retryBaseDelay: .milliseconds(5))
            await #expect(throws: CredentialError.self) {
                _ = try await sts.assumeRole(roleArn: "arn:aws:iam::1:role/R", sessionName: "s",
                                             sourceCredentials: AWSCredentials(accessKeyId: "A", secretAccessKey: Self.sourceSecret))
            }
            #expect(server.requests.count == 3)
        }
    }

    @Test("web identity from the environment: unsigned call carrying the token file's content")
    func webIdentityEnvironment() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl"
        let tokenFile = try dir.write("token", jwt + "\n")
        try await CredFakeServer.with(Self.sts()) { server in
            let env = CredentialFixtures.environment(home: dir, [
                "AWS_ENDPOINT_URL_STS": server.baseURL, "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                "AWS_ROLE_ARN": "arn:aws:iam::1:role/Irsa", "AWS_ROLE_SESSION_NAME": "pod-7",
            ])
            let chain = CredentialChain.standard(profile: nil, roleArn: nil, region: "us-west-2", environment: env,
                                                 httpClient: CredentialFixtures.httpClient)
            #expect(try await chain.credentials().accessKeyId == "ASIAIRSA")
            let request = try #require(server.requests.first)
            #expect(request.formFields["Action"] == "AssumeRoleWithWebIdentity")
            #expect(request.formFields["WebIdentityToken"] == jwt)
            #expect(request.formFields["RoleSessionName"] == "pod-7")
            #expect(request.header("Authorization") == nil)
        }
    }

    @Test("web identity from a profile; a missing token file is an error naming it")
    func webIdentityProfile() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        try dir.write("jwt", "profile-jwt")
        try dir.write(".aws/config", """
        [profile fed]
        role_arn = arn:aws:iam::1:role/Fed
        web_identity_token_file = ~/jwt
        [profile gone]
        role_arn = arn:aws:iam::1:role/Fed
        web_identity_token_file = /nonexistent/jwt
        """)
        try await CredFakeServer.with(Self.sts()) { server in
            let env = CredentialFixtures.environment(home: dir, ["AWS_ENDPOINT_URL_STS": server.baseURL])
            let fed = CredentialChain.standard(profile: "fed", roleArn: nil, region: "us-west-2", environment: env,
                                               httpClient: CredentialFixtures.httpClient)
            let answer416 = try await fed.credentials().accessKeyId
            #expect(answer416 == "ASIAFED")
            #expect(server.requests.first?.formFields["WebIdentityToken"] == "profile-jwt")
            let gone = CredentialChain.standard(profile: "gone", roleArn: nil, region: "us-west-2", environment: env,
                                                httpClient: CredentialFixtures.httpClient)
            do {
                _ = try await gone.credentials()
                Issue.record("a missing token file must be an error")
            } catch {
                CredentialFixtures.expectSafeError(error, mentions: ["web identity", "/nonexistent/jwt"], secrets: [])
            }
        }
    }

    @Test("config role_arn: AssumeRole signed with what the rest of the chain found (verified by botocore)",
          .enabled(if: CredPythonOracle.enabled, "python3 with botocore is not installed"))
    func configRoleArn() async throws {
        let dir = try CredTempDir()
        defer { dir.remove() }
        try await CredFakeServer.with(Self.sts()) { server in
            let env = CredentialFixtures.environment(home: dir, [
                "AWS_ENDPOINT_URL_STS": server.baseURL, "AWS_ACCESS_KEY_ID": "ASIAENVSOURCE",
                "AWS_SECRET_ACCESS_KEY": Self.sourceSecret, "AWS_SESSION_TOKEN": Self.token,
            ])
            let chain = CredentialChain.standard(profile: nil, roleArn: "arn:aws:iam::123456789012:role/OutpostsRead",
                                                 region: "us-west-2", environment: env, httpClient: CredentialFixtures.httpClient)
            #expect(try await chain.credentials().accessKeyId == "ASIAOUTPOSTSREAD")
            #expect(try await chain.credentials().accessKeyId == "ASIAOUTPOSTSREAD")
            #expect(server.requests.count == 1, "the assumed role is cached")
            let request = try #require(server.requests.first)
            let verdict = try await CredPythonOracle.verifySignature(
                of: request, url: server.baseURL + "/",
                credentials: AWSCredentials(accessKeyId: "ASIAENVSOURCE", secretAccessKey: Self.sourceSecret, sessionToken: Self.token),
                region: "us-west-2", service: "sts")
            #expect(verdict == "OK")
        }
    }
}
