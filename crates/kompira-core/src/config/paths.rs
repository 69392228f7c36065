//! Where kompira.conf and its companions live on each OS.
//!
//! The OS is a parameter rather than a `cfg!` so both layouts are tested on
//! any machine. Windows paths are built as text with `\` (and parsed
//! accepting `\` and `/`), so they come out right even when computed on Linux.

use std::path::{Path, PathBuf};

/// The file name read in every searched directory.
pub const CONFIG_FILE_NAME: &str = "kompira.conf";
/// The CA bundle used to check the AMQP server's certificate.
pub const CA_FILE_NAME: &str = "kompira-bundle-ca.crt";
/// The client certificate presented to the AMQP server.
pub const CLIENT_CERT_FILE_NAME: &str = "amqp-client-kompira.crt";
/// The private key of the client certificate.
pub const CLIENT_KEY_FILE_NAME: &str = "amqp-client-kompira.key";

/// The operating system whose conventions apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    /// Linux and other Unix-likes.
    Linux,
    /// Windows.
    Windows,
}

impl Os {
    /// The OS this program was built for.
    pub fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else {
            Os::Linux
        }
    }
}

/// Files read in this order (later ones override earlier ones): the system
/// file, the install prefix (`<exe dir>/..`), then the current directory
/// when `cwd` is given (the official tools read it; the tray app does not).
/// The same file is listed once, at its first place.
pub fn search_path(os: Os, exe: Option<&Path>, cwd: Option<&Path>) -> Vec<PathBuf> {
    let system = match os {
        Os::Linux => PathBuf::from("/opt/kompira/kompira.conf"),
        Os::Windows => PathBuf::from(r"C:\Kompira\kompira.conf"),
    };
    let mut candidates = vec![system];
    if let Some(exe) = exe {
        let text = exe.to_string_lossy();
        let dir = match split_last(os, &text) {
            Some((dir, _)) => dir.to_string(),
            None => ".".to_string(),
        };
        candidates.push(join(os, &join(os, Path::new(&dir), ".."), CONFIG_FILE_NAME));
    }
    if let Some(cwd) = cwd {
        candidates.push(join(os, cwd, CONFIG_FILE_NAME));
    }

    let mut unique: Vec<PathBuf> = Vec::new();
    for candidate in candidates {
        let candidate = normalize(os, &candidate);
        if !unique.iter().any(|seen| same_path(os, seen, &candidate)) {
            unique.push(candidate);
        }
    }
    unique
}

/// The per-user file, which the app may write: Linux
/// `$XDG_CONFIG_HOME/kompira/kompira.conf` (or `$HOME/.config/...`), Windows
/// `%APPDATA%\Kompira\kompira.conf`. `None` when the variables are unset.
pub fn user_config_path(os: Os, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    match os {
        Os::Linux => {
            // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
            let base = match var("XDG_CONFIG_HOME").filter(|v| v.starts_with('/')) {
                Some(xdg) => PathBuf::from(xdg),
                None => join(os, Path::new(&var("HOME")?), ".config"),
            };
            Some(join(os, &join(os, &base, "kompira"), CONFIG_FILE_NAME))
        }
        Os::Windows => {
            let base = PathBuf::from(var("APPDATA")?);
            Some(join(os, &join(os, &base, "Kompira"), CONFIG_FILE_NAME))
        }
    }
}

/// The outbox file name in the per-user data directory.
pub const OUTBOX_FILE_NAME: &str = "outbox.sqlite3";

