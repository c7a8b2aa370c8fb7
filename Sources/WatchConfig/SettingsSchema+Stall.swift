extension SettingsSchema {
    static let stallKeys = ["order", "line_item"]

    /// `[stall.order]` / `[stall.line_item]`: every key a status, every value a duration.
    func readStall(_ table: SchemaTable) -> StallSettings {
        reader.rejectUnknownKeys(table, allowed: Self.stallKeys)
        var stall = StallSettings()
        if let order = reader.table(table, "order") { stall.order = readThresholds(order) }
        if let lineItem = reader.table(table, "line_item") { stall.lineItem = readThresholds(lineItem) }
        return stall
    }

    private func readThresholds(_ table: SchemaTable) -> [String: StallSettings.Threshold] {
        var thresholds: [String: StallSettings.Threshold] = [:]
        for entry in table.table.entries {
            guard let duration = reader.requiredDuration(table, entry.key),
                  case .string(let text) = entry.node.value else { continue }
            thresholds[entry.key] = StallSettings.Threshold(duration, text: text)
        }
        return thresholds
    }
}
