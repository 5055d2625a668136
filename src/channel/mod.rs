//! The TLS channel: the state of one stacked channel and the rules that
//! move ciphertext between the engine and the lower channel.
//!
//! `driver.rs` holds the `Tcl_ChannelType` entry points, which only
//! translate between C and the methods here. The rules users feel (README.md,
//! "Relation to TclTLS") live here: input returns 0 only at EOF; non-blocking I/O
//! returns EAGAIN; the lower channel is asked for what TLS needs; buffered
//! data and errors wake handlers through a timer.

pub mod driver;
pub mod linger;
pub mod lower;

use std::ffi::c_int;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssl::ssl::SslContext;

use crate::callbacks;
use crate::config::TlsConfig;
use crate::engine::{ReadOutcome, TlsEngine};
use crate::error::{ErrorKind, TlsError};
use crate::tcl::sys::{TCL_READABLE, TCL_WRITABLE};
use crate::tcl::Obj;
use lower::{LowerChannel, LowerRead};

/// Plaintext encrypted at a time before its records are sent.
const WRITE_PIECE: usize = 4 * 1024 * 1024;
/// Size of one raw read of the lower channel.
const READ_CHUNK: usize = 256 * 1024;
/// In non-blocking mode, ciphertext kept for the lower channel before
/// `puts`/`flush` are told to wait (EAGAIN).
const HIGH_WATER: usize = 512 * 1024;
/// In non-blocking mode, ciphertext read ahead per event at most.
const READ_AHEAD: usize = 1024 * 1024;
/// How long a blocking TLS 1.3 client that closes before its server's
/// session tickets have come waits for them (they follow the handshake by
/// a round trip).
const TICKET_WAIT_MS: u64 = 100;

/// How the peer ended the TLS stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerEnd {
    Open,
    /// close_notify received: a clean end.
    CloseNotify,
    /// The connection ended without close_notify (possible truncation).
    Truncated,
}

impl PeerEnd {
    pub fn name(self) -> &'static str {
        match self {
            PeerEnd::Open => "none",
            PeerEnd::CloseNotify => "close_notify",
            PeerEnd::Truncated => "truncated",
        }
    }
}

/// Why an I/O call could not complete.
#[derive(Debug, PartialEq, Eq)]
pub enum Stall {
    /// Non-blocking and nothing to do yet (EAGAIN).
    WouldBlock,
    /// A fatal error, stored in `TlsChannel::fatal`.
    Fatal,
}

/// What the channel's rules need of the channel below. The driver uses
/// [`LowerChannel`] (Tcl's channel); the rules' unit tests use an in-memory
/// one, so EOF, EAGAIN, watch masks and close run under `cargo test`.
pub trait Lower {
    /// One raw read (waits in blocking mode).
    fn read(&self, buf: &mut [u8]) -> LowerRead;
    /// How many bytes went out; `Ok(0)` if it would block.
    fn write(&self, data: &[u8]) -> Result<usize, c_int>;
    fn set_blocking(&self, blocking: bool);
    /// Waits up to `timeout_ms` for input; whether some arrived.
    fn wait_readable(&self, timeout_ms: i32) -> bool;
}

impl Lower for LowerChannel {
    fn read(&self, buf: &mut [u8]) -> LowerRead {
        LowerChannel::read(self, buf)
    }
    fn write(&self, data: &[u8]) -> Result<usize, c_int> {
        LowerChannel::write(self, data)
    }
    fn set_blocking(&self, blocking: bool) {
        LowerChannel::set_blocking(self, blocking)
    }
    fn wait_readable(&self, timeout_ms: i32) -> bool {
        LowerChannel::wait_readable(self, timeout_ms)
    }
}

