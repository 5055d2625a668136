//! `tls::import` options parsed into a typed [`TlsConfig`].
//!
//! This layer knows nothing of Tcl: the command layer asks [`value_type`]
//! what each option takes, converts the script's value by Tcl's own rules
//! (booleans, integers and lists are Tcl's to judge), and hands over typed
//! [`OptionValue`]s; it gets back a configuration or a [`TlsError`] naming
//! the bad option.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use openssl::ssl::SslVerifyMode;

use crate::error::{ErrorKind, Result, TlsError};

/// One option value, in the type its option takes ([`value_type`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    Text(String),
    /// A binary string (`-cert`, `-key`, `-session_id`).
    Bytes(Vec<u8>),
    Bool(bool),
    Int(i64),
    List(Vec<String>),
    /// A list of lists (`-sni`): each element split into its words.
    Lists(Vec<Vec<String>>),
}

/// What an option's value is; the command layer converts to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Text,
    Bytes,
    Bool,
    Int,
    List,
    Lists,
}

impl ValueType {
    /// How errors name the type (`expected boolean value for ...`).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Text => "string",
            ValueType::Bytes => "binary",
            ValueType::Bool => "boolean",
            ValueType::Int => "integer",
            ValueType::List | ValueType::Lists => "list",
        }
    }
}

/// The type of value the option `name` takes (text for unknown options,
/// which [`TlsConfig::parse`] then refuses by name).
pub fn value_type(name: &str) -> ValueType {
    match canonical(name) {
        Some("-cert" | "-key" | "-session_id") => ValueType::Bytes,
        Some("-post_handshake" | "-request" | "-require" | "-server" | "-ssl2" | "-ssl3" | "-tls1" | "-tls1.1" | "-tls1.2" | "-tls1.3") => ValueType::Bool,
        Some("-security_level" | "-timeout" | "-cachesize") => ValueType::Int,
        Some("-alpn" | "-groups" | "-pin") => ValueType::List,
        Some("-sni") => ValueType::Lists,
        _ => ValueType::Text,
    }
}

/// The error for a value that is not of its option's type.
pub fn wrong_type(option: &str, expected: ValueType, given: &str) -> TlsError {
    TlsError::new(ErrorKind::Value, option, format!("expected {} value for {option} but got \"{given}\"", expected.name()))
}

impl OptionValue {
    /// The value as text (what a string option stores).
    fn text(&self) -> String {
        match self {
            OptionValue::Text(text) => text.clone(),
            OptionValue::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            OptionValue::Bool(flag) => (*flag as u8).to_string(),
            OptionValue::Int(number) => number.to_string(),
            OptionValue::List(words) => words.join(" "),
            OptionValue::Lists(lists) => lists.iter().map(|words| words.join(" ")).collect::<Vec<_>>().join(" "),
        }
    }

    fn flag(&self, option: &str) -> Result<bool> {
        match self {
            OptionValue::Bool(flag) => Ok(*flag),
            other => Err(wrong_type(option, ValueType::Bool, &other.text())),
        }
    }

    fn int(&self, option: &str) -> Result<i64> {
        match self {
            OptionValue::Int(number) => Ok(*number),
            other => Err(wrong_type(option, ValueType::Int, &other.text())),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            OptionValue::Bytes(bytes) => bytes.clone(),
            other => other.text().into_bytes(),
        }
    }

    fn list(&self) -> Vec<String> {
        match self {
            OptionValue::List(words) => words.clone(),
            other => vec![other.text()],
        }
    }

    fn lists(&self, option: &str) -> Result<Vec<Vec<String>>> {
        match self {
            OptionValue::Lists(lists) => Ok(lists.clone()),
            other => Err(wrong_type(option, ValueType::Lists, &other.text())),
        }
    }
}

/// The options of `tls::import`, in the order of the error message. The
/// second spellings that the manual also uses are accepted as aliases.
pub const IMPORT_OPTIONS: &[&str] = &[
    "-alpn",
    "-cachesize",
    "-cadir",
    "-cafile",
    "-castore",
    "-cert",
    "-certfile",
    "-cipher",
    "-ciphersuites",
    "-command",
    "-crlcheck",
    "-crlfile",
    "-dhparams",
    "-groups",
    "-key",
    "-keyfile",
    "-keylog",
    "-model",
    "-password",
    "-pin",
    "-pkcs12",
    "-post_handshake",
    "-request",
    "-require",
    "-security_level",
    "-server",
    "-servername",
    "-session_id",
    "-sni",
    "-ssl2",
    "-ssl3",
    "-timeout",
    "-tls1",
    "-tls1.1",
    "-tls1.2",
    "-tls1.3",
    "-validatecommand",
];

/// Second spellings found in the manual (and in TclTLS 1.x scripts).
fn canonical(name: &str) -> Option<&'static str> {
    let alias = match name {
        "-ciphers" => "-cipher",
        "-securitylevel" => "-security_level",
        "-vcmd" | "-validate_command" => "-validatecommand",
        "-callback" => "-command",
        other => return IMPORT_OPTIONS.iter().copied().find(|o| *o == other),
    };
    Some(alias)
}

