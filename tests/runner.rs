//! The test runner (`tests/run.sh`) cannot hide a failure: run in a
//! temporary copy with stand-in `cargo` and `tclsh` scripts, a test binary
//! that crashes after another one passed, a failed tcltest file and a run
//! that tested nothing must each end in "N passed, M failed" with M > 0 and
//! a non-zero exit status; an all-green run exits 0.

use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcltls-runner-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    for script in ["tests/run.sh", "tests/interpreters.sh"] {
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(script), dir.join(script)).unwrap();
    }
    std::fs::write(dir.join("tests/all.tcl"), "").unwrap();
    dir
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    path
}

/// Runs the copied runner; returns (exit code, last line).
fn run(cargo: &str, tclsh: &str) -> (i32, String) {
    let dir = scratch(&format!("{:x}", {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (cargo, tclsh).hash(&mut h);
        h.finish()
    }));
    let cargo = script(&dir, "fake-cargo", cargo);
    let tclsh = script(&dir, "fake-tclsh", tclsh);
    let out = Command::new("bash").arg(dir.join("tests/run.sh")).env("CARGO", &cargo).env("TCLSH", &tclsh).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code().unwrap_or(-1), text.lines().last().unwrap_or_default().to_string())
}

const CARGO_OK: &str = "echo 'test result: ok. 5 passed; 0 failed; 0 ignored'";
const TCL_OK: &str = "cat >/dev/null 2>&1 || true; echo '3 passed, 0 failed'";

#[test]
fn green_run_exits_zero() {
    assert_eq!(run(CARGO_OK, TCL_OK), (0, "8 passed, 0 failed".to_string()));
}

#[test]
fn crashed_test_binary_after_a_pass_is_a_failure() {
    let (code, last) = run("echo 'test result: ok. 5 passed; 0 failed; 0 ignored'; echo 'error: test failed, signal 11'; exit 101", TCL_OK);
    assert_ne!(code, 0);
    assert_eq!(last, "8 passed, 1 failed");
}

#[test]
fn failed_tcltest_is_a_failure() {
    let (code, last) = run(CARGO_OK, "cat >/dev/null 2>&1 || true; echo '2 passed, 1 failed'; exit 1");
    assert_ne!(code, 0);
    assert_eq!(last, "7 passed, 1 failed");
}

#[test]
fn a_run_that_tested_nothing_is_a_failure() {
    let (code, last) = run(CARGO_OK, "exit 0");
    assert_ne!(code, 0);
    assert!(last.ends_with("passed, 2 failed") || last.ends_with("passed, 1 failed"), "{last}");
}
