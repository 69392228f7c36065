//! Kompira Tray's window: a Tauri process that shows the quick-send, job-flow, alerts and
//! settings views while the user needs them, and ends a while after it is closed. The resident
//! half (tray, watcher, popups, outbox) is the agent, `kompira-tray-agent`, which this starts
//! when it is not running; see `agent_link.rs`. It holds no Kompira logic of its own.

mod agent_link;
mod cli;
mod commands;
mod graphics;
mod state;
mod window;

use std::process::ExitCode;

use clap::Parser;
use tauri::{RunEvent, WindowEvent};

use agent_link::Launch;
use state::WindowState;

/// Opens the window (or hands over to the one open) and runs until it has stayed hidden a while,
/// or the agent quits.
pub fn run() -> ExitCode {
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
    if args.minimized {
        return agent_link::become_agent();
    }
    graphics::disable_gtk_gl_unless_chosen();
    kompira_tray_ipc::init_logging();
    let opening = args.opening();
    if !args.from_agent {
        match tauri::async_runtime::block_on(agent_link::start_or_hand_over(&opening)) {
            Ok(Launch::HandedOver) => return ExitCode::SUCCESS,
            Ok(Launch::Window) => {}
            // The window still opens: its status line and every call then say what is wrong.
            Err(reason) => tracing::error!("{reason}"),
        }
    }
    window::set_initial(opening);

    let app = tauri::Builder::default()
        .manage(WindowState::load())
        .invoke_handler(tauri::generate_handler![
            window::initial_view,
            window::page_painted,
            commands::forwarded::call,
            commands::templates::list_templates,
            commands::templates::save_template,
            commands::templates::delete_template,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::settings::test_amqp_connection,
            commands::settings::test_rest_token,
        ])
        .setup(|app| {
            let handle = app.handle().clone();
            agent_link::relay_events(handle.clone());
            window::show(&handle);
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing hides (what was typed is kept if it comes back soon); a window left hidden
            // ends the process later (see window.rs).
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
        // A hidden window must not end the process at once; the release (app.exit) does.
        if let RunEvent::ExitRequested { api, code: None, .. } = event {
            api.prevent_exit();
        }
    });
    ExitCode::SUCCESS
}
