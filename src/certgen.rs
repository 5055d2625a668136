//! A key and a self-signed certificate for `tls::misc req` and
//! `tls::misc strreq` (TclTLS's undocumented commands, used to make a
//! certificate at a server's first start). Safe Rust below the command
//! layer: parameters in, PEM text out.

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};

use crate::error::{ErrorKind, Result, TlsError};

/// The subject fields `tls::misc` takes, in TclTLS's order, with the
/// OpenSSL names they become.
pub const SUBJECT_FIELDS: &[(&str, &str)] = &[("C", "C"), ("ST", "ST"), ("L", "L"), ("O", "O"), ("OU", "OU"), ("CN", "CN"), ("Email", "emailAddress")];

/// What the certificate is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub key_bits: u32,
    pub days: u32,
    pub serial: u32,
    /// `(field, value)` pairs of [`SUBJECT_FIELDS`]; empty values are left out.
    pub subject: Vec<(String, String)>,
}

/// The private key (PKCS#8 PEM) and the certificate (PEM): an RSA key of
/// `key_bits`, a version 3 certificate valid from now for `days`, whose
/// issuer is its subject, signed with SHA-256.
pub fn self_signed(request: &Request) -> Result<(String, String)> {
    let key_error = |e| TlsError::ssl(ErrorKind::Key, "Error generating private key", &e);
    let rsa = Rsa::generate(request.key_bits).map_err(key_error)?;
    let key = PKey::from_rsa(rsa).map_err(key_error)?;
    let cert_error = |e| TlsError::ssl(ErrorKind::Ssl, "Error generating certificate", &e);
    let mut name = X509NameBuilder::new().map_err(cert_error)?;
    if let Some((field, _)) = request.subject.iter().find(|(f, _)| !SUBJECT_FIELDS.iter().any(|(known, _)| known == f)) {
        return Err(TlsError::new(ErrorKind::Value, field.as_str(), "Unknown parameter"));
    }
    // TclTLS's order, whatever the order given; the last value of a field wins.
    for (field, openssl_name) in SUBJECT_FIELDS {
        let value = request.subject.iter().rev().find(|(f, _)| f == field).map(|(_, v)| v.as_str()).unwrap_or("");
        if !value.is_empty() {
            name.append_entry_by_text(openssl_name, value).map_err(|e| TlsError::ssl(ErrorKind::Value, &format!("bad value \"{value}\" for {field}"), &e))?;
        }
    }
    let name = name.build();
    let mut cert = X509Builder::new().map_err(cert_error)?;
    cert.set_version(2).map_err(cert_error)?;
    let serial = BigNum::from_u32(request.serial).and_then(|n| Asn1Integer::from_bn(&n)).map_err(cert_error)?;
    cert.set_serial_number(&serial).map_err(cert_error)?;
    let not_before = Asn1Time::days_from_now(0).map_err(cert_error)?;
    let not_after = Asn1Time::days_from_now(request.days).map_err(cert_error)?;
    cert.set_not_before(&not_before).map_err(cert_error)?;
    cert.set_not_after(&not_after).map_err(cert_error)?;
    cert.set_subject_name(&name).map_err(cert_error)?;
    cert.set_issuer_name(&name).map_err(cert_error)?;
    cert.set_pubkey(&key).map_err(cert_error)?;
    cert.sign(&key, MessageDigest::sha256()).map_err(|e| TlsError::ssl(ErrorKind::Ssl, "Error signing certificate", &e))?;
    let cert = cert.build();
    let text = |pem: Vec<u8>| String::from_utf8_lossy(&pem).into_owned();
    let key_pem = key.private_key_to_pem_pkcs8().map_err(key_error)?;
    let cert_pem = cert.to_pem().map_err(cert_error)?;
    Ok((text(key_pem), text(cert_pem)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::x509::X509;

    #[test]
    fn a_self_signed_certificate() {
        let request = Request { key_bits: 1024, days: 30, serial: 12, subject: vec![("CN".into(), "example.test".into()), ("O".into(), "Tests".into()), ("OU".into(), "".into())] };
        let (key, cert) = self_signed(&request).unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
        let cert = X509::from_pem(cert.as_bytes()).unwrap();
        let key = PKey::private_key_from_pem(key.as_bytes()).unwrap();
        assert!(cert.verify(&key).unwrap());
        assert_eq!(cert.serial_number().to_bn().unwrap().to_dec_str().unwrap().to_string(), "12");
        let cn = cert.subject_name().entries_by_nid(openssl::nid::Nid::COMMONNAME).next().unwrap();
        assert_eq!(cn.data().to_string().unwrap(), "example.test");
        assert_eq!(cert.subject_name().entries().count(), 2, "empty fields are left out");
        let order: Vec<_> = cert.subject_name().entries().map(|e| e.object().nid()).collect();
        assert_eq!(order, vec![openssl::nid::Nid::ORGANIZATIONNAME, openssl::nid::Nid::COMMONNAME], "TclTLS's order");
        assert_eq!(key.bits(), 1024);
    }

    #[test]
    fn unknown_fields_and_bad_sizes_are_errors() {
        let mut request = Request { key_bits: 1024, days: 1, serial: 0, subject: vec![("XX".into(), "x".into())] };
        assert_eq!(self_signed(&request).unwrap_err().message(), "Unknown parameter");
        request.subject.clear();
        request.key_bits = 1;
        assert!(self_signed(&request).unwrap_err().message().starts_with("Error generating private key"));
    }
}
