//! Live sources: the API clients of PRA and Password Safe, and the settings they connect with.
//! All network I/O of jumpguard lives here (and in the simulator).

pub mod http;
pub mod pra;
pub mod ps;

use std::fmt;
use std::path::PathBuf;

use crate::estate::{Completeness, Estate, SourceStatus, Sources, FORMAT_VERSION};

/// A secret (client secret, API key, password, token). Never printed: `Debug` and `Display`
/// show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where and how to reach a PRA site.
#[derive(Clone, Debug)]
pub struct PraSite {
    /// The site root, e.g. `https://pra.corp.example`.
    pub url: String,
    /// The API account's client id.
    pub client_id: String,
    /// The API account's client secret.
    pub client_secret: Secret,
}

/// How jumpguard signs in to Password Safe.
#[derive(Clone, Debug)]
pub enum PsAuth {
    /// An API registration's key, used as a run-as user (`PS-Auth key=…; runas=…; pwd=[…];`).
    ApiKey {
        /// The API key.
        key: Secret,
        /// The BeyondInsight user the key runs as.
        runas: String,
        /// That user's password, when the registration requires it.
        password: Option<Secret>,
    },
    /// An application user's OAuth client credentials (`Auth/connect/token`).
    OAuth {
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
    },
}

/// Where and how to reach Password Safe.
#[derive(Clone, Debug)]
pub struct PsSite {
    /// The site root, e.g. `https://ps.corp.example`.
    pub url: String,
    /// The credentials.
    pub auth: PsAuth,
}

/// Settings of a live fetch.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    /// The PRA site, when configured.
    pub pra: Option<PraSite>,
    /// The Password Safe site, when configured.
    pub ps: Option<PsSite>,
    /// A PEM file of extra trusted CA certificates.
    pub ca_cert: Option<PathBuf>,
    /// Log each request on stderr.
    pub verbose: bool,
    /// Show progress on stderr.
    pub progress: bool,
    /// Per-request timeout.
    pub timeout: Option<std::time::Duration>,
}

/// Counts of a fetch, for `--verbose` and the README's figures.
#[derive(Clone, Debug, Default)]
pub struct FetchStats {
    /// HTTP requests sent (token requests and retries included).
    pub requests: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Retries after 5xx or transport errors.
    pub retries: u64,
    /// Wall time.
    pub elapsed: std::time::Duration,
}

/// A problem with the connection settings, found before any request (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A URL that cannot be used.
    #[error("{0}")]
    Url(String),
    /// The CA certificate file.
    #[error("cannot use the CA certificate {path}: {reason}")]
    CaCert {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Missing settings.
    #[error("{0}")]
    Missing(String),
}

/// Fetches every configured source into an estate. Failures of the sources do not fail the call:
/// they mark the source partial or unavailable, with the reason.
pub async fn fetch(options: &FetchOptions) -> Result<(Estate, FetchStats), ConfigError> {
    let started = std::time::Instant::now();
    let transport = http::Transport::new(options)?;
    let live = Live::open(&transport, options).await;
    let estate = live.read().await;
    live.close().await;
    transport.finish();
    let mut stats = transport.stats();
    stats.elapsed = started.elapsed();
    Ok((estate, stats))
}

/// The signed-in sessions of one run, shared by its reads and writes: one PRA token and one
/// Password Safe session however often the run reads (`apply` reads, writes, reads again).
pub(crate) struct Live<'a> {
    /// The transport every request goes through.
    pub transport: &'a http::Transport,
    /// PRA: `None` when not configured, the reason when signing in failed.
    pub pra: Option<Result<pra::PraSession<'a>, String>>,
    /// Password Safe, likewise.
    pub ps: Option<Result<ps::PsSession<'a>, String>>,
}

impl<'a> Live<'a> {
    /// Signs in to every configured site, concurrently.
    pub(crate) async fn open(
        transport: &'a http::Transport,
        options: &'a FetchOptions,
    ) -> Live<'a> {
        let (pra, ps) = tokio::join!(
            async {
                match &options.pra {
                    Some(site) => {
                        transport.status("PRA: signing in");
                        let session = pra::PraSession::open(transport, site).await;
                        Some(session.map_err(|e| e.to_string()))
                    }
                    None => None,
                }
            },
            async {
                match &options.ps {
                    Some(site) => {
                        transport.status("Password Safe: signing in");
                        let session = ps::PsSession::open(transport, site).await;
                        Some(session.map_err(|e| e.to_string()))
                    }
                    None => None,
                }
            },
        );
        Live { transport, pra, ps }
    }

    /// Reads every configured site into an estate, concurrently. A site that could not be
    /// signed in to is unavailable, with the reason.
    pub(crate) async fn read(&self) -> Estate {
        let fetched_at = jiff::Timestamp::now().to_string();
        let unavailable = |reason: &String| SourceStatus {
            status: Completeness::Unavailable,
            reason: Some(reason.clone()),
        };
        let (pra, ps) = tokio::join!(
            async {
                match &self.pra {
                    Some(Ok(session)) => Some(session.read().await),
                    Some(Err(reason)) => Some((Default::default(), unavailable(reason))),
                    None => None,
                }
            },
            async {
                match &self.ps {
                    Some(Ok(session)) => Some(session.read().await),
                    Some(Err(reason)) => Some((Default::default(), unavailable(reason))),
                    None => None,
                }
            },
        );
        let mut estate = Estate {
            format_version: FORMAT_VERSION,
            fetched_at: Some(fetched_at),
            ..Estate::default()
        };
        let mut sources = Sources {
            pra: SourceStatus::not_configured(),
            password_safe: SourceStatus::not_configured(),
        };
        if let Some((pra, status)) = pra {
            estate.pra = pra;
            sources.pra = status;
        }
        if let Some((ps, status)) = ps {
            estate.ps = Some(ps);
            sources.password_safe = status;
        }
        estate.sources = Some(sources);
        estate
    }

    /// Signs out of Password Safe (PRA tokens simply expire).
    pub(crate) async fn close(&self) {
        if let Some(Ok(ps)) = &self.ps {
            ps.sign_out().await;
        }
    }
}
