//! The stand-in for the Windows programs' cases: `kompira-sim` on a runtime of its own (the
//! program under Wine runs synchronously beside it), on loopback, which Wine's programs reach.

use kompira_sim::{Definitions, SimConfig, SimHandle, SimTls};

pub struct Sim {
    pub runtime: tokio::runtime::Runtime,
    sim: Option<SimHandle>,
}

impl Sim {
    /// Accepts `token`; consumes io_queue at `amqp_url` when given (so events sent to the broker
    /// reach its channels, as on a Kompira server); serves HTTPS with `tls`.
    pub fn start(token: &str, amqp_url: Option<String>, tls: Option<SimTls>) -> Sim {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let sim = runtime
            .block_on(kompira_sim::start(SimConfig {
                listen: "127.0.0.1:0".parse().expect("a loopback address"),
                token: token.into(),
                amqp_url,
                definitions: Definitions::builtin(),
                tls,
            }))
            .expect("the stand-in starts");
        Sim { runtime, sim: Some(sim) }
    }

    pub fn base_url(&self) -> &str {
        &self.sim.as_ref().expect("running").base_url
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.runtime.block_on(sim.shutdown());
        }
    }
}
