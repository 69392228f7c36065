//! Bad input, one table per kind of input: kompira.conf, command-line arguments, environment
//! variables, REST answers, AMQP peers and alert payloads. Every case runs the real program (or,
//! for alert payloads, the engine's reader too) and must end with a clear message or a safe
//! rendering, never a panic, Rust `Debug` text or a hang (each case is killed after
//! [`harness::CASE_TIMEOUT`] and then fails).
//!
//! `cargo test --workspace --test bad_input -- --nocapture` prints the number of cases per
//! table. Needs the workspace binaries built, and RabbitMQ (`source scripts/setup.sh`) for the
//! AMQP table's broker cases. Unix only: cases use `/dev/zero`, named pipes and arguments
//! that are not UTF-8.
#![cfg(unix)]

mod alerts;
mod amqp;
mod cli_args;
mod config;
mod env;
mod fake;
mod harness;
mod rest;
mod secrets;

/// A named case: a closure that runs it and returns its verdict.
pub type Case = (String, Box<dyn Fn() -> Result<(), String> + Send + Sync>);

/// Builds a [`Case`].
pub fn case(name: impl Into<String>, run: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Case {
    (name.into(), Box::new(run))
}

#[test]
fn kompira_conf() {
    harness::run_table("kompira.conf", config::cases());
}

#[test]
fn command_line_arguments() {
    harness::run_table("arguments", cli_args::cases());
}

#[test]
fn environment_variables() {
    harness::run_table("environment", env::cases());
}

#[test]
fn rest_answers() {
    harness::run_table("REST answers", rest::cases());
}

#[test]
fn amqp_peers() {
    harness::run_table("AMQP", amqp::cases());
}

#[test]
fn alert_payloads() {
    harness::run_table("alert payloads", alerts::cases());
}

#[test]
fn secrets_never_show() {
    harness::run_table("secrets", secrets::cases());
}

/// The promise of the suite: at least 100 malformed inputs, counted here by kind.
#[test]
fn at_least_a_hundred_cases() {
    let tables = [
        ("kompira.conf", config::cases().len()),
        ("arguments", cli_args::cases().len()),
        ("environment", env::cases().len()),
        ("REST answers", rest::cases().len()),
        ("AMQP", amqp::cases().len()),
        ("alert payloads", alerts::cases().len()),
        ("secrets", secrets::cases().len()),
    ];
    let total: usize = tables.iter().map(|(_, n)| n).sum();
    for (kind, n) in tables {
        println!("bad input: {kind}: {n} cases");
    }
    println!("bad input: {total} cases in all");
    assert!(total >= 100, "only {total} bad-input cases");
}
