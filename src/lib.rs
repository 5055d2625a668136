//! The Tcl `tls` package (the TclTLS 2.0 API) in Rust.
//!
//! ```text
//!  library/tls.tcl      tls::socket, tls::init, sample callbacks   (Tcl)
//!  commands.rs          tls::import, tls::status, ...: options -> TlsConfig
//!  channel/             the `tls` channel type stacked on any channel
//!    driver.rs            Tcl_ChannelType entry points, timer, stacking
//!    mod.rs               event and blocking rules, close, handshake
//!    linger.rs            drains a closed socket so no data is lost
//!    lower.rs             the channel below: its driver's input proc, Tcl_WriteRaw
//!  engine.rs            OpenSSL over memory buffers (no I/O, no Tcl)
//!  context.rs           SSL_CTX built from TlsConfig, cached and shared
//!  status.rs            key/value lists of tls::status
//!  os/                  OS calls: unix.rs (libc), windows.rs (Winsock)
//!  tcl/                 Tcl stubs table and object helpers (unsafe lives here)
//!  openssl_extra.rs     the few OpenSSL calls the openssl crate lacks
//! ```
//!
//! Tcl is reached only through its stubs table: the library does not link
//! against libtcl. One source builds two libraries, one for Tcl 8.6
//! (`libtcltls.so`) and one for Tcl 9.0 (`libtcl9tls.so`, the cargo
//! feature `tcl9`); `pkgIndex.tcl` loads the one for the running Tcl.

pub mod buffer;
pub mod callbacks;
pub mod certgen;
pub mod channel;
pub mod commands;
pub mod config;
pub mod context;
pub mod engine;
pub mod error;
pub mod openssl_extra;
pub mod os;
pub mod status;
pub mod tcl;

use std::ffi::c_int;

use tcl::sys;

/// The package version given to `package provide`.
pub const PACKAGE_VERSION: &str = "2.0.0";

/// Entry point for `load libtcltls.so Tls`.
///
/// # Safety
/// Called by Tcl with a live interpreter.
#[no_mangle]
pub unsafe extern "C" fn Tls_Init(interp: *mut sys::Tcl_Interp) -> c_int {
    let outcome = tcl::catch(|| {
        // SAFETY: Tcl passes a live interpreter to the init function.
        if unsafe { sys::init_stubs(interp) }.is_err() {
            // The interpreter's result says why (when it can be set).
            return sys::TCL_ERROR;
        }
        os::before_openssl();
        openssl::init();
        tcl::init_test_hook();
        for (index, (name, _)) in commands::COMMANDS.iter().enumerate() {
            let name = tcl::cstring(name);
            // SAFETY: live interpreter; the client data is an index into the
            // static command table, read back by `dispatch`.
            unsafe {
                sys::create_obj_command(interp, name.as_ptr(), commands::dispatch, index as sys::ClientData);
            }
        }
        let version = tcl::cstring(PACKAGE_VERSION);
        // SAFETY: live interpreter; C strings for the call.
        unsafe { sys::Tcl_PkgProvideEx(interp, c"tls".as_ptr(), version.as_ptr(), std::ptr::null()) }
    });
    outcome.unwrap_or_else(|panic| if sys::stubs_ready() { tcl::Interp(interp).fail(&error::TlsError::internal(&panic)) } else { sys::TCL_ERROR })
}

/// Entry point for safe interpreters: the same commands, with file
/// options refused by `tls::import`.
///
/// # Safety
/// Called by Tcl with a live interpreter.
#[no_mangle]
pub unsafe extern "C" fn Tls_SafeInit(interp: *mut sys::Tcl_Interp) -> c_int {
    // SAFETY: same contract.
    unsafe { Tls_Init(interp) }
}
