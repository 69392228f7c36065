//! `kompira secret set|delete`: the OS keyring entries that `[secrets] store = keyring` reads.
//! It needs no server, so it runs before any settings are loaded.

use std::io::BufRead;

use kompira_core::secret_store::{self, KEYRING_KEYS};

use crate::args::SecretCommand;
use crate::commands::Failure;

pub fn run(command: &SecretCommand) -> Result<(), Failure> {
    match command {
        SecretCommand::Set { name } => {
            let (section, key) = known(name)?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Failure::Runtime(format!("cannot read standard input: {e}")))?;
            let value = line.trim_end_matches(['\r', '\n']);
            if value.is_empty() {
                return Err(Failure::Usage(format!("no value for {name} on standard input")));
            }
            secret_store::store(section, key, value)
                .map_err(|why| Failure::Runtime(format!("cannot store {name} in the OS keyring: {why}")))?;
            eprintln!("kompira: {name} stored in the OS keyring (used with [secrets] store = keyring)");
            Ok(())
        }
        SecretCommand::Delete { name } => {
            let (section, key) = known(name)?;
            secret_store::delete(section, key)
                .map_err(|why| Failure::Runtime(format!("cannot delete {name} from the OS keyring: {why}")))
        }
    }
}

fn known(name: &str) -> Result<(&'static str, &'static str), Failure> {
    KEYRING_KEYS
        .into_iter()
        .find(|(section, key)| secret_store::entry_name(section, key) == name)
        .ok_or_else(|| Failure::Usage(format!("{name:?} is not a secret (use amqp-connection.password or rest.token)")))
}
