//! `uniffi-bindgen` built from this workspace, so the generator always matches
//! the `uniffi` version `patchrt-ffi` was compiled with.

fn main() {
    uniffi::uniffi_bindgen_main()
}
