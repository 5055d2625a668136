//! The channel below ours: raw reads and writes, blocking mode, interest
//! and options, through the Tcl API. A [`LowerChannel`] is only made for a
//! channel our layer is stacked on, which Tcl keeps alive for as long as
//! our layer exists.

use std::cell::Cell;
use std::ffi::{c_char, c_int, CStr};
use std::rc::Rc;

use crate::tcl::sys::{self, ClientData, Tcl_Channel};

/// What one raw read of the lower channel gave.
#[derive(Debug, PartialEq, Eq)]
pub enum LowerRead {
    Data(usize),
    Eof,
    WouldBlock,
    Failed(c_int),
}

/// The channel below ours. `alive` turns false when Tcl closes or
/// unstacks our layer while one of our own calls is still running (a
/// script in a callback did it); from then on nothing touches the channel.
#[derive(Clone)]
pub struct LowerChannel {
    chan: Tcl_Channel,
    /// Shared by the copies of this handle (one allocation per connection).
    state: Rc<LowerState>,
}

struct LowerState {
    alive: Cell<bool>,
    /// The mask last given to the lower driver's watch proc (-1: none
    /// yet). Only our layer calls that proc while we are stacked, so an
    /// unchanged mask needs no call: with many connections each call
    /// costs the notifier a walk of its handler list (Tcl 8.6's select
    /// notifier keeps one linked list of every file handler).
    watched: Cell<c_int>,
}

impl LowerChannel {
    pub fn new(chan: Tcl_Channel) -> LowerChannel {
        LowerChannel { chan, state: Rc::new(LowerState { alive: Cell::new(true), watched: Cell::new(-1) }) }
    }

    pub fn raw(&self) -> Tcl_Channel {
        self.chan
    }

    pub fn is_alive(&self) -> bool {
        self.state.alive.get()
    }

    /// Marks the channel as gone (see the type's docs).
    pub fn mark_dead(&self) {
        self.state.alive.set(false);
    }

    /// Reads from the lower driver directly (its input proc), not through
    /// `Tcl_ReadRaw`: a raw read made outside Tcl's own read leaves the
    /// EOF and BLOCKED flags of the shared channel state set, and Tcl then
    /// answers the script's next `gets` without asking us. Bytes Tcl had
    /// buffered before the import are taken once with [`LowerChannel::take_pushback`].
    pub fn read(&self, buf: &mut [u8]) -> LowerRead {
        if !self.is_alive() {
            return LowerRead::Failed(libc::EPIPE);
        }
        let len = buf.len().min(c_int::MAX as usize) as c_int;
        let mut errno: c_int = 0;
        // SAFETY: the type of a live channel, kept by its driver for as
        // long as the channel exists; the call only reads a field.
        let input = unsafe { sys::Tcl_ChannelInputProc(self.type_ptr()) };
        let Some(input) = input else { return LowerRead::Failed(libc::EINVAL) };
        // SAFETY: the proc belongs to this channel's type and gets its
        // instance data, a writable buffer of `len` bytes and an out
        // pointer, as Tcl itself would call it.
        let n = unsafe { input(self.instance(), buf.as_mut_ptr() as *mut c_char, len, &mut errno) };
        match n {
            0 => LowerRead::Eof,
            n if n > 0 => LowerRead::Data(n as usize),
            _ if errno == libc::EAGAIN || errno == libc::EWOULDBLOCK => LowerRead::WouldBlock,
            _ => LowerRead::Failed(errno),
        }
    }

    /// The bytes Tcl had read ahead on this channel before our layer was
    /// stacked (plain text before STARTTLS, or the start of the peer's
    /// first TLS flight). Taken with `Tcl_ReadRaw`, which copies them from
    /// the push-back area without calling the driver.
    pub fn take_pushback(&self, count: usize) -> Vec<u8> {
        let mut data = vec![0u8; count];
        let mut filled = 0;
        while filled < count {
            let want = sys::TclSize::try_from(count - filled).unwrap_or(sys::TclSize::MAX);
            // SAFETY: live channel; the buffer has `want` writable bytes.
            let n = unsafe { sys::Tcl_ReadRaw(self.chan, data[filled..].as_mut_ptr() as *mut c_char, want) };
            if n <= 0 {
                break;
            }
            filled += n as usize;
        }
        data.truncate(filled);
        data
    }

    /// Bytes Tcl holds in this channel's input buffers.
    pub fn buffered(&self) -> usize {
        // SAFETY: live channel.
        unsafe { sys::Tcl_InputBuffered(self.chan) }.max(0) as usize
    }

    /// `Tcl_WriteRaw`: how many bytes went out, `Ok(0)` if it would block.
    pub fn write(&self, data: &[u8]) -> Result<usize, c_int> {
        if !self.is_alive() {
            return Err(libc::EPIPE);
        }
        let len = sys::TclSize::try_from(data.len()).unwrap_or(sys::TclSize::MAX);
        // SAFETY: live channel; `data` is readable for `len`.
        let n = unsafe { sys::Tcl_WriteRaw(self.chan, data.as_ptr() as *const c_char, len) };
        if n >= 0 {
            return Ok(n as usize);
        }
        // SAFETY: reads the thread's errno as Tcl recorded it.
        let errno = unsafe { sys::Tcl_GetErrno() };
        if errno == libc::EAGAIN || errno == libc::EWOULDBLOCK {
            Ok(0)
        } else {
            Err(errno)
        }
    }

