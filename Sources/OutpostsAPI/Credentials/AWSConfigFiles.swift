import Foundation

/// One section of an AWS shared config or credentials file.
///
/// Keys are lower-cased, as Python's configparser does. An option written with an empty value
/// and indented lines below it (`s3 =` then `  max_concurrent_requests = 10`) is a sub-section,
/// kept apart in ``subsections`` exactly as botocore does.
public struct AWSConfigProfile: Sendable, Equatable {
    public var values: [String: String]
    public var subsections: [String: [String: String]]

    public init(values: [String: String] = [:], subsections: [String: [String: String]] = [:]) {
        self.values = values
        self.subsections = subsections
    }

    /// A plain value; `nil` when absent or when the key names a sub-section.
    public subscript(key: String) -> String? { values[key] }

    /// The same key from `other` replaces ours, as botocore merges the credentials file over
    /// the config file.
    func overlaid(by other: AWSConfigProfile) -> AWSConfigProfile {
        var merged = self
        for (key, value) in other.values {
            merged.values[key] = value
            merged.subsections[key] = nil
        }
        for (key, value) in other.subsections {
            merged.subsections[key] = value
            merged.values[key] = nil
        }
        return merged
    }
}

/// The AWS shared credentials file and config file, parsed with botocore's rules.
///
/// Rules (botocore's `configloader` on Python's `RawConfigParser`): `key = value` or
/// `key: value`; whole-line comments start with `#` or `;` (a `#` after a value is part of the
/// value); keys are case-insensitive; indented lines continue the previous value; a `[DEFAULT]`
/// section's keys are inherited by every section; a duplicate section or key is an error. In
/// the config file a profile is `[default]` or `[profile NAME]` (other sections are not
/// profiles); in the credentials file every section is a profile. Where a profile is in both,
/// the credentials file wins key by key. A missing file is an empty one; an unreadable one is
/// noted in ``notes`` (and then treated as empty) so "no credentials found" can say why.
public struct AWSConfigFiles: Sendable {
    /// Path of the shared credentials file (whether it exists or not).
    public let credentialsFile: String
    /// Path of the config file (whether it exists or not).
    public let configFile: String
    /// Sections of the credentials file, by their name as written.
    public let credentialsProfiles: [String: AWSConfigProfile]
    /// Profiles of the config file, by profile name (`[profile x]` → `x`).
    public let configProfiles: [String: AWSConfigProfile]
    /// `[sso-session NAME]` sections of the config file, by NAME (IAM Identity Center).
    public let ssoSessions: [String: AWSConfigProfile]
    /// Why a file that exists was treated as empty (unreadable), for error messages.
    public let notes: [String]

    /// Reads both files from the locations the environment selects: `AWS_SHARED_CREDENTIALS_FILE`
    /// (else `~/.aws/credentials`) and `AWS_CONFIG_FILE` (else `~/.aws/config`), `~` being `HOME`.
    /// Throws ``CredentialError`` naming the file and line when one is malformed.
    public static func load(environment: [String: String]) throws -> AWSConfigFiles {
        let paths = locations(environment: environment)
        return try AWSConfigFiles(credentialsFile: paths.credentialsFile, configFile: paths.configFile)
    }

    /// The two file paths the environment selects, without reading them.
    public static func locations(environment: [String: String]) -> (credentialsFile: String, configFile: String) {
        func path(_ variable: String, default fallback: String) -> String {
            let raw = environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
            return CredentialSupport.expandPath(raw, environment: environment)
        }
        return (path("AWS_SHARED_CREDENTIALS_FILE", default: "~/.aws/credentials"),
                path("AWS_CONFIG_FILE", default: "~/.aws/config"))
    }

    /// Reads the two files at these paths.
    public init(credentialsFile: String, configFile: String) throws {
        self.credentialsFile = credentialsFile
        self.configFile = configFile
        var notes: [String] = []
        let credentialsText = Self.read(credentialsFile, notes: &notes)
        let configText = Self.read(configFile, notes: &notes)
        let credentialSections = try credentialsText.map {
            try Self.parseSections($0, source: "shared credentials file \(credentialsFile)")
        } ?? []
        let configSections = try configText.map {
            try Self.parseSections($0, source: "config file \(configFile)")
        } ?? []
        self.credentialsProfiles = Dictionary(credentialSections, uniquingKeysWith: { _, last in last })
        self.configProfiles = Self.profileMap(configSections)
        self.ssoSessions = Self.sectionMap(configSections, kind: "sso-session")
        self.notes = notes
    }

    /// Already-parsed contents, for callers that build files in memory.
    public init(credentialsFile: String, configFile: String, credentialsProfiles: [String: AWSConfigProfile],
                configProfiles: [String: AWSConfigProfile], ssoSessions: [String: AWSConfigProfile] = [:]) {
        self.credentialsFile = credentialsFile
        self.configFile = configFile
        self.credentialsProfiles = credentialsProfiles
        self.configProfiles = configProfiles
        self.ssoSessions = ssoSessions
        self.notes = []
    }

