//! The command line of the official `kompira_sendevt`, option for option (docs/kompira-protocol.md §2).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Parser};
use kompira_core::config::{Override, Value};

/// `--version` prints `kompira_sendevt (Kompira version …)` like the reference, plus ours.
const VERSION: &str = concat!("(Kompira version 2.0.0 compatible; Kompira Tray ", env!("CARGO_PKG_VERSION"), ")");

/// Send an event to Kompira through its AMQP server.
///
/// With KEY=VAL arguments the event is a JSON object of strings; without them, standard input
/// is sent as it is (or decoded with --decode-stdin). Settings come from kompira.conf, then
/// the environment, then these options.
#[derive(Parser, Debug)]
#[command(name = "kompira_sendevt", version = VERSION, max_term_width = 100)]
pub struct Args {
    /// Read only this configuration file.
    #[arg(short = 'c', long, value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// Show the resolved settings and where each comes from, then exit.
    #[arg(short = 't', long)]
    pub test_settings: bool,

    /// Site id sent with the event ([kompira] site_id).
    // Negative numbers allowed: argparse takes `--site-id -1` as the value -1, and clap
    // would otherwise read `-1` as an unknown short option.
    #[arg(long, value_name = "SITE_ID", help_heading = "kompira", allow_negative_numbers = true)]
    pub site_id: Option<i64>,

    /// Log level: DEBUG, INFO, WARNING, ERROR, CRITICAL.
    #[arg(long, value_name = "LOGLEVEL", help_heading = "logging")]
    pub loglevel: Option<String>,
    /// Log directory.
    #[arg(long, value_name = "LOGDIR", help_heading = "logging")]
    pub logdir: Option<PathBuf>,
    /// Log size that triggers rotation, in bytes (0: rotate by time).
    #[arg(long, value_name = "LOGMAXSZ", help_heading = "logging")]
    pub logmaxsz: Option<u64>,
    /// Rotated log files to keep.
    #[arg(long, value_name = "LOGBACKUP", help_heading = "logging")]
    pub logbackup: Option<u32>,
    /// When to rotate by time: S, M, H, D, MIDNIGHT, W0-W6.
    #[arg(long, value_name = "LOGWHEN", help_heading = "logging")]
    pub logwhen: Option<String>,

    /// AMQP server name.
    #[arg(short = 's', long, value_name = "SERVER", help_heading = "amqp-connection")]
    pub server: Option<String>,
    /// AMQP port (default 5671 with SSL, else 5672).
    #[arg(short = 'p', long, value_name = "PORT", help_heading = "amqp-connection",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// AMQP user (default guest for a local server, else kompira).
    #[arg(long, value_name = "USER", help_heading = "amqp-connection")]
    pub user: Option<String>,
    /// AMQP password (default: the user name).
    #[arg(long, value_name = "PASSWORD", help_heading = "amqp-connection")]
    pub password: Option<String>,
    /// Connect with TLS.
    #[arg(long, overrides_with = "no_ssl", help_heading = "amqp-connection")]
    pub ssl: bool,
    /// Connect without TLS.
    #[arg(long, overrides_with = "ssl", help_heading = "amqp-connection")]
    pub no_ssl: bool,
    /// Verify the server certificate against the CA file and present a client certificate.
    #[arg(long, overrides_with = "no_ssl_verify", help_heading = "amqp-connection")]
    pub ssl_verify: bool,
    /// Do not verify the server certificate.
    #[arg(long, overrides_with = "ssl_verify", help_heading = "amqp-connection")]
    pub no_ssl_verify: bool,
    /// CA certificate file.
    #[arg(long, value_name = "SSL_CACERTFILE", help_heading = "amqp-connection")]
    pub ssl_cacertfile: Option<PathBuf>,
    /// Client certificate file.
    #[arg(long, value_name = "SSL_CERTFILE", help_heading = "amqp-connection")]
    pub ssl_certfile: Option<PathBuf>,
    /// Client private key file.
    #[arg(long, value_name = "SSL_KEYFILE", help_heading = "amqp-connection")]
    pub ssl_keyfile: Option<PathBuf>,
    /// Further connection attempts after a failure.
    #[arg(long, value_name = "MAX_RETRY", help_heading = "amqp-connection")]
    pub max_retry: Option<u32>,
    /// Seconds between connection attempts (0: no retry).
    #[arg(long, value_name = "RETRY_INTERVAL", help_heading = "amqp-connection")]
    pub retry_interval: Option<u64>,
    /// Seconds to wait for the broker before giving up an attempt.
    #[arg(long, value_name = "SECONDS", help_heading = "amqp-connection",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout: Option<u64>,

