//! The key/value lists of `tls::status`, built from a connection and a
//! certificate in safe Rust. Key names and value spellings follow the
//! manual (`protocol` is `TLS1.3`, not OpenSSL's `TLSv1.3`).

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::ssl::{SslRef, SslVerifyMode, SslVersion};
use openssl::x509::{X509NameRef, X509Ref};

use crate::openssl_extra;
use crate::tcl::Obj;

/// A status value: Tcl gets strings, integers or lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
    List(Vec<String>),
    /// A binary string (Tcl byte array).
    Bytes(Vec<u8>),
}

pub type Status = Vec<(&'static str, Value)>;

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// The manual's name for a protocol version.
pub fn protocol_name(version: Option<SslVersion>) -> &'static str {
    match version {
        Some(SslVersion::SSL3) => "SSL3",
        Some(SslVersion::TLS1) => "TLS1",
        Some(SslVersion::TLS1_1) => "TLS1.1",
        Some(SslVersion::TLS1_2) => "TLS1.2",
        Some(SslVersion::TLS1_3) => "TLS1.3",
        _ => "unknown",
    }
}

/// SSL status of a connection whose handshake is complete.
pub fn connection_status(ssl: &SslRef, verify_mode: SslVerifyMode, peer_end: &str) -> Status {
    let mut status: Status = Vec::new();
    let cipher = ssl.current_cipher();
    status.push(("alpn", text(ssl.selected_alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default())));
    status.push(("cipher", text(cipher.map(|c| c.name()).unwrap_or(""))));
    status.push(("peername", text(openssl_extra::peername(ssl).unwrap_or_default())));
    status.push(("protocol", text(protocol_name(ssl.version2()))));
    status.push(("sbits", Value::Int(cipher.map(|c| c.bits().secret as i64).unwrap_or(0))));
    status.push(("verifyDepth", Value::Int(-1)));
    status.push(("verifyMode", Value::List(verify_mode_names(verify_mode))));
    status.push(("verifyResult", text(ssl.verify_result().error_string())));
    let (hash, kind) = openssl_extra::peer_signature(ssl);
    status.push(("signatureHashAlgorithm", text(hash.map(nid_name).unwrap_or_default())));
    status.push(("signatureType", text(kind.map(nid_name).unwrap_or_default())));
    status.push(("ca_names", Value::List(ca_names(ssl))));
    status.push(("peer_close", text(peer_end)));
    // Issue 17's keys.
    status.push(("group", text(openssl_extra::negotiated_group(ssl).unwrap_or_default())));
    status.push(("peer_chain", Value::List(peer_chain(ssl))));
    status.push(("verified_chain", Value::List(verified_chain(ssl))));
    status
}

/// `tls::connection`: SSL status, cipher info and session info.
pub fn connection_info(ssl: &SslRef) -> Status {
    let mut info: Status = vec![("state", text(openssl_extra::state_long(ssl)))];
    info.push(("servername", text(ssl.servername(openssl::ssl::NameType::HOST_NAME).unwrap_or(""))));
    info.push(("protocol", text(protocol_name(ssl.version2()))));
    info.push(("renegotiation_allowed", Value::Int(openssl_extra::secure_renegotiation(ssl) as i64)));
    info.push(("security_level", Value::Int(openssl_extra::security_level(ssl) as i64)));
    info.push(("session_reused", Value::Int(ssl.session_reused() as i64)));
    info.push(("is_server", Value::Int(ssl.is_server() as i64)));
    info.push(("compression", text("none")));
    info.push(("expansion", text("none")));
    info.push(("caList", Value::List(ca_names(ssl))));
    if let Some(cipher) = ssl.current_cipher() {
        let (aead, id) = openssl_extra::cipher_aead_and_id(cipher);
        info.push(("cipher", text(cipher.name())));
        info.push(("standard_name", text(cipher.standard_name().unwrap_or(""))));
        info.push(("algorithm_bits", Value::Int(cipher.bits().algorithm as i64)));
        info.push(("secret_bits", Value::Int(cipher.bits().secret as i64)));
        info.push(("min_version", text(cipher.version())));
        info.push(("cipher_is_aead", Value::Int(aead as i64)));
        info.push(("cipher_id", Value::Int(id as i64)));
        info.push(("description", text(cipher.description().trim_end())));
        info.push(("handshake_digest", text(openssl_extra::cipher_handshake_digest(cipher))));
    }
    info.push(("group", text(openssl_extra::negotiated_group(ssl).unwrap_or_default())));
    info.push(("alpn", text(ssl.selected_alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default())));
    info.push(("resumable", Value::Int(openssl_extra::session_resumable(ssl) as i64)));
    if let Some(session) = ssl.session() {
        let (ticket, appdata, lifetime) = openssl_extra::session_ticket(session);
        let mut master = vec![0u8; 64];
        let n = session.master_key(&mut master);
        master.truncate(n);
        info.push(("start_time", Value::Int(crate::os::long_to_i64(session.time()))));
        info.push(("timeout", Value::Int(session.timeout())));
        info.push(("lifetime", Value::Int(lifetime as i64)));
        info.push(("session_id", Value::Bytes(session.id().to_vec())));
        info.push(("session_ticket", Value::Bytes(ticket)));
        info.push(("ticket_app_data", Value::Bytes(appdata)));
        info.push(("master_key", Value::Bytes(master)));
    }
    let mode = openssl_extra::session_cache_mode(ssl);
    let mode = match mode & 3 {
        0 => "none",
        1 => "client",
        2 => "server",
        _ => "both",
    };
    info.push(("session_cache_mode", text(mode)));
    info
}

