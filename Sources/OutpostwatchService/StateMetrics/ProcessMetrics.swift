import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics of the Prometheus client libraries (docs/metrics.md), read
/// from Linux's /proc: CPU seconds, resident and virtual memory, start time, open and maximum
/// file descriptors. Absent where /proc is not readable.
package struct ProcessMetrics: Sendable, Equatable {
    package var cpuSeconds: Double
    package var residentBytes: Double
    package var virtualBytes: Double
    package var startTime: Double
    package var openFDs: Double
    package var maxFDs: Double?

    /// The current process, or `nil` without /proc.
    package static func current() -> ProcessMetrics? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let procStat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        let openFDs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        var limit = rlimit()
        let maxFDs: Double? = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Double(limit.rlim_cur) : nil
        return parse(stat: stat, procStat: procStat, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
                     pageSize: Double(sysconf(Int32(_SC_PAGESIZE))), openFDs: openFDs, maxFDs: maxFDs)
    }

    /// From the text of /proc/self/stat and /proc/stat (`btime`): pure, for tests.
    package static func parse(stat: String, procStat: String, ticksPerSecond: Double, pageSize: Double,
                              openFDs: Int, maxFDs: Double?) -> ProcessMetrics? {
        // The command name (field 2) is in parentheses and may hold spaces: fields count after ")".
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ").map(String.init)
        // fields[0] is field 3 (state): field N is fields[N - 3].
        func field(_ n: Int) -> Double? { fields.count > n - 3 ? Double(fields[n - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23),
              let rss = field(24), ticksPerSecond > 0 else { return nil }
        guard let btimeLine = procStat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let bootTime = Double(btimeLine.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces)) else {
            return nil
        }
        return ProcessMetrics(cpuSeconds: (utime + stime) / ticksPerSecond, residentBytes: rss * pageSize,
                              virtualBytes: vsize, startTime: bootTime + start / ticksPerSecond,
                              openFDs: Double(openFDs), maxFDs: maxFDs)
    }

    package func render(into out: inout Exposition) {
        out.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
        out.sample("process_cpu_seconds_total", [:], cpuSeconds)
        out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
        out.sample("process_resident_memory_bytes", [:], residentBytes)
        out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.")
        out.sample("process_virtual_memory_bytes", [:], virtualBytes)
        out.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
        out.sample("process_start_time_seconds", [:], startTime)
        out.family("process_open_fds", "gauge", "Number of open file descriptors.")
        out.sample("process_open_fds", [:], openFDs)
        if let maxFDs {
            out.family("process_max_fds", "gauge", "Maximum number of open file descriptors.")
            out.sample("process_max_fds", [:], maxFDs)
        }
    }
}
