//! Raw declarations of the Tcl 8.6 C API that this package uses, reached
//! through the stubs table. No logic lives here beyond finding the table.
//!
//! We never link against libtcl: `Tcl_InitStubs` is done by hand (see
//! [`init_stubs`]) and every function is called through its slot in the
//! `TclStubs` table. The slot numbers come from `tclDecls.h`; the test
//! `stub_slots_match_installed_header` checks every slot listed in
//! [`USED_SLOTS`] against the installed header.
//!
//! Sizes that differ between Tcl 8.6 and Tcl 9 (`int` versus `Tcl_Size`)
//! are written as [`TclSize`], so that a second table can be added for
//! Tcl 9 without touching the code above this module.

#![allow(non_camel_case_types, non_snake_case, dead_code)]

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

/// The size type of the Tcl 8.6 API (`int`); Tcl 9 uses `ptrdiff_t`.
pub type TclSize = c_int;
pub type ClientData = *mut c_void;
pub type Tcl_Channel = *mut c_void;
pub type Tcl_TimerToken = *mut c_void;

pub const TCL_OK: c_int = 0;
pub const TCL_ERROR: c_int = 1;
pub const TCL_READABLE: c_int = 1 << 1;
pub const TCL_WRITABLE: c_int = 1 << 2;
pub const TCL_MODE_BLOCKING: c_int = 0;
pub const TCL_MODE_NONBLOCKING: c_int = 1;
pub const TCL_EVAL_GLOBAL: c_int = 0x020000;
pub const TCL_STUB_MAGIC: c_int = 0xFCA3BACFu32 as c_int;
pub const TCL_CHANNEL_VERSION_5: usize = 5;
pub const TCL_CHANNEL_THREAD_REMOVE: c_int = 1;

/// Opaque interpreter.
#[repr(C)]
pub struct Tcl_Interp {
    _private: [u8; 0],
}

/// The public head of Tcl 8.6's `Interp` structure, as `tclStubLib.c`
/// reads it to find the stubs table.
#[repr(C)]
pub struct InterpHead {
    pub result: *mut c_char,
    pub free_proc: *mut c_void,
    pub error_line: c_int,
    pub stub_table: *const c_void,
}

#[repr(C)]
pub struct Tcl_ObjType {
    pub name: *const c_char,
}

#[repr(C)]
pub struct Tcl_Obj {
    pub ref_count: c_int,
    pub bytes: *mut c_char,
    pub length: c_int,
    pub type_ptr: *const Tcl_ObjType,
    pub internal_rep: [*mut c_void; 2],
}

#[repr(C)]
pub struct Tcl_DString {
    pub string: *mut c_char,
    pub length: TclSize,
    pub space_avl: TclSize,
    pub static_space: [c_char; 200],
}

pub type Tcl_ObjCmdProc =
    unsafe extern "C" fn(ClientData, *mut Tcl_Interp, c_int, *const *mut Tcl_Obj) -> c_int;
pub type Tcl_CmdDeleteProc = unsafe extern "C" fn(ClientData);
pub type Tcl_TimerProc = unsafe extern "C" fn(ClientData);
pub type Tcl_FileProc = unsafe extern "C" fn(ClientData, c_int);

pub type DriverCloseProc = unsafe extern "C" fn(ClientData, *mut Tcl_Interp) -> c_int;
pub type DriverInputProc = unsafe extern "C" fn(ClientData, *mut c_char, c_int, *mut c_int) -> c_int;
pub type DriverOutputProc =
    unsafe extern "C" fn(ClientData, *const c_char, c_int, *mut c_int) -> c_int;
pub type DriverSetOptionProc =
    unsafe extern "C" fn(ClientData, *mut Tcl_Interp, *const c_char, *const c_char) -> c_int;
pub type DriverGetOptionProc =
    unsafe extern "C" fn(ClientData, *mut Tcl_Interp, *const c_char, *mut Tcl_DString) -> c_int;
