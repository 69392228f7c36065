//! The Windows tray: a notification-area icon through `tray-icon`, on a thread of its own that
//! runs the Win32 message loop (`tao`'s event loop: the icon and its menu belong to the thread
//! that made them). Updates reach that thread as user events; choices leave it on a channel.
//! Compiled and type-checked in CI (`cargo check --target x86_64-pc-windows-gnu`); it cannot run
//! here (see ../shared/tauri-notes.md).

use tao::event::Event;
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tao::platform::windows::EventLoopBuilderExtWindows;
use tokio::sync::mpsc::UnboundedSender;
use tray_icon::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};

use super::{decode_png, icon_png, TrayAction, TrayModel};

/// The running tray icon: updates are posted to its thread.
pub struct TrayHandle(EventLoopProxy<TrayModel>);

impl TrayHandle {
    pub fn show(&self, model: TrayModel) {
        let _ = self.0.send_event(model);
    }
}

/// Starts the tray thread; an error when the icon cannot be added.
pub async fn start(model: TrayModel, actions: UnboundedSender<TrayAction>) -> Result<TrayHandle, String> {
    let (ready, started) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("tray".into())
        .spawn(move || run(model, actions, ready))
        .map_err(|e| format!("no thread for the tray: {e}"))?;
    started.await.map_err(|_| "the tray thread ended before the icon was added".to_owned())?
}

/// The notification area is part of the shell and always there: a failed start is final.
pub async fn start_when_host_appears(
    _model: TrayModel,
    _actions: UnboundedSender<TrayAction>,
) -> Result<TrayHandle, String> {
    Err("the notification area refused the icon".into())
}

/// The menu items whose text or state changes.
struct Items {
    quick_send: MenuItem,
    run_jobflow: MenuItem,
    alerts: MenuItem,
    pause_hour: MenuItem,
    pause_until_resumed: MenuItem,
    resume: MenuItem,
    start_at_login: CheckMenuItem,
    settings: MenuItem,
    quit: MenuItem,
}

impl Items {
    fn new(model: &TrayModel) -> Self {
        let item = |id: &str| MenuItem::with_id(id, "", true, None);
        let items = Items {
            quick_send: item("send"),
            run_jobflow: item("jobflow"),
            alerts: item("alerts"),
            pause_hour: item("pause-hour"),
            pause_until_resumed: item("pause"),
            resume: item("resume"),
            start_at_login: CheckMenuItem::with_id("autostart", "", true, false, None),
            settings: item("settings"),
            quit: item("quit"),
        };
        items.show(model);
        items
    }

    fn show(&self, model: &TrayModel) {
        let labels = &model.labels;
        self.quick_send.set_text(labels.quick_send);
        self.run_jobflow.set_text(labels.run_jobflow);
        self.alerts.set_text(&model.alerts);
        self.pause_hour.set_text(labels.pause_hour);
        self.pause_until_resumed.set_text(labels.pause_until_resumed);
        self.resume.set_text(labels.resume);
        self.start_at_login.set_text(labels.start_at_login);
        self.settings.set_text(labels.settings);
        self.quit.set_text(labels.quit);
        let (hour, until_resumed, resume) = model.pause_enabled;
        self.pause_hour.set_enabled(hour);
        self.pause_until_resumed.set_enabled(until_resumed);
        self.resume.set_enabled(resume);
        self.start_at_login.set_checked(model.autostart);
    }

    fn menu(&self) -> Result<Menu, String> {
        let menu = Menu::new();
        let separator = PredefinedMenuItem::separator;
        menu.append_items(&[
            &self.quick_send,
            &self.run_jobflow,
            &self.alerts,
            &separator(),
            &self.pause_hour,
            &self.pause_until_resumed,
            &self.resume,
            &separator(),
            &self.start_at_login,
            &self.settings,
            &separator(),
            &self.quit,
        ])
        .map_err(|e| e.to_string())?;
        Ok(menu)
    }
}

fn action_of(id: &str) -> Option<TrayAction> {
    Some(match id {
        "send" => TrayAction::Open("send"),
        "jobflow" => TrayAction::Open("jobflow"),
        "alerts" => TrayAction::Open("alerts"),
        "pause-hour" => TrayAction::PauseHour,
        "pause" => TrayAction::PauseUntilResumed,
        "resume" => TrayAction::Resume,
        "autostart" => TrayAction::ToggleAutostart,
        "settings" => TrayAction::Open("settings"),
        "quit" => TrayAction::Quit,
        _ => return None,
    })
}

fn icon(name: &str) -> Result<Icon, String> {
    let decoded = decode_png(icon_png(name))?;
    Icon::from_rgba(decoded.rgba, decoded.width, decoded.height).map_err(|e| e.to_string())
}

fn build(model: &TrayModel, items: &Items) -> Result<TrayIcon, String> {
    TrayIconBuilder::new()
        .with_menu(Box::new(items.menu()?))
        .with_menu_on_left_click(false)
        .with_tooltip(&model.tooltip)
        .with_icon(icon(model.icon)?)
        .build()
        .map_err(|e| e.to_string())
}

fn run(
    model: TrayModel,
    actions: UnboundedSender<TrayAction>,
    ready: tokio::sync::oneshot::Sender<Result<TrayHandle, String>>,
) {
    let event_loop = EventLoopBuilder::<TrayModel>::with_user_event().with_any_thread(true).build();
    let items = Items::new(&model);
    let tray = match build(&model, &items) {
        Ok(tray) => tray,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let menu_actions = actions.clone();
    MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
        if let Some(action) = action_of(event.id.as_ref()) {
            let _ = menu_actions.send(action);
        }
    }));
    TrayIconEvent::set_event_handler(Some(move |event: TrayIconEvent| {
        if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
            let _ = actions.send(TrayAction::Activate);
        }
    }));
    let _ = ready.send(Ok(TrayHandle(event_loop.create_proxy())));
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        if let Event::UserEvent(model) = event {
            items.show(&model);
            let _ = tray.set_tooltip(Some(&model.tooltip));
            if let Ok(icon) = icon(model.icon) {
                let _ = tray.set_icon(Some(icon));
            }
        }
    });
}
