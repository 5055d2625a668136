//! The engine over in-memory pairs: two engines, ciphertext moved by hand.

use std::io::Write;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509Name, X509};

use super::*;
use crate::config::{from_test_text, OptionValue, TlsConfig};
use crate::context::{context_for, new_connection};

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn cert(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>, san: Option<&str>) -> X509 {
    let mut name = X509Name::builder().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(rand_serial()).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(&name)).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap()).unwrap();
    if issuer.is_none() {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
    }
    if let Some(san) = san {
        let ext = SubjectAlternativeName::new().dns(san).ip("127.0.0.1").build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None)).unwrap();
        b.append_extension(ext).unwrap();
    }
    b.sign(issuer.map(|(_, k)| k).unwrap_or(key), MessageDigest::sha256()).unwrap();
    b.build()
}

fn rand_serial() -> u32 {
    let mut bytes = [0u8; 4];
    openssl::rand::rand_bytes(&mut bytes).unwrap();
    u32::from_ne_bytes(bytes) >> 1
}

/// A directory with ca.pem, server.pem and server.key for `localhost`.
pub(crate) struct Pki {
    dir: std::path::PathBuf,
}

impl Pki {
    pub(crate) fn new(tag: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("tcltls-engine-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = key();
        let ca = cert("Test CA", &ca_key, None, None);
        let server_key = key();
        let server = cert("localhost", &server_key, Some((&ca, &ca_key)), Some("localhost"));
        let write = |name: &str, data: &[u8]| std::fs::File::create(dir.join(name)).unwrap().write_all(data).unwrap();
        write("ca.pem", &ca.to_pem().unwrap());
        write("server.pem", &server.to_pem().unwrap());
        write("server.key", &server_key.private_key_to_pem_pkcs8().unwrap());
        Pki { dir }
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A configuration from `-option value` pairs written as text (Tcl's own
/// conversion is the command layer's, tested by the tcltest suites).
pub(crate) fn config(pairs: &[(&str, &str)]) -> TlsConfig {
    let pairs: Vec<(String, OptionValue)> = pairs.iter().map(|(n, v)| (n.to_string(), from_test_text(n, v))).collect();
    TlsConfig::parse(&pairs).unwrap()
}

fn engine(config: &TlsConfig) -> TlsEngine {
    let context = context_for(config, &mut |_, _| None).unwrap();
    let (ssl, expected) = new_connection(&context, config).unwrap();
    TlsEngine::new(ssl, expected).unwrap()
}

fn pair(pki: &Pki, servername: &str) -> (TlsEngine, TlsEngine) {
    let server = engine(&config(&[("-server", "1"), ("-certfile", &pki.path("server.pem")), ("-keyfile", &pki.path("server.key"))]));
    let client = engine(&config(&[("-cafile", &pki.path("ca.pem")), ("-servername", servername)]));
    (client, server)
}

/// Moves all queued ciphertext from `from` to `to`; returns bytes moved.
fn transfer(from: &mut TlsEngine, to: &mut TlsEngine) -> usize {
    let data = from.output().to_vec();
    from.consume_output(data.len());
    to.feed(&data);
    data.len()
}

fn handshake(client: &mut TlsEngine, server: &mut TlsEngine) -> Result<()> {
    for _ in 0..10 {
        let c = client.handshake()?;
        transfer(client, server);
        let s = server.handshake()?;
        transfer(server, client);
        if c && s {
            return Ok(());
        }
    }
    panic!("handshake did not finish");
}

fn read_all(engine: &mut TlsEngine) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16384];
    while let ReadOutcome::Data(n) = engine.read(&mut buf).unwrap() {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn handshake_and_data_both_ways() {
    let pki = Pki::new("data");
    let (mut client, mut server) = pair(&pki, "localhost");
    handshake(&mut client, &mut server).unwrap();
    assert_eq!(client.write(b"hello server").unwrap(), Some(12));
    transfer(&mut client, &mut server);
    assert_eq!(read_all(&mut server), b"hello server");
    let big = vec![7u8; 1 << 20];
    assert_eq!(server.write(&big).unwrap(), Some(big.len()));
    transfer(&mut server, &mut client);
    assert_eq!(read_all(&mut client), big);
}

#[test]
fn write_before_handshake_waits_for_peer() {
    let pki = Pki::new("early");
    let (mut client, _server) = pair(&pki, "localhost");
    assert_eq!(client.write(b"x").unwrap(), None);
    assert!(!client.output().is_empty(), "ClientHello queued");
}

#[test]
fn hostname_mismatch_names_expected_host() {
    let pki = Pki::new("mismatch");
    let (mut client, mut server) = pair(&pki, "example.org");
    let error = handshake(&mut client, &mut server).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Verify);
    assert!(error.message().contains("hostname mismatch"), "{}", error.message());
    assert!(error.message().ends_with("expected example.org"), "{}", error.message());
}

#[test]
fn untrusted_certificate_is_refused() {
    let pki = Pki::new("untrusted");
    let other = Pki::new("untrusted-other");
    let server = engine(&config(&[("-server", "1"), ("-certfile", &pki.path("server.pem")), ("-keyfile", &pki.path("server.key"))]));
    let client = engine(&config(&[("-cafile", &other.path("ca.pem")), ("-servername", "localhost")]));
    let (mut client, mut server) = (client, server);
    let error = handshake(&mut client, &mut server).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Verify);
    assert!(error.message().starts_with("handshake failed: certificate verify failed: "), "{}", error.message());
}

#[test]
fn close_notify_and_truncation() {
    let pki = Pki::new("close");
    let (mut client, mut server) = pair(&pki, "localhost");
    handshake(&mut client, &mut server).unwrap();
    read_all(&mut client); // session tickets
    assert!(client.shutdown());
    transfer(&mut client, &mut server);
    let mut buf = [0u8; 64];
    assert_eq!(server.read(&mut buf).unwrap(), ReadOutcome::CloseNotify);
    assert!(server.peer_closed());

    let (mut client, mut server) = pair(&pki, "localhost");
    handshake(&mut client, &mut server).unwrap();
    client.feed_eof();
    assert_eq!(client.read(&mut buf).unwrap(), ReadOutcome::Truncated);
}

#[test]
fn corrupted_record_is_named() {
    let pki = Pki::new("corrupt");
    let (mut client, mut server) = pair(&pki, "localhost");
    handshake(&mut client, &mut server).unwrap();
    client.write(b"some application data").unwrap();
    let mut data = client.output().to_vec();
    client.consume_output(data.len());
    let last = data.len() - 3;
    data[last] ^= 0x55;
    server.feed(&data);
    let mut buf = [0u8; 64];
    let error = server.read(&mut buf).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Io);
    assert!(error.message().contains("bad record mac") || error.message().contains("decrypt"), "{}", error.message());
}

#[test]
fn plaintext_peer_is_not_tls() {
    let pki = Pki::new("plain");
    let (mut client, _server) = pair(&pki, "localhost");
    client.handshake().unwrap();
    client.feed(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    let error = client.handshake().unwrap_err();
    assert_eq!(error.kind, ErrorKind::Handshake);
    assert!(error.message().contains("wrong version number") || error.message().contains("packet length"), "{}", error.message());
}

#[test]
fn input_ready_needs_a_whole_record() {
    assert!(!whole_record(&[23, 3, 3, 0, 5, 1, 2, 3, 4]));
    assert!(whole_record(&[23, 3, 3, 0, 5, 1, 2, 3, 4, 5]));
    assert!(!whole_record(&[23, 3]));
}

#[test]
fn leftover_after_close_notify_is_returned() {
    let pki = Pki::new("leftover");
    let (mut client, mut server) = pair(&pki, "localhost");
    handshake(&mut client, &mut server).unwrap();
    client.shutdown();
    transfer(&mut client, &mut server);
    server.feed(b"PLAIN TEXT AFTER TLS\r\n");
    let mut buf = [0u8; 64];
    assert_eq!(server.read(&mut buf).unwrap(), ReadOutcome::CloseNotify);
    assert_eq!(server.take_leftover_input(), b"PLAIN TEXT AFTER TLS\r\n");
}

#[test]
fn a_record_read_in_pieces_stays_visible() {
    let pki = Pki::new("pieces");
    let (mut client, mut server) = pair(&pki, "localhost");
    handshake(&mut client, &mut server).unwrap();
    client.write(b"in pieces").unwrap();
    let record = client.output().to_vec();
    client.consume_output(record.len());
    let mut buf = [0u8; 64];
    // A read while only the header has come must leave it to us, so that
    // the rest completes a whole record we can see.
    server.feed(&record[..3]);
    assert_eq!(server.read(&mut buf).unwrap(), ReadOutcome::WantInput);
    for byte in &record[3..record.len() - 1] {
        server.feed(std::slice::from_ref(byte));
        assert!(!server.input_ready());
        assert_eq!(server.read(&mut buf).unwrap(), ReadOutcome::WantInput);
    }
    server.feed(&record[record.len() - 1..]);
    assert!(server.input_ready(), "the whole record is there");
    assert_eq!(read_all(&mut server), b"in pieces");
}

/// A server context that sends `tickets` TLS 1.3 session tickets after
/// each handshake (a ticket storm, as Python's `ssl` can send).
fn storm_server(pki: &Pki, tickets: usize) -> TlsEngine {
    use openssl::ssl::{SslContext, SslFiletype, SslMethod};
    let mut builder = SslContext::builder(SslMethod::tls_server()).unwrap();
    builder.set_certificate_chain_file(pki.path("server.pem")).unwrap();
    builder.set_private_key_file(pki.path("server.key"), SslFiletype::PEM).unwrap();
    builder.set_num_tickets(tickets).unwrap();
    let mut ssl = Ssl::new(&builder.build()).unwrap();
    ssl.set_accept_state();
    TlsEngine::new(ssl, None).unwrap()
}

/// Thousands of session tickets, then one line, handed to the client in
/// pieces of `piece` bytes that end anywhere in a record, the client
/// reading after each piece as the channel does after each fill. Returns
/// what the client read once everything had arrived.
fn storm_then_line(pki: &Pki, piece: usize) -> Vec<u8> {
    let mut server = storm_server(pki, 3000);
    let mut client = engine(&config(&[("-cafile", &pki.path("ca.pem")), ("-servername", "localhost")]));
    let (mut c, mut s) = (false, false);
    for _ in 0..10 {
        c = client.handshake().unwrap();
        transfer(&mut client, &mut server);
        s = server.handshake().unwrap();
        if !c {
            transfer(&mut server, &mut client);
        }
        if c && s {
            break;
        }
    }
    assert!(c && s, "handshake did not finish");
    assert_eq!(server.write(b"the line\n").unwrap(), Some(9));
    let stream = server.output().to_vec();
    assert!(stream.len() > 500_000, "{} bytes of tickets", stream.len());
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    for chunk in stream.chunks(piece) {
        client.feed(chunk);
        while let ReadOutcome::Data(n) = client.read(&mut buf).unwrap() {
            got.extend_from_slice(&buf[..n]);
        }
    }
    got
}

/// However the pieces fall, once everything has arrived the line is
/// readable. OpenSSL reads on across records while it meets only tickets;
/// before the pipe handed it whole records only, it took in the start of
/// a record cut by a piece, the queue no longer began at a record header,
/// and the client asked for more input although the line had arrived
/// (the blocking `gets` that never returned, issue 19).
#[test]
fn a_ticket_storm_then_a_line_is_read_however_it_arrives() {
    let pki = Pki::new("storm");
    for piece in [1000, 4096, 16_411, 65_536, 100_003, 262_144] {
        assert_eq!(storm_then_line(&pki, piece), b"the line\n", "pieces of {piece} bytes");
    }
}

/// A client context keeps the latest 4 sessions of a server, at most
/// `-cachesize` in all: a server that sends thousands of tickets replaces
/// its own (issue 19: OpenSSL's internal cache kept them all as well).
#[test]
fn the_client_session_store_is_bounded() {
    use crate::callbacks::{remember, resume, stored_sessions};
    let pki = Pki::new("store");
    let (mut client, mut server) = pair(&pki, "localhost");
    handshake(&mut client, &mut server).unwrap();
    read_all(&mut client);
    let session = client.ssl().session().unwrap().to_owned();
    let bounded = config(&[("-cafile", &pki.path("ca.pem")), ("-cachesize", "10")]);
    let context = context_for(&bounded, &mut |_, _| None).unwrap();
    for _ in 0..1000 {
        remember(&context, "storm", session.clone());
    }
    assert_eq!(stored_sessions(&context, "storm"), (4, 4));
    remember(&context, "other", session.clone());
    assert_eq!(stored_sessions(&context, "storm"), (5, 4), "the storm evicted no other server");
    for n in 0..2 {
        remember(&context, &format!("server{n}"), session.clone());
    }
    assert_eq!(stored_sessions(&context, "other"), (7, 1));
    // Past the bound with as many servers as it allows: afresh.
    for n in 2..5 {
        remember(&context, &format!("server{n}"), session.clone());
    }
    assert_eq!(stored_sessions(&context, "server4").0, 10, "four more servers fit in 10");
    remember(&context, "server5", session.clone());
    assert_eq!(stored_sessions(&context, "server5"), (1, 1));
    let mut ssl = Ssl::new(&context).unwrap();
    resume(&mut ssl, &context, "server5", None);
    assert_eq!(ssl.session().map(|s| s.id().to_vec()), Some(session.id().to_vec()));

    let none = config(&[("-cafile", &pki.path("ca.pem")), ("-cachesize", "0")]);
    let context = context_for(&none, &mut |_, _| None).unwrap();
    remember(&context, "storm", session.clone());
    assert_eq!(stored_sessions(&context, "storm"), (0, 0));
}

/// The protocol negotiated between a client and a server with these
/// options (added to the test PKI's); the handshake's error otherwise.
fn negotiate(pki: &Pki, client_options: &[(&str, &str)], server_options: &[(&str, &str)]) -> Result<String> {
    let (cert, key, ca) = (pki.path("server.pem"), pki.path("server.key"), pki.path("ca.pem"));
    let mut server_pairs = vec![("-server", "1"), ("-certfile", cert.as_str()), ("-keyfile", key.as_str())];
    server_pairs.extend_from_slice(server_options);
    let mut client_pairs = vec![("-cafile", ca.as_str()), ("-servername", "localhost")];
    client_pairs.extend_from_slice(client_options);
    let mut server = engine(&config(&server_pairs));
    let mut client = engine(&config(&client_pairs));
    handshake(&mut client, &mut server)?;
    Ok(client.ssl().version_str().to_string())
}

#[test]
fn imap4_and_pop3_option_sets_negotiate_current_versions() {
    let pki = Pki::new("versions");
    let imap4 = [("-tls1", "1")];
    let pop3 = [("-ssl2", "0"), ("-ssl3", "1"), ("-tls1", "1"), ("-cipher", "SSLv3,TLSv1")];
    for client in [&imap4[..], &pop3[..]] {
        assert_eq!(negotiate(&pki, client, &[]).unwrap(), "TLSv1.3", "{client:?}");
        assert_eq!(negotiate(&pki, client, &[("-tls1.3", "0")]).unwrap(), "TLSv1.2", "{client:?}");
    }
}

#[test]
fn a_range_offers_the_versions_inside_it() {
    let pki = Pki::new("hole");
    // TLS 1.1 was not enabled, but lies between 1.0 and 1.3.
    let client = [("-tls1", "1"), ("-tls1.2", "0"), ("-security_level", "0")];
    let server = [("-tls1.1", "1"), ("-tls1.2", "0"), ("-tls1.3", "0"), ("-security_level", "0")];
    assert_eq!(negotiate(&pki, &client, &server).unwrap(), "TLSv1.1");
}

#[test]
fn old_versions_stay_off_by_default_and_need_security_level_0() {
    let pki = Pki::new("old");
    let tls1_only = [("-tls1", "1"), ("-tls1.2", "0"), ("-tls1.3", "0")];
    assert!(negotiate(&pki, &[], &tls1_only).is_err());
    // Enabled on both sides, TLS 1.0 still fails at OpenSSL 3's default
    // security level (its MD5+SHA-1 signatures are below level 1).
    assert!(negotiate(&pki, &[("-tls1", "1")], &tls1_only).is_err());
    let level0 = [("-security_level", "0")];
    let server: Vec<_> = tls1_only.iter().chain(level0.iter()).copied().collect();
    assert_eq!(negotiate(&pki, &[("-tls1", "1"), ("-security_level", "0")], &server).unwrap(), "TLSv1");
}
