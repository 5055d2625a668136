//! The few OpenSSL calls the `openssl` crate does not wrap, as safe
//! functions. Each names the C function it stands for. A leaf: it imports
//! nothing of ours but the Tcl helpers (ARCHITECTURE.md lists the other
//! modules that hold `unsafe`, each block with its SAFETY note).

use std::ffi::{c_char, c_int};

use foreign_types::ForeignTypeRef;
use openssl::error::ErrorStack;
use openssl::ssl::{SslContextBuilder, SslRef};

extern "C" {
    fn SSL_CTX_load_verify_store(ctx: *mut openssl_sys::SSL_CTX, uri: *const c_char) -> c_int;
    fn SSL_SESSION_is_resumable(session: *const openssl_sys::SSL_SESSION) -> c_int;
}

/// `SSL_CTX_load_verify_store`: a CA store given by URI (OpenSSL 3.0+).
pub fn load_verify_store(builder: &mut SslContextBuilder, uri: &str) -> Result<(), ErrorStack> {
    let uri = crate::tcl::cstring(uri);
    // SAFETY: the builder owns a live SSL_CTX; the URI is a C string that
    // outlives the call, which copies what it needs.
    let ok = unsafe { SSL_CTX_load_verify_store(builder.as_ptr(), uri.as_ptr()) };
    if ok == 1 {
        Ok(())
    } else {
        Err(ErrorStack::get())
    }
}

/// `SSL_CTX_set_post_handshake_auth`: let a TLS 1.3 server ask this client
/// for a certificate after the handshake.
pub fn enable_post_handshake_auth(builder: &mut SslContextBuilder) {
    // SAFETY: live SSL_CTX; the call only sets a flag.
    unsafe { openssl_sys::SSL_CTX_set_post_handshake_auth(builder.as_ptr(), 1) };
}

/// `SSL_CTX_set_dh_auto`: finite-field DHE (the `DHE-*` TLS 1.2 suites)
/// with parameters OpenSSL picks to match the cipher's strength (RFC 7919
/// groups, 2048 bits and up), as TclTLS 2.0 does without `-dhparams`.
pub fn enable_dh_auto(builder: &mut SslContextBuilder) -> bool {
    // SAFETY: live SSL_CTX; the control call only sets a flag.
    unsafe { openssl_sys::SSL_CTX_set_dh_auto(builder.as_ptr(), 1) == 1 }
}

/// Whether this libssl can negotiate SSL 3.0. OpenSSL 3 removed the
/// protocol and 1.1 builds without it by default (Debian's included), so
/// it is taken to be absent from 1.1 on.
pub fn ssl3_available() -> bool {
    openssl::version::number() < 0x1010_0000
}

/// `SSL_SESSION_is_resumable` on the connection's current session.
pub fn session_resumable(ssl: &SslRef) -> bool {
    match ssl.session() {
        // SAFETY: the session reference is live for the duration of `ssl`'s
        // borrow; the call only reads it.
        Some(session) => unsafe { SSL_SESSION_is_resumable(session.as_ptr()) == 1 },
        None => false,
    }
}

extern "C" {
    fn SSL_free_buffers(ssl: *mut openssl_sys::SSL) -> c_int;
}

/// `SSL_free_buffers`: gives the record layer's read and write buffers back
/// to the allocator; whether they are now free. `SSL_MODE_RELEASE_BUFFERS`
/// alone left a TLS 1.3 client's 16 KiB read buffer allocated after it had
/// read the server's session tickets and first reply (massif, OpenSSL
/// 3.0.19: 16.5 KiB per idle client connection, allocated in `SSL_read_ex`).
/// OpenSSL refuses while the buffers hold a record or part of one, so this
/// never loses data; before the fix of CVE-2024-4741 it could free a
/// buffer still in use, so on those versions it does nothing.
pub fn free_buffers(ssl: &SslRef) -> bool {
    if !free_buffers_checks_use(openssl::version::number()) {
        return false;
    }
    // SAFETY: live SSL; this OpenSSL checks itself that no buffered record
    // is in use, and no Rust reference points into its buffers (the engine
    // copies plaintext out).
    unsafe { SSL_free_buffers(ssl.as_ptr()) == 1 }
}

