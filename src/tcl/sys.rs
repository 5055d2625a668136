//! Raw declarations of the Tcl C API that this package uses, reached
//! through the stubs table. No logic lives here beyond finding the table.
//!
//! We never link against libtcl: `Tcl_InitStubs` is done by hand (see
//! [`init_stubs`]) and every function is called through its slot in the
//! `TclStubs` table. One source serves both Tcl 8.6 and Tcl 9.0: the
//! cargo feature `tcl9` selects Tcl 9's table (the Makefile builds the
//! crate twice, `libtcltls.so` and `libtcl9tls.so`, and `pkgIndex.tcl`
//! loads the one for the running Tcl). What differs is confined here:
//!
//! - [`TclSize`], the size type: `int` in 8.6, `ptrdiff_t` in 9.0. It is
//!   used for every length that crosses the API in either version
//!   (object lengths and reference counts, list sizes, raw reads and
//!   writes, `Tcl_DString`, command `objc`).
//! - slot numbers: each stub lists its 8.6 slot and its 9.0 slot (`_`
//!   where that version has no such function); the test `stub_slots`
//!   checks both columns against both versions' `tclDecls.h`.
//! - the stubs magic, and the channel type's unused `closeProc`.

#![allow(non_camel_case_types, non_snake_case, dead_code)]

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

/// The size type of the Tcl API: `int` in Tcl 8.6.
#[cfg(not(feature = "tcl9"))]
pub type TclSize = c_int;
/// The size type of the Tcl API: `Tcl_Size` (`ptrdiff_t`) in Tcl 9.
#[cfg(feature = "tcl9")]
pub type TclSize = isize;

/// The Tcl major version this build is for.
#[cfg(not(feature = "tcl9"))]
pub const TCL_MAJOR: u32 = 8;
#[cfg(feature = "tcl9")]
pub const TCL_MAJOR: u32 = 9;
pub type ClientData = *mut c_void;
pub type Tcl_Channel = *mut c_void;
pub type Tcl_TimerToken = *mut c_void;

pub const TCL_OK: c_int = 0;
pub const TCL_ERROR: c_int = 1;
pub const TCL_RETURN: c_int = 2;
pub const TCL_READABLE: c_int = 1 << 1;
pub const TCL_WRITABLE: c_int = 1 << 2;
pub const TCL_MODE_BLOCKING: c_int = 0;
pub const TCL_MODE_NONBLOCKING: c_int = 1;
pub const TCL_EVAL_GLOBAL: c_int = 0x020000;
/// Tcl 8's stubs magic.
pub const TCL8_STUB_MAGIC: c_int = 0xFCA3BACFu32 as c_int;
/// Tcl 9's stubs magic: `0xFCA3BACB + sizeof(void *)`.
pub const TCL9_STUB_MAGIC: c_int = (0xFCA3BACBu32 as c_int).wrapping_add(std::mem::size_of::<*const c_void>() as c_int);
#[cfg(not(feature = "tcl9"))]
pub const TCL_STUB_MAGIC: c_int = TCL8_STUB_MAGIC;
#[cfg(feature = "tcl9")]
pub const TCL_STUB_MAGIC: c_int = TCL9_STUB_MAGIC;
pub const TCL_CLOSE_READ: c_int = 1 << 1;
pub const TCL_CLOSE_WRITE: c_int = 1 << 2;
/// The `closeProc` field: `TCL_CLOSE2PROC` ((void *) 1) in Tcl 8.6, which
/// tells Tcl to call `close2Proc`; Tcl 9 has no close proc and requires
/// NULL there.
#[cfg(not(feature = "tcl9"))]
pub const CLOSE_PROC_FIELD: *const c_void = std::ptr::without_provenance(1);
#[cfg(feature = "tcl9")]
pub const CLOSE_PROC_FIELD: *const c_void = std::ptr::null();
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
    pub ref_count: TclSize,
    pub bytes: *mut c_char,
    pub length: TclSize,
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

