//! `kompira-tray-agent.exe` under Wine: it starts and serves its named pipe; the test client
//! (`ipc_call.exe`, an example of kompira-tray-ipc) reaches it there as the window would; a quick
//! send goes through the outbox in `%LOCALAPPDATA%` to `io_queue`; an alert sent with
//! `kompira_sendevt.exe` comes back through the stand-in's channel into the alert list; the icon
//! is in Wine's notification area (a screenshot is kept); a second agent hands over to the first;
//! start at login writes and removes the Run entry. Also the agent's memory under Wine.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::stand_in::Sim;
use kompira_core::rest::{Client, RestSettings};
use kompira_core::secret::Secret;
use kompira_testkit as testkit;
use serde_json::{json, Value};

use crate::desktop;
use crate::wine::{wine, ConfigFiles, Running, Wine, INSTALL_DIR};

const AGENT: &str = "kompira-tray-agent.exe";
const IPC_CALL: &str = "ipc_call.exe";
const TOKEN: &str = "windows-run-agent-token";
const ALERT: &str = "/system/channels/Alert";
/// A cold Wine start of the agent (tray thread, runtime, pipe) takes a few seconds.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const ARRIVAL: Duration = Duration::from_secs(30);
const AGENT_CONF: &str = r"C:\KompiraTray\agent\kompira.conf";

/// A running agent under Wine with its kompira.conf.
struct Agent<'w> {
    wine: &'w Wine,
    process: Running,
}

