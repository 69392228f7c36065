//! kompira.conf: reading, resolving and writing.
