//! The window's link to the agent (`kompira-tray-agent`, the resident half of the app: see
//! `crates/kompira-tray-agent/src/agent.rs`): starting it when it is not running, handing a
//! second launch over to the window already open, forwarding calls, and turning the agent's
//! events into the window's events.

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use kompira_core::config::Os;
use kompira_tray_ipc::wire::{self as ipc, Reply, Request, SUBSCRIBE};
use kompira_tray_ipc::{Call, Event, Opening};
use serde_json::Value;
use tauri::{AppHandle, Emitter};
use tokio::io::BufReader;

/// How long a just-started agent may take to answer.
const AGENT_START_TIMEOUT: Duration = Duration::from_secs(10);

/// What this launch becomes.
pub enum Launch {
    /// Another window is open and shows the view now: this process has nothing to do.
    HandedOver,
    /// This process is the window.
    Window,
}

fn agent_exe() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot tell where Kompira Tray is installed: {e}"))?;
    Ok(ipc::sibling(&exe, "kompira-tray-agent", Os::current()))
}

/// `--minimized` (start at login): the agent alone, no window. On Unix this process becomes the
/// agent (exec), so nothing of the window's libraries stays in memory.
pub fn become_agent() -> ExitCode {
    let exe = match agent_exe() {
        Ok(exe) => exe,
        Err(reason) => {
            eprintln!("kompira-tray: {reason}");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = Command::new(&exe).exec();
        eprintln!("kompira-tray: cannot start {}: {error}", exe.display());
        ExitCode::FAILURE
    }
    #[cfg(not(unix))]
    match Command::new(&exe).stdin(Stdio::null()).spawn() {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kompira-tray: cannot start {}: {error}", exe.display());
            ExitCode::FAILURE
        }
    }
}

/// Makes sure the agent runs (starting it if needed), then asks it whether a window is already
/// open: that one shows `opening` and this launch is handed over.
pub async fn start_or_hand_over(opening: &Opening) -> Result<Launch, String> {
    let address = ipc::current_address();
    if ipc::call(&address, &Call::Ping).await.is_err() {
        start_agent(&address).await?;
    }
    match ipc::call(&address, &Call::Open(opening.clone())).await? {
        Reply::Ok(Value::Bool(true)) => Ok(Launch::HandedOver),
        Reply::Ok(_) => Ok(Launch::Window),
        Reply::Err(e) => Err(text(e)),
    }
}

async fn start_agent(address: &str) -> Result<(), String> {
    let exe = agent_exe()?;
    let mut command = Command::new(&exe);
    command.arg("--no-window").stdin(Stdio::null());
    #[cfg(unix)]
    {
        // Its own process group: a Ctrl+C meant for a window started from a terminal must not
        // end the agent (and the tray) with it.
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let deadline = Instant::now() + AGENT_START_TIMEOUT;
    loop {
        if ipc::call(address, &Call::Ping).await.is_ok() {
            // Reaped in the background: it outlives this window.
            std::thread::spawn(move || child.wait());
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Another agent may have won the race to listen; then it answers now.
            if ipc::call(address, &Call::Ping).await.is_ok() {
                return Ok(());
            }
            return Err(format!("{} exited at start ({status}); see its log", exe.display()));
        }
        if Instant::now() >= deadline {
            return Err(format!("{} did not answer within {} s", exe.display(), AGENT_START_TIMEOUT.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Forwards one of the window's calls to the agent; its answer, or the error sentence.
pub async fn forward(call: &Call) -> Result<Value, String> {
    match ipc::call(&ipc::current_address(), call).await? {
        Reply::Ok(value) => Ok(value),
        Reply::Err(error) => Err(text(error)),
    }
}

fn text(error: Value) -> String {
    match error {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// Relays the agent's events to the window until the agent says quit. When the agent goes away
/// unasked (a crash), it is started again and the window reloads everything.
pub fn relay_events(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        loop {
            match relay(&app).await {
                Ok(()) => return app.exit(0),
                Err(reason) => tracing::warn!("lost the agent ({reason}); starting it again"),
            }
            let address = ipc::current_address();
            if let Err(reason) = start_agent(&address).await {
                tracing::error!("{reason}");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            for event in Event::RELOAD {
                let _ = app.emit(&event.name(), ());
            }
        }
    });
}

/// One subscription; `Ok` when the agent said quit.
async fn relay(app: &AppHandle) -> Result<(), String> {
    let stream = ipc::connect(&ipc::current_address()).await.map_err(|e| e.to_string())?;
    let (read, mut write) = tokio::io::split(stream);
    ipc::write_line(&mut write, &Request { call: SUBSCRIBE.into(), args: Value::Null })
        .await
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(read);
    loop {
        let event: Event = ipc::read_line(&mut reader).await?.ok_or("the agent closed the connection")?;
        match event {
            Event::Quit => return Ok(()),
            Event::ShowWindow(opening) => crate::window::open(app, &opening),
            // Everything else goes to the page under its own name (ui/calls.js lists them).
            other => {
                let _ = app.emit(&other.name(), other.payload());
            }
        }
    }
}
