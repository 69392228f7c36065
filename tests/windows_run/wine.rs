//! Our Windows programs installed into the test Wine prefix and run there: where they are, how a
//! path reads on each side, and a run that cannot hang the suite.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The programs the suite cross-builds (`scripts/test.sh windows-run`), and the test client.
const PROGRAMS: [&str; 3] = ["kompira_sendevt.exe", "kompira.exe", "kompira-tray-agent.exe"];
const IPC_CLIENT: &str = "examples/ipc_call.exe";

/// The install folder in the prefix: the programs go to its `bin`, so the install-prefix
/// kompira.conf is `C:\KompiraTray\kompira.conf`.
pub const INSTALL_DIR: &str = r"C:\KompiraTray";
/// The file every Kompira program on Windows reads first.
pub const SYSTEM_CONF: &str = r"C:\Kompira\kompira.conf";
/// The working directory of every program the tests run.
pub const WORK_DIR: &str = r"C:\KompiraTray\work";

/// A hung program fails its test instead of hanging the suite (Wine's first start of a
/// program can take several seconds on a cold prefix).
const WATCHDOG: Duration = Duration::from_secs(120);

/// What one run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// The prefix with our programs installed.
pub struct Wine {
    drive_c: PathBuf,
    /// `%APPDATA%` and `%LOCALAPPDATA%` as Windows paths, as Wine sets them.
    pub appdata: String,
    pub local_appdata: String,
}

/// The prefix, or `None` (after saying SKIPPED) when the suite did not build the programs.
pub fn wine() -> Option<&'static Wine> {
    static WINE: OnceLock<Option<Wine>> = OnceLock::new();
    let wine = WINE.get_or_init(|| {
        let bin_dir = std::env::var_os("KOMPIRA_WINDOWS_BIN_DIR").filter(|d| !d.is_empty())?;
        Some(Wine::install(Path::new(&bin_dir)))
    });
    if wine.is_none() {
        println!(
            "SKIPPED: KOMPIRA_WINDOWS_BIN_DIR is not set (`bash scripts/test.sh windows-run` builds the Windows \
             programs and runs them under Wine)"
        );
    }
    wine.as_ref()
}

