import Foundation

/// Why no AWS region could be determined.
public struct RegionError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Which AWS region to call, in botocore's order of precedence.
public enum AWSRegionResolver {
    /// The configured region (`[aws] region`), else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else
    /// the `region` of the selected profile in the config file (the profile being `profile`,
    /// else `AWS_DEFAULT_PROFILE`, else `AWS_PROFILE`, else `default`). Empty values count as
    /// unset. Throws ``RegionError`` when none is set, or when a malformed config file or a
    /// missing explicitly named profile stands in the way.
    public static func resolve(configured: String?, profile: String?, environment: [String: String]) throws -> String {
        for candidate in [configured, environment["AWS_REGION"], environment["AWS_DEFAULT_REGION"]] {
            if let region = candidate?.trimmingCharacters(in: .whitespaces), !region.isEmpty { return region }
        }
        let selection = AWSConfigFiles.selectProfile(configured: profile.flatMap { $0.isEmpty ? nil : $0 }, environment: environment)
        let files: AWSConfigFiles
        do {
            files = try AWSConfigFiles.load(environment: environment)
        } catch {
            throw RegionError(message: "no AWS region: set region in [aws] of the config, or AWS_REGION (and the profile's region could not be read: \(error))")
        }
        guard let found = files.profile(selection.name) else {
            if selection.explicit {
                throw RegionError(message: "no AWS region: set region in [aws] of the config, or AWS_REGION (profile \"\(selection.name)\" is not in \(files.configFile))")
            }
            throw RegionError(message: "no AWS region: set region in [aws] of the config, or AWS_REGION")
        }
        // The region is a config-file setting; botocore reads it from the merged profile too.
        if let region = found["region"]?.trimmingCharacters(in: .whitespaces), !region.isEmpty {
            return region
        }
        throw RegionError(message: "no AWS region: set region in [aws] of the config, or AWS_REGION (profile \"\(selection.name)\" in \(files.configFile) has no region)")
    }
}
