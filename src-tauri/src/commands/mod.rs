//! Tauri commands, one file per area; each validates input, calls the engine and returns plain
//! data or an error sentence for the window.

pub mod alerts;
pub mod events;
pub mod jobflows;
pub mod rows;
pub mod settings;
pub mod status;
pub mod templates;
