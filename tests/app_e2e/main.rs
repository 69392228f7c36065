//! The tray app end to end: the real `kompira-tray` binary in a virtual desktop, driven through
//! its window with WebDriver, with RabbitMQ, the Kompira stand-in and a recording notification
//! server around it (see `stack.rs` for the picture).
//!
//! Run: `bash scripts/test.sh app-e2e`, or after `cargo build --workspace`:
//! `cargo test --workspace --test app_e2e`. Needs Xvfb, dbus-daemon, WebKitWebDriver and
//! tauri-driver (scripts/setup.sh installs them). Logs of each test stay in
//! `target/e2e/<test>/logs/`, screenshots in `target/e2e-screenshots/`.
//!
//! A new test is one function: `Stack::start`, then the helpers (`fill`, `fill_rows`, `choose`,
//! `click`, `show_view`, `text_when`, `script`, `sendevt`, `receive`, `popup`, `choose_action`,
//! `screenshot`).

mod procs;
mod stack;
mod webdriver;

use serde_json::{json, Value};
use stack::{Graphics, Lang, RestPeer, Stack, ALERT_CHANNEL, DESKTOP_CHANNEL, TASK_JOBFLOW, TASK_TITLE, UI_TIMEOUT};

/// A Zabbix-style problem as `kompira_sendevt` sends it, and how the app reads it.
const DISK_FULL: [&str; 6] = [
    "status=PROBLEM",
    "severity=4",
    "hostname=web1",
    "trigger_name=Disk full",
    "trigger_key=vfs.fs.size[/,pfree]",
    "detail=free space 2%",
];
const DISK_FULL_TITLE: &str = "High: Disk full on web1";
/// The same alert on a Japanese desktop: Zabbix's Japanese severity name, the host in brackets.
const DISK_FULL_TITLE_JA: &str = "重度の障害: Disk full (web1)";
const DISK_FULL_BODY: &str = "free space 2%\ntrigger_key: vfs.fs.size[/,pfree]";
/// The `urgency` hint of a critical popup.
const CRITICAL: u8 = 2;
/// The keys of an alert popup's actions.
const OPEN: &str = "open";
const REMEDY: &str = "remedy";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_send_delivers_the_form_to_the_channel_and_shows_the_correlation_id() {
    let app = Stack::start("quick-send", Lang::En).await;

    app.fill("#channel", DESKTOP_CHANNEL).await;
    app.fill_rows("#fields", &[("hostname", "web1"), ("severity", "4"), ("message", "sent from the window")]).await;
    app.click("#send-button").await;
    let correlation_id = sent_correlation_id(&app).await;
    let message = app.receive(DESKTOP_CHANNEL).await;
    app.stop().await;

    assert!(is_uuid4(&correlation_id), "not a correlation id: {correlation_id:?}");
    assert_eq!(message, json!({"hostname": "web1", "severity": "4", "message": "sent from the window"}));
}

/// A job flow that returns its parameter: the value as the job flow received it.
const ECHO_JOBFLOW: &str = "/root/echo_param";
const ECHO_SOURCE: &str = "|host = \"none\"|\nprint(host) ->\nreturn(host)\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_flow_run_from_the_form_receives_each_value_exactly_as_typed() {
    run_echo_from_the_form(RestPeer::StandIn).await;
    match RestPeer::real_from_env() {
        Some(real) => run_echo_from_the_form(real).await,
        None => eprintln!("against the real Kompira: SKIPPED (set KOMPIRA_REAL_URL and KOMPIRA_REAL_TOKEN to run it)"),
    }
}