/// The protocol versions a connection may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Protocols {
    pub ssl2: bool,
    pub ssl3: bool,
    pub tls1: bool,
    pub tls1_1: bool,
    pub tls1_2: bool,
    pub tls1_3: bool,
}

impl Default for Protocols {
    /// TclTLS 2.0: only TLS 1.2 and 1.3.
    fn default() -> Protocols {
        Protocols { ssl2: false, ssl3: false, tls1: false, tls1_1: false, tls1_2: true, tls1_3: true }
    }
}

/// A protocol version, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Ssl2,
    Ssl3,
    Tls1,
    Tls1_1,
    Tls1_2,
    Tls1_3,
}

impl Version {
    /// The option that enables this version.
    pub fn option(self) -> &'static str {
        match self {
            Version::Ssl2 => "-ssl2",
            Version::Ssl3 => "-ssl3",
            Version::Tls1 => "-tls1",
            Version::Tls1_1 => "-tls1.1",
            Version::Tls1_2 => "-tls1.2",
            Version::Tls1_3 => "-tls1.3",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Version::Ssl2 => "SSL 2.0",
            Version::Ssl3 => "SSL 3.0",
            Version::Tls1 => "TLS 1.0",
            Version::Tls1_1 => "TLS 1.1",
            Version::Tls1_2 => "TLS 1.2",
            Version::Tls1_3 => "TLS 1.3",
        }
    }
}

impl Protocols {
    /// The enabled versions, oldest first.
    pub fn enabled(&self) -> Vec<Version> {
        let flags = [
            (self.ssl2, Version::Ssl2),
            (self.ssl3, Version::Ssl3),
            (self.tls1, Version::Tls1),
            (self.tls1_1, Version::Tls1_1),
            (self.tls1_2, Version::Tls1_2),
            (self.tls1_3, Version::Tls1_3),
        ];
        flags.iter().filter(|(on, _)| *on).map(|&(_, v)| v).collect()
    }

    /// The versions offered, as `(lowest, highest)`: every version from the
    /// lowest to the highest enabled one that this OpenSSL has (`has`).
    ///
    /// A version between two enabled ones is offered too: a TLS 1.2 client
    /// announces only its highest version and the server may pick any
    /// lower one, so a hole cannot be expressed (OpenSSL, given one, offers
    /// only the versions below it: `-tls1 1` meant TLS 1.0 alone), and such
    /// a version is never weaker than the lowest enabled one. Enabled
    /// versions this OpenSSL lacks (SSL 2.0 and 3.0) are left out while
    /// another remains; with none left, that is the error.
    pub fn range(&self, has: impl Fn(Version) -> bool) -> Result<(Version, Version)> {
        let enabled = self.enabled();
        let (usable, missing): (Vec<Version>, Vec<Version>) = enabled.iter().partition(|&&v| has(v));
        match (usable.first(), usable.last()) {
            (Some(&low), Some(&high)) => Ok((low, high)),
            _ => match missing.first() {
                Some(&first) => {
                    let names: Vec<&str> = missing.iter().map(|v| v.title()).collect();
                    let verb = if missing.len() == 1 { "is" } else { "are" };
                    let message = format!("{} {verb} not supported by this OpenSSL, and no other protocol version is enabled", names.join(" and "));
                    Err(TlsError::new(ErrorKind::Unsupported, first.option(), message))
                }
                None => Err(TlsError::new(ErrorKind::Value, "PROTOCOLS", "no protocol version is enabled")),
            },
        }
    }
}

/// Everything `tls::import` was told, with the 2.0 defaults applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    pub server: bool,
    pub certfile: Option<String>,
    pub keyfile: Option<String>,
    pub cert: Option<Vec<u8>>,
    pub key: Option<Vec<u8>>,
    pub cafile: Option<String>,
    pub cadir: Option<String>,
    pub castore: Option<String>,
    pub dhparams: Option<String>,
    /// `None` means the default for the role (true for clients).
    pub request: Option<bool>,
    pub require: Option<bool>,
    pub servername: Option<String>,
    pub alpn: Vec<String>,
    pub protocols: Protocols,
    pub cipher: Option<String>,
    pub ciphersuites: Option<String>,
    pub security_level: Option<i32>,
    pub post_handshake: bool,
    pub session_id: Option<Vec<u8>>,
    /// Sessions kept for resumption at most (`-cachesize`); `None` is
    /// [`DEFAULT_CACHE_SIZE`], 0 keeps none.
    pub cache_size: Option<u32>,
    pub command: Option<String>,
    pub password: Option<String>,
    pub validatecommand: Option<String>,
    pub model: Option<String>,
    // Issue 17's options.
    /// `-groups`: key-exchange groups in order of preference (empty: OpenSSL's).
    pub groups: Vec<String>,
    /// `-keylog`: the NSS key log file (instead of `SSLKEYLOGFILE`).
    pub keylog: Option<String>,
    /// `-pin`: SPKI SHA-256 pins, one of which the verified chain must hold.
    pub pins: Vec<Pin>,
    /// `-crlfile`: PEM certificate revocation lists.
    pub crlfile: Option<String>,
    /// `-crlcheck`: which certificates must not be revoked (`None`: the
    /// leaf when there is a `-crlfile`).
    pub crlcheck: Option<CrlCheck>,
    /// `-pkcs12`: certificate, key and chain in one PKCS#12 file.
    pub pkcs12: Option<String>,
    /// `-timeout`: milliseconds the handshake may take from the import.
    pub timeout: Option<u64>,
    /// `-sni`: a server's certificate per server name, in order.
    pub sni: Vec<SniEntry>,
    /// Files of the options above that live in a Tcl virtual filesystem
    /// (zipfs, tclvfs), read through Tcl by the command layer.
    pub virtual_files: Vec<VirtualFile>,
}

