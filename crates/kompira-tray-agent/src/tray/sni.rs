//! The Linux tray: a StatusNotifierItem on the session bus (what KDE, XFCE, GNOME's AppIndicator
//! extension and most other trays read), through `ksni`: pure Rust, no GTK, no libappindicator.
//! A left click is `Activate`; the menu is a D-Bus menu the tray host draws.

use ksni::menu::{CheckmarkItem, StandardItem};
use ksni::{MenuItem, TrayMethods};
use tokio::sync::mpsc::UnboundedSender;

use super::{icon_png, TrayAction, TrayModel};

/// The running tray item.
pub struct TrayHandle(ksni::Handle<SniTray>);

impl TrayHandle {
    /// Redraws the item; the update is sent from the runtime (callers may be on any thread).
    pub fn show(&self, model: TrayModel) {
        let handle = self.0.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                handle.update(|tray| tray.model = model).await;
            });
        }
    }
}

/// Registers the item with the desktop's StatusNotifierWatcher; an error when there is none.
pub async fn start(model: TrayModel, actions: UnboundedSender<TrayAction>) -> Result<TrayHandle, String> {
    SniTray::new(model, actions)?.spawn().await.map(TrayHandle).map_err(|e| e.to_string())
}

/// Serves the item and registers it whenever a StatusNotifierWatcher appears (a panel that
/// starts after the app at login, or is restarted); an error only without a session bus.
pub async fn start_when_host_appears(
    model: TrayModel,
    actions: UnboundedSender<TrayAction>,
) -> Result<TrayHandle, String> {
    let tray = SniTray::new(model, actions)?;
    tray.assume_sni_available(true).spawn().await.map(TrayHandle).map_err(|e| e.to_string())
}

pub struct SniTray {
    model: TrayModel,
    /// Decoded once: ARGB32 in network byte order, as the protocol carries it.
    icons: Vec<(&'static str, ksni::Icon)>,
    actions: UnboundedSender<TrayAction>,
}

impl SniTray {
    fn new(model: TrayModel, actions: UnboundedSender<TrayAction>) -> Result<Self, String> {
        let icons = ["tray-offline", "tray-unread", "tray-reconnecting", "tray-paused", "tray-connected"]
            .into_iter()
            .map(|name| decode(icon_png(name)).map(|icon| (name, icon)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(SniTray { model, icons, actions })
    }

    fn choose(&self, action: TrayAction) {
        let _ = self.actions.send(action);
    }
}

impl ksni::Tray for SniTray {
    fn id(&self) -> String {
        "kompira-tray".into()
    }

    fn title(&self) -> String {
        "Kompira Tray".into()
    }

    fn watcher_online(&self) {
        tracing::info!("a system tray appeared: the icon is in it");
    }

    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        tracing::warn!("the system tray went away ({reason:?}); the icon comes back with it");
        true
    }

    fn activate(&mut self, _x: i32, _y: i32) {
        self.choose(TrayAction::Activate);
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        self.icons.iter().filter(|(name, _)| *name == self.model.icon).map(|(_, icon)| icon.clone()).collect()
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        ksni::ToolTip { title: self.model.tooltip.clone(), ..Default::default() }
    }

    fn menu(&self) -> Vec<MenuItem<Self>> {
        let labels = &self.model.labels;
        let (pause_hour, pause_until_resumed, resume) = self.model.pause_enabled;
        let item = |label: &str, enabled: bool, action: TrayAction| -> MenuItem<Self> {
            StandardItem {
                label: label.to_owned(),
                enabled,
                activate: Box::new(move |tray: &mut Self| tray.choose(action)),
                ..Default::default()
            }
            .into()
        };
        vec![
            item(labels.quick_send, true, TrayAction::Open("send")),
            item(labels.run_jobflow, true, TrayAction::Open("jobflow")),
            item(&self.model.alerts, true, TrayAction::Open("alerts")),
            MenuItem::Separator,
            item(labels.pause_hour, pause_hour, TrayAction::PauseHour),
            item(labels.pause_until_resumed, pause_until_resumed, TrayAction::PauseUntilResumed),
            item(labels.resume, resume, TrayAction::Resume),
            MenuItem::Separator,
            CheckmarkItem {
                label: labels.start_at_login.to_owned(),
                checked: self.model.autostart,
                activate: Box::new(|tray: &mut Self| tray.choose(TrayAction::ToggleAutostart)),
                ..Default::default()
            }
            .into(),
            item(labels.settings, true, TrayAction::Open("settings")),
            MenuItem::Separator,
            item(labels.quit, true, TrayAction::Quit),
        ]
    }
}

/// A PNG as the ARGB32 pixmap (network byte order) StatusNotifierItem wants.
fn decode(png_bytes: &[u8]) -> Result<ksni::Icon, String> {
    let icon = super::decode_png(png_bytes)?;
    let data = icon.rgba.chunks_exact(4).flat_map(|p| [p[3], p[0], p[1], p[2]]).collect();
    Ok(ksni::Icon { width: icon.width as i32, height: icon.height as i32, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tray_icon_decodes_to_a_full_argb_pixmap() {
        for name in ["tray-offline", "tray-unread", "tray-reconnecting", "tray-paused", "tray-connected"] {
            let icon = decode(icon_png(name)).unwrap();
            assert!(icon.width > 0 && icon.height > 0, "{name}");
            assert_eq!(icon.data.len(), (icon.width * icon.height * 4) as usize, "{name}");
            assert!(icon.data.chunks_exact(4).any(|p| p[0] > 0), "{name} is not fully transparent");
        }
    }
}
