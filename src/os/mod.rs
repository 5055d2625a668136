//! Everything that depends on the operating system, behind one interface
//! with a Unix ([`unix`], Linux, macOS, FreeBSD) and a Windows
//! ([`windows`], Winsock through `windows-sys`) implementation:
//!
//! - [`Socket`]: our own duplicate of a Tcl socket's OS handle, used by
//!   the drain after close (`channel/linger.rs`): non-blocking send
//!   without SIGPIPE, receive, half-close, wait for input. Closed on drop.
//! - [`detach`]: makes Tcl's own handle harmless before Tcl closes it.
//! - [`wait_readable`]: waits for a channel's OS handle to be readable.
//! - [`errno_text`]: the text of an errno value as Tcl reports it.
//! - [`default_trust`]: the platform trust store (OpenSSL's default paths
//!   on Unix, the Windows certificate store on Windows).
//! - [`before_openssl`]: what must happen before OpenSSL initialises.
//!
//! `unsafe` lives here (and in the other FFI layers); each block holds one
//! operation and says why it is sound. Imports: `tcl` only.

use std::io;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

/// What one non-blocking send or receive on a [`Socket`] gave.
#[derive(Debug)]
pub enum Io {
    /// This many bytes (0 from a receive: the peer closed).
    Done(usize),
    /// Nothing now; try again when the socket is ready.
    WouldBlock,
    Failed(io::Error),
}

/// `SSL_SESSION_get_time` returns a C `long`: 64 bits on Unix, 32 on
/// Windows.
#[allow(clippy::useless_conversion)]
pub fn long_to_i64(value: std::ffi::c_long) -> i64 {
    i64::from(value)
}
