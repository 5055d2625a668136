//! Unix (Linux, macOS, FreeBSD): sockets through `libc`.

use std::ffi::c_int;
use std::io;

use openssl::error::ErrorStack;
use openssl::ssl::SslContextBuilder;

use super::Io;
use crate::tcl::sys::{self, ClientData};

/// The descriptor a Tcl channel handle stands for.
fn fd_of(handle: ClientData) -> c_int {
    handle as usize as c_int
}

/// Flags for every send: never wait, never raise SIGPIPE (macOS has no
/// MSG_NOSIGNAL; [`Socket::duplicate`] sets SO_NOSIGPIPE there instead).
#[cfg(not(target_vendor = "apple"))]
const SEND_FLAGS: c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const SEND_FLAGS: c_int = libc::MSG_DONTWAIT;

/// Our own descriptor for a socket, non-blocking, closed on drop.
pub struct Socket(c_int);

impl Socket {
    /// A duplicate of the socket behind a Tcl channel handle, ours to
    /// keep after Tcl closes its own; `None` if the system refuses.
    pub fn duplicate(handle: ClientData) -> Option<Socket> {
        // SAFETY: the handle is the live socket of a Tcl channel (Tcl
        // closes it only after our close proc returns); dup gives us our
        // own descriptor.
        let own = unsafe { libc::dup(fd_of(handle)) };
        if own < 0 {
            return None;
        }
        let socket = Socket(own);
        // SAFETY: `own` is our open descriptor; F_GETFL only reads its flags.
        let flags = unsafe { libc::fcntl(own, libc::F_GETFL) };
        // SAFETY: `own` is our open descriptor; F_SETFL only changes the
        // file status flags (shared with the channel's descriptor, which
        // Tcl only closes after this).
        unsafe { libc::fcntl(own, libc::F_SETFL, flags | libc::O_NONBLOCK) };
        #[cfg(target_vendor = "apple")]
        {
            let on: c_int = 1;
            // SAFETY: our descriptor; the option value is a live c_int of
            // the size given.
            unsafe { libc::setsockopt(own, libc::SOL_SOCKET, libc::SO_NOSIGPIPE, &on as *const c_int as *const libc::c_void, std::mem::size_of::<c_int>() as libc::socklen_t) };
        }
        Some(socket)
    }

    /// The descriptor, for Tcl's file handlers.
    pub fn raw(&self) -> c_int {
        self.0
    }

    /// Sends what the socket takes now.
    pub fn send(&self, data: &[u8]) -> Io {
        // SAFETY: our descriptor; the buffer is readable for its length.
        let n = unsafe { libc::send(self.0, data.as_ptr() as *const libc::c_void, data.len(), SEND_FLAGS) };
        outcome(n)
    }

    /// Receives what has arrived (`Done(0)`: the peer closed).
    pub fn recv(&self, buf: &mut [u8]) -> Io {
        // SAFETY: our descriptor; `buf` is writable for its length.
        let n = unsafe { libc::recv(self.0, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), libc::MSG_DONTWAIT) };
        outcome(n)
    }

    /// Half-closes: our FIN follows everything sent.
    pub fn shutdown_write(&self) {
        // SAFETY: our descriptor.
        unsafe { libc::shutdown(self.0, libc::SHUT_WR) };
    }

    /// Waits up to `timeout_ms` for input (or the peer's end).
    pub fn wait_readable(&self, timeout_ms: i32) -> bool {
        poll_readable(self.0, timeout_ms)
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: our descriptor, closed once, here.
        unsafe { libc::close(self.0) };
    }
}

fn outcome(n: isize) -> Io {
    if n >= 0 {
        return Io::Done(n as usize);
    }
    let error = io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::EAGAIN | libc::EINTR) => Io::WouldBlock,
        #[allow(unreachable_patterns)] // EWOULDBLOCK == EAGAIN on Linux
        Some(libc::EWOULDBLOCK) => Io::WouldBlock,
        _ => Io::Failed(error),
    }
}

fn poll_readable(fd: c_int, timeout_ms: i32) -> bool {
    let mut pollfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd for the call.
    let ready = unsafe { libc::poll(&mut pollfd, 1, timeout_ms) };
    ready > 0
}

/// Waits up to `timeout_ms` for a Tcl channel's OS handle to be readable.
pub fn wait_readable(handle: ClientData, timeout_ms: i32) -> bool {
    poll_readable(fd_of(handle), timeout_ms)
}

/// Points Tcl's descriptor at a spare socket, leaving the connection to
/// our duplicate. After our close proc, Tcl 9 shuts down the read side of
/// its descriptor before closing it; a shutdown acts on the socket, not
/// the descriptor, and Linux answers data arriving on a socket shut for
/// reading with a reset, which would defeat the drain.
pub fn detach(handle: ClientData) {
    let fd = fd_of(handle);
    let mut spare: [c_int; 2] = [-1; 2];
    #[cfg(not(target_vendor = "apple"))]
    let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    #[cfg(target_vendor = "apple")]
    let kind = libc::SOCK_STREAM;
    // SAFETY: a valid array for the two new descriptors.
    if unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, spare.as_mut_ptr()) } != 0 {
        return;
    }
    // SAFETY: the notifier forgets `fd` while it still names the socket
    // (epoll keeps a registration as long as its open file lives, and our
    // duplicate keeps it alive); Tcl's own later delete finds nothing.
    unsafe { sys::Tcl_DeleteFileHandler(fd) };
    // SAFETY: both are open descriptors: `fd` (Tcl's, which Tcl closes
    // itself after our close proc) now names the spare socket, under the
    // same number.
    if unsafe { libc::dup2(spare[0], fd) } == fd {
        // SAFETY: `fd` is open; this sets its close-on-exec flag, as Tcl
        // sets it on its own sockets.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: the spare pair's own descriptors, ours and no longer needed
    // (`fd` holds its own reference to the spare socket).
    unsafe { libc::close(spare[0]) };
    // SAFETY: as above.
    unsafe { libc::close(spare[1]) };
}

/// The text for an errno value a Tcl channel driver reported.
pub fn errno_text(errno: c_int) -> String {
    io::Error::from_raw_os_error(errno).to_string()
}

/// The platform trust store: OpenSSL's default paths (SSL_CERT_FILE and
/// SSL_CERT_DIR apply). An OpenSSL built from source (`vendored`) has its
/// own, empty, directory as default, so that build also loads the
/// system's store, unless those variables say otherwise.
pub fn default_trust(builder: &mut SslContextBuilder) -> Result<(), ErrorStack> {
    builder.set_default_verify_paths()?;
    #[cfg(feature = "vendored")]
    if std::env::var_os("SSL_CERT_FILE").is_none() && std::env::var_os("SSL_CERT_DIR").is_none() {
        use std::path::Path;
        // Debian and Ubuntu, Fedora and RHEL, openSUSE, Alpine/FreeBSD/macOS.
        const BUNDLES: [&str; 4] = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem"];
        let bundle = BUNDLES.iter().map(Path::new).find(|p| p.is_file());
        let dir = Some(Path::new("/etc/ssl/certs")).filter(|p| p.is_dir());
        if bundle.is_some() || dir.is_some() {
            builder.load_verify_locations(bundle, dir)?;
        }
    }
    Ok(())
}

/// Nothing to do before OpenSSL starts on Unix.
pub fn before_openssl() {}
