//! The `Tcl_ChannelType` named `tls` and its entry points.
//!
//! Each entry point catches panics, turns its C arguments into Rust ones
//! and calls a method of [`TlsChannel`]. The instance data is a boxed
//! [`Shell`]; [`Instance`] alone turns it into Tcl's client data and back,
//! and lends it to closures only, so no reference outlives the call that
//! made it.
//!
//! Scripts run from OpenSSL callbacks (`-validatecommand`, `-command`,
//! `-password`) while one of our calls is in progress. Such a script may
//! enter the event loop, do I/O on the channel, close or unimport it. The
//! shell makes that safe: the TLS state is a `RefCell`, so while a call
//! runs, every other entry point finds it borrowed and is refused without
//! touching it; a close only marks the shell, which is freed when the last
//! call using it returns.

use std::cell::{Cell, RefCell, RefMut};
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
    /// Tcl closed or unstacked the layer: free the shell once no call
    /// uses it any more.
    closed: Cell<bool>,
    /// How many entry points and commands are using the shell now.
    users: Cell<u32>,
    timer: Cell<sys::Tcl_TimerToken>,
    /// Fires at the handshake's `-timeout` deadline.
    deadline_timer: Cell<sys::Tcl_TimerToken>,
    /// The events the script wants, as Tcl last told the watch proc (also
    /// while a call was running); applied when each call ends.
    watch: Cell<c_int>,
    /// Between `thread::transfer`'s removal from one thread and insertion
    /// into the next: no timers or event interest may be set up.
    in_transit: Cell<bool>,
    /// The lower channel, for option procs that may run at any time.
    lower: LowerChannel,
    /// The connection, for `tls::status` from within a callback.
    ssl: *mut openssl_sys::SSL,
    tls: RefCell<TlsChannel>,
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

/// The owner of the shell's raw pointer: the one place that turns a boxed
/// shell into Tcl's client data (instance data, timer data) and back.
struct Instance;

impl Instance {
    fn into_data(shell: Box<Shell>) -> ClientData {
        Box::into_raw(shell) as ClientData
    }

    /// Lends the shell behind `data` to `f`; frees it afterwards (also
    /// when `f` panics) if Tcl closed the channel meanwhile and no other
    /// call is still using it.
    ///
    /// # Safety
    /// `data` came from [`Instance::into_data`] and the shell has not been
    /// freed: Tcl passes instance data only while the channel exists, and
    /// the close proc deletes the timer before the shell can be freed.
    unsafe fn with<R>(data: ClientData, f: impl FnOnce(&Shell) -> R) -> R {
        // SAFETY: live per the contract; only shared references are made,
        // so nested calls may hold one at the same time.
        let shell = unsafe { &*(data as *const Shell) };
        shell.users.set(shell.users.get() + 1);
        let _in_use = InUse(data);
        f(shell)
    }
}

/// One use of a shell by [`Instance::with`]; its end may free the shell.
struct InUse(ClientData);

impl Drop for InUse {
    fn drop(&mut self) {
        // SAFETY: made by `Instance::with` from a live shell, which cannot
        // be freed while this use is counted.
        let shell = unsafe { &*(self.0 as *const Shell) };
        let users = shell.users.get() - 1;
        shell.users.set(users);
        if shell.closed.get() && users == 0 {
            // SAFETY: Tcl has let go of the channel (its close proc ran) and
            // no call uses the shell: nothing refers to it any more.
            drop(unsafe { Box::from_raw(self.0 as *mut Shell) });
        }
    }
}

