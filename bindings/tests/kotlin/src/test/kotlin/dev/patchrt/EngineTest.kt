package dev.patchrt

import java.util.concurrent.Callable
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.math.abs
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * The generated Kotlin bindings against the host cdylib, on whatever adapter
 * the machine has (Mesa's software Vulkan on CI). The model is synthetic
 * (see `demoModel`): outputs mean nothing, but every kernel runs for real.
 */
class EngineTest {
    companion object {
        /** Small and fast: width 0.35, 10 backbone classes. Built once. */
        val model: DemoModel by lazy { demoModel(0.35f, 10u) }
        const val W = 320u
        const val H = 240u
        val image: ByteArray by lazy { demoImage(W, H, 11uL) }
    }

    private fun engine(): Engine {
        val engine = Engine(EngineOptions(), model.backbone)
        for (bytes in model.patches) engine.loadPatch(bytes)
        return engine
    }

    private fun scores(r: ClassificationResult) = r.predictions.map { it.score }.toFloatArray()

    @Test
    fun `classifies a real image and ranks the classes`() {
        engine().use { engine ->
            val top = engine.classify(image, W, H, 224u, 5u)
            assertEquals(5, top.predictions.size)
            assertEquals(224u, top.resolution)
            assertEquals("default", top.patchId)
            assertEquals(listOf(224u), top.stagesRun)
            assertTrue(top.latencyMs > 0.0)
            for ((a, b) in top.predictions.zipWithNext()) assertTrue(a.score >= b.score, "$a before $b")
            assertTrue(top.predictions.all { it.label.isNotEmpty() })

            val all = engine.classify(image, W, H, 224u, 0u)
            assertEquals(10, all.predictions.size)
            val sum = all.predictions.sumOf { it.score.toDouble() }
            assertTrue(abs(sum - 1.0) < 1e-3, "probabilities sum to $sum")
            assertEquals(top.predictions, all.predictions.take(5))
        }
    }

    @Test
    fun `swapping patches A then B then A gives A's scores back exactly`() {
        engine().use { engine ->
            engine.activate("objects@160")
            val a1 = engine.classify(image, W, H, 160u, 0u)
            engine.activate("flowers@160")
            val b = engine.classify(image, W, H, 160u, 0u)
            engine.activate("objects@160")
            val a2 = engine.classify(image, W, H, 160u, 0u)
            assertEquals("objects@160", a1.patchId)
            assertEquals("flowers@160", b.patchId)
            assertEquals(17, b.predictions.size)
            assertArrayEquals(scores(a1), scores(a2))
            assertEquals(a1.predictions, a2.predictions)
            assertNotEquals(a1.predictions, b.predictions)
            assertEquals("objects@160", engine.activePatch())
        }
    }

    @Test
    fun `a corrupt patch throws InvalidFile and changes nothing`() {
        engine().use { engine ->
            val before = engine.classify(image, W, H, 128u, 3u)
            val patchesBefore = engine.patches()
            val corrupt = model.patches[0].copyOf()
            // The safetensors header length (first 8 bytes) now points far past the end.
            for (i in 0 until 8) corrupt[i] = 0x7f
            val e = assertThrows<PatchrtException.InvalidFile> { engine.loadPatch(corrupt) }
            assertEquals(FileKind.PATCH, e.file)
            assertTrue(e.detail.isNotEmpty())
            val truncated = model.patches[0].copyOf(model.patches[0].size / 2)
            assertThrows<PatchrtException.InvalidFile> { engine.loadPatch(truncated) }
            assertEquals(patchesBefore, engine.patches())
            assertEquals(before, engine.classify(image, W, H, 128u, 3u).copy(latencyMs = before.latencyMs, gpuMs = before.gpuMs))
        }
    }

    @Test
    fun `typed errors carry their fields`() {
        engine().use { engine ->
            val r = assertThrows<PatchrtException.UnknownResolution> { engine.classify(image, W, H, 100u, 3u) }
            assertEquals(100u, r.requested)
            assertEquals(listOf(224u, 192u, 160u, 128u, 96u), r.supported)
            val i = assertThrows<PatchrtException.InvalidImage> { engine.classify(image, W + 1u, H, 224u, 3u) }
            assertEquals(W + 1u, i.width)
            val p = assertThrows<PatchrtException.UnknownPatch> { engine.activate("nope") }
            assertEquals("nope", p.id)
            val t = assertThrows<PatchrtException.NoPatchForTask> { engine.classifyAuto(image, W, H, "cars", 3u) }
            assertEquals("cars", t.task)
            assertThrows<PatchrtException.DuplicatePatch> { engine.loadPatch(model.patches[0]) }
            assertThrows<PatchrtException.PatchPinned> { engine.unloadPatch("default") }
            assertThrows<PatchrtException.InvalidDeviceState> {
                engine.reportDeviceState(DeviceState(battery = 1.5, thermal = ThermalState.NOMINAL))
            }
            assertThrows<PatchrtException.Io> { engine.loadPatchFile("/nonexistent/x.patch") }
            assertEquals(ThermalState.SERIOUS, thermalFromAndroid(3))
            assertThrows<PatchrtException.InvalidDeviceState> { thermalFromAndroid(-1) }
        }
    }

    @Test
    fun `four threads classify concurrently with consistent results`() {
        engine().use { engine ->
            val tasks = listOf("objects", "flowers")
            val expected = tasks.associateWith { engine.classifyTask(image, W, H, it, 128u, 0u).predictions }
            val pool = Executors.newFixedThreadPool(4)
            try {
                val jobs = (0 until 4).map { t ->
                    Callable {
                        (0 until 5).map { k ->
                            val task = tasks[(t + k) % 2]
                            task to engine.classifyTask(image, W, H, task, 128u, 0u)
                        }
                    }
                }
                val results = pool.invokeAll(jobs).flatMap { it.get(120, TimeUnit.SECONDS) }
                assertEquals(20, results.size)
                for ((task, r) in results) {
                    assertEquals("$task@128", r.patchId)
                    assertEquals(expected.getValue(task), r.predictions)
                }
            } finally {
                pool.shutdown()
            }
            assertEquals("default", engine.activePatch())
        }
    }

    @Test
    fun `several tasks in one pass equal one task at a time`() {
        engine().use { engine ->
            val tasks = listOf("objects", "scenes", "flowers")
            val one = tasks.map { engine.classifyTask(image, W, H, it, 96u, 0u) }
            val pass = engine.classifyTasks(image, W, H, tasks, 96u, 0u)
            assertEquals(tasks.map { "$it@96" }, pass.map { it.patchId })
            for ((a, b) in one.zip(pass)) {
                assertEquals(a.predictions, b.predictions)
                assertArrayEquals(scores(a), scores(b))
            }
            val byId = engine.classifyPatches(image, W, H, listOf("flowers@96", "default"), 96u, 3u)
            assertEquals(listOf("flowers@96", "default"), byId.map { it.patchId })
            assertEquals(one[2].predictions.take(3), byId[0].predictions)
            assertEquals("default", engine.activePatch())

            val empty = assertThrows<PatchrtException.InvalidArgument> {
                engine.classifyPatches(image, W, H, emptyList(), 96u, 3u)
            }
            assertEquals("patch_ids", empty.name)
            assertThrows<PatchrtException.InvalidArgument> {
                engine.classifyPatches(image, W, H, List(9) { "default" }, 96u, 3u)
            }
            val unknown = assertThrows<PatchrtException.UnknownPatch> {
                engine.classifyPatches(image, W, H, listOf("objects@96", "nope"), 96u, 3u)
            }
            assertEquals("nope", unknown.id)
        }
    }

    @Test
    fun `the pipeline cache file is created, then loaded at the next start`() {
        val dir = java.nio.file.Files.createTempDirectory("patchrt-pipelines")
        val path = dir.resolve("pipelines.cache").toString()
        val options = EngineOptions(pipelineCachePath = path)
        val first = Engine(options, model.backbone).use { engine ->
            val expected = engine.classify(image, W, H, 96u, 3u)
            engine.pipelineCacheState() to expected
        }
        when (first.first) {
            is PipelineCacheState.Unsupported -> return // nothing to check beyond "no failure"
            else -> assertEquals(PipelineCacheState.Created, first.first)
        }
        assertTrue(java.io.File(path).length() > 0, "cache file written")
        Engine(options, model.backbone).use { engine ->
            val state = engine.pipelineCacheState()
            assertTrue(state is PipelineCacheState.Loaded, "second start: $state")
            val again = engine.classify(image, W, H, 96u, 3u)
            assertEquals(first.second.predictions, again.predictions)
        }
        java.io.File(path).writeBytes(ByteArray(40) { 7 })
        Engine(options, model.backbone).use { engine ->
            assertTrue(engine.pipelineCacheState() is PipelineCacheState.Rejected)
        }
        Engine(EngineOptions(), model.backbone).use { engine ->
            assertEquals(PipelineCacheState.Off, engine.pipelineCacheState())
        }
    }

    @Test
    fun `classifyAuto steps down on a low battery and says why`() {
        engine().use { engine ->
            engine.reportDeviceState(DeviceState(battery = 1.0, charging = true, thermal = ThermalState.NOMINAL))
            val full = engine.classifyAuto(image, W, H, "objects", 3u)
            assertEquals(224u, full.resolution)
            assertEquals("objects@224", full.patchId)

            engine.reportDeviceState(DeviceState(battery = 0.10, charging = false, thermal = ThermalState.NOMINAL))
            val low = engine.classifyAuto(image, W, H, "objects", 3u)
            assertTrue(low.resolution < full.resolution, "${low.resolution} not below ${full.resolution}")
            assertEquals(96u, low.resolution)
            assertEquals(listOf(96u), low.stagesRun)
            val reason = low.reason ?: ""
            assertTrue(reason.contains("battery"), reason)

            val snapshot = engine.benchmarkSnapshot()
            assertEquals(5, snapshot.latencies.size)
            assertTrue(snapshot.memory.backboneBytes > 0uL)
            assertTrue(snapshot.adapter.isNotEmpty())
        }
    }
}
