//! The GUI-free engine of Kompira Tray.
#![warn(missing_docs)]

pub mod config;
pub mod event;
pub mod logfile;
mod pki;
pub mod rest;
pub mod secret;
pub mod watch;
