/// When each order is due next, with the soonest found in O(log n).
///
/// The poll loop asks for the soonest due order after every poll; with 10 000 orders a scan of
/// a dictionary on each of those questions was most of the daemon's CPU. A binary min-heap of
/// (instant, id) answers instead, with lazy deletion: the dictionary stays the truth, and a
/// heap entry that no longer matches it is dropped when it reaches the top.
package struct DueSchedule: Sendable {
    private var instants: [String: ContinuousClock.Instant] = [:]
    private var heap: [Entry] = []

    private struct Entry: Sendable {
        var at: ContinuousClock.Instant
        var id: String

        /// Soonest first; ties by id, so the order is deterministic.
        static func precedes(_ a: Entry, _ b: Entry) -> Bool {
            a.at != b.at ? a.at < b.at : a.id < b.id
        }
    }

    package init() {}

    /// The instant `id` is due, or `nil` when it is not scheduled; setting `nil` unschedules it.
    package subscript(id: String) -> ContinuousClock.Instant? {
        get { instants[id] }
        set {
            instants[id] = newValue
            if let at = newValue { push(Entry(at: at, id: id)) }
            // Replaced and removed entries stay in the heap until they surface; rebuild when they
            // outnumber the live ones, so memory stays proportional to the orders scheduled.
            if heap.count > 2 * instants.count + 64 { rebuild() }
        }
    }

    /// The ids scheduled.
    package var ids: Dictionary<String, ContinuousClock.Instant>.Keys { instants.keys }

    package var count: Int { instants.count }

    package mutating func removeAll() {
        instants = [:]
        heap = []
    }

    /// Whether an id is due at or before `instant`.
    package mutating func hasDue(by instant: ContinuousClock.Instant) -> Bool {
        earliest().map { $0.at <= instant } ?? false
    }

    /// The soonest scheduled id and its instant (ties broken by id).
    package mutating func earliest() -> (id: String, at: ContinuousClock.Instant)? {
        while let top = heap.first {
            if instants[top.id] == top.at { return (top.id, top.at) }
            popTop()
        }
        return nil
    }

    // MARK: Heap

    private mutating func rebuild() {
        heap = instants.map { Entry(at: $0.value, id: $0.key) }
        guard heap.count > 1 else { return }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Entry.precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var first = parent
            if left < heap.count, Entry.precedes(heap[left], heap[first]) { first = left }
            if right < heap.count, Entry.precedes(heap[right], heap[first]) { first = right }
            if first == parent { return }
            heap.swapAt(parent, first)
            parent = first
        }
    }
}
