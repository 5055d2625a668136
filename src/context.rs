//! Building OpenSSL contexts from a [`TlsConfig`], and sharing them.
//!
//! A context holds the trust store, the local certificate chain and the
//! protocol settings. Building one can cost tens of milliseconds (the
//! platform CA bundle alone), so contexts are cached per process, keyed by
//! every setting that goes into them (including the size and modification
//! time of each file read), and shared by every channel with equal
//! settings. `SslContext` is reference counted by OpenSSL, so a cached or
//! `-model` context is never freed twice.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use openssl::dh::Dh;
use std::net::IpAddr;

use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{AlpnError, SniError, Ssl, SslContext, SslContextBuilder, SslMethod, SslMode, SslSessionCacheMode, SslVersion};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509Crl, X509};

use crate::config::{CrlCheck, Protocols, SniEntry, TlsConfig, Version};
use crate::error::{ErrorKind, Result, TlsError};
use crate::{callbacks, openssl_extra};

/// Asked for a key's password: `(rwflag, max_size)` to the password.
pub type PasswordSource<'a> = &'a mut dyn FnMut(bool, usize) -> Option<String>;

/// The settings a context is made of; equal keys share a context.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ContextKey {
    server: bool,
    files: Vec<(String, Option<(u64, SystemTime)>)>,
    cert: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    castore: Option<String>,
    request: bool,
    require: bool,
    alpn: Vec<String>,
    protocols: Protocols,
    cipher: Option<String>,
    ciphersuites: Option<String>,
    security_level: Option<i32>,
    cache_size: usize,
    post_handshake: bool,
    validate: bool,
    keylog: Option<String>,
    // Issue 17's settings.
    groups: Vec<String>,
    pins: Vec<crate::config::Pin>,
    crl_check: CrlCheck,
    /// Each `-sni` pattern with the key of the context it selects.
    sni: Vec<(String, ContextKey)>,
}

impl ContextKey {
    fn new(config: &TlsConfig) -> ContextKey {
        let file = |tag: &str, path: &Option<String>| {
            path.as_ref().map(|p| {
                let stamp = match config.virtual_file(p) {
                    // Tcl's size and time of a file in a virtual filesystem.
                    Some(v) => Some((v.size, SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(v.mtime.max(0) as u64))),
                    None => std::fs::metadata(p).ok().and_then(|m| Some((m.len(), m.modified().ok()?))),
                };
                (format!("{tag}={p}"), stamp)
            })
        };
        let mut files: Vec<_> = config.files().into_iter().filter_map(|(option, path)| file(option, path)).collect();
        if config.cafile.is_none() && config.cadir.is_none() && config.castore.is_none() {
            // The platform trust store: SSL_CERT_FILE and SSL_CERT_DIR as
            // they are now (a script may set them between connections).
            for var in ["SSL_CERT_FILE", "SSL_CERT_DIR"] {
                if let Some(path) = std::env::var_os(var) {
                    files.extend(file(var, &Some(path.to_string_lossy().into_owned())));
                }
            }
        }
        ContextKey {
            server: config.server,
            files,
            cert: config.cert.clone(),
            key: config.key.clone(),
            castore: config.castore.clone(),
            request: config.request(),
            require: config.require(),
            alpn: config.alpn.clone(),
            protocols: config.protocols,
            cipher: config.cipher.clone(),
            ciphersuites: config.ciphersuites.clone(),
            security_level: config.security_level,
            cache_size: config.cache_size(),
            post_handshake: config.post_handshake,
            validate: config.validatecommand.is_some(),
            keylog: keylog_file(config),
            groups: config.groups.clone(),
            pins: config.pins.clone(),
            crl_check: config.crl_check(),
            sni: config.sni.iter().filter_map(|entry| Some((entry.pattern.clone(), ContextKey::new(&entry.apply_to(config).ok()?)))).collect(),
        }
    }
}

/// TLS 1.3 cipher suites, in order of preference, when none are given.
const DEFAULT_CIPHERSUITES: &str = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// Contexts kept at most; past this the cache starts afresh (channels
/// keep their own references, so nothing in use is freed).
const CACHE_LIMIT: usize = 64;

fn cache() -> &'static Mutex<HashMap<ContextKey, SslContext>> {
    static CACHE: OnceLock<Mutex<HashMap<ContextKey, SslContext>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The shared context for `config`, built on first use.
