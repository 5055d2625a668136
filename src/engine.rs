//! The TLS engine: an OpenSSL connection over an in-memory pipe.
//!
//! The engine never does I/O. The channel driver moves ciphertext between
//! the lower Tcl channel and the pipe in large chunks ([`TlsEngine::input_space`]
//! and [`TlsEngine::output`]), and asks the engine to handshake, read or
//! write plaintext. Because it knows nothing of Tcl, it is tested over
//! in-memory pairs (see the tests at the bottom).

use std::io::{self, Read, Write};

use openssl::ssl::{ErrorCode, ShutdownResult, Ssl, SslRef, SslStream};
use openssl::x509::X509VerifyResult;

use crate::buffer::ByteQueue;
use crate::error::{describe_stack, ErrorKind, Result, TlsError};

/// Ciphertext in both directions. Reading an empty pipe would block,
/// unless the lower channel reached end of file.
///
/// After the handshake (`whole_records`) the pipe lets OpenSSL start a
/// record only once all of it has arrived: a single `SSL_read` goes on
/// from record to record while it meets no plaintext (session tickets,
/// key updates), so a gate before the call cannot keep it from taking in
/// the start of a record cut by the last read of the socket. OpenSSL
/// would then hold that start in its own buffer, the queue would no longer
/// begin at a record header, and [`TlsEngine::input_ready`] could not see
/// when the rest had come (the blocking read that waited for bytes it had
/// already received, issue 19).
#[derive(Default)]
pub struct MemoryPipe {
    incoming: ByteQueue,
    eof: bool,
    outgoing: ByteQueue,
    /// Hand OpenSSL whole records only (set when the handshake is done,
    /// at a record boundary).
    whole_records: bool,
    /// Bytes of the record OpenSSL has started and not read yet.
    record_left: usize,
}

impl MemoryPipe {
    /// Whether a read can make progress: the rest of a started record, or
    /// a whole record, is queued.
    fn record_ready(&self) -> bool {
        let available = self.incoming.as_slice();
        if self.record_left > 0 {
            available.len() >= self.record_left
        } else {
            whole_record(available)
        }
    }
}

impl Read for MemoryPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.incoming.as_slice();
        if available.is_empty() {
            return if self.eof { Ok(0) } else { Err(io::ErrorKind::WouldBlock.into()) };
        }
        let mut n = available.len().min(buf.len());
        if self.whole_records && !self.eof {
            if self.record_left == 0 {
                if !whole_record(available) {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                self.record_left = record_length(available);
            }
            n = n.min(self.record_left);
            self.record_left -= n;
        }
        buf[..n].copy_from_slice(&available[..n]);
        self.incoming.consume(n);
        Ok(n)
    }
}

impl Write for MemoryPipe {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.outgoing.push(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What a plaintext read found.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    Data(usize),
    /// More ciphertext is needed from the lower channel.
    WantInput,
    /// The peer sent close_notify.
    CloseNotify,
    /// The lower channel ended without close_notify.
    Truncated,
}

pub struct TlsEngine {
    stream: SslStream<MemoryPipe>,
    handshake_done: bool,
    /// The name the peer's certificate was checked against, for messages.
    expected_name: Option<String>,
    /// Whether the peer has sent any byte at all.
    heard_from_peer: bool,
}

impl TlsEngine {
    pub fn new(ssl: Ssl, expected_name: Option<String>) -> Result<TlsEngine> {
        let stream = SslStream::new(ssl, MemoryPipe::default()).map_err(|e| TlsError::ssl(ErrorKind::Ssl, "cannot create TLS connection", &e))?;
        Ok(TlsEngine { stream, handshake_done: false, expected_name, heard_from_peer: false })
    }

    pub fn ssl(&self) -> &SslRef {
        self.stream.ssl()
    }

    pub fn handshake_done(&self) -> bool {
        self.handshake_done
    }