pub type DriverWatchProc = unsafe extern "C" fn(ClientData, c_int);
pub type DriverGetHandleProc = unsafe extern "C" fn(ClientData, c_int, *mut ClientData) -> c_int;
pub type DriverClose2Proc = unsafe extern "C" fn(ClientData, *mut Tcl_Interp, c_int) -> c_int;
pub type DriverBlockModeProc = unsafe extern "C" fn(ClientData, c_int) -> c_int;
pub type DriverFlushProc = unsafe extern "C" fn(ClientData) -> c_int;
pub type DriverHandlerProc = unsafe extern "C" fn(ClientData, c_int) -> c_int;
pub type DriverThreadActionProc = unsafe extern "C" fn(ClientData, c_int);

/// `Tcl_ChannelType`, version 5 layout.
#[repr(C)]
pub struct Tcl_ChannelType {
    pub type_name: *const c_char,
    pub version: usize,
    pub close_proc: Option<DriverCloseProc>,
    pub input_proc: Option<DriverInputProc>,
    pub output_proc: Option<DriverOutputProc>,
    pub seek_proc: Option<unsafe extern "C" fn()>,
    pub set_option_proc: Option<DriverSetOptionProc>,
    pub get_option_proc: Option<DriverGetOptionProc>,
    pub watch_proc: Option<DriverWatchProc>,
    pub get_handle_proc: Option<DriverGetHandleProc>,
    pub close2_proc: Option<DriverClose2Proc>,
    pub block_mode_proc: Option<DriverBlockModeProc>,
    pub flush_proc: Option<DriverFlushProc>,
    pub handler_proc: Option<DriverHandlerProc>,
    pub wide_seek_proc: Option<unsafe extern "C" fn()>,
    pub thread_action_proc: Option<DriverThreadActionProc>,
    pub truncate_proc: Option<unsafe extern "C" fn()>,
}

// SAFETY: a channel type is an immutable table of function pointers and a
// static string; sharing it between threads is what Tcl does with it.
unsafe impl Sync for Tcl_ChannelType {}

static STUBS: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());

/// Finds the stubs table of `interp` and checks that it is Tcl 8.6 or later
/// 8.x: the hand-written equivalent of `Tcl_InitStubs(interp, "8.6", 0)`.
///
/// # Safety
/// `interp` must be a live Tcl 8.x interpreter, as passed to `Tls_Init`.
pub unsafe fn init_stubs(interp: *mut Tcl_Interp) -> bool {
    // SAFETY: every Tcl 8.x interpreter starts with `InterpHead` (tclInt.h
    // keeps these fields first for exactly this purpose).
    let table = unsafe { (*(interp as *const InterpHead)).stub_table };
    if table.is_null() {
        return false;
    }
    // SAFETY: a stubs table starts with its `int magic`.
    let magic = unsafe { *(table as *const c_int) };
    if magic != TCL_STUB_MAGIC {
        return false;
    }
    STUBS.store(table as *mut c_void, Ordering::Release);
    let mut client_data: *mut c_void = std::ptr::null_mut();
    // SAFETY: the table is valid (magic checked); arguments are C strings
    // and an out pointer that lives for the call.
    let version = unsafe {
        Tcl_PkgRequireEx(
            interp,
            c"Tcl".as_ptr(),
            c"8.6".as_ptr(),
            0,
            &mut client_data as *mut *mut c_void as *mut c_void,
        )
    };
    if version.is_null() {
        return false;
    }
    // SAFETY: Tcl returned a NUL-terminated version string.
    let version = unsafe { std::ffi::CStr::from_ptr(version) };
    if !version.to_bytes().starts_with(b"8.") {
        // Tcl 9's table differs; refuse rather than call the wrong slots.
        return false;
    }
    if !client_data.is_null() {
        STUBS.store(client_data, Ordering::Release);
    }
    true
}