/// Whether this OpenSSL has the CVE-2024-4741 fix (3.0.14, 3.1.6, 3.2.2,
/// 3.3.1 and later).
fn free_buffers_checks_use(number: i64) -> bool {
    let (major, minor, patch) = (number >> 28, (number >> 20) & 0xff, (number >> 4) & 0xff);
    match (major, minor) {
        (3, 0) => patch >= 14,
        (3, 1) => patch >= 6,
        (3, 2) => patch >= 2,
        (3, 3) => patch >= 1,
        (major, _) => major > 3 || minor > 3,
    }
}

extern "C" {
    fn SSL_get_ciphers(ssl: *const openssl_sys::SSL) -> *mut openssl_sys::OPENSSL_STACK;
    fn SSL_get1_supported_ciphers(ssl: *mut openssl_sys::SSL) -> *mut openssl_sys::OPENSSL_STACK;
    fn SSL_get0_peername(ssl: *mut openssl_sys::SSL) -> *const c_char;
    fn OPENSSL_sk_num(stack: *const openssl_sys::OPENSSL_STACK) -> c_int;
    fn OPENSSL_sk_value(stack: *const openssl_sys::OPENSSL_STACK, i: c_int) -> *mut std::ffi::c_void;
    fn OPENSSL_sk_free(stack: *mut openssl_sys::OPENSSL_STACK);
}

/// One cipher of a connection's list.
pub struct CipherInfo {
    pub name: String,
    pub description: String,
}

/// `SSL_get_ciphers`, or with `supported` `SSL_get1_supported_ciphers`
/// (the ones usable with the enabled protocols and security level).
pub fn cipher_list(ssl: &SslRef, supported: bool) -> Vec<CipherInfo> {
    let mut out = Vec::new();
    let stack = if supported {
        // SAFETY: `ssl` is live; the call returns NULL or a new stack that
        // we own and free after the loop (its elements stay the library's).
        unsafe { SSL_get1_supported_ciphers(ssl.as_ptr()) }
    } else {
        // SAFETY: `ssl` is live; the call returns NULL or a stack owned by
        // the SSL (or its context), unchanged while `ssl` is borrowed.
        unsafe { SSL_get_ciphers(ssl.as_ptr()) }
    };
    if stack.is_null() {
        return out;
    }
    // SAFETY: `stack` is a live stack (non-null, from above).
    let count = unsafe { OPENSSL_sk_num(stack) };
    for i in 0..count {
        // SAFETY: live stack, and `i` is below its length, which nothing
        // changes during the loop.
        let cipher = unsafe { OPENSSL_sk_value(stack, i) } as *mut openssl_sys::SSL_CIPHER;
        if cipher.is_null() {
            continue;
        }
        // SAFETY: a cipher stack holds SSL_CIPHERs, static descriptions in
        // libssl valid for the program's life, so any lifetime is sound;
        // the reference is only read.
        let cipher = unsafe { openssl::ssl::SslCipherRef::from_ptr(cipher) };
        out.push(CipherInfo { name: cipher.name().to_string(), description: cipher.description().trim_end().to_string() });
    }
    if supported {
        // SAFETY: the stack from SSL_get1_supported_ciphers is ours and is
        // freed once, here; OPENSSL_sk_free frees only the stack, not the
        // static ciphers in it.
        unsafe { OPENSSL_sk_free(stack) };
    }
    out
}

/// `SSL_get0_peername`: the name the peer's certificate matched in host
/// name verification.
pub fn peername(ssl: &SslRef) -> Option<String> {
    // SAFETY: `ssl` is live; the call only reads it and returns NULL or a
    // C string owned by the SSL.
    let name = unsafe { SSL_get0_peername(ssl.as_ptr()) };
    (!name.is_null()).then(|| {
        // SAFETY: a non-null, NUL-terminated string owned by the SSL, not
        // changed while `ssl` is borrowed; copied at once.
        unsafe { std::ffi::CStr::from_ptr(name) }.to_string_lossy().into_owned()
    })
}

