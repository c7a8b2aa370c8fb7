// swift-tools-version:6.0
//
// outpostwatch: watches AWS Outposts orders and reports every change.
//
// The target graph is the pipeline, and dependencies point one way:
//
//   Support            shared helpers: Duration seconds, systemd credentials, HOST:PORT (Foundation only)
//   OutpostsAPI        AWS wire layer: SigV4, credentials, GetOrder/ListOrders, retries -> Support
//   OutpostsSimulator  a fake Outposts endpoint for demos and tests        -> OutpostsAPI
//   WatchModel         domain types: order snapshots, events, their JSON   (Foundation only)
//   WatchConfig        TOML subset parser with positions, typed settings   -> WatchModel, Support
//   WatchStore         history and transactional outbox on SQLite or PostgreSQL, leadership -> WatchModel, Support, CSQLite, PostgresNIO
//   WatchEngine        pure diff, PollSchedule state machine, Poller      -> Support, OutpostsAPI, WatchModel, WatchConfig, WatchStore
//   Sinks              notifiers, DeliveryStateMachine, dispatcher        -> Support, OutpostsAPI, WatchModel, WatchConfig, WatchStore, CSystemd
//   WatchReport        read models: status rows, deliveries, phases       -> WatchModel, WatchStore
//   StatusPage         the status page's HTML and SVG (swift-mustache)    -> WatchReport, WatchModel
//   OutpostwatchService daemon lifecycle, sd_notify, reload, commands     -> everything above
//   outpostwatch       the command line                                   -> OutpostwatchService, Sinks, WatchModel
import PackageDescription

let package = Package(
    name: "outpostwatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "outpostwatch", targets: ["outpostwatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        // Already in the graph through AsyncHTTPClient; named for the trust roots of ca_bundle.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", exact: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // glibc's malloc.h (mallopt), part of libc: nothing to link.
        .systemLibrary(name: "CMalloc"),

        .target(name: "Support", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .target(name: "OutpostsAPI", dependencies: [
            "Support",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .target(name: "OutpostsSimulator", dependencies: [
            "OutpostsAPI",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "WatchModel", dependencies: []),
        .target(name: "WatchConfig", dependencies: ["WatchModel", "Support"]),
        .target(name: "WatchStore", dependencies: [
            "WatchModel", "Support", "CSQLite",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "WatchEngine", dependencies: [
            "Support", "OutpostsAPI", "WatchModel", "WatchConfig", "WatchStore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .target(name: "Sinks", dependencies: [
            "Support", "OutpostsAPI", "WatchModel", "WatchConfig", "WatchStore", "CSystemd",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "WatchReport", dependencies: ["WatchModel", "WatchStore"]),
        .target(name: "StatusPage", dependencies: [
            "WatchReport", "WatchModel",
            .product(name: "Mustache", package: "swift-mustache"),
        ]),
        .target(name: "OutpostwatchService", dependencies: [
            "Support", "OutpostsAPI", "OutpostsSimulator", "WatchModel", "WatchConfig", "WatchStore", "WatchEngine", "Sinks", "CSystemd",
            "WatchReport", "StatusPage",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "outpostwatch", dependencies: [
            "OutpostwatchService", "Sinks", "WatchModel", "CMalloc",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),

        .testTarget(name: "OutpostsAPITests", dependencies: ["OutpostsAPI",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "OutpostsSimulatorTests", dependencies: ["OutpostsSimulator", "OutpostsAPI",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio")]),
        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "WatchModelTests", dependencies: ["WatchModel"]),
        .testTarget(name: "WatchConfigTests", dependencies: ["WatchConfig"]),
        .testTarget(name: "WatchStoreTests", dependencies: ["WatchStore", "WatchModel"]),
        .testTarget(name: "WatchEngineTests", dependencies: ["WatchEngine", "OutpostsSimulator",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(name: "SinksTests", dependencies: ["Sinks", "WatchStore",
            .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "StatusPageTests", dependencies: ["StatusPage", "WatchReport", "WatchModel", "WatchStore"]),
        .testTarget(name: "OutpostwatchServiceTests", dependencies: [
            "OutpostwatchService", "OutpostsAPI", "Sinks", "WatchConfig", "WatchEngine", "WatchModel", "WatchStore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log")]),
        // Measurements printed for the report, never asserted: `make bench` runs them, `make test` skips them.
        .testTarget(name: "Benchmarks", dependencies: [
            "OutpostsAPI", "Sinks", "StatusPage", "Support", "WatchConfig", "WatchModel", "WatchReport", "WatchStore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log")]),
    ]
)