    fn type_ptr(&self) -> *const sys::Tcl_ChannelType {
        // SAFETY: live channel.
        unsafe { sys::Tcl_GetChannelType(self.chan) }
    }

    fn instance(&self) -> ClientData {
        // SAFETY: live channel.
        unsafe { sys::Tcl_GetChannelInstanceData(self.chan) }
    }

    pub fn type_name(&self) -> String {
        let t = self.type_ptr();
        if t.is_null() {
            return String::new();
        }
        // SAFETY: a non-null type of a live channel, a Tcl_ChannelType its
        // driver keeps for as long as the channel exists.
        let name = unsafe { (*t).type_name };
        if name.is_null() {
            return String::new();
        }
        // SAFETY: a channel type's name is a static C string.
        unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
    }

    /// Sets the driver's blocking mode directly (the channel state's flag
    /// is Tcl's business and shared by the whole stack).
    pub fn set_blocking(&self, blocking: bool) {
        if !self.is_alive() {
            return;
        }
        let mode = if blocking { sys::TCL_MODE_BLOCKING } else { sys::TCL_MODE_NONBLOCKING };
        // SAFETY: the type of a live channel, kept by its driver for as
        // long as the channel exists; the call only reads a field.
        if let Some(proc_) = unsafe { sys::Tcl_ChannelBlockModeProc(self.type_ptr()) } {
            // SAFETY: the proc belongs to this channel's type and is called
            // with this channel's instance data, as Tcl itself would.
            unsafe { proc_(self.instance(), mode) };
        }
    }

    /// Asks the lower driver to notify us of `mask`.
    pub fn watch(&self, mask: c_int) {
        if !self.is_alive() || self.state.watched.replace(mask) == mask {
            return;
        }
        // SAFETY: the type of a live channel, kept by its driver for as
        // long as the channel exists; the call only reads a field.
        if let Some(proc_) = unsafe { sys::Tcl_ChannelWatchProc(self.type_ptr()) } {
            // SAFETY: the proc belongs to this channel's type and is called
            // with this channel's instance data, as Tcl itself would.
            unsafe { proc_(self.instance(), mask) };
        }
    }

    /// The OS handle for `direction`, if the channel has one.
    pub fn handle(&self, direction: c_int) -> Option<ClientData> {
        if !self.is_alive() {
            return None;
        }
        let mut handle: ClientData = std::ptr::null_mut();
        // SAFETY: live channel, out pointer valid for the call.
        let ok = unsafe { sys::Tcl_GetChannelHandle(self.chan, direction, &mut handle) };
        (ok == sys::TCL_OK).then_some(handle)
    }

    /// Waits up to `timeout_ms` for the OS handle to become readable;
    /// false on timeout or when the channel has no OS handle.
    pub fn wait_readable(&self, timeout_ms: i32) -> bool {
        let Some(handle) = self.handle(sys::TCL_READABLE) else { return false };
        crate::os::wait_readable(handle, timeout_ms)
    }

    /// Passes `fconfigure` options we do not own to the lower driver.
    ///
    /// # Safety
    /// `interp` is NULL or live; `name` is NULL or a C string; `ds` is a
    /// live `Tcl_DString`.
    pub unsafe fn get_option(&self, interp: *mut sys::Tcl_Interp, name: *const c_char, ds: *mut sys::Tcl_DString) -> c_int {
        // SAFETY: the type of a live channel, kept by its driver for as
        // long as the channel exists; the call only reads a field.
        let get = unsafe { sys::Tcl_ChannelGetOptionProc(self.type_ptr()) };
        match get {
            // SAFETY: the proc belongs to this channel's type and gets its
            // instance data and arguments that meet a get option proc's
            // contract (the caller's guarantees).
            Some(proc_) => unsafe { proc_(self.instance(), interp, name, ds) },
            None if name.is_null() => sys::TCL_OK,
            // SAFETY: `interp` is NULL or live, `name` a C string (not NULL
            // here) and the option list an empty C string.
            None => unsafe { sys::Tcl_BadChannelOption(interp, name, c"".as_ptr()) },
        }
    }

    /// # Safety
    /// As for [`LowerChannel::get_option`], with `name` (never NULL here)
    /// and `value` C strings.
    pub unsafe fn set_option(&self, interp: *mut sys::Tcl_Interp, name: *const c_char, value: *const c_char) -> c_int {
        // SAFETY: the type of a live channel, kept by its driver for as
        // long as the channel exists; the call only reads a field.
        let set = unsafe { sys::Tcl_ChannelSetOptionProc(self.type_ptr()) };
        match set {
            // SAFETY: the proc belongs to this channel's type and gets its
            // instance data and arguments that meet a set option proc's
            // contract (the caller's guarantees).
            Some(proc_) => unsafe { proc_(self.instance(), interp, name, value) },
            // SAFETY: `interp` is NULL or live, `name` a C string and the
            // option list an empty C string.
            None => unsafe { sys::Tcl_BadChannelOption(interp, name, c"".as_ptr()) },
        }
    }
}