extern "C" {
    fn SSL_set_info_callback(ssl: *mut openssl_sys::SSL, cb: Option<unsafe extern "C" fn(*const openssl_sys::SSL, c_int, c_int)>);
    fn SSL_set_msg_callback(
        ssl: *mut openssl_sys::SSL,
        cb: Option<unsafe extern "C" fn(c_int, c_int, c_int, *const std::ffi::c_void, usize, *mut openssl_sys::SSL, *mut std::ffi::c_void)>,
    );
    fn SSL_state_string_long(ssl: *const openssl_sys::SSL) -> *const c_char;
    fn SSL_alert_type_string_long(value: c_int) -> *const c_char;
    fn SSL_alert_desc_string_long(value: c_int) -> *const c_char;
    fn SSL_client_hello_get0_ext(ssl: *mut openssl_sys::SSL, ext_type: std::ffi::c_uint, out: *mut *const u8, outlen: *mut usize) -> c_int;
    fn SSL_SESSION_get0_ticket(session: *const openssl_sys::SSL_SESSION, tick: *mut *const u8, len: *mut usize);
    fn SSL_SESSION_get0_ticket_appdata(session: *mut openssl_sys::SSL_SESSION, data: *mut *mut std::ffi::c_void, len: *mut usize) -> c_int;
    fn SSL_SESSION_get_ticket_lifetime_hint(session: *const openssl_sys::SSL_SESSION) -> std::ffi::c_ulong;
    fn SSL_CIPHER_is_aead(cipher: *const openssl_sys::SSL_CIPHER) -> c_int;
    fn SSL_CIPHER_get_id(cipher: *const openssl_sys::SSL_CIPHER) -> u32;
    fn SSL_get_peer_signature_type_nid(ssl: *const openssl_sys::SSL, nid: *mut c_int) -> c_int;
    fn SSL_get_client_CA_list(ssl: *const openssl_sys::SSL) -> *mut openssl_sys::OPENSSL_STACK;
    fn X509_get0_uids(x: *const openssl_sys::X509, issuer: *mut *const openssl_sys::ASN1_BIT_STRING, subject: *mut *const openssl_sys::ASN1_BIT_STRING);
    fn X509_get_ext_count(x: *const openssl_sys::X509) -> c_int;
    fn X509_get_ext(x: *const openssl_sys::X509, loc: c_int) -> *mut openssl_sys::X509_EXTENSION;
    fn X509_EXTENSION_get_object(ext: *mut openssl_sys::X509_EXTENSION) -> *mut openssl_sys::ASN1_OBJECT;
    fn X509_get0_pubkey_bitstr(x: *const openssl_sys::X509) -> *mut openssl_sys::ASN1_BIT_STRING;
    fn ASN1_STRING_length(s: *const openssl_sys::ASN1_STRING) -> c_int;
    fn ASN1_STRING_get0_data(s: *const openssl_sys::ASN1_STRING) -> *const u8;
    fn OBJ_obj2nid(o: *const openssl_sys::ASN1_OBJECT) -> c_int;
    fn OBJ_obj2txt(buf: *mut c_char, len: c_int, o: *const openssl_sys::ASN1_OBJECT, no_name: c_int) -> c_int;
}

/// A C string from OpenSSL, copied.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string that stays readable during
/// the call.
unsafe fn static_text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: non-null, so NUL-terminated and readable (the contract).
    unsafe { std::ffi::CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
}

/// The C signature of an info callback (`SSL_set_info_callback`).
pub type InfoCallback = unsafe extern "C" fn(*const openssl_sys::SSL, c_int, c_int);
/// The C signature of a message callback (`SSL_set_msg_callback`).
pub type MsgCallback = unsafe extern "C" fn(c_int, c_int, c_int, *const std::ffi::c_void, usize, *mut openssl_sys::SSL, *mut std::ffi::c_void);

/// `SSL_set_info_callback`. The trampoline lives with the code it serves
/// (`crate::callbacks`).
pub fn set_info_callback(ssl: &mut SslRef, callback: InfoCallback) {
    // SAFETY: live SSL; the callback has the C signature OpenSSL expects.
    unsafe { SSL_set_info_callback(ssl.as_ptr(), Some(callback)) };
}

/// `SSL_set_msg_callback`.
pub fn set_msg_callback(ssl: &mut SslRef, callback: MsgCallback) {
    // SAFETY: live SSL; the callback has the C signature OpenSSL expects.
    unsafe { SSL_set_msg_callback(ssl.as_ptr(), Some(callback)) };
}

/// `SSL_state_string_long`.
pub fn state_long(ssl: &SslRef) -> String {
    // SAFETY: live SSL; the call only reads its state.
    let text = unsafe { SSL_state_string_long(ssl.as_ptr()) };
    // SAFETY: SSL_state_string_long returns a static NUL-terminated string.
    unsafe { static_text(text) }
}