/// The peer's certificates as it sent them, leaf first, in PEM. OpenSSL
/// keeps a server's view of the client's chain without the leaf
/// (`SSL_get_peer_cert_chain`), so it is put back in front.
fn peer_chain(ssl: &SslRef) -> Vec<String> {
    let Some(chain) = ssl.peer_cert_chain() else {
        return Vec::new();
    };
    let mut pems: Vec<String> = chain.iter().map(pem_text).collect();
    if ssl.is_server() {
        if let Some(leaf) = ssl.peer_certificate() {
            pems.insert(0, pem_text(&leaf));
        }
    }
    pems
}

/// The chain OpenSSL verified, leaf to trust anchor, in PEM
/// (`SSL_get0_verified_chain`); empty unless verification succeeded (and
/// after a resumption, which verifies nothing).
fn verified_chain(ssl: &SslRef) -> Vec<String> {
    if ssl.verify_result() != openssl::x509::X509VerifyResult::OK {
        return Vec::new();
    }
    ssl.verified_chain().map(|chain| chain.iter().map(pem_text).collect()).unwrap_or_default()
}

fn pem_text(cert: &X509Ref) -> String {
    cert.to_pem().map(|p| String::from_utf8_lossy(&p).into_owned()).unwrap_or_default()
}

fn verify_mode_names(mode: SslVerifyMode) -> Vec<String> {
    if mode == SslVerifyMode::NONE {
        return vec!["none".into()];
    }
    let mut names = Vec::new();
    if mode.contains(SslVerifyMode::PEER) {
        names.push("peer".into());
    }
    if mode.contains(SslVerifyMode::FAIL_IF_NO_PEER_CERT) {
        names.push("fail_if_no_peer_cert".into());
    }
    if mode.contains(SslVerifyMode::CLIENT_ONCE) {
        names.push("client_once".into());
    }
    names
}

