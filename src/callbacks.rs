//! Script callbacks (`-command`, `-validatecommand`) and the client
//! session store, called from OpenSSL callbacks.
//!
//! Each connection carries a [`Hooks`] in its SSL ex_data: the
//! interpreter, the channel name and the scripts. OpenSSL calls back
//! synchronously from the engine call the channel driver made. That is the
//! interpreter's thread unless the channel was moved with
//! `thread::transfer`; the thread check in `Hooks` refuses to run scripts
//! then. The driver's shell (`channel/driver.rs`) makes it
//! safe for those scripts to close or unimport the channel or to enter the
//! event loop.

use std::collections::{HashMap, VecDeque};
use std::ffi::c_int;
use std::sync::{Arc, Mutex, OnceLock};

use foreign_types::ForeignTypeRef;
use openssl::error::ErrorStack;
use openssl::ex_data::Index;
use openssl::ssl::{AlpnError, ClientHelloResponse, NameType, SniError, Ssl, SslAlert, SslContext, SslRef, SslSession};
use openssl::x509::{X509StoreContextRef, X509VerifyResult};

use crate::config::Pin;
use crate::error::ErrorKind;
use crate::status::status_obj;
use crate::tcl::sys::Tcl_Interp;
use crate::tcl::{Interp, Obj};
use crate::{openssl_extra, status};

/// The interpreter of a connection's scripts.
#[derive(Clone, Copy)]
struct InterpHandle(*mut Tcl_Interp);

// SAFETY: the handle is only dereferenced by `Hooks` after checking that
// the current thread is the interpreter's (after `thread::transfer` the
// callbacks run elsewhere and are refused); Tcl interpreters never move
// between threads.
unsafe impl Send for InterpHandle {}
// SAFETY: as above; never used concurrently.
unsafe impl Sync for InterpHandle {}

/// What a `-validatecommand` script decided.
enum Verdict {
    Accept,
    Reject,
    RejectContinue,
    /// The script returned something that is not a boolean (an empty
    /// result included): rejected, and the error says what it was.
    NotBoolean(String),
    Failed(String),
}

/// A `-validatecommand` result, failing closed: an integer (0 rejects, 2
/// rejects but goes on, any other accepts) or else one of Tcl's boolean
/// words and their unique prefixes; anything else (the empty string, a
/// fraction, an integer too large for 64 bits) is not a verdict. Tcl
/// judges which is which (`Tcl_GetWideIntFromObj`, `Tcl_GetBoolean`).
fn verdict_of(result: &Obj) -> Verdict {
    match result.as_wide() {
        Some(0) => Verdict::Reject,
        Some(2) => Verdict::RejectContinue,
        Some(_) => Verdict::Accept,
        None => match result.as_boolean_word() {
            Some(true) => Verdict::Accept,
            Some(false) => Verdict::Reject,
            None => Verdict::NotBoolean(result.text()),
        },
    }
}

/// Why a callback ended the handshake: the channel's error is
/// `{TLS KIND detail}` with `handshake failed: why`.
pub struct Failure {
    pub kind: ErrorKind,
    pub detail: String,
    pub why: String,
}

/// The scripts and identity of one connection.
pub struct Hooks {
    interp: InterpHandle,
    pub channel: String,
    command: Option<String>,
    validate: Option<String>,
    require: bool,
    /// Why a callback ended the handshake, for the channel's error.
    failure: Mutex<Option<Failure>>,
    /// `-pin`: some certificate of the verified chain must match one.
    pins: Vec<Pin>,
    /// Where this client's sessions are remembered.
    session_key: Option<String>,
    /// The interpreter's thread: after `thread::transfer` the scripts
    /// cannot run (their interpreter belongs to the old thread).
    thread: std::thread::ThreadId,
    /// Set once the channel is closed while its connection still takes
    /// in the server's session tickets: no script runs any more.
    quiet: std::sync::atomic::AtomicBool,
}

