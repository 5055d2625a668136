//! libFuzzer entry for the `session_alpn_sni` target: see fuzz/src/harness.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tcltls_fuzz::session_alpn_sni(data));
