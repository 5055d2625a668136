//! The Tcl commands of the package: argument checking, option parsing into
//! a [`TlsConfig`], calls into the channel and engine layers, and results.

use std::ffi::c_int;

use openssl::ssl::{Ssl, SslContext, SslMethod, SslVersion};

use crate::callbacks::{self, Hooks};
use crate::channel::driver::{self, Shell};
use crate::channel::lower::LowerChannel;
use crate::channel::{Stall, TlsChannel};
use crate::config::{self, OptionValue, TlsConfig, ValueType};
use crate::context::{context_for, new_connection};
use crate::engine::TlsEngine;
use crate::error::{ErrorKind, Result, TlsError};
use crate::openssl_extra;
use crate::status;
use crate::tcl::sys::{self, Tcl_Channel, Tcl_Obj};
use crate::tcl::{boundary, cstring, Interp, Obj};

type Command = fn(Interp, &[Obj]) -> Result<Obj>;

/// The commands and their implementations, registered by `Tls_Init`.
pub const COMMANDS: &[(&str, Command)] = &[
    ("::tls::import", import),
    ("::tls::starttls", import),
    ("::tls::unimport", unimport),
    ("::tls::unstack", unimport),
    ("::tls::shutdown", unimport),
    ("::tls::handshake", handshake),
    ("::tls::status", status_cmd),
    ("::tls::connection", connection),
    ("::tls::ciphers", ciphers),
    ("::tls::protocols", protocols),
    ("::tls::version", version),
    // Issue 17's commands.
    ("::tls::exportkey", exportkey),
    // The engine of tls::misc (library/tls.tcl).
    ("::tls::MakeCertificate", make_certificate),
];

/// The one trampoline for every command: catches panics, converts results.
///
/// # Safety
/// Called by Tcl as an object command registered by `Tls_Init`: `data` is
/// an index into [`COMMANDS`], `interp` is live and `objv` holds `objc`
/// live objects.
pub unsafe extern "C" fn dispatch(data: sys::ClientData, interp: *mut sys::Tcl_Interp, objc: sys::TclSize, objv: *const *mut Tcl_Obj) -> c_int {
    let interp = Interp(interp);
    let outcome = crate::tcl::catch(|| {
        crate::tcl::test_panic("command");
        // SAFETY: per the function's contract.
        let raw = unsafe { std::slice::from_raw_parts(objv, objc.max(0) as usize) };
        let command = COMMANDS.get(data as usize).map(|c| c.1);
        // SAFETY: each pointer is a live object (contract); we take our own
        // references for the duration of the command.
        let args: Vec<Obj> = raw.iter().filter_map(|&o| unsafe { Obj::from_raw(o) }).collect();
        let Some(command) = command else { return sys::TCL_ERROR };
        match command(interp, &args) {
            Ok(result) => {
                interp.set_result(result);
                sys::TCL_OK
            }
            // Tcl's own "wrong # args" message and -errorcode.
            Err(error) if error.kind == ErrorKind::Usage => interp.wrong_args(raw, 1, &error.message()),
            Err(error) => interp.fail(&error),
        }
    });
    // A panic keeps its message: `internal error: ...`, {TLS INTERNAL}.
    outcome.unwrap_or_else(|panic| interp.fail(&TlsError::internal(&panic)))
}

fn wrong_args(usage: &str) -> TlsError {
    TlsError::new(ErrorKind::Usage, "", usage)
}

fn channel(interp: Interp, name: &str) -> Result<Tcl_Channel> {
    let cname = cstring(name);
    // SAFETY: live interpreter; C string for the call.
    let chan = unsafe { sys::Tcl_GetChannel(interp.0, cname.as_ptr(), std::ptr::null_mut()) };
    if chan.is_null() {
        return Err(TlsError::new(ErrorKind::Channel, name, format!("can not find channel named \"{name}\"")));
    }
    // Tcl_GetChannel gives the bottom of a stack; I/O happens at the top.
    // SAFETY: live channel.
    Ok(unsafe { sys::Tcl_GetTopChannel(chan) })
}

/// Lends the TLS layer of the channel named `name` to `f`.
fn with_layer<R>(interp: Interp, name: &str, f: impl FnOnce(&Shell) -> Result<R>) -> Result<R> {
    let chan = channel(interp, name)?;
    // SAFETY: live channel (just looked up).
    unsafe { driver::with_layer(chan, f) }.unwrap_or_else(|| Err(TlsError::new(ErrorKind::Channel, name, format!("channel \"{name}\" is not a TLS channel"))))
}