impl Hooks {
    pub fn new(interp: *mut Tcl_Interp, channel: &str, command: Option<String>, validate: Option<String>, require: bool, session_key: Option<String>, pins: Vec<Pin>) -> Hooks {
        Hooks {
            interp: InterpHandle(interp),
            channel: channel.to_string(),
            command,
            validate,
            require,
            failure: Mutex::new(None),
            pins,
            session_key,
            thread: std::thread::current().id(),
            quiet: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn call(&self, script: &str, form: &str, args: Vec<Obj>) -> Result<Obj, String> {
        if self.quiet.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(format!("channel \"{}\" is closed", self.channel));
        }
        if std::thread::current().id() != self.thread {
            return Err(format!("the interpreter of \"{script}\" belongs to another thread"));
        }
        let mut words = Obj::string(script).elements().ok_or_else(|| format!("bad callback script \"{script}\""))?;
        words.push(Obj::string(form));
        words.push(Obj::string(&self.channel));
        words.extend(args);
        Interp(self.interp.0).call_callback(&Obj::list(words))
    }

    /// Reports `message` as a background error in the connection's
    /// interpreter (`bgerror`), for failures that have no caller to
    /// return to.
    pub fn background_error(&self, error: &crate::error::TlsError) {
        if std::thread::current().id() == self.thread && !self.quiet.load(std::sync::atomic::Ordering::Relaxed) {
            Interp(self.interp.0).background_error(error);
        }
    }

    /// A `-command` callback; its result is ignored, errors go to bgerror.
    pub fn notify(&self, form: &str, args: Vec<Obj>) {
        if let Some(script) = &self.command {
            let _ = self.call(script, form, args);
        }
    }

    fn validate(&self, form: &str, args: Vec<Obj>) -> Option<Verdict> {
        let script = self.validate.as_ref()?;
        Some(match self.call(script, form, args) {
            Err(message) => Verdict::Failed(message),
            Ok(result) => verdict_of(&result),
        })
    }

    fn record_failure(&self, message: String) {
        self.record(Failure { kind: ErrorKind::Handshake, detail: "CALLBACK".into(), why: message });
    }

    fn record(&self, failure: Failure) {
        if let Ok(mut slot) = self.failure.lock() {
            slot.get_or_insert(failure);
        }
    }

    /// Why a callback refused the handshake, once.
    pub fn take_failure(&self) -> Option<Failure> {
        self.failure.lock().ok().and_then(|mut slot| slot.take())
    }

    /// Applies a verdict; `what` names the callback in messages.
    fn verdict_allows(&self, verdict: Verdict, what: &str) -> Option<bool> {
        match verdict {
            Verdict::Accept => Some(true),
            Verdict::RejectContinue => Some(false),
            Verdict::Reject => {
                self.record_failure(format!("rejected by -validatecommand {what}"));
                None
            }
            Verdict::NotBoolean(result) => {
                self.record_failure(format!("-validatecommand {what} returned \"{result}\", not a boolean: rejected"));
                None
            }
            Verdict::Failed(message) => {
                self.record_failure(format!("-validatecommand {what} callback failed: {message}"));
                None
            }
        }
    }
}

fn hooks_index() -> Option<Index<Ssl, Arc<Hooks>>> {
    static INDEX: OnceLock<Option<Index<Ssl, Arc<Hooks>>>> = OnceLock::new();
    *INDEX.get_or_init(|| Ssl::new_ex_index().ok())
}

/// The hooks of a connection.
pub fn hooks(ssl: &SslRef) -> Option<Arc<Hooks>> {
    ssl.ex_data(hooks_index()?).cloned()
}

/// Runs no more scripts for this connection (its channel is closed, the
/// connection lives on a little to take in session tickets); sessions
/// are still remembered.
pub fn silence(ssl: &SslRef) {
    if let Some(hooks) = hooks(ssl) {
        hooks.quiet.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs the body of an OpenSSL callback: a panic is recorded in the
/// connection's `hooks` (taken before the body, which may borrow the
/// connection mutably) as the handshake's failure, `handshake failed:
/// internal error: MESSAGE`, and what `on_panic` makes goes back to
/// OpenSSL.
pub fn guarded<T>(hooks: Option<&Hooks>, on_panic: impl FnOnce() -> T, body: impl FnOnce() -> T) -> T {
    crate::tcl::catch(body).unwrap_or_else(|panic| {
        if let Some(hooks) = hooks {
            hooks.record_failure(format!("internal error: {panic}"));
        }
        on_panic()
    })
}

/// Attaches `hooks` to a new connection and installs the per-connection
/// callbacks it needs.
pub fn attach(ssl: &mut SslRef, hooks: Hooks, verify_mode: openssl::ssl::SslVerifyMode) {
    let hooks = Arc::new(hooks);
    if hooks.command.is_some() {
        openssl_extra::set_info_callback(ssl, info_trampoline);
        openssl_extra::set_msg_callback(ssl, msg_trampoline);
    }
    let for_verify = hooks.clone();
    ssl.set_verify_callback(verify_mode, move |ok, ctx| guarded(Some(&for_verify), || false, || verify(&for_verify, ok, ctx)));
    if let Some(index) = hooks_index() {
        ssl.set_ex_data(index, hooks);
    }
}

fn verify(hooks: &Hooks, ok: bool, ctx: &mut X509StoreContextRef) -> bool {
    crate::tcl::test_panic("verify");
    let allowed = verify_script(hooks, ok, ctx);
    // The leaf comes last, when the whole chain has been built.
    if allowed && ctx.error_depth() == 0 && !hooks.pins.is_empty() && !chain_matches_pins(ctx, &hooks.pins) {
        let pins: Vec<&str> = hooks.pins.iter().map(|p| p.text.as_str()).collect();
        hooks.record(Failure {
            kind: ErrorKind::Verify,
            detail: "PIN".into(),
            why: format!("certificate pin mismatch: no certificate of the chain matches -pin {{{}}}", pins.join(" ")),
        });
        ctx.set_error(X509VerifyResult::APPLICATION_VERIFICATION);
        return false;
    }
    allowed
}

/// Whether the SHA-256 of some chain certificate's SubjectPublicKeyInfo
/// is one of `pins`.
fn chain_matches_pins(ctx: &X509StoreContextRef, pins: &[Pin]) -> bool {
    let Some(chain) = ctx.chain() else { return false };
    chain.iter().any(|cert| {
        let spki = cert.public_key().and_then(|key| key.public_key_to_der());
        let digest = spki.and_then(|der| openssl::hash::hash(openssl::hash::MessageDigest::sha256(), &der));
        digest.map(|d| pins.iter().any(|p| p.digest == *d)).unwrap_or(false)
    })
}

/// The verdict of `-validatecommand` (or, without one, of `-require`) on
/// one certificate.
fn verify_script(hooks: &Hooks, ok: bool, ctx: &mut X509StoreContextRef) -> bool {
    if hooks.validate.is_none() {
        return crate::config::passes_verification(ok, hooks.require);
    }
    let depth = ctx.error_depth();
    let cert = ctx.current_cert().map(|c| status_obj(status::certificate_status(c))).unwrap_or_else(|| Obj::list([]));
    let error = if ok { String::new() } else { ctx.error().error_string().to_string() };
    let Some(verdict) = hooks.validate("verify", vec![Obj::int(depth as i64), cert, Obj::boolean(ok), Obj::string(&error)]) else {
        return ok;
    };
    match hooks.verdict_allows(verdict, &format!("verify (depth {depth})")) {
        Some(true) => true,
        Some(false) => {
            // Rejected but the handshake goes on; tls::status shows why.
            ctx.set_error(X509VerifyResult::APPLICATION_VERIFICATION);
            true
        }
        None => {
            ctx.set_error(X509VerifyResult::APPLICATION_VERIFICATION);
            false
        }
    }
}

/// `-command info`: state changes and alerts.
/// OpenSSL's info callback: state changes and alerts go to [`on_info`].
unsafe extern "C" fn info_trampoline(ssl: *const openssl_sys::SSL, where_: c_int, ret: c_int) {
    crate::tcl::boundary((), || {
        // SAFETY: OpenSSL passes the live connection the callback is
        // registered on.
        let ssl = unsafe { SslRef::from_ptr(ssl as *mut openssl_sys::SSL) };
        on_info(ssl, where_, ret);
    })
}

/// OpenSSL's message callback: protocol messages go to [`on_message`].
unsafe extern "C" fn msg_trampoline(
    write_p: c_int,
    version: c_int,
    content_type: c_int,
    buf: *const std::ffi::c_void,
    len: usize,
    ssl: *mut openssl_sys::SSL,
    _arg: *mut std::ffi::c_void,
) {
    crate::tcl::boundary((), || {
        let data = if buf.is_null() || len == 0 {
            &[][..]
        } else {
            // SAFETY: OpenSSL passes `len` readable bytes at `buf`, live for
            // the duration of the call.
            unsafe { std::slice::from_raw_parts(buf as *const u8, len) }
        };
        // SAFETY: OpenSSL passes the live connection the callback is
        // registered on, for the duration of the call.
        let ssl = unsafe { SslRef::from_ptr(ssl) };
        on_message(ssl, write_p != 0, version, content_type, data);
    })
}

pub fn on_info(ssl: &SslRef, where_: c_int, ret: c_int) {
    const ST_CONNECT: c_int = 0x1000;
    const ST_ACCEPT: c_int = 0x2000;
    const CB_LOOP: c_int = 0x01;
    const CB_EXIT: c_int = 0x02;
    const CB_READ: c_int = 0x04;
    const CB_WRITE: c_int = 0x08;
    const CB_ALERT: c_int = 0x4000;
    const CB_HANDSHAKE_START: c_int = 0x10;
    const CB_HANDSHAKE_DONE: c_int = 0x20;
    let Some(hooks) = hooks(ssl) else { return };
    let (major, minor) = if where_ & CB_HANDSHAKE_START != 0 {
        ("handshake", "start")
    } else if where_ & CB_HANDSHAKE_DONE != 0 {
        ("handshake", "done")
    } else {
        let major = if where_ & CB_ALERT != 0 {
            "alert"
        } else if where_ & ST_CONNECT != 0 {
            "connect"
        } else if where_ & ST_ACCEPT != 0 {
            "accept"
        } else {
            "unknown"
        };
        let minor =
            [(CB_READ, "read"), (CB_WRITE, "write"), (CB_LOOP, "loop"), (CB_EXIT, "exit")].iter().find(|(bit, _)| where_ & bit != 0).map(|(_, name)| *name).unwrap_or("unknown");
        (major, minor)
    };
    let (message, kind) = if where_ & CB_ALERT != 0 {
        let (kind, desc) = openssl_extra::alert_text(ret);
        (desc, kind.to_ascii_lowercase())
    } else {
        (openssl_extra::state_long(ssl), "info".to_string())
    };
    hooks.notify("info", vec![Obj::string(major), Obj::string(minor), Obj::string(&message), Obj::string(&kind)]);
}

/// TLS record content types (RFC 8446, section 5.1; 24 is RFC 6520's).
const CHANGE_CIPHER_SPEC: c_int = 20;
const ALERT: c_int = 21;
const HANDSHAKE: c_int = 22;
const APPLICATION_DATA: c_int = 23;
const HEARTBEAT: c_int = 24;
/// The alert level of a fatal alert (RFC 8446, section 6).
const ALERT_FATAL: u8 = 2;

/// `-command message`: each protocol message sent or received.
pub fn on_message(ssl: &SslRef, sent: bool, version: c_int, content_type: c_int, data: &[u8]) {
    let Some(hooks) = hooks(ssl) else { return };
    let content = match content_type {
        CHANGE_CIPHER_SPEC => "ChangeCipherSpec",
        ALERT => "Alert",
        HANDSHAKE => "Handshake",
        APPLICATION_DATA => "ApplicationData",
        HEARTBEAT => "Heartbeat",
        _ => return, // record headers and inner content types: not messages
    };
    let version_raw = version;
    let version = match version {
        0x0300 => "SSL3",
        0x0301 => "TLS1",
        0x0302 => "TLS1.1",
        0x0303 => "TLS1.2",
        0x0304 => "TLS1.3",
        _ => "unknown",
    };
    let message = match (content_type, data) {
        (HANDSHAKE, [kind, ..]) => handshake_name(*kind).to_string(),
        (ALERT, [level, desc, ..]) => {
            let (_, text) = openssl_extra::alert_text(((*level as c_int) << 8) | *desc as c_int);
            format!("{} alert: {text}", if *level == ALERT_FATAL { "fatal" } else { "warning" })
        }
        (APPLICATION_DATA, _) => format!("{} bytes", data.len()),
        _ => content.to_string(),
    };
    // The manual's message is OpenSSL's SSL_trace text (its first line
    // names the message); our short description stands in where the
    // trace has nothing to say.
    let trace = openssl_extra::trace_text(ssl, sent, version_raw, content_type, data);
    let message = if trace.trim().is_empty() { message } else { trimmed_trace(&trace) };
    let direction = if sent { "Sent" } else { "Received" };
    hooks.notify("message", vec![Obj::string(direction), Obj::string(version), Obj::string(content), Obj::string(&message)]);
}

/// The trace without its common indentation and trailing blank lines.
fn trimmed_trace(trace: &str) -> String {
    let lines: Vec<&str> = trace.lines().filter(|l| !l.trim().is_empty()).collect();
    let indent = lines.iter().map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    lines.iter().map(|l| &l[indent.min(l.len())..]).collect::<Vec<_>>().join("\n")
}

fn handshake_name(kind: u8) -> &'static str {
    match kind {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        5 => "EndOfEarlyData",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        24 => "KeyUpdate",
        _ => "unknown",
    }
}

/// A new session: remembered for resumption (clients) and reported to
/// `-command session`.
pub fn on_new_session(ssl: &mut SslRef, session: SslSession) {
    let Some(hooks) = hooks(ssl) else { return };
    let (ticket, _, lifetime) = openssl_extra::session_ticket(&session);
    let id = session.id().to_vec();
    if let Some(key) = &hooks.session_key {
        remember(ssl.ssl_context(), key, session);
    }
    hooks.notify("session", vec![Obj::bytes(&id), Obj::bytes(&ticket), Obj::int(lifetime as i64)]);
}

/// `-validatecommand hello`: a server got a ClientHello.
pub fn on_client_hello(ssl: &mut SslRef, alert: &mut SslAlert) -> Result<ClientHelloResponse, ErrorStack> {
    let Some(hooks) = hooks(ssl) else { return Ok(ClientHelloResponse::SUCCESS) };
    let servername = openssl_extra::client_hello_ext(ssl, 0).map(|ext| sni_from_extension(&ext)).unwrap_or_default();
    let session_id = ssl.client_hello_session_id().map(<[u8]>::to_vec).unwrap_or_default();
    let Some(verdict) = hooks.validate("hello", vec![Obj::string(&servername), Obj::bytes(&session_id)]) else {
        return Ok(ClientHelloResponse::SUCCESS);
    };
    match hooks.verdict_allows(verdict, "hello") {
        Some(_) => Ok(ClientHelloResponse::SUCCESS),
        None => {
            *alert = SslAlert::HANDSHAKE_FAILURE;
            Err(ErrorStack::get())
        }
    }
}

/// The host name in a server_name extension body.
pub fn sni_from_extension(ext: &[u8]) -> String {
    // list length (2), name type (1), name length (2), name
    if ext.len() < 5 || ext[2] != 0 {
        return String::new();
    }
    let len = ((ext[3] as usize) << 8) | ext[4] as usize;
    ext.get(5..5 + len).map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default()
}

/// `-validatecommand sni`: the client asked for a server name.
pub fn on_servername(ssl: &mut SslRef, alert: &mut SslAlert) -> Result<(), SniError> {
    let Some(hooks) = hooks(ssl) else { return Ok(()) };
    let Some(name) = ssl.servername(NameType::HOST_NAME).map(str::to_string) else { return Ok(()) };
    let Some(verdict) = hooks.validate("sni", vec![Obj::string(&name)]) else { return Ok(()) };
    match hooks.verdict_allows(verdict, "sni") {
        Some(true) => Ok(()),
        Some(false) => Err(SniError::NOACK),
        None => {
            *alert = SslAlert::UNRECOGNIZED_NAME;
            Err(SniError::ALERT_FATAL)
        }
    }
}

/// ALPN selection on a server: our first protocol the client offers,
/// then `-validatecommand alpn` may accept or refuse it.
pub fn select_alpn<'a>(ssl: &mut SslRef, ours: &[u8], client: &'a [u8]) -> Result<&'a [u8], AlpnError> {
    let offered: Vec<&'a [u8]> = alpn_entries(client).collect();
    let choice = alpn_entries(ours).find_map(|p| offered.iter().copied().find(|c| *c == p));
    let hooks = hooks(ssl);
    let verdict = hooks.as_ref().and_then(|h| {
        let protocol = choice.or(offered.first().copied()).unwrap_or_default();
        h.validate("alpn", vec![Obj::string(&String::from_utf8_lossy(protocol)), Obj::boolean(choice.is_some())]).map(|v| (h, v))
    });
    // Only a protocol of our own -alpn list is ever selected: accepting
    // one we did not list would let the client speak, say, h2 to an
    // HTTP/1.1 server.
    match verdict {
        None => choice.ok_or(AlpnError::NOACK),
        Some((h, v)) => match h.verdict_allows(v, "alpn") {
            Some(true) => choice.ok_or(AlpnError::NOACK),
            Some(_) => Err(AlpnError::NOACK),
            None => Err(AlpnError::ALERT_FATAL),
        },
    }
}