    /// Kompira channel the event goes to.
    #[arg(long, value_name = "CHANNEL", help_heading = "event")]
    pub channel: Option<String>,

    /// Open and close a connection to the AMQP server; send nothing.
    #[arg(long)]
    pub test_connection: bool,
    /// Encoding of standard input for --decode-stdin (default: the locale's).
    #[arg(long, value_name = "ENCODING")]
    pub encoding: Option<String>,
    /// Decode standard input with --encoding and send it as UTF-8.
    #[arg(long)]
    pub decode_stdin: bool,
    /// Show what would be sent (password masked); connect to nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Log everything to the console.
    #[arg(long)]
    pub debug: bool,
    /// When the broker cannot be reached (after the configured retries), keep the event in
    /// the local outbox ([outbox] path) instead of failing: prints its correlation id and
    /// exits 0. `kompira outbox drain` or the tray app sends it later, with the same id.
    /// Errors a retry cannot fix (refused login, missing io_queue, certificates) still fail.
    #[arg(long, help_heading = "ours")]
    pub queue_on_failure: bool,

    /// Key-value pairs to send.
    #[arg(value_name = "KEY=VAL", action = ArgAction::Append)]
    pub keyval: Vec<String>,
}

impl Args {
    /// Parses the process arguments, exiting with status 2 on a usage error.
    pub fn from_env() -> Self {
        Self::parse_from(normalise(std::env::args_os()))
    }

    /// The command-line settings, typed, for the config resolver.
    pub fn overrides(&self) -> Vec<Override> {
        let mut list = Vec::new();
        let mut add = |section: &str, key: &str, value: Option<Value>| {
            if let Some(value) = value {
                // Boolean options come in pairs; `false` can only have come from the --no- form.
                let negation = if value == Value::Bool(false) { "no-" } else { "" };
                let flag = format!("--{negation}{}", key.replace('_', "-"));
                list.push(Override { section: section.into(), key: key.into(), value, flag });
            }
        };
        let text = |s: &Option<String>| s.clone().map(Value::Str);
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| Value::Str(p.display().to_string()));
        let int = |n: Option<i64>| n.map(Value::Int);
        let flag_pair = |yes: bool, no: bool| match (yes, no) {
            (true, _) => Some(Value::Bool(true)),
            (_, true) => Some(Value::Bool(false)),
            _ => None,
        };
        add("kompira", "site_id", int(self.site_id));
        add("logging", "loglevel", text(&self.loglevel));
        add("logging", "logdir", path(&self.logdir));
        add("logging", "logmaxsz", int(self.logmaxsz.map(|n| n as i64)));
        add("logging", "logbackup", int(self.logbackup.map(i64::from)));
        add("logging", "logwhen", text(&self.logwhen));
        add("amqp-connection", "server", text(&self.server));
        add("amqp-connection", "port", int(self.port.map(i64::from)));
        add("amqp-connection", "user", text(&self.user));
        add("amqp-connection", "password", text(&self.password));
        add("amqp-connection", "ssl", flag_pair(self.ssl, self.no_ssl));
        add("amqp-connection", "ssl_verify", flag_pair(self.ssl_verify, self.no_ssl_verify));
        add("amqp-connection", "ssl_cacertfile", path(&self.ssl_cacertfile));
        add("amqp-connection", "ssl_certfile", path(&self.ssl_certfile));
        add("amqp-connection", "ssl_keyfile", path(&self.ssl_keyfile));
        add("amqp-connection", "max_retry", int(self.max_retry.map(i64::from)));
        add("amqp-connection", "retry_interval", int(self.retry_interval.map(|n| n as i64)));
        add("amqp-connection", "connect_timeout", int(self.connect_timeout.map(|n| n as i64)));
        add("event", "channel", text(&self.channel));
        list
    }
}

