//! Checks every Tcl stub slot the library calls against the slot numbers
//! in both versions' `tclDecls.h`: the 8.6 column of `USED_SLOTS` against
//! Tcl 8.6's header, the 9.0 column against Tcl 9.0's, so a wrong number
//! cannot call the wrong function, and a function Tcl 9 removed cannot be
//! used (it is not in the 9.0 header). The 8.6 header is found under
//! TCL_INCLUDE_DIR or where Debian and upstream Tcl install it; the 9.0
//! header under TCL9_INCLUDE_DIR or where `tools/tcl9.sh` unpacks Tcl 9.

use std::collections::HashMap;

fn find_header(env: &str, defaults: &[String], major: &str) -> String {
    let mut dirs: Vec<String> = std::env::var(env).into_iter().collect();
    dirs.extend(defaults.iter().cloned());
    for dir in &dirs {
        if let Ok(text) = std::fs::read_to_string(format!("{dir}/tclDecls.h")) {
            if text.contains("typedef struct TclStubs") && version_of(&text) == major {
                return text;
            }
        }
    }
    panic!("Tcl {major} tclDecls.h not found in {dirs:?}: install tcl-dev, run tools/tcl9.sh, or set {env}");
}

/// The major version a header is for: Tcl 9's declares `Tcl_Size` lengths.
fn version_of(text: &str) -> &'static str {
    if text.contains("Tcl_CreateObjCommand2") {
        "9"
    } else {
        "8"
    }
}

fn header86() -> String {
    let dirs = ["/usr/include/tcl8.6", "/usr/include/tcl", "/usr/local/include", "/usr/include"].map(String::from);
    find_header("TCL_INCLUDE_DIR", &dirs, "8")
}

fn header90() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let dirs = [format!("{root}/.tcl9/root/usr/include/tcl9.0"), "/usr/include/tcl9.0".to_string()];
    find_header("TCL9_INCLUDE_DIR", &dirs, "9")
}

/// Slot numbers by function name, from the `TclStubs` structure, whose
/// members read `ret (*tcl_Name) (args); /* N */`.
fn slots_in_header(text: &str) -> HashMap<String, usize> {
    let start = text.find("typedef struct TclStubs").expect("TclStubs structure");
    let mut slots = HashMap::new();
    for line in text[start..].lines() {
        if line.starts_with("} TclStubs;") {
            break;
        }
        let (Some(open), Some(comment)) = (line.find("(*"), line.rfind("/* ")) else { continue };
        let name_end = line[open + 2..].find(')').map(|i| open + 2 + i);
        let Some(name_end) = name_end else { continue };
        let name = &line[open + 2..name_end];
        let number = line[comment + 3..].trim_end_matches(" */").trim();
        if let (Some(rest), Ok(slot)) = (name.strip_prefix("tcl"), number.parse::<usize>()) {
            slots.insert(format!("Tcl{rest}"), slot);
        }
    }
    slots
}

fn check(slots: &HashMap<String, usize>, column: impl Fn(&(&str, Option<usize>, Option<usize>)) -> Option<usize>, version: &str) {
    assert!(slots.len() > 500, "parsed only {} slots of the {version} header", slots.len());
    let mut used = 0;
    for entry in tcltls::tcl::sys::USED_SLOTS {
        if let Some(slot) = column(entry) {
            assert_eq!(slots.get(entry.0), Some(&slot), "Tcl {version} stub slot of {}", entry.0);
            used += 1;
        }
    }
    assert!(used > 40, "only {used} slots for Tcl {version}");
}

#[test]
fn stub_slots_match_tcl86_header() {
    check(&slots_in_header(&header86()), |e| e.1, "8.6");
}

#[test]
fn stub_slots_match_tcl90_header() {
    check(&slots_in_header(&header90()), |e| e.2, "9.0");
}

/// Tcl 9 declares the size-taking functions at new slots; the old slots
/// hold `int` variants (`TclGetStringFromObj`, ...) that must not be
/// called with `Tcl_Size` pointers. Those names must not be in our 9.0
/// column.
#[test]
fn tcl9_uses_no_int_size_variant() {
    let slots = slots_in_header(&header90());
    for entry in tcltls::tcl::sys::USED_SLOTS {
        if let Some(slot) = entry.2 {
            let holder = slots.iter().find(|(_, &s)| s == slot).map(|(n, _)| n.as_str());
            assert_eq!(holder, Some(entry.0), "9.0 slot {slot}");
        }
    }
    for name in ["TclGetStringFromObj", "TclListObjGetElements", "TclGetBytesFromObj"] {
        assert!(!tcltls::tcl::sys::USED_SLOTS.iter().any(|e| e.0 == name && e.2.is_some()), "{name} used on Tcl 9");
    }
}

#[test]
fn every_used_slot_is_listed_once() {
    for column in [0, 1] {
        let mut seen = std::collections::HashSet::new();
        for entry in tcltls::tcl::sys::USED_SLOTS {
            let slot = if column == 0 { entry.1 } else { entry.2 };
            if let Some(slot) = slot {
                assert!(seen.insert(slot), "slot {slot} ({}) listed twice", entry.0);
            }
        }
    }
}
