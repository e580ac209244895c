//! Fuzz target `patch_file`; the checks are in `patchrt_fuzz::patch_file` (src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| patchrt_fuzz::patch_file(data));
