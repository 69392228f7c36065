//! Tasks: job flows waiting for a person (`/task.add(…)`, `<t>` in Kompira). The agent asks
//! for the waiting tasks every `[notify] task_poll` seconds, pops each new one meant for the
//! user up once (its choices as buttons, or Submit/Cancel; held back while the tray pauses
//! popups, shown after), keeps the list for the window's Tasks view (`tasks-changed` when it
//! changes) and answers them for the window and the popups.
//!
//! "Meant for the user": `Task::is_meant_for([notify] task_user)`: assigned to that user, or
//! to nobody and created by that user's job flow; with no `task_user`, every waiting task the
//! token can read (Kompira 1.6 has no REST call that names the token's user).
//!
//! Polling, not long polling: Kompira has no call that waits for a task. A poll asks only for
//! the fields shown (`attrs=`), and failures in a row stretch the pauses (the alert watcher's
//! [`Backoff`]), while one answer brings the pace back at once.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kompira_core::rest::{Client, Task, TaskChoice, TaskQuery, TaskStatus};
use kompira_core::watch::{Backoff, NotifySettings};
use kompira_tray_ipc::Event;
use serde::Serialize;
use serde_json::Value;

use crate::popups::{self, Loudness};
use crate::shell::Shell;
pub use crate::state::TaskBoard;
use crate::state::{lock, Board, Pause};
use crate::text::{self, Lang, Text};
use crate::tray::current_lang;

/// The fields a poll asks for: what the popup and the Tasks view show.
const ATTRS: [&str; 9] =
    ["owner", "assigned_users", "assigned_groups", "name", "title", "message", "action_text", "created_date", "status"];
/// Waiting tasks read at most per poll (newest first).
const MAX_TASKS: usize = 200;
/// New tasks popped up one by one per poll; beyond that one popup counts the rest.
const MAX_POPUPS_PER_POLL: usize = 3;
/// Choices shown as popup buttons; a task with more is answered in the window.
const MAX_CHOICE_BUTTONS: usize = 3;
/// Longest pause between polls while the server keeps failing.
const MAX_FAILURE_PAUSE: Duration = Duration::from_secs(300);
/// Popup button ids.
const SUBMIT_ACTION: &str = "submit";
const CANCEL_ACTION: &str = "cancel";
const OPEN_ACTION: &str = "open";
const CHOICE_PREFIX: &str = "choice:";
/// The window's view of tasks.
const VIEW: &str = "tasks";

/// A task as the window shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskView {
    pub id: i64,
    pub path: String,
    pub name: String,
    pub title: String,
    pub message: String,
    pub owner: Option<String>,
    pub assigned_users: Vec<String>,
    pub created_date: Option<String>,
    pub choices: Vec<TaskChoice>,
}

impl From<&Task> for TaskView {
    fn from(task: &Task) -> Self {
        TaskView {
            id: task.id,
            path: task.path(),
            name: task.name.clone(),
            title: task.title.clone(),
            message: task.message.clone(),
            owner: task.owner.clone(),
            assigned_users: task.assigned_users.clone(),
            created_date: task.created_date.clone(),
            choices: task.choices(),
        }
    }
}

/// The `list_tasks` answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskList {
    pub tasks: Vec<TaskView>,
    /// Why the tasks could not be read (the list is then the last one read).
    pub error: Option<String>,
    /// Whether the agent asks for tasks at all (`[rest]` set and `task_poll` not 0).
    pub enabled: bool,
}

/// The new tasks among `current` (not popped up before), which are marked as popped; ids no
/// longer waiting are forgotten, so the set stays as small as the list.
pub fn take_new(popped: &mut HashSet<i64>, current: &[Task]) -> Vec<Task> {
    popped.retain(|id| current.iter().any(|t| t.id == *id));
    current.iter().filter(|t| popped.insert(t.id)).cloned().collect()
}

