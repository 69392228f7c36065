//! Kompira Tray's agent: the resident, GUI-free half of the app (see `agent.rs` for why there
//! are two processes). It wires the engine (`kompira-core`) to a tray icon, desktop popups, the
//! outbox drainer and the window's calls; it holds no Kompira logic of its own.

pub mod agent;
mod alerts;
pub mod autostart;
pub mod calls;
mod connection_notice;
mod outbox;
pub mod popups;
pub mod runs;
mod server;
pub mod shell;
pub mod state;
pub mod tasks;
pub mod text;
pub mod tray;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use kompira_core::config::Os;
use kompira_tray_ipc::init_logging;
use kompira_tray_ipc::wire as ipc;

use crate::shell::Shell;

/// The agent's command line; people start `kompira-tray`, which starts this.
#[derive(Debug, Parser)]
#[command(name = "kompira-tray-agent", version, about = "Kompira Tray's resident part: tray icon, alerts, outbox")]
struct Args {
    /// Never open the window by itself, even when there is no tray to reach it from: whoever
    /// started the agent opens it (a window starting its agent, the run command).
    #[arg(long)]
    no_window: bool,
}

/// Runs the agent until Quit (from the tray) or a termination signal.
pub fn run() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging();
    // Two workers: the watcher's long poll, the drainer and the window's calls never need more.
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("kompira-tray-agent: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> ExitCode {
    let address = ipc::current_address();
    let listener = match ipc::listen(&address).await {
        Ok(Some(listener)) => listener,
        Ok(None) => {
            tracing::info!("Kompira Tray is already running ({address})");
            return ExitCode::SUCCESS;
        }
        Err(reason) => {
            eprintln!("kompira-tray-agent: {reason}");
            return ExitCode::FAILURE;
        }
    };
    let window_exe = match std::env::current_exe() {
        Ok(exe) => ipc::sibling(&exe, "kompira-tray", Os::current()),
        Err(e) => {
            eprintln!("kompira-tray-agent: cannot tell where it is installed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let agent = agent::Agent::new(state::AppState::load(), window_exe);
    tracing::info!("agent listening on {address}");
    let shell: Arc<dyn Shell> = agent.clone();
    let keeper = agent.clone();
    let tray_ready = tray::start(&shell, move |handle| keeper.set_tray(handle)).await;
    alerts::start_watching(&shell);
    tasks::start_watching(&shell);
    outbox::start(&shell);
    // Without a tray there is no other way in: show the window.
    if !tray_ready && !args.no_window {
        agent.open_window("", None);
    }
    let server = tokio::spawn(server::serve(agent.clone(), listener));
    tokio::select! {
        () = agent.quitting() => {}
        () = termination() => agent.quit(),
    }
    // Windows hear "quit" before the socket goes away; meanwhile the watcher's polls in flight
    // end (at most one long poll), so no alert Kompira handed out is dropped.
    tokio::join!(tokio::time::sleep(std::time::Duration::from_millis(200)), alerts::stop_watching(&shell));
    server.abort();
    ExitCode::SUCCESS
}

/// SIGTERM or Ctrl+C: a logout or `kill` ends the agent like Quit does (socket removed).
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else { return std::future::pending().await };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
