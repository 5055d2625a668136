//! The `Tcl_ChannelType` named `tls` and its entry points.
//!
//! Each entry point catches panics, turns its C arguments into Rust ones
//! and calls a method of [`TlsChannel`]. The instance data is a boxed
//! [`Shell`], created by [`stack`] and freed by the close proc (which Tcl
//! calls both for `close` and for `Tcl_UnstackChannel`).
//!
//! Scripts run from OpenSSL callbacks (`-validatecommand`, `-command`,
//! `-password`) while one of our calls is in progress. Such a script may
//! enter the event loop, do I/O on the channel, close or unimport it. The
//! shell makes that safe: while a call is running (`busy`), every other
//! entry point is refused without touching the TLS state, and a close
//! only marks the shell; the running call sees the lower channel gone,
//! fails cleanly, and frees the shell when it returns.

use std::cell::{Cell, UnsafeCell};
use std::ffi::{c_char, c_int};

use super::lower::LowerChannel;
use super::{linger, Stall, TlsChannel};
use crate::error::{ErrorKind, TlsError};
use crate::tcl::sys::{self, ClientData, Tcl_Channel, Tcl_ChannelType, Tcl_Interp};
use crate::tcl::{boundary, Obj};
use foreign_types::ForeignTypeRef;

/// One stacked channel: what re-entrant calls may look at, and the TLS
/// state that only the running call may use.
pub struct Shell {
    pub chan: Cell<Tcl_Channel>,
    busy: Cell<bool>,
    /// Tcl closed or unstacked the layer during a running call.
    closed: Cell<bool>,
    timer: Cell<sys::Tcl_TimerToken>,
    /// Fires at the handshake's `-timeout` deadline.
    deadline_timer: Cell<sys::Tcl_TimerToken>,
    /// An interest mask Tcl set while a call was running, applied after it.
    pending_watch: Cell<Option<c_int>>,
    /// Events were refused during the running call: ask again after it.
    refresh_after: Cell<bool>,
    /// Between `thread::transfer`'s removal from one thread and insertion
    /// into the next: no timers or event interest may be set up.
    in_transit: Cell<bool>,
    /// The lower channel, for option procs that may run at any time.
    lower: LowerChannel,
    /// The connection, for `tls::status` from within a callback.
    ssl: *mut openssl_sys::SSL,
    tls: UnsafeCell<TlsChannel>,
}

pub static CHANNEL_TYPE: Tcl_ChannelType = Tcl_ChannelType {
    type_name: c"tls".as_ptr(),
    version: sys::TCL_CHANNEL_VERSION_5,
    close_proc: sys::CLOSE_PROC_FIELD,
    input_proc: Some(input_proc),
    output_proc: Some(output_proc),
    seek_proc: None,
    set_option_proc: Some(set_option_proc),
    get_option_proc: Some(get_option_proc),
    watch_proc: Some(watch_proc),
    get_handle_proc: Some(get_handle_proc),
    close2_proc: Some(close2_proc),
    block_mode_proc: Some(block_mode_proc),
    flush_proc: None,
    handler_proc: Some(handler_proc),
    wide_seek_proc: None,
    thread_action_proc: Some(thread_action_proc),
    truncate_proc: None,
};

/// The shell behind instance data.
///
/// # Safety
/// `data` is instance data of our channel type: a `Shell` made by
/// [`stack`] and not yet freed. Only shared references are made, so
/// re-entrant calls may hold one at the same time.
unsafe fn shell<'a>(data: ClientData) -> &'a Shell {
    // SAFETY: see the function's contract.
    unsafe { &*(data as *const Shell) }
}

