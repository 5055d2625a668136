//! A close that never loses data.
//!
//! When a TCP socket is closed while bytes it has received are still
//! unread (TLS 1.3 session tickets, the peer's close_notify), the kernel
//! answers with a reset, and the peer's kernel may throw away data we sent
//! that the peer has not read yet. So after close_notify is flushed, the
//! socket is half-closed (our FIN follows our data), what already arrived
//! is read and dropped, and a duplicate of the descriptor stays open in
//! the event loop (on Windows, in a thread of ours), draining until the peer closes too (or a time limit),
//! while Tcl closes its own descriptor as usual. A non-blocking channel's
//! close never waits: ciphertext the socket did not take yet is sent from
//! the event loop too, before the half-close. A non-blocking TLS 1.3
//! client that has no session ticket yet keeps its engine for a moment
//! after close ([`hand_off_awaiting_tickets`]) to take the tickets in.

use std::ffi::c_int;
use std::time::{Duration, Instant};

use super::lower::LowerChannel;
use crate::callbacks;
use crate::engine::{ReadOutcome, TlsEngine};
use crate::openssl_extra;
use crate::os::{self, Io, Socket};
use crate::tcl::sys;

/// How long a closed connection is drained at most, in milliseconds.
const LINGER_MS: c_int = 10_000;

struct Linger {
    socket: Socket,
    #[cfg(unix)]
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

/// Ciphertext taken in per socket read while tickets are awaited, and
/// reads per poll at most.
const TICKET_READ_CHUNK: usize = 64 * 1024;
const TICKET_READS_PER_POLL: usize = 4;

/// Sends `pending`, half-closes `lower`'s socket and drains it until the
/// peer closes. `expect_tickets`: the server's tickets may still be on
/// their way.
pub fn hand_off(lower: &LowerChannel, peer_closed: bool, expect_tickets: bool, pending: Vec<u8>) {
    let Some(linger) = take(lower).and_then(|socket| Linger::start(socket, pending)) else { return };
    if linger.pending.is_empty() {
        if expect_tickets && !peer_closed {
            linger.socket.wait_readable(TICKET_WAIT_MS);
        }
        if peer_closed || drain(&linger.socket) {
            return;
        }
    }
    background(linger);
}

/// Our own duplicate of `lower`'s socket, which Tcl is about to close.
fn take(lower: &LowerChannel) -> Option<Socket> {
    if !can_take(lower) {
        return None;
    }
    let handle = lower.handle(sys::TCL_READABLE)?;
    let socket = Socket::duplicate(handle)?;
    os::detach(handle);
    Some(socket)
}

/// How often a closed client looks for its server's session tickets.
const TICKET_POLL_MS: c_int = 5;

/// A closed non-blocking TLS 1.3 client's connection, whose close_notify
/// has gone out like any other's, taking in its server's session tickets
/// from the event loop for at most [`TICKET_WAIT_MS`] (they come a round
/// trip after the handshake; OpenSSL still takes TLS 1.3 handshake
/// messages after close_notify) so that the next connection resumes; then
/// the plain linger. It lives on Tcl's thread, in a timer, and its scripts
/// no longer run.
struct TicketWait {
    engine: TlsEngine,
    linger: Box<Linger>,
    until: Instant,
}

/// `hand_off` for a non-blocking TLS 1.3 client that has no session
/// ticket yet: `engine` is the closed channel's connection, close_notify
/// not sent yet. It is sent now with what the engine still has, as for
/// any close; the tickets are taken in afterwards. Never waits.
pub fn hand_off_awaiting_tickets(lower: &LowerChannel, mut engine: TlsEngine) {
    callbacks::silence(engine.ssl());
    engine.shutdown();
    let pending = engine.output().to_vec();
    engine.consume_output(pending.len());
    let Some(socket) = take(lower) else {
        // No socket of our own (Winsock or dup refused): the lower channel
        // takes what it can now, as any close that cannot linger.
        let mut sent = 0;
        while let Ok(n @ 1..) = lower.write(&pending[sent..]) {
            sent += n;
            if sent == pending.len() {
                break;
            }
        }
        return;
    };
    let Some(linger) = Linger::start(socket, pending) else { return };
    let until = Instant::now() + Duration::from_millis(TICKET_WAIT_MS as u64);
    poll_tickets(Box::new(TicketWait { engine, linger, until }));
}

fn poll_tickets(mut wait: Box<TicketWait>) {
    match wait.step() {
        Some(peer_closed) => {
            let TicketWait { engine, linger, .. } = *wait;
            drop(engine);
            if !(peer_closed && linger.pending.is_empty()) {
                background(linger);
            }
        }
        None => {
            let data = Box::into_raw(wait);
            // SAFETY: the timer owns the box leaked here; `on_ticket_poll`
            // takes it back once, when the timer fires.
            unsafe { sys::Tcl_CreateTimerHandler(TICKET_POLL_MS, on_ticket_poll, data as sys::ClientData) };
        }
    }
}

unsafe extern "C" fn on_ticket_poll(data: sys::ClientData) {
    crate::tcl::boundary((), || {
        // SAFETY: leaked by `poll_tickets` for this timer, which fires
        // once; nothing else refers to it.
        let wait = unsafe { Box::from_raw(data as *mut TicketWait) };
        poll_tickets(wait);
    })
}

impl TicketWait {
    /// Sends what is still pending and takes in what arrived. `None`
    /// while the tickets are awaited; `Some(peer_closed)` once they are
    /// in, the connection ended or failed, or time is up.
    fn step(&mut self) -> Option<bool> {
        if !self.linger.send_pending() {
            return Some(true);
        }
        let mut peer_closed = false;
        // A few reads per poll, each decrypted before the next, so that
        // a peer sending fast fills no buffer of ours.
        for _ in 0..TICKET_READS_PER_POLL {
            let space = self.engine.input_space(TICKET_READ_CHUNK);
            let outcome = self.linger.socket.recv(space);
            let filled = if let Io::Done(n) = outcome { n } else { 0 };
            self.engine.commit_input(filled);
            match outcome {
                Io::Done(0) => {
                    self.engine.feed_eof();
                    peer_closed = true;
                }
                Io::Done(_) | Io::WouldBlock => {}
                Io::Failed(_) => return Some(true),
            }
            // Application data after our close_notify ends the engine (an
            // OpenSSL rule): the tickets come before it, and it would be
            // dropped anyway, the channel being closed.
            let mut plain = [0u8; 16 * 1024];
            loop {
                match self.engine.read(&mut plain) {
                    Ok(ReadOutcome::Data(_)) => {}
                    Ok(ReadOutcome::WantInput) => break,
                    Ok(ReadOutcome::CloseNotify | ReadOutcome::Truncated) | Err(_) => return Some(peer_closed),
                }
            }
            if peer_closed || matches!(outcome, Io::WouldBlock) || openssl_extra::session_resumable(self.engine.ssl()) {
                break;
            }
        }
        let done = peer_closed || openssl_extra::session_resumable(self.engine.ssl()) || Instant::now() >= self.until;
        done.then_some(peer_closed)
    }
}

impl Linger {
    /// A linger of `socket` that has sent what the socket took of
    /// `pending` (and half-closed if that was all); `None` if the socket
    /// failed.
    fn start(socket: Socket, pending: Vec<u8>) -> Option<Box<Linger>> {
        let mut linger = Box::new(Linger {
            socket,
            #[cfg(unix)]
            timer: std::ptr::null_mut(),
            pending,
        });
        linger.send_pending().then_some(linger)
    }

