//! A stand-in for the desktop's tray host: owns `org.kde.StatusNotifierWatcher` on the session
//! bus, so the app's ksni tray icon registers as it would under KDE or GNOME with the
//! AppIndicator extension. Prints one JSON line per happening, for tests and benchmarks:
//!
//! ```text
//! {"event":"ready","unix_ms":…}
//! {"event":"registered","service":"org.kde.StatusNotifierItem-123-1","unix_ms":…}
//! {"event":"tooltip","title":"…","description":"…","unix_ms":…}
//! ```

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde_json::{json, Value};
use zbus::message::Header;
use zbus::{interface, Connection};

const WATCHER_NAME: &str = "org.kde.StatusNotifierWatcher";
const ITEM_INTERFACE: &str = "org.kde.StatusNotifierItem";
const ITEM_PATH: &str = "/StatusNotifierItem";

/// The SNI tooltip: icon name, icon pixmaps, title, description.
type ToolTip = (String, Vec<(i32, i32, Vec<u8>)>, String, String);

fn emit(mut line: Value) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    line["unix_ms"] = json!(now.as_millis() as u64);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[derive(Default)]
struct Watcher {
    items: Vec<String>,
}

#[interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    async fn register_status_notifier_item(
        &mut self,
        service: &str,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] connection: &Connection,
    ) {
        // An item names either its bus name (path fixed by the spec) or its object path.
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let (bus, path) = match service.strip_prefix('/') {
            Some(_) => (sender, service.to_owned()),
            None => (service.to_owned(), ITEM_PATH.to_owned()),
        };
        self.items.push(format!("{bus}{path}"));
        emit(json!({"event": "registered", "service": service}));
        tokio::spawn(follow_tooltip(connection.clone(), bus, path));
    }

    async fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    async fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items.clone()
    }

    // KDE and GNOME both answer true here whatever happened (see ksni's service.rs).
    #[zbus(property)]
    async fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    async fn protocol_version(&self) -> i32 {
        0
    }
}

/// Prints the item's tooltip now and after every `NewToolTip`.
async fn follow_tooltip(connection: Connection, bus: String, path: String) {
    let proxy = match zbus::Proxy::new(&connection, bus, path, ITEM_INTERFACE).await {
        Ok(proxy) => proxy,
        Err(e) => return emit(json!({"event": "error", "detail": e.to_string()})),
    };
    let mut changes = match proxy.receive_signal("NewToolTip").await {
        Ok(stream) => stream,
        Err(e) => return emit(json!({"event": "error", "detail": e.to_string()})),
    };
    loop {
        match proxy.get_property::<ToolTip>("ToolTip").await {
            Ok((_, _, title, description)) => {
                emit(json!({"event": "tooltip", "title": title, "description": description}))
            }
            Err(e) => emit(json!({"event": "error", "detail": e.to_string()})),
        }
        if changes.next().await.is_none() {
            return;
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let connection = async {
        zbus::connection::Builder::session()?
            .name(WATCHER_NAME)?
            .serve_at("/StatusNotifierWatcher", Watcher::default())?
            .build()
            .await
    };
    let _connection = match connection.await {
        Ok(connection) => connection,
        Err(e) => {
            eprintln!("kompira-tray-host: cannot own {WATCHER_NAME} on the session bus: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    emit(json!({"event": "ready"}));
    std::future::pending::<()>().await;
    std::process::ExitCode::SUCCESS
}
