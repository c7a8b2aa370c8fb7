import Foundation

/// Why an Outposts endpoint could not be resolved. Names where the bad value came from so an
/// operator knows which setting to fix.
public struct EndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `config endpoint`, `AWS_ENDPOINT_URL_OUTPOSTS`, `AWS_ENDPOINT_URL` or `region`.
    public var source: String
    public var value: String
    public var message: String

    public init(source: String, value: String, message: String) {
        self.source = source
        self.value = value
        self.message = message
    }

    public var description: String { "\(source) \"\(value)\": \(message)" }
}

/// Resolved location of an AWS API (Outposts, EventBridge, SNS): signing region and base URL.
public struct OutpostsEndpoint: Sendable, Equatable {
    public var region: String
    /// Base URL, e.g. `https://outposts.us-west-2.amazonaws.com` or `http://127.0.0.1:8714`.
    public var url: URL

    public init(region: String, url: URL) {
        self.region = region
        self.url = url
    }
}

extension OutpostsEndpoint {
    /// Where to send Outposts calls, in the precedence order of the AWS SDKs: the config's
    /// `endpoint`, else `AWS_ENDPOINT_URL_OUTPOSTS`, else `AWS_ENDPOINT_URL`, else the regional
    /// endpoint of the region's partition (`outposts-fips.…` when `useFips`). An explicit
    /// endpoint wins over `useFips`, as in botocore. Empty values count as unset.
    public static func resolve(region: String, configuredEndpoint: String?, useFips: Bool,
                               environment: [String: String]) throws -> OutpostsEndpoint {
        try resolve(service: "outposts", region: region, configuredEndpoint: configuredEndpoint, useFips: useFips,
                    environment: environment)
    }

    /// The same resolution for any AWS service (`events`, `sns`): the config's `endpoint`, else
    /// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`, else `https://SERVICE[-fips].REGION.SUFFIX`.
    public static func resolve(service: String, region: String, configuredEndpoint: String?, useFips: Bool,
                               environment: [String: String]) throws -> OutpostsEndpoint {
        let serviceVariable = "AWS_ENDPOINT_URL_" + service.uppercased().replacingOccurrences(of: "-", with: "_")
        let explicit: [(source: String, value: String?)] = [
            ("config endpoint", configuredEndpoint),
            (serviceVariable, environment[serviceVariable]),
            ("AWS_ENDPOINT_URL", environment["AWS_ENDPOINT_URL"]),
        ]
        let signingRegion = try validatedRegion(region)
        for candidate in explicit {
            guard let raw = candidate.value?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { continue }
            return OutpostsEndpoint(region: signingRegion.name, url: try parseEndpointURL(raw, source: candidate.source))
        }
        let fips = useFips || signingRegion.fipsPseudoRegion
        let host = regionalHost(service: service, region: signingRegion.name, fips: fips)
        guard let url = URL(string: "https://\(host)") else {
            throw EndpointError(source: "region", value: region, message: "does not form a valid host name")
        }
        return OutpostsEndpoint(region: signingRegion.name, url: url)
    }

    /// Region names are DNS labels; the `fips-X` / `X-fips` pseudo-regions of older configs
    /// mean FIPS in region X (signed for X, as botocore's credentialScope says).
    private static func validatedRegion(_ region: String) throws -> (name: String, fipsPseudoRegion: Bool) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        guard !region.isEmpty else {
            throw EndpointError(source: "region", value: region, message: "no AWS region is set (aws.region, AWS_REGION, AWS_DEFAULT_REGION or the profile's region)")
        }
        guard region.allSatisfy({ allowed.contains($0) }), !region.hasPrefix("-"), !region.hasSuffix("-"), region.count <= 63 else {
            throw EndpointError(source: "region", value: region, message: "is not a valid AWS region name (lower-case letters, digits and dashes, e.g. us-west-2)")
        }
        if region.hasPrefix("fips-") { return (String(region.dropFirst(5)), true) }
        if region.hasSuffix("-fips") { return (String(region.dropLast(5)), true) }
        return (region, false)
    }

    /// The partition's DNS suffix, from botocore's partitions table.
    private static func regionalHost(service: String, region: String, fips: Bool) -> String {
        let suffix: String
        if region.hasPrefix("cn-") {
            suffix = "amazonaws.com.cn"
        } else if region.hasPrefix("us-isob-") {
            suffix = "sc2s.sgov.gov"
        } else if region.hasPrefix("us-isof-") {
            suffix = "csp.hci.ic.gov"
        } else if region.hasPrefix("us-iso-") {
            suffix = "c2s.ic.gov"
        } else if region.hasPrefix("eu-isoe-") {
            suffix = "cloud.adc-e.uk"
        } else if region.hasPrefix("eusc-") {
            suffix = "amazonaws.eu"
        } else {
            suffix = "amazonaws.com"
        }
        // GovCloud's regular endpoints (Outposts, EventBridge, SNS) are already FIPS validated: no separate host.
        let name = fips && !region.hasPrefix("us-gov-") ? "\(service)-fips" : service
        return "\(name).\(region).\(suffix)"
    }

    private static func parseEndpointURL(_ raw: String, source: String) throws -> URL {
        func fail(_ message: String) -> EndpointError { EndpointError(source: source, value: raw, message: message) }
        guard let components = URLComponents(string: raw), let scheme = components.scheme?.lowercased() else {
            throw fail("is not a URL (expected e.g. https://outposts.us-west-2.amazonaws.com or http://127.0.0.1:8714)")
        }
        guard scheme == "http" || scheme == "https" else {
            throw fail("must use http or https, not \(scheme)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw fail("has no host")
        }
        if components.user != nil || components.password != nil {
            throw fail("must not contain user information")
        }
        if components.query != nil || components.fragment != nil {
            throw fail("must not contain a query or fragment")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw fail("has an invalid port \(port)")
        }
        var normalized = components
        // A trailing slash would double up with the operation paths.
        while normalized.percentEncodedPath.hasSuffix("/") {
            normalized.percentEncodedPath.removeLast()
        }
        guard let url = normalized.url else { throw fail("is not a valid URL") }
        return url
    }
}
