//! What each fuzz target does with its input, and what it checks.
//!
//! Shared by the libFuzzer binaries (`fuzz/fuzz_targets/*.rs`) and by
//! `tests/fuzz_replay.rs`, which runs every seed and every regression
//! input through the same code in `cargo test`. It uses only the
//! package's public Rust API and the openssl crate.

use std::sync::OnceLock;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslContext, SslMethod, SslSession};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509Name, X509};

use tcltls::callbacks;
use tcltls::config::{self, OptionValue, TlsConfig, ValueType};
use tcltls::context::{alpn_wire, context_for, new_connection};
use tcltls::engine::{ReadOutcome, TlsEngine};
use tcltls::status::{self, Value};

/// Ciphertext a peer may make us queue at most for one input: a flight of
/// handshake messages or alerts, never an amplification of what it sent.
const OUTPUT_LIMIT: usize = 256 * 1024;

// --- The test PKI, made once per process ---

struct Pki {
    ca_pem: Vec<u8>,
    server_cert: Vec<u8>,
    server_key: Vec<u8>,
    client_cert: Vec<u8>,
    client_key: Vec<u8>,
    /// A CA file for the clients and servers that verify.
    ca_file: String,
}

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    PKey::from_ec_key(EcKey::generate(&group).expect("EC key")).expect("PKey")
}

fn cert(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>, serial: u32) -> X509 {
    let mut name = X509Name::builder().expect("name");
    name.append_entry_by_text("CN", cn).expect("CN");
    let name = name.build();
    let mut b = X509::builder().expect("builder");
    b.set_version(2).expect("version");
    b.set_serial_number(&BigNum::from_u32(serial).and_then(|n| n.to_asn1_integer()).expect("serial")).expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(&name)).expect("issuer");
    b.set_pubkey(key).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("time")).expect("not before");
    b.set_not_after(&Asn1Time::days_from_now(2).expect("time")).expect("not after");
    if issuer.is_none() {
        b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc")).expect("bc");
    } else {
        let san = SubjectAlternativeName::new().dns(cn).ip("127.0.0.1").build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None)).expect("san");
        b.append_extension(san).expect("san");
    }
    b.sign(issuer.map(|(_, k)| k).unwrap_or(key), MessageDigest::sha256()).expect("sign");
    b.build()
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let ca_key = key();
        let ca = cert("Fuzz CA", &ca_key, None, 1);
        let (server_key, client_key) = (key(), key());
        let server = cert("localhost", &server_key, Some((&ca, &ca_key)), 2);
        let client = cert("client", &client_key, Some((&ca, &ca_key)), 3);
        let ca_pem = ca.to_pem().expect("pem");
        let ca_file = std::env::temp_dir().join(format!("tcltls-fuzz-ca-{}.pem", std::process::id()));
        std::fs::write(&ca_file, &ca_pem).expect("CA file");
        let ca_file = ca_file.to_string_lossy().into_owned();
        remove_at_exit(&ca_file);
        Pki {
            ca_pem,
            server_cert: server.to_der().expect("der"),
            server_key: server_key.private_key_to_der().expect("der"),
            client_cert: client.to_der().expect("der"),
            client_key: client_key.private_key_to_der().expect("der"),
            ca_file,
        }
    })
}

fn remove_at_exit(path: &str) {
    static PATH: OnceLock<std::ffi::CString> = OnceLock::new();
    extern "C" fn remove() {
        if let Some(path) = PATH.get() {
            // SAFETY: a NUL-terminated path that lives for the program's life.
            unsafe { libc::unlink(path.as_ptr()) };
        }
    }
    if PATH.set(std::ffi::CString::new(path).expect("no NUL in a temp path")).is_ok() {
        // SAFETY: `remove` is a plain function that touches only a static.
        unsafe { libc::atexit(remove) };
    }
}

fn pair(name: &str, text: &str) -> (String, OptionValue) {
    (name.to_string(), OptionValue::Text(text.to_string()))
}

fn flag(name: &str, value: bool) -> (String, OptionValue) {
    (name.to_string(), OptionValue::Bool(value))
}