pub struct TlsChannel<L: Lower = LowerChannel> {
    pub engine: TlsEngine,
    pub lower: L,
    pub config: Arc<TlsConfig>,
    pub context: SslContext,
    pub blocking: bool,
    pub watch_mask: c_int,
    pub fatal: Option<TlsError>,
    pub peer_end: PeerEnd,
    pub lower_eof: bool,
    /// Whether the handshake has been started (a client's first flight).
    pub started: bool,
    /// Set by `tls::unimport` so that the close proc only frees state.
    pub unstacking: bool,
    /// Set once `close` has waited for the server's session tickets.
    tickets_awaited: bool,
    /// `-timeout`: when the handshake must be over.
    pub deadline: Option<Instant>,
}

impl<L: Lower> TlsChannel<L> {
    pub fn new(engine: TlsEngine, lower: L, config: Arc<TlsConfig>, context: SslContext) -> TlsChannel<L> {
        let deadline = config.timeout.map(|ms| Instant::now() + Duration::from_millis(ms));
        TlsChannel {
            engine,
            lower,
            config,
            context,
            blocking: true,
            watch_mask: 0,
            fatal: None,
            peer_end: PeerEnd::Open,
            lower_eof: false,
            started: false,
            unstacking: false,
            tickets_awaited: false,
            deadline,
        }
    }

    /// Records a fatal error (once), naming the callback that caused it if
    /// one did, and reports it to `-command error`.
    fn fail(&mut self, error: TlsError) -> Stall {
        if self.fatal.is_some() {
            return Stall::Fatal;
        }
        let hooks = callbacks::hooks(self.engine.ssl());
        let error = match hooks.as_ref().and_then(|h| h.take_failure()) {
            Some(failure) => {
                let prefix = if self.engine.handshake_done() { "TLS error" } else { "handshake failed" };
                TlsError::new(failure.kind, failure.detail, format!("{prefix}: {}", failure.why))
            }
            None => error,
        };
        let message = error.message();
        self.fatal = Some(error);
        if let Some(hooks) = hooks {
            hooks.notify("error", vec![Obj::string(&message)]);
        }
        Stall::Fatal
    }

    /// The peer ended the connection without close_notify after the
    /// handshake: EOF for reads, `peer_close truncated` in the status, and
    /// (as TclTLS 2.0 does) `-command error` is told.
    fn truncated(&mut self) {
        if self.peer_end != PeerEnd::Open {
            return;
        }
        self.peer_end = PeerEnd::Truncated;
        if let Some(hooks) = callbacks::hooks(self.engine.ssl()) {
            hooks.notify("error", vec![Obj::string("unexpected eof while reading")]);
        }
    }

    /// A client that connected and left without a byte: EOF, like a plain
    /// socket (no `-command error`, which is for truncated TLS streams).
    fn ended_silently(&mut self) -> bool {
        let silent = self.engine.peer_left_silently();
        if silent {
            self.peer_end = PeerEnd::Truncated;
        }
        silent
    }

    fn io_failure(&mut self, errno: c_int) -> Stall {
        let text = crate::os::errno_text(errno);
        self.fail(TlsError::new(ErrorKind::Io, "IO", format!("I/O error on the underlying channel: {text}")))
    }

    /// Sends queued ciphertext; in blocking mode all of it.
    pub fn flush(&mut self) -> Result<(), Stall> {
        while !self.engine.output().is_empty() {
            match self.lower.write(self.engine.output()) {
                Ok(0) if !self.blocking => return Err(Stall::WouldBlock),
                Ok(0) => {}
                Ok(n) => self.engine.consume_output(n),
                Err(errno) => return Err(self.io_failure(errno)),
            }
        }
        Ok(())
    }

    /// Sends what the lower channel takes now, keeping the rest.
    fn flush_some(&mut self) -> Result<(), Stall> {
        match self.flush() {
            Err(Stall::WouldBlock) => Ok(()),
            other => other,
        }
    }

    /// One raw read of the lower channel into the engine. In blocking mode
    /// this waits for data.
    fn fill(&mut self) -> Result<(), Stall> {
        if self.lower_eof {
            self.engine.feed_eof();
            return Ok(());
        }
        self.await_input_before_deadline()?;
        let space = self.engine.input_space(READ_CHUNK);
        let outcome = self.lower.read(space);
        let filled = if let LowerRead::Data(n) = outcome { n } else { 0 };
        self.engine.commit_input(filled);
        match outcome {
            LowerRead::Data(_) => Ok(()),
            LowerRead::Eof => {
                self.lower_eof = true;
                self.engine.feed_eof();
                Ok(())
            }
            LowerRead::WouldBlock => Err(Stall::WouldBlock),
            LowerRead::Failed(errno) => Err(self.io_failure(errno)),
        }
    }