/// `SSL_alert_type_string_long` and `SSL_alert_desc_string_long`.
pub fn alert_text(value: c_int) -> (String, String) {
    // SAFETY: accepts any value (unknown ones give "unknown").
    let kind = unsafe { SSL_alert_type_string_long(value) };
    // SAFETY: SSL_alert_type_string_long returns a static NUL-terminated
    // string.
    let kind = unsafe { static_text(kind) };
    // SAFETY: accepts any value (unknown ones give "unknown").
    let desc = unsafe { SSL_alert_desc_string_long(value) };
    // SAFETY: SSL_alert_desc_string_long returns a static NUL-terminated
    // string.
    let desc = unsafe { static_text(desc) };
    (kind, desc)
}

/// `SSL_client_hello_get0_ext`: a raw extension of the ClientHello being
/// processed (only valid inside the client hello callback).
pub fn client_hello_ext(ssl: &mut SslRef, ext_type: u32) -> Option<Vec<u8>> {
    let mut out: *const u8 = std::ptr::null();
    let mut len = 0usize;
    // SAFETY: live SSL (outside the client hello callback the call finds
    // no ClientHello and returns 0); both out pointers are locals, valid
    // for the call.
    if unsafe { SSL_client_hello_get0_ext(ssl.as_ptr(), ext_type, &mut out, &mut len) } != 1 || out.is_null() {
        return None;
    }
    // SAFETY: on success `out` points at `len` bytes of the ClientHello
    // being processed, which lives until the callback returns; copied at
    // once.
    Some(unsafe { std::slice::from_raw_parts(out, len) }.to_vec())
}

/// Ticket, ticket application data and lifetime hint of a session.
pub fn session_ticket(session: &openssl::ssl::SslSessionRef) -> (Vec<u8>, Vec<u8>, u64) {
    let mut tick: *const u8 = std::ptr::null();
    let mut len = 0usize;
    let mut app: *mut std::ffi::c_void = std::ptr::null_mut();
    let mut app_len = 0usize;
    // SAFETY: live session; both out pointers are locals, valid for the
    // call.
    unsafe { SSL_SESSION_get0_ticket(session.as_ptr(), &mut tick, &mut len) };
    let ticket = if tick.is_null() {
        Vec::new()
    } else {
        // SAFETY: a non-null ticket is `len` bytes owned by the session,
        // live while `session` is borrowed; copied at once.
        unsafe { std::slice::from_raw_parts(tick, len) }.to_vec()
    };
    // SAFETY: live session (the call only reads it, despite the mutable
    // pointer type); both out pointers are locals, valid for the call.
    let found = unsafe { SSL_SESSION_get0_ticket_appdata(session.as_ptr(), &mut app, &mut app_len) };
    let appdata = if found == 1 && !app.is_null() {
        // SAFETY: on success a non-null `app` is `app_len` bytes owned by
        // the session, live while `session` is borrowed; copied at once.
        unsafe { std::slice::from_raw_parts(app as *const u8, app_len) }.to_vec()
    } else {
        Vec::new()
    };
    // SAFETY: live session; the call only reads a field.
    let hint = unsafe { SSL_SESSION_get_ticket_lifetime_hint(session.as_ptr()) };
    (ticket, appdata, hint as u64)
}

/// `SSL_CIPHER_is_aead` and `SSL_CIPHER_get_id`.
pub fn cipher_aead_and_id(cipher: &openssl::ssl::SslCipherRef) -> (bool, u32) {
    // SAFETY: a live static cipher description; the call only reads it.
    let aead = unsafe { SSL_CIPHER_is_aead(cipher.as_ptr()) } == 1;
    // SAFETY: a live static cipher description; the call only reads it.
    let id = unsafe { SSL_CIPHER_get_id(cipher.as_ptr()) };
    (aead, id)
}

/// The handshake digest of a cipher (`SSL_CIPHER_get_handshake_digest`).
pub fn cipher_handshake_digest(cipher: &openssl::ssl::SslCipherRef) -> String {
    // SAFETY: a live static cipher description; the call only reads it.
    let md = unsafe { openssl_sys::SSL_CIPHER_get_handshake_digest(cipher.as_ptr()) };
    if md.is_null() {
        return String::new();
    }
    // SAFETY: a non-null digest from this call is one of the library's
    // static EVP_MDs, valid for the program's life; MessageDigest only
    // wraps the pointer (it frees nothing).
    let md = unsafe { openssl::hash::MessageDigest::from_ptr(md as *mut _) };
    md.type_().long_name().unwrap_or("").to_string()
}