fn bytes(name: &str, value: &[u8]) -> (String, OptionValue) {
    (name.to_string(), OptionValue::Bytes(value.to_vec()))
}

// --- Target 1: the engine fed a hostile peer's records ---

/// How the connection under attack is set up, from the input's first byte.
struct Shape {
    server: bool,
    /// 0: hostile from the first byte; 1: after the peer's first real
    /// flight; 2: after a complete real handshake.
    phase: u8,
    tls12: bool,
    tls13: bool,
    client_cert: bool,
    alpn: bool,
}

impl Shape {
    fn from(byte: u8) -> Shape {
        let versions = (byte >> 3) % 3;
        Shape { server: byte & 1 == 1, phase: (byte >> 1) % 4 % 3, tls12: versions != 1, tls13: versions != 0, client_cert: byte & 0x40 != 0, alpn: byte & 0x80 != 0 }
    }

    fn config(&self, server: bool) -> TlsConfig {
        let pki = pki();
        let mut pairs = vec![flag("-tls1.2", self.tls12), flag("-tls1.3", self.tls13), pair("-cafile", &pki.ca_file)];
        if server {
            pairs.extend([flag("-server", true), bytes("-cert", &pki.server_cert), bytes("-key", &pki.server_key)]);
            if self.client_cert {
                pairs.extend([flag("-request", true), flag("-require", true)]);
            }
        } else {
            pairs.push(pair("-servername", "localhost"));
            if self.client_cert {
                pairs.extend([bytes("-cert", &pki.client_cert), bytes("-key", &pki.client_key)]);
            }
        }
        if self.alpn {
            pairs.push(("-alpn".to_string(), OptionValue::List(vec!["h2".to_string(), "http/1.1".to_string()])));
        }
        TlsConfig::parse(&pairs).expect("the fuzz configuration parses")
    }
}

fn engine_for(config: &TlsConfig) -> TlsEngine {
    let context = context_for(config, &mut |_, _| None).expect("context");
    let (ssl, expected) = new_connection(&context, config).expect("connection");
    TlsEngine::new(ssl, expected).expect("engine")
}

/// Moves the queued ciphertext of `from` to `to`.
fn transfer(from: &mut TlsEngine, to: &mut TlsEngine) {
    let data = from.output().to_vec();
    from.consume_output(data.len());
    to.feed(&data);
}

/// Splits `data` into the chunks a peer sends: each chunk is led by a
/// byte giving its length (1 to 256); the last takes what is left.
fn chunks(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (&len, rest) = data.split_first()?;
        let n = (len as usize + 1).min(rest.len());
        let (chunk, next) = rest.split_at(n);
        data = next;
        Some(chunk)
    })
}

/// Checks on an error: a message that says what failed.
fn check_error(error: &tcltls::error::TlsError) {
    let message = error.message();
    assert!(message.starts_with("handshake failed") || message.starts_with("TLS error"), "an engine error says whether the handshake or a record failed: {message:?}");
    assert!(message.len() > "TLS error: ".len(), "an engine error says why: {message:?}");
}