/// Where the outbox lives when `[outbox] path` is not set: per user and per machine (events
/// waiting for this machine's broker connection must not roam). Linux
/// `$XDG_DATA_HOME/kompira/outbox.sqlite3` (or `$HOME/.local/share/...`), Windows
/// `%LOCALAPPDATA%\Kompira\outbox.sqlite3`. `None` when the variables are unset.
pub fn default_outbox_path(os: Os, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    match os {
        Os::Linux => {
            // As for XDG_CONFIG_HOME, a relative XDG_DATA_HOME is ignored.
            let base = match var("XDG_DATA_HOME").filter(|v| v.starts_with('/')) {
                Some(xdg) => PathBuf::from(xdg),
                None => join(os, &join(os, Path::new(&var("HOME")?), ".local"), "share"),
            };
            Some(join(os, &join(os, &base, "kompira"), OUTBOX_FILE_NAME))
        }
        Os::Windows => {
            let base = PathBuf::from(var("LOCALAPPDATA")?);
            Some(join(os, &join(os, &base, "Kompira"), OUTBOX_FILE_NAME))
        }
    }
}

/// Where log files go when `[logging] logdir` is not set.
pub fn default_log_dir(os: Os) -> PathBuf {
    match os {
        Os::Linux => PathBuf::from("/var/log/kompira"),
        Os::Windows => PathBuf::from(r"C:\Kompira\Log"),
    }
}

/// Where the AMQP certificate files are looked for when not configured.
pub fn default_certs_dir(os: Os) -> PathBuf {
    match os {
        Os::Linux => PathBuf::from("/opt/kompira/ssl/certs"),
        Os::Windows => PathBuf::from(r"C:\Kompira\SSL\Certs"),
    }
}

/// `dir` joined with `name` using the OS's separator.
pub(crate) fn join(os: Os, dir: &Path, name: &str) -> PathBuf {
    match os {
        Os::Linux => dir.join(name),
        Os::Windows => {
            let dir = dir.to_string_lossy();
            if dir.is_empty() || dir.ends_with(['\\', '/']) || (dir.len() == 2 && dir.ends_with(':')) {
                PathBuf::from(format!("{dir}{name}"))
            } else {
                PathBuf::from(format!("{dir}\\{name}"))
            }
        }
    }
}

fn is_separator(os: Os, c: char) -> bool {
    c == '/' || (os == Os::Windows && c == '\\')
}

/// Splits at the last separator: (directory, file name).
fn split_last(os: Os, path: &str) -> Option<(&str, &str)> {
    let at = path.rfind(|c| is_separator(os, c))?;
    let dir = &path[..at];
    // Keep the root: the parent of "/x" is "/", of "C:\x" is "C:\".
    let dir = if dir.is_empty() || dir.ends_with(':') { &path[..=at] } else { dir };
    Some((dir, &path[at + 1..]))
}

/// Removes `.`, `..` and doubled separators without touching the disk, like
/// Python's `os.path.normpath`.
fn normalize(os: Os, path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    let (prefix, rest) = split_prefix(os, &text);
    let rooted = rest.starts_with(|c| is_separator(os, c));
    let mut parts: Vec<&str> = Vec::new();
    for part in rest.split(|c| is_separator(os, c)) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let sep = if os == Os::Windows { "\\" } else { "/" };
    let prefix = if os == Os::Windows { prefix.replace('/', "\\") } else { prefix.to_string() };
    let body = parts.join(sep);
    let normal = match (rooted, body.is_empty(), prefix.is_empty()) {
        (true, _, _) => format!("{prefix}{sep}{body}"),
        (false, true, true) => ".".to_string(),
        (false, _, _) => format!("{prefix}{body}"),
    };
    PathBuf::from(normal)
}

/// Splits a Windows drive (`C:`) or UNC share (`\\server\share`) prefix.
fn split_prefix(os: Os, text: &str) -> (&str, &str) {
    if os != Os::Windows {
        return ("", text);
    }
    let bytes = text.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return text.split_at(2);
    }
    let sep = |c: char| is_separator(os, c);
    if text.starts_with("\\\\") || text.starts_with("//") {
        // \\server\share is the prefix; what follows is rooted.
        let after = &text[2..];
        let server_end = after.find(sep).map(|i| i + 2).unwrap_or(text.len());
        let share_end = text[server_end..]
            .char_indices()
            .skip(1)
            .find(|(_, c)| sep(*c))
            .map(|(i, _)| server_end + i)
            .unwrap_or(text.len());
        return text.split_at(share_end);
    }
    ("", text)
}

