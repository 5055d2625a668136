//! The `Tcl_ChannelType` named `tls` and its entry points.
//!
//! Each entry point catches panics, turns its C arguments into Rust ones
//! and calls a method of [`TlsChannel`]. The instance data is a boxed
//! [`Stacked`], created by [`stack`] and freed by the close proc (which
//! Tcl calls both for `close` and for `Tcl_UnstackChannel`).

use std::ffi::{c_char, c_int};

use super::lower::LowerChannel;
use super::{linger, Stall, TlsChannel};
use crate::error::{ErrorKind, TlsError};
use crate::tcl::sys::{self, ClientData, Tcl_Channel, Tcl_ChannelType, Tcl_Interp};
use crate::tcl::{boundary, Obj};

/// One stacked channel: our Tcl channel, its event timer, the TLS state.
pub struct Stacked {
    pub chan: Tcl_Channel,
    timer: sys::Tcl_TimerToken,
    pub tls: TlsChannel,
}

pub static CHANNEL_TYPE: Tcl_ChannelType = Tcl_ChannelType {
    type_name: c"tls".as_ptr(),
    version: sys::TCL_CHANNEL_VERSION_5,
    close_proc: Some(close_proc),
    input_proc: Some(input_proc),
    output_proc: Some(output_proc),
    seek_proc: None,
    set_option_proc: Some(set_option_proc),
    get_option_proc: Some(get_option_proc),
    watch_proc: Some(watch_proc),
    get_handle_proc: Some(get_handle_proc),
    close2_proc: None,
    block_mode_proc: Some(block_mode_proc),
    flush_proc: None,
    handler_proc: Some(handler_proc),
    wide_seek_proc: None,
    thread_action_proc: None,
    truncate_proc: None,
};

/// The instance behind `data`.
///
/// # Safety
/// `data` is the instance data Tcl passes to our channel procs: a live
/// `Stacked` created by [`stack`], not yet freed by the close proc. Tcl
/// runs channel procs on the channel's thread one at a time, so the
/// mutable borrow is unique for the duration of the proc.
unsafe fn instance<'a>(data: ClientData) -> &'a mut Stacked {
    // SAFETY: see the function's contract.
    unsafe { &mut *(data as *mut Stacked) }
}

impl Stacked {
    /// Puts the stored error where `read`/`gets`/`puts` report it
    /// (`Tcl_SetChannelError`), with `-errorcode`.
    fn report_error(&self) {
        let error = self
            .tls
            .fatal
            .clone()
            .unwrap_or_else(|| TlsError::new(ErrorKind::Io, "io", "TLS channel failed"));
        let code = Obj::list(error.error_code().iter().map(|w| Obj::string(w)));
        let report = Obj::list([
            Obj::string("-code"),
            Obj::int(1),
            Obj::string("-level"),
            Obj::int(0),
            Obj::string("-errorcode"),
            code,
            Obj::string(&error.message()),
        ]);
        // SAFETY: our channel is live while its procs run; Tcl takes its own
        // reference to the message.
        unsafe { sys::Tcl_SetChannelError(self.chan, report.as_ptr()) };
    }

    fn stall_code(&self, stall: Stall) -> c_int {
        match stall {
            Stall::WouldBlock => libc::EAGAIN,
            Stall::Failed => {
                self.report_error();
                libc::ECONNABORTED
            }
        }
    }

    /// Tells the lower channel what we need and arms or cancels the timer.
    pub fn refresh_interest(&mut self) {
        self.tls.lower.watch(self.tls.lower_interest());
        if self.tls.needs_timer() {
            if self.timer.is_null() {
                // SAFETY: the timer is deleted by the close proc before the
                // instance is freed, so the callback never sees freed data.
                self.timer = unsafe { sys::Tcl_CreateTimerHandler(0, timer_proc, self as *mut Stacked as ClientData) };
            }
        } else {
            self.cancel_timer();
        }
    }

    fn cancel_timer(&mut self) {
        if !self.timer.is_null() {
            // SAFETY: a token we created and that has not fired.
            unsafe { sys::Tcl_DeleteTimerHandler(self.timer) };
            self.timer = std::ptr::null_mut();
        }
    }
}

unsafe extern "C" fn close_proc(data: ClientData, _interp: *mut Tcl_Interp) -> c_int {
    boundary(libc::EINVAL, || {
        // SAFETY: Tcl calls the close proc once, last; we take back the box.
        let mut stacked = unsafe { Box::from_raw(data as *mut Stacked) };
        stacked.cancel_timer();
        if !stacked.tls.unstacking {
            stacked.tls.finish();
            linger::hand_off(stacked.tls.lower, stacked.tls.lower_eof);
        }
        0
    })
}