/// Runs the engine under attack over the hostile chunks: no panic, no
/// unbounded output, errors that say why.
pub fn engine(data: &[u8]) {
    let Some((&shape, data)) = data.split_first() else { return };
    let shape = Shape::from(shape);
    let mut target = engine_for(&shape.config(shape.server));
    let mut peer = engine_for(&shape.config(!shape.server));

    // The real part of the exchange, before the hostile bytes.
    match shape.phase {
        0 => {
            if !shape.server {
                // A client speaks first: its ClientHello goes nowhere.
                let _ = target.handshake();
                target.consume_output(target.output().len());
            }
        }
        1 => {
            // The target gets the peer's first real flight; the hostile
            // bytes follow it.
            if !shape.server {
                let _ = target.handshake();
                transfer(&mut target, &mut peer);
            }
            if peer.handshake().is_err() {
                return;
            }
            transfer(&mut peer, &mut target);
        }
        _ => {
            let (client, server) = if shape.server { (&mut peer, &mut target) } else { (&mut target, &mut peer) };
            for _ in 0..10 {
                let (Ok(c), Ok(s)) = (client.handshake(), {
                    transfer(client, server);
                    server.handshake()
                }) else {
                    return;
                };
                transfer(server, client);
                if c && s {
                    break;
                }
            }
            if !target.handshake_done() {
                return;
            }
        }
    }

    let mut plain = [0u8; 4096];
    let mut alive = true;
    for (i, chunk) in chunks(data).enumerate() {
        let space = target.input_space(chunk.len());
        space[..chunk.len()].copy_from_slice(chunk);
        target.commit_input(chunk.len());
        let outcome = drive(&mut target, &mut plain, i);
        assert!(target.output().len() <= OUTPUT_LIMIT, "{} bytes queued for the peer", target.output().len());
        target.consume_output(target.output().len());
        if !outcome {
            alive = false;
            break;
        }
    }
    // The peer goes away: EOF, then the close rules.
    if alive {
        target.feed_eof();
        let _ = drive(&mut target, &mut plain, 0);
        let _ = target.peer_left_silently();
    }
    let _ = target.shutdown();
    let _ = target.peer_closed();
    let _ = target.take_leftover_input();
    if target.handshake_done() {
        let _ = status::connection_status(target.ssl(), openssl::ssl::SslVerifyMode::PEER, "server");
        let _ = status::connection_info(target.ssl());
    }
}

/// One round of what the channel does with new input; false once the
/// connection has failed or ended.
fn drive(target: &mut TlsEngine, plain: &mut [u8], round: usize) -> bool {
    if !target.handshake_done() {
        match target.handshake() {
            Ok(_) => {}
            Err(e) => {
                check_error(&e);
                return false;
            }
        }
    }
    if target.handshake_done() {
        if round % 3 == 1 {
            match target.write(b"a reply from the target") {
                Ok(_) => {}
                Err(e) => {
                    check_error(&e);
                    return false;
                }
            }
        }
        match target.settle() {
            Ok(ReadOutcome::CloseNotify | ReadOutcome::Truncated) => return false,
            Ok(_) => {}
            Err(e) => {
                check_error(&e);
                return false;
            }
        }
        // Read until the engine wants input: each record at most once.
        for _ in 0..64 {
            match target.read(plain) {
                Ok(ReadOutcome::Data(n)) => assert!(n <= plain.len()),
                Ok(ReadOutcome::WantInput) => break,
                Ok(ReadOutcome::CloseNotify | ReadOutcome::Truncated) => return false,
                Err(e) => {
                    check_error(&e);
                    return false;
                }
            }
        }
        let _ = target.input_ready();
    }
    true
}

// --- Target 2: the option parser ---

/// Splits the input into words at NUL bytes; even words are option
/// names (a leading byte below 0x40 picks a real option name), odd ones
/// their values, made into the type the option takes the way the command
/// layer would after Tcl converted them (a value starting with 0xff stays
/// text, as a value Tcl could not convert would be reported).
pub fn options(data: &[u8]) {
    let words: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let mut pairs = Vec::new();
    for w in words.chunks(2) {
        let name = match w[0].split_first() {
            Some((&pick, rest)) if pick < 0x40 && rest.is_empty() => {
                config::IMPORT_OPTIONS.get(pick as usize % config::IMPORT_OPTIONS.len()).map(|s| s.to_string()).unwrap_or_default()
            }
            _ => String::from_utf8_lossy(w[0]).into_owned(),
        };
        let value = w.get(1).copied().unwrap_or_default();
        pairs.push((name.clone(), typed(&name, value)));
    }
    match TlsConfig::parse(&pairs) {
        Err(e) => {
            // The error names the option it is about.
            let code = e.error_code();
            assert_eq!(code.first().map(String::as_str), Some("TLS"));
            assert!(!e.message().is_empty());
            let named = pairs.iter().any(|(n, _)| code.last() == Some(n) || e.message().contains(n.as_str()));
            assert!(named, "error {:?} names none of the options", e.message());
        }
        Ok(config) => {
            // The rules derived from the options hold together.
            if config.require() {
                assert!(config.request(), "-require forces -request");
            }
            let mode = config.verify_mode();
            assert_eq!(mode.is_empty(), !config.request());
            if let Some(level) = config.security_level {
                assert!((0..=5).contains(&level));
            }
            if let Ok(wire) = alpn_wire(&config.alpn) {
                let back: Vec<String> = callbacks::alpn_entries(&wire).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
                assert_eq!(back, config.alpn, "ALPN names survive the wire format");
            } else {
                assert!(config.alpn.iter().any(|p| p.is_empty() || p.len() > 255));
            }
            // A context from the options, when they read no files (the
            // cache is bounded, so this cannot grow without limit).
            // (-keylog writes a file, and -sni entries name files.)
            if config.files().iter().all(|(_, f)| f.is_none()) && config.castore.is_none() && config.keylog.is_none() && config.sni.is_empty() {
                if let Ok(context) = context_for(&config, &mut |_, _| None) {
                    let _ = new_connection(&context, &config);
                }
            }
        }
    }
}