/// The contents of a file read through Tcl's filesystem, with the size
/// and modification time that key the context cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VirtualFile {
    pub path: String,
    pub data: Vec<u8>,
    pub size: u64,
    pub mtime: i64,
}

impl TlsConfig {
    /// The virtual file at `path`, if the command layer read one.
    pub fn virtual_file(&self, path: &str) -> Option<&VirtualFile> {
        self.virtual_files.iter().find(|f| f.path == path)
    }

    /// Every file option of this configuration and of its `-sni` entries
    /// (without `-cadir`, which OpenSSL reads itself), for the command
    /// layer to read the ones in a virtual filesystem.
    pub fn file_paths(&self) -> Vec<(&'static str, String)> {
        let mut paths: Vec<(&'static str, String)> = self.files().into_iter().filter(|(o, _)| *o != "-cadir").filter_map(|(o, p)| Some((o, p.clone()?))).collect();
        for entry in &self.sni {
            for (option, value) in &entry.options {
                if let Some(known) = FILE_OPTIONS.iter().find(|o| **o == option) {
                    paths.push((known, value.clone()));
                }
            }
        }
        paths
    }
}

/// One `-sni` entry: a glob pattern for the server name, and the
/// identity options used for names it matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SniEntry {
    pub pattern: String,
    pub options: Vec<(String, String)>,
}

/// The options an `-sni` entry may give.
pub const SNI_OPTIONS: &[&str] = &["-cert", "-certfile", "-key", "-keyfile", "-pkcs12"];

impl SniEntry {
    /// Whether the server name `name` matches the pattern: a glob (`*` any
    /// run of characters, `?` one), without regard to case.
    pub fn matches(&self, name: &str) -> bool {
        glob_match(&self.pattern.to_ascii_lowercase(), &name.to_ascii_lowercase())
    }

    /// `config` with this entry's identity instead of its own.
    pub fn apply_to(&self, config: &TlsConfig) -> Result<TlsConfig> {
        let mut sub = config.clone();
        sub.sni.clear();
        (sub.cert, sub.key, sub.certfile, sub.keyfile, sub.pkcs12) = (None, None, None, None, None);
        // The entry's options are files and binary strings only.
        let pairs: Vec<(String, OptionValue)> = self
            .options
            .iter()
            .map(|(name, value)| {
                let typed = match value_type(name) {
                    ValueType::Bytes => OptionValue::Bytes(value.chars().map(|c| c as u32 as u8).collect()),
                    _ => OptionValue::Text(value.clone()),
                };
                (name.clone(), typed)
            })
            .collect();
        sub.apply(&pairs)?;
        Ok(sub)
    }
}

fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // The classic two-pointer match with backtracking to the last `*`.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn parse_sni(elements: &[Vec<String>]) -> Result<Vec<SniEntry>> {
    let bad = |why: String| TlsError::new(ErrorKind::Value, "-sni", format!("bad value for -sni: {why}"));
    if !elements.len().is_multiple_of(2) {
        return Err(bad("must be a list of name patterns and option lists".into()));
    }
    let mut entries = Vec::new();
    for pair in elements.chunks(2) {
        let pattern = pair[0].join(" ");
        let words = &pair[1];
        if words.len() % 2 != 0 {
            return Err(bad(format!("the options for \"{pattern}\" must be option value pairs")));
        }
        let mut options = Vec::new();
        for option in words.chunks(2) {
            if !SNI_OPTIONS.contains(&option[0].as_str()) {
                return Err(bad(format!("bad option \"{}\" for \"{pattern}\": must be {}", option[0], SNI_OPTIONS.join(", "))));
            }
            options.push((option[0].clone(), option[1].clone()));
        }
        if options.is_empty() {
            return Err(bad(format!("no certificate for \"{pattern}\"")));
        }
        entries.push(SniEntry { pattern, options });
    }
    Ok(entries)
}

/// `-crlcheck none|leaf|chain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrlCheck {
    None,
    Leaf,
    Chain,
}

/// One `-pin` element: `sha256/BASE64` (also curl's `sha256//BASE64`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pin {
    /// As the script wrote it, for messages.
    pub text: String,
    /// The SHA-256 digest of a DER SubjectPublicKeyInfo.
    pub digest: Vec<u8>,
}

