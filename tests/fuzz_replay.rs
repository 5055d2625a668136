//! Every fuzz seed (fuzz/corpus/) and every input a fuzzer ever crashed
//! on (fuzz/regressions/) run through the fuzz targets' own code, so
//! that `cargo test` keeps what fuzzing found fixed.

#[path = "../fuzz/src/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::path::Path;

/// A fuzz target's name and its code.
type Target = (&'static str, fn(&[u8]));

const TARGETS: &[Target] = &[("engine", harness::engine), ("options", harness::options), ("certstatus", harness::certstatus), ("session_alpn_sni", harness::session_alpn_sni)];

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind);
    let mut count = 0;
    for (target, run) in TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else { continue };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", file.display());
            count += 1;
        }
    }
    count
}

#[test]
fn seeds_pass() {
    let n = replay("corpus");
    assert!(n >= 40, "only {n} seeds found under fuzz/corpus");
}

#[test]
fn regressions_pass() {
    replay("regressions");
}

/// Writes the seed corpus (run by hand when the seeds change).
#[test]
#[ignore]
fn write_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join("corpus");
    for (target, name, data) in harness::seeds() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    }
}