/// An option value of the type `name` takes, from fuzz bytes.
fn typed(name: &str, value: &[u8]) -> OptionValue {
    let text = || String::from_utf8_lossy(value).into_owned();
    if value.first() == Some(&0xff) {
        return OptionValue::Text(text());
    }
    match config::value_type(name) {
        ValueType::Text => OptionValue::Text(text()),
        ValueType::Bytes => OptionValue::Bytes(value.to_vec()),
        ValueType::Bool => OptionValue::Bool(value.first().is_some_and(|b| b & 1 == 1)),
        ValueType::Int => {
            let mut le = [0u8; 8];
            let n = value.len().min(8);
            le[..n].copy_from_slice(&value[..n]);
            OptionValue::Int(i64::from_le_bytes(le))
        }
        ValueType::List => OptionValue::List(text().split(' ').map(str::to_string).collect()),
        // Elements at newlines, words at spaces.
        ValueType::Lists => OptionValue::Lists(text().split('\n').map(|element| element.split(' ').map(str::to_string).collect()).collect()),
    }
}

// --- Target 3: certificate status from DER and PEM ---

/// Parses the input as DER (and as PEM), and builds `tls::status`'s
/// certificate list from whatever parses.
pub fn certstatus(data: &[u8]) {
    for cert in [X509::from_der(data).ok(), X509::from_pem(data).ok()].into_iter().flatten() {
        check_status(&status::certificate_status(&cert));
    }
    if let Ok(stack) = X509::stack_from_pem(data) {
        for cert in stack.iter().take(8) {
            check_status(&status::certificate_status(cert));
        }
    }
}

fn check_status(items: &status::Status) {
    let mut seen = std::collections::HashSet::new();
    for (key, value) in items {
        assert!(seen.insert(*key), "status key {key} appears twice");
        if let Value::Int(n) = value {
            assert!(*key != "num_extensions" || *n >= 0);
        }
    }
    for key in ["version", "serialNumber", "subject", "issuer", "notBefore", "notAfter", "extensions", "sha1_hash", "sha256_hash", "certificate"] {
        assert!(seen.contains(key), "status lacks {key}");
    }
}

// --- Target 4: the session store, ALPN selection and SNI parsing ---

fn server_context() -> &'static SslContext {
    static CONTEXT: OnceLock<SslContext> = OnceLock::new();
    CONTEXT.get_or_init(|| SslContext::builder(SslMethod::tls_server()).expect("context").build())
}

fn client_context() -> &'static SslContext {
    static CONTEXT: OnceLock<SslContext> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let mut builder = SslContext::builder(SslMethod::tls_client()).expect("context");
        callbacks::add_session_store(&mut builder, tcltls::config::DEFAULT_CACHE_SIZE as usize);
        builder.build()
    })
}

