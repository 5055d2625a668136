//! The thin layer between safe Rust and the Tcl C API: owned `Tcl_Obj`
//! references, interpreter results and error codes, and the panic boundary
//! used by every `extern "C"` entry point.
//!
//! Everything that dereferences a Tcl pointer lives here or in the channel
//! driver's entry points (`crate::channel::driver`).

pub mod sys;

use std::ffi::{c_char, c_int, CString};
use std::ptr::NonNull;

use crate::error::TlsError;
use sys::Tcl_Obj;

/// Runs `body`, turning a panic into `on_panic`. Used at every place where
/// Tcl or OpenSSL calls into Rust, so that no unwind crosses the FFI
/// boundary. Where the panic's message can be reported, use [`catch`].
pub fn boundary<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch(body).unwrap_or(on_panic)
}

/// Runs `body`; a panic becomes `Err` with its message.
pub fn catch<T>(body: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).map_err(|payload| panic_message(payload.as_ref()))
}

/// The text a panic was raised with.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic without a message".to_string()
    }
}

/// Where the test hook panics: the value of `TCLTLS_TEST_PANIC` when the
/// package was loaded (`command`, `input`, `verify`, `watch`), so that tests can
/// provoke a panic at each kind of boundary. Unset, it costs one load.
static PANIC_AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

pub fn init_test_hook() {
    PANIC_AT.get_or_init(|| std::env::var("TCLTLS_TEST_PANIC").ok().filter(|s| !s.is_empty()));
}

/// Panics if the test hook names `site`.
#[inline]
pub fn test_panic(site: &str) {
    if let Some(Some(at)) = PANIC_AT.get() {
        if at == site {
            panic!("test panic at {site}");
        }
    }
}

/// An owned reference to a `Tcl_Obj` (its reference count is held).
pub struct Obj(NonNull<Tcl_Obj>);

impl Obj {
    /// Takes a new reference to `ptr`.
    ///
    /// # Safety
    /// `ptr` must point to a live `Tcl_Obj`.
    pub unsafe fn from_raw(ptr: *mut Tcl_Obj) -> Option<Obj> {
        let ptr = NonNull::new(ptr)?;
        // SAFETY: the caller guarantees the object is live; Tcl_IncrRefCount
        // is a plain increment of this field.
        unsafe { (*ptr.as_ptr()).ref_count += 1 };
        Some(Obj(ptr))
    }

    fn adopt(ptr: *mut Tcl_Obj) -> Obj {
        // SAFETY: `ptr` comes straight from a Tcl_New*Obj constructor, which
        // never returns NULL (Tcl panics on allocation failure).
        unsafe { Obj::from_raw(ptr) }.unwrap_or_else(|| std::process::abort())
    }

    pub fn string(text: &str) -> Obj {
        let len = sys::TclSize::try_from(text.len()).unwrap_or(sys::TclSize::MAX);
        // SAFETY: pointer and length describe `text`; Tcl copies the bytes.
        Obj::adopt(unsafe { sys::Tcl_NewStringObj(text.as_ptr() as *const c_char, len) })
    }

    pub fn int(value: i64) -> Obj {
        // SAFETY: plain constructor.
        Obj::adopt(unsafe { sys::Tcl_NewWideIntObj(value) })
    }

    pub fn boolean(value: bool) -> Obj {
        Obj::int(value as i64)
    }

    pub fn bytes(data: &[u8]) -> Obj {
        let len = sys::TclSize::try_from(data.len()).unwrap_or(sys::TclSize::MAX);
        // SAFETY: pointer and length describe `data`; Tcl copies the bytes.
        Obj::adopt(unsafe { sys::Tcl_NewByteArrayObj(data.as_ptr(), len) })
    }

    pub fn list<I: IntoIterator<Item = Obj>>(items: I) -> Obj {
        // SAFETY: an empty list object.
        let list = Obj::adopt(unsafe { sys::Tcl_NewListObj(0, std::ptr::null()) });
        for item in items {
            list.append(item);
        }
        list
    }

    /// Appends to a list this reference owns exclusively (a fresh list).
    fn append(&self, item: Obj) {
        // SAFETY: both objects are live; a fresh list is unshared, so
        // appending cannot fail or panic in Tcl.
        unsafe { sys::Tcl_ListObjAppendElement(std::ptr::null_mut(), self.as_ptr(), item.as_ptr()) };
    }

    pub fn as_ptr(&self) -> *mut Tcl_Obj {
        self.0.as_ptr()
    }

    /// The string value, converted from Tcl's modified UTF-8.
    pub fn text(&self) -> String {
        let mut len: sys::TclSize = 0;
        // SAFETY: we hold a reference, so the object is live; `len` is a
        // valid out pointer.
        let data = unsafe { sys::Tcl_GetStringFromObj(self.as_ptr(), &mut len) };
        if data.is_null() || len <= 0 {
            return String::new();
        }
        // SAFETY: Tcl returns `len` valid bytes of the object's string,
        // which stays as it is while we copy it (nothing else runs).
        from_tcl_utf8(unsafe { std::slice::from_raw_parts(data as *const u8, len as usize) })
    }