    /// When the handshake must be over (`-timeout`), while it is not.
    pub fn handshake_deadline(&self) -> Option<Instant> {
        if self.fatal.is_some() || self.engine.handshake_done() {
            return None;
        }
        self.deadline
    }

    /// Fails the handshake once its time is up: `{TLS HANDSHAKE TIMEOUT}`,
    /// reported to `-command error` like every fatal error.
    fn check_deadline(&mut self) -> Result<(), Stall> {
        match self.handshake_deadline() {
            Some(deadline) if Instant::now() >= deadline => {
                let ms = self.config.timeout.unwrap_or_default();
                Err(self.fail(TlsError::new(ErrorKind::Handshake, "TIMEOUT", format!("handshake failed: timed out after {ms} ms"))))
            }
            _ => Ok(()),
        }
    }

    /// Blocking, during a handshake with a deadline: waits for input no
    /// longer than the time left (a blocking read would wait for ever). A
    /// lower channel without a descriptor to wait on is read as before.
    fn await_input_before_deadline(&mut self) -> Result<(), Stall> {
        let Some(deadline) = self.handshake_deadline().filter(|_| self.blocking) else {
            return Ok(());
        };
        self.check_deadline()?;
        let left = deadline.saturating_duration_since(Instant::now()).as_millis() + 1;
        if !self.lower.wait_readable(i32::try_from(left).unwrap_or(i32::MAX)) {
            self.check_deadline()?;
        }
        Ok(())
    }

    /// The deadline timer fired: the events to deliver if the handshake
    /// has now failed (scripts learn of it by reading).
    pub fn on_deadline(&mut self) -> c_int {
        match self.check_deadline() {
            Err(_) => self.deliverable() & self.watch_mask,
            Ok(()) => 0,
        }
    }

    fn check(&self) -> Result<(), Stall> {
        if self.fatal.is_some() {
            Err(Stall::Fatal)
        } else {
            Ok(())
        }
    }

    /// Runs the handshake as far as it goes without waiting (non-blocking)
    /// or to the end (blocking). `Ok(true)` once it is complete.
    pub fn handshake(&mut self) -> Result<bool, Stall> {
        loop {
            if self.handshake_step()? {
                self.release_idle_buffers();
                return Ok(true);
            }
            let before_eof = self.lower_eof;
            match self.fill() {
                Err(Stall::WouldBlock) => return Ok(false),
                Err(stall) => return Err(stall),
                Ok(()) if before_eof => {
                    // EOF was already fed and the engine still wants input.
                    let error = TlsError::new(ErrorKind::Handshake, "EOF", "handshake failed: unexpected eof while reading");
                    return Err(self.fail(error));
                }
                Ok(()) => {}
            }
        }
    }

    /// Advances the handshake with the input already buffered, without
    /// reading the lower channel (event handlers must never wait).
    fn handshake_step(&mut self) -> Result<bool, Stall> {
        self.check()?;
        self.check_deadline()?;
        self.started = true;
        if self.lower_eof {
            self.engine.feed_eof();
        }
        if self.ended_silently() {
            // Reads see EOF; only an explicit handshake reports it.
            return Ok(false);
        }
        // Flush before reporting an error too: it may carry an alert.
        let step = self.engine.handshake();
        self.flush_or_wait()?;
        step.map_err(|e| self.fail(e))
    }

    /// Blocking: sends everything. Non-blocking: sends what it can.
    fn flush_or_wait(&mut self) -> Result<(), Stall> {
        if self.blocking {
            self.flush()
        } else {
            self.flush_some()
        }
    }

