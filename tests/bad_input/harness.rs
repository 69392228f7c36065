//! Running one bad-input case: a workspace binary in a sandbox (its own HOME, config dir and
//! current directory, a cleared environment), bounded by a timeout, and the checks every case
//! shares: no panic, no Rust `Debug` noise, the expected exit status and words.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one case may run before it counts as a hang.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(30);
/// Cases of one table run at once (the machine is small and shared).
const PARALLEL_CASES: usize = 6;

/// Text that means a panic or a raw `Debug` rendering reached the user.
const NOISE: &[&str] = &[
    "panicked",
    "RUST_BACKTRACE",
    "stack backtrace",
    "Os { code",
    "Custom {",
    "kind: ",
    "Error {",
    "Some(\"",
    "ParseIntError",
    "Utf8Error",
    "\\u{",
];

/// What a program printed and how it ended.
#[derive(Debug)]
pub struct Outcome {
    /// The exit status; `None` when killed (timeout) or ended by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Outcome {
    /// stdout and stderr, for the checks that look at both.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A scratch HOME, config directory and working directory, so no real kompira.conf is read.
pub use kompira_testkit::Sandbox;

/// One run of a workspace binary.
pub struct Run<'a> {
    pub program: &'a str,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub stdin: Vec<u8>,
    /// When it is killed: [`CASE_TIMEOUT`], or less for a program meant to keep running.
    pub limit: Duration,
}

impl<'a> Run<'a> {
    pub fn new(program: &'a str, args: &[&str]) -> Run<'a> {
        Run {
            program,
            args: args.iter().map(OsString::from).collect(),
            env: Vec::new(),
            stdin: Vec::new(),
            limit: CASE_TIMEOUT,
        }
    }

    pub fn env(mut self, name: &str, value: impl Into<OsString>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Kills it after `limit` (for a program meant to keep running; see [`Expect::Runs`]).
    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    pub fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = bytes.to_vec();
        self
    }

    /// Runs it in `sandbox` with only PATH kept from our environment, killing it after
    /// [`CASE_TIMEOUT`].
    pub fn run(&self, sandbox: &Sandbox) -> Outcome {
        let mut command = Command::new(kompira_e2e::workspace_binary(self.program));
        sandbox
            .isolate(&mut command)
            .args(&self.args)
            .env("LOGGING_DIR", sandbox.log_dir())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start the program");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = self.stdin.clone();
        // A program that exits without reading its input gets EPIPE here: not our concern.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let mut stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let out = std::thread::spawn(move || read_capped(&mut stdout));
        let err = std::thread::spawn(move || read_capped(&mut stderr));
        let deadline = Instant::now() + self.limit;
        let (code, timed_out) = loop {
            if let Some(status) = child.try_wait().expect("wait for the program") {
                break (status.code(), false);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break (None, true);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Outcome { code, stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default(), timed_out }
    }
}

/// Reads a stream to its end, keeping the first 4 MiB (a runaway printer must not eat memory).
fn read_capped(stream: &mut impl Read) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) if kept.len() < 4 << 20 => kept.extend_from_slice(&buf[..n]),
            Ok(_) => {}
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// What a case must end with.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// Exit status `code`, and stderr says every one of `words`.
    Fails(i32, &'static [&'static str]),
    /// Exit status 0, and stdout or stderr says every one of `words`.
    Succeeds(&'static [&'static str]),
    /// Still running when killed at its (short) limit, as a watcher should be, and stderr
    /// says every one of `words`.
    Runs(&'static [&'static str]),
}

/// Checks an outcome: bounded, no panic or Debug noise, the expected status and words.
pub fn check(outcome: &Outcome, expect: Expect) -> Result<(), String> {
    let all = outcome.all();
    if let Expect::Runs(words) = expect {
        if !outcome.timed_out {
            return Err(format!("ended (status {:?}) instead of going on:\n{all}", outcome.code));
        }
        if let Some(noise) = NOISE.iter().find(|n| all.contains(*n)) {
            return Err(format!("prints {noise:?}:\n{all}"));
        }
        return match words.iter().find(|w| !outcome.stderr.contains(*w)) {
            Some(missing) => Err(format!("does not say {missing:?}:\n{all}")),
            None => Ok(()),
        };
    }
    if outcome.timed_out {
        return Err(format!("hung: killed after {} s", CASE_TIMEOUT.as_secs()));
    }
    if let Some(noise) = NOISE.iter().find(|n| all.contains(*n)) {
        return Err(format!("prints {noise:?}:\n{all}"));
    }
    let (code, words, text) = match expect {
        Expect::Fails(code, words) => (code, words, &outcome.stderr),
        Expect::Succeeds(words) => (0, words, &all),
        Expect::Runs(_) => unreachable!("handled above"),
    };
    if outcome.code != Some(code) {
        return Err(format!("exit status {:?}, expected {code}:\n{all}", outcome.code));
    }
    if let Some(missing) = words.iter().find(|w| !text.contains(*w)) {
        return Err(format!("does not say {missing:?}:\n{all}"));
    }
    if matches!(expect, Expect::Fails(..)) && outcome.stderr.trim().is_empty() {
        return Err("fails without a word on stderr".into());
    }
    Ok(())
}

/// Runs every case of a table, a few at a time, and fails with the list of cases that did
/// not hold. Each case is a name and a closure that returns its verdict.
pub fn run_table(table: &str, cases: Vec<crate::Case>) {
    let total = cases.len();
    let mut failures = Vec::new();
    for chunk in cases.chunks(PARALLEL_CASES) {
        let verdicts: Vec<(String, Result<(), String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk.iter().map(|(name, case)| (name.clone(), scope.spawn(case))).collect();
            handles
                .into_iter()
                .map(|(name, h)| (name, h.join().unwrap_or_else(|_| Err("the case itself panicked".into()))))
                .collect()
        });
        for (name, verdict) in verdicts {
            if let Err(why) = verdict {
                failures.push(format!("--- {table}/{name}: {why}"));
            }
        }
    }
    println!("bad input: {table}: {total} cases, {} failed", failures.len());
    assert!(failures.is_empty(), "{} of {total} {table} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// Path text for an argument.
pub fn arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
