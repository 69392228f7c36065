//! One isolated copy of everything the app meets on a desktop, started per test:
//!
//! ```text
//! Xvfb :N ── private dbus-daemon ── notification recorder (in this process)
//!    └── tauri-driver ── WebKitWebDriver ── kompira-tray (KOMPIRA_CONF = this run's file)
//!                                              ├── RabbitMQ io_queue ── kompira-sim (REST)
//!                                              └── .recv long polls ───────┘
//! ```
//!
//! A private bus and runtime directory per test keep a new app from handing over to a stale
//! agent (its socket lives in the runtime directory), and keep popups off a developer's real
//! desktop. Stacks run one at a time (they
//! share `io_queue`). Helpers panic with a sentence, the app's last log lines and where the logs
//! are, so a failing test reads as a bug report; every wait has a limit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kompira_core::rest::{Client, RestSettings};
use kompira_core::secret::Secret;
use kompira_e2e::notify_recorder::{Notice, NotifyRecorder};
use kompira_e2e::workspace_binary;
use kompira_testkit as testkit;
use serde_json::Value;

use crate::procs::{self, Proc};
use crate::webdriver::{DriverError, Element, Session};

pub const ALERT_CHANNEL: &str = "/system/channels/Alert";
/// A channel of the stand-in that the app does not watch: what is sent there stays for us.
pub const DESKTOP_CHANNEL: &str = "/root/channels/Desktop";
pub const REMEDY_JOBFLOW: &str = "/root/restart_process";
/// A stand-in job flow that waits for a person: its task offers "web 1" and "web 2", and the
/// answer is its result (the real server's `ask_person` example).
pub const TASK_JOBFLOW: &str = "/root/ask_person";
pub const TASK_TITLE: &str = "Question from ask_person";
const TASK_DEFINITIONS: &str = "[[jobflow]]\npath = \"/root/ask_person\"\nduration_ms = 20\n[jobflow.task]\n\
    title = \"Question from ask_person\"\nmessage = \"Which host should be used?\"\n\
    action = [\"web 1\", \"web 2\"]\nassigned_users = [\"root\"]\n";
const SIM_TOKEN: &str = "e2e-app-token";

const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Waiting for the page to show or change after an action.
pub const UI_TIMEOUT: Duration = Duration::from_secs(15);
/// An event's trip: broker → stand-in → the app's long poll → popup and list.
pub const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(30);
const SENDEVT_TIMEOUT: Duration = Duration::from_secs(30);
/// WebDriver's error code for an element the page has replaced since it was found.
const STALE_ELEMENT: &str = "stale element reference";
/// WebDriver's code for the Enter key.
const ENTER_KEY: &str = "\u{E007}";
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Set to 1 to copy the screenshots into docs/screenshots/ as well.
pub const UPDATE_DOCS_ENV: &str = "KOMPIRA_E2E_UPDATE_SCREENSHOTS";

/// The Kompira the app's `[rest]` points at. The stand-in always runs (it consumes `io_queue`);
/// with [`RestPeer::Real`] the app's REST calls go to a real Kompira instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestPeer {
    StandIn,
    Real { url: String, token: String },
}

impl RestPeer {
    /// The real Kompira named by `KOMPIRA_REAL_URL` and `KOMPIRA_REAL_TOKEN`, if both are set.
    pub fn real_from_env() -> Option<RestPeer> {
        let url = std::env::var("KOMPIRA_REAL_URL").ok().filter(|u| !u.is_empty())?;
        let token = std::env::var("KOMPIRA_REAL_TOKEN").ok().filter(|t| !t.is_empty())?;
        Some(RestPeer::Real { url, token })
    }

    pub fn name(&self) -> &'static str {
        match self {
            RestPeer::StandIn => "kompira-sim",
            RestPeer::Real { .. } => "real Kompira",
        }
    }
}

/// The language the desktop session runs in (the UI follows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    fn locale(self) -> &'static str {
        match self {
            Lang::En => "en_US.UTF-8",
            Lang::Ja => "ja_JP.UTF-8",
        }
    }
}