/// Whether two normalised paths name the same file (Windows ignores case).
fn same_path(os: Os, a: &Path, b: &Path) -> bool {
    match os {
        Os::Linux => a == b,
        Os::Windows => a.to_string_lossy().to_lowercase() == b.to_string_lossy().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn linux_search_path_lists_system_prefix_and_cwd() {
        let found = search_path(
            Os::Linux,
            Some(Path::new("/home/u/venv/bin/kompira_sendevt")),
            Some(Path::new("/home/u/work")),
        );
        assert_eq!(
            found,
            paths(&["/opt/kompira/kompira.conf", "/home/u/venv/kompira.conf", "/home/u/work/kompira.conf"])
        );
    }

    #[test]
    fn windows_search_path_lists_system_prefix_and_cwd() {
        let found = search_path(
            Os::Windows,
            Some(Path::new(r"D:\Tools\Kompira Tray\bin\kompira-tray.exe")),
            Some(Path::new(r"C:\Users\u\Documents")),
        );
        assert_eq!(
            found,
            paths(&[
                r"C:\Kompira\kompira.conf",
                r"D:\Tools\Kompira Tray\kompira.conf",
                r"C:\Users\u\Documents\kompira.conf"
            ])
        );
    }

    #[test]
    fn without_a_current_directory_only_the_system_and_install_files_are_searched() {
        let found = search_path(Os::Linux, Some(Path::new("/usr/bin/kompira-tray")), None);
        assert_eq!(found, paths(&["/opt/kompira/kompira.conf", "/usr/kompira.conf"]));
        let found = search_path(Os::Windows, Some(Path::new(r"C:\Program Files\Kompira Tray\kompira-tray.exe")), None);
        assert_eq!(found, paths(&[r"C:\Kompira\kompira.conf", r"C:\Program Files\kompira.conf"]));
    }

    #[test]
    fn search_path_skips_prefix_without_exe() {
        assert_eq!(
            search_path(Os::Linux, None, Some(Path::new("/tmp"))),
            paths(&["/opt/kompira/kompira.conf", "/tmp/kompira.conf"])
        );
        assert_eq!(
            search_path(Os::Windows, None, Some(Path::new(r"C:\Temp\"))),
            paths(&[r"C:\Kompira\kompira.conf", r"C:\Temp\kompira.conf"])
        );
    }

    #[test]
    fn search_path_removes_duplicates_keeping_first() {
        let found = search_path(
            Os::Linux,
            Some(Path::new("/opt/kompira/bin/kompira_sendevt")),
            Some(Path::new("/opt/kompira/./")),
        );
        assert_eq!(found, paths(&["/opt/kompira/kompira.conf"]));
        let found = search_path(Os::Windows, Some(Path::new(r"c:\kompira\bin\x.exe")), Some(Path::new(r"C:\Kompira")));
        assert_eq!(found, paths(&[r"C:\Kompira\kompira.conf"]));
    }

    #[test]
    fn search_path_normalizes_dotdot_lexically() {
        let found = search_path(Os::Linux, Some(Path::new("/a/b/../c/bin/x")), Some(Path::new("/")));
        assert_eq!(found, paths(&["/opt/kompira/kompira.conf", "/a/c/kompira.conf", "/kompira.conf"]));
        // ".." above the root stays at the root, as normpath does.
        let found = search_path(Os::Linux, Some(Path::new("/x")), Some(Path::new("/tmp")));
        assert_eq!(found[1], PathBuf::from("/kompira.conf"));
        let found = search_path(Os::Windows, Some(Path::new("C:/bin/x.exe")), Some(Path::new(r"\\srv\share\dir")));
        assert_eq!(found, paths(&[r"C:\Kompira\kompira.conf", r"C:\kompira.conf", r"\\srv\share\dir\kompira.conf"]));
    }

    #[test]
    fn search_path_handles_relative_exe() {
        let found = search_path(Os::Linux, Some(Path::new("kompira_sendevt")), Some(Path::new("/w")));
        assert_eq!(found[1], PathBuf::from("../kompira.conf"));
        let found = search_path(Os::Linux, Some(Path::new("bin/kompira_sendevt")), Some(Path::new("/w")));
        assert_eq!(found[1], PathBuf::from("kompira.conf"));
    }

    #[test]
    fn linux_user_config_prefers_xdg_config_home() {
        let env = env_of(&[("XDG_CONFIG_HOME", "/home/u/.cfg"), ("HOME", "/home/u")]);
        assert_eq!(user_config_path(Os::Linux, &env), Some(PathBuf::from("/home/u/.cfg/kompira/kompira.conf")));
    }

    #[test]
    fn linux_user_config_falls_back_to_home() {
        let env = env_of(&[("XDG_CONFIG_HOME", ""), ("HOME", "/home/u")]);
        assert_eq!(user_config_path(Os::Linux, &env), Some(PathBuf::from("/home/u/.config/kompira/kompira.conf")));
        let env = env_of(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/home/u")]);
        assert_eq!(user_config_path(Os::Linux, &env), Some(PathBuf::from("/home/u/.config/kompira/kompira.conf")));
    }

    #[test]
    fn user_config_is_none_without_variables() {
        assert_eq!(user_config_path(Os::Linux, &env_of(&[])), None);
        assert_eq!(user_config_path(Os::Linux, &env_of(&[("HOME", "")])), None);
        assert_eq!(user_config_path(Os::Windows, &env_of(&[("HOME", "/x")])), None);
        assert_eq!(user_config_path(Os::Windows, &env_of(&[("APPDATA", "")])), None);
    }

    #[test]
    fn windows_user_config_uses_appdata() {
        let env = env_of(&[("APPDATA", r"C:\Users\u\AppData\Roaming")]);
        assert_eq!(
            user_config_path(Os::Windows, &env),
            Some(PathBuf::from(r"C:\Users\u\AppData\Roaming\Kompira\kompira.conf"))
        );
    }

    #[test]
    fn default_dirs_per_os() {
        assert_eq!(default_log_dir(Os::Linux), PathBuf::from("/var/log/kompira"));
        assert_eq!(default_log_dir(Os::Windows), PathBuf::from(r"C:\Kompira\Log"));
        assert_eq!(default_certs_dir(Os::Linux), PathBuf::from("/opt/kompira/ssl/certs"));
        assert_eq!(default_certs_dir(Os::Windows), PathBuf::from(r"C:\Kompira\SSL\Certs"));
        assert_eq!(
            join(Os::Windows, &default_certs_dir(Os::Windows), CA_FILE_NAME),
            PathBuf::from(r"C:\Kompira\SSL\Certs\kompira-bundle-ca.crt")
        );
    }

    #[test]
    fn current_os_matches_build_target() {
        assert_eq!(Os::current() == Os::Windows, cfg!(windows));
    }

    #[test]
    fn outbox_lives_in_the_per_user_data_directory() {
        let env = env_of(&[("XDG_DATA_HOME", "/home/u/.data"), ("HOME", "/home/u")]);
        assert_eq!(default_outbox_path(Os::Linux, &env), Some(PathBuf::from("/home/u/.data/kompira/outbox.sqlite3")));
        let env = env_of(&[("XDG_DATA_HOME", "rel"), ("HOME", "/home/u")]);
        assert_eq!(
            default_outbox_path(Os::Linux, &env),
            Some(PathBuf::from("/home/u/.local/share/kompira/outbox.sqlite3"))
        );
        let env = env_of(&[("LOCALAPPDATA", r"C:\Users\u\AppData\Local"), ("APPDATA", r"C:\x")]);
        assert_eq!(
            default_outbox_path(Os::Windows, &env),
            Some(PathBuf::from(r"C:\Users\u\AppData\Local\Kompira\outbox.sqlite3"))
        );
        assert_eq!(default_outbox_path(Os::Windows, &env_of(&[("HOME", "/x")])), None);
        assert_eq!(default_outbox_path(Os::Linux, &env_of(&[])), None);
    }
}