/// `-option value` pairs, each value converted by Tcl's own rules into
/// the type its option takes.
fn option_pairs(objv: &[Obj]) -> Result<Vec<(String, OptionValue)>> {
    if !objv.len().is_multiple_of(2) {
        let last = objv[objv.len() - 1].text();
        return Err(TlsError::new(ErrorKind::Option, last.as_str(), format!("value for \"{last}\" missing")));
    }
    objv.chunks(2)
        .map(|pair| {
            let name = pair[0].text();
            let value = option_value(&name, &pair[1])?;
            Ok((name, value))
        })
        .collect()
}

/// `value` as the option `name` takes it: Tcl judges what is a boolean
/// (`Tcl_GetBooleanFromObj`), an integer (`Tcl_GetWideIntFromObj`) or a
/// list (`Tcl_ListObjGetElements`).
fn option_value(name: &str, value: &Obj) -> Result<OptionValue> {
    let expected = config::value_type(name);
    let converted = match expected {
        ValueType::Text => Some(OptionValue::Text(value.text())),
        ValueType::Bytes => Some(OptionValue::Bytes(value.byte_vec())),
        ValueType::Bool => value.as_boolean().map(OptionValue::Bool),
        ValueType::Int => value.as_wide().map(OptionValue::Int),
        ValueType::List => words(value).map(OptionValue::List),
        ValueType::Lists => value.elements().and_then(|outer| outer.iter().map(words).collect()).map(OptionValue::Lists),
    };
    converted.ok_or_else(|| config::wrong_type(name, expected, &value.text()))
}

/// The elements of a Tcl list as strings.
fn words(value: &Obj) -> Option<Vec<String>> {
    value.elements().map(|items| items.iter().map(Obj::text).collect())
}

/// An integer argument of a command, by Tcl's rules.
fn integer_arg(name: &str, value: &Obj) -> Result<i64> {
    value.as_wide().ok_or_else(|| config::wrong_type(name, ValueType::Int, &value.text()))
}

/// A boolean argument of a command, by Tcl's rules.
fn boolean_arg(name: &str, value: &Obj) -> Result<bool> {
    value.as_boolean().ok_or_else(|| config::wrong_type(name, ValueType::Bool, &value.text()))
}

fn import(interp: Interp, objv: &[Obj]) -> Result<Obj> {
    if objv.len() < 2 {
        return Err(wrong_args("channel ?-option value ...?"));
    }
    let name = objv[1].text();
    let chan = channel(interp, &name)?;
    // SAFETY: `chan` is live (just looked up).
    if unsafe { driver::is_tls(chan) } {
        return Err(TlsError::new(ErrorKind::Channel, name.as_str(), format!("channel \"{name}\" is already a TLS channel")));
    }
    let pairs = option_pairs(&objv[2..])?;
    if interp.is_safe() {
        if let Some((option, _)) = pairs.iter().find(|(n, _)| crate::config::FILE_OPTIONS.contains(&n.as_str())) {
            return Err(TlsError::new(ErrorKind::Option, option.as_str(), format!("option {option} is not allowed in a safe interpreter")));
        }
        // -sni entries name files too.
        let inner = pairs.iter().filter_map(|(_, v)| if let OptionValue::Lists(lists) = v { Some(lists) } else { None }).flatten().flatten();
        if let Some(option) = inner.clone().find(|w| crate::config::FILE_OPTIONS.contains(&w.as_str())) {
            return Err(TlsError::new(ErrorKind::Option, option.as_str(), format!("option {option} is not allowed in a safe interpreter (in -sni)")));
        }
    }
    let mut config = TlsConfig::parse(&pairs)?;
    let context = match config.model.clone() {
        Some(model) => {
            let (model_config, model_context) = with_layer(interp, &model, |layer| {
                layer.peek(|tls| ((*tls.config).clone(), tls.context.clone())).ok_or_else(|| TlsError::new(ErrorKind::Channel, "BUSY", format!("channel \"{model}\" is busy")))
            })?;
            let mut shared = model_config;
            shared.apply(&pairs)?;
            shared.model = None;
            config = shared;
            model_context
        }
        None => {
            read_virtual_files(interp, &mut config)?;
            let mut password = |rwflag: bool, size: usize| password_callback(interp, config.password.as_deref(), rwflag, size);
            context_for(&config.clone(), &mut password)?
        }
    };
    let (mut ssl, expected) = new_connection(&context, &config)?;
    let session_key = (!config.server).then(|| {
        // SAFETY: `chan` is live (just looked up).
        let peer = unsafe { driver::channel_option(chan, c"-peername") }.unwrap_or_default();
        format!("{}|{peer}", config.servername.clone().unwrap_or_default())
    });
    if let Some(key) = &session_key {
        callbacks::resume(&mut ssl, &context, key, config.session_id.as_deref());
    }
    let hooks = Hooks::new(interp.0, &name, config.command.clone(), config.validatecommand.clone(), config.require(), session_key, config.pins.clone());
    callbacks::attach(&mut ssl, hooks, config.verify_mode());
    let engine = TlsEngine::new(ssl, expected)?;
    let tls = TlsChannel::new(engine, LowerChannel::new(chan), config.share(), context);
    // SAFETY: live interpreter and channel.
    unsafe { driver::stack(interp.0, chan, tls)? };
    Ok(Obj::string(&name))
}