    /// The value as a byte array (`Tcl_GetByteArrayFromObj`). A value
    /// with characters above U+00FF, which Tcl 9 refuses to turn into
    /// bytes, gives its UTF-8 text instead.
    pub fn byte_vec(&self) -> Vec<u8> {
        let mut len: sys::TclSize = 0;
        // SAFETY: we hold a reference, so the object is live; `len` is a
        // valid out pointer.
        let data = unsafe { sys::get_byte_array(self.as_ptr(), &mut len) };
        if data.is_null() {
            return self.text().into_bytes();
        }
        if len <= 0 {
            return Vec::new();
        }
        // SAFETY: Tcl returns `len` valid bytes of the object's byte array,
        // which stays as it is while we copy it (nothing else runs).
        unsafe { std::slice::from_raw_parts(data, len as usize) }.to_vec()
    }

    /// The value as a Tcl boolean (`Tcl_GetBooleanFromObj`: the words, any
    /// number), or `None` if it is not one.
    pub fn as_boolean(&self) -> Option<bool> {
        let mut value: c_int = 0;
        // SAFETY: we hold a reference, so the object is live; a NULL interp
        // is allowed (no error message); `value` is a valid out pointer.
        let ok = unsafe { sys::Tcl_GetBooleanFromObj(std::ptr::null_mut(), self.as_ptr(), &mut value) };
        (ok == sys::TCL_OK).then_some(value != 0)
    }

    /// The value as one of Tcl's boolean words or 0/1 (`Tcl_GetBoolean`,
    /// what `string is boolean` accepts: not other numbers), or `None`.
    pub fn as_boolean_word(&self) -> Option<bool> {
        let text = self.text();
        if text.contains('\0') {
            return None;
        }
        let text = cstring(&text);
        let mut value: c_int = 0;
        // SAFETY: a NUL-terminated string live for the call; a NULL interp
        // is allowed (no error message); `value` is a valid out pointer.
        let ok = unsafe { sys::Tcl_GetBoolean(std::ptr::null_mut(), text.as_ptr(), &mut value) };
        (ok == sys::TCL_OK).then_some(value != 0)
    }

    /// The value as a 64-bit Tcl integer (`Tcl_GetWideIntFromObj`), or
    /// `None` if it is not one.
    pub fn as_wide(&self) -> Option<i64> {
        let mut value: i64 = 0;
        // SAFETY: we hold a reference, so the object is live; a NULL interp
        // is allowed (no error message); `value` is a valid out pointer.
        let ok = unsafe { sys::Tcl_GetWideIntFromObj(std::ptr::null_mut(), self.as_ptr(), &mut value) };
        (ok == sys::TCL_OK).then_some(value)
    }

    /// The elements of the value as a list, or `None` if it is not one.
    pub fn elements(&self) -> Option<Vec<Obj>> {
        let mut count: sys::TclSize = 0;
        let mut items: *mut *mut Tcl_Obj = std::ptr::null_mut();
        // SAFETY: we hold a reference, so the object is live; a NULL
        // interp is allowed (no error message); both out pointers are
        // locals, valid for the call.
        if unsafe { sys::Tcl_ListObjGetElements(std::ptr::null_mut(), self.as_ptr(), &mut count, &mut items) } != sys::TCL_OK {
            return None;
        }
        // On success Tcl gives an array of `count` element pointers, owned by
        // the list; each is referenced before anything else runs.
        let elements = (0..count.max(0) as usize).filter_map(|i| {
            // SAFETY: `i < count`, so the offset stays inside the array.
            let slot = unsafe { items.add(i) };
            // SAFETY: an element of the array, initialised and aligned.
            let item = unsafe { *slot };
            // SAFETY: the list holds a reference to each element, so it is
            // live.
            unsafe { Obj::from_raw(item) }
        });
        Some(elements.collect())
    }
}

impl Clone for Obj {
    fn clone(&self) -> Obj {
        // SAFETY: we hold a reference, so the object is live.
        unsafe { Obj::from_raw(self.as_ptr()) }.unwrap_or_else(|| std::process::abort())
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        // SAFETY: we own one reference to a live object.
        unsafe { sys::Tcl_DbDecrRefCount(self.as_ptr(), c"tcltls".as_ptr(), 0) };
    }
}

