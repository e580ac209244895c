//! Fuzz target `bundle_manifest`; the checks are in `patchrt_fuzz::bundle_manifest` (src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| patchrt_fuzz::bundle_manifest(data));
