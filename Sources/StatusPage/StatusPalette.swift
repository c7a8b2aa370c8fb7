import Foundation

/// The colour of each status on the status page: badges, timeline segments and the legend.
///
/// Statuses AWS documents get fixed colours grouped by meaning (waiting grey-blue, building
/// blue, on the way purple, arrived teal, installing amber, done green, problems red); any other
/// status, AWS may add some, gets one of the spare colours, the same one every time.
public enum StatusPalette {
    /// CSS colours; a status's colour is `colors[index(for:)]`.
    public static let colors = [
        "#7a8a9e", "#2f6fd0", "#7b4fc9", "#178a83", "#d98a00", "#2e8b3e", "#c73636", "#9aa1a9",
        "#b04f8d", "#5d7f2a", "#8c6239", "#3d8fb8",
    ]

    private static let fixed: [String: Int] = [
        "RECEIVED": 0, "PENDING": 0, "PREPARING": 0,
        "IN_PROGRESS": 1, "PROCESSING": 1, "BUILDING": 1,
        "SHIPPED": 2,
        "DELIVERED": 3,
        "INSTALLING": 4, "REPLACED": 4,
        "INSTALLED": 5, "COMPLETED": 5, "FULFILLED": 5,
        "CANCELLED": 7, "UNKNOWN": 7,
        "ERROR": 6, "NOT_FOUND": 6,
    ]

    /// The palette index of `status`: fixed for known ones, else a stable hash into the spares.
    public static func index(for status: String) -> Int {
        if let known = fixed[status] { return known }
        let spares = colors.count - 8
        // FNV-1a: stable across runs, unlike Hasher.
        var hash: UInt32 = 2_166_136_261
        for byte in status.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return 8 + Int(hash % UInt32(spares))
    }

    public static func color(for status: String) -> String { colors[index(for: status)] }
}
