//! The Windows tray: a notification-area icon through `tray-icon`, on a thread of its own that
//! runs the Win32 message loop (`tao`'s event loop: the icon and its menu belong to the thread
//! that made them). Updates reach that thread as user events; choices leave it on a channel.
//! Popups whose toast failed come here as balloons ([`popups::Balloon`]): they are put on this
//! icon, so no second icon comes and goes and the balloon carries our name.
//! Compiled and type-checked in CI (`cargo check --target x86_64-pc-windows-gnu`); it runs under
//! Wine in tests/windows_run (popup_balloon.sh shows a balloon there).

use std::cell::RefCell;
use std::sync::mpsc;
use std::time::Duration;

use tao::event::Event;
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tao::platform::windows::EventLoopBuilderExtWindows;
use tokio::sync::mpsc::UnboundedSender;
use tray_icon::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};

use super::{decode_png, icon_png, TrayAction, TrayModel};
use crate::popups::{self, Balloon, BalloonIcon, OnClick};
use crate::text::{self, Lang};

/// What reaches the tray's thread.
enum TrayEvent {
    /// Draw this state.
    Show(TrayModel),
    /// Show a popup as a balloon on the icon; whether the shell took it goes back on the sender.
    Balloon(Balloon, mpsc::Sender<Result<(), String>>),
}

/// The running tray icon: updates are posted to its thread.
pub struct TrayHandle(EventLoopProxy<TrayEvent>);

impl TrayHandle {
    pub fn show(&self, model: TrayModel) {
        let _ = self.0.send_event(TrayEvent::Show(model));
    }
}

/// How long a popup's thread waits for the tray's thread to hand its balloon to the shell.
const BALLOON_ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long Wine keeps a balloon up (Windows 10 and later decide for themselves).
const BALLOON_SHOWN_MS: u32 = 20_000;

/// Balloons for popups on any thread: posted to the tray's thread, which owns the icon.
fn balloon_sink(proxy: EventLoopProxy<TrayEvent>) -> popups::BalloonSink {
    Box::new(move |balloon| {
        let (answer, answered) = mpsc::channel();
        if proxy.send_event(TrayEvent::Balloon(balloon, answer)).is_err() {
            return Err("the tray's thread has ended".to_owned());
        }
        answered.recv_timeout(BALLOON_ANSWER_TIMEOUT).unwrap_or_else(|e| {
            Err(match e {
                mpsc::RecvTimeoutError::Timeout => {
                    format!("the tray did not answer within {} s", BALLOON_ANSWER_TIMEOUT.as_secs())
                }
                mpsc::RecvTimeoutError::Disconnected => "the tray's thread ended before showing it".to_owned(),
            })
        })
    })
}

thread_local! {
    /// What a click on the balloon now shown does (the tray's thread only). A new balloon
    /// replaces it: the shell shows one balloon per icon, so an older one is gone.
    static PENDING_CLICK: RefCell<Option<OnClick>> = const { RefCell::new(None) };
}

/// Puts `balloon` on the icon, in the tray's language `lang`.
fn show_balloon(icon: Option<shell::IconId>, lang: Lang, balloon: Balloon) -> Result<(), String> {
    let icon = icon.ok_or("the tray icon's id is unknown, so no balloon can be put on it")?;
    let note = (!balloon.choices.is_empty()).then(|| text::choices_in_window(lang, &balloon.choices));
    let (title, text) = balloon.texts(note.as_deref());
    let icon_flag = match balloon.icon {
        BalloonIcon::Info => shell::NIIF_INFO,
        BalloonIcon::Warning => shell::NIIF_WARNING,
        BalloonIcon::Error => shell::NIIF_ERROR,
    };
    let flags = if balloon.sound { icon_flag } else { icon_flag | shell::NIIF_NOSOUND };
    shell::show_balloon(icon, &title, &text, flags, BALLOON_SHOWN_MS)?;
    PENDING_CLICK.with(|pending| *pending.borrow_mut() = balloon.on_click);
    Ok(())
}

/// The user clicked the balloon: what it stands for runs on a thread of its own, so the tray
/// keeps answering meanwhile (opening the window starts a process).
fn balloon_clicked() {
    let Some(click) = PENDING_CLICK.with(|pending| pending.borrow_mut().take()) else { return };
    if let Err(e) = std::thread::Builder::new().name("balloon-click".into()).spawn(click) {
        tracing::warn!("the balloon's click is lost: no thread for it ({e})");
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
    let event_loop = EventLoopBuilder::<TrayEvent>::with_user_event().with_any_thread(true).build();
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
    let balloon_icon = shell::find_icon(tray.window_handle(), &model.tooltip);
    match balloon_icon {
        Some(found) => {
            if let Err(reason) = shell::on_balloon_click(found) {
                tracing::warn!("a click on a balloon will do nothing: {reason}");
            }
        }
        None => tracing::warn!("the tray icon's id was not found, so popups cannot fall back to balloons"),
    }
    popups::set_balloon_sink(balloon_sink(event_loop.create_proxy()));
    let _ = ready.send(Ok(TrayHandle(event_loop.create_proxy())));
    let mut lang = model.lang;
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        match event {
            Event::UserEvent(TrayEvent::Show(model)) => {
                lang = model.lang;
                items.show(&model);
                let _ = tray.set_tooltip(Some(&model.tooltip));
                if let Ok(icon) = icon(model.icon) {
                    let _ = tray.set_icon(Some(icon));
                }
            }
            Event::UserEvent(TrayEvent::Balloon(balloon, answer)) => {
                let _ = answer.send(show_balloon(balloon_icon, lang, balloon));
            }
            _ => {}
        }
    });
}