async fn run_echo_from_the_form(peer: RestPeer) {
    let app = Stack::start_against("jobflow-parameters", Lang::En, peer.clone()).await;
    ensure_jobflow(&app, ECHO_JOBFLOW, ECHO_SOURCE).await;
    app.show_view("jobflow").await;
    app.fill("#jobflow-path", ECHO_JOBFLOW).await;
    let mut last_process = String::new();
    // Text (the switch off): what Kompira would otherwise compile as an expression arrives as typed.
    for typed in ["web 1 (primary)", "say \"hi\"", "42", "C:\\temp $X $$ ${y} {a} 障害"] {
        app.fill_rows("#jobflow-params", &[("host", typed)]).await;
        let result = run_form_and_read_result(&app, &mut last_process).await;
        assert_eq!(result, json!(typed), "{}: {typed:?} reached the job flow as {result}", peer.name());
    }
    // An expression, on purpose: the row's switch on.
    app.fill_rows("#jobflow-params", &[("host", "[1, \"a\"]")]).await;
    app.click("#jobflow-params .row-list > li:nth-child(1) .row-expression").await;
    let result = run_form_and_read_result(&app, &mut last_process).await;
    app.stop().await;
    assert_eq!(result, json!([1, "a"]), "{}: the expression gave {result}", peer.name());
}

/// Clicks Run, waits for the new process to end DONE and returns its result as the server has it.
async fn run_form_and_read_result(app: &Stack, last_process: &mut String) -> Value {
    app.click("#jobflow-run").await;
    let previous = last_process.clone();
    let process = app.text_when("#jobflow-process", "a new process", |p| !p.is_empty() && p != previous).await;
    *last_process = process.clone();
    let status = app.text_when("#jobflow-status", "the run's end", |s| s == "DONE" || s == "ABORTED").await;
    let finished = app.rest.process(&process).await.unwrap_or_else(|e| app.fail(format!("read {process}: {e}")));
    if status != "DONE" {
        app.fail(format!("{process} ended {status}: {:?}", finished.error));
    }
    finished.result
}

