//! Kompira Tray: a Tauri shell that wires the engine (`kompira-core`) to a tray icon, a small
//! window and desktop popups. It holds no Kompira logic of its own.

mod alerts;
mod autostart;
mod cli;
mod commands;
mod connection_notice;
mod graphics;
mod outbox;
mod popups;
mod runs;
mod state;
mod tray;
mod window;

use std::process::ExitCode;

use clap::Parser;
use tauri::{RunEvent, WindowEvent};

use state::AppState;

/// Builds and runs the app until Quit.
pub fn run() -> ExitCode {
    graphics::disable_gtk_gl_unless_chosen();
    let args = match cli::Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if args.config_files {
        return cli::print_config_files();
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,lapin=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let start_hidden = args.minimized;
    let state = AppState::load();

    let app = tauri::Builder::default()
        // First, so a second launch hands over before anything else starts: it shows the
        // running window and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            window::show(app);
        }))
        .plugin(tauri_plugin_autostart::init(tauri_plugin_autostart::MacosLauncher::LaunchAgent, Some(vec!["--minimized"])))
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            window::initial_view,
            commands::events::send_event,
            commands::outbox::list_outbox,
            commands::outbox::retry_outbox,
            commands::outbox::discard_outbox,
            commands::alerts::list_alerts,
            commands::alerts::mark_alerts_read,
            commands::alerts::clear_alerts,
            commands::status::status,
            commands::jobflows::run_jobflow,
            commands::jobflows::list_jobflows,
            commands::jobflows::run_remedy,
            commands::jobflows::list_remedies,
            commands::templates::list_templates,
            commands::templates::save_template,
            commands::templates::delete_template,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::settings::test_amqp_connection,
            commands::settings::test_rest_token,
            commands::settings::get_autostart,
            commands::settings::set_autostart,
        ])
        .setup(move |app| {
            let handle = app.handle().clone();
            let tray_ready = tray::build(&handle);
            alerts::start_watching(&handle);
            outbox::start(&handle);
            // Without a tray there is no other way in: show the window whatever was asked.
            if !start_hidden || !tray_ready {
                window::show(&handle);
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing hides (alerts keep coming while the window is away); a window left hidden
            // is released later (see window.rs).
            if let WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                window::hide(window);
            }
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("kompira-tray: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    app.run(|_handle, event| {
        // Hidden windows must not end the app; only Quit (app.exit) does.
        if let RunEvent::ExitRequested { api, code: None, .. } = event {
            api.prevent_exit();
        }
    });
    ExitCode::SUCCESS
}
