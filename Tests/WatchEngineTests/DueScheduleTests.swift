import Testing
import WatchEngine

@Suite struct DueScheduleTests {
    /// Random schedules, reschedules, removals and takes, checked step by step against a plain
    /// dictionary scanned for its minimum (what the poller did before).
    @Test(arguments: [1, 2, 3, 4, 5])
    func agreesWithAScanOfTheDictionary(seed: UInt64) {
        var rng = SplitMix64(state: seed)
        let origin = ContinuousClock.now
        var schedule = DueSchedule()
        var truth: [String: ContinuousClock.Instant] = [:]
        func naiveEarliest() -> (String, ContinuousClock.Instant)? {
            truth.min { ($0.value, $0.key) < ($1.value, $1.key) }.map { ($0.key, $0.value) }
        }
        for _ in 0..<5_000 {
            let id = "oo-\(rng.next() % 200)"
            // Few distinct instants, so ties (broken by id) happen often.
            let at = origin + .milliseconds(Int(rng.next() % 50))
            switch rng.next() % 5 {
            case 0, 1:
                schedule[id] = at
                truth[id] = at
            case 2:
                schedule[id] = nil
                truth[id] = nil
            case 3:
                let taken = schedule.earliest()
                let expected = naiveEarliest()
                #expect(taken?.id == expected?.0 && taken?.at == expected?.1)
                if let taken {
                    schedule[taken.id] = nil
                    truth[taken.id] = nil
                }
            default:
                schedule.removeAll()
                truth.removeAll()
                if rng.next() % 10 != 0 { continue }
            }
            #expect(schedule[id] == truth[id])
            #expect(schedule.count == truth.count)
            let soonest = schedule.earliest()
            let expected = naiveEarliest()
            #expect(soonest?.id == expected?.0 && soonest?.at == expected?.1)
        }
        #expect(Set(schedule.ids) == Set(truth.keys))
    }
}
