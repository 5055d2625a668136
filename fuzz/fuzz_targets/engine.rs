//! libFuzzer entry for the `engine` target: see fuzz/src/harness.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tcltls_fuzz::engine(data));
