//! The OS keyring, for `[secrets] store = keyring`: the AMQP password and the REST token are
//! then read from Secret Service (Linux) or Credential Manager (Windows) under the service
//! [`KEYRING_SERVICE`], one entry per key named `section.key` (e.g. `rest.token`).
//!
//! The keyring is a convenience, never a requirement: where none runs (a headless server, no
//! D-Bus session) the values in kompira.conf stay in force and a warning says why.
//! [`config::load`](crate::config::load) is the one place that consults it.

/// The service name every entry is stored under.
pub const KEYRING_SERVICE: &str = "kompira-tray";

/// The keys that may live in the keyring, as `(section, key)`.
pub const KEYRING_KEYS: [(&str, &str); 2] = [("amqp-connection", "password"), ("rest", "token")];

/// What the keyring said about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The stored value.
    Found(String),
    /// The keyring runs but holds no such entry.
    Missing,
    /// No keyring could be reached; the reason.
    Unavailable(String),
}

/// The entry name of `[section] key`.
pub fn entry_name(section: &str, key: &str) -> String {
    format!("{section}.{key}")
}

/// Reads one entry from the OS keyring.
pub fn read(section: &str, key: &str) -> Lookup {
    let name = entry_name(section, key);
    // On a thread of its own: the D-Bus client may block on its own runtime, which must not
    // happen inside a caller's async task.
    std::thread::spawn(move || platform::read(&name))
        .join()
        .unwrap_or_else(|_| Lookup::Unavailable("the keyring client failed".into()))
}

/// Stores `value` as `[section] key` in the OS keyring.
pub fn store(section: &str, key: &str, value: &str) -> Result<(), String> {
    let (name, value) = (entry_name(section, key), value.to_owned());
    std::thread::spawn(move || platform::store(&name, &value))
        .join()
        .unwrap_or_else(|_| Err("the keyring client failed".into()))
}

/// Removes `[section] key` from the OS keyring (no error when it was not there).
pub fn delete(section: &str, key: &str) -> Result<(), String> {
    let name = entry_name(section, key);
    std::thread::spawn(move || platform::delete(&name))
        .join()
        .unwrap_or_else(|_| Err("the keyring client failed".into()))
}

#[cfg(any(target_os = "linux", windows))]
mod platform {
    use super::{Lookup, KEYRING_SERVICE};

    fn entry(name: &str) -> Result<keyring::Entry, String> {
        keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| e.to_string())
    }

    pub fn read(name: &str) -> Lookup {
        match entry(name).map(|e| e.get_password()) {
            Ok(Ok(value)) => Lookup::Found(value),
            Ok(Err(keyring::Error::NoEntry)) => Lookup::Missing,
            Ok(Err(e)) => Lookup::Unavailable(e.to_string()),
            Err(e) => Lookup::Unavailable(e),
        }
    }

    pub fn store(name: &str, value: &str) -> Result<(), String> {
        entry(name)?.set_password(value).map_err(|e| e.to_string())
    }

    pub fn delete(name: &str) -> Result<(), String> {
        match entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(not(any(target_os = "linux", windows)))]
mod platform {
    use super::Lookup;

    const NONE: &str = "no OS keyring support on this system";

    pub fn read(_name: &str) -> Lookup {
        Lookup::Unavailable(NONE.into())
    }

    pub fn store(_name: &str, _value: &str) -> Result<(), String> {
        Err(NONE.into())
    }

    pub fn delete(_name: &str) -> Result<(), String> {
        Err(NONE.into())
    }
}
