//! Fuzz target `bundle_container`; the checks are in `patchrt_fuzz::bundle_container` (src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| patchrt_fuzz::bundle_container(data));