unsafe extern "C" fn input_proc(data: ClientData, buf: *mut c_char, to_read: c_int, error: *mut c_int) -> c_int {
    boundary(-1, || {
        // SAFETY: instance contract; Tcl gives a buffer of `to_read` bytes
        // and a valid error pointer.
        let (stacked, buf, error) = unsafe {
            (instance(data), std::slice::from_raw_parts_mut(buf as *mut u8, to_read.max(0) as usize), &mut *error)
        };
        match stacked.tls.input(buf) {
            Ok(n) => n as c_int,
            Err(stall) => {
                *error = stacked.stall_code(stall);
                -1
            }
        }
    })
}

unsafe extern "C" fn output_proc(data: ClientData, buf: *const c_char, to_write: c_int, error: *mut c_int) -> c_int {
    boundary(-1, || {
        // SAFETY: instance contract; Tcl gives `to_write` readable bytes and
        // a valid error pointer.
        let (stacked, buf, error) = unsafe {
            (instance(data), std::slice::from_raw_parts(buf as *const u8, to_write.max(0) as usize), &mut *error)
        };
        let result = stacked.tls.output(buf);
        if !stacked.tls.blocking {
            // Ciphertext may be waiting for the lower channel.
            stacked.refresh_interest();
        }
        match result {
            Ok(n) => n as c_int,
            Err(stall) => {
                *error = stacked.stall_code(stall);
                -1
            }
        }
    })
}

unsafe extern "C" fn set_option_proc(data: ClientData, interp: *mut Tcl_Interp, name: *const c_char, value: *const c_char) -> c_int {
    boundary(sys::TCL_ERROR, || {
        // SAFETY: instance contract; the other arguments come from Tcl as is.
        unsafe { instance(data).tls.lower.set_option(interp, name, value) }
    })
}

unsafe extern "C" fn get_option_proc(data: ClientData, interp: *mut Tcl_Interp, name: *const c_char, ds: *mut sys::Tcl_DString) -> c_int {
    boundary(sys::TCL_ERROR, || {
        // SAFETY: instance contract; the other arguments come from Tcl as is.
        unsafe { instance(data).tls.lower.get_option(interp, name, ds) }
    })
}

unsafe extern "C" fn watch_proc(data: ClientData, mask: c_int) {
    boundary((), || {
        // SAFETY: instance contract.
        let stacked = unsafe { instance(data) };
        stacked.tls.watch_mask = mask & (sys::TCL_READABLE | sys::TCL_WRITABLE);
        stacked.refresh_interest();
    })
}

unsafe extern "C" fn get_handle_proc(data: ClientData, direction: c_int, handle: *mut ClientData) -> c_int {
    boundary(sys::TCL_ERROR, || {
        // SAFETY: instance contract; `handle` is Tcl's out pointer.
        let stacked = unsafe { instance(data) };
        match stacked.tls.lower.handle(direction) {
            Some(h) => {
                // SAFETY: valid out pointer for the call.
                unsafe { *handle = h };
                sys::TCL_OK
            }
            None => sys::TCL_ERROR,
        }
    })
}

unsafe extern "C" fn block_mode_proc(data: ClientData, mode: c_int) -> c_int {
    boundary(libc::EINVAL, || {
        // SAFETY: instance contract.
        let stacked = unsafe { instance(data) };
        stacked.tls.blocking = mode == sys::TCL_MODE_BLOCKING;
        stacked.tls.lower.set_blocking(stacked.tls.blocking);
        0
    })
}

unsafe extern "C" fn handler_proc(data: ClientData, mask: c_int) -> c_int {
    boundary(0, || {
        // SAFETY: instance contract.
        let stacked = unsafe { instance(data) };
        let deliver = stacked.tls.on_lower_ready(mask);
        stacked.refresh_interest();
        deliver
    })
}

unsafe extern "C" fn timer_proc(data: ClientData) {
    boundary((), || {
        // SAFETY: the close proc deletes a pending timer before freeing the
        // instance, so a firing timer always sees a live instance.
        let stacked = unsafe { instance(data) };
        stacked.timer = std::ptr::null_mut();
        let mask = stacked.tls.on_timer();
        stacked.refresh_interest();
        if mask != 0 {
            let chan = stacked.chan;
            // SAFETY: our channel is live; handlers may close it, so the
            // instance is not touched after this call.
            unsafe { sys::Tcl_NotifyChannel(chan, mask) };
        }
    })
}

/// Whether `chan` is in blocking mode (`fconfigure -blocking`).
fn is_blocking(chan: Tcl_Channel) -> bool {
    let mut ds = std::mem::MaybeUninit::<sys::Tcl_DString>::uninit();
    // SAFETY: the DString is initialised before use and freed after; the
    // channel is live (the caller got it from Tcl_GetChannel).
    unsafe {
        sys::Tcl_DStringInit(ds.as_mut_ptr());
        let ok = sys::Tcl_GetChannelOption(std::ptr::null_mut(), chan, c"-blocking".as_ptr(), ds.as_mut_ptr());
        let ds_ref = &*ds.as_ptr();
        let value = if ds_ref.string.is_null() { String::new() } else {
            std::ffi::CStr::from_ptr(ds_ref.string).to_string_lossy().into_owned()
        };
        sys::Tcl_DStringFree(ds.as_mut_ptr());
        ok != sys::TCL_OK || value != "0"
    }
}

