//! A close that never loses data.
//!
//! When a TCP socket is closed while bytes it has received are still
//! unread (TLS 1.3 session tickets, the peer's close_notify), the kernel
//! answers with a reset, and the peer's kernel may throw away data we sent
//! that the peer has not read yet. So after close_notify is flushed, the
//! socket is half-closed (our FIN follows our data), what already arrived
//! is read and dropped, and a duplicate of the descriptor stays open in
//! the event loop, draining until the peer closes too (or a time limit),
//! while Tcl closes its own descriptor as usual. A non-blocking channel's
//! close never waits: ciphertext the socket did not take yet is sent from
//! the event loop too, before the half-close.

use std::ffi::c_int;

use super::lower::LowerChannel;
use crate::tcl::boundary;
use crate::tcl::sys::{self, ClientData};

/// How long a closed connection is drained at most, in milliseconds.
const LINGER_MS: c_int = 10_000;

struct Linger {
    fd: c_int,
    timer: sys::Tcl_TimerToken,
    /// Ciphertext still to send before the half-close.
    pending: Vec<u8>,
}

/// Whether [`hand_off`] can take over this channel's socket.
pub fn can_take(lower: &LowerChannel) -> bool {
    lower.type_name() == "tcp" && lower.handle(sys::TCL_READABLE).is_some()
}

/// How long a TLS 1.3 client that has not yet received the server's
/// session tickets waits for them before closing (they are sent right
/// after the handshake and would otherwise arrive after the close).
const TICKET_WAIT_MS: c_int = 100;

