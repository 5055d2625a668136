//! Windows: Winsock through `windows-sys`.
//!
//! Tcl for Windows has no file handlers in its notifier (the stubs slots
//! of `Tcl_CreateFileHandler` are empty there), so the drain after close
//! is driven by a thread of ours instead of Tcl's event loop
//! (`channel/linger.rs`); everything it needs from the OS is here.

use std::ffi::{c_int, CStr};
use std::io;
use std::mem::MaybeUninit;

use openssl::error::ErrorStack;
use openssl::ssl::SslContextBuilder;
use windows_sys::Win32::Networking::WinSock as ws;
use windows_sys::Win32::System::Threading::GetCurrentProcessId;

use super::Io;
use crate::tcl::sys::{self, ClientData};

/// The socket a Tcl channel handle stands for (Tcl's `GetHandleProc`
/// gives the `SOCKET` itself).
fn socket_of(handle: ClientData) -> ws::SOCKET {
    handle as usize as ws::SOCKET
}

/// The most one send hands Winsock (its lengths are `int`).
const SEND_CHUNK: usize = 64 * 1024;

/// Our own descriptor for a socket, closed on drop.
pub struct Socket(ws::SOCKET);

impl Socket {
    /// A duplicate of the socket behind a Tcl channel handle, ours to
    /// keep after Tcl closes its own (`WSADuplicateSocketW` for our own
    /// process: the connection lives until its last descriptor closes);
    /// `None` if Winsock refuses.
    pub fn duplicate(handle: ClientData) -> Option<Socket> {
        let mut info = MaybeUninit::<ws::WSAPROTOCOL_INFOW>::zeroed();
        // SAFETY: no arguments; returns this process's id.
        let pid = unsafe { GetCurrentProcessId() };
        // SAFETY: the handle is the live socket of a Tcl channel (Tcl
        // closes it only after our close proc returns); `info` is
        // writable for one WSAPROTOCOL_INFOW.
        if unsafe { ws::WSADuplicateSocketW(socket_of(handle), pid, info.as_mut_ptr()) } != 0 {
            return None;
        }
        let flags = ws::WSA_FLAG_OVERLAPPED | ws::WSA_FLAG_NO_HANDLE_INHERIT;
        // SAFETY: `info` was filled in by WSADuplicateSocketW above and
        // is read for the call only.
        let own = unsafe { ws::WSASocketW(ws::FROM_PROTOCOL_INFO, ws::FROM_PROTOCOL_INFO, ws::FROM_PROTOCOL_INFO, info.as_ptr(), 0, flags) };
        if own == ws::INVALID_SOCKET {
            return None;
        }
        let socket = Socket(own);
        // Tcl's WSAAsyncSelect registration belongs to the socket, not to
        // its handle: left in place, the events of the connection being
        // drained would still be posted to Tcl's window under the handle
        // Tcl is about to close, and Tcl would take them for those of a
        // new socket that gets the same handle value (a fresh connection
        // then reads "connection reset by peer"). Cancelling it through
        // any descriptor cancels it for all; the socket is ours now.
        // SAFETY: our socket; no event object is used when the event set
        // is empty.
        unsafe { ws::WSAEventSelect(own, 0, 0) };
        let mut on: u32 = 1;
        // SAFETY: our socket; FIONBIO reads one u32 (it succeeds now that
        // no event selection is on the socket; every send and receive
        // polls first, so nothing waits either way).
        unsafe { ws::ioctlsocket(own, ws::FIONBIO, &mut on) };
        Some(socket)
    }

    /// Sends what the socket takes now.
    pub fn send(&self, data: &[u8]) -> Io {
        if !poll(self.0, ws::POLLWRNORM, 0) {
            return Io::WouldBlock;
        }
        let len = data.len().min(SEND_CHUNK) as i32;
        // SAFETY: our socket; the buffer is readable for `len` bytes.
        let n = unsafe { ws::send(self.0, data.as_ptr(), len, 0) };
        outcome(n)
    }

    /// Receives what has arrived (`Done(0)`: the peer closed).
    pub fn recv(&self, buf: &mut [u8]) -> Io {
        if !poll(self.0, ws::POLLRDNORM, 0) {
            return Io::WouldBlock;
        }
        let len = buf.len().min(i32::MAX as usize) as i32;
        // SAFETY: our socket; `buf` is writable for `len` bytes.
        let n = unsafe { ws::recv(self.0, buf.as_mut_ptr(), len, 0) };
        outcome(n)
    }

    /// Half-closes: our FIN follows everything sent.
    pub fn shutdown_write(&self) {
        // SAFETY: our socket.
        unsafe { ws::shutdown(self.0, ws::SD_SEND) };
    }

    /// Waits up to `timeout_ms` for input (or the peer's end).
    pub fn wait_readable(&self, timeout_ms: i32) -> bool {
        poll(self.0, ws::POLLRDNORM, timeout_ms)
    }

