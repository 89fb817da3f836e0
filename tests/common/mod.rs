//! What the live tests share: a simulator serving on a free loopback port, in a thread of its
//! own, for as long as the test process runs.

use jumpguard::sim::{SimConfig, Simulator};
use serde_json::Value;

/// A running simulator and its base URL.
pub struct Sim {
    /// The simulator, to switch faults and read its state.
    pub sim: Simulator,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// Serves `estate` with `config` on 127.0.0.1 and a free port.
pub fn serve(estate: Value, config: SimConfig) -> Sim {
    let sim = Simulator::new(estate, config).expect("the simulator accepts the estate");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a free loopback port");
    let url = format!("http://{}", listener.local_addr().expect("a bound address"));
    let serving = sim.clone();
    std::thread::spawn(move || runtime.block_on(serving.serve(listener)));
    Sim { sim, url }
}

/// An estate file of the crate, as JSON.
pub fn estate(relative: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("a readable estate")).expect("JSON")
}
