//! The HTTP transport both API clients share: TLS with optional extra CAs, loopback-only plain
//! HTTP, pacing under the appliance's rate limit, bounded retries with backoff, per-request
//! timeouts, `--verbose` request logs and counts. It never sees what a request means.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use tokio::sync::Semaphore;

use super::{ConfigError, FetchOptions, FetchStats};

/// Requests per second the transport stays under. PRA allows 20 per second per API account;
/// pacing a little below leaves room for clock jitter between client and appliance.
pub const PACE_PER_SECOND: f64 = 19.5;
/// Independent requests in flight at once.
pub const CONCURRENCY: usize = 4;
/// Attempts for a request that meets 5xx answers or transport errors.
pub const MAX_ATTEMPTS: u32 = 4;
/// Attempts for a request that keeps meeting 429.
pub const MAX_RATE_LIMITED_ATTEMPTS: u32 = 8;

/// Why a request did not produce a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Nothing listens there, or the name does not resolve.
    #[error("cannot connect to {host}: {detail}")]
    Connect {
        /// The host.
        host: String,
        /// What failed.
        detail: String,
    },
    /// The TLS handshake failed (an untrusted or mismatched certificate, usually).
    #[error("TLS handshake with {host} failed: {detail} (a private CA? pass --ca-cert)")]
    Tls {
        /// The host.
        host: String,
        /// What failed.
        detail: String,
    },
    /// No answer in time.
    #[error("{what} timed out")]
    Timeout {
        /// The request.
        what: String,
    },
    /// The connection broke or the answer was malformed.
    #[error("{what} failed: {detail}")]
    Broken {
        /// The request.
        what: String,
        /// What failed.
        detail: String,
    },
    /// A status that retries did not cure.
    #[error("{what} answered {status}{}", body_hint(.body))]
    Status {
        /// The request.
        what: String,
        /// The status.
        status: StatusCode,
        /// The body (for error messages; never holds secrets in these APIs).
        body: String,
    },
}

/// An answer whose status the caller judges: writes report the vendor's message on failure.
#[derive(Clone, Debug)]
pub(crate) struct ApiResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body as JSON; `Null` when empty, a JSON string when it was not JSON.
    pub body: serde_json::Value,
}

impl ApiResponse {
    /// Reads a response's status and body.
    pub(crate) async fn read(response: Response) -> ApiResponse {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body = if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        };
        ApiResponse { status, body }
    }

    /// Whether the status is 2xx.
    pub(crate) fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The status and what the vendor said about it: PRA's `{"message", "errors"}` envelope,
    /// Password Safe's JSON string, or the start of any other body.
    pub(crate) fn problem(&self) -> String {
        use serde_json::Value;
        let mut said = match &self.body {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Object(map) => {
                let mut text = map
                    .get("message")
                    .or_else(|| map.get("Message"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| self.body.to_string());
                if let Some(Value::Object(errors)) = map.get("errors") {
                    let fields: Vec<String> = errors
                        .iter()
                        .map(|(field, messages)| match messages {
                            Value::Array(list) => {
                                let list: Vec<&str> =
                                    list.iter().filter_map(Value::as_str).collect();
                                format!("{field}: {}", list.join(" "))
                            }
                            other => format!("{field}: {other}"),
                        })
                        .collect();
                    if !fields.is_empty() {
                        text = format!("{text} ({})", fields.join("; "));
                    }
                }
                text
            }
            other => other.to_string(),
        };
        said = said.trim().chars().take(300).collect();
        if said.is_empty() {
            self.status.to_string()
        } else {
            format!("{}: {said}", self.status)
        }
    }
}

fn body_hint(body: &str) -> String {
    let b = body.trim();
    if b.is_empty() {
        String::new()
    } else {
        let short: String = b.chars().take(200).collect();
        format!(": {short}")
    }
}

/// Paces requests: each takes the next free slot, `1/PACE_PER_SECOND` apart.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }

    /// Holds every request back until `until` (after a 429 with `Retry-After`).
    fn hold_until(&self, until: Instant) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        *next = (*next).max(until);
    }
}

/// The shared HTTP transport of one run.
pub struct Transport {
    client: reqwest::Client,
    pacer: Pacer,
    /// In-flight slots of paced (PRA) requests, and of unpaced (Password Safe) ones: kept
    /// apart, so that PRA requests waiting for their pace never hold up Password Safe.
    slots: Semaphore,
    unpaced_slots: Semaphore,
    verbose: bool,
    requests: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
    jitter: AtomicU64,
    progress: Option<indicatif::ProgressBar>,
}