impl Shell {
    /// Runs `f` on the TLS state unless a call is already running (then
    /// `refused` is returned). Frees the shell afterwards if Tcl closed the
    /// channel meanwhile.
    ///
    /// # Safety
    /// `this` comes from [`shell`]; after this returns it may be freed.
    unsafe fn enter<R>(this: *const Shell, refused: R, f: impl FnOnce(&Shell, &mut TlsChannel) -> R) -> R {
        // SAFETY: live per the contract.
        let shell = unsafe { &*this };
        if shell.busy.replace(true) {
            // A script run from one of our calls entered the event loop.
            // Stop the lower channel's events until that call is over, or
            // a readable socket nobody reads would spin the loop.
            shell.lower.watch(0);
            shell.refresh_after.set(true);
            return refused;
        }
        // SAFETY: `busy` makes this the only mutable access to the state;
        // re-entrant calls return above without touching it.
        let tls = unsafe { &mut *shell.tls.get() };
        let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(shell, tls))) {
            Ok(result) => result,
            Err(payload) => {
                // A bug of ours: the channel fails with the panic's message
                // (what read/gets/puts raise), and is usable again for
                // close; the entry point's boundary reports the panic.
                let message = crate::tcl::panic_message(payload.as_ref());
                if tls.fatal.is_none() {
                    tls.fatal = Some(TlsError::internal(&message));
                }
                shell.report_error(tls);
                shell.busy.set(false);
                std::panic::resume_unwind(payload);
            }
        };
        if let Some(mask) = shell.pending_watch.take() {
            tls.watch_mask = mask;
            shell.refresh_after.set(true);
        }
        if shell.refresh_after.replace(false) {
            shell.refresh_interest(tls);
        }
        shell.busy.set(false);
        if shell.closed.get() {
            // SAFETY: Tcl has let go of the channel (the close proc ran and
            // left the freeing to us); nothing else refers to the shell.
            drop(unsafe { Box::from_raw(this as *mut Shell) });
        }
        result
    }

    fn alive(&self) -> bool {
        self.lower.is_alive()
    }

    /// Puts the channel's error where `read`/`gets`/`puts` report it
    /// (`Tcl_SetChannelError`), with `-errorcode`.
    fn report_error(&self, tls: &TlsChannel) {
        if !self.alive() {
            return;
        }
        let error = tls.fatal.clone().unwrap_or_else(|| TlsError::new(ErrorKind::Io, "io", "TLS channel failed"));
        let code = Obj::list(error.error_code().iter().map(|w| Obj::string(w)));
        let report = Obj::list([Obj::string("-code"), Obj::int(1), Obj::string("-level"), Obj::int(0), Obj::string("-errorcode"), code, Obj::string(&error.message())]);
        // SAFETY: our channel is live (alive checked); Tcl takes its own
        // reference to the message.
        unsafe { sys::Tcl_SetChannelError(self.chan.get(), report.as_ptr()) };
    }

    fn stall_code(&self, tls: &TlsChannel, stall: Stall) -> c_int {
        match stall {
            Stall::WouldBlock => libc::EAGAIN,
            Stall::Fatal => {
                self.report_error(tls);
                libc::ECONNABORTED
            }
        }
    }

    /// Tells the lower channel what we need and arms or cancels the timer.
    pub fn refresh_interest(&self, tls: &TlsChannel) {
        if !self.alive() || self.in_transit.get() {
            return;
        }
        tls.lower.watch(tls.lower_interest());
        if tls.needs_timer() {
            if self.timer.get().is_null() {
                // SAFETY: the close proc deletes the timer before the shell
                // can be freed, so the callback never sees freed data.
                let token = unsafe { sys::Tcl_CreateTimerHandler(0, timer_proc, self as *const Shell as ClientData) };
                self.timer.set(token);
            }
        } else {
            self.cancel_timer();
        }
        // The handshake's deadline is kept whatever the script watches, so
        // that a connection nobody reads still fails and tells -command.
        match tls.handshake_deadline() {
            Some(deadline) if self.deadline_timer.get().is_null() => {
                let left = deadline.saturating_duration_since(std::time::Instant::now()).as_millis() + 1;
                // SAFETY: as for the timer above: the close proc deletes it.
                let token = unsafe { sys::Tcl_CreateTimerHandler(c_int::try_from(left).unwrap_or(c_int::MAX), deadline_proc, self as *const Shell as ClientData) };
                self.deadline_timer.set(token);
            }
            Some(_) => {}
            None => Self::cancel(&self.deadline_timer),
        }
    }

    fn cancel_timer(&self) {
        Self::cancel(&self.timer);
    }

    /// Both timers: the channel is closing or leaving this thread.
    fn cancel_timers(&self) {
        Self::cancel(&self.timer);
        Self::cancel(&self.deadline_timer);
    }

    fn cancel(timer: &Cell<sys::Tcl_TimerToken>) {
        let token = timer.replace(std::ptr::null_mut());
        if !token.is_null() {
            // SAFETY: a token we created and that has not fired.
            unsafe { sys::Tcl_DeleteTimerHandler(token) };
        }
    }

    /// Read-only access to the connection from a command, also from within
    /// a callback (OpenSSL's getters only read the SSL structure).
    pub fn ssl(&self) -> &openssl::ssl::SslRef {
        // SAFETY: the SSL lives as long as the shell (owned by the engine
        // inside it); SslRef is an opaque view of C memory.
        unsafe { openssl::ssl::SslRef::from_ptr(self.ssl) }
    }

    /// Runs `f` on the TLS state from a command; an error if a call on
    /// this channel is already running (re-entrant use from a callback).
    pub fn with_tls<R>(&self, f: impl FnOnce(&mut TlsChannel) -> Result<R, TlsError>) -> Result<R, TlsError> {
        let busy = TlsError::new(ErrorKind::Channel, "BUSY", "channel is busy: TLS I/O from within its own callback is not allowed");
        // SAFETY: `self` is a live shell found by `find_tls`.
        unsafe {
            Shell::enter(self, Err(busy), |shell, tls| {
                let result = f(tls);
                shell.refresh_interest(tls);
                result
            })
        }
    }

    /// Read-only view of the TLS state for status commands.
    pub fn peek<R>(&self, f: impl FnOnce(&TlsChannel) -> R) -> Option<R> {
        if self.busy.get() {
            return None;
        }
        // SAFETY: no call is running, so no mutable reference exists.
        Some(f(unsafe { &*self.tls.get() }))
    }
}

