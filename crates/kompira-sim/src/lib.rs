//! `kompira-sim`: a local stand-in for the Kompira REST API and for the
//! server side of events (the `io_queue` consumer).
//!
//! Kompira is proprietary and cannot run here, so end-to-end tests and the
//! demo talk to this instead. It serves a small object tree (directories,
//! simulated job flows, channels) with Kompira's URL shape, JSON, pagination,
//! token authentication and error bodies, runs "processes" that follow the
//! timing, console and outcome written in a [`Definitions`] file, and appends
//! AMQP events to channels as the real server does.
//!
//! It is **not** part of the product: test and demo infrastructure only,
//! never linked into a product binary. Of the job-flow language it knows only
//! literal parameters and, for job flows created through the API, a parameter
//! header and a chain of `print`/`sleep`/`return`; see the README for everything
//! else it leaves out.
//!
//! - [`Definitions`]: what the tree holds ([`Definitions::builtin`] for the demo).
//! - [`start`] with a [`SimConfig`] gives a [`SimHandle`] (URL, token, [`Stats`], shutdown).

#![deny(missing_docs)]

mod amqp;
mod defs;
mod error;
mod expr;
mod http;
mod server;
mod state;
mod tasks;
mod tls;

pub use defs::{ChannelDef, Definitions, JobflowDef, Outcome};
pub use error::SimError;
pub use server::{start, start_on_queue, SimConfig, SimHandle};
pub use state::Stats;
pub use tasks::TaskDef;
pub use tls::SimTls;
