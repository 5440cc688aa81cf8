// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "recsync",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "recsync", targets: ["recsync"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // Prometheus exposition (with swift-metrics and swift-atomics, both small).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian, each behind a module map and one shim header.
        .systemLibrary(name: "CFuse3", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .systemLibrary(name: "CSQLite3", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Linux calls Swift's Glibc module does not expose (_GNU_SOURCE: O_PATH, statx, renameat2).
        .target(name: "CSysShims"),
        // CRC-32C, with the CPU's instruction where there is one (S3's flexible checksums).
        .target(name: "CChecksum"),
        // Locks, conditions and named threads over pthreads: what the daemon would otherwise take from
        // Foundation, which it does not link (FoundationEssentials only; see docs/DEVELOPMENT.md).
        .target(name: "RecsyncPrimitives", dependencies: ["CSysShims"]),

        .target(name: "RecsyncS3", dependencies: [
            "CCurl", "CCrypto", "CChecksum", "RecsyncPrimitives",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "RecsyncStore", dependencies: ["CSQLite3", "RecsyncPrimitives"]),
        .target(name: "RecsyncFS", dependencies: [
            "CSysShims", "RecsyncPrimitives",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "RecsyncCore", dependencies: [
            "RecsyncS3", "RecsyncStore", "RecsyncFS", "RecsyncPrimitives", "CSysShims",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "RecsyncFUSE", dependencies: [
            "CFuse3", "RecsyncFS", "RecsyncPrimitives", "CSysShims",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Prometheus metrics: what the engine reports, and an endpoint and a textfile to read them.
        .target(name: "RecsyncMetrics", dependencies: [
            "RecsyncCore", "RecsyncStore", "RecsyncPrimitives", "CSysShims",
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Parsers of outside input with the promises they keep, for the fuzzers.
        .target(name: "RecsyncFuzzTargets", dependencies: ["RecsyncCore", "RecsyncS3", "RecsyncFS"]),
        .executableTarget(name: "recsync-fuzz", dependencies: ["RecsyncFuzzTargets"]),
        .executableTarget(name: "recsync", dependencies: [
            "RecsyncCore", "RecsyncFUSE", "RecsyncS3", "RecsyncStore", "RecsyncFS", "RecsyncMetrics", "RecsyncPrimitives", "CSysShims",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "RecsyncS3Tests", dependencies: ["RecsyncS3"]),
        .testTarget(name: "RecsyncStoreTests", dependencies: ["RecsyncStore"]),
        .testTarget(name: "RecsyncPrimitivesTests", dependencies: ["RecsyncPrimitives"]),
        .testTarget(name: "RecsyncCoreTests", dependencies: [
            "RecsyncCore", "RecsyncS3", "RecsyncStore", "RecsyncFS", "RecsyncFuzzTargets", "RecsyncPrimitives",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "RecsyncFSTests", dependencies: ["RecsyncFS"]),
        .testTarget(name: "RecsyncMetricsTests", dependencies: ["RecsyncMetrics", "RecsyncCore", "RecsyncStore"]),
        .testTarget(name: "IntegrationTests", dependencies: ["recsync", "RecsyncS3"]),
    ],
    swiftLanguageModes: [.v6]
)