    /// The driver's input proc: plaintext into `buf`, 0 only at EOF.
    pub fn input(&mut self, buf: &mut [u8]) -> Result<usize, Stall> {
        loop {
            self.check()?;
            self.ended_silently();
            if self.peer_end != PeerEnd::Open {
                return Ok(0);
            }
            self.started = true;
            let outcome = self.engine.read(buf);
            if outcome.is_err() {
                let _ = self.flush_some();
            }
            let outcome = outcome.map_err(|e| self.fail(e))?;
            match outcome {
                ReadOutcome::Data(mut n) => {
                    // Fill the buffer from records already here: one call
                    // per record would cost Tcl a round trip per 16 KiB.
                    while n < buf.len() && self.engine.input_ready() {
                        match self.engine.read(&mut buf[n..]) {
                            Ok(ReadOutcome::Data(more)) if more > 0 => n += more,
                            Ok(ReadOutcome::CloseNotify) => {
                                self.peer_end = PeerEnd::CloseNotify;
                                break;
                            }
                            Ok(_) => break,
                            Err(e) => {
                                // Reported by the next call; deliver the data first.
                                self.fail(e);
                                break;
                            }
                        }
                    }
                    // Reads can produce records to send (key updates).
                    let _ = self.flush_some();
                    self.release_idle_buffers();
                    return Ok(n);
                }
                ReadOutcome::CloseNotify => {
                    self.peer_end = PeerEnd::CloseNotify;
                    return Ok(0);
                }
                ReadOutcome::Truncated => {
                    self.truncated();
                    return Ok(0);
                }
                ReadOutcome::WantInput => {
                    self.flush_or_wait()?;
                    if self.lower_eof && !self.engine.handshake_done() {
                        self.handshake()?;
                    } else if self.lower_eof {
                        self.truncated();
                        return Ok(0);
                    }
                    self.fill()?;
                }
            }
        }
    }

    /// The driver's output proc: encrypts all of `data` or none of it.
    pub fn output(&mut self, data: &[u8]) -> Result<usize, Stall> {
        self.check()?;
        if !self.blocking && self.engine.output().len() >= HIGH_WATER {
            self.flush_some()?;
            if self.engine.output().len() >= HIGH_WATER {
                return Err(Stall::WouldBlock);
            }
        }
        let mut done = 0;
        while done < data.len() {
            self.started = true;
            // Encrypt and send in pieces that stay in the CPU cache.
            let piece = &data[done..data.len().min(done + WRITE_PIECE)];
            match self.engine.write(piece).map_err(|e| self.fail(e))? {
                Some(n) => {
                    done += n;
                    self.flush_or_wait()?;
                    if !self.blocking && self.engine.output().len() >= HIGH_WATER {
                        break;
                    }
                }
                None => {
                    // The handshake needs the peer first.
                    if !self.handshake()? && !self.blocking {
                        if done > 0 {
                            break;
                        }
                        return Err(Stall::WouldBlock);
                    }
                }
            }
        }
        // No buffer release here: SSL_MODE_RELEASE_BUFFERS already gives
        // the write buffer back after each record sent.
        self.flush_or_wait()?;
        Ok(done)
    }

    /// The lower channel is ready for `mask`: move ciphertext, drive the
    /// handshake, and say which events the script should see.
    pub fn on_lower_ready(&mut self, mask: c_int) -> c_int {
        let mut events = 0;
        if self.fatal.is_none() {
            if mask & TCL_READABLE != 0 {
                self.read_ahead();
            }
            if !self.engine.output().is_empty() {
                let _ = self.flush_some();
            }
            if self.fatal.is_none() && !self.engine.handshake_done() {
                let _ = self.handshake_step();
                if self.engine.handshake_done() {
                    // Scripts written for TclTLS drive `tls::handshake` from
                    // a readable handler: tell them it is done, although
                    // no plaintext has arrived (a readable event may always
                    // find nothing to read).
                    events |= TCL_READABLE;
                }
            }
            self.settle();
            self.release_idle_buffers();
        }
        // Everything the script could act on goes up unfiltered: Tcl
        // passes each event only to the handlers that asked for it, so a
        // handler registered behind our back (a replaced `fileevent`
        // script) still hears of it.
        self.deliverable() | events
    }