    /// Sends what the socket takes; half-closes once all is sent. False
    /// if the socket failed.
    fn send_pending(&mut self) -> bool {
        while !self.pending.is_empty() {
            match self.socket.send(&self.pending) {
                Io::Done(n) => {
                    self.pending.drain(..n);
                }
                Io::WouldBlock => return true,
                Io::Failed(_) => return false,
            }
        }
        self.socket.shutdown_write();
        true
    }
}

/// Reads and drops what has arrived; true once the peer has closed (or
/// the socket failed).
fn drain(socket: &Socket) -> bool {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match socket.recv(&mut buf) {
            Io::Done(0) => return true,
            Io::Done(_) => continue,
            Io::WouldBlock => return false,
            Io::Failed(_) => return true,
        }
    }
}
/// Tcl's event loop drains the socket (Unix: a file handler and a timer).
#[cfg(unix)]
fn background(linger: Box<Linger>) {
    let fd = linger.socket.raw();
    let mask = linger.interest();
    let linger = Box::into_raw(linger);
    // SAFETY: `fd` is our descriptor; `linger` stays alive until
    // `release` frees it, which also removes this handler.
    unsafe { sys::Tcl_CreateFileHandler(fd, mask, on_event, linger as sys::ClientData) };
    // SAFETY: `linger` stays alive until `release` frees it, which also
    // deletes this timer unless it has fired.
    let timer = unsafe { sys::Tcl_CreateTimerHandler(LINGER_MS, on_timeout, linger as sys::ClientData) };
    // SAFETY: `linger` is the live box leaked above; no reference to it
    // exists and its handlers only run from the event loop, later.
    unsafe { (*linger).timer = timer };
}

#[cfg(unix)]
impl Linger {
    fn interest(&self) -> c_int {
        if self.pending.is_empty() {
            sys::TCL_READABLE
        } else {
            sys::TCL_READABLE | sys::TCL_WRITABLE
        }
    }
}

