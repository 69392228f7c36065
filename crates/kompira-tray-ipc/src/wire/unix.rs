//! The socket on Unix: a Unix-domain socket that only our uid reaches, checked on both ends with
//! `SO_PEERCRED`, in a directory that is ours.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::access::{self, DirFacts, Refusal};

pub type Stream = tokio::net::UnixStream;

/// Our effective uid: the owner of what we create and what `SO_PEERCRED` reports for us.
pub fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Connects to the agent at `address`, if it runs as us.
pub async fn connect(address: &str) -> io::Result<Stream> {
    let path = Path::new(address);
    if let Some(dir) = path.parent().filter(|dir| is_fallback_dir(dir)) {
        // A missing one is the agent's to make; connecting then finds nobody.
        if std::fs::symlink_metadata(dir).is_ok() {
            check_private_dir(dir).map_err(|sentence| Refusal(sentence).into_io())?;
        }
    }
    let stream = tokio::net::UnixStream::connect(path).await?;
    let ours = current_uid();
    let theirs = stream.peer_cred()?.uid();
    if theirs != ours {
        return Err(access::foreign_agent(address, &ours.to_string(), &theirs.to_string()).into_io());
    }
    Ok(stream)
}

/// The agent's socket; removed when dropped.
pub struct Listener {
    socket: tokio::net::UnixListener,
    path: PathBuf,
    uid: u32,
}

impl Listener {
    /// The next connection from our own uid; connections from others are closed and logged.
    pub async fn accept(&self) -> io::Result<Stream> {
        loop {
            let (stream, _) = self.socket.accept().await?;
            match stream.peer_cred() {
                Ok(peer) if peer.uid() == self.uid => return Ok(stream),
                Ok(peer) => {
                    let pid = peer.pid().and_then(|pid| u32::try_from(pid).ok());
                    let refusal = access::foreign_window(&self.uid.to_string(), &peer.uid().to_string(), pid);
                    tracing::warn!("{refusal}");
                }
                Err(e) => tracing::warn!("refused a connection whose user the system would not tell ({e})"),
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

pub async fn listen(address: &str) -> Result<Option<Listener>, String> {
    let path = Path::new(address);
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        if is_fallback_dir(dir) {
            make_private_dir(dir)?;
        } else if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
    }
    match connect(address).await {
        Ok(_) => return Ok(None),
        Err(e) if Refusal::of(&e).is_some() => return Err(e.to_string()),
        // Nobody answers: a socket left by an agent that crashed, or none.
        Err(_) => {}
    }
    let _ = std::fs::remove_file(path);
    let socket = tokio::net::UnixListener::bind(path).map_err(|e| format!("cannot listen on {address}: {e}"))?;
    Ok(Some(Listener { socket, path: path.to_path_buf(), uid: current_uid() }))
}

/// Whether `dir` is the directory the socket falls back to without `XDG_RUNTIME_DIR` (the one
/// in the shared temporary directory, which anyone may have created first).
fn is_fallback_dir(dir: &Path) -> bool {
    dir == super::fallback_dir(&|name| std::env::var(name).ok(), &current_uid().to_string())
}

/// Creates `dir` with mode 0700 when it is missing, then checks what is there (created by us or
/// by someone before us): the check after the creation is what makes the race harmless.
pub(super) fn make_private_dir(dir: &Path) -> Result<(), String> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        // Ours, just made: only a umask that takes the owner's bits could have changed its mode.
        Ok(()) => {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    check_private_dir(dir)
}

/// [`access::check_private_dir`] on what `lstat` says of `dir` (a link is not followed).
fn check_private_dir(dir: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let facts = DirFacts {
        is_symlink: meta.file_type().is_symlink(),
        is_dir: meta.is_dir(),
        owner: meta.uid(),
        mode: meta.mode() & 0o7777,
    };
    access::check_private_dir(dir, &facts, current_uid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_private_directory_is_made_with_mode_0700_and_an_open_one_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("kompira-tray-1");
        make_private_dir(&dir).unwrap();
        assert_eq!(std::fs::symlink_metadata(&dir).unwrap().mode() & 0o7777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let refusal = make_private_dir(&dir).unwrap_err();
        assert!(refusal.contains("has mode 0755"), "{refusal}");
    }

    #[test]
    fn a_link_to_a_directory_of_ours_is_refused_all_the_same() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        std::fs::DirBuilder::new().mode(0o700).create(&target).unwrap();
        let link = tmp.path().join("kompira-tray-1");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let refusal = make_private_dir(&link).unwrap_err();
        assert!(refusal.contains("is a symbolic link"), "{refusal}");
    }
}
