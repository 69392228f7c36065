//! Every word the agent shows a person, in English and Japanese: the tray (menu, tooltip — also
//! the window's status line), popups (alerts, connection lost and restored, remedies, job-flow
//! runs, tasks), and the reading of an alert (severity names as Zabbix shows them, "Resolved",
//! the host). The engine hands over data (`Notification`'s parts, a job flow's name); this is
//! where they become sentences.
//!
//! One language for the whole agent: [`current`] (`[tray] language`, else the OS). The window
//! follows the same choice: the `status` answer carries it.
//!
//! Fixed words are [`Text`], declared with both languages side by side (a missing translation
//! does not compile); words with values in them are the functions below [`Text`].

use std::sync::OnceLock;

use kompira_core::config::Os;
use kompira_core::watch::{Connection, Notification, Severity};

/// The language of everything the agent shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    En,
    /// Japanese.
    Ja,
}

impl Lang {
    /// Both, for tests and tables.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    /// `en` or `ja` (the page's `lang`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// `[tray] language`: `en`/`ja` force a language; anything else (`auto`) follows `os`,
    /// English when the OS says nothing we speak.
    pub fn choose(setting: &str, os: Option<Lang>) -> Lang {
        match setting {
            "en" => Lang::En,
            "ja" => Lang::Ja,
            _ => os.unwrap_or(Lang::En),
        }
    }

    /// A locale or language tag: `ja_JP.UTF-8`, `ja-JP`, `ja` → Japanese; `C`, `POSIX`, `en_US`,
    /// `de_DE` → English; empty → nothing said.
    pub fn from_locale(locale: &str) -> Option<Lang> {
        let locale = locale.trim();
        if locale.is_empty() {
            return None;
        }
        let language = locale.split(['_', '-', '.', '@']).next().unwrap_or_default();
        Some(if language.eq_ignore_ascii_case("ja") { Lang::Ja } else { Lang::En })
    }
}

/// The OS's language. Unix: the first of `LC_ALL`, `LC_MESSAGES`, `LANG` that is set (as
/// gettext reads them); Windows: the user's display language (`windows_ui_language`, a tag
/// like `ja-JP`), since Windows sets no locale variables. Parameters, so both are tested on Linux.
pub fn os_language(
    os: Os,
    env: impl Fn(&str) -> Option<String>,
    windows_ui_language: impl FnOnce() -> Option<String>,
) -> Option<Lang> {
    match os {
        Os::Windows => windows_ui_language().and_then(|tag| Lang::from_locale(&tag)),
        Os::Linux => ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|name| env(name).filter(|v| !v.trim().is_empty()))
            .and_then(|locale| Lang::from_locale(&locale)),
    }
}

/// The language in force for `setting` (`[tray] language`); the OS is asked once per process.
pub fn current(setting: &str) -> Lang {
    static OS_LANGUAGE: OnceLock<Option<Lang>> = OnceLock::new();
    let os = *OS_LANGUAGE.get_or_init(|| os_language(Os::current(), |name| std::env::var(name).ok(), windows_ui));
    Lang::choose(setting, os)
}

/// The user's display language on Windows, read from the registry with `reg.exe` (no unsafe
/// code of ours): the preferred UI language when one was chosen, else the installed one.
#[cfg(windows)]
fn windows_ui() -> Option<String> {
    use std::os::windows::process::CommandExt as _;
    /// No console window flashes up for `reg.exe` (the agent has none of its own).
    const CREATE_NO_WINDOW: u32 = 0x0800_0000;
    let query = |key: &str, value: &str| {
        let mut command = std::process::Command::new("reg");
        command.args(["query", key, "/v", value]).creation_flags(CREATE_NO_WINDOW);
        let output = command.output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    query(r"HKCU\Control Panel\Desktop", "PreferredUILanguages")
        .and_then(|out| reg_value(&out, "PreferredUILanguages"))
        .or_else(|| {
            query(r"HKLM\SYSTEM\CurrentControlSet\Control\Nls\Language", "InstallLanguage")
                .and_then(|out| reg_value(&out, "InstallLanguage"))
                .map(|langid| language_id_tag(&langid))
        })
}

#[cfg(not(windows))]
fn windows_ui() -> Option<String> {
    None
}

/// The data of `name` in `reg query` output (`    NAME    REG_TYPE    DATA`); the first of a
/// multi-string (whose items `reg` joins with `\0`).
#[cfg_attr(not(windows), allow(dead_code, reason = "used on Windows; unit-tested everywhere"))]
fn reg_value(output: &str, name: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        (parts.next()? == name).then_some(())?;
        parts.next()?;
        let data = parts.collect::<Vec<_>>().join(" ");
        let first = data.split("\\0").next().unwrap_or_default().trim().to_owned();
        (!first.is_empty()).then_some(first)
    })
}