    /// Gives OpenSSL's record buffers back once nothing is in flight, so
    /// that an idle connection holds none (`openssl_extra::free_buffers`
    /// says why `SSL_MODE_RELEASE_BUFFERS` alone does not do it).
    fn release_idle_buffers(&self) {
        if self.engine.idle() {
            crate::openssl_extra::free_buffers(self.engine.ssl());
        }
    }

    /// Lets the engine consume records that carry no plaintext.
    fn settle(&mut self) {
        if self.fatal.is_some() || self.peer_end != PeerEnd::Open {
            return;
        }
        match self.engine.settle() {
            Ok(ReadOutcome::CloseNotify) => self.peer_end = PeerEnd::CloseNotify,
            Ok(ReadOutcome::Truncated) => self.truncated(),
            Ok(_) => {}
            Err(e) => {
                self.fail(e);
            }
        }
        let _ = self.flush_some();
    }

    /// Reads what has arrived: once in blocking mode (a second read could
    /// block), until it would block in non-blocking mode.
    /// A read that comes back short has emptied the socket: the next
    /// would only say EAGAIN (and the notifier reports what arrives later).
    fn read_ahead(&mut self) {
        loop {
            let before = self.engine.buffered_input();
            let result = self.fill();
            let short = self.engine.buffered_input() - before < READ_CHUNK;
            if result.is_err() || self.lower_eof || self.blocking || short || self.engine.buffered_input() >= READ_AHEAD {
                return;
            }
        }
    }

    /// Events the script can act on now without waiting for the lower
    /// channel.
    pub fn deliverable(&self) -> c_int {
        if self.fatal.is_some() || self.peer_end != PeerEnd::Open {
            return TCL_READABLE | TCL_WRITABLE;
        }
        let mut mask = 0;
        if self.engine.input_ready() || self.lower_eof {
            mask |= TCL_READABLE;
        }
        if self.engine.handshake_done() && self.engine.output().is_empty() {
            mask |= TCL_WRITABLE;
        }
        mask
    }

    /// Events to ask of the lower channel: what the script wants plus
    /// what TLS needs.
    pub fn lower_interest(&self) -> c_int {
        let mut mask = self.watch_mask;
        if self.fatal.is_some() {
            return 0;
        }
        if !self.engine.output().is_empty() {
            mask |= TCL_WRITABLE;
        }
        if !self.engine.handshake_done() {
            mask |= TCL_READABLE;
        }
        if self.lower_eof {
            mask &= !TCL_READABLE;
        }
        mask
    }

    /// Whether a timer must deliver events the lower channel will not.
    pub fn needs_timer(&self) -> bool {
        if self.watch_mask == 0 {
            return false;
        }
        if self.fatal.is_some() || self.peer_end != PeerEnd::Open {
            return true;
        }
        if !self.started && !self.config.server {
            return true;
        }
        (self.watch_mask & TCL_READABLE != 0) && (self.engine.input_ready() || self.lower_eof)
    }

    /// The timer fired: start a client's handshake if nobody has, then say
    /// which events to deliver.
    pub fn on_timer(&mut self) -> c_int {
        if self.fatal.is_none() && !self.started && !self.config.server {
            let _ = self.handshake_step();
        }
        let mut mask = self.deliverable() & self.watch_mask;
        if self.fatal.is_none() && self.peer_end == PeerEnd::Open {
            // Writable comes from the lower channel, not from the timer.
            mask &= !TCL_WRITABLE;
        }
        mask
    }

    /// After our close_notify: in blocking mode, reads (and drops) what the
    /// peer still sends over TLS until its close_notify, for at most
    /// `timeout_ms`, so that what follows on the lower channel is clear text.
    pub fn await_peer_close(&mut self, timeout_ms: u64) {
        if !self.blocking || !self.engine.handshake_done() {
            return;
        }
        self.read_and_drop_while(timeout_ms, |tls| tls.fatal.is_none() && !tls.lower_eof && !tls.engine.peer_closed());
    }

