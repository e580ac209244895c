import XCTest
import PatchRT

/// Load, classify, swap and an error case on the synthetic demo model, through
/// the generated Swift and the XCFramework. Needs a Metal device: run on an
/// iOS simulator or a phone (docs/mobile.md).
final class PatchRTTests: XCTestCase {
    /// Built once: the demo model's BatchNorm calibration runs on the CPU.
    private static var demo: DemoModel?

    private func sharedDemo() throws -> DemoModel {
        if let demo = Self.demo { return demo }
        let demo = try demoModel(width: 0.35, classes: 10)
        Self.demo = demo
        return demo
    }

    private func makeEngine() throws -> Engine {
        try Engine(options: EngineOptions(), backbone: sharedDemo().backbone)
    }

    func testClassifiesAnImageOfAnySize() throws {
        let engine = try makeEngine()
        let image = try demoImage(width: 61, height: 47, seed: 1)
        let result = try engine.classify(rgba: image, width: 61, height: 47, resolution: 96, topK: 3)
        XCTAssertEqual(result.resolution, 96)
        XCTAssertEqual(result.predictions.count, 3)
        let scores = result.predictions.map(\.score)
        XCTAssertEqual(scores, scores.sorted(by: >), "predictions are most probable first")
        XCTAssertTrue(scores.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testPatchSwapAtoBtoAIsBitwiseEqual() throws {
        let engine = try makeEngine()
        var ids: [String] = []
        for bytes in try sharedDemo().patches {
            ids.append(try engine.loadPatch(bytes: bytes).id)
        }
        let at96 = ids.filter { $0.hasSuffix("@96") }
        XCTAssertGreaterThanOrEqual(at96.count, 2, "demo patches at 96: \(ids)")
        let (a, b) = (at96[0], at96[1])
        let image = try demoImage(width: 96, height: 96, seed: 2)

        func run(_ id: String) throws -> [Float] {
            try engine.activate(id: id)
            XCTAssertEqual(try engine.activePatch(), id)
            let r = try engine.classify(rgba: image, width: 96, height: 96, resolution: 96, topK: 0)
            XCTAssertEqual(r.patchId, id)
            return r.predictions.sorted { $0.classIndex < $1.classIndex }.map(\.score)
        }
        let first = try run(a)
        _ = try run(b)
        let again = try run(a)
        XCTAssertEqual(first.map(\.bitPattern), again.map(\.bitPattern))
    }

    func testCorruptPatchThrowsAndKeepsTheActivePatch() throws {
        let engine = try makeEngine()
        let before = try engine.activePatch()
        let corrupt = try sharedDemo().patches[0].prefix(64)
        XCTAssertThrowsError(try engine.loadPatch(bytes: Data(corrupt))) { error in
            XCTAssertTrue(error is PatchrtError, "got \(type(of: error)): \(error)")
        }
        XCTAssertEqual(try engine.activePatch(), before)
    }

    @MainActor
    func testResourceMonitorReportsOnStart() throws {
        let monitor = ResourceMonitor(engine: try makeEngine(), latencyBudgetMs: 50)
        monitor.start()
        defer { monitor.stop() }
        let state = try XCTUnwrap(monitor.lastReported)
        XCTAssertEqual(state.latencyBudgetMs, 50)
        XCTAssertTrue((0...1).contains(state.battery))
    }
}
