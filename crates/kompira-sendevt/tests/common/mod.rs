#![allow(dead_code)] // each test binary uses its own subset of these helpers
//! Running the real `kompira_sendevt` binary against the real broker.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A hung child fails the test instead of hanging the suite.
const WATCHDOG: Duration = Duration::from_secs(60);

/// What one run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

pub use kompira_testkit::Sandbox;

/// Runs the real `kompira_sendevt` in a [`Sandbox`].
pub trait RunSendevt {
    /// Runs with `-c <sandbox>/kompira.conf --logdir <sandbox>/log` before `args`.
    fn run(&self, args: &[&str], stdin: &[u8]) -> Run;
    /// Runs with exactly `args`, in the sandbox, with no inherited Kompira or AMQP variables.
    fn run_raw(&self, args: &[&str], stdin: &[u8]) -> Run;
    /// The text of `kompira_sendevt.log`.
    fn log(&self) -> String;
}

impl RunSendevt for Sandbox {
    fn run(&self, args: &[&str], stdin: &[u8]) -> Run {
        let conf = self.conf();
        let log = self.log_dir();
        let mut full = vec!["-c", conf.to_str().unwrap(), "--logdir", log.to_str().unwrap()];
        full.extend_from_slice(args);
        self.run_raw(&full, stdin)
    }

    fn run_raw(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kompira_sendevt"));
        self.isolate(&mut command);
        pass_locale(&mut command);
        spawn(command, args, stdin)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_dir().join("kompira_sendevt.log")).unwrap_or_default()
    }
}

/// The locale and time zone of the machine: `--decode-stdin` and the log's local times follow them.
fn pass_locale(command: &mut Command) {
    for inherited in ["LANG", "LC_ALL", "TZ"] {
        if let Ok(value) = std::env::var(inherited) {
            command.env(inherited, value);
        }
    }
}

/// Runs `kompira_sendevt` in `cwd` with only PATH, the locale and `env`.
pub fn run_binary(cwd: &Path, args: &[&str], stdin: &[u8], env: &[(String, String)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kompira_sendevt"));
    command.current_dir(cwd).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    pass_locale(&mut command);
    // A per-user kompira.conf must not leak in from the machine running the tests.
    command.env("HOME", cwd).env("XDG_CONFIG_HOME", cwd.join("xdg"));
    for (name, value) in env {
        command.env(name, value);
    }
    spawn(command, args, stdin)
}

fn spawn(mut command: Command, args: &[&str], stdin: &[u8]) -> Run {
    command.args(args);
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kompira_sendevt starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let output = std::thread::scope(|scope| {
        let waiter = scope.spawn(|| child.wait_with_output());
        while !waiter.is_finished() {
            assert!(started.elapsed() < WATCHDOG, "kompira_sendevt {args:?} hung for {WATCHDOG:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        waiter.join().unwrap().unwrap()
    });
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// Config for the local broker over plain AMQP; tests add what they need.
pub const LOCAL_CONF: &str = "[amqp-connection]\nserver = 127.0.0.1\nmax_retry = 0\n";

/// A lower-case canonical uuid4.
pub fn assert_uuid4(text: &str) {
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), 36, "{text}");
    assert_eq!(bytes[14], b'4', "version nibble of {text}");
    assert!(matches!(bytes[19], b'8' | b'9' | b'a' | b'b'), "variant of {text}");
    for (i, b) in bytes.iter().enumerate() {
        if [8, 13, 18, 23].contains(&i) {
            assert_eq!(*b, b'-', "{text}");
        } else {
            assert!(b.is_ascii_digit() || (b'a'..=b'f').contains(b), "{text}");
        }
    }
}
