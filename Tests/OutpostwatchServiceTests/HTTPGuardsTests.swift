import Foundation
import Testing
import OutpostwatchService

/// The bearer check of the `[http]` server (docs/status-page.md, "Access").
@Suite struct HTTPGuardsTests {
    typealias Guard = BearerToken

    @Test func onlyTheExactTokenAfterBearerPasses() {
        let token = "s3cr3t-token"
        #expect(Guard.authorized("Bearer s3cr3t-token", token: token))
        #expect(Guard.authorized("bearer s3cr3t-token", token: token))
        #expect(!Guard.authorized(nil, token: token))
        #expect(!Guard.authorized("Bearer ", token: token))
        #expect(!Guard.authorized("Bearer s3cr3t-token ", token: token))
        #expect(!Guard.authorized("Bearer s3cr3t-toke", token: token))
        #expect(!Guard.authorized("Basic s3cr3t-token", token: token))
        #expect(!Guard.authorized("s3cr3t-token", token: token))
    }

    @Test func constantTimeEqualIsEquality() {
        #expect(Guard.constantTimeEqual("", ""))
        #expect(Guard.constantTimeEqual("abc", "abc"))
        #expect(!Guard.constantTimeEqual("abc", "abd"))
        #expect(!Guard.constantTimeEqual("abc", "abcd"))
        #expect(!Guard.constantTimeEqual("é", "e"))
    }
}
