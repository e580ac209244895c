//! Fuzz target `backbone_file`; the checks are in `patchrt_fuzz::backbone_file` (src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| patchrt_fuzz::backbone_file(data));