/// A Windows language id in hex (`0411`) as a tag: Japanese (primary language 0x11) → `ja`.
#[cfg_attr(not(windows), allow(dead_code, reason = "used on Windows; unit-tested everywhere"))]
fn language_id_tag(langid: &str) -> String {
    let primary = u16::from_str_radix(langid.trim(), 16).map(|id| id & 0x3ff).unwrap_or(0);
    if primary == 0x11 {
        "ja".to_owned()
    } else {
        "en".to_owned()
    }
}

/// Declares [`Text`]: each word with its English and Japanese, side by side.
macro_rules! texts {
    ($($(#[$doc:meta])* $name:ident => $en:literal, $ja:literal;)*) => {
        /// The agent's fixed words; [`Text::get`] gives one in a language.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Text {
            $($(#[$doc])* $name,)*
        }

        impl Text {
            /// Every word, for the test that each reads in both languages.
            pub const ALL: &[Text] = &[$(Text::$name,)*];

            /// The word in `lang`.
            pub fn get(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Text::$name, Lang::En) => $en, (Text::$name, Lang::Ja) => $ja,)*
                }
            }
        }
    };
}

texts! {
    // The tray menu.
    /// Opens quick send.
    QuickSend => "Quick send…", "クイック送信…";
    /// Opens the job-flow form.
    RunJobflow => "Run job flow…", "ジョブフローを実行…";
    /// Pauses popups for an hour.
    PauseHour => "Pause notifications for 1 hour", "通知を 1 時間停止";
    /// Pauses popups until Resume.
    PauseUntilResumed => "Pause until resumed", "再開するまで通知を停止";
    /// Ends a pause.
    Resume => "Resume notifications", "通知を再開";
    /// The start-at-login check item.
    StartAtLogin => "Start at login", "ログイン時に起動";
    /// Opens Settings.
    Settings => "Settings…", "設定…";
    /// Ends the app.
    Quit => "Quit", "終了";
    /// The Alerts item without unread alerts.
    Alerts => "Alerts", "アラート";

    // The tooltip's connection states.
    /// No `[rest]` to watch.
    NotWatching => "not watching (set [rest] url and token)", "監視していません（[rest] の url と token を設定してください）";
    /// Watching.
    Connected => "connected", "接続中";
    /// The first long poll, not answered yet.
    Connecting => "connecting", "接続しています";
    /// Given up for now.
    Offline => "offline", "オフライン";

    // Alert popups.
    /// The button that shows the alert in the window.
    Open => "Open", "開く";
    /// The remedy's button was chosen but the run could not start.
    RemedyNotStarted => "Remedy not started", "対処を開始できませんでした";
    /// The alert left the history before its remedy was chosen.
    AlertGone => "this alert is no longer in the list", "このアラートは一覧にもうありません";

    // Connection popups.
    /// The watcher lost the server.
    ConnectionLost => "Connection to Kompira lost", "Kompira との接続が切れました";
    /// The body of a loss without an error.
    TryingAgain => "Trying again.", "再接続しています。";
    /// The watcher is back.
    ConnectionRestored => "Connection to Kompira restored", "Kompira との接続が回復しました";
    /// The body of a return.
    AlertsComingIn => "Alerts are coming in again.", "アラートの受信を再開しました。";

    // Task popups.
    /// A task without title or name.
    TaskUntitled => "A Kompira task is waiting for you", "Kompira のタスクが回答を待っています";
    /// Answers a task without choices with Kompira's default.
    TaskSubmit => "Submit", "送信";
    /// Cancels a task.
    TaskCancel => "Cancel task", "タスクをキャンセル";
    /// A task with more choices than buttons: answered in the window.
    TaskAnswer => "Answer…", "回答…";
    /// The body of the "more tasks" popup.
    MoreTasksBody => "Answer them in Kompira Tray's Tasks view.", "Kompira Tray の「タスク」画面で回答してください。";
    /// A popup's answer went.
    AnswerSent => "Answer sent", "回答を送信しました";
    /// A popup's cancel went.
    TaskCancelled => "Task cancelled", "タスクをキャンセルしました";
    /// What a cancel leaves behind.
    TaskCancelledBody =>
        "The job flow waiting on it stays WAITING until its process is terminated.",
        "待っているジョブフローは、プロセスを停止するまで WAITING のままです。";
    /// A popup's answer failed.
    TaskNotAnswered => "Task not answered", "タスクに回答できませんでした";
}