impl Shell {
    /// The TLS state for the running call, or `None` if another call holds
    /// it (a script run from one of our calls re-entered the channel).
    fn try_state(&self) -> Option<RefMut<'_, TlsChannel>> {
        match self.tls.try_borrow_mut() {
            Ok(state) => Some(state),
            Err(_) => {
                // Stop the lower channel's events until that call is over
                // (it asks again when it ends), or a readable socket nobody
                // reads would spin the loop.
                self.lower.watch(0);
                None
            }
        }
    }

    fn busy(&self) -> bool {
        self.tls.try_borrow_mut().is_err()
    }

    /// Runs `f` on the TLS state unless a call is already running (then
    /// `refused` is returned). Every call ends here, in the one place that
    /// sets the channel's event interest: the script's wants (`watch`)
    /// and what TLS needs now, asked of the lower channel and the timer.
    fn enter<R>(&self, refused: R, f: impl FnOnce(&Shell, &mut TlsChannel) -> R) -> R {
        let Some(mut tls) = self.try_state() else {
            return refused;
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self, &mut tls))) {
            Ok(result) => {
                tls.watch_mask = self.watch.get();
                self.refresh_interest(&tls);
                result
            }
            Err(payload) => {
                // A bug of ours: the channel fails with the panic's message
                // (what read/gets/puts raise), and is usable again for
                // close; the entry point's boundary reports the panic.
                let message = crate::tcl::panic_message(payload.as_ref());
                if tls.fatal.is_none() {
                    tls.fatal = Some(TlsError::internal(&message));
                }
                self.report_error(&tls);
                drop(tls);
                std::panic::resume_unwind(payload);
            }
        }
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
        let error = tls.fatal.clone().unwrap_or_else(|| TlsError::new(ErrorKind::Io, "IO", "TLS channel failed"));
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

    /// Tells the lower channel what we need and arms or cancels the timer
    /// (only from [`Shell::enter`]).
    fn refresh_interest(&self, tls: &TlsChannel) {
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
                let left = c_int::try_from(left).unwrap_or(c_int::MAX);
                // SAFETY: as for the timer above: the close proc deletes it.
                let token = unsafe { sys::Tcl_CreateTimerHandler(left, deadline_proc, self as *const Shell as ClientData) };
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
        self.enter(Err(busy), |_, tls| f(tls))
    }

    /// Read-only view of the TLS state for status commands.
    pub fn peek<R>(&self, f: impl FnOnce(&TlsChannel) -> R) -> Option<R> {
        self.tls.try_borrow().ok().map(|tls| f(&tls))
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
        // SAFETY: Tcl passes our instance data; it calls the close proc
        // once, last, and the shell is freed when this use ends.
        unsafe {
            Instance::with(data, |shell| {
                shell.cancel_timers();
                shell.closed.set(true);
                if let Ok(mut tls) = shell.tls.try_borrow_mut() {
                    if !tls.unstacking {
                        let can_take = linger::can_take(&tls.lower);
                        if let Some(engine) = tls.engine_for_tickets(can_take) {
                            linger::hand_off_awaiting_tickets(&tls.lower, engine);
                        } else {
                            let rest = tls.close_notify_for_close(can_take);
                            linger::hand_off(&tls.lower, tls.lower_eof, tls.awaits_tickets(), rest);
                        }
                    }
                }
                // From here on the lower channel is not ours. Closed from a
                // callback inside one of our calls, that call finds it
                // gone, and the shell is freed when the call returns.
                shell.lower.mark_dead();
            })
        };
        0
    })
}

/// Runs one I/O call on the TLS state; a refused call is EAGAIN.
///
/// # Safety
/// `data` is our instance data.
unsafe fn io_call(data: ClientData, error: &mut c_int, f: impl FnOnce(&Shell, &mut TlsChannel) -> Result<usize, c_int>) -> c_int {
    // SAFETY: the caller passes our instance data.
    unsafe { Instance::with(data, |shell| shell.enter(Err(libc::EAGAIN), f)) }.map(|n| n as c_int).unwrap_or_else(|code| {
        *error = code;
        -1
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
        unsafe {
            io_call(data, error, |shell, tls| {
                crate::tcl::test_panic("input");
                tls.input(buf).map_err(|stall| shell.stall_code(tls, stall))
            })
        }
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
        unsafe { io_call(data, error, |shell, tls| tls.output(buf).map_err(|stall| shell.stall_code(tls, stall))) }
    })
}

unsafe extern "C" fn set_option_proc(data: ClientData, interp: *mut Tcl_Interp, name: *const c_char, value: *const c_char) -> c_int {
    boundary(sys::TCL_ERROR, || {
        let set = |shell: &Shell| {
            // SAFETY: Tcl calls a set option proc with a NULL or live
            // `interp` and C strings for `name` and `value`, as
            // `set_option` requires.
            unsafe { shell.lower.set_option(interp, name, value) }
        };
        // SAFETY: Tcl passes our instance data.
        unsafe { Instance::with(data, set) }
    })
}

unsafe extern "C" fn get_option_proc(data: ClientData, interp: *mut Tcl_Interp, name: *const c_char, ds: *mut sys::Tcl_DString) -> c_int {
    boundary(sys::TCL_ERROR, || {
        let get = |shell: &Shell| {
            // SAFETY: Tcl calls a get option proc with a NULL or live
            // `interp`, a NULL or C string `name` and a live DString, as
            // `get_option` requires.
            unsafe { shell.lower.get_option(interp, name, ds) }
        };
        // SAFETY: Tcl passes our instance data.
        unsafe { Instance::with(data, get) }
    })
}