/// Runs an input or output proc body; a panic fails the call with
/// ECONNABORTED (the channel's error, set by `Shell::enter`, carries the
/// panic's message).
fn caught_io(error: *mut c_int, body: impl FnOnce() -> c_int) -> c_int {
    crate::tcl::catch(body).unwrap_or_else(|_| {
        // SAFETY: Tcl's error pointer, valid for the call; the body that
        // also wrote through it has ended.
        unsafe { *error = libc::ECONNABORTED };
        -1
    })
}

/// Every close: `close` and `Tcl_UnstackChannel` (flags 0). Tcl refuses
/// half-closes (`close $chan write`) of stacked channels before calling
/// the driver, so other flags are refused here too.
unsafe extern "C" fn close2_proc(data: ClientData, _interp: *mut Tcl_Interp, flags: c_int) -> c_int {
    if flags & (sys::TCL_CLOSE_READ | sys::TCL_CLOSE_WRITE) != 0 {
        return libc::EINVAL;
    }
    boundary(libc::EINVAL, || {
        // SAFETY: Tcl passes our instance data.
        let shell = unsafe { shell(data) };
        shell.cancel_timers();
        if shell.busy.get() {
            // Closed from a callback inside one of our calls: that call
            // finds the lower channel gone and frees the shell.
            shell.lower.mark_dead();
            shell.closed.set(true);
            return 0;
        }
        // SAFETY: no call is running and Tcl calls the close proc once, last.
        let shell = unsafe { Box::from_raw(data as *mut Shell) };
        let mut tls = shell.tls.into_inner();
        if !tls.unstacking {
            let rest = tls.close_notify_for_close(linger::can_take(&tls.lower));
            linger::hand_off(&tls.lower, tls.lower_eof, tls.awaits_tickets(), rest);
        }
        0
    })
}

unsafe extern "C" fn input_proc(data: ClientData, buf: *mut c_char, to_read: c_int, error: *mut c_int) -> c_int {
    caught_io(error, || {
        // SAFETY: Tcl gives a buffer of `to_read` writable bytes, live for
        // the call and used by no one else meanwhile.
        let buf = unsafe { std::slice::from_raw_parts_mut(buf as *mut u8, to_read.max(0) as usize) };
        // SAFETY: Tcl's error pointer, valid for the call; `caught_io`
        // writes through it only after this closure has ended.
        let error = unsafe { &mut *error };
        // SAFETY: Tcl passes our instance data.
        let shell_ref = unsafe { shell(data) };
        // SAFETY: `shell_ref` comes from `shell` and is not used after
        // `enter`, which may free it.
        unsafe {
            Shell::enter(shell_ref, Err(libc::EAGAIN), |shell, tls| {
                crate::tcl::test_panic("input");
                tls.input(buf).map_err(|stall| shell.stall_code(tls, stall))
            })
        }
        .map(|n| n as c_int)
        .unwrap_or_else(|code| {
            *error = code;
            -1
        })
    })
}

