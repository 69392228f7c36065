//! `notify-recorder`: a stand-in desktop notification server for manual runs and demos under
//! `dbus-run-session` (the test suite runs the same recorder in-process). Each `Notify` call is
//! printed as one JSON line on stdout; typing `invoke ID KEY` on stdin plays the user choosing
//! action KEY on popup ID.

use std::io::BufRead;
use std::process::ExitCode;

use kompira_e2e::notify_recorder::NotifyRecorder;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let print = Box::new(|notice: &kompira_e2e::notify_recorder::Notice| {
        println!("{}", serde_json::to_string(notice).expect("a notice is plain data"));
    });
    let recorder = match NotifyRecorder::start(None, Some(print)).await {
        Ok(recorder) => recorder,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("notify-recorder: serving {}; stdin takes `invoke ID KEY`", kompira_e2e::notify_recorder::NAME);
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    // Serves until the session bus goes away; stdin may close long before (`< /dev/null`).
    loop {
        tokio::select! {
            () = recorder.closed() => break,
            line = lines.recv() => match line {
                Some(line) => command(&recorder, &line).await,
                None => {
                    recorder.closed().await;
                    break;
                }
            },
        }
    }
    ExitCode::SUCCESS
}

async fn command(recorder: &NotifyRecorder, line: &str) {
    match line.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["invoke", id, key] => match id.parse() {
            Ok(id) => {
                if let Err(e) = recorder.invoke_action(id, key).await {
                    eprintln!("{e}");
                }
            }
            Err(_) => eprintln!("notify-recorder: {id:?} is not a notification id"),
        },
        [] => {}
        _ => eprintln!("notify-recorder: unknown command {line:?}; use `invoke ID KEY`"),
    }
}
