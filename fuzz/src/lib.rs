//! The fuzz targets' code (see harness.rs), as a library for the
//! binaries in fuzz_targets/.
mod harness;
pub use harness::*;
