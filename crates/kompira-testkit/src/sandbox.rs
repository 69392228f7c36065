//! A scratch place for running a program the way a user's machine would not interfere with:
//! its own HOME, config directory, working directory and log directory.

use std::path::PathBuf;
use std::process::Command;

/// A temporary directory with `home/`, `config/`, `cwd/` and `log/`, removed on drop.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for sub in ["home", "config", "cwd", "log"] {
            std::fs::create_dir(dir.path().join(sub)).expect("a sandbox directory");
        }
        Sandbox { dir, env: Vec::new() }
    }

    /// A sandbox whose `kompira.conf` holds `text`.
    pub fn with_conf(text: &str) -> Sandbox {
        let sandbox = Sandbox::new();
        sandbox.file("kompira.conf", text.as_bytes());
        sandbox
    }

    /// Sets a variable for every program [`Sandbox::isolate`] prepares.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The sandbox's `kompira.conf` (written by [`Sandbox::with_conf`] or [`Sandbox::file`]).
    pub fn conf(&self) -> PathBuf {
        self.path("kompira.conf")
    }

    /// Writes `bytes` to `name` in the sandbox and returns its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write a sandbox file");
        path
    }

    /// The log directory given to the tools.
    pub fn log_dir(&self) -> PathBuf {
        self.path("log")
    }

    /// The text of every log file.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        for entry in std::fs::read_dir(self.log_dir()).into_iter().flatten().flatten() {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap_or_default()));
        }
        text
    }

    /// Makes `command` run inside the sandbox: a cleared environment but for PATH and the
    /// sandbox's own variables (so no AMQP_URL, KOMPIRA_TOKEN, locale or user kompira.conf of
    /// the developer's leaks in; a runner that wants the locale passes it on itself), HOME and
    /// XDG_CONFIG_HOME in the sandbox, the working directory `cwd/`.
    pub fn isolate<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
        command.env("HOME", self.path("home")).env("XDG_CONFIG_HOME", self.path("config"));
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command.current_dir(self.path("cwd"))
    }
}