/// The address stored in slot `n` of the stubs table.
fn slot(n: usize) -> *const c_void {
    let table = STUBS.load(Ordering::Acquire) as *const *const c_void;
    assert!(!table.is_null(), "Tcl stubs used before Tls_Init");
    // SAFETY: the table holds `int magic; void *hooks;` (two pointer-sized
    // words after padding) followed by one function pointer per slot, and
    // every `n` used here is a slot of the 8.6 table (checked by a test).
    unsafe { *table.add(2 + n) }
}

macro_rules! stubs {
    ($( $slot:literal => fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)? ; )*) => {
        $(
            /// Calls the Tcl function of the same name through its stub slot.
            ///
            /// # Safety
            /// The caller upholds the C function's contract.
            #[inline]
            pub unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the slot holds this function with this signature
                // (see `USED_SLOTS` and its test against tclDecls.h).
                unsafe {
                    let f: unsafe extern "C" fn($($ty),*) $(-> $ret)? =
                        std::mem::transmute::<*const c_void, _>(slot($slot));
                    f($($arg),*)
                }
            }
        )*
        /// Every stub used, with its slot, for the header check.
        pub const USED_SLOTS: &[(&str, usize)] = &[ $( (stringify!($name), $slot) ),* ];
    };
}

stubs! {
    1 => fn Tcl_PkgRequireEx(interp: *mut Tcl_Interp, name: *const c_char, version: *const c_char, exact: c_int, client_data: *mut c_void) -> *const c_char;
    0 => fn Tcl_PkgProvideEx(interp: *mut Tcl_Interp, name: *const c_char, version: *const c_char, client_data: *const c_void) -> c_int;
    9 => fn Tcl_CreateFileHandler(fd: c_int, mask: c_int, proc_: Tcl_FileProc, data: ClientData);
    10 => fn Tcl_DeleteFileHandler(fd: c_int);
    19 => fn Tcl_DbDecrRefCount(obj: *mut Tcl_Obj, file: *const c_char, line: c_int);
    33 => fn Tcl_GetByteArrayFromObj(obj: *mut Tcl_Obj, len: *mut c_int) -> *mut u8;
    41 => fn Tcl_GetStringFromObj(obj: *mut Tcl_Obj, len: *mut c_int) -> *mut c_char;
    44 => fn Tcl_ListObjAppendElement(interp: *mut Tcl_Interp, list: *mut Tcl_Obj, elem: *mut Tcl_Obj) -> c_int;
    45 => fn Tcl_ListObjGetElements(interp: *mut Tcl_Interp, list: *mut Tcl_Obj, objc: *mut c_int, objv: *mut *mut *mut Tcl_Obj) -> c_int;
    50 => fn Tcl_NewByteArrayObj(bytes: *const u8, len: c_int) -> *mut Tcl_Obj;
    53 => fn Tcl_NewListObj(objc: c_int, objv: *const *mut Tcl_Obj) -> *mut Tcl_Obj;
    56 => fn Tcl_NewStringObj(bytes: *const c_char, len: c_int) -> *mut Tcl_Obj;
    78 => fn Tcl_BadChannelOption(interp: *mut Tcl_Interp, name: *const c_char, options: *const c_char) -> c_int;
    96 => fn Tcl_CreateObjCommand(interp: *mut Tcl_Interp, name: *const c_char, proc_: Tcl_ObjCmdProc, data: ClientData, delete: Option<Tcl_CmdDeleteProc>) -> *mut c_void;
    98 => fn Tcl_CreateTimerHandler(ms: c_int, proc_: Tcl_TimerProc, data: ClientData) -> Tcl_TimerToken;
    112 => fn Tcl_DeleteTimerHandler(token: Tcl_TimerToken);
    120 => fn Tcl_DStringFree(ds: *mut Tcl_DString);
    122 => fn Tcl_DStringInit(ds: *mut Tcl_DString);
    146 => fn Tcl_Flush(chan: Tcl_Channel) -> c_int;
    151 => fn Tcl_GetChannel(interp: *mut Tcl_Interp, name: *const c_char, mode: *mut c_int) -> Tcl_Channel;
    153 => fn Tcl_GetChannelHandle(chan: Tcl_Channel, direction: c_int, handle: *mut ClientData) -> c_int;
    154 => fn Tcl_GetChannelInstanceData(chan: Tcl_Channel) -> ClientData;
    155 => fn Tcl_GetChannelMode(chan: Tcl_Channel) -> c_int;
    157 => fn Tcl_GetChannelOption(interp: *mut Tcl_Interp, chan: Tcl_Channel, name: *const c_char, ds: *mut Tcl_DString) -> c_int;
    158 => fn Tcl_GetChannelType(chan: Tcl_Channel) -> *const Tcl_ChannelType;
    161 => fn Tcl_GetErrno() -> c_int;
    166 => fn Tcl_GetObjResult(interp: *mut Tcl_Interp) -> *mut Tcl_Obj;
    183 => fn Tcl_InputBuffered(chan: Tcl_Channel) -> c_int;
    185 => fn Tcl_IsSafe(interp: *mut Tcl_Interp) -> c_int;
    194 => fn Tcl_NotifyChannel(chan: Tcl_Channel, mask: c_int);
    234 => fn Tcl_SetObjErrorCode(interp: *mut Tcl_Interp, code: *mut Tcl_Obj);
    235 => fn Tcl_SetObjResult(interp: *mut Tcl_Interp, obj: *mut Tcl_Obj);
    250 => fn Tcl_Ungets(chan: Tcl_Channel, bytes: *const c_char, len: c_int, at_end: c_int) -> c_int;
    264 => fn Tcl_WrongNumArgs(interp: *mut Tcl_Interp, objc: c_int, objv: *const *mut Tcl_Obj, message: *const c_char);
    281 => fn Tcl_StackChannel(interp: *mut Tcl_Interp, type_ptr: *const Tcl_ChannelType, data: ClientData, mask: c_int, prev: Tcl_Channel) -> Tcl_Channel;
    282 => fn Tcl_UnstackChannel(interp: *mut Tcl_Interp, chan: Tcl_Channel) -> c_int;
    283 => fn Tcl_GetStackedChannel(chan: Tcl_Channel) -> Tcl_Channel;
    293 => fn Tcl_EvalObjEx(interp: *mut Tcl_Interp, obj: *mut Tcl_Obj, flags: c_int) -> c_int;
    394 => fn Tcl_ReadRaw(chan: Tcl_Channel, buf: *mut c_char, len: c_int) -> c_int;
    395 => fn Tcl_WriteRaw(chan: Tcl_Channel, buf: *const c_char, len: c_int) -> c_int;
    396 => fn Tcl_GetTopChannel(chan: Tcl_Channel) -> Tcl_Channel;
    400 => fn Tcl_ChannelBlockModeProc(type_ptr: *const Tcl_ChannelType) -> Option<DriverBlockModeProc>;
    403 => fn Tcl_ChannelInputProc(type_ptr: *const Tcl_ChannelType) -> Option<DriverInputProc>;
    406 => fn Tcl_ChannelSetOptionProc(type_ptr: *const Tcl_ChannelType) -> Option<DriverSetOptionProc>;
    407 => fn Tcl_ChannelGetOptionProc(type_ptr: *const Tcl_ChannelType) -> Option<DriverGetOptionProc>;
    408 => fn Tcl_ChannelWatchProc(type_ptr: *const Tcl_ChannelType) -> Option<DriverWatchProc>;
    535 => fn Tcl_SaveInterpState(interp: *mut Tcl_Interp, status: c_int) -> *mut c_void;
    536 => fn Tcl_RestoreInterpState(interp: *mut Tcl_Interp, state: *mut c_void) -> c_int;
    488 => fn Tcl_NewWideIntObj(value: i64) -> *mut Tcl_Obj;
    564 => fn Tcl_SetChannelError(chan: Tcl_Channel, msg: *mut Tcl_Obj);
    609 => fn Tcl_BackgroundException(interp: *mut Tcl_Interp, code: c_int);
}