/// Starts asking for tasks when `[rest]` is set and `[notify] task_poll` is not 0.
pub fn start_watching(agent: &Arc<dyn Shell>) {
    let Some((client, poll, user)) = watch_settings(agent) else { return };
    let generation = agent.state().tasks.generation.load(Ordering::SeqCst);
    tracing::info!("asking for waiting tasks every {} s", poll.as_secs());
    let agent = agent.clone();
    agent.clone().spawn(async move {
        let board = &agent.state().tasks;
        let backoff = Backoff { initial: poll, cap: MAX_FAILURE_PAUSE.max(poll) };
        let mut failures = 0;
        while board.generation.load(Ordering::SeqCst) == generation {
            let pause = match poll_once(&agent, &client, user.as_deref(), generation).await {
                Ok(()) => {
                    failures = 0;
                    poll
                }
                Err(reason) => {
                    failures += 1;
                    tracing::debug!("tasks not read ({failures} failures in a row): {reason}");
                    backoff.pause(failures).max(poll)
                }
            };
            tokio::time::sleep(pause).await;
        }
    });
}

/// After a settings save: the old loop stops at its next turn, a new one starts now.
pub fn restart_watching(agent: &Arc<dyn Shell>) {
    let board = &agent.state().tasks;
    board.generation.fetch_add(1, Ordering::SeqCst);
    *lock(&board.inner) = Board::default();
    start_watching(agent);
    agent.emit(Event::TasksChanged);
}

/// The client, the pause and the user from the settings; `None` (logged) when not asking.
fn watch_settings(agent: &dyn Shell) -> Option<(Arc<Client>, Duration, Option<String>)> {
    let settings = agent.state().settings().ok()?;
    let notify = NotifySettings::from_settings(&settings);
    let Some(poll) = notify.task_poll else {
        tracing::info!("not asking for tasks: [notify] task_poll is 0");
        return None;
    };
    match agent.state().rest_client() {
        Ok(client) => Some((Arc::new(client), poll, notify.task_user)),
        Err(reason) => {
            tracing::info!("not asking for tasks: {reason}");
            None
        }
    }
}

/// One poll: reads the waiting tasks, keeps those meant for the user, pops the new ones up
/// and tells the window when the list changed.
async fn poll_once(agent: &Arc<dyn Shell>, client: &Client, user: Option<&str>, generation: u64) -> Result<(), String> {
    let query = TaskQuery {
        status: Some(TaskStatus::Waiting),
        attrs: ATTRS.iter().map(|a| (*a).to_owned()).collect(),
        limit: Some(MAX_TASKS),
    };
    let read = client.tasks(&query).await.map_err(|e| e.to_string());
    let board = &agent.state().tasks;
    let (changed, new) = {
        let mut inner = lock(&board.inner);
        if board.generation.load(Ordering::SeqCst) != generation {
            return Ok(());
        }
        match &read {
            Ok(tasks) => {
                // `attrs` may leave the status out: the filter asked for WAITING ones only.
                let mine: Vec<Task> = tasks
                    .iter()
                    .filter(|t| matches!(t.status, TaskStatus::Waiting | TaskStatus::Unknown))
                    .filter(|t| t.is_meant_for(user))
                    .cloned()
                    .collect();
                // Popups paused from the tray: the new tasks pop up once the pause ends.
                let paused = Pause::holds(*lock(&agent.state().pause), Instant::now());
                let new = if paused { Vec::new() } else { take_new(&mut inner.popped, &mine) };
                let changed = inner.waiting != mine || inner.error.is_some() || !inner.loaded;
                inner.waiting = mine;
                inner.error = None;
                inner.loaded = true;
                (changed, new)
            }
            Err(reason) => {
                let changed = inner.error.as_deref() != Some(reason.as_str());
                inner.error = Some(reason.clone());
                (changed, Vec::new())
            }
        }
    };
    if !new.is_empty() {
        pop_up(agent, &new);
    }
    if changed {
        agent.emit(Event::TasksChanged);
    }
    read.map(drop)
}

/// The window's list: read now when the agent asks for tasks, so what the view shows is fresh.
pub async fn list_tasks(agent: &Arc<dyn Shell>) -> TaskList {
    let enabled = match watch_settings(agent) {
        Some((client, _, user)) => {
            let generation = agent.state().tasks.generation.load(Ordering::SeqCst);
            let _ = poll_once(agent, &client, user.as_deref(), generation).await;
            true
        }
        None => false,
    };
    let inner = lock(&agent.state().tasks.inner);
    TaskList { tasks: inner.waiting.iter().map(TaskView::from).collect(), error: inner.error.clone(), enabled }
}

