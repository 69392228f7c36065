//! One function per subcommand: check the input, call the engine, print the answer.

use std::io::Write as _;
use std::time::Duration;

use kompira_core::event::{self, EventBody};
use kompira_core::rest::{self, Client, ExecuteRequest, FollowOptions, Parameters, Process, ProcessStatus, RestError};
use serde_json::Value;

use kompira_core::watch::NotifySettings;

use crate::args::{ChannelCommand, Command, JobflowCommand, ProcessCommand};
use crate::output;

/// Longest pause between console updates of `run --wait`: the length of one `.wait` poll.
/// Shorter than the engine's default so that output of short job flows shows as it comes.
const CONSOLE_REFRESH_SECS: u64 = 2;

/// How a command ended, when it did not succeed.
pub enum Failure {
    /// Bad input on the command line (exit 2).
    Usage(String),
    /// Anything else (exit 1); the message is printed as `kompira: <message>`.
    Runtime(String),
    /// A process ABORTED or was still running: already reported, exit 1.
    Reported,
}

impl From<RestError> for Failure {
    fn from(e: RestError) -> Self {
        Failure::Runtime(e.to_string())
    }
}

/// Whether anything in `command` is wrong before a client is needed.
pub fn check(command: &Command) -> Result<(), Failure> {
    match command {
        Command::Jobflow(JobflowCommand::Run { params, .. }) => parse_params(params).map(drop),
        Command::Channel(ChannelCommand::Send { fields, json, .. }) => message(fields, json.as_deref()).map(drop),
        Command::Task(command) => crate::task::check(command),
        _ => Ok(()),
    }
}

pub async fn run(command: Command, client: Client, notify: NotifySettings) -> Result<(), Failure> {
    let client = &client;
    match command {
        Command::Jobflow(JobflowCommand::Run { path, params, step, checkpoint, monitoring, wait }) => {
            let request = ExecuteRequest {
                parameters: parse_params(&params)?,
                step_mode: step.then_some(true),
                checkpoint_mode: checkpoint.then_some(true),
                monitoring_mode: monitoring,
            };
            let process = client.execute(&path, &request).await?;
            println!("{process}");
            if wait {
                follow(client, &process).await
            } else {
                Ok(())
            }
        }
        Command::Jobflow(JobflowCommand::Show { path, json }) => {
            if json {
                print_json_pretty(&client.get_json(&path).await?);
            } else {
                print!("{}", output::object_summary(&client.get_object(&path).await?));
            }
            Ok(())
        }
        Command::Jobflow(JobflowCommand::List { dir }) => {
            for jobflow in client.list_jobflows(&dir).await? {
                println!("{}", output::list_line(&jobflow));
            }
            Ok(())
        }
        Command::Process(ProcessCommand::Show { id, json }) => {
            if json {
                print_json_pretty(&client.get_json(&rest::process_path(&id)?).await?);
            } else {
                print!("{}", output::process_summary(&client.process(&id).await?));
            }
            Ok(())
        }
        Command::Process(ProcessCommand::Wait { id, wait_timeout }) => {
            let finished = match wait_timeout {
                Some(secs) => client.wait(&id, Duration::from_secs(secs)).await?,
                None => Some(rest::follow(client, &id, FollowOptions::default(), |_| {}).await?),
            };
            match finished {
                Some(process) => finish(&process),
                None => {
                    let now = client.process(&id).await?;
                    Err(Failure::Runtime(format!(
                        "{} is still {} after {} s",
                        rest::process_path(&id)?,
                        now.status,
                        wait_timeout.unwrap_or_default()
                    )))
                }
            }
        }
        Command::Process(ProcessCommand::Terminate { id }) => {
            let path = rest::process_path(&id)?;
            if client.terminate(&id).await? {
                println!("terminated {path}");
                Ok(())
            } else {
                Err(Failure::Runtime(format!("the server did not terminate {path} (has it finished already?)")))
            }
        }
        Command::Channel(ChannelCommand::Send { path, fields, json }) => {
            client.send(&path, &message(&fields, json.as_deref())?).await?;
            Ok(())
        }
        Command::Channel(ChannelCommand::Watch { paths, json, count, poll_seconds }) => {
            let channels = if paths.is_empty() { notify.channels } else { paths };
            let poll = Duration::from_secs(poll_seconds);
            crate::watch::run(client.clone(), channels, notify.policy, json, count, poll).await
        }
        Command::Channel(ChannelCommand::Recv { path, wait_timeout }) => {
            match client.recv(&path, Duration::from_secs(wait_timeout)).await? {
                Some(message) => {
                    println!("{message}");
                    Ok(())
                }
                None => Err(Failure::Runtime(format!("no message on {path} within {wait_timeout} s"))),
            }
        }
        Command::Task(command) => crate::task::run(command, client, notify.task_user).await,
        // main.rs hands `outbox` to outbox::run: it needs no REST client.
        Command::Outbox(_) => Err(Failure::Runtime("the outbox commands do not use the REST API".into())),
        // Needs no server: main runs it before the settings are loaded.
        Command::Secret(command) => crate::secret::run(&command),
    }
}