/// The running stack and the app's window. Fields drop in order: the app first, the display last.
/// How the app draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Graphics {
    /// As users get it: GTK's OpenGL off (src-tauri/src/graphics.rs), WebKit draws in software.
    AsShipped,
    /// GTK's default (`GDK_GL` set empty). WebKitWebDriver's screenshot never answers when WebKit
    /// draws in software under Xvfb, so the screenshot test draws this way.
    GtkDefault,
}

pub struct Stack {
    pub name: String,
    /// This run's files: kompira.conf, HOME, logs (kept after the run for reading).
    pub run_dir: PathBuf,
    pub conf_path: PathBuf,
    /// The app's `[rest]` server (the stand-in, or the real Kompira), as the app sees it.
    pub rest: Client,
    rest_url: String,
    rest_token: String,
    pub recorder: NotifyRecorder,
    pub window: Session,
    tauri_driver: Proc,
    _agent: AgentStopper,
    _sim: Proc,
    _dbus: Proc,
    _xvfb: Proc,
    _io_queue: testkit::IoQueueGuard,
}

impl Stack {
    /// Starts everything and waits until the app's page is up (its status line filled in).
    pub async fn start(name: &str, lang: Lang) -> Stack {
        Self::start_with(name, lang, Graphics::AsShipped).await
    }

    /// [`Stack::start`] with the app's graphics chosen.
    pub async fn start_with(name: &str, lang: Lang, graphics: Graphics) -> Stack {
        Self::start_full(name, lang, graphics, RestPeer::StandIn).await
    }

    /// [`Stack::start`] with the app's `[rest]` pointed at `peer`.
    pub async fn start_against(name: &str, lang: Lang, peer: RestPeer) -> Stack {
        Self::start_full(name, lang, Graphics::AsShipped, peer).await
    }

    async fn start_full(name: &str, lang: Lang, graphics: Graphics, peer: RestPeer) -> Stack {
        let io_queue = testkit::lock_io_queue().await;
        let stack =
            launch(name, lang, graphics, peer, io_queue).await.unwrap_or_else(|e| panic!("{name}: cannot start: {e}"));
        stack.text_when("#status", "the app's status", |t| !t.is_empty() && t != "…").await;
        stack
    }

    /// Closes the app through WebDriver, then stops everything else.
    pub async fn stop(self) {
        let _ = self.window.end().await;
    }

    /// Panics with `message`, the app's last log lines and where every log is.
    pub fn fail(&self, message: impl std::fmt::Display) -> ! {
        panic!(
            "{}: {message}{}\n(all logs of this run: {})",
            self.name,
            self.tauri_driver.log_tail(),
            self.run_dir.join("logs").display()
        )
    }

    /// POSTs JSON to the app's Kompira (to set up objects the product never creates); the status.
    pub async fn rest_post(&self, path: &str, body: &Value) -> Result<u16, String> {
        let answer = reqwest::Client::new()
            .post(format!("{}{path}", self.rest_url))
            .header("Accept", "application/json")
            .header("Authorization", format!("Token {}", self.rest_token))
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(answer.status().as_u16())
    }

    // --- the window -------------------------------------------------------------------------

    /// The first element matching `css` once it is displayed.
    pub async fn element(&self, css: &str) -> Element {
        self.wait(&format!("{css} to be displayed"), UI_TIMEOUT, async || self.displayed(css).await).await
    }

    async fn displayed(&self, css: &str) -> Result<Option<Element>, DriverError> {
        Ok(match self.window.find(css).await? {
            Some(element) if self.window.is_displayed(&element).await? => Some(element),
            _ => None,
        })
    }

    /// Types `text` into a field (replacing what was there) and checks the field took it.
    /// A line break is typed as the Enter key.
    pub async fn fill(&self, css: &str, text: &str) {
        let value = self
            .wait(&format!("{css} to take text"), UI_TIMEOUT, async || {
                let Some(field) = self.displayed(css).await? else { return Ok(None) };
                self.window.clear(&field).await?;
                self.window.send_keys(&field, &text.replace('\n', ENTER_KEY)).await?;
                self.window.property(&field, "value").await.map(Some)
            })
            .await;
        if value != text {
            self.fail(format!("typed {text:?} into {css}, but it holds {value}"));
        }
    }

