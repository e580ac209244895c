// swift-tools-version:5.9
// PatchRT for iOS: the Swift that UniFFI generates from the `patchrt-ffi`
// crate plus a small Swift layer, over PatchRTFFI.xcframework (the crate's
// static libraries and C header). The generated Swift is committed in
// Sources/PatchRT/Generated (CI checks it matches the crate); scripts/ios.sh
// builds the XCFramework (not committed) and refreshes that Swift. Build
// steps: docs/mobile.md.
import PackageDescription

let package = Package(
    name: "PatchRT",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "PatchRT", targets: ["PatchRT"]),
    ],
    targets: [
        // libpatchrt_ffi.a for iOS devices and the simulators, with the
        // `patchrt_ffiFFI` clang module the generated Swift imports.
        .binaryTarget(name: "PatchRTFFI", path: "PatchRTFFI.xcframework"),
        .target(
            name: "PatchRT",
            dependencies: ["PatchRTFFI"],
            path: "Sources/PatchRT",
            // A static library carries no link directives of its own: these
            // are the frameworks the Rust dependencies (wgpu's Metal backend
            // through objc2) declare with #[link] for Apple targets.
            linkerSettings: [
                .linkedFramework("Foundation"),
                .linkedFramework("CoreFoundation"),
                .linkedFramework("CoreGraphics"),
                .linkedFramework("Metal"),
                .linkedFramework("QuartzCore"),
                .linkedLibrary("objc"),
            ]
        ),
        .testTarget(
            name: "PatchRTTests",
            dependencies: ["PatchRT"],
            path: "Tests/PatchRTTests"
        ),
    ]
)