/// Reads the files of `config` that live in a Tcl virtual filesystem
/// (zipfs, tclvfs) through Tcl (`tls::ReadVirtual` in `tls.tcl`), since
/// OpenSSL can open only native files; native paths are left to OpenSSL
/// and `std::fs` as before. Without `tls.tcl` (a bare `load`), every
/// path is native.
fn read_virtual_files(interp: Interp, config: &mut TlsConfig) -> Result<()> {
    let (code, found) = interp.eval_global(&Obj::string("info commands ::tls::ReadVirtual"));
    if code != sys::TCL_OK || found.text().is_empty() {
        return Ok(());
    }
    let call = |proc_: &str, path: &str| interp.eval_global(&Obj::list([Obj::string(proc_), Obj::string(path)]));
    if let Some(dir) = config.cadir.clone() {
        let (code, result) = call("::tls::IsVirtual", &dir);
        if code == sys::TCL_OK && result.text() == "1" {
            return Err(TlsError::new(ErrorKind::File, dir.as_str(), format!("-cadir \"{dir}\": OpenSSL cannot search a directory in a virtual filesystem (use -cafile)")));
        }
    }
    for (option, path) in config.file_paths() {
        if config.virtual_file(&path).is_some() {
            continue;
        }
        let (code, result) = call("::tls::ReadVirtual", &path);
        if code != sys::TCL_OK {
            return Err(TlsError::new(ErrorKind::File, path.as_str(), format!("{option} \"{path}\": {}", result.text())));
        }
        let items = result.elements().unwrap_or_default();
        if let [size, mtime, data] = items.as_slice() {
            let number = |o: &Obj| o.text().parse::<i64>().unwrap_or(0);
            config.virtual_files.push(crate::config::VirtualFile { path: path.clone(), data: data.byte_vec(), size: number(size).max(0) as u64, mtime: number(mtime) });
        }
    }
    Ok(())
}

/// Runs the `-password` script (or `tls::password` if defined) with the
/// manual's arguments `password rwflag size`.
fn password_callback(interp: Interp, script: Option<&str>, rwflag: bool, size: usize) -> Option<String> {
    boundary(None, || {
        let script = match script {
            Some(s) => s.to_string(),
            None => {
                let (code, found) = interp.eval_global(&Obj::string("info commands ::tls::password"));
                if code != sys::TCL_OK || found.text().is_empty() {
                    return None;
                }
                "::tls::password".to_string()
            }
        };
        let mut words = Obj::string(&script).elements()?;
        words.push(Obj::string("password"));
        words.push(Obj::int(rwflag as i64));
        words.push(Obj::int(size as i64));
        let (code, result) = interp.eval_global(&Obj::list(words));
        // TCL_RETURN: the script used `return`.
        (code == sys::TCL_OK || code == sys::TCL_RETURN).then(|| result.text())
    })
}