impl<'w> Agent<'w> {
    /// Starts the agent on `conf` and waits until the test client reaches it.
    fn start(wine: &'w Wine, conf: &str) -> Agent<'w> {
        wine.write(AGENT_CONF, conf);
        let process = wine.spawn(AGENT, &["--no-window"], &[("KOMPIRA_CONF", AGENT_CONF)]);
        let mut agent = Agent { wine, process };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let (0, _) = agent.call("ping", Value::Null) {
                return agent;
            }
            if let Some(code) = agent.process.wait_for_exit(Duration::ZERO) {
                panic!("the agent ended with {code} before it answered: {}", agent.process.stderr());
            }
            assert!(Instant::now() < deadline, "the agent did not answer within {START_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// One call through the test client: its exit code and its answer (`{"ok": …}` or
    /// `{"err": …}`).
    fn call(&self, name: &str, args: Value) -> (i32, Value) {
        let args = args.to_string();
        let run = self.wine.run(IPC_CALL, &[name, &args], &[], b"");
        let reply = serde_json::from_str(run.stdout.trim())
            .unwrap_or_else(|e| panic!("ipc_call {name} printed no JSON line ({e}): {run:?}"));
        (run.code, reply)
    }

    /// The answer of a call that must succeed.
    fn ok(&self, name: &str, args: Value) -> Value {
        match self.call(name, args) {
            (0, Value::Object(mut reply)) if reply.contains_key("ok") => reply.remove("ok").unwrap_or_default(),
            other => panic!("{name} failed: {other:?}"),
        }
    }

    /// Waits until the alert list holds `count` alerts.
    fn alerts(&self, count: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let list = self.ok("list_alerts", json!({}));
            let list = list.as_array().cloned().unwrap_or_default();
            if list.len() >= count || Instant::now() >= deadline {
                return list;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The resident memory of the Wine process that runs the agent, from /proc: the process
    /// `wine` became, or (on a cold prefix, where the launcher stays) its descendant.
    fn rss_kib(&self) -> u64 {
        let mut pids = vec![self.process.child.id()];
        let mut at = 0;
        let agent = loop {
            let Some(&pid) = pids.get(at) else { panic!("no process of {pids:?} runs kompira-tray-agent.exe") };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains("kompira-tray-agent.exe") {
                break pid;
            }
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
            pids.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
            at += 1;
        };
        let status = std::fs::read_to_string(format!("/proc/{agent}/status")).expect("the agent's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc status")
    }
}

/// The stand-in on a runtime of its own, consuming io_queue when `amqp` (so events sent to the
/// broker reach its channels, as on a Kompira server).
struct StandIn(Sim);

impl StandIn {
    fn start(amqp: bool) -> StandIn {
        StandIn(Sim::start(TOKEN, amqp.then(testkit::broker_url), None))
    }

    fn base_url(&self) -> &str {
        self.0.base_url()
    }

    /// The `[rest]` section for it.
    fn rest_conf(&self) -> String {
        format!("[rest]\nurl = {}\ntoken = {TOKEN}\ntimeout = 10\n", self.base_url())
    }

    /// Puts `count` alerts on the Alert channel over REST.
    fn send_alerts(&self, count: usize) {
        let client = Arc::new(
            Client::new(&RestSettings {
                url: self.base_url().to_owned(),
                token: Secret::new(TOKEN),
                ca_file: None,
                insecure: false,
                timeout: Duration::from_secs(10),
            })
            .expect("a REST client"),
        );
        self.0.runtime.block_on(async {
            for n in 0..count {
                let alert = json!({"status": "PROBLEM", "severity": "3", "hostname": format!("web{n}"),
                    "trigger_name": format!("Load high {n}")});
                client.send(ALERT, &alert).await.expect("the stand-in takes the alert");
            }
        });
    }
}

/// Where screenshots are kept: `KOMPIRA_WINDOWS_ARTIFACTS`, else target/test-artifacts/windows-run.
fn artifact_dir() -> PathBuf {
    let dir = std::env::var_os("KOMPIRA_WINDOWS_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-artifacts/windows-run")));
    std::fs::create_dir_all(&dir).expect("the artefact folder");
    dir
}

#[test]
fn the_agent_answers_on_its_pipe_and_a_quick_send_goes_through_the_outbox_to_io_queue() {
    let Some(wine) = wine() else { return };
    let _files = ConfigFiles::new(wine);
    let outbox = wine.linux(&format!(r"{}\Kompira\outbox.sqlite3", wine.local_appdata));
    let _ = std::fs::remove_file(&outbox);
    let agent = Agent::start(wine, "[amqp-connection]\nserver = 127.0.0.1\nmax_retry = 0\n");

    let status = agent.ok("status", Value::Null);
    assert_eq!(status["settings_error"], Value::Null, "{status}");
    assert_eq!(status["default_channel"], ALERT, "{status}");
    assert!(status["summary"].as_str().unwrap_or("").contains("not watching"), "{status}");
    let (code, refused) = agent.call("format_disk", Value::Null);
    assert_eq!(code, 1, "{refused}");
    assert!(refused["err"].as_str().unwrap_or("").contains("no call named \"format_disk\""), "{refused}");

    let url = testkit::broker_url();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let received = runtime.block_on(async {
        let _guard = testkit::lock_io_queue().await;
        testkit::declare_io_queue(&url).await.expect("io_queue declared");
        testkit::purge(&url, testkit::IO_QUEUE).await.expect("io_queue purged");
        let form = json!({"form": {"fields": [{"key": "host", "value": "win1"}, {"key": "via", "value": "agent"}]}});
        let outcome = agent.ok("send_event", form);
        let message = testkit::receive_one(&url, testkit::IO_QUEUE, ARRIVAL).await.expect("io_queue read");
        (outcome, message)
    });
    let (outcome, message) = received;
    assert_eq!(outcome["queued"], false, "the broker took it: {outcome}");
    let message = message.expect("the quick send reached io_queue");
    assert_eq!(message.body_utf8(), Some(r#"{"host": "win1", "via": "agent"}"#));
    let correlation_id = message.properties.correlation_id().as_ref().map(|c| c.as_str().to_owned());
    assert_eq!(correlation_id.as_deref(), outcome["correlation_id"].as_str(), "the outbox keeps the event's id");
    assert!(outbox.is_file(), "the outbox is in %LOCALAPPDATA%\\Kompira: {}", outbox.display());
    assert_eq!(agent.ok("list_outbox", Value::Null), json!([]), "sent, so nothing waits");
}

#[test]
fn an_alert_sent_with_sendevt_exe_reaches_the_agents_alert_list() {
    let Some(wine) = wine() else { return };
    let files = ConfigFiles::new(wine);
    let stand_in = StandIn::start(true);
    let agent = Agent::start(wine, &stand_in.rest_conf());
    let [system, ..] = files.search_path();
    wine.write(&system, "[amqp-connection]\nserver = 127.0.0.1\nmax_retry = 0\n");
    let alert = ["status=PROBLEM", "severity=4", "hostname=winhost", "trigger_name=Disk full", "detail=free 2%"];
    let sent = wine.run("kompira_sendevt.exe", &alert, &[], b"");
    assert_eq!(sent.code, 0, "{sent:?}");

    let alerts = agent.alerts(1, ARRIVAL);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0]["title"].as_str().unwrap_or("").contains("Disk full on winhost"), "{alerts:?}");
    assert_eq!(alerts[0]["read"], false, "{alerts:?}");
    let status = agent.ok("status", Value::Null);
    assert!(status["summary"].as_str().unwrap_or("").contains('1'), "one unread alert: {status}");
}

#[test]
fn the_tray_icon_is_in_wines_notification_area_and_a_second_agent_hands_over() {
    let Some(wine) = wine() else { return };
    let _files = ConfigFiles::new(wine);
    let stand_in = StandIn::start(false);
    let agent = Agent::start(wine, &stand_in.rest_conf());
    let tray = desktop::tray_window(START_TIMEOUT).expect("Wine's notification area appears with the agent's icon");
    // Watching the stand-in: the icon turns to "connected" (green), the colour of its file.
    let connected = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../icons/tray-connected.png"));
    let shot = artifact_dir().join("agent-tray.png");
    let deadline = Instant::now() + ARRIVAL;
    let mut pixels = 0;
    while pixels == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        desktop::screenshot(&shot);
        pixels = desktop::icon_colour_pixels(&shot, tray, &connected);
    }
    assert!(
        pixels > 20,
        "the tray window {tray:?} shows too little of the connected icon's colour: {pixels} px ({})",
        shot.display()
    );

    // A second agent finds the first answering on the pipe and leaves it in charge.
    let pid = agent.ok("ping", Value::Null);
    let second = wine.run(AGENT, &["--no-window"], &[("KOMPIRA_CONF", AGENT_CONF)], b"");
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(agent.ok("ping", Value::Null), pid, "the first agent still answers");

    // Quit from the tray menu is not reachable under Wine 8: its Shell_NotifyIconGetRect is a
    // stub, and tray-icon drops every click on the icon without it (docs/windows.md). The same
    // quit, asked over the pipe, ends the agent and frees the pipe.
    assert_eq!(agent.ok("quit", Value::Null), Value::Null);
    let deadline = Instant::now() + START_TIMEOUT;
    while agent.call("ping", Value::Null).0 == 0 {
        assert!(Instant::now() < deadline, "the agent still answers after quit");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn agent_memory_under_wine_after_start_and_after_100_alerts() {
    let Some(wine) = wine() else { return };
    let _files = ConfigFiles::new(wine);
    let stand_in = StandIn::start(false);
    let agent = Agent::start(wine, &stand_in.rest_conf());
    std::thread::sleep(Duration::from_secs(3));
    let at_start = agent.rss_kib();
    stand_in.send_alerts(100);
    let alerts = agent.alerts(100, Duration::from_secs(60));
    assert_eq!(alerts.len(), 100);
    std::thread::sleep(Duration::from_secs(2));
    let after = agent.rss_kib();
    println!(
        "MEMORY kompira-tray-agent.exe under Wine: VmRSS {} MiB after start, {} MiB after 100 alerts",
        at_start / 1024,
        after / 1024
    );
}

#[test]
fn start_at_login_writes_the_run_entry_windows_reads_and_removes_it() {
    let Some(wine) = wine() else { return };
    let _files = ConfigFiles::new(wine);
    let agent = Agent::start(wine, "# empty\n");
    // HKCU's Run key, or HKLM's for an elevated process, as every Wine process is.
    let entry = || {
        ["HKCU", "HKLM"].iter().find_map(|hive| {
            let key = format!(r"{hive}\Software\Microsoft\Windows\CurrentVersion\Run");
            let query = wine.run_plain("reg.exe", &["query", &key, "/v", "Kompira Tray"]);
            (query.code == 0).then_some(query.stdout)
        })
    };
    assert_eq!(agent.ok("set_autostart", json!({"enabled": true})), json!(true));
    let written = entry().expect("the Run entry after set_autostart true");
    let window = format!(r"{INSTALL_DIR}\bin\kompira-tray.exe");
    let found = written.to_lowercase();
    assert!(found.contains(&window.to_lowercase()) && found.contains("--minimized"), "{written}");
    assert_eq!(agent.ok("get_autostart", Value::Null), json!(true));

    assert_eq!(agent.ok("set_autostart", json!({"enabled": false})), json!(false));
    assert_eq!(entry(), None, "the Run entry is removed");
    assert_eq!(agent.ok("get_autostart", Value::Null), json!(false));
}
