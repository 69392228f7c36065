//! Secrets that never print.
