//! Checks every Tcl stub slot the library calls against the slot numbers
//! in the installed `tclDecls.h`, so a wrong number cannot call the wrong
//! function. The header is found under TCL_INCLUDE_DIR, or where Debian
//! and upstream Tcl install it.

use std::collections::HashMap;

fn header() -> String {
    let mut dirs: Vec<String> = std::env::var("TCL_INCLUDE_DIR").into_iter().collect();
    dirs.extend(["/usr/include/tcl8.6", "/usr/include/tcl", "/usr/local/include", "/usr/include"].map(String::from));
    for dir in &dirs {
        if let Ok(text) = std::fs::read_to_string(format!("{dir}/tclDecls.h")) {
            if text.contains("typedef struct TclStubs") {
                return text;
            }
        }
    }
    panic!("tclDecls.h not found in {dirs:?}: install tcl-dev or set TCL_INCLUDE_DIR");
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

#[test]
fn stub_slots_match_installed_header() {
    let slots = slots_in_header(&header());
    assert!(slots.len() > 500, "parsed only {} slots", slots.len());
    for (name, slot) in tcltls::tcl::sys::USED_SLOTS {
        assert_eq!(slots.get(*name), Some(slot), "stub slot of {name}");
    }
}

#[test]
fn every_used_slot_is_listed_once() {
    let mut seen = std::collections::HashSet::new();
    for (name, slot) in tcltls::tcl::sys::USED_SLOTS {
        assert!(seen.insert(*slot), "slot {slot} ({name}) listed twice");
    }
}