/// Sends `pending`, half-closes `lower`'s socket and drains it until the
/// peer closes. `expect_tickets`: the server's tickets may still be on
/// their way.
pub fn hand_off(lower: &LowerChannel, peer_closed: bool, expect_tickets: bool, pending: Vec<u8>) {
    if !can_take(lower) {
        return;
    }
    let Some(handle) = lower.handle(sys::TCL_READABLE) else { return };
    let fd = handle as usize as c_int;
    // SAFETY: `fd` is the live socket of the lower channel (Tcl closes it
    // only after our close proc returns); dup gives us our own descriptor.
    let own = unsafe { libc::dup(fd) };
    if own < 0 {
        return;
    }
    detach(fd);
    // SAFETY: `own` is our descriptor; this only changes its flags.
    unsafe {
        let flags = libc::fcntl(own, libc::F_GETFL);
        libc::fcntl(own, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let mut linger = Box::new(Linger { fd: own, timer: std::ptr::null_mut(), pending });
    if !linger.send_pending() {
        // SAFETY: our descriptor, closed once.
        unsafe { libc::close(own) };
        return;
    }
    if linger.pending.is_empty() {
        if expect_tickets && !peer_closed {
            let mut pollfd = libc::pollfd { fd: own, events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd for our own descriptor.
            unsafe { libc::poll(&mut pollfd, 1, TICKET_WAIT_MS) };
        }
        if peer_closed || drain(own) {
            // SAFETY: our descriptor, closed once.
            unsafe { libc::close(own) };
            return;
        }
    }
    let mask = linger.interest();
    let linger = Box::into_raw(linger);
    // SAFETY: `linger` stays alive until `finish` frees it, which also
    // removes both the file handler and the timer that point at it.
    unsafe {
        sys::Tcl_CreateFileHandler(own, mask, on_event, linger as ClientData);
        (*linger).timer = sys::Tcl_CreateTimerHandler(LINGER_MS, on_timeout, linger as ClientData);
    }
}

/// Points Tcl's descriptor `fd` at a spare socket, leaving the connection
/// to our duplicate. After our close proc, Tcl 9 shuts down the read side
/// of its descriptor before closing it; a shutdown acts on the socket, not
/// the descriptor, and Linux answers data arriving on a socket shut for
/// reading with a reset, which would defeat the drain.
fn detach(fd: c_int) {
    let mut spare: [c_int; 2] = [-1; 2];
    // SAFETY: a valid array for the two new descriptors.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, spare.as_mut_ptr()) } != 0 {
        return;
    }
    // SAFETY: the notifier forgets `fd` while it still names the socket
    // (epoll keeps a registration as long as its open file lives, and our
    // duplicate keeps it alive); Tcl's own later delete finds nothing.
    // Then `fd` is replaced by the spare socket (same descriptor number,
    // close-on-exec like Tcl's), and the spare pair's own descriptors are
    // closed. Tcl closes `fd` itself after our close proc.
    unsafe {
        sys::Tcl_DeleteFileHandler(fd);
        if libc::dup2(spare[0], fd) == fd {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        libc::close(spare[0]);
        libc::close(spare[1]);
    }
}

impl Linger {
    /// Sends what the socket takes; half-closes once all is sent. False
    /// if the socket failed.
    fn send_pending(&mut self) -> bool {
        while !self.pending.is_empty() {
            // SAFETY: our descriptor; the buffer is readable for its length.
            let n = unsafe { libc::send(self.fd, self.pending.as_ptr() as *const libc::c_void, self.pending.len(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
            if n < 0 {
                let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                return errno == libc::EAGAIN || errno == libc::EWOULDBLOCK || errno == libc::EINTR;
            }
            self.pending.drain(..n as usize);
        }
        // SAFETY: our descriptor; our FIN follows everything we sent.
        unsafe { libc::shutdown(self.fd, libc::SHUT_WR) };
        true
    }

    fn interest(&self) -> c_int {
        if self.pending.is_empty() {
            sys::TCL_READABLE
        } else {
            sys::TCL_READABLE | sys::TCL_WRITABLE
        }
    }
}

/// Reads and drops what has arrived; true once the peer has closed.
fn drain(fd: c_int) -> bool {
    let mut buf = [0u8; 16 * 1024];
    loop {
        // SAFETY: our descriptor; `buf` is writable for its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), libc::MSG_DONTWAIT) };
        if n > 0 {
            continue;
        }
        if n == 0 {
            return true;
        }
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return errno != libc::EAGAIN && errno != libc::EWOULDBLOCK && errno != libc::EINTR;
    }
}

/// # Safety
/// `linger` came from `hand_off` and has not been finished.
unsafe fn release(linger: *mut Linger) {
    // SAFETY: per the contract, we own the box and its registrations.
    unsafe {
        let linger = Box::from_raw(linger);
        sys::Tcl_DeleteFileHandler(linger.fd);
        if !linger.timer.is_null() {
            sys::Tcl_DeleteTimerHandler(linger.timer);
        }
        libc::close(linger.fd);
    }
}

unsafe extern "C" fn on_event(data: ClientData, mask: c_int) {
    boundary((), || {
        let linger = data as *mut Linger;
        // SAFETY: the handler is removed when the linger is finished, so
        // `linger` is live here.
        let state = unsafe { &mut *linger };
        let had_pending = !state.pending.is_empty();
        let ok = !had_pending || mask & sys::TCL_WRITABLE == 0 || state.send_pending();
        let peer_closed = mask & sys::TCL_READABLE != 0 && drain(state.fd);
        if !ok || peer_closed {
            // SAFETY: live, finished once.
            unsafe { release(linger) };
        } else if had_pending && state.pending.is_empty() {
            // All sent: only the peer's end is awaited now.
            // SAFETY: replaces the handler of our own descriptor.
            unsafe { sys::Tcl_CreateFileHandler(state.fd, sys::TCL_READABLE, on_event, data) };
        }
    })
}

unsafe extern "C" fn on_timeout(data: ClientData) {
    boundary((), || {
        let linger = data as *mut Linger;
        // SAFETY: the timer is live, so the linger is too; it has fired, so
        // `finish` must not delete it again.
        unsafe {
            (*linger).timer = std::ptr::null_mut();
            release(linger);
        }
    })
}
