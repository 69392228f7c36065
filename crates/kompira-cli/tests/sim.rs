//! The real `kompira` binary against kompira-sim (the local stand-in for the Kompira REST API).

use std::path::PathBuf;
use std::process::{Command, Output};

use kompira_sim::Definitions;
use kompira_testkit::{sim_with_conf, SimWithConf};
use serde_json::Value;

const TOKEN: &str = "sim-token-do-not-print";

/// A running simulator, a scratch directory and a kompira.conf pointing at the simulator.
struct Setup {
    // Keeps the simulator's tasks alive while the binary runs.
    _runtime: tokio::runtime::Runtime,
    stand_in: SimWithConf,
    conf: PathBuf,
}

impl Setup {
    fn new() -> Self {
        Self::with(TOKEN, Definitions::builtin())
    }

    fn with_token(token: &str) -> Self {
        Self::with(token, Definitions::builtin())
    }

    /// The simulator accepts [`TOKEN`] and serves `definitions`; the config file holds `token`.
    fn with(token: &str, definitions: Definitions) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let stand_in = runtime.block_on(sim_with_conf(TOKEN, token, definitions, ""));
        let conf = stand_in.conf();
        Setup { _runtime: runtime, stand_in, conf }
    }

    fn kompira(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_kompira"))
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .current_dir(self.stand_in.sandbox.dir.path())
            .env_remove("KOMPIRA_URL")
            .env_remove("KOMPIRA_TOKEN")
            .env_remove("RUST_LOG")
            .output()
            .expect("kompira runs");
        Run::from(output)
    }

    /// Runs `kompira`, killing it (and failing the test) if it runs longer than 20 s.
    fn kompira_with_deadline(&self, args: &[&str]) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kompira"))
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .env_remove("KOMPIRA_URL")
            .env_remove("KOMPIRA_TOKEN")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kompira runs");
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > std::time::Duration::from_secs(20) {
                let _ = child.kill();
                panic!("kompira {args:?} did not finish within 20 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Run::from(child.wait_with_output().unwrap())
    }

    /// Starts a job flow without waiting; its process path.
    fn start(&self, jobflow: &str) -> String {
        let run = self.kompira(&["jobflow", "run", jobflow]);
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout.trim().to_owned()
    }
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

#[test]
fn run_with_wait_follows_to_done() {
    let s = Setup::new();
    let run = s.kompira(&["jobflow", "run", "/root/restart_process", "-p", "host=web1", "--wait"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("/process/id_"), "{run:?}");
    assert!(run.stdout.contains("connecting to web1\n"), "{run:?}");
    let last = lines.last().unwrap();
    assert!(last.starts_with("DONE exit_status=0"), "{run:?}");
    assert!(last.contains("restarted on web1"), "{run:?}");
    assert_eq!(run.stderr, "");
}

#[test]
fn run_with_wait_of_an_aborted_process_exits_1() {
    let s = Setup::new();
    let run = s.kompira(&["jobflow", "run", "/root/failing_job", "--wait"]);
    assert_eq!(run.code, 1, "{run:?}");
    let last = run.stdout.lines().last().unwrap();
    assert!(last.starts_with("ABORTED"), "{run:?}");
    assert!(last.contains("simulated failure: no route to host"), "{run:?}");
}

#[test]
fn refused_token_names_the_setting_and_hides_the_token() {
    let s = Setup::with_token("wrong-secret-value");
    let run = s.kompira(&["jobflow", "run", "/root/restart_process"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.starts_with("kompira: 401"), "{run:?}");
    assert!(run.stderr.contains("[rest] token"), "{run:?}");
    assert!(!run.stderr.contains("wrong-secret-value"), "{run:?}");
    assert!(!run.stdout.contains("wrong-secret-value"), "{run:?}");
}

#[test]
fn a_token_on_the_command_line_works_and_is_warned_about_without_being_shown() {
    let s = Setup::with_token("not-the-token");
    let run = s.kompira(&["--token", TOKEN, "jobflow", "run", "/root/restart_process"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("warning: other users of this machine can read --token"), "{run:?}");
    assert!(!run.stderr.contains(TOKEN), "{run:?}");
}

#[test]
fn missing_job_flow_names_the_path() {
    let s = Setup::new();
    let run = s.kompira(&["jobflow", "run", "/root/nope"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("/root/nope not found; check the job flow path"), "{run:?}");
}

#[test]
fn process_show_summarises_and_prints_json() {
    let s = Setup::new();
    let process = s.start("/root/check_disk");
    let id = process.trim_start_matches("/process/id_");
    let wait = s.kompira(&["process", "wait", id]);
    assert_eq!(wait.code, 0, "{wait:?}");
    let show = s.kompira(&["process", "show", &process]);
    assert_eq!(show.code, 0, "{show:?}");
    assert!(show.stdout.contains(&format!("process   {process}\n")), "{show:?}");
    assert!(show.stdout.contains("status    DONE\n"), "{show:?}");
    assert!(show.stdout.contains("job       /root/check_disk\n"), "{show:?}");
    let json = s.kompira(&["process", "show", &format!("id_{id}"), "--json"]);
    let value: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["abspath"], process.as_str());
}

#[test]
fn process_wait_with_timeout_reports_a_running_process() {
    let s = Setup::new();
    let process = s.start("/root/slow_job");
    let run = s.kompira(&["process", "wait", &process, "--timeout", "1"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("is still RUNNING after 1 s"), "{run:?}");
    let run = s.kompira(&["process", "terminate", &process]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn channel_send_then_recv_round_trips_and_empty_channel_exits_1() {
    let s = Setup::new();
    let channel = "/root/channels/Desktop";
    let send = s.kompira(&["channel", "send", channel, "host=web1", "msg=a=b"]);
    assert_eq!(send.code, 0, "{send:?}");
    let send = s.kompira(&["channel", "send", channel, "--json", "[1, null]"]);
    assert_eq!(send.code, 0, "{send:?}");
    let recv = s.kompira(&["channel", "recv", channel]);
    assert_eq!(recv.code, 0, "{recv:?}");
    assert_eq!(recv.stdout, "{\"host\":\"web1\",\"msg\":\"a=b\"}\n");
    let recv = s.kompira(&["channel", "recv", channel, "--timeout", "1"]);
    assert_eq!(recv.stdout, "[1,null]\n");
    let recv = s.kompira(&["channel", "recv", channel, "--timeout", "1"]);
    assert_eq!(recv.code, 1, "{recv:?}");
    assert!(recv.stderr.contains("no message on /root/channels/Desktop within 1 s"), "{recv:?}");
}

#[test]
fn list_shows_every_job_flow_and_show_describes_one() {
    let s = Setup::new();
    let run = s.kompira(&["jobflow", "list"]);
    assert_eq!(run.code, 0, "{run:?}");
    for path in ["/root/restart_process", "/root/check_disk", "/root/failing_job", "/root/slow_job"] {
        assert!(run.stdout.lines().any(|l| l.split('\t').next() == Some(path)), "{path}: {run:?}");
    }
    let show = s.kompira(&["jobflow", "show", "/root/restart_process"]);
    assert_eq!(show.code, 0, "{show:?}");
    assert!(show.stdout.contains("name         Restart process\n"), "{show:?}");
}

#[test]
fn usage_errors_exit_2_and_missing_settings_name_the_key() {
    let s = Setup::new();
    let run = s.kompira(&["jobflow", "run", "/root/x", "-p", "novalue"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with("kompira: -p \"novalue\""), "{run:?}");
    std::fs::write(&s.conf, "[rest]\n").unwrap();
    let run = s.kompira(&["jobflow", "list"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr, "kompira: set [rest] url (e.g. https://kompira.example.com) or KOMPIRA_URL\n");
}

#[test]
fn list_follows_every_page() {
    // 60 job flows in two directories: three pages at the server's default page size.
    let mut toml = String::new();
    for i in 0..60 {
        let dir = if i % 2 == 0 { "even" } else { "odd" };
        toml.push_str(&format!("[[jobflow]]\npath = \"/root/{dir}/job_{i:02}\"\n"));
    }
    toml.push_str("[[jobflow]]\npath = \"/elsewhere/not_listed\"\n");
    let s = Setup::with(TOKEN, Definitions::from_toml(&toml).unwrap());
    let run = s.kompira(&["jobflow", "list"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut paths: Vec<&str> = run.stdout.lines().map(|l| l.split('\t').next().unwrap()).collect();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), 60, "{run:?}");
    let run = s.kompira(&["jobflow", "list", "/root/odd"]);
    assert_eq!(run.stdout.lines().count(), 30, "{run:?}");
}

#[test]
fn channel_watch_prints_each_alert_readably_and_as_json() {
    let s = Setup::new();
    let send = |fields: &[&str]| {
        let mut args = vec!["channel", "send", "/system/channels/Alert"];
        args.extend_from_slice(fields);
        assert_eq!(s.kompira(&args).code, 0);
    };
    send(&["status=PROBLEM", "severity=4", "hostname=web1", "trigger_name=Disk full", "detail=free 2%"]);
    let run = s.kompira_with_deadline(&["channel", "watch", "/system/channels/Alert", "--count", "1"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<_> = run.stdout.lines().collect();
    assert!(lines[0].ends_with(" [High] High: Disk full on web1"), "{}", run.stdout);
    assert_eq!(lines[1], "    free 2%");
    assert!(run.stderr.contains("watching /system/channels/Alert"), "{}", run.stderr);

    send(&["note=<b>not markup</b>"]);
    let run = s.kompira_with_deadline(&["channel", "watch", "--json", "--count", "1", "/system/channels/Alert"]);
    assert_eq!(run.code, 0, "{run:?}");
    let alert: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(alert["alert"]["body"], "note: <b>not markup</b>");
    assert_eq!(alert["alert"]["severity"], "NotClassified");
    assert_eq!(alert["decision"], "Show");
}

#[test]
fn channel_watch_never_drops_alerts_it_took_beyond_its_count() {
    let s = Setup::new();
    for n in ["1", "2", "3"] {
        assert_eq!(s.kompira(&["channel", "send", "/system/channels/Alert", &format!("n={n}")]).code, 0);
    }
    let run = s.kompira_with_deadline(&["channel", "watch", "--count", "1"]);
    assert_eq!(run.code, 0, "{run:?}");
    let printed = run.stdout.lines().filter(|l| l.trim_start().starts_with("n: ")).count();
    let left = s.kompira(&["channel", "recv", "/system/channels/Alert"]).stdout.lines().count()
        + s.kompira(&["channel", "recv", "/system/channels/Alert"]).stdout.lines().count();
    assert_eq!(printed + left, 3, "every alert is either printed or still on the channel: {run:?}");
}

#[test]
fn channel_watch_count_leaves_no_recv_behind_to_swallow_the_next_message() {
    // Kompira (and the stand-in) hands the next message to a `.recv` whose client has gone:
    // a watcher that asked once more before exiting at its count would lose message 2.
    let s = Setup::new();
    assert_eq!(s.kompira(&["channel", "send", "/system/channels/Alert", "n=1"]).code, 0);
    let run = s.kompira_with_deadline(&["channel", "watch", "--count", "1"]);
    assert!(run.stdout.contains("n: 1"), "{run:?}");
    assert_eq!(s.kompira(&["channel", "send", "/system/channels/Alert", "n=2"]).code, 0);
    let next = s.kompira(&["channel", "recv", "/system/channels/Alert", "--timeout", "3"]);
    assert_eq!((next.code, next.stdout.trim()), (0, r#"{"n":"2"}"#), "{next:?}");
}

#[test]
fn channel_watch_reports_a_refused_token_and_keeps_trying() {
    let s = Setup::with_token("wrong-token");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kompira"))
        .args(["-c", s.conf.to_str().unwrap(), "channel", "watch"])
        .env_remove("KOMPIRA_URL")
        .env_remove("KOMPIRA_TOKEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(still_running, "watch gave up instead of retrying: {stderr}");
    assert!(stderr.contains("kompira: offline: "), "{stderr}");
    assert!(stderr.contains("[rest] token"), "{stderr}");
    assert!(!stderr.contains("wrong-token"), "{stderr}");
}

/// Starts ask_person and waits until its task is listed; the process path and the list line.
fn start_asking(s: &Setup) -> (String, String) {
    let process = s.start("/root/ask_person");
    let started = std::time::Instant::now();
    loop {
        let list = s.kompira(&["task", "list"]);
        assert_eq!(list.code, 0, "{list:?}");
        if let Some(line) = list.stdout.lines().next() {
            return (process, line.to_owned());
        }
        assert!(started.elapsed().as_secs() < 10, "no task listed: {list:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn task_list_submit_and_the_job_flow_gets_the_answer() {
    let s = Setup::with(TOKEN, Definitions::from_toml(kompira_testkit::ASK_PERSON_DEFINITION).unwrap());
    let none = s.kompira(&["task", "list"]);
    assert_eq!((none.code, none.stdout.as_str()), (0, ""), "{none:?}");
    assert!(none.stderr.contains("no tasks are waiting for you"), "{none:?}");
    let (process, line) = start_asking(&s);
    assert!(line.starts_with("/task/id_1\tWAITING\tQuestion from ask_person\t[web 1 | web 2]"), "{line}");
    let others = s.kompira(&["task", "list", "--user", "guest"]);
    assert_eq!(others.stdout, "", "assigned to root only: {others:?}");
    let show = s.kompira(&["task", "show", "1"]);
    assert!(show.stdout.contains("choices   web 1 | web 2\n"), "{show:?}");
    assert!(show.stdout.ends_with("message:\nWhich host should be used?\n"), "{show:?}");
    let json = s.kompira(&["task", "list", "--json"]);
    let value: Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(value["choices"], serde_json::json!(["web 1", "web 2"]));
    let submit = s.kompira(&["task", "submit", "id_1", "--result", "web 2"]);
    assert_eq!((submit.code, submit.stdout.as_str()), (0, "submitted /task/id_1\n"), "{submit:?}");
    let wait = s.kompira(&["process", "wait", &process, "--timeout", "10"]);
    assert_eq!(wait.code, 0, "{wait:?}");
    assert!(wait.stdout.contains("result=\"web 2\""), "{wait:?}");
    let again = s.kompira(&["task", "submit", "1", "--result", "again"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("/task/id_1 is no longer waiting for an answer"), "{again:?}");
    let all = s.kompira(&["task", "list", "--all"]);
    assert!(all.stdout.starts_with("/task/id_1\tDONE\t"), "{all:?}");
}

#[test]
fn task_submit_json_cancel_and_bad_input() {
    let s = Setup::with(TOKEN, Definitions::from_toml(kompira_testkit::ASK_PERSON_DEFINITION).unwrap());
    let (process, _) = start_asking(&s);
    let submit = s.kompira(&["task", "submit", "1", "--result-json", r#"{"host": "web 3"}"#]);
    assert_eq!(submit.code, 0, "{submit:?}");
    let wait = s.kompira(&["process", "wait", &process, "--timeout", "10"]);
    assert!(wait.stdout.contains(r#"result={"host":"web 3"}"#), "{wait:?}");
    let (process, _) = start_asking(&s);
    let cancel = s.kompira(&["task", "cancel", "/task/id_2"]);
    assert_eq!(cancel.code, 0, "{cancel:?}");
    assert!(cancel.stdout.starts_with("cancelled /task/id_2"), "{cancel:?}");
    let show = s.kompira(&["task", "show", "2"]);
    assert!(show.stdout.contains("status    CANCELED\n"), "{show:?}");
    let still = s.kompira(&["process", "show", &process]);
    assert!(still.stdout.contains("status    WAITING\n"), "{still:?}");
    let bad = s.kompira(&["task", "submit", "1", "--result-json", "{nope"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("--result-json is not JSON"), "{bad:?}");
    let bad = s.kompira(&["task", "show", "/process/id_1"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("is not a task"), "{bad:?}");
    let missing = s.kompira(&["task", "show", "99"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.stderr.contains("/task/id_99"), "{missing:?}");
    let both = s.kompira(&["task", "submit", "1", "--result", "a", "--result-json", "1"]);
    assert_eq!(both.code, 2, "{both:?}");
}
