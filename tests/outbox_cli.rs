//! The outbox from the command line, against the real broker: `kompira_sendevt
//! --queue-on-failure` queues an event the broker could not take, `kompira outbox` shows it,
//! and `kompira outbox drain` sends it later with the same correlation id and the same bytes.

use std::path::Path;
use std::process::{Command, Output};

use kompira_e2e::{connect_options, workspace_binary};
use kompira_testkit as testkit;

fn run(binary: &str, conf: &Path, args: &[&str]) -> Output {
    Command::new(workspace_binary(binary))
        .arg("-c")
        .arg(conf)
        .args(args)
        .env_remove("AMQP_URL")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_queued_while_the_broker_was_away_is_sent_later_unchanged() {
    let url = testkit::broker_url();
    let queue = format!("kompira-outbox-cli-{}", std::process::id());
    testkit::declare_queue(&url, &queue).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox.sqlite3");
    let options = connect_options(&url);
    let conf_with_port = |port: u16| {
        let conf = dir.path().join(format!("kompira-{port}.conf"));
        std::fs::write(
            &conf,
            format!(
                "[amqp-connection]\nserver = {}\nport = {port}\nuser = {}\npassword = {}\nmax_retry = 0\n\n[logging]\nlogdir = {}\n\n[outbox]\npath = {}\n",
                options.server,
                options.user,
                options.password.expose(),
                dir.path().display(),
                outbox.display()
            ),
        )
        .unwrap();
        conf
    };
    // Port 1: nothing listens, the broker is "away".
    let away = conf_with_port(1);
    let queued = run("kompira_sendevt", &away, &["--queue-on-failure", "host=web1", "severity=4"]);
    assert_eq!(queued.status.code(), Some(0), "{}", text(&queued.stderr));
    let stdout = text(&queued.stdout);
    let correlation_id = stdout
        .split_whitespace()
        .find(|w| w.len() == 36 && w.matches('-').count() == 4)
        .expect("a correlation id")
        .to_owned();

    let status = run("kompira", &away, &["outbox", "status"]);
    assert!(text(&status.stdout).contains("waiting:   1 event(s)"), "{}", text(&status.stdout));
    let list = run("kompira", &away, &["outbox", "list"]);
    assert!(text(&list.stdout).contains(&correlation_id), "{}", text(&list.stdout));
    let failed = run("kompira", &away, &["outbox", "send", "--queue", &queue]);
    assert_eq!(failed.status.code(), Some(1), "send tries once and says why");
    assert!(text(&failed.stderr).contains("cannot connect"), "{}", text(&failed.stderr));
    let list = run("kompira", &away, &["outbox", "list"]);
    assert!(
        text(&list.stdout).contains("attempts=0") && text(&list.stdout).contains("cannot connect"),
        "{}",
        text(&list.stdout)
    );

    // The broker is back.
    let back = conf_with_port(options.port);
    let drained = run("kompira", &back, &["outbox", "drain", "--queue", &queue]);
    assert_eq!(drained.status.code(), Some(0), "{}", text(&drained.stderr));
    assert_eq!(text(&drained.stdout).trim(), "sent 1 event(s); 0 waiting");
    let received = testkit::receive_many(&url, &queue, 2, std::time::Duration::from_secs(2)).await.unwrap();
    testkit::delete_queue(&url, &queue).await.unwrap();
    assert_eq!(received.len(), 1, "sent once");
    let message = &received[0];
    assert_eq!(message.body_utf8(), Some(r#"{"host": "web1", "severity": "4"}"#));
    assert_eq!(message.properties.correlation_id().as_ref().map(|s| s.to_string()), Some(correlation_id));
    assert_eq!(message.properties.delivery_mode(), &Some(2));
    let status = run("kompira", &back, &["outbox", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["pending"], 0);
}