/// The names in an ALPN wire-format list.
pub fn alpn_entries(wire: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = wire;
    std::iter::from_fn(move || {
        let (&len, tail) = rest.split_first()?;
        if tail.len() < len as usize {
            return None;
        }
        let (name, next) = tail.split_at(len as usize);
        rest = next;
        Some(name)
    })
}

// --- Client sessions, kept per context for resumption ---

/// A client context's sessions (OpenSSL's own client cache is off:
/// `SSL_SESS_CACHE_NO_INTERNAL_STORE`, see context.rs): the latest few per
/// server (name and address), at most `limit` in all.
struct SessionStore {
    limit: usize,
    servers: HashMap<String, VecDeque<SslSession>>,
    count: usize,
}

/// Sessions kept per server at most: a server that sends thousands of
/// tickets on one connection replaces its own, and evicts no other's.
const PER_SERVER: usize = 4;

impl SessionStore {
    fn insert(&mut self, key: &str, session: SslSession) {
        let per_server = PER_SERVER.min(self.limit);
        if per_server == 0 {
            return;
        }
        if !self.servers.contains_key(key) && self.count >= self.limit {
            // Past the bound with as many servers as it allows: start afresh.
            self.servers.clear();
            self.count = 0;
        }
        let sessions = self.servers.entry(key.to_string()).or_default();
        if sessions.len() >= per_server {
            sessions.pop_front();
            self.count -= 1;
        }
        sessions.push_back(session);
        self.count += 1;
    }

