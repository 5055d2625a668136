//! The one error type of the package. Every failure, whether a bad option,
//! an unreadable file or a handshake refused by the peer, becomes a
//! [`TlsError`], which turns into a Tcl error message and an `-errorcode`
//! list starting with `TLS`, built by [`TlsError::error_code`] and set in
//! two places: `Interp::fail` for commands and the channel driver's
//! `Tcl_SetChannelError` for channel I/O.

use std::fmt;

use openssl::error::ErrorStack;

/// What went wrong, which is also the second word of `-errorcode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Unknown option or missing option value (`TLS OPTION`).
    Option,
    /// An option value of the wrong type or out of range (`TLS VALUE`).
    Value,
    /// A file that cannot be read or parsed (`TLS FILE`).
    File,
    /// Certificate/key problems at import time (`TLS KEY`).
    Key,
    /// Unknown channel, or a channel in the wrong state (`TLS CHANNEL`).
    Channel,
    /// The handshake failed (`TLS HANDSHAKE`).
    Handshake,
    /// The peer's certificate was refused (`TLS VERIFY`).
    Verify,
    /// A failure on an established connection (`TLS IO`).
    Io,
    /// A feature this build or OpenSSL does not have (`TLS UNSUPPORTED`).
    Unsupported,
    /// Anything OpenSSL reports that fits nowhere else (`TLS SSL`).
    Ssl,
    /// A bug of ours: a panic caught at the FFI boundary (`TLS INTERNAL`).
    Internal,
    /// A command called with arguments that do not match its usage; the
    /// message is the usage, reported as Tcl's own "wrong # args" error.
    Usage,
}

impl ErrorKind {
    fn code(self) -> &'static str {
        match self {
            ErrorKind::Option => "OPTION",
            ErrorKind::Value => "VALUE",
            ErrorKind::File => "FILE",
            ErrorKind::Key => "KEY",
            ErrorKind::Channel => "CHANNEL",
            ErrorKind::Handshake => "HANDSHAKE",
            ErrorKind::Verify => "VERIFY",
            ErrorKind::Io => "IO",
            ErrorKind::Unsupported => "UNSUPPORTED",
            ErrorKind::Ssl => "SSL",
            ErrorKind::Internal => "INTERNAL",
            ErrorKind::Usage => "USAGE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    pub kind: ErrorKind,
    /// The third `-errorcode` word: the option, file or reason concerned.
    pub detail: String,
    message: String,
}

pub type Result<T, E = TlsError> = std::result::Result<T, E>;

impl TlsError {
    pub fn new(kind: ErrorKind, detail: impl Into<String>, message: impl Into<String>) -> TlsError {
        TlsError { kind, detail: detail.into(), message: message.into() }
    }

    pub fn message(&self) -> String {
        self.message.clone()
    }

    /// A caught panic: `internal error: MESSAGE`, `-errorcode {TLS INTERNAL}`.
    pub fn internal(panic: &str) -> TlsError {
        TlsError::new(ErrorKind::Internal, "", format!("internal error: {panic}"))
    }

    /// The `-errorcode` list: `TLS KIND detail`.
    pub fn error_code(&self) -> Vec<String> {
        let mut code = vec!["TLS".to_string(), self.kind.code().to_string()];
        if !self.detail.is_empty() {
            code.push(self.detail.clone());
        }
        code
    }

    /// An OpenSSL error stack under `kind`, the message made of its reasons.
    pub fn ssl(kind: ErrorKind, what: &str, stack: &ErrorStack) -> TlsError {
        let reason = describe_stack(stack);
        let detail = stack.errors().first().and_then(|e| e.reason()).unwrap_or("unknown").to_string();
        TlsError::new(kind, detail, if reason.is_empty() { what.to_string() } else { format!("{what}: {reason}") })
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TlsError {}

/// The reasons of an OpenSSL error stack, most specific first, without the
/// library/function noise of `ERR_error_string`.
pub fn describe_stack(stack: &ErrorStack) -> String {
    let mut reasons: Vec<String> = Vec::new();
    for error in stack.errors() {
        let mut text = error.reason().map(str::to_string).unwrap_or_else(|| format!("error {:#x}", error.code()));
        if let Some(data) = error.data() {
            if !data.is_empty() {
                text = format!("{text} ({data})");
            }
        }
        // OpenSSL 3.2 and later add this after the record layer's own
        // reason; it says nothing more, and messages stay the same
        // whichever OpenSSL the library is built with.
        if text == "record layer failure" && !reasons.is_empty() {
            continue;
        }
        if !reasons.contains(&text) {
            reasons.push(text);
        }
    }
    reasons.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_starts_with_tls_and_kind() {
        let e = TlsError::new(ErrorKind::Option, "-foo", "bad option \"-foo\"");
        assert_eq!(e.error_code(), vec!["TLS", "OPTION", "-foo"]);
        assert_eq!(e.message(), "bad option \"-foo\"");
    }
}