fn unimport(interp: Interp, objv: &[Obj]) -> Result<Obj> {
    if objv.len() != 2 {
        return Err(wrong_args("channel"));
    }
    let name = objv[1].text();
    let chan = channel(interp, &name)?;
    // SAFETY: `chan` is live (just looked up).
    if !unsafe { driver::is_tls(chan) } {
        let message = if with_layer(interp, &name, |_| Ok(())).is_ok() {
            format!("TLS is not the top layer of channel \"{name}\"")
        } else {
            // TclTLS's wording.
            format!("bad channel \"{name}\": not a stacked channel")
        };
        return Err(TlsError::new(ErrorKind::Channel, name.as_str(), message));
    }
    // SAFETY: live interpreter; the top layer is ours (checked above).
    unsafe { driver::unstack(interp.0, chan)? };
    Ok(Obj::string(""))
}

fn handshake(interp: Interp, objv: &[Obj]) -> Result<Obj> {
    if objv.len() != 2 {
        return Err(wrong_args("channel"));
    }
    with_layer(interp, &objv[1].text(), |layer| {
        layer.with_tls(|tls| match tls.handshake() {
            Ok(done) => Ok(Obj::boolean(done)),
            Err(Stall::WouldBlock) => Ok(Obj::boolean(false)),
            Err(Stall::Fatal) => Err(tls.fatal.clone().unwrap_or_else(|| TlsError::new(ErrorKind::Handshake, "", "handshake failed"))),
        })
    })
}

fn status_cmd(interp: Interp, objv: &[Obj]) -> Result<Obj> {
    let (local, name) = match objv.len() {
        2 => (false, objv[1].text()),
        3 if objv[1].text() == "-local" => (true, objv[2].text()),
        3 => {
            let option = objv[1].text();
            return Err(TlsError::new(ErrorKind::Option, option.as_str(), format!("bad option \"{option}\": must be -local")));
        }
        _ => return Err(wrong_args("?-local? channel")),
    };
    with_layer(interp, &name, |layer| {
        let ssl = layer.ssl();
        if !ssl.is_init_finished() {
            return Ok(Obj::list([]));
        }
        let peer_end = layer.peek(|tls| tls.peer_end.name()).unwrap_or("none");
        let mut items = status::connection_status(ssl, ssl.verify_mode(), peer_end);
        let cert = if local { ssl.certificate().map(|c| c.to_owned()) } else { ssl.peer_certificate() };
        if let Some(cert) = cert {
            items.extend(status::certificate_status(&cert));
        }
        Ok(status::status_obj(items))
    })
}

fn connection(interp: Interp, objv: &[Obj]) -> Result<Obj> {
    if objv.len() != 2 {
        return Err(wrong_args("channel"));
    }
    with_layer(interp, &objv[1].text(), |layer| Ok(status::status_obj(status::connection_info(layer.ssl()))))
}

const PROTOCOLS: &[(&str, SslVersion)] = &[("tls1", SslVersion::TLS1), ("tls1.1", SslVersion::TLS1_1), ("tls1.2", SslVersion::TLS1_2), ("tls1.3", SslVersion::TLS1_3)];

/// `tls::ciphers ?protocol? ?verbose? ?supported?`.
fn ciphers(_interp: Interp, objv: &[Obj]) -> Result<Obj> {
    if objv.len() > 4 {
        return Err(wrong_args("?protocol? ?verbose? ?supported?"));
    }
    let arg = |i: usize| objv.get(i).map(Obj::text);
    let protocol = arg(1).filter(|p| !p.is_empty());
    let verbose = objv.get(2).map(|v| boolean_arg("verbose", v)).transpose()?.unwrap_or(false);
    let supported = objv.get(3).map(|v| boolean_arg("supported", v)).transpose()?.unwrap_or(false);
    let ssl_error = |e| TlsError::ssl(ErrorKind::Ssl, "cannot list ciphers", &e);
    let mut builder = SslContext::builder(SslMethod::tls()).map_err(ssl_error)?;
    if let Some(p) = &protocol {
        let version = match PROTOCOLS.iter().find(|(name, _)| name == p) {
            Some((_, v)) => *v,
            None if p == "ssl2" || p == "ssl3" => {
                return Err(TlsError::new(ErrorKind::Unsupported, p.as_str(), format!("protocol \"{p}\" is not supported by this OpenSSL")));
            }
            None => {
                return Err(TlsError::new(ErrorKind::Value, p.as_str(), format!("bad protocol \"{p}\": must be one of {}", protocol_names().join(", "))));
            }
        };
        // As `openssl ciphers -s -P`: the protocol bounds the context, which
        // matters only for the supported list.
        builder.set_min_proto_version(Some(version)).map_err(ssl_error)?;
        builder.set_max_proto_version(Some(version)).map_err(ssl_error)?;
    }
    let context = builder.build();
    let ssl = Ssl::new(&context).map_err(ssl_error)?;
    // The default list (TLS 1.3 suites included), or with `supported` the
    // ones usable when the protocol is negotiated.
    let list = openssl_extra::cipher_list(&ssl, supported);
    Ok(Obj::list(list.iter().map(|c| Obj::string(if verbose { &c.description } else { &c.name }))))
}

