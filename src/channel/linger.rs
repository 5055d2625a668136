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
    // SAFETY: `own` is our open descriptor; F_GETFL only reads its flags.
    let flags = unsafe { libc::fcntl(own, libc::F_GETFL) };
    // SAFETY: `own` is our open descriptor; F_SETFL only changes the file
    // status flags (shared with the lower channel's descriptor, which Tcl
    // only closes after this).
    unsafe { libc::fcntl(own, libc::F_SETFL, flags | libc::O_NONBLOCK) };
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
    // SAFETY: `own` is our descriptor; `linger` stays alive until
    // `release` frees it, which also removes this handler.
    unsafe { sys::Tcl_CreateFileHandler(own, mask, on_event, linger as ClientData) };
    // SAFETY: `linger` stays alive until `release` frees it, which also
    // deletes this timer unless it has fired.
    let timer = unsafe { sys::Tcl_CreateTimerHandler(LINGER_MS, on_timeout, linger as ClientData) };
    // SAFETY: `linger` is the live box leaked above; no reference to it
    // exists and its handlers only run from the event loop, later.
    unsafe { (*linger).timer = timer };
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
    // SAFETY: per the contract, the box leaked by `hand_off` is ours and
    // is taken back once, here.
    let linger = unsafe { Box::from_raw(linger) };
    // SAFETY: removes the handler `hand_off` (or `on_event`) created for
    // our descriptor.
    unsafe { sys::Tcl_DeleteFileHandler(linger.fd) };
    if !linger.timer.is_null() {
        // SAFETY: our timer, not fired yet (`on_timeout` clears the token
        // before releasing).
        unsafe { sys::Tcl_DeleteTimerHandler(linger.timer) };
    }
    // SAFETY: our descriptor, closed once; its handler is gone.
    unsafe { libc::close(linger.fd) };
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
        // SAFETY: the timer is live, so the linger is too (`release`
        // deletes the timer before freeing it); no reference to it exists.
        unsafe { (*linger).timer = std::ptr::null_mut() };
        // SAFETY: live and not released yet; the timer has fired, and with
        // its token cleared `release` does not delete it again.
        unsafe { release(linger) };
    })
}