    /// Blocking: reads records and drops their plaintext while `go_on`
    /// holds, for at most `timeout_ms`, stopping at EOF, an error or the
    /// peer's close_notify.
    fn read_and_drop_while(&mut self, timeout_ms: u64, go_on: impl Fn(&mut Self) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms);
        let mut scratch = vec![0u8; 16 * 1024];
        while go_on(self) {
            match self.engine.read(&mut scratch) {
                Ok(ReadOutcome::Data(_)) => continue,
                Ok(ReadOutcome::WantInput) => {}
                Ok(_) | Err(_) => return,
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now()).as_millis() as i32;
            if left <= 0 || !self.lower.wait_readable(left) || self.fill().is_err() {
                return;
            }
        }
    }

    /// A blocking TLS 1.3 client whose server has not sent its session
    /// tickets yet (they may arrive just after we close).
    pub fn awaits_tickets(&self) -> bool {
        self.blocking && !self.tickets_awaited && self.wants_tickets()
    }

    /// A TLS 1.3 client with no session to resume yet.
    fn wants_tickets(&self) -> bool {
        let ssl = self.engine.ssl();
        !self.config.server && self.engine.handshake_done() && ssl.version2() == Some(openssl::ssl::SslVersion::TLS1_3) && !crate::openssl_extra::session_resumable(ssl)
    }

    /// For `close` of a non-blocking TLS 1.3 client that has no session
    /// ticket yet: its connection, for the linger to send close_notify and
    /// then take in the server's tickets from the event loop (a
    /// non-blocking close never waits; [`linger::hand_off_awaiting_tickets`]).
    /// The channel keeps a blank engine for the rest of its short life.
    pub fn engine_for_tickets(&mut self, can_hand_off: bool) -> Option<TlsEngine> {
        let open = self.fatal.is_none() && self.peer_end == PeerEnd::Open && !self.lower_eof;
        if self.blocking || !can_hand_off || !open || !self.wants_tickets() {
            return None;
        }
        let blank = TlsEngine::new(openssl::ssl::Ssl::new(&self.context).ok()?, None).ok()?;
        Some(std::mem::replace(&mut self.engine, blank))
    }

    /// For `close`: a blocking TLS 1.3 client that has no ticket yet takes
    /// in the server's tickets first (for at most [`TICKET_WAIT_MS`]), so
    /// that a client that closes right after its handshake, having read
    /// nothing, still lets the next connection resume. Plaintext that
    /// comes with them is dropped: the channel is closing.
    fn collect_tickets(&mut self) {
        if self.fatal.is_some() || self.peer_end != PeerEnd::Open {
            return;
        }
        self.read_and_drop_while(TICKET_WAIT_MS, |tls| tls.awaits_tickets() && !tls.lower_eof);
        // Waited once: the linger need not wait again.
        self.tickets_awaited = true;
    }

    /// For `close`: queues close_notify and sends what goes. A blocking
    /// channel (or one whose socket the linger cannot take) waits until
    /// all is sent; a non-blocking one returns what is left, for the
    /// linger to send from the event loop.
    pub fn close_notify_for_close(&mut self, can_hand_off: bool) -> Vec<u8> {
        self.collect_tickets();
        if self.blocking || !can_hand_off {
            self.send_close_notify();
            return Vec::new();
        }
        if self.fatal.is_none() {
            self.engine.shutdown();
        }
        let _ = self.flush_some();
        let rest = self.engine.output().to_vec();
        self.engine.consume_output(rest.len());
        rest
    }

    /// Sends close_notify and everything queued, waiting if need be.
    pub fn send_close_notify(&mut self) {
        let was_blocking = self.blocking;
        if !was_blocking {
            self.lower.set_blocking(true);
            self.blocking = true;
        }
        if self.fatal.is_none() {
            self.engine.shutdown();
        }
        let _ = self.flush();
        if !was_blocking {
            self.lower.set_blocking(false);
            self.blocking = false;
        }
    }
}

#[cfg(test)]
mod tests;
