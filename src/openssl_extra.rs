//! The few OpenSSL calls the `openssl` crate does not wrap. Each function
//! names the C function it stands for; this is the only module besides the
//! Tcl layer that contains `unsafe`.

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
    if ok == 1 { Ok(()) } else { Err(ErrorStack::get()) }
}

/// `SSL_CTX_set_post_handshake_auth`: let a TLS 1.3 server ask this client
/// for a certificate after the handshake.
pub fn enable_post_handshake_auth(builder: &mut SslContextBuilder) {
    // SAFETY: live SSL_CTX; the call only sets a flag.
    unsafe { openssl_sys::SSL_CTX_set_post_handshake_auth(builder.as_ptr(), 1) };
}

/// Debian (like OpenSSL's default configuration since 1.1.0) builds
/// without SSL 3.0.
pub fn ssl3_supported() -> bool {
    false
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
    /// The oldest protocol the cipher works with (`TLSv1.2`, ...).
    pub min_version: String,
}

/// `SSL_get_ciphers`, or with `supported` `SSL_get1_supported_ciphers`
/// (the ones usable with the enabled protocols and security level).
pub fn cipher_list(ssl: &SslRef, supported: bool) -> Vec<CipherInfo> {
    let mut out = Vec::new();
    // SAFETY: `ssl` is live. SSL_get_ciphers returns a stack owned by the
    // SSL; SSL_get1_supported_ciphers returns one we must free (after the
    // loop), whose elements are owned by the library. Each element is a
    // static SSL_CIPHER, valid for the program's life.
    unsafe {
        let stack = if supported {
            SSL_get1_supported_ciphers(ssl.as_ptr())
        } else {
            SSL_get_ciphers(ssl.as_ptr())
        };
        if stack.is_null() {
            return out;
        }
        for i in 0..OPENSSL_sk_num(stack) {
            let cipher = OPENSSL_sk_value(stack, i) as *mut openssl_sys::SSL_CIPHER;
            if cipher.is_null() {
                continue;
            }
            let cipher = openssl::ssl::SslCipherRef::from_ptr(cipher);
            out.push(CipherInfo {
                name: cipher.name().to_string(),
                description: cipher.description().trim_end().to_string(),
                min_version: cipher.version().to_string(),
            });
        }
        if supported {
            OPENSSL_sk_free(stack);
        }
    }
    out
}

/// `SSL_get0_peername`: the name the peer's certificate matched in host
/// name verification.
pub fn peername(ssl: &SslRef) -> Option<String> {
    // SAFETY: live SSL; the returned string is owned by it and copied at
    // once.
    unsafe {
        let name = SSL_get0_peername(ssl.as_ptr());
        (!name.is_null()).then(|| std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned())
    }
}