pub fn context_for(config: &TlsConfig, password: PasswordSource) -> Result<SslContext> {
    let key = ContextKey::new(config);
    if let Some(found) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(found);
    }
    let mut asked = false;
    let mut asking = |rwflag: bool, size: usize| {
        asked = true;
        password(rwflag, size)
    };
    let context = build(config, &mut asking)?;
    if asked {
        // An encrypted key: each import must prove it knows the password.
        return Ok(context);
    }
    if let Ok(mut cache) = cache().lock() {
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, context.clone());
    }
    Ok(context)
}

fn build(config: &TlsConfig, password: PasswordSource) -> Result<SslContext> {
    if !config.sni.is_empty() && !config.server {
        return Err(TlsError::new(ErrorKind::Option, "-sni", "-sni is a server option: a client names its server with -servername"));
    }
    let ssl_error = |what: &'static str| move |e| TlsError::ssl(ErrorKind::Ssl, what, &e);
    let method = if config.server { SslMethod::tls_server() } else { SslMethod::tls_client() };
    let mut builder = SslContext::builder(method).map_err(ssl_error("cannot create SSL context"))?;
    builder.set_mode(SslMode::RELEASE_BUFFERS | SslMode::ACCEPT_MOVING_WRITE_BUFFER);
    set_protocols(&mut builder, &config.protocols)?;
    if let Some(level) = config.security_level {
        builder.set_security_level(level as u32);
    }
    if let Some(cipher) = &config.cipher {
        builder.set_cipher_list(cipher).map_err(|e| bad_value("-cipher", cipher, &e))?;
    }
    // Without -ciphersuites, prefer AES-128-GCM as browsers do: as secure
    // for TLS and faster than OpenSSL's first choice, AES-256-GCM.
    let suites = config.ciphersuites.as_deref().unwrap_or(DEFAULT_CIPHERSUITES);
    builder.set_ciphersuites(suites).map_err(|e| bad_value("-ciphersuites", suites, &e))?;
    set_groups(&mut builder, &config.groups)?;
    load_identity(&mut builder, config, password)?;
    load_trust(&mut builder, config)?;
    load_crls(&mut builder, config)?;
    if let Some(path) = &config.dhparams {
        let pem = read_file(config, "-dhparams", path)?;
        let dh = Dh::params_from_pem(&pem).map_err(|e| file_error("-dhparams", path, "not a DH parameters file", &e))?;
        builder.set_tmp_dh(&dh).map_err(ssl_error("cannot use DH parameters"))?;
    } else if config.server && !openssl_extra::enable_dh_auto(&mut builder) {
        return Err(TlsError::ssl(ErrorKind::Ssl, "cannot enable automatic DH parameters", &openssl::error::ErrorStack::get()));
    }
    if config.server {
        builder.set_session_id_context(b"tcltls").map_err(ssl_error("cannot set session id context"))?;
        // One TLS 1.3 ticket per handshake, not OpenSSL's two: a client
        // resumes with one, and each ticket costs the server a session
        // encryption and the client a parsed SSL_SESSION that holds the
        // certificate chain. A resumed connection gets a fresh ticket.
        builder.set_num_tickets(1).map_err(ssl_error("cannot set the number of session tickets"))?;
        // Sessions for TLS 1.2 clients that resume by session id: at most
        // -cachesize (OpenSSL's default, 20,480, let such clients grow a
        // server by 22 MB); each expires after OpenSSL's default 7200 s.
        // Tickets (TLS 1.3, and 1.2 clients that take them) are not cached.
        match config.cache_size() {
            0 => {
                builder.set_session_cache_mode(SslSessionCacheMode::OFF);
            }
            size => {
                builder.set_session_cache_mode(SslSessionCacheMode::SERVER);
                builder.set_session_cache_size(size.min(i32::MAX as usize) as i32);
            }
        }
        if !config.alpn.is_empty() || config.validatecommand.is_some() {
            let wire = alpn_wire(&config.alpn)?;
            builder.set_alpn_select_callback(move |ssl, client| {
                let hooks = callbacks::hooks(ssl);
                callbacks::guarded(hooks.as_deref(), || Err(AlpnError::ALERT_FATAL), || callbacks::select_alpn(ssl, &wire, client))
            });
        }
        if config.validatecommand.is_some() {
            builder.set_client_hello_callback(|ssl, alert| {
                let hooks = callbacks::hooks(ssl);
                callbacks::guarded(hooks.as_deref(), || Err(openssl::error::ErrorStack::get()), || callbacks::on_client_hello(ssl, alert))
            });
        }
        let by_name = sni_contexts(config, password)?;
        if config.validatecommand.is_some() || !by_name.is_empty() {
            let validate = config.validatecommand.is_some();
            builder.set_servername_callback(move |ssl, alert| {
                let hooks = callbacks::hooks(ssl);
                callbacks::guarded(
                    hooks.as_deref(),
                    || Err(SniError::ALERT_FATAL),
                    || {
                        if validate {
                            callbacks::on_servername(ssl, alert)?;
                        }
                        select_by_name(ssl, &by_name)
                    },
                )
            });
        }
    } else {
        // Clients remember sessions per server for resumption, in the
        // package's own bounded store only: OpenSSL's internal client
        // cache would also keep every ticket a server sends (20,480 at
        // most, 35 MB from one server that sends 20,000).
        builder.set_session_cache_mode(SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL_STORE);
        callbacks::add_session_store(&mut builder, config.cache_size());
    }
    builder.set_new_session_callback(|ssl, session| {
        let hooks = callbacks::hooks(ssl);
        callbacks::guarded(hooks.as_deref(), || (), || callbacks::on_new_session(ssl, session))
    });
    if let Some(path) = keylog_file(config) {
        if config.keylog.is_some() {
            // Say now, not never, that the file cannot be written.
            open_keylog(&path).map_err(|e| TlsError::new(ErrorKind::File, path.as_str(), format!("-keylog \"{path}\": {}", io_reason(&e))))?;
        }
        builder.set_keylog_callback(move |_, line| crate::tcl::boundary((), || append_keylog(&path, line)));
    }
    // Connections made by `tls::import` replace this callback with one that
    // also runs -validatecommand (callbacks::attach); the rule is the same.
    let require = config.require();
    builder.set_verify_callback(config.verify_mode(), move |ok, _| crate::config::passes_verification(ok, require));
    if config.post_handshake && !config.server {
        openssl_extra::enable_post_handshake_auth(&mut builder);
    }
    Ok(builder.build())
}