/// The Win32 calls that no crate makes for us: a balloon on tray-icon's icon, finding that
/// icon's id, and hearing a click on the balloon. tray-icon hands out its window but not the
/// id it gave the icon (a private counter), so the id is found by asking the shell; the window
/// holds that one icon only. The agent's only unsafe code (its lints deny it elsewhere).
#[allow(unsafe_code)]
mod shell {
    use std::mem::size_of;

    use windows_sys::Win32::Foundation::{GetLastError, HWND, LPARAM, LRESULT, WPARAM};
    use windows_sys::Win32::UI::Shell::{
        DefSubclassProc, SetWindowSubclass, Shell_NotifyIconW, NIF_INFO, NIF_TIP, NIM_MODIFY, NIN_BALLOONUSERCLICK,
        NOTIFYICONDATAW,
    };
    pub use windows_sys::Win32::UI::Shell::{NIIF_ERROR, NIIF_INFO, NIIF_NOSOUND, NIIF_WARNING};
    use windows_sys::Win32::UI::WindowsAndMessaging::WM_USER;

    /// tray-icon's window and the id of its icon: how the shell names the icon.
    #[derive(Clone, Copy)]
    pub struct IconId {
        hwnd: HWND,
        id: u32,
    }

    /// The largest icon id tried: tray-icon numbers icons from 1 with a counter it shares with
    /// its icon ids, so a process's first icon is found within a few tries.
    const LAST_ID_TRIED: u32 = 64;

    /// The id under which the shell knows the icon of `hwnd`, found by setting its tooltip
    /// (the one it already has) under each id in turn: only the real one is accepted.
    pub fn find_icon(hwnd: HWND, tooltip: &str) -> Option<IconId> {
        (1..=LAST_ID_TRIED).map(|id| IconId { hwnd, id }).find(|icon| {
            let mut data = notify_data(*icon, NIF_TIP);
            copy_wide(&mut data.szTip, tooltip);
            modify(&data).is_ok()
        })
    }

    /// Shows a balloon on `icon` (`flags`: NIIF_*); the shell's refusal as a sentence.
    pub fn show_balloon(icon: IconId, title: &str, text: &str, flags: u32, shown_ms: u32) -> Result<(), String> {
        let mut data = notify_data(icon, NIF_INFO);
        copy_wide(&mut data.szInfoTitle, title);
        copy_wide(&mut data.szInfo, text);
        data.dwInfoFlags = flags;
        data.Anonymous.uTimeout = shown_ms;
        modify(&data).map_err(|error| format!("Shell_NotifyIconW refused the balloon{error}"))
    }

    /// Has [`super::balloon_clicked`] called (on this thread) when the user clicks a balloon of
    /// `icon`. To be called on the thread that made the icon's window, as Windows requires of a
    /// subclass.
    pub fn on_balloon_click(icon: IconId) -> Result<(), String> {
        // SAFETY: the window is tray-icon's, made on this thread and alive while the tray lives;
        // the procedure below has SUBCLASSPROC's signature. Windows removes the subclass when the
        // window is destroyed.
        let done = unsafe { SetWindowSubclass(icon.hwnd, Some(balloon_click_proc), icon.id as usize, 0) };
        if done == 0 {
            return Err(format!("SetWindowSubclass failed{}", last_error()));
        }
        Ok(())
    }

    /// Sees the shell's notices before tray-icon does, which ignores balloon clicks. Classic
    /// notices (tray-icon sets no NOTIFYICON_VERSION_4) carry the icon id in `wparam` and the
    /// event in `lparam`, on the callback message tray-icon chose (above WM_USER).
    unsafe extern "system" fn balloon_click_proc(
        hwnd: HWND,
        message: u32,
        wparam: WPARAM,
        lparam: LPARAM,
        icon_id: usize,
        _data: usize,
    ) -> LRESULT {
        if message >= WM_USER && wparam == icon_id && lparam as u32 == NIN_BALLOONUSERCLICK {
            super::balloon_clicked();
        }
        // SAFETY: the arguments this procedure was called with, passed on as Windows requires.
        unsafe { DefSubclassProc(hwnd, message, wparam, lparam) }
    }

    fn notify_data(icon: IconId, flags: u32) -> NOTIFYICONDATAW {
        NOTIFYICONDATAW {
            cbSize: size_of::<NOTIFYICONDATAW>() as u32,
            hWnd: icon.hwnd,
            uID: icon.id,
            uFlags: flags,
            ..Default::default()
        }
    }

    /// NIM_MODIFY; the error is " (Windows error N)" when Windows gave one, else empty.
    fn modify(data: &NOTIFYICONDATAW) -> Result<(), String> {
        // SAFETY: a whole NOTIFYICONDATAW of the size it says, with NUL-ended strings; the
        // shell only reads it during the call.
        if unsafe { Shell_NotifyIconW(NIM_MODIFY, data) } != 0 {
            Ok(())
        } else {
            Err(last_error())
        }
    }

    fn last_error() -> String {
        // SAFETY: reads this thread's last-error value; no arguments.
        match unsafe { GetLastError() } {
            0 => String::new(),
            code => format!(" (Windows error {code})"),
        }
    }

    /// `text` into a fixed UTF-16 field, NUL-ended (cut if too long; callers fit it first).
    fn copy_wide(field: &mut [u16], text: &str) {
        let mut units = text.encode_utf16().take(field.len() - 1);
        for unit in field.iter_mut() {
            *unit = units.next().unwrap_or(0);
        }
    }
}