/// The reference accepts `_` for `-` in option names (`--site_id=3`). Only the name part of
/// long options changes; values, KEY=VAL arguments and everything after `--` stay as they are.
pub fn normalise(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut options_ended = false;
    args.into_iter()
        .enumerate()
        .map(|(index, arg)| {
            let Some(text) = arg.to_str() else { return arg };
            if index == 0 || options_ended || !text.starts_with("--") {
                return arg;
            }
            if text == "--" {
                options_ended = true;
                return arg;
            }
            match text.split_once('=') {
                Some((name, value)) => format!("{}={value}", name.replace('_', "-")).into(),
                None => text.replace('_', "-").into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        let argv = std::iter::once("kompira_sendevt").chain(args.iter().copied()).map(OsString::from);
        Args::try_parse_from(normalise(argv))
    }

    #[test]
    fn underscores_in_option_names_are_accepted() {
        let args = parse(&["--site_id=3", "--max_retry", "5", "--ssl_verify", "key_a=v_b"]).unwrap();
        assert_eq!(args.site_id, Some(3));
        assert_eq!(args.max_retry, Some(5));
        assert!(args.ssl_verify);
        assert_eq!(args.keyval, vec!["key_a=v_b"]);
    }

    #[test]
    fn a_negative_site_id_is_a_value_not_an_option() {
        // argparse reads `-1` after `--site-id` as its value; so must we.
        let cases = [&["--site-id", "-1"][..], &["--site-id=-1"], &["--site_id", "-1"], &["--site_id=-32769"]];
        for argv in cases {
            let args = parse(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert!(args.site_id.is_some_and(|id| id < 0), "{argv:?}: {:?}", args.site_id);
            assert!(args.keyval.is_empty(), "{argv:?}");
        }
        assert_eq!(parse(&["--site-id", "-1", "a=b"]).unwrap().site_id, Some(-1));
        // Only numbers: an option after --site-id is still a missing value.
        assert_eq!(parse(&["--site-id", "--dry-run"]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn values_keep_their_underscores() {
        let args = parse(&["--password=a_b", "--channel", "/system/channels/my_channel"]).unwrap();
        assert_eq!(args.password.as_deref(), Some("a_b"));
        assert_eq!(args.channel.as_deref(), Some("/system/channels/my_channel"));
    }

    #[test]
    fn the_last_of_ssl_and_no_ssl_wins() {
        let overrides = parse(&["--ssl", "--no-ssl"]).unwrap().overrides();
        let ssl = overrides.iter().find(|o| o.key == "ssl").unwrap();
        assert_eq!(ssl.value, Value::Bool(false));
        assert_eq!(ssl.flag, "--no-ssl");
        let overrides = parse(&["--no-ssl", "--ssl"]).unwrap().overrides();
        assert_eq!(overrides.iter().find(|o| o.key == "ssl").unwrap().value, Value::Bool(true));
    }

    #[test]
    fn bad_numbers_and_unknown_options_are_usage_errors() {
        for bad in [&["--port", "abc"][..], &["--port", "0"], &["--max-retry=-1"], &["--bogus"]] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn only_given_options_become_overrides() {
        let overrides = parse(&["-s", "mq.example", "-p", "5673"]).unwrap().overrides();
        let keys: Vec<_> = overrides.iter().map(|o| (o.key.as_str(), o.flag.as_str())).collect();
        assert_eq!(keys, vec![("server", "--server"), ("port", "--port")]);
    }
}