/// Answers task `id` (`None`: Kompira's default answer, "OK"); it leaves the list at once.
pub async fn submit_task(agent: &Arc<dyn Shell>, id: i64, result: Option<Value>) -> Result<(), String> {
    let client = agent.state().rest_client()?;
    client.submit_task(&id.to_string(), result.as_ref()).await.map_err(|e| e.to_string())?;
    forget(agent, id);
    Ok(())
}

/// Cancels task `id`; it leaves the list at once.
pub async fn cancel_task(agent: &Arc<dyn Shell>, id: i64) -> Result<(), String> {
    let client = agent.state().rest_client()?;
    client.cancel_task(&id.to_string()).await.map_err(|e| e.to_string())?;
    forget(agent, id);
    Ok(())
}

fn forget(agent: &dyn Shell, id: i64) {
    lock(&agent.state().tasks.inner).waiting.retain(|t| t.id != id);
    agent.emit(Event::TasksChanged);
}

/// A task's popup: summary, body and buttons (`(id, label)`): one per choice, Submit and
/// Cancel when it offers none, "Answer…" (the window) when it offers more than fit.
pub fn popup_for(lang: Lang, task: &Task) -> (String, String, Vec<(String, String)>) {
    let summary = [&task.title, &task.name].into_iter().find(|t| !t.trim().is_empty()).cloned();
    let summary = summary.unwrap_or_else(|| Text::TaskUntitled.get(lang).to_owned());
    let choices = task.choices();
    let actions = if choices.is_empty() {
        vec![
            (SUBMIT_ACTION.to_owned(), Text::TaskSubmit.get(lang).to_owned()),
            (CANCEL_ACTION.to_owned(), Text::TaskCancel.get(lang).to_owned()),
        ]
    } else if choices.len() <= MAX_CHOICE_BUTTONS {
        choices.iter().enumerate().map(|(i, c)| (format!("{CHOICE_PREFIX}{i}"), c.label.clone())).collect()
    } else {
        vec![(OPEN_ACTION.to_owned(), Text::TaskAnswer.get(lang).to_owned())]
    };
    (summary, task.message.clone(), actions)
}

/// What a popup button means for `task`.
#[derive(Debug, PartialEq)]
pub enum PopupAnswer {
    /// Submit this result (`None`: Kompira's "OK").
    Submit(Option<Value>),
    Cancel,
    /// Show the Tasks view.
    Open,
    Nothing,
}

/// The button `action` of `task`'s popup ("default" is a click on the popup itself).
pub fn popup_answer(task: &Task, action: &str) -> PopupAnswer {
    if let Some(index) = action.strip_prefix(CHOICE_PREFIX).and_then(|i| i.parse::<usize>().ok()) {
        return match task.choices().into_iter().nth(index) {
            Some(choice) => PopupAnswer::Submit(Some(choice.value)),
            None => PopupAnswer::Nothing,
        };
    }
    match action {
        SUBMIT_ACTION => PopupAnswer::Submit(None),
        CANCEL_ACTION => PopupAnswer::Cancel,
        OPEN_ACTION | "default" => PopupAnswer::Open,
        _ => PopupAnswer::Nothing,
    }
}

fn pop_up(agent: &Arc<dyn Shell>, new: &[Task]) {
    let lang = current_lang(agent);
    for task in new.iter().take(MAX_POPUPS_PER_POLL) {
        let (summary, body, actions) = popup_for(lang, task);
        let agent = agent.clone();
        let task = task.clone();
        popups::show_with_actions(summary, body, Loudness::Normal, actions, move |action| {
            let answer = popup_answer(&task, action);
            let reporter = agent.clone();
            agent.spawn(async move { answer_from_popup(&reporter, &task, answer).await });
        });
    }
    let rest = new.len().saturating_sub(MAX_POPUPS_PER_POLL);
    if rest > 0 {
        let agent = agent.clone();
        let actions = vec![(OPEN_ACTION.to_owned(), Text::Open.get(lang).to_owned())];
        popups::show_with_actions(
            text::more_tasks(lang, rest),
            Text::MoreTasksBody.get(lang).into(),
            Loudness::Normal,
            actions,
            move |_| {
                agent.open_window(VIEW, None);
            },
        );
    }
}

