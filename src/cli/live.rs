//! Connection settings from flags and the environment (never from policy files, apart from
//! the sites' URLs), and the live fetch as `check`, `fetch` and `plan` use it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::estate::{Completeness, Estate};
use crate::policy::Policy;
use crate::source::{self, FetchOptions, PraSite, PsAuth, PsSite, Secret};

/// The global connection flags.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// `--verbose`.
    pub verbose: bool,
    /// `--pra-url` / `JUMPGUARD_PRA_URL`.
    pub pra_url: Option<String>,
    /// `--ps-url` / `JUMPGUARD_PS_URL`.
    pub ps_url: Option<String>,
    /// `--ca-cert` / `JUMPGUARD_CA_CERT`.
    pub ca_cert: Option<PathBuf>,
    /// `--timeout`.
    pub timeout: Duration,
    /// Connection variables set by jumpguard itself (`demo`), read before the environment.
    pub vars: Vec<(String, String)>,
}

impl Global {
    /// A connection variable: jumpguard's own first, then the environment; empty is unset.
    fn var(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
            .filter(|v| !v.trim().is_empty())
    }
}

/// The fetch settings, or a configuration error.
pub(crate) fn fetch_options(
    global: &Global,
    policy: Option<&Policy>,
) -> Result<FetchOptions, String> {
    options(global, policy)
}

/// The fetch settings, or a configuration error (printed; exit 2).
fn options(global: &Global, policy: Option<&Policy>) -> Result<FetchOptions, String> {
    let pra_url = global.pra_url.clone().or_else(|| {
        policy
            .and_then(|p| p.pra_url.as_ref())
            .map(|(u, _)| u.clone())
    });
    let ps_url = global.ps_url.clone().or_else(|| {
        policy
            .and_then(|p| p.password_safe_url.as_ref())
            .map(|(u, _)| u.clone())
    });
    if pra_url.is_none() && ps_url.is_none() {
        return Err(
            "no site is configured: pass --pra-url (or set JUMPGUARD_PRA_URL, or `sites.pra.url` in the policy), or check an estate file with --estate FILE"
                .into(),
        );
    }
    let pra = match pra_url {
        Some(url) => {
            source::http::site_url(&url, "--pra-url").map_err(|e| e.to_string())?;
            let (Some(client_id), Some(secret)) = (
                global.var("JUMPGUARD_PRA_CLIENT_ID"),
                global.var("JUMPGUARD_PRA_CLIENT_SECRET"),
            ) else {
                return Err(format!(
                    "the PRA site {url} is configured but its credentials are not: set JUMPGUARD_PRA_CLIENT_ID and JUMPGUARD_PRA_CLIENT_SECRET (an API account of /login > Management > API Configuration)"
                ));
            };
            Some(PraSite {
                url,
                client_id,
                client_secret: Secret::new(secret),
            })
        }
        None => None,
    };
    let ps = match ps_url {
        Some(url) => {
            source::http::site_url(&url, "--ps-url").map_err(|e| e.to_string())?;
            let auth = match (global.var("JUMPGUARD_PS_API_KEY"), global.var("JUMPGUARD_PS_CLIENT_ID"), global.var("JUMPGUARD_PS_CLIENT_SECRET")) {
                (Some(key), _, _) => {
                    let Some(runas) = global.var("JUMPGUARD_PS_RUNAS") else {
                        return Err("JUMPGUARD_PS_API_KEY is set but JUMPGUARD_PS_RUNAS is not: name the BeyondInsight user the API registration runs as".into());
                    };
                    PsAuth::ApiKey {
                        key: Secret::new(key),
                        runas,
                        password: global.var("JUMPGUARD_PS_PASSWORD").map(Secret::new),
                    }
                }
                (None, Some(client_id), Some(secret)) => PsAuth::OAuth {
                    client_id,
                    client_secret: Secret::new(secret),
                },
                _ => {
                    return Err(format!(
                        "the Password Safe site {url} is configured but its credentials are not: set JUMPGUARD_PS_API_KEY and JUMPGUARD_PS_RUNAS (optionally JUMPGUARD_PS_PASSWORD), or JUMPGUARD_PS_CLIENT_ID and JUMPGUARD_PS_CLIENT_SECRET"
                    ))
                }
            };
            Some(PsSite { url, auth })
        }
        None => None,
    };
    Ok(FetchOptions {
        pra,
        ps,
        ca_cert: global.ca_cert.clone(),
        verbose: global.verbose,
        progress: std::io::stderr().is_terminal() && !global.verbose,
        timeout: Some(global.timeout),
    })
}

/// Fetches the live estate; on a configuration error prints it and returns the exit code.
pub(crate) fn fetch_estate(global: &Global, policy: Option<&Policy>) -> Result<Estate, u8> {
    fetch_estate_saying(global, policy, global.verbose)
}

/// [`fetch_estate`], printing the request counts and the time when `counts` (always for
/// `fetch`, with `--verbose` for the other commands).
fn fetch_estate_saying(
    global: &Global,
    policy: Option<&Policy>,
    counts: bool,
) -> Result<Estate, u8> {
    let options = options(global, policy).map_err(|e| {
        eprintln!("error: {e}");
        super::EXIT_ERROR
    })?;
    let runtime = super::runtime()?;
    let (estate, stats) = runtime.block_on(source::fetch(&options)).map_err(|e| {
        eprintln!("error: {e}");
        super::EXIT_ERROR
    })?;
    let sources = estate.sources();
    if counts {
        eprintln!(
            "fetched in {:.1}s: {} requests ({} answered 429, {} retried)",
            stats.elapsed.as_secs_f64(),
            stats.requests,
            stats.rate_limited,
            stats.retries
        );
    }
    for (name, s) in [
        ("PRA", &sources.pra),
        ("Password Safe", &sources.password_safe),
    ] {
        if matches!(s.status, Completeness::Partial | Completeness::Unavailable) {
            eprintln!(
                "warning: {name} could not be read completely: {}",
                s.reason.as_deref().unwrap_or("no reason given")
            );
        }
    }
    Ok(estate)
}

/// `jumpguard fetch --out FILE`: 0 when every source is complete, 3 when one is partial.
pub(crate) fn fetch_to_file(global: &Global, policy: Option<&Policy>, out: &Path) -> u8 {
    let estate = match fetch_estate_saying(global, policy, true) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let text = match serde_json::to_string_pretty(&estate) {
        Ok(t) => t + "\n",
        Err(e) => {
            eprintln!("error: cannot serialize the estate: {e}");
            return super::EXIT_ERROR;
        }
    };
    if let Err(e) = std::fs::write(out, text) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return super::EXIT_ERROR;
    }
    let items: usize =
        estate.pra.jump_item.values().map(Vec::len).sum::<usize>() + estate.pra.jump_client.len();
    eprintln!(
        "wrote {}: {items} jump items, {} jump groups, {} jump policies",
        out.display(),
        estate.pra.jump_group.len(),
        estate.pra.jump_policy.len()
    );
    let s = estate.sources();
    if [s.pra.status, s.password_safe.status]
        .iter()
        .any(|c| matches!(c, Completeness::Partial | Completeness::Unavailable))
    {
        3
    } else {
        0
    }
}