/// `-sni`: the context of each entry (the configuration with the entry's
/// identity), built and cached like any other.
fn sni_contexts(config: &TlsConfig, password: PasswordSource) -> Result<Vec<(SniEntry, SslContext)>> {
    config
        .sni
        .iter()
        .map(|entry| {
            let sub = entry.apply_to(config)?;
            let context = context_for(&sub, &mut *password).map_err(|e| TlsError::new(e.kind, e.detail.clone(), format!("-sni \"{}\": {}", entry.pattern, e.message())))?;
            Ok((entry.clone(), context))
        })
        .collect()
}

/// Serves the certificate of the first `-sni` pattern the client's server
/// name matches (`SSL_set_SSL_CTX`); other names keep the default one.
fn select_by_name(ssl: &mut openssl::ssl::SslRef, by_name: &[(SniEntry, SslContext)]) -> std::result::Result<(), SniError> {
    let Some(name) = ssl.servername(openssl::ssl::NameType::HOST_NAME).map(str::to_string) else {
        return Ok(());
    };
    if let Some((_, context)) = by_name.iter().find(|(entry, _)| entry.matches(&name)) {
        ssl.set_ssl_context(context).map_err(|_| SniError::ALERT_FATAL)?;
    }
    Ok(())
}

/// The versions offered: the range of [`Protocols::range`], holes and all.
fn set_protocols(builder: &mut SslContextBuilder, p: &Protocols) -> Result<()> {
    let has = |v: Version| match v {
        Version::Ssl2 => false,
        Version::Ssl3 => openssl_extra::ssl3_available(),
        _ => true,
    };
    let (low, high) = p.range(has)?;
    let openssl_version = |v: Version| match v {
        Version::Ssl2 | Version::Ssl3 => SslVersion::SSL3,
        Version::Tls1 => SslVersion::TLS1,
        Version::Tls1_1 => SslVersion::TLS1_1,
        Version::Tls1_2 => SslVersion::TLS1_2,
        Version::Tls1_3 => SslVersion::TLS1_3,
    };
    let ssl_error = |e| TlsError::ssl(ErrorKind::Ssl, "cannot set protocol versions", &e);
    builder.set_min_proto_version(Some(openssl_version(low))).map_err(ssl_error)?;
    builder.set_max_proto_version(Some(openssl_version(high))).map_err(ssl_error)?;
    Ok(())
}

