import Synchronization

/// `amz-sdk-invocation-id` values: UUID-shaped (version 4 layout, lower-case), unique within a
/// process and unlikely to repeat across processes, at the cost of an atomic add and two
/// multiplications each.
///
/// The header only lets the service tie a call's retries together; nothing about it is secret.
/// Foundation's `UUID()` reads the system's random source on every call (on this platform an
/// open and read of `/dev/urandom` per poll), which is what made it worth replacing.
final class InvocationIds: Sendable {
    private let seed: UInt64
    private let counter = Atomic<UInt64>(0)

    init(seed: UInt64 = UInt64.random(in: .min ... .max)) {
        self.seed = seed
    }

    /// The next id: SplitMix64's output function over a counter, so ids never repeat in a process.
    func next() -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let high = Self.mix(seed &+ n &* 0x9E37_79B9_7F4A_7C15)
        let low = Self.mix(high ^ (seed &+ (n &+ 1) &* 0xD1B5_4A32_D192_ED03))
        // Version 4 and the RFC 4122 variant, as UUID().uuidString has them.
        let a = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let b = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var i = 0
            func put(_ value: UInt64, nibbles: Int) {
                for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                    buffer[i] = digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)]
                    i += 1
                }
            }
            func dash() {
                buffer[i] = UInt8(ascii: "-")
                i += 1
            }
            put(a >> 32, nibbles: 8); dash()
            put(a >> 16, nibbles: 4); dash()
            put(a, nibbles: 4); dash()
            put(b >> 48, nibbles: 4); dash()
            put(b, nibbles: 12)
            return i
        }
    }

    /// SplitMix64's finaliser (see WatchEngine's SplitMix64).
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
