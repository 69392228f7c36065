//! The stand-in and a kompira.conf that points at it: the set-up of every test that runs a tool
//! or the agent against `kompira-sim`.

use std::path::PathBuf;

use kompira_sim::{Definitions, SimConfig, SimHandle};

use crate::Sandbox;

/// A job flow that waits for a person, as stand-in definitions (TOML): the real server's
/// `ask_person` example (docs/kompira-protocol.md §5), whose process waits until its task is
/// answered.
pub const ASK_PERSON_DEFINITION: &str = r#"
[[jobflow]]
path = "/root/ask_person"
duration_ms = 20
[jobflow.task]
title = "Question from ask_person"
message = "Which host should be used?"
action = ["web 1", "web 2"]
assigned_users = ["root"]
"#;

/// A running stand-in (plain HTTP on a free loopback port, no AMQP) and a sandbox whose
/// `kompira.conf` has its `[rest]` section.
pub struct SimWithConf {
    pub sim: SimHandle,
    pub sandbox: Sandbox,
}

impl SimWithConf {
    /// The sandbox's kompira.conf.
    pub fn conf(&self) -> PathBuf {
        self.sandbox.conf()
    }
}

/// Starts the stand-in accepting `token`, serving `definitions`, and writes a kompira.conf with
/// `[rest] url`, `token = conf_token` and `timeout = 10`, followed by `more` (other sections).
/// `conf_token` differs from `token` in tests of a refused token.
pub async fn sim_with_conf(token: &str, conf_token: &str, definitions: Definitions, more: &str) -> SimWithConf {
    let sim = kompira_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().expect("a loopback address"),
        token: token.to_owned(),
        amqp_url: None,
        definitions,
        tls: None,
    })
    .await
    .expect("the stand-in starts");
    let sandbox = Sandbox::with_conf(&format!(
        "[rest]\nurl = {}\ntoken = {conf_token}\ntimeout = 10\n{}{more}",
        sim.base_url,
        if more.is_empty() { "" } else { "\n" }
    ));
    SimWithConf { sim, sandbox }
}

/// Settings read from `file` alone, as the app reads a `KOMPIRA_CONF` file, with an empty
/// environment: what unit tests of the agent and the window load their scratch kompira.conf with.
pub fn settings_from_file(file: &std::path::Path) -> kompira_core::config::Settings {
    let no_env = |_: &str| None;
    kompira_core::config::load(&kompira_core::config::LoadOptions {
        os: kompira_core::config::Os::Linux,
        explicit_config: Some(file.to_path_buf()),
        exe: None,
        cwd: Some(file.parent().map(std::path::Path::to_path_buf).unwrap_or_default()),
        include_user_file: false,
        env: &no_env,
        overrides: Vec::new(),
    })
    .unwrap_or_else(|e| panic!("the test's kompira.conf {} loads: {e}", file.display()))
}