/// Creates the job flow on the app's Kompira unless it is there (the real server keeps it).
async fn ensure_jobflow(app: &Stack, path: &str, source: &str) {
    if app.rest.get_object(path).await.is_ok() {
        return;
    }
    let (dir, name) = path.rsplit_once('/').expect("a path");
    let body = json!({"name": name, "type_object": "/system/types/Jobflow", "fields": {"source": source}});
    let created = app.rest_post(dir, &body).await.unwrap_or_else(|e| app.fail(format!("create {path}: {e}")));
    assert_eq!(created, 201, "create {path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_launch_shows_the_open_window_on_the_view_asked_for() {
    let app = Stack::start("second-launch", Lang::En).await;

    app.launch_again(&["--view", "settings"]);
    // The open window (the WebDriver session's) switched to Settings.
    app.element("#view-settings").await;
    app.launch_again(&["--view", "send"]);
    app.element("#view-send").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_kompira_sendevt_queued_while_the_broker_was_away_is_sent_by_the_app() {
    let app = Stack::start("outbox", Lang::En).await;

    // Nothing listens on port 1: sendevt keeps the event in the per-user outbox, which the
    // app's drainer also reads (same HOME), and the app sends it on.
    app.sendevt(&[
        "--port",
        "1",
        "--queue-on-failure",
        "--channel",
        DESKTOP_CHANNEL,
        "hostname=web9",
        "message=queued",
    ]);
    let message = app.receive(DESKTOP_CHANNEL).await;
    let status =
        app.text_when("#status", "the status without waiting events", |t| !t.contains("waiting to send")).await;
    app.stop().await;

    assert_eq!(message, json!({"hostname": "web9", "message": "queued"}));
    assert!(status.starts_with("Kompira Tray: "), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_sent_with_kompira_sendevt_pops_up_and_is_listed_in_english_and_japanese() {
    for (lang, title, open, remedy) in [
        (Lang::En, DISK_FULL_TITLE, "Open", "Run restart_process"),
        (Lang::Ja, DISK_FULL_TITLE_JA, "開く", "restart_process を実行"),
    ] {
        let app = Stack::start(&format!("alert-{}", lang.code()), lang).await;

        send_alert(&app, &DISK_FULL);
        let popup = app.popup("for the disk-full alert", |n| n.body == DISK_FULL_BODY).await;
        app.show_view("alerts").await;
        let listed = listed_alerts(&app, 1).await;
        app.stop().await;

        assert_eq!(popup.summary, title, "the popup's headline on a {lang:?} desktop");
        assert_eq!(popup.app_name, "Kompira Tray");
        assert_eq!(popup.urgency, Some(CRITICAL));
        assert_eq!(popup.actions, actions(&[(OPEN, open), (REMEDY, remedy)]), "the Alert channel has a remedy");
        assert_eq!(
            listed,
            [json!({"title": title, "body": DISK_FULL_BODY, "severity": "High", "children": 0})],
            "the window lists it as the popup words it"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_alert_fields_stays_inert_text() {
    let app = Stack::start("markup", Lang::En).await;
    // Each payload would leave a mark if the page ever parsed it: an element, a title, a flag.
    let img = r#"<img src=x onerror="document.title='pwned'">"#;
    let script = "<script>window.pwned = 1</script>";
    let svg = r#"<svg onload="window.pwned = 2"></svg>"#;
    let (hostname, trigger_name, note) =
        (format!("hostname={img}"), format!("trigger_name={script}"), format!("note={svg}"));

    send_alert(&app, &["status=PROBLEM", "severity=5", &hostname, &trigger_name, &note]);
    let popup = app.popup("for the markup alert", |n| n.summary.contains("<script>")).await;
    app.show_view("alerts").await;
    let listed = listed_alerts(&app, 1).await;
    let marks = app
        .script(
            "return { elements: document.querySelectorAll('#alert-list img, #alert-list script, #alert-list svg').length,
                      title: document.title, pwned: window.pwned === undefined ? null : window.pwned };",
            json!([]),
        )
        .await;
    app.stop().await;

    assert_eq!(popup.summary, format!("Disaster: {script} on {img}"));
    assert_eq!(popup.body, format!("note: {svg}"));
    assert_eq!(listed[0]["title"], popup.summary, "the list shows the literal text");
    assert_eq!(listed[0]["body"], popup.body);
    assert_eq!(listed[0]["children"], 0, "no element inside the alert's text: {listed:?}");
    assert_eq!(marks, json!({"elements": 0, "title": "Kompira Tray", "pwned": null}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn popups_escape_markup_for_a_notification_server_that_reads_it() {
    let app = Stack::start("popup-markup", Lang::En).await;
    let link = r#"<a href="https://evil.example/">click here</a>"#;
    // A server that reads bodies as markup (GNOME Shell, KDE, dunst, xfce4-notifyd say so).
    app.recorder.set_capabilities(&["body", "body-markup", "actions"]);
    send_alert(
        &app,
        &["status=PROBLEM", "severity=4", "host=web1", "trigger_name=Link", &format!("detail={link} & a < b")],
    );
    let escaped = app.popup("for the alert with a link, to a markup server", |n| n.summary.contains("Link")).await;
    // The same alert to a server that takes plain text arrives as typed.
    app.recorder.set_capabilities(&["body", "actions"]);
    send_alert(&app, &["status=PROBLEM", "severity=4", "host=web2", "trigger_name=Plain", &format!("detail={link}")]);
    let plain = app.popup("for the alert with a link, to a plain server", |n| n.summary.contains("Plain")).await;
    app.stop().await;

    assert_eq!(escaped.body, r#"&lt;a href="https://evil.example/"&gt;click here&lt;/a&gt; &amp; a &lt; b"#);
    assert_eq!(plain.body, link);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_follows_the_desktop_language_in_english_and_japanese() {
    for (lang, send_tab, alerts_tab) in [(Lang::En, "Quick send", "Alerts"), (Lang::Ja, "クイック送信", "アラート")]
    {
        let app = Stack::start_with(&format!("screenshots-{}", lang.code()), lang, Graphics::GtkDefault).await;
        app.fill("#channel", DESKTOP_CHANNEL).await;
        app.fill_rows("#fields", &[("hostname", "web1"), ("severity", "4"), ("trigger_name", "Disk full")]).await;
        app.click("#send-button").await;
        sent_correlation_id(&app).await;
        send_alert(&app, &DISK_FULL);
        send_alert(
            &app,
            &["status=PROBLEM", "severity=2", "hostname=db1", "trigger_name=Slow queries", "detail=p95 above 2 s"],
        );
        listed_alerts(&app, 2).await;
        // The watcher says "connected" once a long poll has answered, here with the alerts.
        let connected = if lang == Lang::Ja { "接続中" } else { "connected" };
        app.text_when("#status", "the connected state", |t| t.contains(connected)).await;
        let quick_send = app.screenshot(&format!("quick-send-{}", lang.code())).await;
        app.show_view("alerts").await;
        let alerts = app.screenshot(&format!("alerts-{}", lang.code())).await;
        let labels = app
            .script(
                "return { lang: document.documentElement.lang,
                          send: document.getElementById('tab-send').textContent,
                          alerts: document.getElementById('tab-alerts').textContent,
                          size: [innerWidth * devicePixelRatio, innerHeight * devicePixelRatio] };",
                json!([]),
            )
            .await;
        app.stop().await;

        assert_eq!(labels["lang"], lang.code());
        assert_eq!(labels["send"], send_tab);
        assert_eq!(labels["alerts"], alerts_tab);
        for png in [&quick_send, &alerts] {
            assert_eq!(json!(png_size(png)), labels["size"], "a screenshot of the whole window, in {lang:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_on_an_alert_popup_shows_that_alert_in_the_window() {
    let app = Stack::start("popup-open", Lang::En).await;
    send_alert(&app, &DISK_FULL);
    send_alert(&app, &["status=PROBLEM", "severity=2", "hostname=db1", "trigger_name=Slow queries"]);
    let disk_full = app.popup("for the disk-full alert", |n| n.summary == DISK_FULL_TITLE).await;
    app.popup("for the slow-queries alert", |n| n.summary.contains("Slow queries")).await;

    app.choose_action(disk_full.id, OPEN).await;
    app.element("#view-alerts").await;
    let focused = app.text_when("#alert-list li.focused .title", "the opened alert", |t| !t.is_empty()).await;
    app.stop().await;

    assert_eq!(focused, DISK_FULL_TITLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_on_an_alert_popup_asks_first_then_runs_the_channels_remedy_with_the_allowed_fields() {
    let app = Stack::start("popup-remedy", Lang::En).await;
    send_alert(&app, &["status=PROBLEM", "severity=4", "host=web1", "trigger_name=Service down"]);
    let alert = app.popup("for the service-down alert", |n| n.summary == "High: Service down on web1").await;

    // Nothing runs from the popup: the window asks once, naming the job flow and the exact
    // parameters ([notify] remedies allows only `host`), and what stays out.
    app.choose_action(alert.id, REMEDY).await;
    let jobflow = app.text_when("#remedy-confirm-jobflow", "the confirmation's job flow", |t| !t.is_empty()).await;
    app.text_when("#remedy-confirm-params", "the confirmation's parameters", |t| !t.is_empty()).await;
    let params = app
        .script(
            "return [...document.querySelectorAll('#remedy-confirm-params tr')].map(r => [...r.cells].map(c => c.textContent))",
            json!([]),
        )
        .await;
    let notes = app.text_when("#remedy-confirm-notes", "what is not passed", |t| !t.is_empty()).await;
    let before_confirming = app.rest.get_json("/process").await.unwrap_or_else(|e| app.fail(e));
    app.click("#remedy-confirm-run").await;
    let result = app.popup("with the remedy's result", |n| n.summary.starts_with("restart_process:")).await;
    let process_path = result.body.lines().next().unwrap_or_default().to_owned();
    let processes = app.rest.get_json("/process").await.unwrap_or_else(|e| app.fail(e));
    app.show_view("alerts").await;
    let shown = app.text_when("#alert-list li .run-status", "the run's outcome", |t| t.contains("DONE")).await;
    app.stop().await;

    assert_eq!(jobflow, stack::REMEDY_JOBFLOW);
    assert_eq!(params, json!([["host", "web1"]]), "only the allowed field, with its exact value");
    assert!(notes.contains("Not passed") && notes.contains("severity") && notes.contains("trigger_name"), "{notes}");
    assert_eq!(before_confirming["count"], 0, "nothing ran before the user confirmed: {before_confirming}");
    assert_eq!(result.summary, "restart_process: DONE");
    assert_eq!(processes["count"], 1, "one run on the stand-in: {processes}");
    let process = &processes["results"][0];
    assert_eq!((&process["abspath"], &process["job"]), (&json!(process_path), &json!(stack::REMEDY_JOBFLOW)));
    assert_eq!(
        (&process["status"], &process["result"]),
        (&json!("DONE"), &json!("restarted on web1")),
        "host came from the alert"
    );
    assert!(
        shown.starts_with(&format!("{}: DONE · {process_path}", stack::REMEDY_JOBFLOW)),
        "the alert shows its run: {shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_settings_keeps_every_line_of_kompira_conf_and_switches_the_language() {
    let app = Stack::start("settings", Lang::En).await;
    let conf_path = app.conf_path.clone();
    let before = std::fs::read_to_string(&conf_path).unwrap();

    app.show_view("settings").await;
    app.fill(&setting("notify.quiet_hours"), "22:00-07:00").await;
    app.choose(&setting("tray.language"), "ja").await;
    app.click("#settings-save").await;
    let saved = app.text_when("#settings-result", "where it saved", |t| !t.is_empty()).await;
    let send_tab = app.text_when("#tab-send", "its Japanese label", |t| t != "Quick send").await;
    let after = std::fs::read_to_string(&conf_path).unwrap();
    app.stop().await;

    assert_eq!(saved, format!("保存しました: {}", conf_path.display()));
    assert_eq!(send_tab, "クイック送信");
    let mut kept = after.lines();
    for line in before.lines() {
        assert!(kept.any(|l| l == line), "{line:?} is gone or moved; the file now reads:\n{after}");
    }
    let added: Vec<&str> = after.lines().filter(|l| !before.lines().any(|b| b == *l)).collect();
    assert_eq!(added, ["quiet_hours = 22:00-07:00", "[tray]", "language = ja"], "the file now reads:\n{after}");
}

/// The settings view's input for a `section.key` field.
fn setting(id: &str) -> String {
    format!("[id=\"set-{id}\"]")
}

/// Sends an event to the watched channel with `kompira_sendevt`.
fn send_alert(app: &Stack, fields: &[&str]) {
    app.sendevt(&[&["--channel", ALERT_CHANNEL][..], fields].concat());
}

/// Waits for the quick-send result and returns its correlation id; fails with the form's error.
async fn sent_correlation_id(app: &Stack) -> String {
    let outcome = app
        .wait("the quick-send result", UI_TIMEOUT, async || {
            let shown = app
                .window
                .execute(
                    "const shown = (id) => { const e = document.getElementById(id); return e.hidden ? null : e.textContent; };
                     return { result: shown('send-result'), error: shown('send-error') };",
                    json!([]),
                )
                .await?;
            Ok((!shown["result"].is_null() || !shown["error"].is_null()).then_some(shown))
        })
        .await;
    match outcome["result"].as_str() {
        Some(text) => text.rsplit(' ').next().unwrap_or_default().to_owned(),
        None => app.fail(format!("the form said: {}", outcome["error"])),
    }
}

/// The Alerts view's items once there are `count`: title, body, severity, and how many elements
/// the title and body hold (0: plain text).
async fn listed_alerts(app: &Stack, count: usize) -> Vec<Value> {
    app.wait(&format!("{count} alerts in the list"), UI_TIMEOUT, async || {
        let items = app
            .window
            .execute(
                "return [...document.querySelectorAll('#alert-list li')].map((li) => {
                   const title = li.querySelector('.title'), body = li.querySelector('.body');
                   return { title: title.textContent, body: body.textContent, severity: li.dataset.severity,
                            children: title.children.length + body.children.length };
                 });",
                json!([]),
            )
            .await?;
        let items = items.as_array().cloned().unwrap_or_default();
        Ok((items.len() >= count).then_some(items))
    })
    .await
}

fn actions(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(key, label)| (key.to_string(), label.to_string())).collect()
}

fn is_uuid4(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
        && groups[2].starts_with('4')
}

/// Width and height from a PNG's header.
fn png_size(png: &[u8]) -> [u32; 2] {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 24, "not a PNG");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    [be(16), be(20)]
}

/// Waits for a process to end; its result.
async fn result_of(app: &Stack, process: &str) -> Value {
    match app.rest.wait(process, std::time::Duration::from_secs(20)).await {
        Ok(Some(done)) if done.status.as_str() == "DONE" => done.result,
        other => app.fail(format!("{process} did not end DONE: {other:?}")),
    }
}

/// The real server's `ask_person` (docs/kompira-protocol.md §5): the stand-in's TASK_JOBFLOW as Kompira code.
const ASK_PERSON_SOURCE: &str = "[t = /task.add(name=\"ask_person\", title=\"Question from ask_person\", \
    message=\"Which host should be used?\", action=[\"web 1\", \"web 2\"])] ->\n[[\"root\"] >> t.assigned_users] ->\n\
    print(t) ->\n<t> ->\n[answer = $RESULT] ->\n[t.close] ->\nreturn(answer)\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_pops_up_and_is_answered_from_the_popup_or_the_tasks_view() {
    answer_a_task(RestPeer::StandIn).await;
    match RestPeer::real_from_env() {
        Some(real) => answer_a_task(real).await,
        None => eprintln!("against the real Kompira: SKIPPED (set KOMPIRA_REAL_URL and KOMPIRA_REAL_TOKEN to run it)"),
    }
}

async fn answer_a_task(peer: RestPeer) {
    let app = Stack::start_against("task-popup", Lang::En, peer).await;
    ensure_jobflow(&app, TASK_JOBFLOW, ASK_PERSON_SOURCE).await;
    let run = kompira_core::rest::ExecuteRequest::default();

    // The agent's own poll finds the task; a choice button answers the job flow.
    let process = app.rest.execute(TASK_JOBFLOW, &run).await.unwrap_or_else(|e| app.fail(e));
    let popup = app.popup("for the waiting task", |n| n.summary == TASK_TITLE).await;
    assert_eq!(popup.body, "Which host should be used?");
    let labels: Vec<&str> = popup.actions.iter().map(|(_, label)| label.as_str()).collect();
    assert_eq!(labels, ["web 1", "web 2"]);
    let web2 = popup.actions.iter().find(|(_, label)| label == "web 2").map(|(key, _)| key.clone()).unwrap();
    app.choose_action(popup.id, &web2).await;
    assert_eq!(result_of(&app, &process).await, json!("web 2"));
    app.popup("saying the answer went", |n| n.summary == "Answer sent" && n.body.ends_with(": web 2")).await;

    // The Tasks view lists the next one; a typed answer goes, and the task leaves the list.
    let process = app.rest.execute(TASK_JOBFLOW, &run).await.unwrap_or_else(|e| app.fail(e));
    app.show_view("tasks").await;
    app.text_when("#task-list", "the waiting task", |t| t.contains(TASK_TITLE) && t.contains("web 1")).await;
    app.fill("#task-list input", "web 3").await;
    app.click("#task-list .submit").await;
    app.text_when("#tasks-result", "that the answer went", |t| t == "Answer sent.").await;
    app.element("#no-tasks").await;
    assert_eq!(result_of(&app, &process).await, json!("web 3"));
    app.stop().await;
}