impl Pin {
    fn parse(text: &str) -> Result<Pin> {
        let bad = |why: &str| TlsError::new(ErrorKind::Value, "-pin", format!("bad pin \"{text}\" for -pin: {why}"));
        let encoded = text.strip_prefix("sha256/").ok_or_else(|| bad("must be sha256/BASE64"))?;
        // Base64 may itself start with "/": curl's second slash is taken
        // off only when the rest does not decode to a digest.
        let decode = |b64: &str| openssl::base64::decode_block(b64).ok();
        let digest = match (decode(encoded), encoded.strip_prefix('/').and_then(decode)) {
            (Some(d), _) if d.len() == 32 => d,
            (_, Some(d)) => d,
            (Some(d), None) => d,
            (None, None) => return Err(bad("not base64")),
        };
        if digest.len() != 32 {
            return Err(bad(&format!("a SHA-256 digest is 32 bytes, not {}", digest.len())));
        }
        Ok(Pin { text: text.to_string(), digest })
    }
}

/// Sessions a context keeps for resumption without `-cachesize`: a
/// server's session cache (TLS 1.2 clients that resume by session id),
/// a client's store of sessions and tickets from its servers.
pub const DEFAULT_CACHE_SIZE: u32 = 1000;

/// Configurations in use on this thread, for [`TlsConfig::share`].
const SHARED_LIMIT: usize = 16;

thread_local! {
    static SHARED: RefCell<Vec<Weak<TlsConfig>>> = const { RefCell::new(Vec::new()) };
}

impl TlsConfig {
    /// This configuration, shared with the channels that have an equal one
    /// (every connection a listener accepts parses the same options), so
    /// that each connection does not keep its own copy.
    pub fn share(self) -> Arc<TlsConfig> {
        SHARED.with(|shared| {
            let mut shared = shared.borrow_mut();
            shared.retain(|weak| weak.strong_count() > 0);
            if let Some(found) = shared.iter().filter_map(Weak::upgrade).find(|c| **c == self) {
                return found;
            }
            let config = Arc::new(self);
            if shared.len() >= SHARED_LIMIT {
                shared.remove(0);
            }
            shared.push(Arc::downgrade(&config));
            config
        })
    }

    /// Parses `-option value` pairs.
    pub fn parse(pairs: &[(String, OptionValue)]) -> Result<TlsConfig> {
        let mut config = TlsConfig::default();
        config.apply(pairs)?;
        Ok(config)
    }

    /// Applies `-option value` pairs on top of this configuration.
    pub fn apply(&mut self, pairs: &[(String, OptionValue)]) -> Result<()> {
        for (name, value) in pairs {
            self.set(name, value)?;
        }
        Ok(())
    }

    fn set(&mut self, name: &str, value: &OptionValue) -> Result<()> {
        let option = canonical(name).ok_or_else(|| bad_option(name))?;
        // Errors name the option as the script spelled it (`-securitylevel`
        // is reported as `-securitylevel`, not as `-security_level`).
        let text = || Some(value.text());
        let flag = || value.flag(name);
        match option {
            "-alpn" => self.alpn = value.list(),
            "-cachesize" => {
                let size = value.int(name)?;
                let size = u32::try_from(size).map_err(|_| TlsError::new(ErrorKind::Value, name, format!("bad value \"{size}\" for {name}: must be a non-negative integer")))?;
                self.cache_size = Some(size);
            }
            "-cadir" => self.cadir = text(),
            "-cafile" => self.cafile = text(),
            "-castore" => self.castore = text(),
            "-cert" => self.cert = non_empty(value.bytes()),
            "-certfile" => self.certfile = text(),
            "-cipher" => self.cipher = text(),
            "-ciphersuites" => self.ciphersuites = text(),
            "-command" => self.command = non_empty_text(&value.text()),
            "-dhparams" => self.dhparams = text(),
            "-key" => self.key = non_empty(value.bytes()),
            "-keyfile" => self.keyfile = text(),
            "-model" => self.model = text(),
            "-password" => self.password = non_empty_text(&value.text()),
            "-post_handshake" => self.post_handshake = flag()?,
            "-request" => self.request = Some(flag()?),
            "-require" => self.require = Some(flag()?),
            "-security_level" => {
                let level = value.int(name)?;
                if !(0..=5).contains(&level) {
                    return Err(TlsError::new(ErrorKind::Value, name, format!("bad value \"{level}\" for {name}: must be an integer from 0 to 5")));
                }
                self.security_level = Some(level as i32);
            }
            "-server" => self.server = flag()?,
            "-servername" => self.servername = non_empty_text(&value.text()),
            "-session_id" => self.session_id = non_empty(value.bytes()),
            "-ssl2" => self.protocols.ssl2 = flag()?,
            "-ssl3" => self.protocols.ssl3 = flag()?,
            "-tls1" => self.protocols.tls1 = flag()?,
            "-tls1.1" => self.protocols.tls1_1 = flag()?,
            "-tls1.2" => self.protocols.tls1_2 = flag()?,
            "-tls1.3" => self.protocols.tls1_3 = flag()?,
            "-validatecommand" => self.validatecommand = non_empty_text(&value.text()),
            // Issue 17's options.
            "-groups" => self.groups = value.list(),
            "-keylog" => self.keylog = non_empty_text(&value.text()),
            "-crlfile" => self.crlfile = non_empty_text(&value.text()),
            "-pkcs12" => self.pkcs12 = non_empty_text(&value.text()),
            "-sni" => self.sni = parse_sni(&value.lists(name)?)?,
            "-timeout" => {
                let ms = value.int(name)?;
                if ms < 0 {
                    return Err(TlsError::new(ErrorKind::Value, name, format!("bad value \"{ms}\" for {name}: must be a number of milliseconds, 0 for none")));
                }
                self.timeout = (ms > 0).then_some(ms as u64);
            }
            "-crlcheck" => {
                self.crlcheck = Some(match value.text().as_str() {
                    "none" => CrlCheck::None,
                    "leaf" => CrlCheck::Leaf,
                    "chain" => CrlCheck::Chain,
                    other => return Err(TlsError::new(ErrorKind::Value, name, format!("bad value \"{other}\" for {name}: must be none, leaf, or chain"))),
                })
            }
            "-pin" => self.pins = value.list().iter().map(|p| Pin::parse(p)).collect::<Result<_>>()?,
            _ => return Err(bad_option(name)),
        }
        Ok(())
    }

