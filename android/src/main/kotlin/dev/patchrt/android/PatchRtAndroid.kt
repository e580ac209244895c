package dev.patchrt.android

/**
 * Process-wide setup of the native library on Android.
 *
 * The generated bindings reach `libpatchrt_ffi.so` through JNA, which opens it
 * with `dlopen`; that never runs the library's `JNI_OnLoad`, which routes the
 * runtime's log messages to logcat (tag `PatchRT`) and keeps the `JavaVM`.
 * [init] loads the same library through the Android runtime so that it runs.
 */
object PatchRtAndroid {
    /**
     * Loads `libpatchrt_ffi.so` with `System.loadLibrary`. Call it once before
     * the first `Engine`, e.g. in `Application.onCreate`; later calls do
     * nothing.
     *
     * @throws UnsatisfiedLinkError when the APK has no `libpatchrt_ffi.so`
     *   for this device's ABI.
     */
    @JvmStatic
    fun init() {
        System.loadLibrary("patchrt_ffi")
    }
}
