//! Who may reach the agent's socket: the decisions and their sentences, apart from the OS calls
//! (`unix.rs`, `windows.rs`) so that every OS's rules are tested on any OS.

use std::fmt;
use std::path::Path;

/// The agent's pipe for the Windows user with this SID. A SID names one user; the user's name
/// did not (letters outside ASCII collapsed to `_`, so 田中 and 佐藤 shared a pipe).
pub fn pipe_name(sid: &str) -> String {
    format!(r"\\.\pipe\kompira-tray-{sid}")
}

/// The pipe's security descriptor as SDDL: a protected DACL (nothing inherited) granting all
/// access to `sid` and to nobody else, administrators and SYSTEM included.
pub fn owner_only_sddl(sid: &str) -> String {
    format!("D:P(A;;GA;;;{sid})")
}

/// A connection this side will not use because of who is at the other end: the sentence says
/// who and why. Carried inside an `io::Error` so that callers can tell it from "not running".
#[derive(Debug)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::PermissionDenied, self)
    }

    /// The refusal inside `error`, if it is one.
    pub fn of(error: &std::io::Error) -> Option<&Refusal> {
        error.get_ref().and_then(|inner| inner.downcast_ref::<Refusal>())
    }
}

/// The agent's refusal of a connection from another user (`theirs`, with its process id when
/// the OS told it). Users are named as the OS names them: uid or SID.
pub fn foreign_window(ours: &str, theirs: &str, pid: Option<u32>) -> Refusal {
    let process = pid.map_or_else(String::new, |pid| format!(", process {pid}"));
    Refusal(format!(
        "refused a connection from another user ({theirs}{process}): the agent serves only its own user ({ours})"
    ))
}

/// The window's refusal of an agent that runs as another user.
pub fn foreign_agent(address: &str, ours: &str, theirs: &str) -> Refusal {
    Refusal(format!(
        "{address} is answered by a process of another user ({theirs}), not by your Kompira Tray agent \
         ({ours}): not talking to it"
    ))
}

/// What `lstat` tells of a directory: enough to judge whether it is private to its user.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DirFacts {
    pub is_symlink: bool,
    pub is_dir: bool,
    pub owner: u32,
    /// The permission bits (`st_mode & 0o7777`).
    pub mode: u32,
}

/// Whether the socket's fallback directory (used without `XDG_RUNTIME_DIR`) may hold the socket
/// of user `uid`: a real directory (not a symbolic link), owned by `uid`, mode exactly 0700.
/// Otherwise a sentence naming it, what is wrong and what to do: anyone may create a name in
/// the temporary directory, and a directory someone else controls lets them answer in the
/// agent's place or read what the window sends.
pub fn check_private_dir(dir: &Path, facts: &DirFacts, uid: u32) -> Result<(), String> {
    let dir = dir.display();
    let remedy = "remove it (or set XDG_RUNTIME_DIR to a directory of yours) and start Kompira Tray again";
    if facts.is_symlink {
        return Err(format!(
            "{dir} is a symbolic link, not a directory of yours: Kompira Tray will not put its socket where \
             a link points; {remedy}"
        ));
    }
    if !facts.is_dir {
        return Err(format!("{dir} is not a directory: Kompira Tray cannot put its socket there; {remedy}"));
    }
    if facts.owner != uid {
        return Err(format!(
            "{dir} belongs to uid {}, not to you (uid {uid}): whoever owns it could answer in place of \
             Kompira Tray's agent; {remedy}",
            facts.owner
        ));
    }
    if facts.mode != 0o700 {
        return Err(format!(
            "{dir} has mode {:04o}, so others can reach Kompira Tray's socket in it; it must be 0700: run \
             `chmod 700 {dir}` and start Kompira Tray again",
            facts.mode
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";

    #[test]
    fn the_pipe_is_named_after_the_users_sid_and_granted_to_it_alone() {
        assert_eq!(pipe_name(SID), r"\\.\pipe\kompira-tray-S-1-5-21-1004336348-1177238915-682003330-1001");
        assert_ne!(pipe_name("S-1-5-21-1-2-3-1001"), pipe_name("S-1-5-21-1-2-3-1002"));
        assert_eq!(owner_only_sddl(SID), "D:P(A;;GA;;;S-1-5-21-1004336348-1177238915-682003330-1001)");
    }

    #[test]
    fn refusals_name_both_users_and_survive_an_io_error() {
        let refusal = foreign_window("1000", "1001", Some(42)).0;
        assert!(refusal.contains("another user (1001, process 42)") && refusal.contains("(1000)"), "{refusal}");
        let error = foreign_agent("/run/s", "1000", "0").into_io();
        assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(
            Refusal::of(&error).is_some_and(|r| r.0.starts_with("/run/s is answered by a process of another user (0)"))
        );
        assert!(Refusal::of(&std::io::Error::other("plain")).is_none());
    }

    fn facts(is_symlink: bool, is_dir: bool, owner: u32, mode: u32) -> DirFacts {
        DirFacts { is_symlink, is_dir, owner, mode }
    }

    #[test]
    fn only_a_real_directory_of_ours_with_mode_0700_is_private() {
        let dir = Path::new("/tmp/kompira-tray-1000");
        assert_eq!(check_private_dir(dir, &facts(false, true, 1000, 0o700), 1000), Ok(()));
        let link = check_private_dir(dir, &facts(true, false, 1000, 0o777), 1000).unwrap_err();
        assert!(link.starts_with("/tmp/kompira-tray-1000 is a symbolic link") && link.contains("remove it"), "{link}");
        let file = check_private_dir(dir, &facts(false, false, 1000, 0o700), 1000).unwrap_err();
        assert!(file.contains("is not a directory"), "{file}");
        let theirs = check_private_dir(dir, &facts(false, true, 1001, 0o700), 1000).unwrap_err();
        assert!(theirs.contains("belongs to uid 1001, not to you (uid 1000)"), "{theirs}");
        let open = check_private_dir(dir, &facts(false, true, 1000, 0o755), 1000).unwrap_err();
        assert!(open.contains("has mode 0755") && open.contains("chmod 700 /tmp/kompira-tray-1000"), "{open}");
        let sticky = check_private_dir(dir, &facts(false, true, 1000, 0o1700), 1000).unwrap_err();
        assert!(sticky.contains("has mode 1700"), "{sticky}");
    }
}
