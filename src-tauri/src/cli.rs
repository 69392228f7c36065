//! The app's command line: what autostart, the agent, the README's run command and the
//! benchmarks pass.

use std::process::ExitCode;

use clap::Parser;
use kompira_tray_ipc::Opening;

#[derive(Debug, Parser)]
#[command(name = "kompira-tray", version, about = "Kompira Tray: the desktop companion for Kompira Enterprise")]
pub struct Args {
    /// Start hidden in the tray (autostart at login passes this): only the resident agent runs.
    #[arg(long)]
    pub minimized: bool,
    /// The view to open: send, jobflow, alerts, tasks or settings.
    #[arg(long, value_parser = ["send", "jobflow", "alerts", "tasks", "settings"])]
    pub view: Option<String>,
    /// The alert to mark in the Alerts view (its number in the agent's history).
    #[arg(long, requires = "view")]
    pub alert: Option<u64>,
    /// Ask to confirm the remedy of that alert (a popup's "Run <job flow>").
    #[arg(long, requires = "alert")]
    pub remedy: bool,
    /// Started by the agent to show a view: be the window at once.
    #[arg(long, hide = true)]
    pub from_agent: bool,
    /// Print the kompira.conf files the app reads, one per line, and exit: status 0 when at
    /// least one was found, 1 when none was (the run command then starts a demo back end),
    /// 2 when a file cannot be read.
    #[arg(long)]
    pub config_files: bool,
}

impl Args {
    /// What the window opens on.
    pub fn opening(&self) -> Opening {
        Opening { view: self.view.clone().unwrap_or_default(), alert: self.alert, remedy: self.remedy }
    }
}

/// `--config-files`: answers without starting any window, so it works on a headless machine.
pub fn print_config_files() -> ExitCode {
    match kompira_tray_ipc::settings::load_settings() {
        Ok(settings) if settings.files_read().is_empty() => {
            let searched: Vec<String> = settings.files_searched().iter().map(|p| p.display().to_string()).collect();
            eprintln!("kompira-tray: no kompira.conf found (searched: {})", searched.join(", "));
            ExitCode::from(1)
        }
        Ok(settings) => {
            for file in settings.files_read() {
                println!("{}", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("kompira-tray: {reason}");
            ExitCode::from(2)
        }
    }
}
