//! `kompira task list|show|submit|cancel`: answering job flows that wait for a person.

use std::fmt::Write as _;

use clap::Subcommand;
use kompira_core::rest::{self, Client, Task, TaskQuery, TaskStatus};
use serde_json::Value;

use crate::commands::Failure;

/// Tasks `list --all` shows at most unless told otherwise.
const DEFAULT_LIMIT: usize = 50;

#[derive(Subcommand, Debug)]
pub enum TaskCommand {
    /// The tasks waiting for you, newest first: path, title and the answers offered. Yours
    /// are those assigned to [notify] task_user (or --user), or to nobody and created by
    /// that user; with neither set, every waiting task the token can read.
    List {
        /// Every task the token can read, whatever its state or assignee.
        #[arg(long)]
        all: bool,
        /// Whose tasks [default: [notify] task_user].
        #[arg(long, value_name = "NAME", conflicts_with = "all")]
        user: Option<String>,
        /// Show at most this many.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_LIMIT)]
        limit: usize,
        /// One JSON object per line (the server's fields, plus `choices`).
        #[arg(long)]
        json: bool,
    },
    /// Show a task: 7, id_7 or /task/id_7.
    Show {
        /// The task.
        id: String,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Answer a task: the result becomes the waiting job flow's $RESULT. Without --result
    /// or --result-json, Kompira sends "OK".
    Submit {
        /// The task.
        id: String,
        /// The answer as text (e.g. one of the choices `list` shows).
        #[arg(long, value_name = "TEXT")]
        result: Option<String>,
        /// The answer as any JSON value, e.g. '{"host": "web 3"}'.
        #[arg(long, value_name = "JSON", conflicts_with = "result")]
        result_json: Option<String>,
    },
    /// Cancel a task. Kompira does not wake the job flow waiting on it: its process stays
    /// WAITING until terminated (`kompira process terminate`).
    Cancel {
        /// The task.
        id: String,
    },
}

/// What can be checked before a server is asked: the task id and the JSON result.
pub fn check(command: &TaskCommand) -> Result<(), Failure> {
    match command {
        TaskCommand::List { .. } => Ok(()),
        TaskCommand::Show { id, .. } | TaskCommand::Cancel { id } => task_path(id).map(drop),
        TaskCommand::Submit { id, result_json, .. } => {
            task_path(id)?;
            result_json.as_deref().map(parse_json).transpose().map(drop)
        }
    }
}

pub async fn run(command: TaskCommand, client: &Client, task_user: Option<String>) -> Result<(), Failure> {
    match command {
        TaskCommand::List { all, user, limit, json } => {
            let tasks = if all {
                client.tasks(&TaskQuery { limit: Some(limit), ..TaskQuery::default() }).await?
            } else {
                let user = user.or(task_user);
                let mut tasks = client.tasks(&TaskQuery::waiting()).await?;
                tasks.retain(|t| t.is_meant_for(user.as_deref()));
                tasks.truncate(limit);
                tasks
            };
            for task in &tasks {
                if json {
                    println!("{}", task_json(task));
                } else {
                    println!("{}", list_line(task));
                }
            }
            if tasks.is_empty() && !json {
                eprintln!("kompira: {}", if all { "no tasks" } else { "no tasks are waiting for you" });
            }
            Ok(())
        }
        TaskCommand::Show { id, json } => {
            if json {
                let value = client.get_json(&task_path(&id)?).await?;
                println!("{}", serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string()));
            } else {
                print!("{}", summary(&client.task(&id).await?));
            }
            Ok(())
        }
        TaskCommand::Submit { id, result, result_json } => {
            let value = match (result, result_json) {
                (Some(text), _) => Some(Value::String(text)),
                (None, Some(json)) => Some(parse_json(&json)?),
                (None, None) => None,
            };
            client.submit_task(&id, value.as_ref()).await?;
            println!("submitted {}", task_path(&id)?);
            Ok(())
        }
        TaskCommand::Cancel { id } => {
            client.cancel_task(&id).await?;
            println!(
                "cancelled {} (the job flow waiting on it stays WAITING until its process is terminated)",
                task_path(&id)?
            );
            Ok(())
        }
    }
}