    /// Waits up to `timeout_ms` for any of `sockets` to be readable (or,
    /// where its flag is set, writable); for each, (readable, writable).
    pub fn wait_any(sockets: &[(&Socket, bool)], timeout_ms: i32) -> Vec<(bool, bool)> {
        let mut fds: Vec<ws::WSAPOLLFD> =
            sockets.iter().map(|(socket, write)| ws::WSAPOLLFD { fd: socket.0, events: ws::POLLRDNORM | if *write { ws::POLLWRNORM } else { 0 }, revents: 0 }).collect();
        if fds.is_empty() {
            return Vec::new();
        }
        // SAFETY: `fds` is a live array of `fds.len()` WSAPOLLFDs, each
        // for one of our open sockets.
        unsafe { ws::WSAPoll(fds.as_mut_ptr(), fds.len() as u32, timeout_ms) };
        let done = ws::POLLHUP | ws::POLLERR;
        fds.iter().map(|fd| (fd.revents & (ws::POLLRDNORM | done) != 0, fd.revents & (ws::POLLWRNORM | done) != 0)).collect()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: our socket, closed once, here.
        unsafe { ws::closesocket(self.0) };
    }
}

fn outcome(n: i32) -> Io {
    if n != ws::SOCKET_ERROR {
        return Io::Done(n.max(0) as usize);
    }
    // SAFETY: no arguments; reads this thread's last Winsock error.
    let code = unsafe { ws::WSAGetLastError() };
    match code {
        ws::WSAEWOULDBLOCK | ws::WSAEINTR => Io::WouldBlock,
        // The Winsock error's own text (FormatMessage) names the cause.
        _ => Io::Failed(io::Error::from_raw_os_error(code)),
    }
}

/// Whether `socket` shows `events` (or its end, or an error) within
/// `timeout_ms`.
fn poll(socket: ws::SOCKET, events: i16, timeout_ms: i32) -> bool {
    let mut fd = ws::WSAPOLLFD { fd: socket, events, revents: 0 };
    // SAFETY: one valid WSAPOLLFD for the call.
    let ready = unsafe { ws::WSAPoll(&mut fd, 1, timeout_ms) };
    ready > 0 && fd.revents & (events | ws::POLLHUP | ws::POLLERR) != 0
}

/// Waits up to `timeout_ms` for a Tcl channel's OS handle to be readable.
pub fn wait_readable(handle: ClientData, timeout_ms: i32) -> bool {
    poll(socket_of(handle), ws::POLLRDNORM, timeout_ms)
}

/// Nothing to do on Windows: Tcl's handle is closed with `closesocket`,
/// which only gives up its descriptor while our duplicate keeps the
/// connection, and Tcl registers no file handler that could outlive it.
pub fn detach(_handle: ClientData) {}

/// The text for an errno value a Tcl channel driver reported. Tcl for
/// Windows turns Winsock errors into the C runtime's errno values (its
/// `TclWinConvertError`), which the system's own message table does not
/// know; Tcl's table does ("connection reset by peer").
pub fn errno_text(errno: c_int) -> String {
    // SAFETY: Tcl_ErrnoMsg returns a static C string for any value.
    let text = unsafe { sys::Tcl_ErrnoMsg(errno) };
    if text.is_null() {
        return format!("error {errno}");
    }
    // SAFETY: a non-null static C string from Tcl's table.
    unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
}

/// The URI of the Windows certificate store (the "ROOT" store of the
/// user and the machine), as OpenSSL 3.2 and later provide it.
pub const WINDOWS_STORE: &str = "org.openssl.winstore://";

/// The platform trust store: the Windows certificate store, plus
/// SSL_CERT_FILE and SSL_CERT_DIR when they name a file and a folder
/// (ignored otherwise, as OpenSSL's default paths are). OpenSSL's
/// compiled-in default paths are never used here: a vendored OpenSSL's
/// are under the build machine's `/usr/local/ssl`, which on Windows is
/// `C:\usr\local\ssl`, a folder any user may create.
pub fn default_trust(builder: &mut SslContextBuilder) -> Result<(), ErrorStack> {
    use std::path::PathBuf;
    let file = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from).filter(|p| p.is_file());
    let dir = std::env::var_os("SSL_CERT_DIR").map(PathBuf::from).filter(|p| p.is_dir());
    if file.is_some() || dir.is_some() {
        builder.load_verify_locations(file.as_deref(), dir.as_deref())?;
    }
    crate::openssl_extra::load_verify_store(builder, WINDOWS_STORE)
}

/// Keeps OpenSSL from reading a configuration file from its compiled-in
/// directory (`C:\usr\local\ssl\openssl.cnf` for a vendored build, see
/// [`default_trust`]) unless OPENSSL_CONF names one: OpenSSL's first
/// initialisation decides, and this runs before any other.
pub fn before_openssl() {
    const OPENSSL_INIT_NO_LOAD_CONFIG: u64 = 0x0000_0080;
    if std::env::var_os("OPENSSL_CONF").is_some() {
        return;
    }
    // SAFETY: OpenSSL's initialisation, with no settings; safe to call
    // more than once and from any thread.
    unsafe { openssl_sys::OPENSSL_init_ssl(openssl_sys::OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_NO_LOAD_CONFIG, std::ptr::null()) };
}