/// `-groups`: `SSL_CTX_set1_groups_list`. OpenSSL's error does not say
/// which name it did not know, so on failure each is tried alone.
fn set_groups(builder: &mut SslContextBuilder, groups: &[String]) -> Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    if let Some(bad) = groups.iter().find(|g| g.is_empty() || g.contains(':')) {
        return Err(TlsError::new(ErrorKind::Value, "-groups", format!("bad value \"{bad}\" for -groups: not a group name")));
    }
    if builder.set_groups_list(&groups.join(":")).is_ok() {
        return Ok(());
    }
    let known = |name: &str| SslContext::builder(SslMethod::tls()).map(|mut b| b.set_groups_list(name).is_ok()).unwrap_or(false);
    let unknown: Vec<&str> = groups.iter().map(String::as_str).filter(|g| !known(g)).collect();
    let message = match unknown.as_slice() {
        [] => format!("bad value \"{}\" for -groups: OpenSSL refused the list", groups.join(" ")),
        [one] => format!("bad value \"{}\" for -groups: unknown group \"{one}\"", groups.join(" ")),
        many => format!("bad value \"{}\" for -groups: unknown groups \"{}\"", groups.join(" "), many.join("\", \"")),
    };
    Err(TlsError::new(ErrorKind::Value, "-groups", message))
}

fn load_identity(builder: &mut SslContextBuilder, config: &TlsConfig, password: PasswordSource) -> Result<()> {
    if let Some(path) = &config.pkcs12 {
        if config.cert.is_some() || config.certfile.is_some() || config.key.is_some() || config.keyfile.is_some() {
            return Err(TlsError::new(ErrorKind::Option, "-pkcs12", "-pkcs12 holds the certificate and key: give no -cert, -certfile, -key or -keyfile with it"));
        }
        return load_pkcs12(builder, config, path, password);
    }
    let mut have_cert = false;
    if let Some(der) = &config.cert {
        let cert = X509::from_der(der).map_err(|e| TlsError::ssl(ErrorKind::Key, "bad value for -cert: not a DER certificate", &e))?;
        builder.set_certificate(&cert).map_err(|e| TlsError::ssl(ErrorKind::Key, "cannot use -cert", &e))?;
        have_cert = true;
    } else if let Some(path) = &config.certfile {
        let pem = read_file(config, "-certfile", path)?;
        let mut chain = X509::stack_from_pem(&pem).map_err(|e| file_error("-certfile", path, "no certificate in file", &e))?.into_iter();
        let leaf = chain.next().ok_or_else(|| TlsError::new(ErrorKind::File, path.as_str(), format!("-certfile \"{path}\": no PEM certificate in file")))?;
        builder.set_certificate(&leaf).map_err(|e| TlsError::ssl(ErrorKind::Key, "cannot use -certfile", &e))?;
        // The whole chain is sent, so peers that trust only the root can
        // verify a certificate issued by an intermediate.
        for extra in chain {
            builder.add_extra_chain_cert(extra).map_err(|e| TlsError::ssl(ErrorKind::Key, "cannot add chain certificate", &e))?;
        }
        have_cert = true;
    }
    let key: Option<PKey<Private>> = if let Some(der) = &config.key {
        Some(key_from_der(der)?)
    } else if let Some(path) = config.keyfile.as_ref().or(if have_cert { config.certfile.as_ref() } else { None }) {
        let option = if config.keyfile.is_some() { "-keyfile" } else { "-certfile" };
        Some(key_from_pem_file(config, option, path, password)?)
    } else {
        None
    };
    match (have_cert, key) {
        (true, Some(key)) => {
            let mismatch = || TlsError::new(ErrorKind::Key, "MISMATCH", "private key does not match the certificate");
            builder.set_private_key(&key).map_err(|e| {
                if crate::error::describe_stack(&e).contains("mismatch") {
                    mismatch()
                } else {
                    TlsError::ssl(ErrorKind::Key, "cannot use private key", &e)
                }
            })?;
            builder.check_private_key().map_err(|_| mismatch())?;
        }
        (true, None) => return Err(TlsError::new(ErrorKind::Key, "MISSING", "a certificate needs a private key (-keyfile or -key)")),
        (false, Some(_)) => return Err(TlsError::new(ErrorKind::Key, "MISSING", "a private key needs a certificate (-certfile or -cert)")),
        (false, None) => {}
    }
    Ok(())
}