/// A severity as Zabbix names it in `lang`.
pub fn severity(lang: Lang, severity: Severity) -> &'static str {
    match (lang, severity) {
        (Lang::En, s) => s.name(),
        (Lang::Ja, Severity::NotClassified) => "未分類",
        (Lang::Ja, Severity::Information) => "情報",
        (Lang::Ja, Severity::Warning) => "警告",
        (Lang::Ja, Severity::Average) => "軽度の障害",
        (Lang::Ja, Severity::High) => "重度の障害",
        (Lang::Ja, Severity::Disaster) => "致命的な障害",
    }
}

/// An alert's headline: "High: Disk full on web1" / "重度の障害: Disk full (web1)";
/// a recovery "Resolved: …" / "解決済み: …"; no severity, no prefix.
pub fn alert_title(lang: Lang, alert: &Notification) -> String {
    let what = match (lang, &alert.subject, &alert.host) {
        (Lang::En, Some(s), Some(h)) => format!("{s} on {h}"),
        (Lang::Ja, Some(s), Some(h)) => format!("{s} ({h})"),
        (_, Some(s), None) => s.clone(),
        (Lang::En, None, Some(h)) => format!("Alert on {h}"),
        (Lang::Ja, None, Some(h)) => format!("{h} のアラート"),
        (Lang::En, None, None) => format!("Message on {}", alert.channel_name()),
        (Lang::Ja, None, None) => format!("{} のメッセージ", alert.channel_name()),
    };
    let prefix = if alert.resolved {
        Some(match lang {
            Lang::En => "Resolved",
            Lang::Ja => "解決済み",
        })
    } else {
        (alert.severity > Severity::NotClassified).then(|| severity(lang, alert.severity))
    };
    match prefix {
        Some(prefix) => format!("{prefix}: {what}"),
        None => what,
    }
}

/// The button that runs an alert's remedy, named by its job flow.
pub fn remedy_label(lang: Lang, jobflow_name: &str) -> String {
    match lang {
        Lang::En => format!("Run {jobflow_name}"),
        Lang::Ja => format!("{jobflow_name} を実行"),
    }
}

/// A popup's buttons as a balloon (which has none) says them: where the choices are, and that a
/// click opens it. Two lines: Wine draws a balloon one line per line, however long.
pub fn choices_in_window(lang: Lang, labels: &[String]) -> String {
    match lang {
        Lang::En => format!("Choices ({}) are in the Kompira Tray window.\nClick here to open it.", labels.join(", ")),
        Lang::Ja => {
            format!("操作（{}）は Kompira Tray のウィンドウにあります。\nクリックで開きます。", labels.join("、"))
        }
    }
}

/// Why a remedy cannot run: its channel has none.
pub fn no_remedy(lang: Lang, channel: &str) -> String {
    match lang {
        Lang::En => format!("no remedy is configured for {channel} ([notify] remedies)"),
        Lang::Ja => format!("{channel} の対処は設定されていません（[notify] remedies）"),
    }
}

/// Why a job flow cannot run (no REST client, for `reason`).
pub fn cannot_run(lang: Lang, jobflow: &str, reason: &str) -> String {
    match lang {
        Lang::En => format!("cannot run {jobflow}: {reason}"),
        Lang::Ja => format!("{jobflow} を実行できません: {reason}"),
    }
}

/// A finished run's exit status line.
pub fn exit_status(lang: Lang, code: i64) -> String {
    match lang {
        Lang::En => format!("exit status {code}"),
        Lang::Ja => format!("終了ステータス {code}"),
    }
}

