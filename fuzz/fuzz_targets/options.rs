//! libFuzzer entry for the `options` target: see fuzz/src/harness.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tcltls_fuzz::options(data));