unsafe extern "C" fn output_proc(data: ClientData, buf: *const c_char, to_write: c_int, error: *mut c_int) -> c_int {
    caught_io(error, || {
        // SAFETY: Tcl gives `to_write` readable bytes, live for the call.
        let buf = unsafe { std::slice::from_raw_parts(buf as *const u8, to_write.max(0) as usize) };
        // SAFETY: Tcl's error pointer, valid for the call; `caught_io`
        // writes through it only after this closure has ended.
        let error = unsafe { &mut *error };
        // SAFETY: Tcl passes our instance data.
        let shell_ref = unsafe { shell(data) };
        // SAFETY: `shell_ref` comes from `shell` and is not used after
        // `enter`, which may free it.
        unsafe {
            Shell::enter(shell_ref, Err(libc::EAGAIN), |shell, tls| {
                let result = tls.output(buf);
                if !tls.blocking {
                    // Ciphertext may be waiting for the lower channel.
                    shell.refresh_interest(tls);
                }
                result.map_err(|stall| shell.stall_code(tls, stall))
            })
        }
        .map(|n| n as c_int)
        .unwrap_or_else(|code| {
            *error = code;
            -1
        })
    })
}

unsafe extern "C" fn set_option_proc(data: ClientData, interp: *mut Tcl_Interp, name: *const c_char, value: *const c_char) -> c_int {
    boundary(sys::TCL_ERROR, || {
        // SAFETY: Tcl passes our instance data.
        let shell_ref = unsafe { shell(data) };
        // SAFETY: Tcl calls a set option proc with a NULL or live `interp`
        // and C strings for `name` and `value`, as `set_option` requires.
        unsafe { shell_ref.lower.set_option(interp, name, value) }
    })
}

unsafe extern "C" fn get_option_proc(data: ClientData, interp: *mut Tcl_Interp, name: *const c_char, ds: *mut sys::Tcl_DString) -> c_int {
    boundary(sys::TCL_ERROR, || {
        // SAFETY: Tcl passes our instance data.
        let shell_ref = unsafe { shell(data) };
        // SAFETY: Tcl calls a get option proc with a NULL or live `interp`,
        // a NULL or C string `name` and a live DString, as `get_option`
        // requires.
        unsafe { shell_ref.lower.get_option(interp, name, ds) }
    })
}

unsafe extern "C" fn watch_proc(data: ClientData, mask: c_int) {
    boundary((), || {
        let mask = mask & (sys::TCL_READABLE | sys::TCL_WRITABLE);
        // SAFETY: our instance data.
        let shell_ref = unsafe { shell(data) };
        if shell_ref.busy.get() {
            // A script in a callback set a fileevent: apply it afterwards.
            shell_ref.pending_watch.set(Some(mask));
            shell_ref.lower.watch(0);
            return;
        }
        // SAFETY: our instance data, not busy.
        unsafe {
            Shell::enter(shell_ref, (), |shell, tls| {
                tls.watch_mask = mask;
                shell.refresh_interest(tls);
            })
        }
    })
}

unsafe extern "C" fn get_handle_proc(data: ClientData, direction: c_int, handle: *mut ClientData) -> c_int {
    boundary(sys::TCL_ERROR, || {
        // SAFETY: our instance data.
        match unsafe { shell(data) }.lower.handle(direction) {
            Some(h) => {
                // SAFETY: Tcl's out pointer, valid for the call.
                unsafe { *handle = h };
                sys::TCL_OK
            }
            None => sys::TCL_ERROR,
        }
    })
}

unsafe extern "C" fn block_mode_proc(data: ClientData, mode: c_int) -> c_int {
    boundary(libc::EINVAL, || {
        let blocking = mode == sys::TCL_MODE_BLOCKING;
        // SAFETY: Tcl passes our instance data.
        let shell_ref = unsafe { shell(data) };
        // SAFETY: `shell_ref` comes from `shell` and is not used after
        // `enter`, which may free it.
        unsafe {
            Shell::enter(shell_ref, libc::EBUSY, |_, tls| {
                tls.blocking = blocking;
                tls.lower.set_blocking(blocking);
                0
            })
        }
    })
}