/// A command procedure: `Tcl_ObjCmdProc` (int objc) in 8.6, registered
/// with `Tcl_CreateObjCommand`; `Tcl_ObjCmdProc2` (Tcl_Size objc) in 9.0,
/// registered with `Tcl_CreateObjCommand2`.
pub type Tcl_ObjCmdProc = unsafe extern "C" fn(ClientData, *mut Tcl_Interp, TclSize, *const *mut Tcl_Obj) -> c_int;
pub type Tcl_CmdDeleteProc = unsafe extern "C" fn(ClientData);
pub type Tcl_TimerProc = unsafe extern "C" fn(ClientData);
pub type Tcl_FileProc = unsafe extern "C" fn(ClientData, c_int);
pub type Tcl_ChannelProc = unsafe extern "C" fn(ClientData, c_int);

pub type DriverInputProc = unsafe extern "C" fn(ClientData, *mut c_char, c_int, *mut c_int) -> c_int;
pub type DriverOutputProc = unsafe extern "C" fn(ClientData, *const c_char, c_int, *mut c_int) -> c_int;
pub type DriverSetOptionProc = unsafe extern "C" fn(ClientData, *mut Tcl_Interp, *const c_char, *const c_char) -> c_int;
pub type DriverGetOptionProc = unsafe extern "C" fn(ClientData, *mut Tcl_Interp, *const c_char, *mut Tcl_DString) -> c_int;
pub type DriverWatchProc = unsafe extern "C" fn(ClientData, c_int);
pub type DriverGetHandleProc = unsafe extern "C" fn(ClientData, c_int, *mut ClientData) -> c_int;
pub type DriverClose2Proc = unsafe extern "C" fn(ClientData, *mut Tcl_Interp, c_int) -> c_int;
pub type DriverBlockModeProc = unsafe extern "C" fn(ClientData, c_int) -> c_int;
pub type DriverFlushProc = unsafe extern "C" fn(ClientData) -> c_int;
pub type DriverHandlerProc = unsafe extern "C" fn(ClientData, c_int) -> c_int;
pub type DriverThreadActionProc = unsafe extern "C" fn(ClientData, c_int);