fn protocol_names() -> Vec<&'static str> {
    PROTOCOLS.iter().map(|(n, _)| *n).collect()
}

fn protocols(_interp: Interp, objv: &[Obj]) -> Result<Obj> {
    if objv.len() != 1 {
        return Err(wrong_args(""));
    }
    Ok(Obj::list(protocol_names().into_iter().map(Obj::string)))
}

fn version(_interp: Interp, objv: &[Obj]) -> Result<Obj> {
    if objv.len() != 1 {
        return Err(wrong_args(""));
    }
    Ok(Obj::string(openssl::version::version()))
}

/// Bytes of keying material `tls::exportkey` gives at most.
const EXPORT_LIMIT: i64 = 16384;

/// `tls::exportkey channel label length ?context?`: RFC 5705 / RFC 8446
/// keying material (`SSL_export_keying_material`) as a byte array. Without
/// `context` none is used, which for TLS 1.2 differs from an empty one.
fn exportkey(interp: Interp, objv: &[Obj]) -> Result<Obj> {
    if !(4..=5).contains(&objv.len()) {
        return Err(wrong_args("channel label length ?context?"));
    }
    let name = objv[1].text();
    let label = objv[2].text();
    let length = integer_arg("length", &objv[3])?;
    if !(1..=EXPORT_LIMIT).contains(&length) {
        return Err(TlsError::new(ErrorKind::Value, "length", format!("bad length \"{}\": must be an integer from 1 to {EXPORT_LIMIT}", objv[3].text())));
    }
    let context = objv.get(4).map(Obj::byte_vec);
    with_layer(interp, &name, |layer| {
        let ssl = layer.ssl();
        if !ssl.is_init_finished() {
            return Err(TlsError::new(ErrorKind::Channel, "HANDSHAKE", format!("channel \"{name}\": the handshake is not complete")));
        }
        let mut material = vec![0u8; length as usize];
        ssl.export_keying_material(&mut material, &label, context.as_deref())
            .map_err(|e| TlsError::ssl(ErrorKind::Ssl, &format!("cannot export keying material for label \"{label}\""), &e))?;
        Ok(Obj::bytes(&material))
    })
}

/// `tls::MakeCertificate keysize days serial {field value ...}`: a new
/// RSA key and a self-signed certificate as `{keyPem certPem}`, for
/// `tls::misc req` and `strreq` in `tls.tcl`, which check the arguments
/// as TclTLS does and write the files or variables.
fn make_certificate(_interp: Interp, objv: &[Obj]) -> Result<Obj> {
    if objv.len() != 5 {
        return Err(wrong_args("keysize days serial subject"));
    }
    let number = |i: usize, what: &str| -> Result<u32> {
        let n = integer_arg(what, &objv[i])?;
        u32::try_from(n).map_err(|_| TlsError::new(ErrorKind::Value, what, format!("bad {what} \"{n}\": must not be negative")))
    };
    let words = objv[4].elements().ok_or_else(|| TlsError::new(ErrorKind::Value, "subject", "the subject is not a list"))?;
    if !words.len().is_multiple_of(2) {
        return Err(TlsError::new(ErrorKind::Value, "subject", "Information list must have even number of arguments"));
    }
    let subject = words.chunks(2).map(|pair| (pair[0].text(), pair[1].text())).collect();
    let request = crate::certgen::Request { key_bits: number(1, "keysize")?, days: number(2, "days")?, serial: number(3, "serial")?, subject };
    let (key, cert) = crate::certgen::self_signed(&request)?;
    Ok(Obj::list([Obj::string(&key), Obj::string(&cert)]))
}
