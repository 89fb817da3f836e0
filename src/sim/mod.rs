//! A simulator of the vendors' APIs for tests and demos: an axum server that serves an estate
//! file the way a BeyondTrust appliance would, with its authentication, pagination, filters,
//! validation, rate limit and quirks (`reference/pra-config-api.md` §1–§5, §7, §9), and with
//! faults a test can switch on while it serves.
//!
//! Behaviour the reference marks as inferred is chosen here and made configurable where a
//! client might care: the status of unrecognized fields ([`SimConfig::unknown_field_status`]),
//! out-of-range page sizes ([`SimConfig::clamp_per_page`]), and 429 with `Retry-After` when
//! throttled (the appliance's throttling answer is undocumented).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use jumpguard::sim::{SimConfig, Simulator};
//! let estate = serde_json::json!({"pra": {"jump_group": [{"id": 1, "name": "Linux"}]}});
//! let sim = Simulator::new(estate, SimConfig::default()).expect("a valid estate");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("http://{}", listener.local_addr()?);
//! tokio::spawn(sim.clone().serve(listener));
//! sim.faults().force_429(1);
//! # let _ = url; Ok(()) }
//! ```

mod auth;
mod faults;
mod http;
mod limit;
mod pra;
mod pra_model;
mod pra_rules;
mod server;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use faults::Faults;
pub use limit::{PER_HOUR, PER_SECOND};

/// How the simulated appliance behaves where the vendor leaves a choice open.
#[derive(Clone)]
pub struct SimConfig {
    /// The API account's client id (`POST /oauth2/token`).
    pub client_id: String,
    /// The API account's client secret.
    pub client_secret: String,
    /// Enforce 20 requests per second and 15,000 per hour per API account on authenticated API
    /// requests (the token endpoint is not limited); throttled requests get 429 with
    /// `Retry-After`, and every response carries `X-RateLimit-Limit` and
    /// `X-RateLimit-Remaining`. When off, nothing is throttled and those headers are not sent.
    pub rate_limit: bool,
    /// How long a token lives (`expires_in`); the appliance's is one hour.
    pub token_ttl: Duration,
    /// Valid tokens per API account; issuing one more evicts the oldest (30 on the appliance).
    pub max_tokens: usize,
    /// The status for unrecognized query parameters and body fields. The spec says 401 (a
    /// quirk, §2.2); whether appliances really do so is unverified (§10.7), so 422 is allowed.
    pub unknown_field_status: u16,
    /// Clamp `per_page` outside 5–100 into that range instead of answering 422. The spec only
    /// gives the range (§2.4); which of the two the appliance does is unverified (§10.2).
    pub clamp_per_page: bool,
}

impl Default for SimConfig {
    /// The appliance's documented behaviour, with credentials meant for tests only.
    fn default() -> Self {
        SimConfig {
            client_id: "jumpguard-sim".into(),
            client_secret: "sim-secret".into(),
            rate_limit: true,
            token_ttl: Duration::from_secs(3600),
            max_tokens: 30,
            unknown_field_status: 401,
            clamp_per_page: false,
        }
    }
}

impl std::fmt::Debug for SimConfig {
    /// Everything but the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("rate_limit", &self.rate_limit)
            .field("token_ttl", &self.token_ttl)
            .field("max_tokens", &self.max_tokens)
            .field("unknown_field_status", &self.unknown_field_status)
            .field("clamp_per_page", &self.clamp_per_page)
            .finish()
    }
}

/// A simulated appliance. Cheap to clone: clones share state, faults and counters.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

/// State shared by every request.
pub(crate) struct Inner {
    config: SimConfig,
    faults: Faults,
    tokens: Mutex<auth::Tokens>,
    limiter: Mutex<limit::Limiter>,
    pra: Mutex<pra::Store>,
    requests: AtomicU64,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("client_id", &self.inner.config.client_id)
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// A simulator serving an estate file (`{format_version?, sources?, pra: {...}, ps?:
    /// {...}}`). Fails on what it could not serve faithfully: an unknown collection, a row
    /// without its id, a configuration the appliance could not have.
    pub fn new(estate: serde_json::Value, config: SimConfig) -> Result<Simulator, String> {
        if !matches!(config.unknown_field_status, 401 | 422) {
            return Err(format!(
                "unknown_field_status must be 401 or 422, not {}",
                config.unknown_field_status
            ));
        }
        let serde_json::Value::Object(estate) = estate else {
            return Err("an estate must be a JSON object".into());
        };
        let store = pra::Store::from_estate(estate.get("pra"))?;
        Ok(Simulator {
            inner: Arc::new(Inner {
                config,
                faults: Faults::default(),
                tokens: Mutex::default(),
                limiter: Mutex::default(),
                pra: Mutex::new(store),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The fault switches, effective immediately, also while serving.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The routes: `POST /oauth2/token` and the PRA Configuration API under `/api/config/v1`.
    pub fn router(&self) -> axum::Router {
        server::router(self.inner.clone())
    }

    /// Serves until the listener fails (run it in a task; drop the task to stop).
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// The PRA collections as they stand after every write, in the estate's `pra` shape: rows
    /// as served (documented defaults filled in), sub-resource rows with their parent's id,
    /// every collection present.
    pub fn pra_snapshot(&self) -> serde_json::Value {
        faults::lock(&self.inner.pra).snapshot()
    }

    /// Every bearer token issued so far, valid or not: for tests that check no output leaks
    /// one.
    pub fn issued_tokens(&self) -> Vec<String> {
        faults::lock(&self.inner.tokens).history().to_vec()
    }

    /// Requests received so far, on every route and including refused and faulted ones.
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }
}