/// The peer's signature digest and type (`SSL_get_peer_signature_nid`,
/// `SSL_get_peer_signature_type_nid`).
pub fn peer_signature(ssl: &SslRef) -> (Option<openssl::nid::Nid>, Option<openssl::nid::Nid>) {
    // SSL_get_peer_signature_nid is a macro over SSL_ctrl.
    const SSL_CTRL_GET_PEER_SIGNATURE_NID: c_int = 108;
    let mut hash = 0;
    let mut kind = 0;
    // SAFETY: live SSL; this control writes one int through `parg`, which
    // points at the local `hash`.
    let found = unsafe { openssl_sys::SSL_ctrl(ssl.as_ptr(), SSL_CTRL_GET_PEER_SIGNATURE_NID, 0, &mut hash as *mut c_int as *mut std::ffi::c_void) };
    let hash = (found == 1).then(|| openssl::nid::Nid::from_raw(hash));
    // SAFETY: live SSL; `kind` is a local int, valid for the call.
    let found = unsafe { SSL_get_peer_signature_type_nid(ssl.as_ptr(), &mut kind) };
    let kind = (found == 1).then(|| openssl::nid::Nid::from_raw(kind));
    (hash, kind)
}

/// `SSL_get_client_CA_list`: the CA names a server accepts client
/// certificates from (on a client: the list the server sent).
pub fn client_ca_names(ssl: &SslRef) -> Vec<openssl::x509::X509Name> {
    let mut names = Vec::new();
    // SAFETY: live SSL; the call returns NULL or a stack owned by the SSL
    // (or its context), unchanged while `ssl` is borrowed.
    let stack = unsafe { SSL_get_client_CA_list(ssl.as_ptr()) };
    if stack.is_null() {
        return names;
    }
    // SAFETY: `stack` is a live stack (non-null, from above).
    let count = unsafe { OPENSSL_sk_num(stack) };
    for i in 0..count {
        // SAFETY: live stack, and `i` is below its length, which nothing
        // changes during the loop.
        let name = unsafe { OPENSSL_sk_value(stack, i) } as *mut openssl_sys::X509_NAME;
        if !name.is_null() {
            // SAFETY: an element of the live stack, an X509_NAME owned by
            // it; the borrowed view is only used to copy the name.
            let name = unsafe { openssl::x509::X509NameRef::from_ptr(name) };
            if let Ok(name) = name.to_owned() {
                names.push(name);
            }
        }
    }
    names
}

/// Issuer and subject unique ids of a certificate, as bytes.
pub fn unique_ids(cert: &openssl::x509::X509Ref) -> (Vec<u8>, Vec<u8>) {
    let mut issuer: *const openssl_sys::ASN1_BIT_STRING = std::ptr::null();
    let mut subject: *const openssl_sys::ASN1_BIT_STRING = std::ptr::null();
    // SAFETY: live certificate; both out pointers are locals, valid for
    // the call.
    unsafe { X509_get0_uids(cert.as_ptr(), &mut issuer, &mut subject) };
    // SAFETY: NULL or a bit string (an ASN1_STRING) owned by the
    // certificate, live while `cert` is borrowed.
    let issuer = unsafe { asn1_bytes(issuer as *const openssl_sys::ASN1_STRING) };
    // SAFETY: as for `issuer`.
    let subject = unsafe { asn1_bytes(subject as *const openssl_sys::ASN1_STRING) };
    (issuer, subject)
}

/// The bytes of an ASN1 string, copied.
///
/// # Safety
/// `s` is NULL or a live ASN1 string that stays unchanged during the call.
unsafe fn asn1_bytes(s: *const openssl_sys::ASN1_STRING) -> Vec<u8> {
    if s.is_null() {
        return Vec::new();
    }
    // SAFETY: non-null, so a live ASN1 string (the contract); only read.
    let len = unsafe { ASN1_STRING_length(s) }.max(0) as usize;
    // SAFETY: as above.
    let data = unsafe { ASN1_STRING_get0_data(s) };
    if data.is_null() {
        Vec::new()
    } else {
        // SAFETY: a non-null `data` is the string's buffer of `len` bytes,
        // owned by the live string; copied at once.
        unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
    }
}

