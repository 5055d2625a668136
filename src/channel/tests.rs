//! The channel's rules (EOF, EAGAIN, silent peers, truncation, events)
//! over an in-memory lower channel, against a real OpenSSL peer engine.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use super::*;
use crate::context::{context_for, new_connection};
use crate::engine::tests::{config, Pki};

/// A socket in memory: what the peer sent us, what we wrote, and whether
/// the peer closed. In blocking mode a read with nothing to read would
/// wait forever, so it panics (a test that forgot to feed the peer).
#[derive(Default)]
struct Pipe {
    inbox: RefCell<VecDeque<u8>>,
    outbox: RefCell<Vec<u8>>,
    eof: Cell<bool>,
    blocking: Cell<bool>,
}

impl Lower for Rc<Pipe> {
    fn read(&self, buf: &mut [u8]) -> LowerRead {
        let mut inbox = self.inbox.borrow_mut();
        if !inbox.is_empty() {
            let n = buf.len().min(inbox.len());
            for (slot, byte) in buf.iter_mut().zip(inbox.drain(..n)) {
                *slot = byte;
            }
            return LowerRead::Data(n);
        }
        if self.eof.get() {
            return LowerRead::Eof;
        }
        assert!(!self.blocking.get(), "a blocking read with nothing to read would wait forever");
        LowerRead::WouldBlock
    }
    fn write(&self, data: &[u8]) -> Result<usize, c_int> {
        self.outbox.borrow_mut().extend_from_slice(data);
        Ok(data.len())
    }
    fn set_blocking(&self, blocking: bool) {
        self.blocking.set(blocking);
    }
    fn wait_readable(&self, _timeout_ms: i32) -> bool {
        !self.inbox.borrow().is_empty() || self.eof.get()
    }
}

fn channel(pairs: &[(&str, &str)], pipe: &Rc<Pipe>) -> TlsChannel<Rc<Pipe>> {
    let config = config(pairs);
    let context = context_for(&config, &mut |_, _| None).unwrap();
    let (ssl, expected) = new_connection(&context, &config).unwrap();
    let engine = TlsEngine::new(ssl, expected).unwrap();
    let mut tls = TlsChannel::new(engine, pipe.clone(), Arc::new(config), context);
    tls.blocking = false;
    pipe.blocking.set(false);
    tls
}

fn peer(pairs: &[(&str, &str)]) -> TlsEngine {
    let config = config(pairs);
    let context = context_for(&config, &mut |_, _| None).unwrap();
    let (ssl, expected) = new_connection(&context, &config).unwrap();
    TlsEngine::new(ssl, expected).unwrap()
}

/// Moves bytes both ways between the channel's pipe and the peer engine,
/// letting the peer advance its handshake.
fn pump(pipe: &Pipe, peer: &mut TlsEngine) {
    let sent: Vec<u8> = pipe.outbox.borrow_mut().drain(..).collect();
    peer.feed(&sent);
    let _ = peer.handshake();
    let out = peer.output().to_vec();
    peer.consume_output(out.len());
    pipe.inbox.borrow_mut().extend(out);
}

fn client_and_server(pki: &Pki) -> (Rc<Pipe>, TlsChannel<Rc<Pipe>>, TlsEngine) {
    let pipe = Rc::new(Pipe::default());
    let tls = channel(&[("-cafile", &pki.path("ca.pem")), ("-servername", "localhost")], &pipe);
    let server = peer(&[("-server", "1"), ("-certfile", &pki.path("server.pem")), ("-keyfile", &pki.path("server.key"))]);
    (pipe, tls, server)
}

fn connected(pki: &Pki) -> (Rc<Pipe>, TlsChannel<Rc<Pipe>>, TlsEngine) {
    let (pipe, mut tls, mut server) = client_and_server(pki);
    for _ in 0..10 {
        if tls.handshake().unwrap() {
            pump(&pipe, &mut server);
            return (pipe, tls, server);
        }
        pump(&pipe, &mut server);
    }
    panic!("handshake did not finish");
}

#[test]
fn non_blocking_handshake_waits_then_completes() {
    let pki = Pki::new("chan-hs");
    let (pipe, mut tls, mut server) = client_and_server(&pki);
    assert_eq!(tls.handshake(), Ok(false), "nothing from the server yet");
    assert!(!pipe.outbox.borrow().is_empty(), "the ClientHello went out");
    pump(&pipe, &mut server);
    assert_eq!(tls.handshake(), Ok(true));
}

#[test]
fn non_blocking_read_without_data_is_eagain() {
    let pki = Pki::new("chan-eagain");
    let (_pipe, mut tls, _server) = connected(&pki);
    let mut buf = [0u8; 64];
    assert_eq!(tls.input(&mut buf), Err(Stall::WouldBlock));
    assert!(tls.fatal.is_none());
}

#[test]
fn data_then_close_notify_is_data_then_eof() {
    let pki = Pki::new("chan-eof");
    let (pipe, mut tls, mut server) = connected(&pki);
    server.write(b"hello").unwrap();
    server.shutdown();
    pump(&pipe, &mut server);
    let mut buf = [0u8; 64];
    assert_eq!(tls.input(&mut buf), Ok(5));
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(tls.input(&mut buf), Ok(0));
    assert_eq!(tls.peer_end, PeerEnd::CloseNotify);
}

