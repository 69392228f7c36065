//! `kompira_sendevt`: a drop-in for the official command, without Python. Exit status 0 when
//! the broker confirmed the event (or, with `--queue-on-failure`, when an unreachable broker's
//! event was committed to the outbox), 1 on any runtime failure, 2 on a usage error.

mod args;
mod report;

use std::io::Read;
use std::process::ExitCode;

use kompira_core::config::{self, LoadOptions, Os, Settings};
use kompira_core::event::{self, Event, EventBody, SendError};
use kompira_core::logfile::{self, LogSetup};
use kompira_core::outbox;

use args::Args;

const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;
const LOG_FILE_NAME: &str = "kompira_sendevt.log";

fn main() -> ExitCode {
    let args = Args::from_env();
    if args.password.is_some() {
        eprintln!(
            "{}",
            kompira_core::secret::command_line_warning(
                "kompira_sendevt",
                "--password",
                "amqp-connection.password",
                "AMQP_URL"
            )
        );
    }
    let settings = match load_settings(&args) {
        Ok(settings) => settings,
        Err(message) => return fail("load settings", &message),
    };
    if args.test_settings {
        print!("{}", report::settings_listing(&settings));
        return ExitCode::SUCCESS;
    }
    init_logging(&args, &settings);

    let body = if args.test_connection {
        EventBody::Raw(Vec::new())
    } else {
        match read_body(&args) {
            Ok(body) => body,
            Err(BodyProblem::Usage(message)) => {
                eprintln!("kompira_sendevt: error: {message}");
                return ExitCode::from(EXIT_USAGE);
            }
            Err(BodyProblem::Input(message)) => return fail("read the event", &message),
        }
    };
    let event = Event { body, channel: settings.channel().to_owned(), site_id: settings.site_id() };
    let stamp = event::message::Stamp::now();

    if args.dry_run {
        println!("{}", report::dry_run(&settings, &event, &stamp));
        return ExitCode::SUCCESS;
    }
    let options = report::connect_options(&settings);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail("start", &e.to_string()),
    };
    if args.test_connection {
        return match runtime.block_on(event::test_connection(&options)) {
            Ok(session) => {
                println!("Connection OK: {}", session.describe());
                ExitCode::SUCCESS
            }
            Err(error) => fail_send(&error),
        };
    }

    tracing::info!(
        "start: body={}, dest={}, site_id={}, corr_id={}",
        event.body.for_log(),
        report::destination(&settings),
        event.site_id,
        stamp.correlation_id
    );
    let retry = report::retry_policy(&settings);
    let outcome = runtime.block_on(event::send_event(&options, retry, &event, &stamp, |error, retry_in| {
        report_failure(error);
        if let Some(pause) = retry_in {
            tracing::warn!("waiting {} seconds for retry connection ...", pause.as_secs());
        } else if error.is_transient() && retry.max_retry > 0 {
            tracing::error!("gave up retry connection");
        }
    }));
    match outcome {
        Ok(report) => {
            tracing::info!("finished: sent message successfully: {}", report.correlation_id);
            ExitCode::SUCCESS
        }
        Err(error) if args.queue_on_failure && error.is_transient() => queue(&settings, &event, stamp),
        Err(_) => ExitCode::from(EXIT_FAILURE),
    }
}

/// `--queue-on-failure`: the event, with the stamp it was to be sent with, into the outbox.
fn queue(settings: &Settings, event: &Event, stamp: event::Stamp) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let config = match outbox::OutboxSettings::from_settings(settings, &env) {
        Ok(config) => config,
        Err(e) => return fail("queue the event", &e.to_string()),
    };
    let queued = outbox::Outbox::open(&config.path, outbox::Limits::from(&config))
        .and_then(|store| store.enqueue(&event::Envelope::new(event, stamp)));
    match queued {
        Ok(queued) => {
            println!(
                "Queued in the outbox {}: {} ({} waiting); `kompira outbox drain` or the tray app sends it",
                config.path.display(),
                queued.correlation_id,
                queued.pending
            );
            tracing::warn!("queued in the outbox {}: {}", config.path.display(), queued.correlation_id);
            ExitCode::SUCCESS
        }
        Err(e) => fail("queue the event", &e.to_string()),
    }
}

fn load_settings(args: &Args) -> Result<Settings, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    config::check_env_is_text(&|name| std::env::var_os(name)).map_err(|e| e.to_string())?;
    let env = |name: &str| std::env::var(name).ok();
    let options = LoadOptions {
        os: Os::current(),
        explicit_config: args.config.clone(),
        exe: std::env::current_exe().ok(),
        cwd: Some(cwd),
        include_user_file: true,
        env: &env,
        overrides: args.overrides(),
    };
    config::load(&options).map_err(|e| e.to_string())
}

fn init_logging(args: &Args, settings: &Settings) {
    let logging = settings.logging();
    logfile::init(&LogSetup {
        level: logging.level,
        dir: logging.dir,
        file_name: LOG_FILE_NAME.into(),
        max_bytes: logging.max_bytes,
        backups: logging.backups,
        when: logging.when,
        console: args.debug,
    });
    for warning in settings.warnings() {
        tracing::warn!("{warning}");
    }
    tracing::debug!("config files searched: {:?}", settings.files_searched());
    tracing::debug!("config files read: {:?}", settings.files_read());
}

enum BodyProblem {
    /// Bad KEY=VAL arguments: a usage error (exit 2).
    Usage(String),
    /// Standard input could not be read or decoded (exit 1).
    Input(String),
}

fn read_body(args: &Args) -> Result<EventBody, BodyProblem> {
    if let Some(body) = event::parse_key_values(&args.keyval).map_err(|e| BodyProblem::Usage(e.to_string()))? {
        return Ok(body);
    }
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut input)
        .map_err(|e| BodyProblem::Input(format!("cannot read standard input: {e}")))?;
    if !args.decode_stdin {
        return Ok(EventBody::Raw(input));
    }
    let encoding =
        args.encoding.clone().unwrap_or_else(|| event::default_stdin_encoding(&|name| std::env::var(name).ok()));
    event::decode_stdin(&input, &encoding).map(EventBody::Text).map_err(|e| BodyProblem::Input(e.to_string()))
}

/// `Failed to <stage>: <reason>` on stderr and in the log, like the reference.
fn report_failure(error: &SendError) {
    eprintln!("Failed to {}: {error}", error.stage().as_str());
    tracing::error!("failed to {}: {error}", error.stage().as_str());
}

fn fail_send(error: &SendError) -> ExitCode {
    report_failure(error);
    ExitCode::from(EXIT_FAILURE)
}

fn fail(what: &str, message: &str) -> ExitCode {
    eprintln!("Failed to {what}: {message}");
    tracing::error!("failed to {what}: {message}");
    ExitCode::from(EXIT_FAILURE)
}
