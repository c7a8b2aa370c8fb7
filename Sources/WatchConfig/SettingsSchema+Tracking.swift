import WatchModel

extension SettingsSchema {
    /// `[tracking]` (docs/configuration.md): every key a carrier, every value a tracking-page URL
    /// template with `{number}`, laid over the built-in templates. Carriers ignore case, so `ups`
    /// and `UPS` in one table name the same carrier twice.
    func readTracking(_ table: SchemaTable) -> TrackingTemplates {
        var overrides: [String: String] = [:]
        var seen: [String: SourcePosition] = [:]
        for entry in table.table.entries {
            let carrier = entry.key.uppercased()
            if let first = seen[carrier] {
                diagnostics.error("tracking: carrier \(entry.key) is given twice (already at \(first); carriers ignore case)",
                                  at: entry.keyPosition)
                continue
            }
            seen[carrier] = entry.keyPosition
            guard let template = reader.string(table, entry.key) else { continue }
            if let problem = TrackingTemplates.problem(with: template.value) {
                diagnostics.error("\(table.path(TOMLKeyPath.display([entry.key]))): \(SchemaReader.quoted(template.value)) \(problem); expected a URL such as \"https://example.com/track/{number}\"",
                                  at: template.position)
                continue
            }
            overrides[carrier] = template.value
        }
        return TrackingTemplates(overrides: overrides)
    }
}