/// Prints status changes and console output until the process finishes.
async fn follow(client: &Client, process: &str) -> Result<(), Failure> {
    let mut at_line_start = true;
    let options = FollowOptions { wait_chunk: Duration::from_secs(CONSOLE_REFRESH_SECS), ..FollowOptions::default() };
    let last = rest::follow(client, process, options, |update| {
        let mut stdout = std::io::stdout().lock();
        if !update.console_tail.is_empty() {
            let _ = stdout.write_all(update.console_tail.as_bytes());
            at_line_start = update.console_tail.ends_with('\n');
        }
        if update.status_changed && !update.process.is_finished() {
            let newline = if at_line_start { "" } else { "\n" };
            let _ = writeln!(stdout, "{newline}{}", update.process.status);
            at_line_start = true;
        }
        let _ = stdout.flush();
    })
    .await?;
    if !at_line_start {
        println!();
    }
    finish(&last)
}

/// Prints the outcome line; DONE succeeds, anything else is exit 1.
fn finish(process: &Process) -> Result<(), Failure> {
    println!("{}", output::outcome_line(process));
    match process.status {
        ProcessStatus::Done => Ok(()),
        _ => Err(Failure::Reported),
    }
}

fn print_json_pretty(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}

/// `-p KEY=TEXT` (text, sent as a string literal) and `-p KEY:=EXPR` (a Kompira expression)
/// into job flow parameters.
fn parse_params(params: &[String]) -> Result<Parameters, Failure> {
    params
        .iter()
        .map(|param| rest::parse_assignment(param).map_err(|why| Failure::Usage(format!("-p {param:?}: {why}"))))
        .collect()
}

/// The channel message: KEY=VALUE fields with kompira_sendevt's rules, or `--json`.
fn message(fields: &[String], json: Option<&str>) -> Result<Value, Failure> {
    if let Some(text) = json {
        return serde_json::from_str(text).map_err(|e| Failure::Usage(format!("--json: not valid JSON ({e})")));
    }
    match event::parse_key_values(fields).map_err(|e| Failure::Usage(e.to_string()))? {
        Some(EventBody::Fields(pairs)) => {
            Ok(Value::Object(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
        }
        _ => Err(Failure::Usage("nothing to send: give KEY=VALUE fields or --json".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(args: &[&str]) -> Result<Value, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse_params(&args) {
            Ok(parameters) => Ok(serde_json::to_value(&parameters).unwrap()),
            Err(Failure::Usage(m) | Failure::Runtime(m)) => Err(m),
            Err(Failure::Reported) => Err(String::new()),
        }
    }

    #[test]
    fn params_are_text_unless_marked_as_expressions() {
        assert_eq!(
            params(&["host=web 1", "n:=3", "list:=[1,\"a\"]", "eq=a=b", "empty=", "q=say \"hi\""]).unwrap(),
            json!({"host": "\"web 1\"", "n": "3", "list": "[1,\"a\"]", "eq": "\"a=b\"", "empty": "\"\"", "q": "\"say \\\"hi\\\"\""})
        );
        assert_eq!(params(&["n=3"]).unwrap(), json!({"n": "\"3\""}));
    }

    #[test]
    fn bad_params_are_usage_errors() {
        assert!(params(&["novalue"]).unwrap_err().contains("KEY=TEXT"));
        assert!(params(&["n:="]).unwrap_err().contains("expression after := is empty"));
        assert!(params(&["=x"]).unwrap_err().contains("name is empty"));
    }

    #[test]
    fn channel_message_follows_sendevt_rules() {
        let fields: Vec<String> = ["a=1", "b=x=y", "a=2", ""].iter().map(|s| s.to_string()).collect();
        let Ok(value) = message(&fields, None) else { panic!() };
        assert_eq!(serde_json::to_string(&value).unwrap(), r#"{"a":"2","b":"x=y"}"#);
        assert!(matches!(message(&["oops".into()], None), Err(Failure::Usage(_))));
        let Ok(value) = message(&[], Some("[1, null]")) else { panic!() };
        assert_eq!(value, json!([1, null]));
        assert!(matches!(message(&[], Some("{")), Err(Failure::Usage(_))));
    }
}