/// # Safety
/// `linger` came from `background` and has not been finished.
#[cfg(unix)]
unsafe fn release(linger: *mut Linger) {
    // SAFETY: per the contract, the box leaked by `background` is ours
    // and is taken back once, here.
    let linger = unsafe { Box::from_raw(linger) };
    // SAFETY: removes the handler `background` (or `on_event`) created
    // for our descriptor.
    unsafe { sys::Tcl_DeleteFileHandler(linger.socket.raw()) };
    if !linger.timer.is_null() {
        // SAFETY: our timer, not fired yet (`on_timeout` clears the token
        // before releasing).
        unsafe { sys::Tcl_DeleteTimerHandler(linger.timer) };
    }
    // Dropping the box closes our descriptor; its handler is gone.
}

#[cfg(unix)]
unsafe extern "C" fn on_event(data: sys::ClientData, mask: c_int) {
    crate::tcl::boundary((), || {
        let linger = data as *mut Linger;
        // SAFETY: the handler is removed when the linger is finished, so
        // `linger` is live here.
        let state = unsafe { &mut *linger };
        let had_pending = !state.pending.is_empty();
        let ok = !had_pending || mask & sys::TCL_WRITABLE == 0 || state.send_pending();
        let peer_closed = mask & sys::TCL_READABLE != 0 && drain(&state.socket);
        if !ok || peer_closed {
            // SAFETY: live, finished once.
            unsafe { release(linger) };
        } else if had_pending && state.pending.is_empty() {
            // All sent: only the peer's end is awaited now.
            // SAFETY: replaces the handler of our own descriptor.
            unsafe { sys::Tcl_CreateFileHandler(state.socket.raw(), sys::TCL_READABLE, on_event, data) };
        }
    })
}

#[cfg(unix)]
unsafe extern "C" fn on_timeout(data: sys::ClientData) {
    crate::tcl::boundary((), || {
        let linger = data as *mut Linger;
        // SAFETY: the timer is live, so the linger is too (`release`
        // deletes the timer before freeing it); no reference to it exists.
        unsafe { (*linger).timer = std::ptr::null_mut() };
        // SAFETY: live and not released yet; the timer has fired, and with
        // its token cleared `release` does not delete it again.
        unsafe { release(linger) };
    })
}

/// One thread of ours drains every closed socket (Windows: Tcl's notifier
/// has no file handlers there). It sends what is pending, half-closes,
/// reads and drops until the peer closes or [`LINGER_MS`] pass, and
/// exits when it has nothing left to drain, so no Tcl event loop is
/// needed and unloading leaves no thread behind for long.
#[cfg(windows)]
static QUEUE: std::sync::Mutex<Option<std::sync::mpsc::Sender<Box<Linger>>>> = std::sync::Mutex::new(None);

#[cfg(windows)]
fn background(linger: Box<Linger>) {
    use std::sync::mpsc;
    let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
    let linger = match queue.as_ref() {
        Some(tx) => match tx.send(linger) {
            Ok(()) => return,
            Err(mpsc::SendError(linger)) => linger,
        },
        None => linger,
    };
    let (tx, rx) = mpsc::channel();
    // The receiver is moved into the thread: sending cannot fail before
    // the thread has drained everything and dropped it.
    let _ = tx.send(linger);
    *queue = Some(tx);
    drop(queue);
    let spawned = std::thread::Builder::new().name("tls-linger".into()).spawn(move || drain_thread(rx));
    if spawned.is_err() {
        // No thread: the sockets queued are closed as they are (dropped
        // with the queue's receiver).
        *QUEUE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(windows)]
fn drain_thread(rx: std::sync::mpsc::Receiver<Box<Linger>>) {
    use std::time::{Duration, Instant};
    let limit = Duration::from_millis(LINGER_MS as u64);
    let mut active: Vec<(Box<Linger>, Instant)> = Vec::new();
    loop {
        if active.is_empty() {
            // Idle: wait a while for more, then end (a later close starts
            // a new thread).
            match rx.recv_timeout(limit) {
                Ok(linger) => active.push((linger, Instant::now() + limit)),
                Err(_) => {
                    // Under the lock, so no close queues to a thread that
                    // is ending.
                    let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
                    match rx.try_recv() {
                        Ok(linger) => active.push((linger, Instant::now() + limit)),
                        Err(_) => {
                            *queue = None;
                            return;
                        }
                    }
                }
            }
        }
        while let Ok(linger) = rx.try_recv() {
            active.push((linger, Instant::now() + limit));
        }
        let interest: Vec<(&Socket, bool)> = active.iter().map(|(l, _)| (&l.socket, !l.pending.is_empty())).collect();
        // A short wait, so new arrivals are taken up promptly.
        let ready = Socket::wait_any(&interest, 50);
        let now = Instant::now();
        let mut index = 0;
        active.retain_mut(|(linger, deadline)| {
            let (readable, writable) = ready.get(index).copied().unwrap_or((false, false));
            index += 1;
            let ok = linger.pending.is_empty() || !writable || linger.send_pending();
            let peer_closed = readable && drain(&linger.socket);
            ok && !peer_closed && now < *deadline
        });
    }
}
