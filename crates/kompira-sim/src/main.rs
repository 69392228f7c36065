//! `kompira-sim`: serve the Kompira REST API stand-in until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kompira_sim::{Definitions, SimConfig};

const DEFAULT_TOKEN: &str = "kompira-sim-token";

/// Local stand-in for the Kompira REST API (tests and demos only).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8770")]
    listen: SocketAddr,
    /// The accepted REST API token [default: $KOMPIRA_SIM_TOKEN, else kompira-sim-token].
    #[arg(long)]
    token: Option<String>,
    /// Definitions file (TOML); without it the built-in demo set is served.
    #[arg(long)]
    definitions: Option<PathBuf>,
    /// More definitions (TOML) served besides the built-in set or --definitions, e.g. a job
    /// flow with a task; a path defined twice keeps its first definition. Repeatable.
    #[arg(long, value_name = "FILE")]
    add_definitions: Vec<PathBuf>,
    /// Broker to consume io_queue from.
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f", conflicts_with = "no_amqp")]
    amqp_url: String,
    /// Consume this queue instead of io_queue (fault tests that share the broker).
    #[arg(long, hide = true, default_value = "io_queue")]
    io_queue: String,
    /// Serve HTTP only; do not consume io_queue.
    #[arg(long)]
    no_amqp: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut definitions = match &args.definitions {
        Some(path) => match Definitions::load(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("kompira-sim: {e}");
                return ExitCode::from(2);
            }
        },
        None => Definitions::builtin(),
    };
    for path in &args.add_definitions {
        match Definitions::load(path) {
            Ok(more) => {
                definitions.jobflows.extend(more.jobflows);
                definitions.channels.extend(more.channels);
                definitions.directories.extend(more.directories);
            }
            Err(e) => {
                eprintln!("kompira-sim: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match (std::fs::read(cert), std::fs::read(key)) {
            (Ok(cert_pem), Ok(key_pem)) => Some(kompira_sim::SimTls { cert_pem, key_pem }),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("kompira-sim: cannot read the TLS certificate or key: {e}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let config = SimConfig {
        listen: args.listen,
        token: args
            .token
            .or_else(|| std::env::var("KOMPIRA_SIM_TOKEN").ok().filter(|t| !t.is_empty()))
            .unwrap_or_else(|| DEFAULT_TOKEN.to_string()),
        amqp_url: (!args.no_amqp).then_some(args.amqp_url),
        definitions,
        tls,
    };
    let handle = match kompira_sim::start_on_queue(config, &args.io_queue).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("kompira-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("kompira-sim listening on {}", handle.base_url);
    wait_for_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