impl Transport {
    /// Builds the transport; fails on an unusable CA file.
    pub fn new(options: &FetchOptions) -> Result<Transport, ConfigError> {
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout.unwrap_or(Duration::from_secs(30)))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("jumpguard/", env!("CARGO_PKG_VERSION")))
            .https_only(false);
        if let Some(path) = &options.ca_cert {
            let shown = path.display().to_string();
            let pem = std::fs::read(path).map_err(|e| ConfigError::CaCert {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ConfigError::CaCert {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(ConfigError::CaCert {
                    path: shown,
                    reason: "no PEM certificate in the file".into(),
                });
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let client = builder
            .build()
            .map_err(|e| ConfigError::Url(format!("cannot build the HTTP client: {e}")))?;
        let progress = options.progress.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg} ({pos} requests, {elapsed})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
            | 1;
        Ok(Transport {
            client,
            pacer: Pacer {
                interval: Duration::from_secs_f64(1.0 / PACE_PER_SECOND),
                next: Mutex::new(Instant::now()),
            },
            slots: Semaphore::new(CONCURRENCY),
            unpaced_slots: Semaphore::new(CONCURRENCY),
            verbose: options.verbose,
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            jitter: AtomicU64::new(seed),
            progress,
        })
    }

    /// A request builder on the shared client.
    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// Shows what is being fetched, when progress is on.
    pub fn status(&self, message: &str) {
        if let Some(bar) = &self.progress {
            bar.set_message(message.to_string());
        }
    }

    /// Runs `f` (which writes to the terminal) with the progress display hidden, so its lines
    /// and the spinner do not garble each other.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.progress {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Ends the progress display.
    pub fn finish(&self) {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> FetchStats {
        FetchStats {
            requests: self.requests.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            elapsed: Duration::ZERO,
        }
    }

    /// Sends a request built by `build` (called again for each attempt), paced, retried on 429,
    /// 5xx and transport errors. Any other status is returned to the caller, success or not.
    pub async fn send(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, TransportError> {
        self.send_with(what, build, true).await
    }

    /// As [`Transport::send`], without the PRA pacing: Password Safe documents no rate limit.
    pub async fn send_unpaced(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, TransportError> {
        self.send_with(what, build, false).await
    }

    /// As [`Transport::send`] (`paced`: with the PRA pacing), for a request that must not be
    /// repeated blindly, such as a `POST` that creates: a 429 is still waited out (the appliance
    /// did not process the request), but a 5xx answer is returned as it is and a broken
    /// connection is not retried, because the appliance may have acted on it already.
    pub async fn send_once(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
        paced: bool,
    ) -> Result<Response, TransportError> {
        self.send_inner(what, build, paced, false).await
    }

    async fn send_with(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
        paced: bool,
    ) -> Result<Response, TransportError> {
        self.send_inner(what, build, paced, true).await
    }

    async fn send_inner(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
        paced: bool,
        repeatable: bool,
    ) -> Result<Response, TransportError> {
        let slots = if paced {
            &self.slots
        } else {
            &self.unpaced_slots
        };
        let _slot = slots.acquire().await.ok();
        let mut failures = 0u32;
        let mut limited = 0u32;
        loop {
            if paced {
                self.pacer.wait().await;
            }
            let request = build().build().map_err(|e| TransportError::Broken {
                what: what.to_string(),
                detail: e.to_string(),
            })?;
            let method = request.method().clone();
            let shown = show_url(request.url());
            let host = request.url().host_str().unwrap_or_default().to_string();
            let started = Instant::now();
            self.requests.fetch_add(1, Ordering::Relaxed);
            if let Some(bar) = &self.progress {
                bar.inc(1);
            }
            let result = self.client.execute(request).await;
            let elapsed = started.elapsed();
            match result {
                Ok(response) => {
                    let status = response.status();
                    self.log(&method, &shown, &status.as_u16().to_string(), elapsed);
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.rate_limited.fetch_add(1, Ordering::Relaxed);
                        limited += 1;
                        if limited >= MAX_RATE_LIMITED_ATTEMPTS {
                            return Err(status_error(what, response).await);
                        }
                        let wait = retry_after(&response).unwrap_or_else(|| self.backoff(limited));
                        self.pacer.hold_until(Instant::now() + wait);
                        continue;
                    }
                    if status.is_server_error() && repeatable {
                        failures += 1;
                        if failures >= MAX_ATTEMPTS {
                            return Err(status_error(what, response).await);
                        }
                        self.retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(self.backoff(failures)).await;
                        continue;
                    }
                    return Ok(response);
                }
                Err(e) => {
                    self.log(&method, &shown, "error", elapsed);
                    let err = classify(what, &host, &e);
                    // Nothing listening and bad certificates do not heal with retries.
                    if matches!(
                        err,
                        TransportError::Connect { .. } | TransportError::Tls { .. }
                    ) {
                        return Err(err);
                    }
                    failures += 1;
                    if failures >= MAX_ATTEMPTS || !repeatable {
                        return Err(err);
                    }
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.backoff(failures)).await;
                }
            }
        }
    }

    fn log(&self, method: &Method, url: &str, status: &str, elapsed: Duration) {
        if self.verbose {
            let line = format!("{method} {url} {status} {}ms", elapsed.as_millis());
            match &self.progress {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    }

    /// Exponential backoff with jitter: about 250 ms, 500 ms, 1 s, … capped at 8 s.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = 250u64.saturating_mul(1 << attempt.min(5)).min(8_000);
        // xorshift: enough to spread retries of concurrent requests.
        let mut x = self.jitter.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter.store(x, Ordering::Relaxed);
        Duration::from_millis(base / 2 + x % (base / 2 + 1))
    }
}

/// A URL as logs show it: path and query, no credentials (there are none in these APIs' URLs).
fn show_url(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn retry_after(response: &Response) -> Option<Duration> {
    let v = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    v.trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(120)))
}

async fn status_error(what: &str, response: Response) -> TransportError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    TransportError::Status {
        what: what.to_string(),
        status,
        body,
    }
}

fn classify(what: &str, host: &str, e: &reqwest::Error) -> TransportError {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    let mut tls = false;
    while let Some(s) = source {
        let text = s.to_string();
        let lower = text.to_lowercase();
        // rustls reports through io errors; its messages are the only stable signal here.
        let tls_words = [
            "certificate",
            "tls",
            "handshake",
            "corrupt message",
            "invalidcontenttype",
            "alert",
        ];
        if tls_words.iter().any(|k| lower.contains(k)) {
            tls = true;
        }
        detail = text;
        source = s.source();
    }
    if tls {
        TransportError::Tls {
            host: host.to_string(),
            detail,
        }
    } else if e.is_timeout() {
        TransportError::Timeout {
            what: what.to_string(),
        }
    } else if e.is_connect() {
        TransportError::Connect {
            host: host.to_string(),
            detail,
        }
    } else {
        TransportError::Broken {
            what: what.to_string(),
            detail,
        }
    }
}

/// Parses a site root URL. `https://` always; `http://` only for loopback hosts.
pub fn site_url(raw: &str, flag: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| ConfigError::Url(format!("{flag} `{raw}` is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(a)) => a.is_loopback(),
                Some(url::Host::Ipv6(a)) => a.is_loopback(),
                None => false,
            };
            if !loopback {
                return Err(ConfigError::Url(format!(
                    "{flag} `{raw}` uses plain http: only loopback addresses (the simulator) may; use https"
                )));
            }
        }
        other => {
            return Err(ConfigError::Url(format!(
                "{flag} `{raw}`: unsupported scheme `{other}` (use https)"
            )))
        }
    }
    if url.host().is_none() {
        return Err(ConfigError::Url(format!("{flag} `{raw}` has no host")));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(site_url("http://127.0.0.1:8080", "--pra-url").is_ok());
        assert!(site_url("http://localhost:1", "--pra-url").is_ok());
        assert!(site_url("http://[::1]:1", "--pra-url").is_ok());
        assert!(site_url("https://pra.corp.example", "--pra-url").is_ok());
        let e = site_url("http://pra.corp.example", "--pra-url")
            .unwrap_err()
            .to_string();
        assert!(e.contains("only loopback"), "{e}");
        assert!(site_url("ftp://x", "--pra-url").is_err());
        assert!(site_url("pra.corp.example", "--pra-url").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let s = super::super::Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
    }
}
