//! GTK's OpenGL, switched off before GTK starts.
//!
//! On X11, GTK 3 probes GLX when it opens the display, even if no window is ever shown: that
//! loads the Mesa driver (with LLVM), about 50 MB of a tray app that is otherwise idle. Our
//! window is a small form that needs no GPU, so the app asks GTK not to use GL; WebKit then
//! draws the page in software. A user who sets `GDK_GL` (even to an empty value, meaning GTK's
//! own default) keeps that choice.

use std::ffi::OsStr;

use kompira_core::config::Os;

/// The `GDK_GL` value to set before GTK starts, given the OS and the variable's current value;
/// `None` when nothing should be set.
pub fn gdk_gl_value(os: Os, current: Option<&OsStr>) -> Option<&'static str> {
    match (os, current) {
        (Os::Linux, None) => Some("disable"),
        _ => None,
    }
}

/// Applies [`gdk_gl_value`] to this process. Call first thing, while the process still has one
/// thread (changing the environment is not safe once others may read it).
pub fn disable_gtk_gl_unless_chosen() {
    if let Some(value) = gdk_gl_value(Os::current(), std::env::var_os("GDK_GL").as_deref()) {
        std::env::set_var("GDK_GL", value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gl_is_disabled_on_linux_unless_the_user_chose() {
        assert_eq!(gdk_gl_value(Os::Linux, None), Some("disable"));
        assert_eq!(gdk_gl_value(Os::Linux, Some(OsStr::new(""))), None);
        assert_eq!(gdk_gl_value(Os::Linux, Some(OsStr::new("always"))), None);
    }

    #[test]
    fn windows_has_no_gtk_to_tell() {
        assert_eq!(gdk_gl_value(Os::Windows, None), None);
    }
}