/// `-pkcs12`: the certificate, its key and the chain from one file
/// (`PKCS12_parse`), decrypted with the `-password` script's answer.
fn load_pkcs12(builder: &mut SslContextBuilder, config: &TlsConfig, path: &str, password: PasswordSource) -> Result<()> {
    let der = read_file(config, "-pkcs12", path)?;
    let archive = Pkcs12::from_der(&der).map_err(|e| file_error("-pkcs12", path, "not a PKCS#12 file", &e))?;
    let secret = password(false, 1024).unwrap_or_default();
    if secret.contains('\0') {
        return Err(TlsError::new(ErrorKind::Key, "PASSWORD", format!("cannot decrypt \"{path}\": the password holds a NUL character")));
    }
    let parsed = archive.parse2(&secret).map_err(|e| {
        let reasons = crate::error::describe_stack(&e);
        if reasons.contains("mac verify failure") || reasons.contains("decrypt") {
            let why = if secret.is_empty() { "no password given" } else { "wrong password" };
            TlsError::new(ErrorKind::Key, "PASSWORD", format!("cannot decrypt \"{path}\": {why} (use -password)"))
        } else {
            file_error("-pkcs12", path, "cannot read PKCS#12 file", &e)
        }
    })?;
    let missing = |what: &str| TlsError::new(ErrorKind::Key, "MISSING", format!("-pkcs12 \"{path}\": no {what} in file"));
    let cert = parsed.cert.ok_or_else(|| missing("certificate"))?;
    let key = parsed.pkey.ok_or_else(|| missing("private key"))?;
    builder.set_certificate(&cert).map_err(|e| TlsError::ssl(ErrorKind::Key, "cannot use -pkcs12 certificate", &e))?;
    for extra in parsed.ca.into_iter().flatten() {
        builder.add_extra_chain_cert(extra).map_err(|e| TlsError::ssl(ErrorKind::Key, "cannot add chain certificate", &e))?;
    }
    builder.set_private_key(&key).map_err(|e| TlsError::ssl(ErrorKind::Key, "cannot use -pkcs12 private key", &e))?;
    builder.check_private_key().map_err(|_| TlsError::new(ErrorKind::Key, "MISMATCH", "private key does not match the certificate"))
}

fn key_from_der(der: &[u8]) -> Result<PKey<Private>> {
    PKey::private_key_from_der(der)
        .or_else(|_| openssl::rsa::Rsa::private_key_from_der(der).and_then(PKey::from_rsa))
        .or_else(|_| openssl::ec::EcKey::private_key_from_der(der).and_then(PKey::from_ec_key))
        .map_err(|e| TlsError::ssl(ErrorKind::Key, "bad value for -key: not a DER private key", &e))
}

fn key_from_pem_file(config: &TlsConfig, option: &str, path: &str, password: PasswordSource) -> Result<PKey<Private>> {
    let pem = read_file(config, option, path)?;
    let encrypted = pem.windows(9).any(|w| w == b"ENCRYPTED");
    let mut asked = false;
    let mut supplied = false;
    let result = PKey::private_key_from_pem_callback(&pem, |buf| {
        asked = true;
        // Never fall back to OpenSSL's terminal prompt: no password from
        // the script means an empty one, which fails cleanly.
        let secret = password(false, buf.len()).unwrap_or_default();
        supplied = !secret.is_empty();
        let bytes = secret.as_bytes();
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok(n)
    });
    result.map_err(|e| {
        if asked || encrypted {
            let why = if supplied { "wrong password" } else { "no password given" };
            TlsError::new(ErrorKind::Key, "PASSWORD", format!("cannot decrypt private key in \"{path}\": {why} (use -password)"))
        } else {
            file_error(option, path, "no private key in file", &e)
        }
    })
}