    /// Drives the handshake: `Ok(true)` when complete, `Ok(false)` when it
    /// needs more input from the peer.
    pub fn handshake(&mut self) -> Result<bool> {
        if self.handshake_done {
            return Ok(true);
        }
        match self.stream.do_handshake() {
            Ok(()) => {
                self.handshake_done = true;
                self.stream.get_mut().whole_records = true;
                Ok(true)
            }
            Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => Ok(false),
            Err(e) => Err(self.describe(e)),
        }
    }

    /// Decrypts into `buf`.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<ReadOutcome> {
        if !self.handshake()? {
            return Ok(ReadOutcome::WantInput);
        }
        // Whole records only (or the end): OpenSSL would keep the start of
        // a partial record in its own buffer, and our queue, no longer
        // starting at a record, could not tell when the rest has arrived
        // (`input_ready` would miss it, and no readable event would come).
        if !self.input_ready() && !self.stream.get_ref().eof {
            return Ok(ReadOutcome::WantInput);
        }
        let result = self.stream.ssl_read(buf);
        self.outcome(result)
    }

    /// What an `SSL_read` or `SSL_peek` result means for the channel.
    fn outcome(&mut self, result: std::result::Result<usize, openssl::ssl::Error>) -> Result<ReadOutcome> {
        match result {
            Ok(n) => Ok(ReadOutcome::Data(n)),
            Err(e) => match e.code() {
                ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => Ok(ReadOutcome::WantInput),
                ErrorCode::ZERO_RETURN => Ok(ReadOutcome::CloseNotify),
                _ if self.stream.get_ref().eof && is_unexpected_eof(&e) => Ok(ReadOutcome::Truncated),
                _ => Err(self.describe(e)),
            },
        }
    }

    /// Processes buffered records without taking plaintext (session
    /// tickets, key updates, close_notify), so that a readable event is
    /// only reported when there is something to read.
    pub fn settle(&mut self) -> Result<ReadOutcome> {
        if !self.handshake_done || self.stream.ssl().pending() > 0 || !self.input_ready() {
            return Ok(ReadOutcome::WantInput);
        }
        let mut probe = [0u8; 1];
        let result = self.stream.ssl_peek(&mut probe);
        self.outcome(result)
    }

    /// Encrypts all of `data`; `Ok(None)` if the handshake needs input first.
    pub fn write(&mut self, data: &[u8]) -> Result<Option<usize>> {
        if !self.handshake()? {
            return Ok(None);
        }
        let mut written = 0;
        while written < data.len() {
            match self.stream.ssl_write(&data[written..]) {
                Ok(n) => written += n,
                Err(e) if e.code() == ErrorCode::WANT_READ => return Ok(if written > 0 { Some(written) } else { None }),
                Err(e) => return Err(self.describe(e)),
            }
        }
        Ok(Some(written))
    }

    /// Queues close_notify. Errors are ignored: the connection ends anyway.
    pub fn shutdown(&mut self) -> bool {
        if !self.handshake_done {
            return false;
        }
        matches!(self.stream.shutdown(), Ok(ShutdownResult::Sent | ShutdownResult::Received))
    }

    /// Whether the peer's close_notify has been seen.
    pub fn peer_closed(&mut self) -> bool {
        self.stream.get_shutdown().contains(openssl::ssl::ShutdownState::RECEIVED)
    }

    /// Room for `len` bytes of ciphertext from the lower channel; keep
    /// what was filled with [`TlsEngine::commit_input`].
    pub fn input_space(&mut self, len: usize) -> &mut [u8] {
        self.stream.get_mut().incoming.space(len)
    }

    pub fn commit_input(&mut self, filled: usize) {
        self.heard_from_peer |= filled > 0;
        self.stream.get_mut().incoming.commit(filled);
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.heard_from_peer |= !data.is_empty();
        self.stream.get_mut().incoming.push(data);
    }

    /// A server whose peer ended the connection before sending a single
    /// byte (a health check or port scan): that reads as EOF, as on a
    /// plain socket, not as a failed handshake.
    pub fn peer_left_silently(&self) -> bool {
        self.stream.get_ref().eof && !self.heard_from_peer && !self.handshake_done && self.stream.ssl().is_server()
    }

