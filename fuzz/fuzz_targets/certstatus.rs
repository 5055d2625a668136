//! libFuzzer entry for the `certstatus` target: see fuzz/src/harness.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tcltls_fuzz::certstatus(data));