fn load_trust(builder: &mut SslContextBuilder, config: &TlsConfig) -> Result<()> {
    if !config.request() && config.cafile.is_none() && config.cadir.is_none() && config.castore.is_none() {
        return Ok(());
    }
    let virtual_ca = config.cafile.as_deref().and_then(|p| config.virtual_file(p));
    if let Some(path) = &config.cafile {
        read_file(config, "-cafile", path)?;
    }
    if let Some(file) = virtual_ca {
        // OpenSSL cannot open it: the certificates go into the store here.
        let path = file.path.as_str();
        let certs = X509::stack_from_pem(&file.data).map_err(|e| file_error("-cafile", path, "no CA certificates loaded", &e))?;
        if certs.is_empty() {
            return Err(TlsError::new(ErrorKind::File, path, format!("-cafile \"{path}\": no CA certificates loaded")));
        }
        for cert in &certs {
            builder.cert_store_mut().add_cert(cert.clone()).map_err(|e| file_error("-cafile", path, "cannot use CA certificate", &e))?;
            if config.server {
                builder.add_client_ca(cert).map_err(|e| file_error("-cafile", path, "cannot use CA certificate", &e))?;
            }
        }
    }
    if let Some(dir) = &config.cadir {
        if !std::path::Path::new(dir).is_dir() {
            return Err(TlsError::new(ErrorKind::File, dir.as_str(), format!("-cadir \"{dir}\": no such directory")));
        }
    }
    let native_cafile = config.cafile.as_deref().filter(|_| virtual_ca.is_none());
    if native_cafile.is_some() || config.cadir.is_some() {
        builder.load_verify_locations(native_cafile.map(std::path::Path::new), config.cadir.as_deref().map(std::path::Path::new)).map_err(|e| {
            let path = config.cafile.clone().or(config.cadir.clone()).unwrap_or_default();
            file_error("-cafile", &path, "no CA certificates loaded", &e)
        })?;
    }
    if let Some(uri) = &config.castore {
        openssl_extra::load_verify_store(builder, uri).map_err(|e| TlsError::ssl(ErrorKind::File, &format!("-castore \"{uri}\": cannot load CA store"), &e))?;
    }
    if config.cafile.is_none() && config.cadir.is_none() && config.castore.is_none() {
        // The platform trust store (src/os); SSL_CERT_FILE and
        // SSL_CERT_DIR apply.
        crate::os::default_trust(builder).map_err(|e| TlsError::ssl(ErrorKind::Ssl, "cannot load the default CA store", &e))?;
    }
    if config.server && virtual_ca.is_none() {
        // Tell clients which CAs we accept their certificates from.
        if let Some(path) = &config.cafile {
            if let Ok(names) = openssl::x509::X509Name::load_client_ca_file(path) {
                builder.set_client_ca_list(names);
            }
        }
    }
    Ok(())
}

/// `-crlfile` and `-crlcheck`: the revocation lists join the trust
/// store, and the store checks the leaf or every certificate against
/// them (a certificate whose issuer has no list then fails with "unable
/// to get certificate CRL").
fn load_crls(builder: &mut SslContextBuilder, config: &TlsConfig) -> Result<()> {
    if let Some(path) = &config.crlfile {
        let pem = read_file(config, "-crlfile", path)?;
        let blocks = pem_blocks(&pem, "X509 CRL");
        if blocks.is_empty() {
            return Err(TlsError::new(ErrorKind::File, path.as_str(), format!("-crlfile \"{path}\": no PEM CRL in file")));
        }
        for block in blocks {
            let crl = X509Crl::from_pem(block).map_err(|e| file_error("-crlfile", path, "bad CRL", &e))?;
            openssl_extra::add_crl(builder.cert_store_mut(), &crl).map_err(|e| file_error("-crlfile", path, "cannot use CRL", &e))?;
        }
    }
    let flags = match config.crl_check() {
        CrlCheck::None => return Ok(()),
        CrlCheck::Leaf => X509VerifyFlags::CRL_CHECK,
        CrlCheck::Chain => X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL,
    };
    builder.cert_store_mut().set_flags(flags).map_err(|e| TlsError::ssl(ErrorKind::Ssl, "cannot enable CRL checking", &e))
}