/// `Tcl_ChannelType`, version 5 layout (the same in 8.6 and 9.0; the
/// driver's input and output procs keep `int` lengths in both).
#[repr(C)]
pub struct Tcl_ChannelType {
    pub type_name: *const c_char,
    pub version: usize,
    /// [`CLOSE_PROC_FIELD`]: every close goes through `close2_proc`.
    pub close_proc: *const c_void,
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

/// Why the package cannot load into this interpreter.
pub enum LoadError {
    /// Tcl has already left an error message in the interpreter (a
    /// version conflict from `package require Tcl`).
    Reported,
    /// The interpreter has no stubs table we know: nothing can be said.
    Unknown,
}

/// Finds the stubs table of `interp` and checks that it is the Tcl this
/// build is for: the hand-written equivalent of `Tcl_InitStubs(interp,
/// "8.6", 0)` (or `"9.0"` for the Tcl 9 build). A Tcl of the other major
/// version gets an error message saying which library it needs.
///
/// # Safety
/// `interp` must be a live Tcl interpreter, as passed to `Tls_Init`.
pub unsafe fn init_stubs(interp: *mut Tcl_Interp) -> Result<(), LoadError> {
    // SAFETY: every Tcl interpreter since 8.1 starts with `InterpHead`
    // (Tcl 8.6's and 9.0's tclInt.h keep these fields first for exactly
    // this purpose).
    let table = unsafe { (*(interp as *const InterpHead)).stub_table };
    if table.is_null() {
        return Err(LoadError::Unknown);
    }
    // SAFETY: a stubs table starts with its `int magic`.
    let magic = unsafe { *(table as *const c_int) };
    if magic != TCL_STUB_MAGIC {
        let other = if magic == TCL8_STUB_MAGIC {
            Some(8)
        } else if magic == TCL9_STUB_MAGIC {
            Some(9)
        } else {
            None
        };
        let Some(other) = other else { return Err(LoadError::Unknown) };
        let message = format!(
            "this tls library is built for Tcl {}, but the interpreter is Tcl {other}: load {} (pkgIndex.tcl picks it)",
            if TCL_MAJOR == 9 { "9.0" } else { "8.6" },
            if other == 9 { LIBRARY_FILES.1 } else { LIBRARY_FILES.0 },
        );
        // SAFETY: the magic names the table's version, so its slots have
        // that version's signatures; `message` lives for the call.
        unsafe { set_foreign_result(interp, table, other == 9, &message) };
        return Err(LoadError::Reported);
    }
    STUBS.store(table as *mut c_void, Ordering::Release);
    let mut client_data: *mut c_void = std::ptr::null_mut();
    let wanted = if TCL_MAJOR == 9 { c"9.0" } else { c"8.6" };
    // SAFETY: the table is valid (magic checked); arguments are C strings
    // and an out pointer that lives for the call.
    let version = unsafe { Tcl_PkgRequireEx(interp, c"Tcl".as_ptr(), wanted.as_ptr(), 0, &mut client_data as *mut *mut c_void as *mut c_void) };
    if version.is_null() {
        // Tcl left "version conflict for package "Tcl": have X, need Y".
        return Err(LoadError::Reported);
    }
    if !client_data.is_null() {
        STUBS.store(client_data, Ordering::Release);
    }
    Ok(())
}

/// Sets the interpreter's result through a stubs table of the other Tcl
/// major version (slots 56, `Tcl_NewStringObj`, and 235,
/// `Tcl_SetObjResult`, are the same in both; only the length type of
/// `Tcl_NewStringObj` differs).
///
/// # Safety
/// `table` is the live stubs table of `interp`, of Tcl 9 when `tcl9`.
unsafe fn set_foreign_result(interp: *mut Tcl_Interp, table: *const c_void, tcl9: bool, message: &str) {
    let table = table as *const *const c_void;
    let len = message.len().min(c_int::MAX as usize);
    // SAFETY: the live table (contract) holds `int magic; void *hooks;`
    // (two pointer-sized words) followed by far more than 236 slots, so
    // slot 56 lies inside it.
    let new_string_slot = unsafe { table.add(2 + 56) };
    // SAFETY: a slot of the live table: an aligned, initialised pointer.
    let new_string = unsafe { *new_string_slot };
    let obj = if tcl9 {
        // SAFETY: slot 56 holds Tcl_NewStringObj (the number is checked
        // against both headers by `stub_slots`), which Tcl 9 declares as
        // `(const char *, Tcl_Size)`.
        let f: unsafe extern "C" fn(*const c_char, isize) -> *mut Tcl_Obj = unsafe { std::mem::transmute(new_string) };
        // SAFETY: `message` is readable for `len` bytes; Tcl copies them.
        unsafe { f(message.as_ptr() as *const c_char, len as isize) }
    } else {
        // SAFETY: slot 56 holds Tcl_NewStringObj (the number is checked
        // against both headers by `stub_slots`), which Tcl 8.6 declares as
        // `(const char *, int)`.
        let f: unsafe extern "C" fn(*const c_char, c_int) -> *mut Tcl_Obj = unsafe { std::mem::transmute(new_string) };
        // SAFETY: `message` is readable for `len` bytes (at most
        // `c_int::MAX`); Tcl copies them.
        unsafe { f(message.as_ptr() as *const c_char, len as c_int) }
    };
    // SAFETY: as for slot 56: slot 235 lies inside the live table.
    let set_result_slot = unsafe { table.add(2 + 235) };
    // SAFETY: a slot of the live table: an aligned, initialised pointer.
    let set_result = unsafe { *set_result_slot };
    // SAFETY: slot 235 holds Tcl_SetObjResult (the number is checked
    // against both headers by `stub_slots`), declared in both as
    // `(Tcl_Interp *, Tcl_Obj *)`.
    let set: unsafe extern "C" fn(*mut Tcl_Interp, *mut Tcl_Obj) = unsafe { std::mem::transmute(set_result) };
    // SAFETY: `interp` is live (contract) and `obj` a fresh object, which
    // the interpreter takes as its result.
    unsafe { set(interp, obj) };
}

/// Whether [`init_stubs`] has found the table (stubs may be called).
pub fn stubs_ready() -> bool {
    !STUBS.load(Ordering::Acquire).is_null()
}

/// The address stored in slot `n` of the stubs table.
fn slot(n: usize) -> *const c_void {
    let table = STUBS.load(Ordering::Acquire) as *const *const c_void;
    assert!(!table.is_null(), "Tcl stubs used before Tls_Init");
    // SAFETY: the table holds `int magic; void *hooks;` (two pointer-sized
    // words after padding) followed by one function pointer per slot, and
    // every `n` used here is a slot of this version's table (checked by a
    // test against its header), so the offset stays inside the table.
    let entry = unsafe { table.add(2 + n) };
    // SAFETY: a slot of the live table: an aligned, initialised pointer.
    unsafe { *entry }
}

/// One stub: its slot in the 8.6 and in the 9.0 table, or `_` where that
/// version has no such function (the function then exists only in the
/// other build).
macro_rules! stub_fn {
    (_, $($rest:tt)*) => {};
    ($slot:literal, $cfg:meta, $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)?) => {
        /// Calls the Tcl function of the same name through its stub slot.
        ///
        /// # Safety
        /// The caller upholds the C function's contract.
        #[cfg($cfg)]
        #[inline]
        pub unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
            // SAFETY: the slot holds this function with this signature
            // (see `USED_SLOTS` and its test against tclDecls.h).
            let f: unsafe extern "C" fn($($ty),*) $(-> $ret)? = unsafe { std::mem::transmute::<*const c_void, _>(slot($slot)) };
            // SAFETY: the caller upholds the C function's contract.
            unsafe { f($($arg),*) }
        }
    };
}

