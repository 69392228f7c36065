//! `kompira`: run job flows, follow processes and use channels over the Kompira REST API.
//! Exit status 0 when done, 1 on any failure or an ABORTED process, 2 on a usage error.

mod args;
mod commands;
mod outbox;
mod output;
mod secret;
mod task;
mod watch;

use std::process::ExitCode;

use clap::Parser;
use kompira_core::config::{self, LoadOptions, Os, Settings};
use kompira_core::rest::{Client, RestSettings};
use kompira_core::watch::NotifySettings;
use tracing_subscriber::EnvFilter;

use args::{Cli, Command};
use commands::Failure;

const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    if cli.common.token.is_some() {
        let warning = kompira_core::secret::command_line_warning("kompira", "--token", "rest.token", "KOMPIRA_TOKEN");
        eprintln!("{warning}");
    }
    if let Err(failure) = commands::check(&cli.command) {
        return exit(failure);
    }
    if let Command::Secret(command) = &cli.command {
        return match secret::run(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => exit(failure),
        };
    }
    let settings = match load_settings(&cli) {
        Ok(settings) => settings,
        Err(message) => return exit(Failure::Runtime(message)),
    };
    // The drainer's store calls run on the blocking pool, so one async thread is enough.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return exit(Failure::Runtime(format!("cannot start: {e}"))),
    };
    let outcome = match cli.command {
        // The outbox talks AMQP: it needs [amqp-connection] and [outbox], not [rest].
        Command::Outbox(command) => runtime.block_on(outbox::run(command, &settings)),
        command => match RestSettings::from_settings(&settings)
            .map_err(|e| e.to_string())
            .and_then(|rest| Client::new(&rest).map_err(|e| e.to_string()))
        {
            Ok(client) => runtime.block_on(commands::run(command, client, NotifySettings::from_settings(&settings))),
            Err(message) => Err(Failure::Runtime(message)),
        },
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => exit(failure),
    }
}

/// `tracing` to stderr, filtered by RUST_LOG (default: warnings and errors only).
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

fn load_settings(cli: &Cli) -> Result<Settings, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    config::check_env_is_text(&|name| std::env::var_os(name)).map_err(|e| e.to_string())?;
    let env = |name: &str| std::env::var(name).ok();
    let settings = config::load(&LoadOptions {
        os: Os::current(),
        explicit_config: cli.common.config.clone(),
        exe: std::env::current_exe().ok(),
        cwd: Some(cwd),
        include_user_file: true,
        env: &env,
        overrides: cli.common.overrides(),
    })
    .map_err(|e| e.to_string())?;
    for warning in settings.warnings() {
        tracing::warn!("{warning}");
    }
    tracing::debug!(files = ?settings.files_read(), "config files read");
    Ok(settings)
}

fn exit(failure: Failure) -> ExitCode {
    match failure {
        Failure::Usage(message) => {
            eprintln!("kompira: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        Failure::Runtime(message) => {
            eprintln!("kompira: {message}");
            ExitCode::from(EXIT_FAILURE)
        }
        Failure::Reported => ExitCode::from(EXIT_FAILURE),
    }
}