/// Names of a certificate's extensions, in order.
pub fn extension_names(cert: &openssl::x509::X509Ref) -> Vec<String> {
    let mut names = Vec::new();
    // SAFETY: live certificate; the call only reads it.
    let count = unsafe { X509_get_ext_count(cert.as_ptr()) };
    for i in 0..count {
        // SAFETY: live certificate, and `i` is below its extension count.
        let ext = unsafe { X509_get_ext(cert.as_ptr(), i) };
        if ext.is_null() {
            continue;
        }
        // SAFETY: a non-null extension owned by the live certificate; the
        // call only reads it.
        let obj = unsafe { X509_EXTENSION_get_object(ext) };
        // SAFETY: the extension's object, owned by the certificate (NULL
        // gives NID_undef).
        let nid = openssl::nid::Nid::from_raw(unsafe { OBJ_obj2nid(obj) });
        let name = match nid.long_name() {
            Ok(name) if nid != openssl::nid::Nid::UNDEF => name.to_string(),
            _ => {
                let mut buf = [0 as c_char; 128];
                // SAFETY: `buf` is writable for its length, which is passed;
                // OBJ_obj2txt writes at most that many bytes, NUL included.
                unsafe { OBJ_obj2txt(buf.as_mut_ptr(), buf.len() as c_int, obj, 1) };
                // SAFETY: `buf` is NUL-terminated: it starts zeroed and
                // OBJ_obj2txt truncates within it, ending with a NUL.
                unsafe { static_text(buf.as_ptr()) }
            }
        };
        names.push(name);
    }
    names
}

/// The public key bits of a certificate (`X509_get0_pubkey_bitstr`).
pub fn public_key_bits(cert: &openssl::x509::X509Ref) -> Vec<u8> {
    // SAFETY: live certificate; the call only reads it.
    let bits = unsafe { X509_get0_pubkey_bitstr(cert.as_ptr()) };
    // SAFETY: NULL or a bit string (an ASN1_STRING) owned by the
    // certificate, live while `cert` is borrowed.
    unsafe { asn1_bytes(bits as *const openssl_sys::ASN1_STRING) }
}

/// `SSL_get_security_level`.
pub fn security_level(ssl: &SslRef) -> i32 {
    // SAFETY: live SSL.
    unsafe { openssl_sys::SSL_get_security_level(ssl.as_ptr()) }
}

/// `SSL_get_secure_renegotiation_support` (a macro over `SSL_ctrl`).
pub fn secure_renegotiation(ssl: &SslRef) -> bool {
    const SSL_CTRL_GET_RI_SUPPORT: c_int = 76;
    // SAFETY: live SSL; this control only reads a flag.
    unsafe { openssl_sys::SSL_ctrl(ssl.as_ptr(), SSL_CTRL_GET_RI_SUPPORT, 0, std::ptr::null_mut()) != 0 }
}

/// `SSL_CTX_get_session_cache_mode` of the connection's context.
pub fn session_cache_mode(ssl: &SslRef) -> i64 {
    const SSL_CTRL_GET_SESS_CACHE_MODE: c_int = 45;
    // SAFETY: live SSL; the call returns its context, which the SSL holds
    // a reference to.
    let ctx = unsafe { openssl_sys::SSL_get_SSL_CTX(ssl.as_ptr()) };
    // SAFETY: the live context of a live SSL; this control only reads a
    // field.
    unsafe { openssl_sys::SSL_CTX_ctrl(ctx, SSL_CTRL_GET_SESS_CACHE_MODE, 0, std::ptr::null_mut()) as i64 }
}

extern "C" {
    fn SSL_trace(write_p: c_int, version: c_int, content_type: c_int, buf: *const std::ffi::c_void, len: usize, ssl: *mut openssl_sys::SSL, arg: *mut std::ffi::c_void);
    fn BIO_free(b: *mut openssl_sys::BIO) -> c_int;
}