impl Wine {
    fn install(bin_dir: &Path) -> Wine {
        let prefix = std::env::var_os("WINEPREFIX").expect("WINEPREFIX is set with KOMPIRA_WINDOWS_BIN_DIR");
        let drive_c = Path::new(&prefix).join("drive_c");
        let mut wine = Wine { drive_c, appdata: String::new(), local_appdata: String::new() };
        let bin = wine.linux(&format!(r"{INSTALL_DIR}\bin"));
        std::fs::create_dir_all(&bin).expect("the install folder in the prefix");
        std::fs::create_dir_all(wine.linux(WORK_DIR)).expect("the work folder in the prefix");
        for program in PROGRAMS.iter().chain([&IPC_CLIENT]) {
            let from = bin_dir.join(program);
            let name = Path::new(program).file_name().expect("a file name");
            std::fs::copy(&from, bin.join(name))
                .unwrap_or_else(|e| panic!("cannot install {} into the prefix: {e}", from.display()));
        }
        let folders = wine.run_plain("cmd.exe", &["/c", "echo %APPDATA%&echo %LOCALAPPDATA%"]);
        let mut lines = folders.stdout.lines().map(str::trim);
        wine.appdata = lines.next().unwrap_or_default().to_owned();
        wine.local_appdata = lines.next().unwrap_or_default().to_owned();
        assert!(
            wine.appdata.starts_with(r"C:\") && wine.local_appdata.starts_with(r"C:\"),
            "Wine did not name %APPDATA% and %LOCALAPPDATA% on C: ({folders:?})"
        );
        wine
    }

    /// The Linux path of a `C:\…` path.
    pub fn linux(&self, windows: &str) -> PathBuf {
        let rest = windows.strip_prefix(r"C:\").unwrap_or_else(|| panic!("{windows} is not on C:"));
        rest.split('\\').filter(|part| !part.is_empty()).fold(self.drive_c.clone(), |path, part| path.join(part))
    }

    /// The program `name` as installed.
    pub fn program(&self, name: &str) -> String {
        format!(r"{INSTALL_DIR}\bin\{name}")
    }

    /// Writes `text` at the Windows path `windows`, creating its folder.
    pub fn write(&self, windows: &str, text: &str) {
        let path = self.linux(windows);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("a folder in the prefix");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Runs an installed program to its end with `stdin`, `env` added.
    pub fn run(&self, name: &str, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
        let mut command = self.command(&self.program(name), env);
        command.args(args);
        finish(command, stdin, &format!("{name} {args:?}"))
    }

    /// Runs one of Wine's own programs (cmd.exe, reg.exe).
    pub fn run_plain(&self, name: &str, args: &[&str]) -> Run {
        let mut command = self.command(name, &[]);
        command.args(args);
        finish(command, b"", &format!("{name} {args:?}"))
    }

    /// Starts an installed program in the background, its output to a file (a pipe nobody
    /// reads would stop it once full); killed when the value is dropped.
    pub fn spawn(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
        let log = tempfile::NamedTempFile::new().expect("a file for the program's output");
        let output = log.reopen().expect("the output file");
        let mut command = self.command(&self.program(name), env);
        command.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(output);
        let child = command.spawn().unwrap_or_else(|e| panic!("wine cannot start {name}: {e}"));
        Running { child, log }
    }

    /// `wine <program>` in the work folder, without the developer's Kompira variables; the
    /// UTF-8 locale, so arguments outside ASCII reach the program as they were written.
    fn command(&self, program: &str, env: &[(&str, &str)]) -> Command {
        let mut command = Command::new("wine");
        command.arg(program).current_dir(self.linux(WORK_DIR));
        for inherited in ["AMQP_URL", "KOMPIRA_URL", "KOMPIRA_TOKEN", "KOMPIRA_CONF", "KOMPIRA_TRAY_SOCKET", "RUST_LOG"]
        {
            command.env_remove(inherited);
        }
        command.env("LANG", "C.UTF-8").env("LC_ALL", "C.UTF-8");
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }
}

/// Runs `command` to its end. Output goes to files, not pipes: the Wine services a program
/// starts (explorer, rpcss…) inherit its output and would hold a pipe open long after it ended.
fn finish(mut command: Command, stdin: &[u8], what: &str) -> Run {
    let files = tempfile::tempdir().expect("a folder for the program's input and output");
    let file = |name: &str| files.path().join(name);
    std::fs::write(file("stdin"), stdin).expect("the program's standard input");
    let open = |name: &str| std::fs::File::open(file(name)).expect("the input file");
    let create = |name: &str| std::fs::File::create(file(name)).expect("an output file");
    let started = Instant::now();
    let mut child = command
        .stdin(open("stdin"))
        .stdout(create("stdout"))
        .stderr(create("stderr"))
        .spawn()
        .unwrap_or_else(|e| panic!("wine cannot run {what}: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("the program's status") {
            break status;
        }
        if started.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {WATCHDOG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text =
        |name: &str| String::from_utf8_lossy(&std::fs::read(file(name)).unwrap_or_default()).replace("\r\n", "\n");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: text("stdout"),
        stderr: text("stderr"),
        elapsed: started.elapsed(),
    }
}

/// A program running under Wine; killed when dropped, so a failing test leaves nothing behind.
pub struct Running {
    pub child: Child,
    log: tempfile::NamedTempFile,
}

impl Running {
    /// Waits up to `timeout` (zero: only looks) for the program to end by itself: its exit code.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("the program's status") {
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the program wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.log.path()).unwrap_or_default()).into_owned()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every kompira.conf the programs search, removed when made and when dropped: a test writes
/// the ones it needs, and no test reads another's.
pub struct ConfigFiles<'w> {
    wine: &'w Wine,
}

impl<'w> ConfigFiles<'w> {
    pub fn new(wine: &'w Wine) -> ConfigFiles<'w> {
        let files = ConfigFiles { wine };
        files.remove();
        files
    }

    /// In the order the programs read them (later ones win): the system file, the install
    /// prefix's, the working folder's, the user's.
    pub fn search_path(&self) -> [String; 4] {
        [
            SYSTEM_CONF.to_owned(),
            format!(r"{INSTALL_DIR}\kompira.conf"),
            format!(r"{WORK_DIR}\kompira.conf"),
            format!(r"{}\Kompira\kompira.conf", self.wine.appdata),
        ]
    }

    fn remove(&self) {
        for path in self.search_path() {
            let _ = std::fs::remove_file(self.wine.linux(&path));
        }
    }
}

impl Drop for ConfigFiles<'_> {
    fn drop(&mut self) {
        self.remove();
    }
}