/// Tcl strings are UTF-8 except that NUL is written as C0 80.
pub fn from_tcl_utf8(bytes: &[u8]) -> String {
    if !bytes.windows(2).any(|w| w == [0xC0, 0x80]) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0xC0 && bytes.get(i + 1) == Some(&0x80) {
            out.push(0);
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A C string for Tcl; interior NULs (which scripts can produce) are cut
/// there rather than panicking.
pub fn cstring(text: &str) -> CString {
    let end = text.find('\0').unwrap_or(text.len());
    CString::new(&text[..end]).unwrap_or_default()
}

/// An interpreter passed to a command or callback.
#[derive(Clone, Copy)]
pub struct Interp(pub *mut sys::Tcl_Interp);

impl Interp {
    pub fn set_result(self, value: Obj) {
        // SAFETY: live interpreter (we are inside one of its calls).
        unsafe { sys::Tcl_SetObjResult(self.0, value.as_ptr()) };
    }

    /// Sets the result and `-errorcode` from `error`; returns `TCL_ERROR`.
    pub fn fail(self, error: &TlsError) -> c_int {
        self.set_result(Obj::string(&error.message()));
        let code = Obj::list(error.error_code().iter().map(|part| Obj::string(part)));
        // SAFETY: live interpreter and object.
        unsafe { sys::Tcl_SetObjErrorCode(self.0, code.as_ptr()) };
        sys::TCL_ERROR
    }

    pub fn wrong_args(self, objv: &[*mut Tcl_Obj], count: usize, message: &str) -> c_int {
        let message = cstring(message);
        // SAFETY: objv holds at least `count` live objects (count <= objc).
        unsafe { sys::Tcl_WrongNumArgs(self.0, count as sys::TclSize, objv.as_ptr(), message.as_ptr()) };
        sys::TCL_ERROR
    }

    pub fn is_safe(self) -> bool {
        // SAFETY: live interpreter.
        unsafe { sys::Tcl_IsSafe(self.0) != 0 }
    }

    /// Evaluates `script` at global level; returns the Tcl code and result.
    pub fn eval_global(self, script: &Obj) -> (c_int, Obj) {
        // SAFETY: live interpreter, and a live object (we hold a reference).
        let code = unsafe { sys::Tcl_EvalObjEx(self.0, script.as_ptr(), sys::TCL_EVAL_GLOBAL) };
        // SAFETY: live interpreter.
        let raw = unsafe { sys::Tcl_GetObjResult(self.0) };
        // SAFETY: the interpreter's result is a live object; it is
        // referenced before any further evaluation can replace it.
        let result = unsafe { Obj::from_raw(raw) }.unwrap_or_else(|| Obj::string(""));
        (code, result)
    }

    /// Reports `error` as a background error (`bgerror`, with its
    /// `-errorcode`) without disturbing the interpreter's result.
    pub fn background_error(self, error: &TlsError) {
        // SAFETY: live interpreter; the saved state is restored exactly
        // once, below.
        let state = unsafe { sys::Tcl_SaveInterpState(self.0, sys::TCL_OK) };
        let code = self.fail(error);
        // SAFETY: live interpreter, holding the error just set.
        unsafe { sys::Tcl_BackgroundException(self.0, code) };
        // SAFETY: `state` was saved from this interpreter above and is
        // restored (which also frees it) once, here.
        unsafe { sys::Tcl_RestoreInterpState(self.0, state) };
    }

    /// Runs a callback script at global level without disturbing the
    /// interpreter's result: an error is reported as a background error
    /// (`bgerror`) and returned as its message.
    pub fn call_callback(self, words: &Obj) -> Result<Obj, String> {
        // SAFETY: live interpreter; the saved state is restored exactly
        // once, below.
        let state = unsafe { sys::Tcl_SaveInterpState(self.0, sys::TCL_OK) };
        // SAFETY: live interpreter, and a live object (we hold a reference).
        let code = unsafe { sys::Tcl_EvalObjEx(self.0, words.as_ptr(), sys::TCL_EVAL_GLOBAL) };
        // SAFETY: live interpreter.
        let raw = unsafe { sys::Tcl_GetObjResult(self.0) };
        // SAFETY: the interpreter's result is a live object; it is
        // referenced before the state is restored over it.
        let result = unsafe { Obj::from_raw(raw) }.unwrap_or_else(|| Obj::string(""));
        if code == sys::TCL_ERROR {
            // SAFETY: live interpreter, holding the error just raised.
            unsafe { sys::Tcl_BackgroundException(self.0, code) };
        }
        // SAFETY: `state` was saved from this interpreter above and is
        // restored (which also frees it) once, here.
        unsafe { sys::Tcl_RestoreInterpState(self.0, state) };
        if code == sys::TCL_ERROR {
            Err(result.text())
        } else {
            Ok(result)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_turns_a_panic_into_the_fallback() {
        let value = boundary(-1, || -> i32 { panic!("boom") });
        assert_eq!(value, -1);
        assert_eq!(boundary(-1, || 7), 7);
    }

    #[test]
    fn tcl_utf8_nul_is_decoded() {
        assert_eq!(from_tcl_utf8(b"a\xC0\x80b"), "a\0b");
        assert_eq!(from_tcl_utf8(b"plain"), "plain");
    }

    #[test]
    fn cstring_cuts_at_interior_nul() {
        assert_eq!(cstring("ab\0cd").as_bytes(), b"ab");
    }
}