    /// The latest session for `key`, or the one with `id` from any server.
    fn find(&self, key: &str, id: Option<&[u8]>) -> Option<SslSession> {
        match id {
            None => self.servers.get(key).and_then(|s| s.back().cloned()),
            Some(id) => self.servers.values().flatten().find(|s| s.id() == id).cloned(),
        }
    }
}

fn store_index() -> Option<Index<SslContext, Mutex<SessionStore>>> {
    static INDEX: OnceLock<Option<Index<SslContext, Mutex<SessionStore>>>> = OnceLock::new();
    *INDEX.get_or_init(|| SslContext::new_ex_index().ok())
}

/// Gives a client context its session store, keeping `limit` sessions at
/// most (`-cachesize`).
pub fn add_session_store(builder: &mut openssl::ssl::SslContextBuilder, limit: usize) {
    if let Some(index) = store_index() {
        builder.set_ex_data(index, Mutex::new(SessionStore { limit, servers: HashMap::new(), count: 0 }));
    }
}

pub fn remember(context: &openssl::ssl::SslContextRef, key: &str, session: SslSession) {
    let Some(store) = store_index().and_then(|i| context.ex_data(i)) else { return };
    if let Ok(mut store) = store.lock() {
        store.insert(key, session);
    }
}

/// How many sessions a client context keeps, in all and for `key`.
#[cfg(test)]
pub(crate) fn stored_sessions(context: &openssl::ssl::SslContextRef, key: &str) -> (usize, usize) {
    let Some(store) = store_index().and_then(|i| context.ex_data(i)) else { return (0, 0) };
    let store = store.lock().unwrap();
    (store.count, store.servers.get(key).map_or(0, VecDeque::len))
}

/// Offers a remembered session to a new client connection: the one with
/// `session_id` if given, else the last one for `key` (same server).
pub fn resume(ssl: &mut SslRef, context: &SslContext, key: &str, session_id: Option<&[u8]>) {
    let Some(store) = store_index().and_then(|i| context.ex_data(i)) else { return };
    let session = store.lock().ok().and_then(|s| s.find(key, session_id));
    if let Some(session) = session {
        // SAFETY: the session comes from this context's own store, so it
        // was made by a connection of the same context.
        let _ = unsafe { ssl.set_session(&session) };
    }
}