#[test]
fn close_without_close_notify_is_eof_and_truncated() {
    let pki = Pki::new("chan-trunc");
    let (pipe, mut tls, _server) = connected(&pki);
    pipe.eof.set(true);
    let mut buf = [0u8; 64];
    assert_eq!(tls.input(&mut buf), Ok(0));
    assert_eq!(tls.peer_end, PeerEnd::Truncated);
    assert!(tls.fatal.is_none());
}

#[test]
fn a_silent_client_is_eof_on_the_server() {
    let pki = Pki::new("chan-silent");
    let pipe = Rc::new(Pipe::default());
    let mut tls = channel(&[("-server", "1"), ("-certfile", &pki.path("server.pem")), ("-keyfile", &pki.path("server.key"))], &pipe);
    pipe.eof.set(true);
    let mut buf = [0u8; 64];
    assert_eq!(tls.input(&mut buf), Ok(0));
    assert_eq!(tls.peer_end, PeerEnd::Truncated);
    assert!(tls.fatal.is_none(), "{:?}", tls.fatal);
}

#[test]
fn a_peer_gone_mid_handshake_is_an_error() {
    let pki = Pki::new("chan-midhs");
    let (pipe, mut tls, _server) = client_and_server(&pki);
    assert_eq!(tls.handshake(), Ok(false));
    pipe.eof.set(true);
    let mut buf = [0u8; 64];
    assert_eq!(tls.input(&mut buf), Err(Stall::Fatal));
    assert_eq!(tls.fatal.as_ref().map(|e| e.message()), Some("handshake failed: unexpected eof while reading".to_string()));
}

#[test]
fn a_handshake_finished_from_the_event_loop_is_readable() {
    let pki = Pki::new("chan-event");
    let pipe = Rc::new(Pipe::default());
    let mut tls = channel(&[("-server", "1"), ("-certfile", &pki.path("server.pem")), ("-keyfile", &pki.path("server.key"))], &pipe);
    tls.watch_mask = TCL_READABLE;
    let mut client = peer(&[("-cafile", &pki.path("ca.pem")), ("-servername", "localhost")]);
    // Client hello in, server flight out, client finished in.
    let _ = client.handshake();
    let hello = client.output().to_vec();
    client.consume_output(hello.len());
    pipe.inbox.borrow_mut().extend(hello);
    assert_eq!(tls.on_lower_ready(TCL_READABLE) & TCL_READABLE, 0, "nothing for the script yet");
    let flight: Vec<u8> = pipe.outbox.borrow_mut().drain(..).collect();
    client.feed(&flight);
    assert_eq!(client.handshake(), Ok(true));
    let finished = client.output().to_vec();
    client.consume_output(finished.len());
    pipe.inbox.borrow_mut().extend(finished);
    assert_eq!(tls.on_lower_ready(TCL_READABLE) & TCL_READABLE, TCL_READABLE, "the script hears that the handshake ended");
    assert!(tls.engine.handshake_done());
}

#[test]
fn events_go_up_whatever_the_layer_was_told() {
    // Tcl filters events by its own handlers; a handler the layer was
    // never told of (a replaced `fileevent` script) must still hear them.
    let pki = Pki::new("chan-unwatched");
    let (pipe, mut tls, mut server) = connected(&pki);
    tls.watch_mask = 0;
    server.write(b"line\n").unwrap();
    pump(&pipe, &mut server);
    assert_eq!(tls.on_lower_ready(TCL_READABLE) & TCL_READABLE, TCL_READABLE);
}

#[test]
fn a_failed_channel_is_readable_and_writable() {
    let pki = Pki::new("chan-failed");
    let (pipe, mut tls, _server) = client_and_server(&pki);
    assert_eq!(tls.handshake(), Ok(false));
    pipe.inbox.borrow_mut().extend(b"HTTP/1.0 400 Bad Request\r\n\r\n".iter().copied());
    let mut buf = [0u8; 64];
    assert_eq!(tls.input(&mut buf), Err(Stall::Fatal));
    assert!(tls.fatal.as_ref().unwrap().message().starts_with("handshake failed: "));
    assert_eq!(tls.deliverable(), TCL_READABLE | TCL_WRITABLE);
}

#[test]
fn an_idle_connection_gives_openssl_its_buffers_back_and_goes_on() {
    let pki = Pki::new("chan-idle");
    let (pipe, mut tls, mut server) = connected(&pki);
    let mut buf = [0u8; 64];
    // The server's session ticket and a reply: then nothing is in flight.
    server.write(b"first").unwrap();
    pump(&pipe, &mut server);
    assert_eq!(tls.input(&mut buf), Ok(5));
    assert!(tls.engine.idle());
    assert!(crate::openssl_extra::free_buffers(tls.engine.ssl()), "OpenSSL refused to free idle buffers");
    // A record that arrives three bytes at a time: never freed while
    // partly read, and whole in the end.
    server.write(b"second").unwrap();
    let record = server.output().to_vec();
    server.consume_output(record.len());
    let mut got = Vec::new();
    for piece in record.chunks(3) {
        pipe.inbox.borrow_mut().extend(piece.iter().copied());
        match tls.input(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(Stall::WouldBlock) => {}
            Err(stall) => panic!("{stall:?}: {:?}", tls.fatal),
        }
    }
    assert_eq!(got, b"second");
    // Writing after the buffers went back.
    assert_eq!(tls.output(b"reply"), Ok(5));
    pump(&pipe, &mut server);
    assert_eq!(server.read(&mut buf).unwrap(), ReadOutcome::Data(5));
    assert_eq!(&buf[..5], b"reply");
}