    pub fn feed_eof(&mut self) {
        self.stream.get_mut().eof = true;
    }

    /// Ciphertext waiting to go to the peer.
    pub fn output(&self) -> &[u8] {
        self.stream.get_ref().outgoing.as_slice()
    }

    pub fn consume_output(&mut self, n: usize) {
        self.stream.get_mut().outgoing.consume(n);
    }

    /// Whether a read would make progress without new input: decrypted
    /// bytes are waiting, or a whole TLS record is buffered.
    pub fn input_ready(&self) -> bool {
        self.stream.ssl().pending() > 0 || self.stream.get_ref().record_ready()
    }

    /// Whether nothing is in flight inside TLS: the handshake is done and
    /// no ciphertext or decrypted plaintext waits to be read. OpenSSL's
    /// record buffers may then be given back.
    pub fn idle(&self) -> bool {
        self.handshake_done && self.stream.get_ref().incoming.is_empty() && self.stream.ssl().pending() == 0
    }

    pub fn buffered_input(&self) -> usize {
        self.stream.get_ref().incoming.len()
    }

    /// Ciphertext received but not consumed by TLS: after the peer's
    /// close_notify, this is whatever the peer sent in the clear.
    pub fn take_leftover_input(&mut self) -> Vec<u8> {
        self.stream.get_mut().record_left = 0;
        self.stream.get_mut().incoming.take_all()
    }

    /// Turns an OpenSSL error into a message that says what and why.
    fn describe(&mut self, error: openssl::ssl::Error) -> TlsError {
        let during_handshake = !self.handshake_done;
        let verify = self.stream.ssl().verify_result();
        let reasons = error.ssl_error().map(describe_stack).unwrap_or_default();
        if during_handshake && verify != X509VerifyResult::OK && reasons.contains("certificate verify failed") {
            let mut message = format!("handshake failed: certificate verify failed: {}", verify.error_string());
            if matches!(verify.as_raw(), openssl_sys::X509_V_ERR_HOSTNAME_MISMATCH | openssl_sys::X509_V_ERR_IP_ADDRESS_MISMATCH) {
                if let Some(name) = &self.expected_name {
                    message.push_str(&format!(", expected {name}"));
                }
            }
            return TlsError::new(ErrorKind::Verify, verify.as_raw().to_string(), message);
        }
        let eof = self.stream.get_ref().eof;
        let (kind, prefix) = if during_handshake { (ErrorKind::Handshake, "handshake failed") } else { (ErrorKind::Io, "TLS error") };
        let (detail, why) = if !reasons.is_empty() {
            let first = error.ssl_error().and_then(|s| s.errors().first().and_then(|e| e.reason())).unwrap_or("SSL").to_string();
            (first, reasons)
        } else if eof {
            ("EOF".to_string(), "unexpected eof while reading".to_string())
        } else if let Some(io) = error.io_error() {
            ("IO".to_string(), io.to_string())
        } else {
            ("SSL".to_string(), format!("OpenSSL error code {}", error.code().as_raw()))
        };
        TlsError::new(kind, detail, format!("{prefix}: {why}"))
    }
}

fn is_unexpected_eof(error: &openssl::ssl::Error) -> bool {
    match error.ssl_error() {
        Some(stack) => stack.errors().iter().any(|e| e.reason() == Some("unexpected eof while reading")),
        None => error.code() == ErrorCode::SYSCALL,
    }
}

/// Whether `data` starts with a complete TLS record (5-byte header with
/// a big-endian length at bytes 3..5).
fn whole_record(data: &[u8]) -> bool {
    data.len() >= 5 && data.len() >= record_length(data)
}

/// The length of the record whose header starts `data` (at least 5 bytes).
fn record_length(data: &[u8]) -> usize {
    5 + (((data[3] as usize) << 8) | data[4] as usize)
}

#[cfg(test)]
pub(crate) mod tests;
