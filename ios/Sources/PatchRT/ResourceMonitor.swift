import Foundation
#if canImport(UIKit)
import UIKit
#endif

/// Feeds the engine's resource policy with the device's thermal state, Low
/// Power Mode and battery.
///
/// Between `start()` and `stop()` it observes
/// `ProcessInfo.thermalStateDidChangeNotification`,
/// `.NSProcessInfoPowerStateDidChange` and, where UIKit exists, the
/// `UIDevice` battery level and state notifications. Whenever the resulting
/// `DeviceState` differs from the last one sent, it calls
/// `Engine.reportDeviceState(state:)` on a serial queue of its own, so the
/// main thread never waits for an inference that holds the engine.
///
/// Use it from the main thread (it is `@MainActor`): `start()` in
/// `viewDidAppear` or on `scenePhase == .active`, `stop()` on leaving. Both
/// may be called repeatedly. `start()` turns on
/// `UIDevice.isBatteryMonitoringEnabled` and `stop()` leaves it on, since
/// other code may rely on it.
@MainActor
public final class ResourceMonitor {
    private let engine: Engine
    private let latencyBudgetMs: Double?
    private let sendQueue = DispatchQueue(label: "dev.patchrt.device-state")
    private var observers: [NSObjectProtocol] = []
    private var running = false

    /// The last reading sent to the engine, or `nil` before `start()`.
    public private(set) var lastReported: DeviceState?

    /// - Parameters:
    ///   - engine: the engine whose policy receives the readings.
    ///   - latencyBudgetMs: sent with every reading: the policy's hard
    ///     per-request latency budget, or `nil` for none.
    public init(engine: Engine, latencyBudgetMs: Double? = nil) {
        self.engine = engine
        self.latencyBudgetMs = latencyBudgetMs
    }

    /// Whether the monitor is observing.
    public var isRunning: Bool { running }

    /// Starts observing and sends the current reading at once. Does nothing
    /// when already started.
    public func start() {
        guard !running else { return }
        running = true
        lastReported = nil
        var names: [Notification.Name] = [
            ProcessInfo.thermalStateDidChangeNotification,
            .NSProcessInfoPowerStateDidChange,
        ]
        #if canImport(UIKit)
        UIDevice.current.isBatteryMonitoringEnabled = true
        names.append(UIDevice.batteryLevelDidChangeNotification)
        names.append(UIDevice.batteryStateDidChangeNotification)
        #endif
        let center = NotificationCenter.default
        observers = names.map { name in
            // The ProcessInfo notifications arrive on arbitrary threads; hop
            // to the main actor before reading anything.
            center.addObserver(forName: name, object: nil, queue: nil) { [weak self] _ in
                Task { @MainActor in self?.publish() }
            }
        }
        publish()
    }

    /// Stops observing; readings already queued are still sent. Does nothing
    /// when not started.
    public func stop() {
        guard running else { return }
        running = false
        for observer in observers {
            NotificationCenter.default.removeObserver(observer)
        }
        observers = []
    }

    /// The device's state now.
    public func currentState() -> DeviceState {
        var battery = 1.0
        var charging = false
        #if canImport(UIKit)
        let device = UIDevice.current
        // -1 while battery monitoring is off or unsupported (the simulator).
        if device.batteryLevel >= 0 {
            battery = Double(device.batteryLevel)
        }
        // "Charging" means external power is connected, full battery included.
        switch device.batteryState {
        case .charging, .full: charging = true
        case .unplugged, .unknown: charging = false
        @unknown default: charging = false
        }
        #endif
        let info = ProcessInfo.processInfo
        return DeviceState(
            battery: min(max(battery, 0), 1),
            charging: charging,
            powerSave: info.isLowPowerModeEnabled,
            thermal: Self.thermalState(info.thermalState),
            latencyBudgetMs: latencyBudgetMs,
            energyBudgetMj: nil
        )
    }

    /// Maps `ProcessInfo.ThermalState` one to one; a state added by a later
    /// iOS counts as serious.
    public nonisolated static func thermalState(_ state: ProcessInfo.ThermalState) -> ThermalState {
        switch state {
        case .nominal: return .nominal
        case .fair: return .fair
        case .serious: return .serious
        case .critical: return .critical
        @unknown default: return .serious
        }
    }

    /// Sends the current reading when it differs from the last one sent.
    private func publish() {
        guard running else { return }
        let state = currentState()
        guard state != lastReported else { return }
        lastReported = state
        let engine = self.engine
        sendQueue.async {
            // A failed report leaves the policy with the previous reading.
            do {
                try engine.reportDeviceState(state: state)
            } catch {
                NSLog("PatchRT: reportDeviceState failed: %@", String(describing: error))
            }
        }
    }
}
