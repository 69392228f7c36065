use std::path::PathBuf;

/// Everything that can stop the simulator from starting.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The definitions file could not be read.
    #[error("cannot read definitions file {}: {source}", path.display())]
    ReadDefinitions {
        /// The file named on the command line or by the caller.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The definitions text is not valid TOML or breaks a rule of the format.
    #[error("{origin}: {message}")]
    Definitions {
        /// File name, or `definitions` for text given directly.
        origin: String,
        /// What is wrong, starting with the line number when known.
        message: String,
    },
    /// The HTTP listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}