/// Whether `chan`'s top layer is ours.
pub fn is_tls(chan: Tcl_Channel) -> bool {
    // SAFETY: live channel from Tcl_GetChannel.
    unsafe { std::ptr::eq(sys::Tcl_GetChannelType(chan), &CHANNEL_TYPE) }
}

/// The TLS layer of `chan`'s stack, top first.
///
/// # Safety
/// `chan` is a live channel; the reference must not outlive the layer
/// (callers use it within one command).
pub unsafe fn find_tls<'a>(chan: Tcl_Channel) -> Option<&'a mut Stacked> {
    let mut current = chan;
    while !current.is_null() {
        if is_tls(current) {
            // SAFETY: a channel of our type carries a live `Stacked`.
            return Some(unsafe { instance(sys::Tcl_GetChannelInstanceData(current)) });
        }
        // SAFETY: live channel.
        current = unsafe { sys::Tcl_GetStackedChannel(current) };
    }
    None
}

/// Stacks a TLS layer on `lower`; returns the layer.
///
/// # Safety
/// `interp` is live and `lower` is a live channel of it.
pub unsafe fn stack<'a>(interp: *mut Tcl_Interp, lower: Tcl_Channel, mut tls: TlsChannel) -> Result<&'a mut Stacked, TlsError> {
    // SAFETY: live channel.
    let mode = unsafe { sys::Tcl_GetChannelMode(lower) };
    if mode & (sys::TCL_READABLE | sys::TCL_WRITABLE) != (sys::TCL_READABLE | sys::TCL_WRITABLE) {
        return Err(TlsError::new(ErrorKind::Channel, "MODE", "channel must be open for both reading and writing"));
    }
    tls.blocking = is_blocking(lower);
    let raw = Box::into_raw(Box::new(Stacked { chan: std::ptr::null_mut(), timer: std::ptr::null_mut(), tls }));
    // SAFETY: arguments as Tcl_StackChannel documents; on success Tcl owns
    // `raw` until it calls our close proc.
    let chan = unsafe { sys::Tcl_StackChannel(interp, &CHANNEL_TYPE, raw as ClientData, mode, lower) };
    if chan.is_null() {
        // SAFETY: Tcl refused the layer, so `raw` is still ours alone.
        drop(unsafe { Box::from_raw(raw) });
        return Err(TlsError::new(ErrorKind::Channel, "STACK", "cannot stack a TLS layer on this channel"));
    }
    // SAFETY: now owned by the channel, live until the close proc.
    let stacked = unsafe { &mut *raw };
    stacked.chan = chan;
    // SAFETY: our new channel is live; the channel below is what we read.
    stacked.tls.lower = LowerChannel(unsafe { sys::Tcl_GetStackedChannel(chan) });
    Ok(stacked)
}

/// How long a blocking `tls::unimport` waits for the peer's close_notify.
const UNIMPORT_WAIT_MS: u64 = 5_000;

/// Ends TLS on `chan` and pops the layer, leaving the lower channel usable
/// with whatever the peer sent in the clear after its close_notify.
///
/// # Safety
/// `interp` is live and `chan` is a live channel whose top layer is ours.
pub unsafe fn unstack(interp: *mut Tcl_Interp, chan: Tcl_Channel) -> Result<(), TlsError> {
    // SAFETY: the caller checked the top layer is ours.
    let stacked = unsafe { instance(sys::Tcl_GetChannelInstanceData(chan)) };
    // Push plaintext Tcl still buffers through TLS before ending it.
    // SAFETY: live channel.
    unsafe { sys::Tcl_Flush(chan) };
    stacked.tls.finish();
    stacked.tls.await_peer_close(UNIMPORT_WAIT_MS);
    let leftover = if stacked.tls.engine.peer_closed() { stacked.tls.engine.take_leftover_input() } else { Vec::new() };
    stacked.cancel_timer();
    stacked.tls.unstacking = true;
    let lower = stacked.tls.lower.0;
    // SAFETY: Tcl calls our close proc, which frees `stacked`; it is not
    // used after this line.
    if unsafe { sys::Tcl_UnstackChannel(interp, chan) } != sys::TCL_OK {
        return Err(TlsError::new(ErrorKind::Channel, "UNSTACK", "cannot remove the TLS layer"));
    }
    if !leftover.is_empty() {
        // SAFETY: the lower channel is live and now on top.
        unsafe { sys::Tcl_Ungets(lower, leftover.as_ptr() as *const c_char, leftover.len() as c_int, 0) };
    }
    Ok(())
}
