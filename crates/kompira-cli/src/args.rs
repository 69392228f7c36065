//! The `kompira` command line (clap derive) and its mapping to config overrides.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use kompira_core::config::{Override, Value};
use kompira_core::rest::MonitoringMode;

/// Run Kompira job flows, follow processes, use channels and answer tasks over the Kompira
/// REST API.
///
/// The server and token come from the [rest] section of kompira.conf (url, token, ca_file,
/// insecure, timeout), then KOMPIRA_URL and KOMPIRA_TOKEN, then these options. Exit status:
/// 0 done, 1 failure (or the process ABORTED), 2 usage error.
#[derive(Parser, Debug)]
#[command(name = "kompira", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Args, Debug)]
pub struct Common {
    /// Read only this configuration file (not the system, install or per-user ones).
    #[arg(short = 'c', long, value_name = "FILE", global = true, help_heading = "Server")]
    pub config: Option<PathBuf>,
    /// Server base URL, e.g. https://kompira.example.com ([rest] url).
    #[arg(long, value_name = "URL", global = true, help_heading = "Server")]
    pub url: Option<String>,
    /// REST API token ([rest] token). Discouraged: other users can read command lines
    /// (ps); prefer [rest] token in kompira.conf or KOMPIRA_TOKEN.
    #[arg(long, value_name = "TOKEN", global = true, help_heading = "Server")]
    pub token: Option<String>,
    /// Extra CA certificate (PEM) to trust for the server ([rest] ca_file).
    #[arg(long, value_name = "FILE", global = true, help_heading = "Server")]
    pub ca_file: Option<PathBuf>,
    /// Do not check the server's certificate (test servers only; [rest] insecure).
    #[arg(long, global = true, help_heading = "Server")]
    pub insecure: bool,
    /// Seconds allowed for one ordinary request ([rest] timeout). Named apart from the
    /// --timeout of `process wait` and `channel recv`, which is how long to wait.
    #[arg(long, value_name = "SECONDS", global = true, help_heading = "Server",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Job flows: run, show, list.
    #[command(subcommand)]
    Jobflow(JobflowCommand),
    /// Processes: show, wait, terminate.
    #[command(subcommand)]
    Process(ProcessCommand),
    /// Channels: send and receive messages.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Tasks (a job flow waiting for a person): list, show, submit an answer, cancel.
    #[command(subcommand)]
    Task(crate::task::TaskCommand),
    /// The local outbox of events waiting for the broker (`kompira_sendevt
    /// --queue-on-failure`, the tray app): status, list, show, send, drain, retry, discard.
    /// Uses [amqp-connection] and [outbox] of kompira.conf, not [rest].
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The OS keyring, for kompira.conf's `[secrets] store = keyring`: set or delete the AMQP
    /// password (amqp-connection.password) or the REST token (rest.token).
    #[command(subcommand)]
    Secret(SecretCommand),
}

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// How many events wait, their size, the oldest and the last error.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The waiting events, oldest first: id, queued at, attempts, channel, size, last error.
    List {
        /// Show at most this many.
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// One waiting event in full: correlation id, headers and body.
    Show {
        /// Its outbox id (from `list`).
        id: i64,
    },
    /// Send every waiting event now, trying the broker once; exit 1 if it cannot be reached.
    Send {
        #[command(flatten)]
        target: DrainTarget,
    },
    /// Send until the outbox is empty, reconnecting with backoff while the broker is away.
    /// With --follow, keep running and send events as they are queued (Ctrl+C stops): the
    /// headless host of the drainer the tray app runs.
    Drain {
        /// Keep running when the outbox is empty.
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        target: DrainTarget,
    },
    /// Make waiting events due at once; a running drainer stops waiting out its backoff.
    Retry {
        /// Only this event [default: all].
        id: Option<i64>,
    },
    /// Remove waiting events without sending them: one id, or --all.
    Discard {
        /// The event's outbox id.
        #[arg(required_unless_present = "all")]
        id: Option<i64>,
        /// Every waiting event.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
}

/// Test and benchmark knobs of `outbox send|drain`, hidden from --help.
#[derive(Args, Debug)]
pub struct DrainTarget {
    /// Publish to this queue instead of io_queue (tests and benchmarks).
    #[arg(long, hide = true, value_name = "QUEUE")]
    pub queue: Option<String>,
    /// Events per window of publishes awaiting confirms together.
    #[arg(long, hide = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub window: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum SecretCommand {
    /// Store a secret, read from the first line of standard input (never from the command
    /// line, which other users can see).
    Set {
        /// amqp-connection.password or rest.token.
        name: String,
    },
    /// Remove a secret (nothing happens if it is not stored).
    Delete {
        /// amqp-connection.password or rest.token.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum JobflowCommand {
    /// Start a job flow and print the new process path.
    Run {
        /// The job flow, e.g. /root/restart_process.
        path: String,
        /// A parameter. KEY=TEXT passes TEXT exactly as typed (sent as a Kompira string
        /// literal: -p host='web 1'); KEY:=EXPR passes a Kompira expression for the server to
        /// compile (-p count:=3, -p dry:=true, -p hosts:='["a", "b"]'). Repeatable.
        #[arg(short = 'p', long = "param", value_name = "KEY=TEXT|KEY:=EXPR")]
        params: Vec<String>,
        /// Run in step mode.
        #[arg(long)]
        step: bool,
        /// Run in checkpoint mode.
        #[arg(long)]
        checkpoint: bool,
        /// Mail on end or abort: NOTHING, MAIL or ABORT_MAIL.
        #[arg(long, value_name = "MODE")]
        monitoring: Option<MonitoringMode>,
        /// Follow the process: print status changes and console output as they come,
        /// then the outcome; exit 1 if it ABORTED.
        #[arg(long)]
        wait: bool,
    },
    /// Show a job flow.
    Show {
        /// The job flow path.
        path: String,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the job flows below a directory, one path per line.
    List {
        /// The directory.
        #[arg(default_value = "/root")]
        dir: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProcessCommand {
    /// Show a process: 262, id_262 or /process/id_262.
    Show {
        /// The process.
        id: String,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Wait for a process to finish; exit 1 if it ABORTED or is still running at the end.
    Wait {
        /// The process.
        id: String,
        /// Give up after this many seconds (default: wait until it finishes).
        #[arg(long = "timeout", value_name = "SECONDS")]
        wait_timeout: Option<u64>,
    },
    /// Ask the server to stop a process.
    Terminate {
        /// The process.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ChannelCommand {
    /// Queue a message: KEY=VALUE pairs make a JSON object of strings (as kompira_sendevt
    /// does), or --json sends any JSON value.
    Send {
        /// The channel, e.g. /system/channels/Alert.
        path: String,
        /// Message fields.
        #[arg(value_name = "KEY=VALUE", required_unless_present = "json")]
        fields: Vec<String>,
        /// The whole message as JSON.
        #[arg(long, value_name = "JSON", conflicts_with = "fields")]
        json: Option<String>,
    },
    /// Watch channels for alerts and print each as it arrives (Ctrl+C stops). Like recv, this
    /// consumes the messages: watch a channel of your own (see the README).
    Watch {
        /// Channels to watch [default: [notify] channels, else the [event] channel].
        paths: Vec<String>,
        /// One JSON object per alert instead of text.
        #[arg(long)]
        json: bool,
        /// Stop after this many alerts (for scripts). Alerts already taken off the channel
        /// when it stops are printed too, never dropped.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
        /// Seconds each `.recv` waits on the server. Kompira hands the next message to a
        /// `.recv` whose client has gone (a cut connection), so longer polls put more at risk
        /// per cut; shorter ones cost more requests (BENCHMARKS.md has both).
        #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
        poll_seconds: u64,
    },
    /// Take the first message off a channel and print it as JSON; exit 1 if none came.
    /// This consumes the message: job flows waiting on the channel will not see it.
    Recv {
        /// The channel.
        path: String,
        /// Seconds to wait for a message.
        #[arg(long = "timeout", value_name = "SECONDS", default_value_t = 0)]
        wait_timeout: u64,
    },
}

impl Common {
    /// The given options as `[rest]` overrides, for `config::load`.
    pub fn overrides(&self) -> Vec<Override> {
        let rest = |key: &str, value: Value, flag: &str| Override {
            section: "rest".into(),
            key: key.into(),
            value,
            flag: flag.into(),
        };
        let path = |p: &PathBuf| Value::Str(p.to_string_lossy().into_owned());
        let mut out = Vec::new();
        if let Some(url) = &self.url {
            out.push(rest("url", Value::Str(url.clone()), "--url"));
        }
        if let Some(token) = &self.token {
            out.push(rest("token", Value::Str(token.clone()), "--token"));
        }
        if let Some(ca) = &self.ca_file {
            out.push(rest("ca_file", path(ca), "--ca-file"));
        }
        if self.insecure {
            out.push(rest("insecure", Value::Bool(true), "--insecure"));
        }
        if let Some(secs) = self.request_timeout {
            let secs = i64::try_from(secs).unwrap_or(i64::MAX);
            out.push(rest("timeout", Value::Int(secs), "--request-timeout"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_after_the_subcommand_become_overrides() {
        let cli = Cli::try_parse_from([
            "kompira",
            "process",
            "wait",
            "262",
            "--url",
            "http://k",
            "--insecure",
            "--request-timeout",
            "5",
            "--timeout",
            "9",
        ])
        .unwrap();
        let keys: Vec<_> = cli.common.overrides().into_iter().map(|o| o.key).collect();
        assert_eq!(keys, ["url", "insecure", "timeout"]);
    }

    #[test]
    fn send_needs_fields_or_json_but_not_both() {
        assert!(Cli::try_parse_from(["kompira", "channel", "send", "/c"]).is_err());
        assert!(Cli::try_parse_from(["kompira", "channel", "send", "/c", "a=1", "--json", "1"]).is_err());
        assert!(Cli::try_parse_from(["kompira", "channel", "send", "/c", "--json", "[1]"]).is_ok());
    }

    #[test]
    fn outbox_discard_needs_an_id_or_all_but_not_both() {
        assert!(Cli::try_parse_from(["kompira", "outbox", "discard"]).is_err());
        assert!(Cli::try_parse_from(["kompira", "outbox", "discard", "3", "--all"]).is_err());
        assert!(matches!(
            Cli::try_parse_from(["kompira", "outbox", "discard", "--all"]).unwrap().command,
            Command::Outbox(OutboxCommand::Discard { id: None, all: true })
        ));
        assert!(matches!(
            Cli::try_parse_from(["kompira", "outbox", "drain", "--follow"]).unwrap().command,
            Command::Outbox(OutboxCommand::Drain { follow: true, .. })
        ));
    }

    #[test]
    fn monitoring_mode_is_checked_by_clap() {
        assert!(Cli::try_parse_from(["kompira", "jobflow", "run", "/j", "--monitoring", "loud"]).is_err());
        let cli = Cli::try_parse_from(["kompira", "jobflow", "run", "/j", "--monitoring", "abort_mail"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Jobflow(JobflowCommand::Run { monitoring: Some(MonitoringMode::AbortMail), .. })
        ));
    }
}