/// The input's first byte picks what is fed: an SNI extension body, an
/// ALPN offer (against our own list), or a session in DER that goes into
/// the client session store and is offered again.
pub fn session_alpn_sni(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else { return };
    match which % 3 {
        0 => {
            // list length (2), name type (1), name length (2), name
            let name = callbacks::sni_from_extension(rest);
            let well_formed = rest.len() >= 5 && rest[2] == 0 && rest.len() >= 5 + ((rest[3] as usize) << 8 | rest[4] as usize);
            if well_formed {
                let len = (rest[3] as usize) << 8 | rest[4] as usize;
                assert_eq!(name, String::from_utf8_lossy(&rest[5..5 + len]), "the host name of a well-formed extension");
            } else {
                assert!(name.is_empty(), "a malformed extension names no host: {name:?}");
            }
        }
        1 => {
            // Ours: the first words of a fixed list, as many as the byte says.
            let all = ["h2", "http/1.1", "acme-tls/1", "imap", ""];
            let ours: Vec<String> = all.iter().take((which as usize / 3) % 5).map(|s| s.to_string()).collect();
            let Ok(wire) = alpn_wire(&ours) else { return };
            let mut ssl = openssl::ssl::Ssl::new(server_context()).expect("ssl");
            let offered: Vec<&[u8]> = callbacks::alpn_entries(rest).collect();
            let total: usize = offered.iter().map(|p| p.len() + 1).sum();
            assert!(total <= rest.len());
            match callbacks::select_alpn(&mut ssl, &wire, rest) {
                Ok(chosen) => {
                    assert!(ours.iter().any(|p| p.as_bytes() == chosen), "chose {chosen:?}, not one of ours");
                    assert!(offered.contains(&chosen), "chose {chosen:?}, which the client did not offer");
                }
                Err(_) => {
                    let common = ours.iter().any(|p| offered.contains(&p.as_bytes()));
                    assert!(!common, "a protocol both sides have was refused");
                }
            }
        }
        _ => {
            let Ok(session) = SslSession::from_der(rest) else { return };
            let _ = tcltls::openssl_extra::session_ticket(&session);
            let key = format!("fuzz:{}", which);
            callbacks::remember(client_context(), &key, session.clone());
            for id in [None, Some(session.id())] {
                let mut ssl = openssl::ssl::Ssl::new(client_context()).expect("ssl");
                callbacks::resume(&mut ssl, client_context(), &key, id);
            }
        }
    }
}

/// The seeds' PEM CA, for a seed generator.
pub fn ca_pem() -> Vec<u8> {
    pki().ca_pem.clone()
}

// --- Seeds ---

/// Encodes `data` in the chunk format of [`chunks`].
fn as_chunks(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(256) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
    out
}

/// The shape byte of [`Shape::from`] for a role, phase and versions
/// (0: TLS 1.2 only, 1: TLS 1.3 only, 2: both).
fn shape_byte(server: bool, phase: u8, versions: u8, client_cert: bool) -> u8 {
    server as u8 | phase << 1 | versions << 3 | (client_cert as u8) << 6
}

/// A real exchange for seeds: the first client flight, the first server
/// flight, and a session from a completed handshake.
fn real_flights(versions: u8) -> (Vec<u8>, Vec<u8>, Option<Vec<u8>>) {
    let shape = Shape::from(shape_byte(false, 0, versions, false));
    let mut client = engine_for(&shape.config(false));
    let mut server = engine_for(&shape.config(true));
    let _ = client.handshake();
    let hello = client.output().to_vec();
    transfer(&mut client, &mut server);
    let _ = server.handshake();
    let reply = server.output().to_vec();
    transfer(&mut server, &mut client);
    for _ in 0..10 {
        let c = client.handshake().unwrap_or(true);
        transfer(&mut client, &mut server);
        let s = server.handshake().unwrap_or(true);
        transfer(&mut server, &mut client);
        if c && s {
            break;
        }
    }
    let mut plain = [0u8; 64];
    let _ = client.read(&mut plain);
    let session = client.ssl().session().and_then(|s| s.to_der().ok());
    (hello, reply, session)
}

