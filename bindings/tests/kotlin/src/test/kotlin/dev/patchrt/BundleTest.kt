package dev.patchrt

import java.nio.file.Files
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * Over-the-air bundles through the generated Kotlin: the app hands the bytes
 * its own HTTP stack downloaded; bad bundles throw `PatchrtException.Bundle`
 * with a reason the app can branch on, and change nothing.
 */
class BundleTest {
    companion object {
        val model: DemoModel by lazy { demoModel(0.35f, 10u) }
        val seed = ByteArray(32) { 1 }
        val otherSeed = ByteArray(32) { 2 }
        // Synthetic patch order: objects, scenes, flowers x 224, 192, 160, 128, 96.
        val objects96: ByteArray by lazy { model.patches[4] }
        val flowers96: ByteArray by lazy { model.patches[14] }
        fun bundle(version: ULong, keySeed: ByteArray = seed): DemoBundle =
            demoBundle(model.backbone, listOf(objects96, flowers96), "acme-vision", version, keySeed)
        val image: ByteArray by lazy { demoImage(160u, 120u, 3uL) }
    }

    private fun dir() = Files.createTempDirectory("patchrt-bundles").toString()

    @Test
    fun `installs, survives a restart, rolls back`() {
        val directory = dir()
        val v1 = bundle(1uL)
        Engine(EngineOptions(), model.backbone).use { engine ->
            BundleUpdater(engine, directory, listOf(v1.publicKey), false).use { updater ->
                assertEquals(0uL, updater.installedVersion())
                assertNull(updater.installed())
                val installed = updater.install(v1.bundle)
                assertEquals(1uL, installed.version)
                assertEquals(listOf("objects@96", "flowers@96"), installed.patches.map { it.id })
                val id = updater.engineId("flowers@96")
                assertEquals("flowers@96@v1", id)
                engine.activate(id!!)
                val result = engine.classify(image, 160u, 120u, 96u, 3u)
                assertEquals("flowers@96@v1", result.patchId)
                assertEquals(3, result.predictions.size)

                updater.install(bundle(2uL).bundle)
                assertEquals(2uL, updater.installedVersion())
                assertEquals(1uL, updater.previousVersion())
                // The active patch stays until the app switches.
                assertEquals("flowers@96@v1", engine.activePatch())
            }
        }
        // A restart: a new engine and updater on the same directory.
        Engine(EngineOptions(), model.backbone).use { engine ->
            BundleUpdater(engine, directory, listOf(v1.publicKey), false).use { updater ->
                assertEquals(2uL, updater.installedVersion())
                assertNull(updater.recoveredFrom())
                assertEquals(1uL, updater.rollback().version)
                assertEquals("objects@96@v1", updater.engineId("objects@96"))
                val e = assertThrows<PatchrtException.Bundle> { updater.rollback() }
                assertEquals(BundleRefusal.NO_PREVIOUS, e.reason)
            }
        }
    }

    @Test
    fun `bad bundles throw typed refusals and change nothing`() {
        val good = bundle(1uL)
        Engine(EngineOptions(), model.backbone).use { engine ->
            BundleUpdater(engine, dir(), listOf(good.publicKey), false).use { updater ->
                updater.install(good.bundle)
                val before = engine.patches()

                val tampered = good.bundle.copyOf()
                tampered[tampered.size - 1000] = (tampered[tampered.size - 1000].toInt() xor 1).toByte()
                val cases = listOf(
                    tampered to BundleRefusal.INTEGRITY,
                    good.bundle.copyOf(good.bundle.size / 2) to BundleRefusal.MALFORMED,
                    bundle(5uL, otherSeed).bundle to BundleRefusal.SIGNATURE,
                    good.bundle to BundleRefusal.NOT_NEWER,
                    ByteArray(0) to BundleRefusal.MALFORMED,
                )
                for ((bytes, reason) in cases) {
                    val e = assertThrows<PatchrtException.Bundle> { updater.install(bytes) }
                    assertEquals(reason, e.reason, e.detail)
                    assertTrue(e.detail.isNotEmpty())
                    assertEquals(1uL, updater.installedVersion())
                    assertEquals(before, engine.patches())
                }
            }
            val e = assertThrows<PatchrtException.InvalidArgument> {
                BundleUpdater(engine, dir(), listOf(), false)
            }
            assertEquals("pinned_keys", e.name)
            assertThrows<PatchrtException.Bundle> {
                BundleUpdater(engine, dir(), listOf(ByteArray(31)), false)
            }
        }
    }
}
