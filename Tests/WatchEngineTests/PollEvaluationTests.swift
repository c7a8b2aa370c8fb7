import Foundation
import OutpostsAPI
import Testing
import WatchEngine
import WatchModel
import WatchStore

private let orderId = "oo-0123456789abcdef0"
private let at = Date(timeIntervalSince1970: 1_790_000_000)

private func apiOrder(_ status: String, items: [LineItem] = []) -> Order {
    Order(outpostId: "op-0123456789abcdef0", orderId: orderId, status: status, lineItems: items)
}

private func snapshot(_ status: String) -> OrderSnapshot {
    try! OrderMapping.snapshot(of: apiOrder(status), requestedId: orderId)
}

@Suite struct PollEvaluationTests {
    @Test func firstSuccessIsTheBaseline() throws {
        let watched = WatchedOrder(orderId: orderId, label: "rack")
        let commit = try #require(PollEvaluation.evaluate(watched: watched, outcome: .order(apiOrder("PREPARING")),
                                                          failingAfter: 3, at: at))
        #expect(commit.succeeded && !commit.failing && !commit.notFound)
        #expect(commit.consecutiveFailures == 0 && commit.lastError == nil)
        #expect(commit.snapshot == snapshot("PREPARING"))
        #expect(commit.polledAt == at && commit.orderId == orderId)
        #expect(commit.events.map(\.type) == [.orderFirstSeen])
        #expect(commit.events.first?.order.label == "rack")
    }

    @Test func successDiffsAgainstTheStoredSnapshot() throws {
        let watched = WatchedOrder(orderId: orderId, snapshot: snapshot("PREPARING"), lastSequence: 1)
        let commit = try #require(PollEvaluation.evaluate(watched: watched, outcome: .order(apiOrder("IN_PROGRESS")),
                                                          failingAfter: 3, at: at))
        #expect(commit.events.map(\.type) == [.orderStatusChanged])
        let unchanged = try #require(PollEvaluation.evaluate(watched: watched, outcome: .order(apiOrder("PREPARING")),
                                                             failingAfter: 3, at: at))
        #expect(unchanged.events.isEmpty && unchanged.succeeded)
    }

    @Test func onlyPollTimesChangedWhenNothingElseDoes() throws {
        func quiet(_ watched: WatchedOrder, _ outcome: PollResult) throws -> Bool {
            try #require(PollEvaluation.evaluate(watched: watched, outcome: outcome, failingAfter: 3, at: at))
                .onlyPollTimesChanged
        }
        let settled = WatchedOrder(orderId: orderId, snapshot: snapshot("PREPARING"), lastSequence: 1)
        #expect(try quiet(settled, .order(apiOrder("PREPARING"))))
        #expect(try !quiet(settled, .order(apiOrder("IN_PROGRESS"))), "a change")
        #expect(try !quiet(WatchedOrder(orderId: orderId), .order(apiOrder("PREPARING"))), "the first poll")
        #expect(try !quiet(settled, .failed("HTTP 500")), "a failure")
        #expect(try !quiet(settled, .notFound), "gone")
        var afterFailure = settled
        afterFailure.consecutiveFailures = 1
        afterFailure.lastError = "HTTP 500"
        #expect(try !quiet(afterFailure, .order(apiOrder("PREPARING"))), "clears the failure count")
        var failing = afterFailure
        failing.consecutiveFailures = 3
        failing.failing = true
        #expect(try !quiet(failing, .order(apiOrder("PREPARING"))), "recovers")
        var gone = settled
        gone.notFound = true
        #expect(try quiet(gone, .notFound), "still gone")
        #expect(try !quiet(gone, .order(apiOrder("PREPARING"))), "back")
    }

    @Test func failuresCountUpAndFailOnceAtTheThreshold() throws {
        var watched = WatchedOrder(orderId: orderId, label: "rack", snapshot: snapshot("IN_PROGRESS"))
        var emitted: [EventType] = []
        for attempt in 1...5 {
            let commit = try #require(PollEvaluation.evaluate(watched: watched, outcome: .failed("HTTP 500: boom"),
                                                              failingAfter: 3, at: at))
            #expect(!commit.succeeded)
            #expect(commit.snapshot == nil, "a failed poll keeps the stored snapshot")
            #expect(commit.consecutiveFailures == attempt)
            #expect(commit.failing == (attempt >= 3))
            #expect(commit.lastError == "HTTP 500: boom")
            emitted += commit.events.map(\.type)
            if attempt == 3 {
                let event = try #require(commit.events.only)
                #expect(event.change == Change(field: .watch, from: .string("ok"), to: .string("failing")))
                #expect(event.error == "HTTP 500: boom")
                #expect(event.order.status == "IN_PROGRESS" && event.order.label == "rack")
            }
            watched.consecutiveFailures = commit.consecutiveFailures
            watched.failing = commit.failing
        }
        #expect(emitted == [.watchFailing])

        let back = try #require(PollEvaluation.evaluate(watched: watched, outcome: .order(apiOrder("DELIVERED")),
                                                        failingAfter: 3, at: at))
        #expect(back.events.map(\.type) == [.watchRecovered, .orderStatusChanged])
        #expect(back.events[0].change == Change(field: .watch, from: .string("failing"), to: .string("ok")))
        #expect(!back.failing && back.consecutiveFailures == 0 && back.lastError == nil)
    }

    @Test func loweredThresholdStillFailsOnce() throws {
        let watched = WatchedOrder(orderId: orderId, consecutiveFailures: 5)
        let commit = try #require(PollEvaluation.evaluate(watched: watched, outcome: .failed("x"), failingAfter: 3, at: at))
        #expect(commit.events.map(\.type) == [.watchFailing])
    }

    @Test func invalidBodyIsAFailedPollWithoutEvents() throws {
        let watched = WatchedOrder(orderId: orderId, snapshot: snapshot("PREPARING"))
        for body in [Order(status: "DELIVERED"), Order(orderId: "oo-fffffffffffffffff", status: "DELIVERED"),
                     Order(orderId: orderId, lineItems: [LineItem(status: "SHIPPED")])] {
            let commit = try #require(PollEvaluation.evaluate(watched: watched, outcome: .order(body),
                                                              failingAfter: 3, at: at))
            #expect(!commit.succeeded && commit.snapshot == nil && commit.events.isEmpty)
            #expect(commit.consecutiveFailures == 1)
            #expect(commit.lastError?.contains("invalid Order") == true)
        }
    }

    @Test func notFoundIsReportedOnceAndIsASuccessfulPoll() throws {
        var watched = WatchedOrder(orderId: orderId, snapshot: snapshot("IN_PROGRESS"), consecutiveFailures: 1)
        let first = try #require(PollEvaluation.evaluate(watched: watched, outcome: .notFound, failingAfter: 3, at: at))
        let event = try #require(first.events.only)
        #expect(event.type == .orderNotFound)
        #expect(event.change == Change(field: .status, from: .string("IN_PROGRESS"), to: .null))
        #expect(event.order.status == "IN_PROGRESS")
        #expect(first.succeeded && first.notFound && first.snapshot == nil && first.consecutiveFailures == 0)

        watched.notFound = true
        let again = try #require(PollEvaluation.evaluate(watched: watched, outcome: .notFound, failingAfter: 3, at: at))
        #expect(again.events.isEmpty && again.notFound)

        let back = try #require(PollEvaluation.evaluate(watched: watched, outcome: .order(apiOrder("IN_PROGRESS")),
                                                        failingAfter: 3, at: at))
        #expect(back.events.isEmpty, "back with the same state: nothing changed since it vanished")
        #expect(!back.notFound)
    }

    @Test func failingOrderThatTurnsUpMissingRecoversFirst() throws {
        let watched = WatchedOrder(orderId: orderId, consecutiveFailures: 4, failing: true)
        let commit = try #require(PollEvaluation.evaluate(watched: watched, outcome: .notFound, failingAfter: 3, at: at))
        #expect(commit.events.map(\.type) == [.watchRecovered, .orderNotFound])
        #expect(commit.events[1].change.from == .null)
    }

    @Test func failuresKeepTheNotFoundFlag() throws {
        let watched = WatchedOrder(orderId: orderId, notFound: true)
        let commit = try #require(PollEvaluation.evaluate(watched: watched, outcome: .failed("x"), failingAfter: 3, at: at))
        #expect(commit.notFound)
    }

    @Test func throttlingRecordsNothing() {
        let watched = WatchedOrder(orderId: orderId, consecutiveFailures: 2)
        #expect(PollEvaluation.evaluate(watched: watched, outcome: .throttled, failingAfter: 3, at: at) == nil)
    }

    @Test func errorsMapToResults() {
        #expect(PollResult.from(OutpostsError(kind: .notFound, message: "no")) == .notFound)
        #expect(PollResult.from(OutpostsError(kind: .throttling, message: "slow down")) == .throttled)
        let server = OutpostsError(kind: .server, code: "InternalServerException", message: "oops", statusCode: 500)
        #expect(PollResult.from(server) == .failed(server.description))
        #expect(PollResult.from(OutpostsError(kind: .invalidResponse, message: "truncated")).failureMessage != nil)
        #expect(PollResult.from(CocoaError(.fileNoSuchFile)).failureMessage != nil)
    }
}
