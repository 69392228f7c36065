//! What the agent's parts (tray, watcher, tasks, runs, outbox, the window's calls) need from the
//! agent around them, as a trait: they take an `Arc<dyn Shell>` and never name `agent.rs`, so
//! the modules form no circle (`agent.rs` implements it; tests may implement it too).

use std::future::Future;
use std::pin::Pin;

use kompira_tray_ipc::{Event, Opening};

use crate::state::AppState;

/// A task for the agent's runtime.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The agent as its parts see it.
pub trait Shell: Send + Sync + 'static {
    /// Settings, history, watcher, pause, outbox and task handles.
    fn state(&self) -> &AppState;

    /// Tells every connected window (none is fine: a window reads the state when it opens).
    fn emit(&self, event: Event);

    /// Redraws the tray from the current state.
    fn refresh_tray(&self);

    /// Shows the window on `view` (with `alert` marked): the connected one if there is one,
    /// else a new window process.
    fn open_window(&self, view: &str, alert: Option<u64>) {
        self.show(Opening { view: view.to_owned(), alert, remedy: false });
    }

    /// Shows the window as `opening` says.
    fn show(&self, opening: Opening);

    /// Whether a window is connected, or one the agent started is still on its way.
    fn window_present(&self) -> bool;

    /// Ends the agent: windows are told to close first.
    fn quit(&self);

    /// Runs `task` on the agent's runtime, from any thread (see [`dyn Shell::spawn`]).
    fn spawn_task(&self, task: Task);
}

impl dyn Shell {
    /// Runs `future` on the agent's runtime, from any thread (popup buttons answer on their own).
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn_task(Box::pin(future));
    }
}

/// An `Arc` of a shell is a shell: parts holding `Arc<dyn Shell>` pass `&agent` where a
/// `&dyn Shell` is taken.
impl<S: Shell + ?Sized> Shell for std::sync::Arc<S> {
    fn state(&self) -> &AppState {
        (**self).state()
    }
    fn emit(&self, event: Event) {
        (**self).emit(event)
    }
    fn refresh_tray(&self) {
        (**self).refresh_tray()
    }
    fn show(&self, opening: Opening) {
        (**self).show(opening)
    }
    fn window_present(&self) -> bool {
        (**self).window_present()
    }
    fn quit(&self) {
        (**self).quit()
    }
    fn spawn_task(&self, task: Task) {
        (**self).spawn_task(task)
    }
}