unsafe extern "C" fn handler_proc(data: ClientData, mask: c_int) -> c_int {
    boundary(0, || {
        // SAFETY: Tcl passes our instance data.
        let shell_ref = unsafe { shell(data) };
        // SAFETY: `shell_ref` comes from `shell` and is not used after
        // `enter`, which may free it.
        unsafe {
            Shell::enter(shell_ref, 0, |shell, tls| {
                let deliver = tls.on_lower_ready(mask);
                shell.refresh_interest(tls);
                if shell.alive() {
                    deliver
                } else {
                    0
                }
            })
        }
    })
}

/// `thread::transfer`: timers and file handlers belong to a thread, so the
/// old thread's are dropped and the new thread's set up on arrival.
unsafe extern "C" fn thread_action_proc(data: ClientData, action: c_int) {
    boundary((), || {
        // SAFETY: our instance data.
        let shell_ref = unsafe { shell(data) };
        if action == sys::TCL_CHANNEL_THREAD_REMOVE {
            shell_ref.cancel_timers();
            shell_ref.lower.watch(0);
            shell_ref.in_transit.set(true);
        } else {
            shell_ref.in_transit.set(false);
            // SAFETY: our instance data.
            unsafe {
                Shell::enter(shell_ref, (), |shell, tls| shell.refresh_interest(tls));
            }
        }
    })
}

unsafe extern "C" fn timer_proc(data: ClientData) {
    boundary((), || {
        // SAFETY: the close proc deletes a pending timer before the shell
        // can be freed, so a firing timer always sees a live shell.
        let shell_ref = unsafe { shell(data) };
        shell_ref.timer.set(std::ptr::null_mut());
        let chan = shell_ref.chan.get();
        // SAFETY: our instance data.
        let mask = unsafe {
            Shell::enter(shell_ref, 0, |shell, tls| {
                let mask = tls.on_timer();
                shell.refresh_interest(tls);
                if shell.alive() {
                    mask
                } else {
                    0
                }
            })
        };
        if mask != 0 {
            // SAFETY: the channel was alive when `enter` returned and nothing
            // ran since; handlers may close it, so nothing follows this call.
            unsafe { sys::Tcl_NotifyChannel(chan, mask) };
        }
    })
}

/// The handshake's `-timeout` deadline came: fail it if it is not over
/// (a timer may fire a little early: then it is armed again).
unsafe extern "C" fn deadline_proc(data: ClientData) {
    boundary((), || {
        // SAFETY: the close proc deletes a pending timer before the shell
        // can be freed, so a firing timer always sees a live shell.
        let shell_ref = unsafe { shell(data) };
        shell_ref.deadline_timer.set(std::ptr::null_mut());
        let chan = shell_ref.chan.get();
        // SAFETY: our instance data.
        let mask = unsafe {
            Shell::enter(shell_ref, 0, |shell, tls| {
                let mask = tls.on_deadline();
                shell.refresh_interest(tls);
                if shell.alive() {
                    mask
                } else {
                    0
                }
            })
        };
        if mask != 0 {
            // SAFETY: the channel was alive when `enter` returned and nothing
            // ran since; handlers may close it, so nothing follows this call.
            unsafe { sys::Tcl_NotifyChannel(chan, mask) };
        }
    })
}

