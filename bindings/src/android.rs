//! Android only: the library's `JNI_OnLoad`.
//!
//! The Android runtime calls it when `System.loadLibrary("patchrt_ffi")` loads
//! `libpatchrt_ffi.so`: it routes the `log` crate to logcat (tag `PatchRT`) and
//! keeps the `JavaVM`. JNA, used by the generated Kotlin, opens the library
//! with `dlopen` and does not call it; apps call `PatchRtAndroid.init()` first.

use std::ffi::c_void;
use std::sync::OnceLock;

use jni::JavaVM;
use jni::sys::{JNI_ERR, JNI_VERSION_1_6, jint};

static JAVA_VM: OnceLock<JavaVM> = OnceLock::new();

/// The Java VM that loaded this library, once `JNI_OnLoad` has run.
#[allow(dead_code)] // for future JNI calls (context, class loader)
pub(crate) fn java_vm() -> Option<&'static JavaVM> {
    JAVA_VM.get()
}

/// Called by the Android runtime, with its own `JavaVM` pointer, when it loads
/// this library.
#[unsafe(no_mangle)]
pub extern "system" fn JNI_OnLoad(vm: *mut jni::sys::JavaVM, _reserved: *mut c_void) -> jint {
    android_logger::init_once(
        android_logger::Config::default()
            .with_tag("PatchRT")
            .with_max_level(log::LevelFilter::Info),
    );
    if vm.is_null() {
        log::error!("JNI_OnLoad got a null JavaVM");
        return JNI_ERR;
    }
    // SAFETY: non-null, and the VM passes its own pointer, valid for the life
    // of the process.
    let vm = unsafe { JavaVM::from_raw(vm) };
    // A second load in the same process keeps the first VM (there is only one).
    let _ = JAVA_VM.set(vm);
    log::info!("libpatchrt_ffi {} loaded", env!("CARGO_PKG_VERSION"));
    JNI_VERSION_1_6
}
