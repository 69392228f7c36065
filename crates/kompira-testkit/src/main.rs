//! `kompira-testkit`: broker chores for tests and demos.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kompira_testkit as tk;

#[derive(Parser)]
#[command(name = "kompira-testkit", about = "Test/demo helper for the local Kompira Tray test broker")]
struct Cli {
    /// AMQP URL of the broker [default: $KOMPIRA_TEST_AMQP_URL or the local guest URL]
    #[arg(long, global = true)]
    url: Option<String>,
    /// Queue to act on
    #[arg(long, global = true, default_value = tk::IO_QUEUE)]
    queue: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Declare the queue (durable; nothing happens if it exists)
    DeclareQueue,
    /// Drop every ready message of the queue (silently)
    Purge,
    /// Delete the queue
    DeleteQueue,
    /// Take messages off the queue and print each as JSON with typed headers
    Receive {
        /// Seconds to wait for the messages in all
        #[arg(long, default_value_t = 10)]
        timeout_secs: u64,
        /// How many messages to take
        #[arg(long, default_value_t = 1)]
        count: usize,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let url = cli.url.unwrap_or_else(tk::broker_url);
    let q = cli.queue.as_str();
    let res = match cli.cmd {
        Cmd::DeclareQueue => tk::declare_queue(&url, q).await.map(|_| ExitCode::SUCCESS),
        Cmd::Purge => tk::purge(&url, q).await.map(|_| ExitCode::SUCCESS),
        Cmd::DeleteQueue => tk::delete_queue(&url, q).await.map(|_| ExitCode::SUCCESS),
        Cmd::Receive { timeout_secs, count } => {
            tk::receive_many(&url, q, count, Duration::from_secs(timeout_secs)).await.map(|msgs| {
                for m in &msgs {
                    println!("{}", serde_json::to_string_pretty(&m.to_json()).expect("json"));
                }
                if msgs.len() < count {
                    eprintln!(
                        "kompira-testkit: only {} of {count} message(s) arrived on {q} within {timeout_secs} s",
                        msgs.len()
                    );
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            })
        }
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kompira-testkit: broker {}: {e}", redact(&url));
            ExitCode::from(2)
        }
    }
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            let user = cred.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}