/// The Alerts item, with the unread count when there is one.
pub fn alerts_label(lang: Lang, unread: usize) -> String {
    match (lang, unread) {
        (_, 0) => Text::Alerts.get(lang).to_owned(),
        (Lang::En, n) => format!("Alerts ({n} unread)"),
        (Lang::Ja, n) => format!("アラート（未読 {n} 件）"),
    }
}

/// The watcher's connection in words (`None`: not watching).
pub fn connection(lang: Lang, connection: Option<&Connection>) -> String {
    match (connection, lang) {
        (None, _) => Text::NotWatching.get(lang).to_owned(),
        (Some(Connection::Connected), _) => Text::Connected.get(lang).to_owned(),
        // Attempt 0 is the first long poll, not yet answered: nothing has failed.
        (Some(Connection::Reconnecting { attempt: 0 }), _) => Text::Connecting.get(lang).to_owned(),
        (Some(Connection::Reconnecting { attempt }), Lang::En) => format!("reconnecting (attempt {attempt})"),
        (Some(Connection::Reconnecting { attempt }), Lang::Ja) => format!("再接続中（{attempt} 回目）"),
        (Some(Connection::Offline), _) => Text::Offline.get(lang).to_owned(),
    }
}

/// The tooltip line: the connection (see [`connection`]), paused, unread and waiting counts.
pub fn tooltip_line(lang: Lang, connection: &str, paused: bool, unread: usize, pending: u64) -> String {
    let line = match (lang, paused) {
        (Lang::En, false) => format!("Kompira Tray: {connection}, {unread} unread"),
        (Lang::En, true) => format!("Kompira Tray: {connection}, paused, {unread} unread"),
        (Lang::Ja, false) => format!("Kompira Tray: {connection}、未読 {unread} 件"),
        (Lang::Ja, true) => format!("Kompira Tray: {connection}、通知停止中、未読 {unread} 件"),
    };
    match (lang, pending) {
        (_, 0) => line,
        (Lang::En, n) => format!("{line}, {n} waiting to send"),
        (Lang::Ja, n) => format!("{line}、送信待ち {n} 件"),
    }
}

