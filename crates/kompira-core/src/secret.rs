//! Secrets that never print.
//!
//! The AMQP password (and later the REST token) travel through settings
//! structs that are easy to `{:?}` in a log line. Wrapping them in [`Secret`]
//! makes such a slip print a mask instead of the secret; the only way to get
//! the text is the explicit [`Secret::expose`].

use std::fmt;

/// The mask printed in place of a secret.
const MASK: &str = "********";

/// The warning for a secret given as a command-line option (`--password`, `--token`): every
/// user of the machine can read a process's arguments (`ps`, `/proc/<pid>/cmdline`, Task
/// Manager), unlike kompira.conf, the keyring or the environment. `secret` is the setting's
/// dotted name (`rest.token`), `variable` the environment variable that can carry it.
pub fn command_line_warning(program: &str, option: &str, secret: &str, variable: &str) -> String {
    let (section, key) = secret.split_once('.').unwrap_or(("", secret));
    format!(
        "{program}: warning: other users of this machine can read {option} while the command runs \
         (ps, Task Manager); put it in kompira.conf ([{section}] {key}), in the keyring \
         (kompira secret set {secret}) or in {variable} instead"
    )
}

/// A string that `Debug`, `Display` and `Serialize` show as `********`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real text; call it only where the secret is actually used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_print_mask() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "********");
        assert_eq!(format!("{s}"), "********");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(********)");
    }

    #[test]
    fn serialize_prints_mask() {
        let s = Secret::new("hunter2");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"********\"");
    }

    #[test]
    fn expose_returns_content() {
        let s = Secret::new(String::from("p%ss"));
        assert_eq!(s.expose(), "p%ss");
        assert!(!s.is_empty());
        assert!(Secret::new("").is_empty());
        assert_eq!(s, Secret::new("p%ss"));
    }
}
