//! A client for the Kompira REST API (docs/kompira-protocol.md §4).
//!
//! [`Client`] holds one server and one token and offers the operations the tools need:
//! running a job flow ([`Client::execute`]), reading and waiting for a process
//! ([`Client::process`], [`Client::wait`], [`Client::terminate`]), reading objects and
//! listing job flows across pages ([`Client::get_object`], [`Client::list_jobflows`]), and
//! channel messages ([`Client::send`], [`Client::recv`]), and tasks that wait for a person
//! ([`Client::tasks`], [`Client::task`], [`Client::submit_task`], [`Client::cancel_task`]).
//! [`follow`] turns a process into a stream of updates until it finishes. The JSON shapes are in [`Process`],
//! [`KompiraObject`], [`Page`] and [`ExecuteRequest`]; every failure is a [`RestError`]
//! that knows whether retrying can help.
//!
//! It is not a general HTTP library: TLS is verified unless `insecure` was chosen, the token
//! travels only in the `Authorization` header (never in URLs, logs or errors), redirects are
//! not followed, and answers are size-limited. It never prints or exits.

mod channel_source;
mod client;
mod error;
mod follow;
mod params;
mod settings;
mod tasks;
mod tls;
mod types;

pub use client::{process_path, Client, RestSettings, MAX_BODY_BYTES};
pub use error::{RestError, RestErrorKind};
pub use follow::{follow, FollowOptions, ProcessUpdate};
pub use params::{format_assignment, parse_assignment, string_literal, ParamValue, Parameters};
pub use tasks::{task_path, Task, TaskChoice, TaskQuery, TaskStatus};
pub use types::{ExecuteRequest, KompiraObject, MonitoringMode, Page, Process, ProcessStatus};
