package dev.patchrt.android

import android.graphics.Bitmap
import java.nio.ByteBuffer

/**
 * Returns this bitmap's pixels as tightly packed RGBA8 rows (4 bytes per
 * pixel, `width * height * 4` bytes, top row first): the layout
 * `Engine.classify` and `Engine.classifyAuto` take, with this bitmap's
 * `width` and `height`.
 *
 * `ARGB_8888` bitmaps are copied directly: Android keeps them in memory as
 * R, G, B, A bytes, so `copyPixelsToBuffer` already yields RGBA8. Every other
 * config (`RGB_565`, `RGBA_F16`, `ALPHA_8`, `HARDWARE`, ...) is first
 * converted with `Bitmap.copy(ARGB_8888)`, which costs one extra bitmap.
 *
 * Colour channels come out alpha-premultiplied, as Android stores them; for
 * opaque images (photos, camera frames) that changes nothing.
 *
 * @throws IllegalArgumentException when the bitmap is recycled or cannot be
 *   converted to `ARGB_8888`.
 */
fun Bitmap.toRgba8(): ByteArray {
    require(!isRecycled) { "the bitmap is recycled" }
    if (config == Bitmap.Config.ARGB_8888) return argb8888ToRgba8(this)
    val converted = copy(Bitmap.Config.ARGB_8888, false)
        ?: throw IllegalArgumentException("cannot convert a $config bitmap to ARGB_8888")
    try {
        return argb8888ToRgba8(converted)
    } finally {
        converted.recycle()
    }
}

/** Copies an `ARGB_8888` bitmap, dropping any padding at the end of rows. */
private fun argb8888ToRgba8(bitmap: Bitmap): ByteArray {
    val width = bitmap.width
    val height = bitmap.height
    val packedRow = width * 4
    val rowBytes = bitmap.rowBytes
    val buffer = ByteBuffer.allocate(rowBytes * height)
    bitmap.copyPixelsToBuffer(buffer)
    val pixels = buffer.array()
    if (rowBytes == packedRow) return pixels
    val out = ByteArray(packedRow * height)
    for (y in 0 until height) {
        System.arraycopy(pixels, y * rowBytes, out, y * packedRow, packedRow)
    }
    return out
}