    /// The profile as botocore's `full_config` sees it: the config file's profile with the
    /// credentials file's section of the same name laid over it.
    public func profile(_ name: String) -> AWSConfigProfile? {
        switch (configProfiles[name], credentialsProfiles[name]) {
        case (nil, nil): return nil
        case (let config?, nil): return config
        case (nil, let credentials?): return credentials
        case (let config?, let credentials?): return config.overlaid(by: credentials)
        }
    }

    /// Every profile name either file defines.
    public var profileNames: Set<String> {
        Set(configProfiles.keys).union(credentialsProfiles.keys)
    }

    /// The profile to use and whether it was named explicitly: the configured one, else
    /// `AWS_DEFAULT_PROFILE`, else `AWS_PROFILE` (botocore checks them in that order), else
    /// `default`. Only an explicitly named profile must exist.
    public static func selectProfile(configured: String?, environment: [String: String]) -> (name: String, explicit: Bool) {
        for candidate in [configured, environment["AWS_DEFAULT_PROFILE"], environment["AWS_PROFILE"]] {
            if let name = candidate, !name.isEmpty { return (name, true) }
        }
        return ("default", false)
    }

    // MARK: - Parsing

    /// The sections of an INI text in order of first appearance, `[DEFAULT]`'s keys merged into
    /// each (and `[DEFAULT]` itself left out), as `RawConfigParser` reads it for botocore.
    /// Errors name the line but never quote it: the line may hold a secret.
    public static func parseSections(_ text: String, source: String) throws -> [(name: String, profile: AWSConfigProfile)] {
        var order: [String] = []
        var sections: [String: [(key: String, lines: [String])]] = [:]
        var defaults: [(key: String, lines: [String])] = []
        var seenSections: Set<String> = []
        var seenKeys: Set<String> = []
        var currentSection: String?   // "DEFAULT" for the defaults section
        var currentKeyIndex: Int?
        var indentLevel = 0
        var firstBadLine: Int?

        func fail(_ line: Int, _ message: String) -> CredentialError {
            CredentialError(source: source, message: "line \(line): \(message)")
        }
        func appendToCurrent(_ value: String) {
            guard let section = currentSection, let index = currentKeyIndex else { return }
            if section == "DEFAULT" {
                defaults[index].lines.append(value)
            } else {
                sections[section]![index].lines.append(value)
            }
        }

        for (offset, line) in splitLines(text).enumerated() {
            let lineNumber = offset + 1
            let stripped = pythonStrip(Substring(line))
            let isComment = stripped.hasPrefix("#") || stripped.hasPrefix(";")
            let value = isComment ? "" : stripped
            if value.isEmpty {
                // Python keeps blank lines inside a multi-line value (not comment lines).
                if !isComment, currentSection != nil, currentKeyIndex != nil { appendToCurrent("") }
                continue
            }
            let indent = line.unicodeScalars.prefix { isPythonWhitespace($0) }.count
            if currentSection != nil, currentKeyIndex != nil, indent > indentLevel {
                appendToCurrent(value)
                continue
            }
            indentLevel = indent
            if value.hasPrefix("["), let close = value.lastIndex(of: "]"),
               value.distance(from: value.startIndex, to: close) > 1 {
                let name = String(value[value.index(after: value.startIndex)..<close])
                if name == "DEFAULT" {
                    currentSection = "DEFAULT"
                } else {
                    if seenSections.contains(name) {
                        throw fail(lineNumber, "section [\(name)] appears twice")
                    }
                    seenSections.insert(name)
                    if sections[name] == nil {
                        sections[name] = []
                        order.append(name)
                    }
                    currentSection = name
                }
                currentKeyIndex = nil
                continue
            }
            guard let section = currentSection else {
                throw fail(lineNumber, "a setting before the first [section] header")
            }
            guard let delimiter = value.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                firstBadLine = firstBadLine ?? lineNumber
                currentKeyIndex = nil
                continue
            }
            let key = pythonStrip(value[..<delimiter]).lowercased()
            if key.isEmpty {
                firstBadLine = firstBadLine ?? lineNumber
            }
            if seenKeys.contains(section + "\u{0}" + key) {
                throw fail(lineNumber, "key \"\(key)\" appears twice in section [\(section)]")
            }
            seenKeys.insert(section + "\u{0}" + key)
            let first = pythonStrip(value[value.index(after: delimiter)...])
            if section == "DEFAULT" {
                defaults.removeAll { $0.key == key }
                defaults.append((key, [first]))
                currentKeyIndex = defaults.count - 1
            } else {
                sections[section]!.removeAll { $0.key == key }
                sections[section]!.append((key, [first]))
                currentKeyIndex = sections[section]!.count - 1
            }
        }
        if let firstBadLine {
            throw fail(firstBadLine, "expected \"key = value\" or a [section] header")
        }