/// The file names of the Tcl 8.6 and the Tcl 9 library on this platform
/// (what `pkgIndex.tcl` loads).
pub const LIBRARY_FILES: (&str, &str) = if cfg!(windows) { ("tcltls.dll", "tcl9tls.dll") } else { ("libtcltls.so", "libtcl9tls.so") };

macro_rules! slot_number {
    (_) => {
        None
    };
    ($slot:literal) => {
        Some($slot)
    };
}

macro_rules! stubs {
    ($( $s86:tt $s90:tt => fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)? ; )*) => {
        $(
            stub_fn!($s86, not(feature = "tcl9"), $name($($arg: $ty),*) $(-> $ret)?);
            stub_fn!($s90, feature = "tcl9", $name($($arg: $ty),*) $(-> $ret)?);
        )*
        /// Every stub used, with its 8.6 and 9.0 slots, for the header
        /// checks.
        pub const USED_SLOTS: &[(&str, Option<usize>, Option<usize>)] =
            &[ $( (stringify!($name), slot_number!($s86), slot_number!($s90)) ),* ];
    };
}

stubs! {
    //  8.6  9.0
    1   1   => fn Tcl_PkgRequireEx(interp: *mut Tcl_Interp, name: *const c_char, version: *const c_char, exact: c_int, client_data: *mut c_void) -> *const c_char;
    0   0   => fn Tcl_PkgProvideEx(interp: *mut Tcl_Interp, name: *const c_char, version: *const c_char, client_data: *const c_void) -> c_int;
    89  89  => fn Tcl_CreateChannelHandler(chan: Tcl_Channel, mask: c_int, proc_: Tcl_ChannelProc, data: ClientData);
    101 101 => fn Tcl_DeleteChannelHandler(chan: Tcl_Channel, proc_: Tcl_ChannelProc, data: ClientData);
    9   9   => fn Tcl_CreateFileHandler(fd: c_int, mask: c_int, proc_: Tcl_FileProc, data: ClientData);
    10  10  => fn Tcl_DeleteFileHandler(fd: c_int);
    19  19  => fn Tcl_DbDecrRefCount(obj: *mut Tcl_Obj, file: *const c_char, line: c_int);
    31  31  => fn Tcl_GetBoolean(interp: *mut Tcl_Interp, src: *const c_char, value: *mut c_int) -> c_int;
    32  32  => fn Tcl_GetBooleanFromObj(interp: *mut Tcl_Interp, obj: *mut Tcl_Obj, value: *mut c_int) -> c_int;
    33  _   => fn Tcl_GetByteArrayFromObj(obj: *mut Tcl_Obj, len: *mut TclSize) -> *mut u8;
    _   650 => fn Tcl_GetBytesFromObj(interp: *mut Tcl_Interp, obj: *mut Tcl_Obj, len: *mut TclSize) -> *mut u8;
    41  651 => fn Tcl_GetStringFromObj(obj: *mut Tcl_Obj, len: *mut TclSize) -> *mut c_char;
    44  44  => fn Tcl_ListObjAppendElement(interp: *mut Tcl_Interp, list: *mut Tcl_Obj, elem: *mut Tcl_Obj) -> c_int;
    45  661 => fn Tcl_ListObjGetElements(interp: *mut Tcl_Interp, list: *mut Tcl_Obj, objc: *mut TclSize, objv: *mut *mut *mut Tcl_Obj) -> c_int;
    50  50  => fn Tcl_NewByteArrayObj(bytes: *const u8, len: TclSize) -> *mut Tcl_Obj;
    53  53  => fn Tcl_NewListObj(objc: TclSize, objv: *const *mut Tcl_Obj) -> *mut Tcl_Obj;
    56  56  => fn Tcl_NewStringObj(bytes: *const c_char, len: TclSize) -> *mut Tcl_Obj;
    78  78  => fn Tcl_BadChannelOption(interp: *mut Tcl_Interp, name: *const c_char, options: *const c_char) -> c_int;
    96  _   => fn Tcl_CreateObjCommand(interp: *mut Tcl_Interp, name: *const c_char, proc_: Tcl_ObjCmdProc, data: ClientData, delete: Option<Tcl_CmdDeleteProc>) -> *mut c_void;
    _   676 => fn Tcl_CreateObjCommand2(interp: *mut Tcl_Interp, name: *const c_char, proc_: Tcl_ObjCmdProc, data: ClientData, delete: Option<Tcl_CmdDeleteProc>) -> *mut c_void;
    98  98  => fn Tcl_CreateTimerHandler(ms: c_int, proc_: Tcl_TimerProc, data: ClientData) -> Tcl_TimerToken;
    112 112 => fn Tcl_DeleteTimerHandler(token: Tcl_TimerToken);
    120 120 => fn Tcl_DStringFree(ds: *mut Tcl_DString);
    122 122 => fn Tcl_DStringInit(ds: *mut Tcl_DString);
    146 146 => fn Tcl_Flush(chan: Tcl_Channel) -> c_int;
    151 151 => fn Tcl_GetChannel(interp: *mut Tcl_Interp, name: *const c_char, mode: *mut c_int) -> Tcl_Channel;
    153 153 => fn Tcl_GetChannelHandle(chan: Tcl_Channel, direction: c_int, handle: *mut ClientData) -> c_int;
    154 154 => fn Tcl_GetChannelInstanceData(chan: Tcl_Channel) -> ClientData;
    155 155 => fn Tcl_GetChannelMode(chan: Tcl_Channel) -> c_int;
    157 157 => fn Tcl_GetChannelOption(interp: *mut Tcl_Interp, chan: Tcl_Channel, name: *const c_char, ds: *mut Tcl_DString) -> c_int;
    158 158 => fn Tcl_GetChannelType(chan: Tcl_Channel) -> *const Tcl_ChannelType;
    128 128 => fn Tcl_ErrnoMsg(err: c_int) -> *const c_char;
    161 161 => fn Tcl_GetErrno() -> c_int;
    166 166 => fn Tcl_GetObjResult(interp: *mut Tcl_Interp) -> *mut Tcl_Obj;
    183 183 => fn Tcl_InputBuffered(chan: Tcl_Channel) -> c_int;
    185 185 => fn Tcl_IsSafe(interp: *mut Tcl_Interp) -> c_int;
    194 194 => fn Tcl_NotifyChannel(chan: Tcl_Channel, mask: c_int);
    234 234 => fn Tcl_SetObjErrorCode(interp: *mut Tcl_Interp, code: *mut Tcl_Obj);
    235 235 => fn Tcl_SetObjResult(interp: *mut Tcl_Interp, obj: *mut Tcl_Obj);
    250 250 => fn Tcl_Ungets(chan: Tcl_Channel, bytes: *const c_char, len: TclSize, at_end: c_int) -> TclSize;
    264 264 => fn Tcl_WrongNumArgs(interp: *mut Tcl_Interp, objc: TclSize, objv: *const *mut Tcl_Obj, message: *const c_char);
    281 281 => fn Tcl_StackChannel(interp: *mut Tcl_Interp, type_ptr: *const Tcl_ChannelType, data: ClientData, mask: c_int, prev: Tcl_Channel) -> Tcl_Channel;
    282 282 => fn Tcl_UnstackChannel(interp: *mut Tcl_Interp, chan: Tcl_Channel) -> c_int;
    283 283 => fn Tcl_GetStackedChannel(chan: Tcl_Channel) -> Tcl_Channel;
    293 293 => fn Tcl_EvalObjEx(interp: *mut Tcl_Interp, obj: *mut Tcl_Obj, flags: c_int) -> c_int;
    479 479 => fn Tcl_OutputBuffered(chan: Tcl_Channel) -> c_int;
    394 394 => fn Tcl_ReadRaw(chan: Tcl_Channel, buf: *mut c_char, len: TclSize) -> TclSize;
    395 395 => fn Tcl_WriteRaw(chan: Tcl_Channel, buf: *const c_char, len: TclSize) -> TclSize;
    396 396 => fn Tcl_GetTopChannel(chan: Tcl_Channel) -> Tcl_Channel;
    400 400 => fn Tcl_ChannelBlockModeProc(type_ptr: *const Tcl_ChannelType) -> Option<DriverBlockModeProc>;
    403 403 => fn Tcl_ChannelInputProc(type_ptr: *const Tcl_ChannelType) -> Option<DriverInputProc>;
    406 406 => fn Tcl_ChannelSetOptionProc(type_ptr: *const Tcl_ChannelType) -> Option<DriverSetOptionProc>;
    407 407 => fn Tcl_ChannelGetOptionProc(type_ptr: *const Tcl_ChannelType) -> Option<DriverGetOptionProc>;
    408 408 => fn Tcl_ChannelWatchProc(type_ptr: *const Tcl_ChannelType) -> Option<DriverWatchProc>;
    535 535 => fn Tcl_SaveInterpState(interp: *mut Tcl_Interp, status: c_int) -> *mut c_void;
    536 536 => fn Tcl_RestoreInterpState(interp: *mut Tcl_Interp, state: *mut c_void) -> c_int;
    488 488 => fn Tcl_NewWideIntObj(value: i64) -> *mut Tcl_Obj;
    487 487 => fn Tcl_GetWideIntFromObj(interp: *mut Tcl_Interp, obj: *mut Tcl_Obj, value: *mut i64) -> c_int;
    564 564 => fn Tcl_SetChannelError(chan: Tcl_Channel, msg: *mut Tcl_Obj);
    609 609 => fn Tcl_BackgroundException(interp: *mut Tcl_Interp, code: c_int);
}