fn task_path(id: &str) -> Result<String, Failure> {
    rest::task_path(id).map_err(|e| Failure::Usage(e.to_string()))
}

fn parse_json(text: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::Usage(format!("--result-json is not JSON ({e})")))
}

/// `/task/id_7  WAITING  Title  [web 1 | web 2]`: one task per line, tab-separated.
fn list_line(task: &Task) -> String {
    let mut line = format!("{}\t{}\t{}", task.path(), task.status, one_line(&task.title));
    let choices = task.choices();
    if !choices.is_empty() {
        let labels: Vec<String> = choices.iter().map(|c| one_line(&c.label)).collect();
        let _ = write!(line, "\t[{}]", labels.join(" | "));
    }
    line
}

/// A task as labelled lines, the message last.
fn summary(task: &Task) -> String {
    let mut out = String::new();
    let mut field = |label: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(out, "{label:<10}{value}");
        }
    };
    field("task", &task.path());
    field("status", task.status.as_str());
    field("name", &task.name);
    field("title", &task.title);
    field("owner", task.owner.as_deref().unwrap_or_default());
    field("users", &task.assigned_users.join(", "));
    field("groups", &task.assigned_groups.join(", "));
    let choices: Vec<String> = task.choices().into_iter().map(|c| c.label).collect();
    field("choices", &choices.join(" | "));
    field("created", task.created_date.as_deref().unwrap_or_default());
    field("closed", task.closed_date.as_deref().unwrap_or_default());
    if task.status == TaskStatus::Waiting {
        field("answer", &format!("kompira task submit {} --result TEXT", task.id));
    }
    if !task.message.is_empty() {
        out.push_str("message:\n");
        out.push_str(&task.message);
        if !task.message.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn task_json(task: &Task) -> Value {
    let mut value = serde_json::to_value(task).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        map.insert("choices".into(), Value::Array(task.choices().into_iter().map(|c| c.value).collect()));
    }
    value
}

/// Text on one line: a title with a newline or tab would break the columns.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task() -> Task {
        serde_json::from_value(json!({"id":1,"abspath":"/task/id_1","owner":"root",
            "assigned_users":["root"],"assigned_groups":[],"name":"ask_person",
            "title":"Question\tfrom ask_person","message":"Which host?",
            "action_text":"[\"web 1\", \"web 2\"]","status":"WAITING",
            "created_date":"2026-12-02T06:45:25.844478Z","closed_date":null}))
        .unwrap()
    }

    #[test]
    fn list_line_shows_path_status_title_and_choices() {
        assert_eq!(list_line(&task()), "/task/id_1\tWAITING\tQuestion from ask_person\t[web 1 | web 2]");
    }

    #[test]
    fn summary_ends_with_the_message() {
        let text = summary(&task());
        assert!(text.starts_with("task      /task/id_1\nstatus    WAITING\n"), "{text}");
        assert!(text.contains("choices   web 1 | web 2\n"), "{text}");
        assert!(text.contains("answer    kompira task submit 1 --result TEXT\n"), "{text}");
        assert!(text.ends_with("message:\nWhich host?\n"), "{text}");
    }

    #[test]
    fn bad_ids_and_json_are_usage_errors() {
        let usage = |c: TaskCommand| matches!(check(&c), Err(Failure::Usage(_)));
        assert!(usage(TaskCommand::Cancel { id: "x7".into() }));
        assert!(usage(TaskCommand::Submit { id: "7".into(), result: None, result_json: Some("{nope".into()) }));
        assert!(check(&TaskCommand::Submit { id: "/task/id_7".into(), result: None, result_json: Some("[1]".into()) })
            .is_ok());
    }

    #[test]
    fn json_lines_carry_the_choices() {
        let value = task_json(&task());
        assert_eq!(value["choices"], json!(["web 1", "web 2"]));
        assert_eq!(value["status"], "WAITING");
    }
}