async fn answer_from_popup(agent: &Arc<dyn Shell>, task: &Task, answer: PopupAnswer) {
    let lang = current_lang(agent);
    let title = if task.title.is_empty() { task.path() } else { task.title.clone() };
    let outcome = match answer {
        PopupAnswer::Submit(result) => {
            let shown = match &result {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => "OK".to_owned(),
            };
            submit_task(agent, task.id, result)
                .await
                .map(|()| (Text::AnswerSent.get(lang), format!("{title}: {shown}")))
        }
        PopupAnswer::Cancel => cancel_task(agent, task.id)
            .await
            .map(|()| (Text::TaskCancelled.get(lang), Text::TaskCancelledBody.get(lang).to_owned())),
        PopupAnswer::Open => return agent.open_window(VIEW, None),
        PopupAnswer::Nothing => return,
    };
    match outcome {
        Ok((summary, body)) => popups::show(summary.to_owned(), body, Loudness::Low),
        Err(reason) => popups::show(Text::TaskNotAnswered.get(lang).to_owned(), reason, Loudness::Normal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(id: i64, action: Option<&str>) -> Task {
        serde_json::from_value(json!({"id": id, "abspath": format!("/task/id_{id}"), "owner": "root",
            "assigned_users": ["root"], "name": "ask_person", "title": "Question from ask_person",
            "message": "Which host should be used?", "action_text": action, "status": "WAITING"}))
        .unwrap()
    }

    #[test]
    fn each_task_pops_up_once_and_answered_ones_are_forgotten() {
        let mut popped = HashSet::new();
        let ids = |tasks: Vec<Task>| tasks.into_iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(take_new(&mut popped, &[task(1, None), task(2, None)])), [1, 2]);
        assert_eq!(ids(take_new(&mut popped, &[task(3, None), task(1, None), task(2, None)])), [3]);
        assert_eq!(ids(take_new(&mut popped, &[task(3, None)])), Vec::<i64>::new());
        assert_eq!(popped, HashSet::from([3]));
    }

    #[test]
    fn choices_become_buttons_and_their_values_the_answer() {
        let t = task(1, Some(r#"["web 1", "web 2"]"#));
        let (summary, body, actions) = popup_for(Lang::En, &t);
        assert_eq!((summary.as_str(), body.as_str()), ("Question from ask_person", "Which host should be used?"));
        assert_eq!(actions, [("choice:0".to_owned(), "web 1".to_owned()), ("choice:1".to_owned(), "web 2".to_owned())]);
        assert_eq!(popup_answer(&t, "choice:1"), PopupAnswer::Submit(Some(json!("web 2"))));
        assert_eq!(popup_answer(&t, "choice:7"), PopupAnswer::Nothing);
        assert_eq!(popup_answer(&t, "default"), PopupAnswer::Open);
        let numbers = task(2, Some("[1, 2]"));
        assert_eq!(popup_answer(&numbers, "choice:0"), PopupAnswer::Submit(Some(json!(1))));
    }

    #[test]
    fn without_choices_submit_and_cancel_in_both_languages() {
        let t = task(1, None);
        let labels = |lang| popup_for(lang, &t).2.into_iter().map(|(_, label)| label).collect::<Vec<_>>();
        assert_eq!(labels(Lang::En), ["Submit", "Cancel task"]);
        assert_eq!(labels(Lang::Ja), ["送信", "タスクをキャンセル"]);
        assert_eq!(popup_answer(&t, "submit"), PopupAnswer::Submit(None));
        assert_eq!(popup_answer(&t, "cancel"), PopupAnswer::Cancel);
        assert_eq!(popup_answer(&t, "__closed"), PopupAnswer::Nothing);
    }

    #[test]
    fn many_choices_are_answered_in_the_window_and_untitled_tasks_still_read() {
        let many = task(1, Some(r#"["a", "b", "c", "d"]"#));
        assert_eq!(popup_for(Lang::Ja, &many).2, [("open".to_owned(), "回答…".to_owned())]);
        let mut bare = task(2, None);
        bare.title.clear();
        bare.name.clear();
        assert_eq!(popup_for(Lang::En, &bare).0, "A Kompira task is waiting for you");
        assert_eq!(popup_for(Lang::Ja, &bare).0, "Kompira のタスクが回答を待っています");
        assert_eq!(text::more_tasks(Lang::Ja, 2), "ほかに 2 件の Kompira タスクが回答を待っています");
    }
}
