import Foundation
import XCTest
import PatchRT

/// patchbench's latency table, inside an XCTest host: iOS runs no command-line
/// binaries, so this is how PatchRT is measured on an iPhone. Opt-in: set
/// PATCHRT_BENCH=1 in the test scheme's environment (or
/// `TEST_RUNNER_PATCHRT_BENCH=1 xcodebuild test ...`); see docs/mobile.md.
final class BenchmarkTests: XCTestCase {
    func testBenchmarkSyntheticMobileNetV2() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["PATCHRT_BENCH"] == "1" else {
            throw XCTSkip("benchmark is opt-in: set PATCHRT_BENCH=1")
        }
        let warmup = 3
        let iters = Int(env["PATCHRT_BENCH_ITERS"] ?? "") ?? 20

        // patchbench's default model: MobileNetV2 1.0, 1000 classes.
        let demo = try demoModel(width: 1.0, classes: 1000)
        let started = Date()
        let engine = try Engine(options: EngineOptions(), backbone: demo.backbone)
        let initMs = Date().timeIntervalSince(started) * 1000
        let adapter = try engine.adapterName()
        print(String(format: "patchbench-ios: adapter %@, init %.1f ms", adapter, initMs))

        for side in try engine.resolutions() {
            let image = try demoImage(width: side, height: side, seed: 7)
            for _ in 0..<(warmup + iters) {
                _ = try engine.classify(rgba: image, width: side, height: side,
                                        resolution: side, topK: 5)
            }
        }
        // The engine's own latency tracker holds the samples (warm-up included).
        let snapshot = try engine.benchmarkSnapshot()
        for l in snapshot.latencies {
            print(String(format: "patchbench-ios: %4u px  ewma %7.2f ms  p90 %7.2f ms  (%u samples)",
                         l.resolution, l.ewmaMs ?? .nan, l.p90Ms ?? .nan, l.samples))
        }
        let m = snapshot.memory
        print("patchbench-ios: GPU memory backbone \(m.backboneBytes) B, patches \(m.patchBytes) B, activations \(m.activationBytes) B")
    }
}
