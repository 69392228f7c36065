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
    /// Broker to consume io_queue from.
    #[arg(
        long,
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f",
        conflicts_with = "no_amqp"
    )]
    amqp_url: String,
    /// Serve HTTP only; do not consume io_queue.
    #[arg(long)]
    no_amqp: bool,
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
    let definitions = match &args.definitions {
        Some(path) => match Definitions::load(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("kompira-sim: {e}");
                return ExitCode::from(2);
            }
        },
        None => Definitions::builtin(),
    };
    let config = SimConfig {
        listen: args.listen,
        token: args
            .token
            .or_else(|| {
                std::env::var("KOMPIRA_SIM_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty())
            })
            .unwrap_or_else(|| DEFAULT_TOKEN.to_string()),
        amqp_url: (!args.no_amqp).then_some(args.amqp_url),
        definitions,
    };
    let handle = match kompira_sim::start(config).await {
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
