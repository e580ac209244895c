package dev.patchrt.android

import android.annotation.TargetApi
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.os.BatteryManager
import android.os.Build
import android.os.PowerManager
import android.util.Log
import dev.patchrt.DeviceState
import dev.patchrt.Engine
import dev.patchrt.ThermalState
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * Feeds the engine's resource policy with the device's battery, charging,
 * power-save and thermal readings.
 *
 * Between [start] and [stop] it listens to the sticky `ACTION_BATTERY_CHANGED`
 * broadcast, `ACTION_POWER_SAVE_MODE_CHANGED` and, on API 29+, the
 * `PowerManager` thermal status listener. Whenever the resulting [DeviceState]
 * differs from the last one sent, it calls [Engine.reportDeviceState] on a
 * background thread of its own, so the main thread never waits for an
 * inference that holds the engine. Below API 29 the thermal state is always
 * [ThermalState.NOMINAL].
 *
 * Call [start] in `onStart`/`onResume` and [stop] in `onStop`/`onPause`, or
 * tie them to the process lifecycle; both may be called repeatedly.
 *
 * @param latencyBudgetMs sent with every reading: the policy's hard
 *   per-request latency budget, or `null` for none.
 */
class ResourceMonitor(
    context: Context,
    private val engine: Engine,
    private val latencyBudgetMs: Double? = null,
) {
    private val appContext: Context = context.applicationContext
    private val powerManager: PowerManager =
        appContext.getSystemService(Context.POWER_SERVICE) as PowerManager

    // Written on the main thread (receivers, thermal listener, start/stop)
    // and read there; `lock` also guards `last` and `sender`.
    private val lock = Any()
    private var battery = 1.0
    private var charging = false
    private var powerSave = false
    private var thermal = ThermalState.NOMINAL
    private var last: DeviceState? = null
    private var sender: ExecutorService? = null
    private var thermalWatch: ThermalWatch? = null

    private val batteryReceiver = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) {
            onBattery(intent)
        }
    }

    private val powerSaveReceiver = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) {
            synchronized(lock) { powerSave = powerManager.isPowerSaveMode }
            publish()
        }
    }

    /** Whether the monitor is listening. */
    val isRunning: Boolean
        get() = synchronized(lock) { sender != null }

    /** The last reading sent to the engine, or `null` before [start]. */
    val lastReported: DeviceState?
        get() = synchronized(lock) { last }

    /**
     * Starts listening and sends the current reading at once. Does nothing
     * when already started. Call from the main thread.
     */
    fun start() {
        synchronized(lock) {
            if (sender != null) return
            sender = Executors.newSingleThreadExecutor { r -> Thread(r, "patchrt-device-state") }
            last = null
            powerSave = powerManager.isPowerSaveMode
        }
        // Both are system broadcasts, so no RECEIVER_EXPORTED flag is needed.
        // ACTION_BATTERY_CHANGED is sticky: registering returns the last one.
        val sticky = appContext.registerReceiver(
            batteryReceiver,
            IntentFilter(Intent.ACTION_BATTERY_CHANGED),
        )
        appContext.registerReceiver(
            powerSaveReceiver,
            IntentFilter(PowerManager.ACTION_POWER_SAVE_MODE_CHANGED),
        )
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            val watch = ThermalWatch()
            synchronized(lock) {
                thermalWatch = watch
                thermal = thermalStateOf(powerManager.currentThermalStatus)
            }
            watch.register()
        }
        if (sticky != null) onBattery(sticky) else publish()
    }

    /**
     * Stops listening; readings already queued are still sent. Does nothing
     * when not started. Call from the main thread.
     */
    fun stop() {
        val executor: ExecutorService
        val watch: ThermalWatch?
        synchronized(lock) {
            executor = sender ?: return
            sender = null
            watch = thermalWatch
            thermalWatch = null
        }
        appContext.unregisterReceiver(batteryReceiver)
        appContext.unregisterReceiver(powerSaveReceiver)
        if (watch != null && Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            watch.unregister()
        }
        executor.shutdown()
    }

    private fun onBattery(intent: Intent) {
        val level = intent.getIntExtra(BatteryManager.EXTRA_LEVEL, -1)
        val scale = intent.getIntExtra(BatteryManager.EXTRA_SCALE, -1)
        val plugged = intent.getIntExtra(BatteryManager.EXTRA_PLUGGED, 0)
        synchronized(lock) {
            if (level >= 0 && scale > 0) {
                battery = (level.toDouble() / scale).coerceIn(0.0, 1.0)
            }
            // "Charging" means external power is connected (AC, USB, wireless,
            // dock), even when the battery is full and no longer charging.
            charging = plugged != 0
        }
        publish()
    }

    /** Sends the current reading when it differs from the last one sent. */
    private fun publish() {
        synchronized(lock) {
            val executor = sender ?: return
            val state = DeviceState(
                battery = battery,
                charging = charging,
                powerSave = powerSave,
                thermal = thermal,
                latencyBudgetMs = latencyBudgetMs,
            )
            if (state == last) return
            last = state
            // Inside the lock, so stop() cannot shut the executor down between
            // the check above and this call.
            executor.execute { send(state) }
        }
    }

    private fun send(state: DeviceState) {
        try {
            engine.reportDeviceState(state)
        } catch (e: Exception) {
            // An exception escaping the executor's thread would end the app;
            // a lost reading only leaves the policy with the previous one.
            Log.w(TAG, "reportDeviceState($state) failed", e)
        }
    }

    /**
     * The API 29+ thermal listener, in a class of its own so that its
     * interface is only loaded where it exists.
     */
    @TargetApi(Build.VERSION_CODES.Q)
    private inner class ThermalWatch {
        private val listener = PowerManager.OnThermalStatusChangedListener { status ->
            synchronized(lock) { thermal = thermalStateOf(status) }
            publish()
        }

        fun register() {
            powerManager.addThermalStatusListener(appContext.mainExecutor, listener)
        }

        fun unregister() {
            powerManager.removeThermalStatusListener(listener)
        }
    }
}

private const val TAG = "PatchRT"

/**
 * Maps a `PowerManager.THERMAL_STATUS_*` value onto the runtime's four
 * levels: none is nominal, light and moderate are fair, severe is serious,
 * and critical, emergency and shutdown are critical. Unknown values above
 * shutdown count as critical, unknown values below none as nominal.
 */
fun thermalStateOf(status: Int): ThermalState = when {
    status <= PowerManager.THERMAL_STATUS_NONE -> ThermalState.NOMINAL
    status <= PowerManager.THERMAL_STATUS_MODERATE -> ThermalState.FAIR
    status == PowerManager.THERMAL_STATUS_SEVERE -> ThermalState.SERIOUS
    else -> ThermalState.CRITICAL
}
