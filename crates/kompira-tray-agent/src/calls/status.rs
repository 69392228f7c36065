//! One line for the window's status bar.

use serde::Serialize;

use crate::shell::Shell;
use crate::state::lock;

/// What the window shows at the top.
#[derive(Serialize)]
pub struct Status {
    /// The agent's language (`[tray] language`, else the OS's): the window speaks it too, so
    /// the page and the popups agree.
    pub language: crate::text::Lang,
    /// `tray::tooltip`'s sentence, in `language`.
    pub summary: String,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// Why settings could not be loaded, if so.
    pub settings_error: Option<String>,
    /// The channel events go to by default.
    pub default_channel: Option<String>,
    /// Events waiting in the outbox.
    pub outbox_pending: u64,
    /// Why the outbox is missing or not sending, if so.
    pub outbox_error: Option<String>,
    /// Messages waiting on each watched channel on the server.
    pub channel_depths: Vec<crate::state::ChannelDepth>,
}

pub fn status(agent: &dyn Shell) -> Status {
    let state = &agent.state();
    let watch_state = lock(&state.watch_state).clone();
    let unread = lock(&state.history).unread_count();
    let pending = state.outbox_pending.load(std::sync::atomic::Ordering::SeqCst);
    let settings = state.settings();
    let language = crate::tray::current_lang(agent);
    Status {
        language,
        summary: crate::tray::tooltip(language, watch_state.as_ref(), unread, pending),
        last_error: watch_state.and_then(|s| s.last_error),
        settings_error: settings.as_ref().err().cloned(),
        default_channel: settings.as_ref().ok().map(|s| s.channel().to_owned()),
        outbox_pending: pending,
        outbox_error: lock(&state.outbox_error).clone(),
        channel_depths: lock(&state.channel_depths).clone(),
    }
}