/// Certificate status of `cert`.
pub fn certificate_status(cert: &X509Ref) -> Status {
    let mut status: Status = Vec::new();
    status.push(("version", Value::Int(cert.version() as i64 + 1)));
    let serial = cert.serial_number().to_bn().and_then(|bn| bn.to_hex_str().map(|s| s.to_string())).unwrap_or_default();
    status.push(("serialNumber", text(serial)));
    let signature = cert.signature_algorithm().object().nid();
    status.push(("signature", text(nid_name(signature))));
    status.push(("issuer", text(name_rfc2253(cert.issuer_name()))));
    status.push(("notBefore", text(cert.not_before().to_string())));
    status.push(("notAfter", text(cert.not_after().to_string())));
    status.push(("subject", text(name_rfc2253(cert.subject_name()))));
    let sans: Vec<String> = cert
        .subject_alt_names()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| {
                    n.dnsname()
                        .map(|d| d.to_string())
                        .or_else(|| n.ipaddress().map(ip_text))
                        .or_else(|| n.email().map(|e| e.to_string()))
                        .or_else(|| n.uri().map(|u| u.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let (issuer_uid, subject_uid) = openssl_extra::unique_ids(cert);
    status.push(("issuerUniqueID", text(hex_upper(&issuer_uid))));
    status.push(("subjectUniqueID", text(hex_upper(&subject_uid))));
    let extensions = openssl_extra::extension_names(cert);
    status.push(("num_extensions", Value::Int(extensions.len() as i64)));
    status.push(("extensions", Value::List(extensions)));
    status.push(("authorityKeyIdentifier", text(cert.authority_key_id().map(|k| hex_upper(k.as_slice())).unwrap_or_default())));
    status.push(("subjectKeyIdentifier", text(cert.subject_key_id().map(|k| hex_upper(k.as_slice())).unwrap_or_default())));
    status.push(("subjectAltName", Value::List(sans)));
    let ocsp = cert.ocsp_responders().map(|list| list.iter().map(|s| s.to_string()).collect()).unwrap_or_default();
    status.push(("ocsp", Value::List(ocsp)));
    status.push(("signatureAlgorithm", text(nid_name(signature))));
    status.push(("signatureValue", text(hex_upper(cert.signature().as_slice()))));
    let digest = signature_digest(signature).and_then(|md| cert.digest(md).ok()).map(|d| hex_upper(&d)).unwrap_or_default();
    status.push(("signatureDigest", text(digest)));
    if let Ok(key) = cert.public_key() {
        status.push(("publicKeyAlgorithm", text(nid_name(Nid::from_raw(key.id().as_raw())))));
        status.push(("publicKey", text(hex_upper(&openssl_extra::public_key_bits(cert)))));
        status.push(("bits", Value::Int(key.bits() as i64)));
    }
    let self_signed = cert.issuer_name_hash() == cert.subject_name_hash() && cert.public_key().map(|k| cert.verify(&k).unwrap_or(false)).unwrap_or(false);
    status.push(("self_signed", Value::Int(self_signed as i64)));
    status.push(("sha1_hash", text(digest_hex(cert, MessageDigest::sha1()))));
    status.push(("sha256_hash", text(digest_hex(cert, MessageDigest::sha256()))));
    status.push(("all", text(cert.to_text().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default())));
    status.push(("certificate", text(pem_text(cert))));
    status
}

/// The digest of a signature algorithm (`sha256WithRSAEncryption` to
/// SHA-256), with which `signatureDigest` is computed over the certificate.
fn signature_digest(signature: Nid) -> Option<MessageDigest> {
    MessageDigest::from_nid(signature.signature_algorithms()?.digest)
}

fn nid_name(nid: Nid) -> String {
    nid.long_name().map(str::to_string).unwrap_or_else(|_| format!("nid {}", nid.as_raw()))
}

fn digest_hex(cert: &X509Ref, md: MessageDigest) -> String {
    cert.digest(md).map(|d| hex_upper(&d)).unwrap_or_default()
}

pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).unwrap_or_default()).to_string(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).unwrap_or_default()).to_string(),
        _ => hex_upper(bytes),
    }
}

/// A distinguished name in RFC 2253 form, most specific part first
/// (`CN=localhost,O=Example,C=US`), as `X509_NAME_print_ex` prints it.
/// The client CA names of a connection, as RFC 2253 strings.
fn ca_names(ssl: &SslRef) -> Vec<String> {
    openssl_extra::client_ca_names(ssl).iter().map(|n| name_rfc2253(n)).collect()
}

/// A status list as a Tcl dictionary-style list.
pub fn status_obj(items: Status) -> Obj {
    Obj::list(items.into_iter().flat_map(|(key, value)| {
        let value = match value {
            Value::Text(s) => Obj::string(&s),
            Value::Int(n) => Obj::int(n),
            Value::List(items) => Obj::list(items.iter().map(|s| Obj::string(s))),
            Value::Bytes(bytes) => Obj::bytes(&bytes),
        };
        [Obj::string(key), value]
    }))
}

pub fn name_rfc2253(name: &X509NameRef) -> String {
    let parts: Vec<String> = name
        .entries()
        .map(|entry| {
            let nid = entry.object().nid();
            let key = nid.short_name().map(str::to_string).unwrap_or_else(|_| entry.object().to_string());
            let value = entry.data().to_string().unwrap_or_else(|_| String::from_utf8_lossy(entry.data().as_slice()).into_owned());
            format!("{key}={}", escape_rdn(&value))
        })
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn escape_rdn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == value.chars().count() && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_follow_the_manual() {
        assert_eq!(protocol_name(Some(SslVersion::TLS1_3)), "TLS1.3");
        assert_eq!(protocol_name(Some(SslVersion::TLS1_2)), "TLS1.2");
        assert_eq!(protocol_name(None), "unknown");
    }

    #[test]
    fn rdn_escaping() {
        assert_eq!(escape_rdn("a,b"), "a\\,b");
        assert_eq!(escape_rdn(" x"), "\\ x");
        assert_eq!(escape_rdn("plain"), "plain");
    }

    #[test]
    fn hex_is_upper_case() {
        assert_eq!(hex_upper(&[0x0a, 0xff]), "0AFF");
    }
}
