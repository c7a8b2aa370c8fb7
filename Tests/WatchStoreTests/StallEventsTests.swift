import Foundation
import Testing
import WatchModel
import WatchStore

/// Events no poll produced (stalls): appended in sequence, refused when the history moved on, and
/// the stalled orders derived from the history.
@Suite struct StallEventsTests {
    func stalled(_ type: EventType, status: String, lineItem: String? = nil, at: Date = Date()) -> Event {
        Event(type: type, occurredAt: at, order: OrderRef(id: Sample.orderA),
              lineItem: lineItem.map { LineItemRef(id: $0, status: status) },
              change: Change(field: .stalled, from: .null,
                             to: .stall(Stall(status: status, since: at.addingTimeInterval(-60), threshold: "1m"))))
    }

    func changed(_ type: EventType, to: String, lineItem: String? = nil) -> Event {
        Event(type: type, occurredAt: Date(), order: OrderRef(id: Sample.orderA),
              lineItem: lineItem.map { LineItemRef(id: $0, status: to) },
              change: Change(field: .status, from: .string("X"), to: .string(to)))
    }

    @Test(arguments: StoreBackend.allCases) func appendNumbersRoutesAndRefusesAMovedHistory(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            try await store.syncWatchSet([(Sample.orderA, nil)], source: .config)
            _ = try await store.commit(Sample.success(Sample.orderA, events: [Sample.event(Sample.orderA)]),
                                       route: { _ in [] })
            let stale = try await store.append([stalled(.orderStalled, status: "IN_PROGRESS")], orderId: Sample.orderA,
                                               ifLastSequence: 0, at: Date(), route: { _ in ["ops"] })
            #expect(stale == nil, "another event landed since the caller decided: nothing written")
            let stored = try #require(try await store.append([stalled(.orderStalled, status: "IN_PROGRESS")],
                                                             orderId: Sample.orderA, ifLastSequence: 1, at: Date(),
                                                             route: { _ in ["ops"] }))
            #expect(stored.map(\.sequence) == [2])
            #expect(try await store.pendingCounts()["ops"] == 1, "one pending delivery per routed sink")
            #expect(try await store.history(orderId: Sample.orderA).map(\.type) == [Sample.event(Sample.orderA).type, .orderStalled])
            #expect(try await store.stalledOrders() == [Sample.orderA])
            _ = try await store.commit(Sample.success(Sample.orderA, events: [changed(.orderStatusChanged, to: "DELIVERED")]),
                                       route: { _ in [] })
            #expect(try await store.stalledOrders().isEmpty, "a status change ends the stay")
        }
    }

    @Test(arguments: StoreBackend.allCases) func lineItemStallsEndWithThatLineItemsChange(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store, dir in
            try await store.syncWatchSet([(Sample.orderA, nil)], source: .config)
            _ = try await store.commit(Sample.success(Sample.orderA, events: [Sample.event(Sample.orderA)]),
                                       route: { _ in [] })
            _ = try await store.append([stalled(.lineItemStalled, status: "SHIPPED", lineItem: "ooi-1")],
                                       orderId: Sample.orderA, ifLastSequence: 1, at: Date(), route: { _ in [] })
            _ = try await store.commit(Sample.success(Sample.orderA, events: [
                changed(.lineItemStatusChanged, to: "DELIVERED", lineItem: "ooi-2")]), route: { _ in [] })
            #expect(try await store.stalledOrders() == [Sample.orderA], "another line item's change does not end it")
            _ = try await store.commit(Sample.success(Sample.orderA, events: [
                changed(.lineItemStatusChanged, to: "DELIVERED", lineItem: "ooi-1")]), route: { _ in [] })
            #expect(try await store.stalledOrders().isEmpty)
        }
    }
}