    /// Fills a KEY/VALUE rows editor (`#fields`, `#jobflow-params`), adding rows as needed.
    pub async fn fill_rows(&self, editor: &str, rows: &[(&str, &str)]) {
        for (index, (key, value)) in rows.iter().enumerate() {
            let row = format!("{editor} .row-list > li:nth-child({})", index + 1);
            if self.window.find(&row).await.unwrap_or_else(|e| self.fail(e)).is_none() {
                self.click(&format!("{editor} > button")).await;
            }
            self.fill(&format!("{row} .row-key"), key).await;
            self.fill(&format!("{row} .row-value"), value).await;
        }
    }

    /// Picks the option with `value` in a `<select>` and checks the select took it.
    pub async fn choose(&self, select: &str, value: &str) {
        self.click(&format!("{select} option[value=\"{value}\"]")).await;
        let chosen =
            self.script("return document.querySelector(arguments[0]).value;", serde_json::json!([select])).await;
        if chosen != value {
            self.fail(format!("chose {value:?} in {select}, but it holds {chosen}"));
        }
    }

    pub async fn click(&self, css: &str) {
        self.wait(&format!("{css} to be clicked"), UI_TIMEOUT, async || {
            let Some(element) = self.displayed(css).await? else { return Ok(None) };
            self.window.click(&element).await.map(Some)
        })
        .await
    }

    /// Opens a view by its tab (`send`, `alerts`, …) and waits until it shows.
    pub async fn show_view(&self, view: &str) {
        self.click(&format!("#tab-{view}")).await;
        self.element(&format!("#view-{view}")).await;
    }

    /// The displayed text of `css` once `accept` takes it; the failure shows the last text seen.
    pub async fn text_when(&self, css: &str, what: &str, accept: impl Fn(&str) -> bool) -> String {
        let last_seen = std::cell::RefCell::new(None);
        let found = self
            .try_wait(UI_TIMEOUT, async || {
                let Some(element) = self.window.find(css).await? else { return Ok(None) };
                let text = self.window.text(&element).await?;
                if accept(&text) {
                    return Ok(Some(text));
                }
                *last_seen.borrow_mut() = Some(text);
                Ok(None)
            })
            .await;
        found.unwrap_or_else(|e| self.fail(format!("{e} for {css} to show {what}; it shows {:?}", last_seen.take())))
    }