/// The value of `fconfigure $chan $name`, if the channel has the option.
///
/// # Safety
/// `chan` is a live channel.
pub unsafe fn channel_option(chan: Tcl_Channel, name: &std::ffi::CStr) -> Option<String> {
    let mut ds = std::mem::MaybeUninit::<sys::Tcl_DString>::uninit();
    // SAFETY: `ds` is writable storage for a DString; this initialises it.
    unsafe { sys::Tcl_DStringInit(ds.as_mut_ptr()) };
    // SAFETY: the channel is live (contract), `name` is a C string and the
    // DString is initialised; a NULL interp only means no error message.
    let ok = unsafe { sys::Tcl_GetChannelOption(std::ptr::null_mut(), chan, name.as_ptr(), ds.as_mut_ptr()) };
    // SAFETY: initialised by Tcl_DStringInit above; not freed before the
    // reference's last use.
    let ds_ref = unsafe { &*ds.as_ptr() };
    let value = if ds_ref.string.is_null() {
        String::new()
    } else {
        // SAFETY: a DString's `string` is a NUL-terminated buffer it owns,
        // live until the DString is freed below; copied at once.
        unsafe { std::ffi::CStr::from_ptr(ds_ref.string) }.to_string_lossy().into_owned()
    };
    // SAFETY: initialised above and freed once, here.
    unsafe { sys::Tcl_DStringFree(ds.as_mut_ptr()) };
    (ok == sys::TCL_OK).then_some(value)
}

/// Whether `chan` is in blocking mode (`fconfigure -blocking`).
///
/// # Safety
/// `chan` is a live channel.
unsafe fn is_blocking(chan: Tcl_Channel) -> bool {
    // SAFETY: per the contract.
    unsafe { channel_option(chan, c"-blocking") }.is_none_or(|v| v != "0")
}

/// Whether `chan`'s top layer is ours.
///
/// # Safety
/// `chan` is a live channel.
pub unsafe fn is_tls(chan: Tcl_Channel) -> bool {
    // SAFETY: per the contract.
    unsafe { std::ptr::eq(sys::Tcl_GetChannelType(chan), &CHANNEL_TYPE) }
}

/// The TLS layer of `chan`'s stack, top first.
///
/// # Safety
/// `chan` is a live channel; the reference must not outlive the command
/// that asked (a script may close the channel afterwards).
pub unsafe fn find_tls<'a>(chan: Tcl_Channel) -> Option<&'a Shell> {
    let mut current = chan;
    while !current.is_null() {
        // SAFETY: a live channel of the stack.
        if unsafe { is_tls(current) } {
            // SAFETY: a live channel of the stack.
            let data = unsafe { sys::Tcl_GetChannelInstanceData(current) };
            // SAFETY: a channel of our type carries a live shell.
            return Some(unsafe { shell(data) });
        }
        // SAFETY: live channel.
        current = unsafe { sys::Tcl_GetStackedChannel(current) };
    }
    None
}

/// Stacks a TLS layer on `lower`; returns its shell.
///
/// # Safety
/// `interp` is live and `lower` is a live channel of it.
pub unsafe fn stack<'a>(interp: *mut Tcl_Interp, lower: Tcl_Channel, mut tls: TlsChannel) -> Result<&'a Shell, TlsError> {
    // SAFETY: live channel.
    let mode = unsafe { sys::Tcl_GetChannelMode(lower) };
    if mode & (sys::TCL_READABLE | sys::TCL_WRITABLE) != (sys::TCL_READABLE | sys::TCL_WRITABLE) {
        return Err(TlsError::new(ErrorKind::Channel, "MODE", "channel must be open for both reading and writing"));
    }
    // SAFETY: live channel (contract).
    tls.blocking = unsafe { is_blocking(lower) };
    // What Tcl has read ahead becomes push-back on the lower channel.
    let read_ahead = tls.lower.buffered();
    let shell = Box::new(Shell {
        chan: Cell::new(std::ptr::null_mut()),
        busy: Cell::new(false),
        closed: Cell::new(false),
        timer: Cell::new(std::ptr::null_mut()),
        deadline_timer: Cell::new(std::ptr::null_mut()),
        pending_watch: Cell::new(None),
        refresh_after: Cell::new(false),
        in_transit: Cell::new(false),
        lower: tls.lower.clone(),
        ssl: tls.engine.ssl().as_ptr(),
        tls: UnsafeCell::new(tls),
    });
    let raw = Box::into_raw(shell);
    // SAFETY: arguments as Tcl_StackChannel documents; on success Tcl owns
    // `raw` until it calls our close proc.
    let chan = unsafe { sys::Tcl_StackChannel(interp, &CHANNEL_TYPE, raw as ClientData, mode, lower) };
    if chan.is_null() {
        // SAFETY: Tcl refused the layer, so `raw` is still ours alone.
        drop(unsafe { Box::from_raw(raw) });
        return Err(TlsError::new(ErrorKind::Channel, "STACK", "cannot stack a TLS layer on this channel"));
    }
    // SAFETY: now owned by the channel, live until the close proc.
    let shell = unsafe { &*raw };
    shell.chan.set(chan);
    if read_ahead > 0 {
        let bytes = shell.lower.take_pushback(read_ahead);
        shell.with_tls(|tls| {
            tls.engine.feed(&bytes);
            Ok(())
        })?;
    }
    // SAFETY: `chan` is our live channel, just stacked.
    unsafe { learn_interest(chan) };
    Ok(shell)
}