/// `SSL_trace`: OpenSSL's own description of a protocol message, as text.
pub fn trace_text(ssl: &SslRef, sent: bool, version: c_int, content_type: c_int, data: &[u8]) -> String {
    const BIO_CTRL_INFO: c_int = 3;
    // SAFETY: takes no arguments; returns the static memory BIO method.
    let method = unsafe { openssl_sys::BIO_s_mem() };
    // SAFETY: a valid BIO method; the new BIO is ours, used for this call
    // only and freed at the end.
    let bio = unsafe { openssl_sys::BIO_new(method) };
    if bio.is_null() {
        return String::new();
    }
    // SAFETY: live SSL; `data` is readable for its length; the argument is
    // our live memory BIO, which SSL_trace writes its text into.
    unsafe { SSL_trace(sent as c_int, version, content_type, data.as_ptr() as *const std::ffi::c_void, data.len(), ssl.as_ptr(), bio as *mut std::ffi::c_void) };
    let mut text: *mut c_char = std::ptr::null_mut();
    // SAFETY: our live memory BIO; BIO_CTRL_INFO stores a pointer to its
    // contents in the local `text` and returns their length.
    let len = unsafe { openssl_sys::BIO_ctrl(bio, BIO_CTRL_INFO, 0, &mut text as *mut *mut c_char as *mut std::ffi::c_void) };
    let out = if text.is_null() || len <= 0 {
        String::new()
    } else {
        // SAFETY: `text` points at the BIO's `len` bytes, live until the
        // BIO is freed below; copied at once.
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(text as *const u8, len as usize) }).into_owned()
    };
    // SAFETY: our BIO, freed once; nothing points into it any more.
    unsafe { BIO_free(bio) };
    out
}

extern "C" {
    fn SSL_group_to_name(ssl: *mut openssl_sys::SSL, id: c_int) -> *const c_char;
}

/// `SSL_CTRL_GET_NEGOTIATED_GROUP`, the control behind the
/// `SSL_get_negotiated_group` macro.
const SSL_CTRL_GET_NEGOTIATED_GROUP: c_int = 134;

/// The key-exchange group of the handshake (`SSL_get_negotiated_group`),
/// by its TLS name (`SSL_group_to_name`: `x25519`, `secp256r1`,
/// `ffdhe2048`), or `None` when there was none (RSA key exchange,
/// resumption without a new key share).
pub fn negotiated_group(ssl: &SslRef) -> Option<String> {
    // SAFETY: live SSL; this control only reads the handshake's state.
    let id = unsafe { openssl_sys::SSL_ctrl(ssl.as_ptr(), SSL_CTRL_GET_NEGOTIATED_GROUP, 0, std::ptr::null_mut()) };
    if id <= 0 {
        return None;
    }
    let id = c_int::try_from(id).ok()?;
    // SAFETY: live SSL; the call only looks the id up in the context's
    // group table and returns a static string or NULL.
    let name = unsafe { SSL_group_to_name(ssl.as_ptr(), id) };
    if name.is_null() {
        return Some(format!("group {id}"));
    }
    // SAFETY: non-NULL: a NUL-terminated string in a static table.
    let name = unsafe { std::ffi::CStr::from_ptr(name) };
    Some(name.to_string_lossy().into_owned())
}

extern "C" {
    fn X509_STORE_add_crl(store: *mut openssl_sys::X509_STORE, crl: *mut openssl_sys::X509_CRL) -> c_int;
}

/// `X509_STORE_add_crl`: a revocation list for the store's verifications
/// (the store takes its own reference).
pub fn add_crl(store: &mut openssl::x509::store::X509StoreBuilderRef, crl: &openssl::x509::X509CrlRef) -> Result<(), ErrorStack> {
    // SAFETY: both are live; the store up-references the CRL.
    let ok = unsafe { X509_STORE_add_crl(store.as_ptr(), crl.as_ptr()) };
    if ok == 1 {
        Ok(())
    } else {
        Err(ErrorStack::get())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_buffers_only_where_openssl_checks_use() {
        for (number, fixed) in [
            (0x1010_1170, false), // 1.1.1w
            (0x3000_00d0, false), // 3.0.13
            (0x3000_00e0, true),  // 3.0.14
            (0x3000_0130, true),  // 3.0.19
            (0x3010_0050, false), // 3.1.5
            (0x3010_0060, true),  // 3.1.6
            (0x3020_0010, false), // 3.2.1
            (0x3020_0020, true),  // 3.2.2
            (0x3030_0000, false), // 3.3.0
            (0x3030_0010, true),  // 3.3.1
            (0x3040_0000, true),  // 3.4.0
        ] {
            assert_eq!(super::free_buffers_checks_use(number), fixed, "{number:#x}");
        }
    }
}