    /// Sessions kept for resumption at most (0: none).
    pub fn cache_size(&self) -> usize {
        self.cache_size.unwrap_or(DEFAULT_CACHE_SIZE) as usize
    }

    /// Whether the peer's certificate must be valid (2.0: clients yes).
    pub fn require(&self) -> bool {
        self.require.unwrap_or(!self.server)
    }

    /// Whether to ask the peer for a certificate. `-require 1` forces it,
    /// as the 2.0 manual says.
    pub fn request(&self) -> bool {
        self.require() || !self.pins.is_empty() || self.request.unwrap_or(!self.server)
    }

    /// The OpenSSL verify mode of `-request`/`-require` (the one place it
    /// is computed): a server that requires a certificate fails without one.
    pub fn verify_mode(&self) -> SslVerifyMode {
        match (self.request(), self.require()) {
            (false, _) => SslVerifyMode::NONE,
            // A pinning server needs the client's certificate to check it.
            (true, require) if self.server && (require || !self.pins.is_empty()) => SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
            (true, _) => SslVerifyMode::PEER,
        }
    }

    /// The files the configuration reads, by option (without `-castore`,
    /// a URI): their size and time stamp are part of the context cache key.
    pub fn files(&self) -> [(&'static str, &Option<String>); 7] {
        [
            ("-certfile", &self.certfile),
            ("-keyfile", &self.keyfile),
            ("-cafile", &self.cafile),
            ("-cadir", &self.cadir),
            ("-dhparams", &self.dhparams),
            // Issue 17's files.
            ("-crlfile", &self.crlfile),
            ("-pkcs12", &self.pkcs12),
        ]
    }

    /// What `-crlcheck` and `-crlfile` ask to check.
    pub fn crl_check(&self) -> CrlCheck {
        self.crlcheck.unwrap_or(if self.crlfile.is_some() { CrlCheck::Leaf } else { CrlCheck::None })
    }
}

/// The options that read files or stores: refused in safe interpreters.
pub const FILE_OPTIONS: &[&str] = &[
    "-cafile",
    "-cadir",
    "-certfile",
    "-keyfile",
    "-dhparams",
    "-castore",
    // Issue 17's file options.
    "-keylog",
    "-crlfile",
    "-pkcs12",
];

/// Whether a certificate OpenSSL judged (`ok`) passes: without `-require`,
/// a bad one is recorded (`verifyResult`) but does not end the handshake.
pub fn passes_verification(ok: bool, require: bool) -> bool {
    ok || !require
}

fn non_empty(bytes: Vec<u8>) -> Option<Vec<u8>> {
    (!bytes.is_empty()).then_some(bytes)
}

fn non_empty_text(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

pub fn bad_option(name: &str) -> TlsError {
    let (last, rest) = IMPORT_OPTIONS.split_last().unwrap_or((&"", &[]));
    TlsError::new(ErrorKind::Option, name, format!("bad option \"{name}\": must be {}, or {last}", rest.join(", ")))
}

/// Test input written as text: a typed value the way the command layer
/// would hand it over for the simple values tests use (booleans 0/1,
/// decimal integers, lists of single words); anything else stays text.
#[cfg(test)]
pub(crate) fn from_test_text(name: &str, text: &str) -> OptionValue {
    match value_type(name) {
        ValueType::Bool if text == "1" || text == "0" => OptionValue::Bool(text == "1"),
        ValueType::Int => text.parse().map(OptionValue::Int).unwrap_or_else(|_| OptionValue::Text(text.to_string())),
        ValueType::List => OptionValue::List(text.split_whitespace().map(str::to_string).collect()),
        ValueType::Bytes => OptionValue::Bytes(text.as_bytes().to_vec()),
        _ => OptionValue::Text(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OptionValue::{Bool, Int, List, Text};

    fn parse_typed(pairs: &[(&str, OptionValue)]) -> Result<TlsConfig> {
        let pairs: Vec<(String, OptionValue)> = pairs.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        TlsConfig::parse(&pairs)
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<TlsConfig> {
        let pairs: Vec<(String, OptionValue)> = pairs.iter().map(|(n, v)| (n.to_string(), from_test_text(n, v))).collect();
        TlsConfig::parse(&pairs)
    }

    #[test]
    fn defaults_are_tls_2_0() {
        let client = parse(&[]).unwrap();
        assert!(client.request() && client.require());
        assert!(!client.protocols.tls1 && !client.protocols.tls1_1);
        assert!(client.protocols.tls1_2 && client.protocols.tls1_3);
        let server = parse_typed(&[("-server", Bool(true))]).unwrap();
        assert!(!server.request() && !server.require());
    }

    #[test]
    fn require_forces_request() {
        let c = parse_typed(&[("-server", Bool(true)), ("-request", Bool(false)), ("-require", Bool(true))]).unwrap();
        assert!(c.request());
    }

    #[test]
    fn each_option_has_its_type() {
        assert_eq!(value_type("-server"), ValueType::Bool);
        assert_eq!(value_type("-tls1.3"), ValueType::Bool);
        assert_eq!(value_type("-securitylevel"), ValueType::Int);
        assert_eq!(value_type("-alpn"), ValueType::List);
        assert_eq!(value_type("-session_id"), ValueType::Bytes);
        assert_eq!(value_type("-ciphers"), ValueType::Text);
        assert_eq!(value_type("-bogus"), ValueType::Text);
    }

    #[test]
    fn a_value_of_another_type_names_the_option() {
        let err = parse_typed(&[("-request", Text("maybe".into()))]).unwrap_err();
        assert_eq!(err.error_code(), vec!["TLS", "VALUE", "-request"]);
        assert_eq!(err.message(), "expected boolean value for -request but got \"maybe\"");
    }

    #[test]
    fn unknown_option_lists_valid_ones() {
        let err = parse_typed(&[("-bogus", Text("1".into()))]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Option);
        assert!(err.message().starts_with("bad option \"-bogus\": must be -alpn, -cachesize, -cadir"));
        assert!(err.message().ends_with("or -validatecommand"));
    }

    #[test]
    fn aliases_are_accepted() {
        let c = parse_typed(&[("-ciphers", Text("HIGH".into())), ("-securitylevel", Int(2)), ("-vcmd", Text("cb".into()))]).unwrap();
        assert_eq!(c.cipher.as_deref(), Some("HIGH"));
        assert_eq!(c.security_level, Some(2));
        assert_eq!(c.validatecommand.as_deref(), Some("cb"));
    }

    #[test]
    fn security_level_is_checked() {
        let err = parse_typed(&[("-security_level", Int(6))]).unwrap_err();
        assert_eq!(err.message(), "bad value \"6\" for -security_level: must be an integer from 0 to 5");
        assert!(parse_typed(&[("-security_level", Int(-1))]).is_err());
        assert!(parse_typed(&[("-security_level", Int(i64::MAX))]).is_err());
    }

    #[test]
    fn errors_name_the_option_as_spelled() {
        let err = parse_typed(&[("-securitylevel", Int(12843))]).unwrap_err();
        assert_eq!(err.message(), "bad value \"12843\" for -securitylevel: must be an integer from 0 to 5");
        assert_eq!(err.error_code().last().map(String::as_str), Some("-securitylevel"));
        let err = parse_typed(&[("-vcmd", Text("x".into())), ("-callback", Int(1)), ("-ciphers", Bool(true)), ("-securitylevel", Text("high".into()))]).unwrap_err();
        assert!(err.message().contains("-securitylevel"), "{}", err.message());
    }

    fn range(flags: &[(&str, bool)]) -> Result<(Version, Version)> {
        let pairs: Vec<(&str, OptionValue)> = flags.iter().map(|&(name, on)| (name, Bool(on))).collect();
        // This OpenSSL: no SSL 2.0 or 3.0, as OpenSSL 3.
        parse_typed(&pairs).unwrap().protocols.range(|v| v >= Version::Tls1)
    }

    #[test]
    fn versions_offered_are_a_range() {
        use Version::*;
        assert_eq!(range(&[]).unwrap(), (Tls1_2, Tls1_3));
        // imap4::starttls: 1.0, 1.2 and 1.3 enabled; 1.1 is inside the range.
        assert_eq!(range(&[("-tls1", true)]).unwrap(), (Tls1, Tls1_3));
        assert_eq!(range(&[("-tls1", true), ("-tls1.2", false), ("-tls1.3", false)]).unwrap(), (Tls1, Tls1));
        assert_eq!(range(&[("-tls1.2", false)]).unwrap(), (Tls1_3, Tls1_3));
        assert_eq!(range(&[("-tls1.3", false)]).unwrap(), (Tls1_2, Tls1_2));
        assert_eq!(range(&[("-tls1.1", true), ("-tls1.2", false)]).unwrap(), (Tls1_1, Tls1_3));
    }

    #[test]
    fn old_versions_stay_off_unless_enabled() {
        let (low, _) = range(&[("-tls1.2", true)]).unwrap();
        assert_eq!(low, Version::Tls1_2);
        let (low, _) = range(&[("-tls1.1", true)]).unwrap();
        assert_eq!(low, Version::Tls1_1);
    }

    #[test]
    fn missing_versions_are_left_out_while_another_remains() {
        use Version::*;
        // pop3::open -stls 1
        assert_eq!(range(&[("-ssl2", false), ("-ssl3", true), ("-tls1", true)]).unwrap(), (Tls1, Tls1_3));
        assert_eq!(range(&[("-ssl2", true)]).unwrap(), (Tls1_2, Tls1_3));
        // With an OpenSSL that has SSL 3.0, it is the bottom of the range.
        let p = parse_typed(&[("-ssl3", Bool(true))]).unwrap().protocols;
        assert_eq!(p.range(|v| v != Ssl2).unwrap(), (Ssl3, Tls1_3));
    }

    #[test]
    fn no_version_left_is_an_error_naming_why() {
        let err = range(&[("-ssl3", true), ("-tls1.2", false), ("-tls1.3", false)]).unwrap_err();
        assert_eq!(err.error_code(), vec!["TLS", "UNSUPPORTED", "-ssl3"]);
        assert_eq!(err.message(), "SSL 3.0 is not supported by this OpenSSL, and no other protocol version is enabled");
        let err = range(&[("-ssl2", true), ("-ssl3", true), ("-tls1.2", false), ("-tls1.3", false)]).unwrap_err();
        assert_eq!(err.error_code(), vec!["TLS", "UNSUPPORTED", "-ssl2"]);
        assert!(err.message().starts_with("SSL 2.0 and SSL 3.0 are not supported"));
        let err = range(&[("-tls1.2", false), ("-tls1.3", false)]).unwrap_err();
        assert_eq!(err.error_code(), vec!["TLS", "VALUE", "PROTOCOLS"]);
    }

    #[test]
    fn cache_size_defaults_and_is_checked() {
        assert_eq!(parse(&[]).unwrap().cache_size(), DEFAULT_CACHE_SIZE as usize);
        assert_eq!(parse(&[("-cachesize", "0")]).unwrap().cache_size(), 0);
        assert_eq!(parse(&[("-cachesize", "16")]).unwrap().cache_size(), 16);
        let err = parse(&[("-cachesize", "-1")]).unwrap_err();
        assert_eq!(err.error_code(), vec!["TLS", "VALUE", "-cachesize"]);
    }

    #[test]
    fn alpn_is_a_list() {
        let c = parse_typed(&[("-alpn", List(vec!["h2".into(), "http/1.1".into()]))]).unwrap();
        assert_eq!(c.alpn, vec!["h2", "http/1.1"]);
    }

    // Issue 17's options.

    #[test]
    fn groups_are_a_list() {
        let c = parse(&[("-groups", "X25519 P-256 ffdhe2048")]).unwrap();
        assert_eq!(c.groups, vec!["X25519", "P-256", "ffdhe2048"]);
        assert!(parse(&[]).unwrap().groups.is_empty());
        assert!(parse(&[("-groups", "")]).unwrap().groups.is_empty());
    }

    #[test]
    fn pins_are_checked() {
        let digest = openssl::base64::encode_block(&[7u8; 32]);
        let c = parse(&[("-pin", &format!("sha256/{digest} sha256//{digest}"))]).unwrap();
        assert_eq!(c.pins.len(), 2);
        assert_eq!(c.pins[0].digest, vec![7u8; 32]);
        assert_eq!(c.pins[1].text, format!("sha256//{digest}"));
        // A digest whose base64 starts with "/", in both forms.
        let slash = openssl::base64::encode_block(&[0xfc; 32]);
        assert!(slash.starts_with('/'));
        for form in [format!("sha256/{slash}"), format!("sha256//{slash}")] {
            assert_eq!(parse(&[("-pin", &form)]).unwrap().pins[0].digest, vec![0xfc; 32], "{form}");
        }
        // Pinning asks for the peer's certificate, a server's too.
        let server = parse(&[("-server", "1"), ("-pin", &format!("sha256/{digest}"))]).unwrap();
        assert!(server.request() && !server.require());
        assert!(server.verify_mode().contains(SslVerifyMode::FAIL_IF_NO_PEER_CERT));
        for (bad, why) in [("md5/AAAA", "must be sha256/BASE64"), ("sha256/!!!!", "not base64"), ("sha256/AAAA", "32 bytes, not 3")] {
            let err = parse(&[("-pin", bad)]).unwrap_err();
            assert_eq!(err.error_code(), vec!["TLS", "VALUE", "-pin"]);
            assert!(err.message().contains(bad) && err.message().contains(why), "{}", err.message());
        }
    }

    #[test]
    fn crl_options() {
        assert_eq!(parse(&[]).unwrap().crl_check(), CrlCheck::None);
        assert_eq!(parse(&[("-crlfile", "x.pem")]).unwrap().crl_check(), CrlCheck::Leaf);
        assert_eq!(parse(&[("-crlfile", "x.pem"), ("-crlcheck", "chain")]).unwrap().crl_check(), CrlCheck::Chain);
        assert_eq!(parse(&[("-crlcheck", "none"), ("-crlfile", "x.pem")]).unwrap().crl_check(), CrlCheck::None);
        let err = parse(&[("-crlcheck", "all")]).unwrap_err();
        assert_eq!(err.message(), "bad value \"all\" for -crlcheck: must be none, leaf, or chain");
        assert!(parse(&[("-crlfile", "x.pem")]).unwrap().files().iter().any(|(o, p)| *o == "-crlfile" && p.is_some()));
    }

    #[test]
    fn pkcs12_is_a_file_option() {
        let c = parse(&[("-pkcs12", "id.p12")]).unwrap();
        assert_eq!(c.pkcs12.as_deref(), Some("id.p12"));
        assert!(c.files().iter().any(|(o, p)| *o == "-pkcs12" && p.is_some()));
        assert!(FILE_OPTIONS.contains(&"-pkcs12"));
    }

    #[test]
    fn timeout_is_milliseconds() {
        assert_eq!(parse(&[("-timeout", "2500")]).unwrap().timeout, Some(2500));
        assert_eq!(parse(&[("-timeout", "0")]).unwrap().timeout, None);
        assert_eq!(parse(&[]).unwrap().timeout, None);
        let err = parse(&[("-timeout", "-1")]).unwrap_err();
        assert_eq!(err.error_code(), vec!["TLS", "VALUE", "-timeout"]);
        assert!(parse(&[("-timeout", "soon")]).unwrap_err().message().contains("expected integer value for -timeout"));
    }

    #[test]
    fn sni_entries() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let lists = |l: Vec<Vec<String>>| OptionValue::Lists(l);
        let mut config = TlsConfig::default();
        config.set("-sni", &lists(vec![words(&["*.example.org"]), words(&["-certfile", "a.pem", "-keyfile", "a.key"]), words(&["b.test"]), words(&["-pkcs12", "b.p12"])])).unwrap();
        assert_eq!(config.sni.len(), 2);
        assert!(config.sni[0].matches("WWW.Example.org") && !config.sni[0].matches("example.org"));
        assert!(config.sni[1].matches("b.test") && !config.sni[1].matches("bb.test"));
        let sub = config.sni[1].apply_to(&TlsConfig { certfile: Some("default.pem".into()), ..config.clone() }).unwrap();
        assert_eq!((sub.certfile, sub.pkcs12.as_deref(), sub.sni.len()), (None, Some("b.p12"), 0));
        let err = config.set("-sni", &lists(vec![words(&["x"]), words(&["-cafile", "ca.pem"])])).unwrap_err();
        assert!(err.message().contains("bad option \"-cafile\" for \"x\""));
        assert!(config.set("-sni", &lists(vec![words(&["x"])])).is_err());
    }

    #[test]
    fn globs() {
        for (p, t, m) in [
            ("*", "", true),
            ("a*c", "abbbc", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*.x", "a.b.x", true),
            ("*.x", "x", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b", "ab c", false),
        ] {
            assert_eq!(glob_match(p, t), m, "{p} {t}");
        }
    }

    #[test]
    fn file_paths_include_sni_entries_but_not_cadir() {
        let mut config = parse(&[("-cafile", "ca.pem"), ("-cadir", "dir"), ("-crlfile", "c.pem")]).unwrap();
        config.sni.push(SniEntry { pattern: "x".into(), options: vec![("-certfile".into(), "x.pem".into()), ("-cert".into(), "DER".into())] });
        let paths: Vec<String> = config.file_paths().into_iter().map(|(o, p)| format!("{o}={p}")).collect();
        assert_eq!(paths, vec!["-cafile=ca.pem", "-crlfile=c.pem", "-certfile=x.pem"]);
        config.virtual_files.push(VirtualFile { path: "ca.pem".into(), data: b"pem".to_vec(), size: 3, mtime: 1 });
        assert_eq!(config.virtual_file("ca.pem").map(|f| f.size), Some(3));
        assert!(config.virtual_file("c.pem").is_none());
    }

    #[test]
    fn keylog_is_a_file_option() {
        assert_eq!(parse(&[("-keylog", "/tmp/k")]).unwrap().keylog.as_deref(), Some("/tmp/k"));
        assert_eq!(parse(&[("-keylog", "")]).unwrap().keylog, None);
        assert!(FILE_OPTIONS.contains(&"-keylog"));
    }
}