/// The PEM blocks of one `label` in `pem`, each from BEGIN to END.
fn pem_blocks<'a>(pem: &'a [u8], label: &str) -> Vec<&'a [u8]> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = find(rest, begin.as_bytes()) {
        let Some(stop) = find(&rest[start..], end.as_bytes()) else { break };
        let stop = start + stop + end.len();
        blocks.push(&rest[start..stop]);
        rest = &rest[stop..];
    }
    blocks
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A connection for `config` on `context`, with SNI, host name checking
/// and ALPN set; also the name the certificate must match.
pub fn new_connection(context: &SslContext, config: &TlsConfig) -> Result<(Ssl, Option<String>)> {
    let ssl_error = |what: &'static str| move |e| TlsError::ssl(ErrorKind::Ssl, what, &e);
    let mut ssl = Ssl::new(context).map_err(ssl_error("cannot create TLS connection"))?;
    let mut expected = None;
    if config.server {
        ssl.set_accept_state();
    } else {
        ssl.set_connect_state();
        if let Some(name) = &config.servername {
            let ip = name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
            if ip.is_none() {
                ssl.set_hostname(name).map_err(|e| TlsError::ssl(ErrorKind::Value, "bad value for -servername", &e))?;
            }
            if config.request() {
                let param = ssl.param_mut();
                match ip {
                    Some(ip) => param.set_ip(ip),
                    None => param.set_host(name),
                }
                .map_err(|e| TlsError::ssl(ErrorKind::Value, "bad value for -servername", &e))?;
                expected = Some(name.clone());
            }
        }
        if !config.alpn.is_empty() {
            ssl.set_alpn_protos(&alpn_wire(&config.alpn)?).map_err(ssl_error("cannot set ALPN protocols"))?;
        }
    }
    Ok((ssl, expected))
}

/// Where key material is logged (NSS key log format): `-keylog`, else
/// `SSLKEYLOGFILE`.
fn keylog_file(config: &TlsConfig) -> Option<String> {
    config.keylog.clone().or_else(|| std::env::var("SSLKEYLOGFILE").ok().filter(|p| !p.is_empty()))
}

fn open_keylog(path: &str) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().create(true).append(true).open(path)
}

fn append_keylog(path: &str, line: &str) {
    use std::io::Write;
    if let Ok(mut file) = open_keylog(path) {
        let _ = writeln!(file, "{line}");
    }
}

/// ALPN protocol names in wire format (length-prefixed).
pub fn alpn_wire(protocols: &[String]) -> Result<Vec<u8>> {
    let mut wire = Vec::new();
    for name in protocols {
        if name.is_empty() || name.len() > 255 {
            return Err(TlsError::new(ErrorKind::Value, "-alpn", format!("bad ALPN protocol name \"{name}\"")));
        }
        wire.push(name.len() as u8);
        wire.extend_from_slice(name.as_bytes());
    }
    Ok(wire)
}

fn read_file(config: &TlsConfig, option: &str, path: &str) -> Result<Vec<u8>> {
    if let Some(file) = config.virtual_file(path) {
        return Ok(file.data.clone());
    }
    std::fs::read(path).map_err(|e| TlsError::new(ErrorKind::File, path, format!("{option} \"{path}\": {}", io_reason(&e))))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

fn file_error(option: &str, path: &str, what: &str, stack: &openssl::error::ErrorStack) -> TlsError {
    let reason = crate::error::describe_stack(stack);
    let message = if reason.is_empty() { format!("{option} \"{path}\": {what}") } else { format!("{option} \"{path}\": {what} ({reason})") };
    TlsError::new(ErrorKind::File, path, message)
}

fn bad_value(option: &str, value: &str, stack: &openssl::error::ErrorStack) -> TlsError {
    let reason = crate::error::describe_stack(stack);
    TlsError::new(ErrorKind::Value, option, format!("bad value \"{value}\" for {option}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_are_split() {
        let pem = b"junk\n-----BEGIN X509 CRL-----\nAAA\n-----END X509 CRL-----\n-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n-----BEGIN X509 CRL-----\nCCC\n-----END X509 CRL-----\n";
        let blocks = pem_blocks(pem, "X509 CRL");
        assert_eq!(blocks.len(), 2);
        assert!(blocks[0].starts_with(b"-----BEGIN X509 CRL-----\nAAA"));
        assert!(blocks[1].ends_with(b"CCC\n-----END X509 CRL-----"));
        assert!(pem_blocks(b"-----BEGIN X509 CRL-----\nno end", "X509 CRL").is_empty());
    }
}