/// Registers an object command: `Tcl_CreateObjCommand` in 8.6,
/// `Tcl_CreateObjCommand2` (with `Tcl_Size` objc) in 9.0.
///
/// # Safety
/// As the C function: a live interpreter and a NUL-terminated name.
pub unsafe fn create_obj_command(interp: *mut Tcl_Interp, name: *const c_char, proc_: Tcl_ObjCmdProc, data: ClientData) {
    // SAFETY: the caller's contract is the C function's.
    unsafe {
        #[cfg(not(feature = "tcl9"))]
        Tcl_CreateObjCommand(interp, name, proc_, data, None);
        #[cfg(feature = "tcl9")]
        Tcl_CreateObjCommand2(interp, name, proc_, data, None);
    }
}

/// The bytes of a byte array value (`Tcl_GetByteArrayFromObj` in 8.6,
/// `Tcl_GetBytesFromObj` in 9.0, which returns NULL when the value holds
/// characters above U+00FF).
///
/// # Safety
/// `obj` is a live object and `len` a valid out pointer.
pub unsafe fn get_byte_array(obj: *mut Tcl_Obj, len: *mut TclSize) -> *mut u8 {
    // SAFETY: the caller's contract is the C function's.
    unsafe {
        #[cfg(not(feature = "tcl9"))]
        return Tcl_GetByteArrayFromObj(obj, len);
        #[cfg(feature = "tcl9")]
        return Tcl_GetBytesFromObj(std::ptr::null_mut(), obj, len);
    }
}