unsafe extern "C" fn watch_proc(data: ClientData, mask: c_int) {
    boundary((), || {
        // SAFETY: Tcl passes our instance data.
        let _ = unsafe {
            Instance::with(data, |shell| {
                unraisable(shell, || {
                    crate::tcl::test_panic("watch");
                    // Kept even while a call runs (a script in a callback
                    // set a fileevent): that call applies it when it ends.
                    shell.watch.set(mask & (sys::TCL_READABLE | sys::TCL_WRITABLE));
                    shell.enter((), |_, _| {});
                })
            })
        };
    })
}

unsafe extern "C" fn get_handle_proc(data: ClientData, direction: c_int, handle: *mut ClientData) -> c_int {
    boundary(sys::TCL_ERROR, || {
        // SAFETY: our instance data.
        match unsafe { Instance::with(data, |shell| shell.lower.handle(direction)) } {
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
        unsafe {
            Instance::with(data, |shell| {
                shell.enter(libc::EBUSY, |_, tls| {
                    tls.blocking = blocking;
                    tls.lower.set_blocking(blocking);
                    0
                })
            })
        }
    })
}

unsafe extern "C" fn handler_proc(data: ClientData, mask: c_int) -> c_int {
    boundary(0, || {
        // SAFETY: Tcl passes our instance data.
        unsafe {
            Instance::with(data, |shell| {
                shell.enter(0, |shell, tls| {
                    let deliver = tls.on_lower_ready(mask);
                    if shell.alive() {
                        deliver
                    } else {
                        0
                    }
                })
            })
        }
    })
}

/// `thread::transfer`: timers and file handlers belong to a thread, so the
/// old thread's are dropped and the new thread's set up on arrival.
unsafe extern "C" fn thread_action_proc(data: ClientData, action: c_int) {
    boundary((), || {
        // SAFETY: our instance data.
        let _ = unsafe {
            Instance::with(data, |shell| {
                unraisable(shell, || {
                    if action == sys::TCL_CHANNEL_THREAD_REMOVE {
                        shell.cancel_timers();
                        shell.lower.watch(0);
                        shell.in_transit.set(true);
                    } else {
                        shell.in_transit.set(false);
                        shell.enter((), |_, _| {});
                    }
                })
            })
        };
    })
}

unsafe extern "C" fn timer_proc(data: ClientData) {
    boundary((), || {
        // SAFETY: the close proc deletes a pending timer before the shell
        // can be freed, so a firing timer always sees a live shell.
        let fired = unsafe {
            Instance::with(data, |shell| {
                unraisable(shell, || {
                    shell.timer.set(std::ptr::null_mut());
                    let mask = shell.enter(0, |shell, tls| if shell.alive() { tls.on_timer() } else { 0 });
                    (shell.chan.get(), mask)
                })
            })
        };
        if let Some((chan, mask)) = fired.filter(|&(_, mask)| mask != 0) {
            // SAFETY: the channel was alive when the call ended and nothing
            // ran since; handlers may close it, so nothing follows this.
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
        let fired = unsafe {
            Instance::with(data, |shell| {
                unraisable(shell, || {
                    shell.deadline_timer.set(std::ptr::null_mut());
                    let mask = shell.enter(0, |shell, tls| if shell.alive() { tls.on_deadline() } else { 0 });
                    (shell.chan.get(), mask)
                })
            })
        };
        if let Some((chan, mask)) = fired.filter(|&(_, mask)| mask != 0) {
            // SAFETY: the channel was alive when the call ended and nothing
            // ran since; handlers may close it, so nothing follows this.
            unsafe { sys::Tcl_NotifyChannel(chan, mask) };
        }
    })
}

/// Runs the body of an entry point that returns nothing to Tcl; a panic
/// (a bug of ours) becomes a background error in the channel's
/// interpreter, as pyo3 reports its "unraisable" exceptions, instead of
/// vanishing.
fn unraisable<R>(shell: &Shell, body: impl FnOnce() -> R) -> Option<R> {
    match crate::tcl::catch(body) {
        Ok(value) => Some(value),
        Err(message) => {
            if let Some(hooks) = crate::callbacks::hooks(shell.ssl()) {
                hooks.background_error(&TlsError::internal(&format!("{message} (in the tls channel driver)")));
            }
            None
        }
    }
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

/// Lends the TLS layer of `chan`'s stack (top first) to `f`; `None` if
/// the stack has none.
///
/// # Safety
/// `chan` is a live channel.
pub unsafe fn with_layer<R>(chan: Tcl_Channel, f: impl FnOnce(&Shell) -> R) -> Option<R> {
    let mut current = chan;
    while !current.is_null() {
        // SAFETY: a live channel of the stack.
        if unsafe { is_tls(current) } {
            // SAFETY: a live channel of the stack.
            let data = unsafe { sys::Tcl_GetChannelInstanceData(current) };
            // SAFETY: a channel of our type carries a live shell.
            return Some(unsafe { Instance::with(data, f) });
        }
        // SAFETY: live channel.
        current = unsafe { sys::Tcl_GetStackedChannel(current) };
    }
    None
}

/// Stacks a TLS layer on `lower`.
///
/// # Safety
/// `interp` is live and `lower` is a live channel of it.
pub unsafe fn stack(interp: *mut Tcl_Interp, lower: Tcl_Channel, mut tls: TlsChannel) -> Result<(), TlsError> {
    // SAFETY: live channel.
    let mode = unsafe { sys::Tcl_GetChannelMode(lower) };
    if mode & (sys::TCL_READABLE | sys::TCL_WRITABLE) != (sys::TCL_READABLE | sys::TCL_WRITABLE) {
        return Err(TlsError::new(ErrorKind::Channel, "MODE", "channel must be open for both reading and writing"));
    }
    // SAFETY: live channel (contract).
    tls.blocking = unsafe { is_blocking(lower) };
    // What Tcl has read ahead becomes push-back on the lower channel.
    let read_ahead = tls.lower.buffered();
    let data = Instance::into_data(Box::new(Shell {
        chan: Cell::new(std::ptr::null_mut()),
        closed: Cell::new(false),
        users: Cell::new(0),
        timer: Cell::new(std::ptr::null_mut()),
        deadline_timer: Cell::new(std::ptr::null_mut()),
        watch: Cell::new(0),
        in_transit: Cell::new(false),
        lower: tls.lower.clone(),
        ssl: tls.engine.ssl().as_ptr(),
        tls: RefCell::new(tls),
    }));
    // SAFETY: arguments as Tcl_StackChannel documents; on success Tcl owns
    // `data` until it calls our close proc.
    let chan = unsafe { sys::Tcl_StackChannel(interp, &CHANNEL_TYPE, data, mode, lower) };
    // SAFETY: made by `into_data` just above; if Tcl refused the layer, the
    // shell is still ours alone and is freed when this use ends.
    unsafe {
        Instance::with(data, |shell| {
            if chan.is_null() {
                shell.closed.set(true);
                return Err(TlsError::new(ErrorKind::Channel, "STACK", "cannot stack a TLS layer on this channel"));
            }
            shell.chan.set(chan);
            if read_ahead > 0 {
                let bytes = shell.lower.take_pushback(read_ahead);
                shell.with_tls(|tls| {
                    tls.engine.feed(&bytes);
                    Ok(())
                })?;
            }
            Ok(())
        })
    }?;
    // SAFETY: `chan` is our live channel, just stacked.
    unsafe { learn_interest(chan) };
    Ok(())
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
    let gone = || TlsError::new(ErrorKind::Channel, "CLOSED", "channel was closed during tls::unimport");
    let end_tls = |shell: &Shell| {
        let lower = shell.lower.raw();
        let mut leftover = Vec::new();
        let from_callback = shell.busy();
        if !from_callback {
            // Push plaintext Tcl still buffers through TLS before
            // ending it.
            // SAFETY: live channel (contract).
            unsafe { sys::Tcl_Flush(chan) };
        }
        if !shell.alive() {
            return Err(gone());
        }
        // What is still in Tcl's buffers now (a non-blocking channel
        // whose handshake is not done, or a call from a callback) would
        // go to the socket unencrypted once the layer is gone: refuse.
        // SAFETY: live channel (alive checked).
        let waiting = unsafe { sys::Tcl_OutputBuffered(chan) };
        if waiting > 0 {
            let message = format!("cannot unimport: {waiting} bytes written to the channel are not encrypted yet and would be sent in the clear");
            return Err(TlsError::new(ErrorKind::Channel, "PENDING", message));
        }
        if !from_callback {
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
        if !shell.alive() {
            return Err(gone());
        }
        // SAFETY: live channel; Tcl calls our close proc, and the shell
        // is freed when this use ends.
        if unsafe { sys::Tcl_UnstackChannel(interp, chan) } != sys::TCL_OK {
            return Err(TlsError::new(ErrorKind::Channel, "UNSTACK", "cannot remove the TLS layer"));
        }
        if !leftover.is_empty() {
            // SAFETY: the lower channel is live and now on top.
            unsafe { sys::Tcl_Ungets(lower, leftover.as_ptr() as *const c_char, leftover.len() as sys::TclSize, 0) };
        }
        Ok(())
    };
    // SAFETY: the caller checked the top layer is ours, so its instance
    // data is a live shell; this use keeps it allocated even if a callback
    // closes the channel meanwhile.
    unsafe { Instance::with(data, end_tls) }
}
