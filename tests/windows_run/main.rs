//! Our Windows programs, cross-built for `x86_64-pc-windows-gnu`, run under Wine against the
//! local RabbitMQ and the stand-in: what a Windows user's machine does with them, short of what
//! only a real Windows shows (docs/windows.md lists both). `scripts/test.sh windows-run` builds
//! the programs, prepares the prefix and display (scripts/wine-env.sh) and sets
//! `KOMPIRA_WINDOWS_BIN_DIR`; without it each case prints SKIPPED and passes. The cases share the
//! prefix's `C:\Kompira` and the agent's pipe: run them with `--test-threads=1`.

mod agent;
mod cli;
mod desktop;
mod sendevt;
mod stand_in;
mod wine;