    /// Runs a script in the page (a function body; `arguments` holds `args`).
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.window.execute(script, args).await.unwrap_or_else(|e| self.fail(e))
    }

    /// Saves a PNG of the window to target/e2e-screenshots/NAME.png (and to docs/screenshots/
    /// when `KOMPIRA_E2E_UPDATE_SCREENSHOTS=1`); returns the image.
    pub async fn screenshot(&self, name: &str) -> Vec<u8> {
        // The screenshot is the last painted frame, and on a busy machine painting lags behind
        // the page: wait until two more frames were drawn.
        let painted = self.window.execute_async(
            "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            Value::Array(Vec::new()),
        );
        if let Err(e) = painted.await {
            self.fail(format!("the window does not paint: {e}"));
        }
        let png = self.window.screenshot().await.unwrap_or_else(|e| self.fail(e));
        let mut targets = vec![target_dir().join("e2e-screenshots")];
        if std::env::var(UPDATE_DOCS_ENV).as_deref() == Ok("1") {
            targets.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots"));
        }
        for dir in targets {
            let path = dir.join(format!("{name}.png"));
            if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &png)) {
                self.fail(format!("cannot save {}: {e}", path.display()));
            }
        }
        png
    }

    // --- the world around the app -------------------------------------------------------------

    /// Sends an event with `kompira_sendevt -c <this run's kompira.conf> ARGS…`.
    pub fn sendevt(&self, args: &[&str]) {
        let mut command = Command::new(workspace_binary("kompira_sendevt"));
        command.arg("-c").arg(&self.conf_path).args(args).env_clear().env("HOME", self.run_dir.join("home"));
        self.run_to_success(&format!("kompira_sendevt {args:?}"), command);
    }

    /// Runs `command` (within the time a helper may take); fails the test with its stderr unless
    /// it exits 0.
    fn run_to_success(&self, what: &str, command: Command) {
        match procs::run(what, command, SENDEVT_TIMEOUT) {
            Ok(output) if output.status.success() => {}
            Ok(output) => {
                self.fail(format!("{what} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr)))
            }
            Err(e) => self.fail(e),
        }
    }

    /// Launches `kompira-tray` again, as a user would while the window is open: it must find the
    /// run's agent, hand over to the open window and exit 0. It gets no display, so a launch that
    /// failed to hand over and tried to open a second window fails here.
    pub fn launch_again(&self, args: &[&str]) {
        let home = self.run_dir.join("home");
        let mut command = Command::new(workspace_binary("kompira-tray"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_RUNTIME_DIR", self.run_dir.join("runtime"))
            .env("KOMPIRA_CONF", &self.conf_path);
        self.run_to_success(&format!("a second kompira-tray {args:?} (handing over)"), command);
    }

    /// Takes the next message off a stand-in channel (waiting for it to arrive).
    pub async fn receive(&self, channel: &str) -> Value {
        match self.rest.recv(channel, ARRIVAL_TIMEOUT).await {
            Ok(Some(message)) => message,
            Ok(None) => self.fail(format!("nothing arrived in {channel} within {} s", ARRIVAL_TIMEOUT.as_secs())),
            Err(e) => self.fail(format!("cannot receive from {channel}: {e}")),
        }
    }

    /// The first popup the app asked for that `matches`.
    pub async fn popup(&self, what: &str, matches: impl Fn(&Notice) -> bool) -> Notice {
        self.recorder.wait_for(what, ARRIVAL_TIMEOUT, matches).await.unwrap_or_else(|e| self.fail(e))
    }

    /// Plays the user clicking action `key` of popup `id`.
    pub async fn choose_action(&self, id: u32, key: &str) {
        self.recorder.invoke_action(id, key).await.unwrap_or_else(|e| self.fail(e));
    }

    /// Polls `probe` until it yields a value; fails after `timeout` naming `what`.
    pub async fn wait<T>(
        &self,
        what: &str,
        timeout: Duration,
        probe: impl AsyncFn() -> Result<Option<T>, DriverError>,
    ) -> T {
        self.try_wait(timeout, probe).await.unwrap_or_else(|e| self.fail(format!("{e} for {what}")))
    }

    /// Polls `probe` until it yields a value. An element that went stale (the page re-rendered
    /// it between two calls) is looked up again on the next round.
    async fn try_wait<T>(
        &self,
        timeout: Duration,
        probe: impl AsyncFn() -> Result<Option<T>, DriverError>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match probe().await {
                Ok(Some(value)) => return Ok(value),
                Ok(None) => {}
                Err(e) if e.code == STALE_ELEMENT => {}
                Err(e) => return Err(format!("WebDriver failed ({e}) while waiting")),
            }
            if Instant::now() >= deadline {
                return Err(format!("waited {} s", timeout.as_secs()));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// Starts the stack from the display up; the error names the piece that did not start.
async fn launch(
    name: &str,
    lang: Lang,
    graphics: Graphics,
    peer: RestPeer,
    io_queue: testkit::IoQueueGuard,
) -> Result<Stack, String> {
    let run_dir = target_dir().join("e2e").join(name);
    let logs = run_dir.join("logs");
    prepare_run_dir(&run_dir)?;
    // Leftovers of an earlier run would reach this stand-in and pop up as unexpected alerts.
    testkit::purge(&testkit::broker_url(), testkit::IO_QUEUE)
        .await
        .map_err(|e| format!("purge io_queue (is RabbitMQ running? scripts/setup.sh starts it): {e}"))?;
    let (xvfb, display) = start_display(&logs)?;
    let (dbus, bus) = start_session_bus(&logs)?;
    let recorder = NotifyRecorder::start(Some(&bus), None).await?;
    let (sim, sim_url) = start_stand_in(&logs)?;
    let (rest_url, rest_token) = match peer {
        RestPeer::StandIn => (sim_url, SIM_TOKEN.to_owned()),
        RestPeer::Real { url, token } => (url, token),
    };
    let conf_path = run_dir.join("kompira.conf");
    std::fs::write(&conf_path, kompira_conf(&rest_url, &rest_token, &logs))
        .map_err(|e| format!("write {}: {e}", conf_path.display()))?;
    let mut driver = Command::new("tauri-driver");
    app_environment(&mut driver, &run_dir, &display, &bus, &conf_path, lang);
    if graphics == Graphics::GtkDefault {
        driver.env("GDK_GL", "");
    }
    let (tauri_driver, window) = start_app(driver, &logs).await?;
    let agent = AgentStopper { socket: run_dir.join("runtime/kompira-tray.sock") };
    let rest = Client::new(&RestSettings {
        url: rest_url.clone(),
        token: Secret::new(rest_token.clone()),
        ca_file: None,
        insecure: false,
        timeout: Duration::from_secs(10),
    })
    .map_err(|e| e.to_string())?;
    Ok(Stack {
        name: name.to_owned(),
        run_dir,
        conf_path,
        rest,
        rest_url,
        rest_token,
        recorder,
        window,
        tauri_driver,
        _agent: agent,
        _sim: sim,
        _dbus: dbus,
        _xvfb: xvfb,
        _io_queue: io_queue,
    })
}

/// Stops the agent the app started. It runs in a process group of its own (a window's end must
/// not end the tray), so the driver's kill misses it; it answers `ping` with its pid.
struct AgentStopper {
    socket: PathBuf,
}

impl Drop for AgentStopper {
    fn drop(&mut self) {
        use std::io::{BufRead, Write};
        let Ok(mut stream) = std::os::unix::net::UnixStream::connect(&self.socket) else { return };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = stream.write_all(b"{\"call\": \"ping\"}\n");
        let mut answer = String::new();
        let _ = std::io::BufReader::new(stream).read_line(&mut answer);
        let Some(pid) = serde_json::from_str::<serde_json::Value>(&answer).ok().and_then(|v| v["ok"].as_u64()) else {
            return;
        };
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A fresh directory per run: HOME, XDG directories and logs, kept afterwards for reading.
fn prepare_run_dir(run_dir: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(run_dir);
    for dir in ["home/.config", "home/.local/share", "home/.cache", "runtime", "logs"] {
        std::fs::create_dir_all(run_dir.join(dir)).map_err(|e| format!("create {}: {e}", run_dir.display()))?;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(run_dir.join("runtime"), std::fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())
}

/// Xvfb on a display nobody uses (it picks one and prints it); `:N`.
fn start_display(logs: &Path) -> Result<(Proc, String), String> {
    let mut command = Command::new("Xvfb");
    command.args(["-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp", "-noreset"]);
    let mut xvfb = Proc::spawn("Xvfb", command, &logs.join("xvfb.log"), true)?;
    let number = xvfb.first_line(START_TIMEOUT)?;
    Ok((xvfb, format!(":{number}")))
}

/// A private session bus; its address.
fn start_session_bus(logs: &Path) -> Result<(Proc, String), String> {
    let mut command = Command::new("dbus-daemon");
    command.args(["--session", "--nofork", "--print-address=1"]);
    let mut dbus = Proc::spawn("dbus-daemon", command, &logs.join("dbus.log"), true)?;
    let address = dbus.first_line(START_TIMEOUT)?;
    Ok((dbus, address))
}

/// `kompira-sim` consuming io_queue, serving the demo set and [`TASK_JOBFLOW`]; its base URL.
fn start_stand_in(logs: &Path) -> Result<(Proc, String), String> {
    let tasks = logs.join("sim-tasks.toml");
    std::fs::write(&tasks, TASK_DEFINITIONS).map_err(|e| format!("write {}: {e}", tasks.display()))?;
    let mut command = Command::new(workspace_binary("kompira-sim"));
    command.args(["--listen", "127.0.0.1:0", "--token", SIM_TOKEN, "--amqp-url", &testkit::broker_url()]);
    command.arg("--add-definitions").arg(&tasks);
    let mut sim = Proc::spawn("kompira-sim", command, &logs.join("kompira-sim.log"), true)?;
    let ready = sim.first_line(START_TIMEOUT)?;
    match ready.strip_prefix("kompira-sim listening on ") {
        Some(url) => Ok((sim, url.to_owned())),
        None => Err(format!("kompira-sim said {ready:?} instead of its ready line")),
    }
}

/// `tauri-driver` (with the app's environment already on `driver`), then the app through it.
/// The app's own log goes to logs/app.log with the driver's.
async fn start_app(mut driver: Command, logs: &Path) -> Result<(Proc, Session), String> {
    let (port, native_port) = (procs::free_port(), procs::free_port());
    driver.args(["--port", &port.to_string(), "--native-port", &native_port.to_string()]);
    let mut tauri_driver = Proc::spawn("tauri-driver", driver, &logs.join("app.log"), false)
        .map_err(|e| format!("{e} (cargo install tauri-driver --locked)"))?;
    tauri_driver.wait_for_port(SocketAddr::from(([127, 0, 0, 1], port)), START_TIMEOUT)?;
    match Session::start(port, &workspace_binary("kompira-tray"), &[]).await {
        Ok(window) => Ok((tauri_driver, window)),
        Err(e) => Err(format!("the app did not start through WebDriver: {e}{}", tauri_driver.log_tail())),
    }
}

/// The run's kompira.conf. The comments are there for save tests: the app must keep them.
fn kompira_conf(rest_url: &str, rest_token: &str, logs: &Path) -> String {
    format!(
        "# Written by the app end-to-end suite for one run.\n\
         # This comment must survive any save by the app.\n\
         [amqp-connection]\n\
         server = 127.0.0.1\n\
         ; fail at once when the broker is away (the suite has its own limits)\n\
         max_retry = 0\n\
         \n\
         [logging]\n\
         logdir = {logs}\n\
         \n\
         [rest]\n\
         url = {rest_url}\n\
         token = {rest_token}\n\
         timeout = 10\n\
         \n\
         [notify]\n\
         channels = {ALERT_CHANNEL}\n\
         ; only `host` is passed: the alert's other fields stay out of the job flow\n\
         remedies = {ALERT_CHANNEL} {REMEDY_JOBFLOW} host\n\
         ; the shortest pause between asks for waiting tasks, so task popups come quickly\n\
         task_poll = 5\n",
        logs = logs.display(),
    )
}

/// The desktop session the app runs in: nothing inherited but PATH, so no setting of the machine
/// (AMQP_URL, KOMPIRA_TOKEN, a real session bus, a user kompira.conf) leaks in.
fn app_environment(command: &mut Command, run_dir: &Path, display: &str, bus: &str, conf: &Path, lang: Lang) {
    let home = run_dir.join("home");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_RUNTIME_DIR", run_dir.join("runtime"))
        .env("DISPLAY", display)
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("KOMPIRA_CONF", conf)
        .env("LANG", lang.locale())
        .env("LANGUAGE", lang.code())
        // No accessibility bus or dconf on the private bus: they only add start-up delays.
        .env("NO_AT_BRIDGE", "1")
        .env("GSETTINGS_BACKEND", "memory")
        // GTK picks XIM for a Japanese locale, and XIM drops Shift from WebDriver's synthetic
        // key presses ("D" arrives as "d"); GTK's own simple input method types what is sent.
        .env("GTK_IM_MODULE", "gtk-im-context-simple")
        .env("RUST_LOG", "info,lapin=warn")
        .env("RUST_BACKTRACE", "1");
}

/// `target/`, found from this test binary (`target/debug/deps/app_e2e-…`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors().nth(3).expect("target/<profile>/deps/<test>").to_path_buf()
}
