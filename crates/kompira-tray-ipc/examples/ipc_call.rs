//! Makes one call to the running agent, as a window would, and prints its answer as one JSON
//! line: `{"ok": …}` (exit code 0) or `{"err": …}` (exit code 1). The Windows tests run it under
//! Wine beside `kompira-tray-agent.exe` to reach the agent through its real named pipe.
//!
//! ```text
//! ipc_call status
//! ipc_call send_event '{"form": {"fields": [{"key": "host", "value": "web1"}]}}'
//! ```

use std::process::ExitCode;

use kompira_tray_ipc::wire::{self, Reply, Request};
use serde_json::{json, Value};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(call), arguments) = (args.next(), args.next()) else {
        eprintln!("usage: ipc_call CALL [JSON-ARGUMENTS]");
        return ExitCode::from(2);
    };
    let arguments = match arguments.as_deref().map(serde_json::from_str::<Value>) {
        None => Value::Null,
        Some(Ok(value)) => value,
        Some(Err(e)) => {
            eprintln!("ipc_call: the arguments are not JSON ({e})");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ipc_call: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let request = Request { call, args: arguments };
    let reply = runtime.block_on(wire::request(&wire::current_address(), &request));
    let (line, code) = match reply {
        Ok(Reply::Ok(value)) => (json!({ "ok": value }), ExitCode::SUCCESS),
        Ok(Reply::Err(value)) => (json!({ "err": value }), ExitCode::FAILURE),
        // No agent, or an answer that is not one: said the same way, so a test reads one shape.
        Err(reason) => (json!({ "err": reason }), ExitCode::FAILURE),
    };
    println!("{line}");
    code
}