/// The popup that counts the new tasks beyond those popped up one by one.
pub fn more_tasks(lang: Lang, count: usize) -> String {
    match lang {
        Lang::En => format!("{count} more Kompira tasks are waiting for you"),
        Lang::Ja => format!("ほかに {count} 件の Kompira タスクが回答を待っています"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kompira_core::watch::read_message;
    use kompira_core::watch::reading::english_title;
    use serde_json::json;

    /// Kana, kanji or full-width forms in `text`.
    fn japanese(text: &str) -> bool {
        text.chars().any(|c| matches!(c, '\u{3000}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}'))
    }

    #[test]
    fn every_text_reads_in_both_languages() {
        for text in Text::ALL {
            let (en, ja) = (text.get(Lang::En), text.get(Lang::Ja));
            assert!(!en.trim().is_empty() && !ja.trim().is_empty(), "{text:?}");
            assert_ne!(en, ja, "{text:?} is not translated");
            assert!(!japanese(en), "{text:?}: English {en:?}");
            assert!(japanese(ja), "{text:?}: Japanese {ja:?}");
        }
        for lang in Lang::ALL {
            let words = [
                remedy_label(lang, "x"),
                choices_in_window(lang, &["x".to_owned()]),
                no_remedy(lang, "/c"),
                cannot_run(lang, "/j", "r"),
                exit_status(lang, 1),
                alerts_label(lang, 2),
                connection(lang, Some(&Connection::Reconnecting { attempt: 2 })),
                tooltip_line(lang, "c", true, 1, 1),
                more_tasks(lang, 2),
            ];
            for word in words {
                assert_eq!(japanese(&word), lang == Lang::Ja, "{lang:?}: {word:?}");
            }
        }
    }

    #[test]
    fn severities_read_as_zabbix_names_them() {
        let names = |lang| Severity::ALL.map(|s| severity(lang, s));
        assert_eq!(names(Lang::En), ["Not classified", "Information", "Warning", "Average", "High", "Disaster"]);
        assert_eq!(names(Lang::Ja), ["未分類", "情報", "警告", "軽度の障害", "重度の障害", "致命的な障害"]);
    }

    #[test]
    fn alerts_read_in_english_as_the_engine_words_them_and_in_japanese() {
        let alert = |message| read_message("/system/channels/Alert", &message, chrono::Utc::now());
        let cases = [
            (json!({"severity": 4, "hostname": "web1", "trigger_name": "Disk full"}), "重度の障害: Disk full (web1)"),
            (json!({"status": "OK", "severity": 5, "hostname": "db1", "trigger_name": "Down"}), "解決済み: Down (db1)"),
            (json!({"severity": 2, "host": "web1"}), "警告: web1 のアラート"),
            (json!({"trigger_name": "Backup done"}), "Backup done"),
            (json!({"job": "backup"}), "Alert のメッセージ"),
            (json!("backup finished\nall 12 files"), "backup finished"),
        ];
        for (message, japanese) in cases {
            let alert = alert(message);
            assert_eq!(alert_title(Lang::En, &alert), english_title(&alert));
            assert_eq!(alert_title(Lang::Ja, &alert), japanese);
        }
    }

    #[test]
    fn the_tray_and_popups_speak_both_languages() {
        assert_eq!(remedy_label(Lang::En, "restart_process"), "Run restart_process");
        assert_eq!(remedy_label(Lang::Ja, "restart_process"), "restart_process を実行");
        assert_eq!(alerts_label(Lang::En, 0), "Alerts");
        assert_eq!(alerts_label(Lang::En, 3), "Alerts (3 unread)");
        assert_eq!(alerts_label(Lang::Ja, 2), "アラート（未読 2 件）");
        assert_eq!(Text::Open.get(Lang::Ja), "開く");
        assert_eq!(exit_status(Lang::Ja, 1), "終了ステータス 1");
    }

    #[test]
    fn the_setting_wins_then_the_os() {
        assert_eq!(Lang::choose("ja", Some(Lang::En)), Lang::Ja);
        assert_eq!(Lang::choose("en", Some(Lang::Ja)), Lang::En);
        assert_eq!(Lang::choose("auto", Some(Lang::Ja)), Lang::Ja);
        assert_eq!(Lang::choose("auto", None), Lang::En);
        assert_eq!(Lang::choose("", Some(Lang::Ja)), Lang::Ja);
    }

    #[test]
    fn the_os_language_comes_from_the_locale_variables_or_the_windows_display_language() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let no_windows = || -> Option<String> { panic!("not asked on Linux") };
        assert_eq!(os_language(Os::Linux, env(&[("LANG", "ja_JP.UTF-8")]), no_windows), Some(Lang::Ja));
        assert_eq!(
            os_language(Os::Linux, env(&[("LC_ALL", "C"), ("LANG", "ja_JP.UTF-8")]), no_windows),
            Some(Lang::En),
            "LC_ALL beats LANG"
        );
        assert_eq!(
            os_language(Os::Linux, env(&[("LC_ALL", ""), ("LC_MESSAGES", "ja_JP"), ("LANG", "en_US")]), no_windows),
            Some(Lang::Ja),
            "an empty variable is not set"
        );
        assert_eq!(os_language(Os::Linux, env(&[]), no_windows), None);
        // Windows: the display language, whatever the environment says.
        assert_eq!(os_language(Os::Windows, env(&[("LANG", "en_US")]), || Some("ja-JP".into())), Some(Lang::Ja));
        assert_eq!(os_language(Os::Windows, env(&[]), || Some("en-US".into())), Some(Lang::En));
        assert_eq!(os_language(Os::Windows, env(&[]), || None), None);
    }

    #[test]
    fn the_windows_display_language_is_read_from_reg_output() {
        let preferred = "\r\nHKEY_CURRENT_USER\\Control Panel\\Desktop\r\n    PreferredUILanguages    REG_MULTI_SZ    ja-JP\\0en-US\r\n\r\n";
        assert_eq!(reg_value(preferred, "PreferredUILanguages").as_deref(), Some("ja-JP"));
        let installed = "\r\nHKEY_LOCAL_MACHINE\\...\\Language\r\n    InstallLanguage    REG_SZ    0411\r\n";
        assert_eq!(reg_value(installed, "InstallLanguage").map(|id| language_id_tag(&id)).as_deref(), Some("ja"));
        assert_eq!(language_id_tag("0409"), "en");
        assert_eq!(reg_value("nothing here", "InstallLanguage"), None);
    }
}