/// The checked-in seed corpus: (target, file name, contents). Written by
/// `cargo test --release --test fuzz_replay -- --ignored write_seeds`.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let mut add = |target: &'static str, name: &str, data: Vec<u8>| seeds.push((target, name.to_string(), data));
    let record = |kind: u8, body: &[u8]| {
        let mut r = vec![kind, 3, 3, (body.len() >> 8) as u8, body.len() as u8];
        r.extend_from_slice(body);
        r
    };
    for versions in 0..3u8 {
        let (hello, reply, session) = real_flights(versions);
        let mut server_hello = vec![shape_byte(true, 0, versions, false)];
        server_hello.extend(as_chunks(&hello));
        add("engine", &format!("server-clienthello-v{versions}"), server_hello);
        let mut client_reply = vec![shape_byte(false, 0, versions, false)];
        client_reply.extend(as_chunks(&reply));
        add("engine", &format!("client-serverflight-v{versions}"), client_reply);
        if let Some(session) = session {
            let mut s = vec![2 + 3 * versions];
            s.extend(session);
            add("session_alpn_sni", &format!("session-v{versions}"), s);
        }
    }
    for (name, body) in [
        ("appdata", record(23, &[0x5a; 40])),
        ("alert-close", record(21, &[1, 0])),
        ("alert-fatal", record(21, &[2, 40])),
        ("oversized", vec![23, 3, 3, 0x40, 0x01]),
        ("ccs", record(20, &[1])),
        ("handshake-after", record(22, &[4, 0, 0, 4, 0, 0, 0, 0])),
        ("plaintext", b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n".to_vec()),
        ("sslv2-hello", vec![0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10]),
    ] {
        for (role, server) in [("client", false), ("server", true)] {
            for phase in [0u8, 2] {
                let mut seed = vec![shape_byte(server, phase, 2, false)];
                seed.extend(as_chunks(&body));
                add("engine", &format!("{role}-p{phase}-{name}"), seed);
            }
        }
    }
    let words = |list: &[&[u8]]| list.join(&0u8);
    add("options", "server-cert", words(&[b"-server", b"1", b"-cert", b"\x30\x82\x01\x00", b"-key", b"junk"]));
    add("options", "alpn-protocols", words(&[b"-alpn", b"h2 http/1.1", b"-tls1.2", b"yes", b"-tls1.3", b"0"]));
    add("options", "levels", words(&[b"-security_level", b"0x3", b"-securitylevel", b"+2", b"-request", b"off", b"-require", b"maybe"]));
    add("options", "ciphers", words(&[b"-cipher", b"HIGH:!aNULL", b"-ciphersuites", b"TLS_AES_128_GCM_SHA256", b"-servername", b"[::1]"]));
    add("options", "callbacks", words(&[b"-command", b"cb", b"-vcmd", b"v", b"-callback", b"", b"-password", b"pw", b"-post_handshake", b"true"]));
    add("options", "bad-option", words(&[b"-bogus", b"1"]));
    let pki = pki();
    for (name, der) in [("ca", X509::from_pem(&pki.ca_pem).and_then(|c| c.to_der()).unwrap_or_default()), ("server", pki.server_cert.clone()), ("client", pki.client_cert.clone())]
    {
        add("certstatus", &format!("{name}.der"), der.clone());
        if let Ok(cert) = X509::from_der(&der) {
            add("certstatus", &format!("{name}.pem"), cert.to_pem().unwrap_or_default());
        }
    }
    add("session_alpn_sni", "sni-localhost", b"\x00\x00\x0c\x00\x00\x09localhost".to_vec());
    add("session_alpn_sni", "sni-short", b"\x00\x00\x04\x00\x00\x09loc".to_vec());
    for ours in 1..5u8 {
        add("session_alpn_sni", &format!("alpn-ours{ours}"), [&[1 + 3 * ours][..], b"\x08http/1.1\x02h2\x04imap"].concat());
    }
    add("session_alpn_sni", "alpn-truncated", b"\x07\x08http/1".to_vec());
    seeds
}