/// Has Tcl tell a newly stacked layer which events the channel's handlers
/// already want. `Tcl_StackChannel` does not call the watch proc, and a
/// `fileevent` that only replaces the script of a registered handler does
/// not either; so a layer stacked under a live `fileevent readable` (a
/// STARTTLS server, tcllib's ldap client) would never learn of it and
/// would swallow every event. Creating and deleting a handler with an
/// empty mask makes Tcl recompute the channel's interest from all its
/// handlers and pass it to the top layer's watch proc.
///
/// # Safety
/// `chan` is a live channel whose top layer is ours.
unsafe fn learn_interest(chan: Tcl_Channel) {
    unsafe extern "C" fn no_event(_data: ClientData, _mask: c_int) {}
    // SAFETY: a live channel; the handler does nothing and is removed at
    // once, before any event can be delivered to it.
    unsafe { sys::Tcl_CreateChannelHandler(chan, 0, no_event, std::ptr::null_mut()) };
    // SAFETY: the same channel, handler and client data as just created.
    unsafe { sys::Tcl_DeleteChannelHandler(chan, no_event, std::ptr::null_mut()) };
}

/// How long a blocking `tls::unimport` waits for the peer's close_notify.
const UNIMPORT_WAIT_MS: u64 = 5_000;

/// Ends TLS on `chan` and pops the layer, leaving the lower channel usable
/// with whatever the peer sent in the clear after its close_notify.
///
/// # Safety
/// `interp` is live and `chan` is a live channel whose top layer is ours.
pub unsafe fn unstack(interp: *mut Tcl_Interp, chan: Tcl_Channel) -> Result<(), TlsError> {
    // SAFETY: live channel (contract).
    let data = unsafe { sys::Tcl_GetChannelInstanceData(chan) };
    // SAFETY: the caller checked the top layer is ours, so its instance
    // data is a live shell.
    let shell = unsafe { shell(data) };
    let lower = shell.lower.raw();
    let mut leftover = Vec::new();
    if !shell.busy.get() {
        // Push plaintext Tcl still buffers through TLS before ending it.
        // SAFETY: live channel.
        unsafe { sys::Tcl_Flush(chan) };
    }
    // What is still in Tcl's buffers now (a non-blocking channel whose
    // handshake is not done, or a call from a callback) would go to the
    // socket unencrypted once the layer is gone: refuse instead.
    // SAFETY: live channel.
    let waiting = unsafe { sys::Tcl_OutputBuffered(chan) };
    if waiting > 0 {
        let message = format!("cannot unimport: {waiting} bytes written to the channel are not encrypted yet and would be sent in the clear");
        return Err(TlsError::new(ErrorKind::Channel, "PENDING", message));
    }
    if !shell.busy.get() {
        shell.with_tls(|tls| {
            tls.send_close_notify();
            tls.await_peer_close(UNIMPORT_WAIT_MS);
            if tls.engine.peer_closed() {
                leftover = tls.engine.take_leftover_input();
            }
            tls.unstacking = true;
            Ok(())
        })?;
    }
    // SAFETY: Tcl calls our close proc, which frees the shell (or, from a
    // callback, leaves that to the running call); it is not used after.
    if unsafe { sys::Tcl_UnstackChannel(interp, chan) } != sys::TCL_OK {
        return Err(TlsError::new(ErrorKind::Channel, "UNSTACK", "cannot remove the TLS layer"));
    }
    if !leftover.is_empty() {
        // SAFETY: the lower channel is live and now on top.
        unsafe { sys::Tcl_Ungets(lower, leftover.as_ptr() as *const c_char, leftover.len() as sys::TclSize, 0) };
    }
    Ok(())
}
