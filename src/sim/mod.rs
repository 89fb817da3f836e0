//! A simulator of the vendors' APIs for tests and demos: an axum server that serves an estate
//! file the way BeyondTrust's appliances would, with their authentication, pagination, filters,
//! validation, rate limits and quirks, and with faults a test can switch on while it serves.
//! The PRA Configuration API lives under `/api/config/v1` (`reference/pra-config-api.md` §1–§5,
//! §7, §9); the Password Safe public API under `/BeyondTrust/api/public/v3`
//! (`reference/password-safe-api.md` §1–§6, §10), served when the estate has a `ps` half.
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
mod ps;
mod ps_auth;
mod ps_store;
mod server;

#[cfg(test)]
mod ps_tests;
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
    /// The Password Safe API key (`PS-Auth key=...`) of the one simulated API registration.
    pub ps_api_key: String,
    /// The user the API key runs as (`runas=...`, compared ignoring case; optional in the
    /// header).
    pub ps_runas: String,
    /// The run-as user's password. When set, the registration has "User Password Required" and
    /// `SignAppin` needs `pwd=[...]`.
    pub ps_password: Option<String>,
    /// The OAuth client id of the Password Safe application user (`Auth/connect/token`).
    pub ps_client_id: String,
    /// The OAuth client secret of the Password Safe application user.
    pub ps_client_secret: String,
    /// A Password Safe session ends after this long without a request (20 minutes on the
    /// appliance).
    pub ps_session_idle: Duration,
    /// Whether `GET AccessPolicies/{id}/Assignees` exists; false simulates an older release,
    /// where it answers 404.
    pub ps_assignees: bool,
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
            // Obviously fake, and 128 characters like a real API key.
            ps_api_key: "0123456789abcdef".repeat(8),
            ps_runas: "jumpguard".into(),
            ps_password: None,
            ps_client_id: "jumpguard-sim-ps".into(),
            ps_client_secret: "sim-ps-secret".into(),
            ps_session_idle: Duration::from_secs(20 * 60),
            ps_assignees: true,
        }
    }
}

impl std::fmt::Debug for SimConfig {
    /// Everything but the secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("rate_limit", &self.rate_limit)
            .field("token_ttl", &self.token_ttl)
            .field("max_tokens", &self.max_tokens)
            .field("unknown_field_status", &self.unknown_field_status)
            .field("clamp_per_page", &self.clamp_per_page)
            .field("ps_api_key", &"<redacted>")
            .field("ps_runas", &self.ps_runas)
            .field(
                "ps_password",
                &self.ps_password.as_ref().map(|_| "<redacted>"),
            )
            .field("ps_client_id", &self.ps_client_id)
            .field("ps_client_secret", &"<redacted>")
            .field("ps_session_idle", &self.ps_session_idle)
            .field("ps_assignees", &self.ps_assignees)
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
    /// The Password Safe site; `None` when the estate has no `ps` half.
    ps: Option<Mutex<ps_store::Store>>,
    ps_auth: Mutex<ps_auth::PsAuth>,
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
        if config.ps_api_key.is_empty() {
            return Err("ps_api_key must not be empty".into());
        }
        let store = pra::Store::from_estate(estate.get("pra"))?;
        let ps = match estate.get("ps") {
            None | Some(serde_json::Value::Null) => None,
            Some(ps) => Some(Mutex::new(ps_store::Store::from_estate(ps)?)),
        };
        Ok(Simulator {
            inner: Arc::new(Inner {
                config,
                faults: Faults::default(),
                tokens: Mutex::default(),
                limiter: Mutex::default(),
                pra: Mutex::new(store),
                ps,
                ps_auth: Mutex::default(),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The fault switches, effective immediately, also while serving.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The routes: `POST /oauth2/token` and the PRA Configuration API under `/api/config/v1`;
    /// the Password Safe public API under `/BeyondTrust/api/public/v3`.
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

    /// The Password Safe collections as they stand after every write, in the estate's `ps`
    /// shape, every collection present (`roles` as `GET Roles` serves them); `null` when the
    /// estate has no `ps` half.
    pub fn ps_snapshot(&self) -> serde_json::Value {
        self.inner
            .ps
            .as_ref()
            .map_or(serde_json::Value::Null, |ps| faults::lock(ps).snapshot())
    }

    /// Every Password Safe secret issued so far, valid or not: access tokens, session ids and
    /// verification tokens, for tests that check no output leaks one.
    pub fn issued_ps_secrets(&self) -> Vec<String> {
        faults::lock(&self.inner.ps_auth).history().to_vec()
    }

    /// Every PRA bearer token issued so far, valid or not: for tests that check no output
    /// leaks one.
    pub fn issued_tokens(&self) -> Vec<String> {
        faults::lock(&self.inner.tokens).history().to_vec()
    }

    /// Requests received so far, on every route and including refused and faulted ones.
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }
}