        func build(_ entries: [(key: String, lines: [String])], into profile: inout AWSConfigProfile) throws {
            for entry in entries {
                let joined = pythonRStrip(entry.lines.joined(separator: "\n"))
                if joined.hasPrefix("\n") {
                    var nested: [String: String] = [:]
                    for nestedLine in joined.split(separator: "\n") {
                        let content = pythonStrip(nestedLine)
                        if content.isEmpty { continue }
                        guard let eq = content.firstIndex(of: "=") else {
                            throw CredentialError(source: source, message: "the indented block under \"\(entry.key)\" holds a line without \"=\"")
                        }
                        nested[pythonStrip(content[..<eq])] = pythonStrip(content[content.index(after: eq)...])
                    }
                    profile.subsections[entry.key] = nested
                    profile.values[entry.key] = nil
                } else {
                    profile.values[entry.key] = joined
                    profile.subsections[entry.key] = nil
                }
            }
        }
        var result: [(name: String, profile: AWSConfigProfile)] = []
        for name in order {
            var profile = AWSConfigProfile()
            try build(defaults, into: &profile)
            try build(sections[name]!, into: &profile)
            result.append((name, profile))
        }
        return result
    }

    /// botocore's `build_profile_map` for the config file: `[default]` and `[profile NAME]`
    /// (NAME split as by `shlex`, so `[profile "my name"]` is `my name`), later sections
    /// replacing earlier ones of the same profile.
    public static func profileMap(_ sections: [(name: String, profile: AWSConfigProfile)]) -> [String: AWSConfigProfile] {
        var profiles: [String: AWSConfigProfile] = [:]
        for (name, profile) in sections {
            if name.hasPrefix("profile") {
                if let parts = shellSplit(name), parts.count == 2 {
                    profiles[parts[1]] = profile
                }
            } else if name == "default" {
                profiles[name] = profile
            }
        }
        return profiles
    }

    /// `[sso-session NAME]` sections by NAME, as botocore's `build_profile_map` reads them.
    static func sectionMap(_ sections: [(name: String, profile: AWSConfigProfile)], kind: String) -> [String: AWSConfigProfile] {
        var map: [String: AWSConfigProfile] = [:]
        for (name, profile) in sections where name.hasPrefix(kind) {
            if let parts = shellSplit(name), parts.count == 2 {
                map[parts[1]] = profile
            }
        }
        return map
    }

    // MARK: - Private

    private static func read(_ path: String, notes: inout [String]) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            notes.append("\(path) is not readable")
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            notes.append("\(path) is not valid UTF-8")
            return nil
        }
        return text
    }

    /// Python's universal newlines: `\r\n`, `\r` and `\n` all end a line.
    private static func splitLines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                if !previousWasCR { lines.append(String(current)) }
                current = String.UnicodeScalarView()
                previousWasCR = false
            } else if scalar == "\r" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
                previousWasCR = true
            } else {
                current.append(scalar)
                previousWasCR = false
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    /// `str.isspace()`: Unicode White_Space plus the ASCII separators U+001C…U+001F.
    private static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        (0x1C...0x1F).contains(scalar.value) || scalar.properties.isWhitespace
    }

    private static func pythonStrip(_ text: Substring) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isPythonWhitespace($0) }),
              let last = scalars.lastIndex(where: { !isPythonWhitespace($0) }) else { return "" }
        return String(scalars[first...last])
    }

    private static func pythonRStrip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let last = scalars.lastIndex(where: { !isPythonWhitespace($0) }) else { return "" }
        return String(scalars[...last])
    }

    /// POSIX `shlex.split` (no comments): whitespace separates words, quotes group them,
    /// backslash escapes outside single quotes. `nil` for an unclosed quote (botocore then
    /// ignores the section).
    static func shellSplit(_ text: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for c in text {
            if escaped {
                if quote == "\"", c != "\\", c != "\"" { current.append("\\") }
                current.append(c)
                escaped = false
                inWord = true
                continue
            }
            switch quote {
            case "'":
                if c == "'" { quote = nil } else { current.append(c) }
            case "\"":
                if c == "\"" { quote = nil } else if c == "\\" { escaped = true } else { current.append(c) }
            default:
                if c == " " || c == "\t" || c == "\n" || c == "\r" {
                    if inWord { words.append(current); current = ""; inWord = false }
                } else if c == "'" || c == "\"" {
                    quote = c
                    inWord = true
                } else if c == "\\" {
                    escaped = true
                    inWord = true
                } else {
                    current.append(c)
                    inWord = true
                }
            }
        }
        if quote != nil || escaped { return nil }
        if inWord { words.append(current) }
        return words
    }
}
