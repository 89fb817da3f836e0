//! The request pipeline every route shares: counting, the delay, injected faults, then the API
//! the path belongs to. PRA requests then pass the token endpoint, forced 429s, bearer
//! authentication and the rate limit; Password Safe requests authenticate by their own session
//! and are never throttled (its API documents no limit).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;

use super::faults::lock;
use super::http::{message, parse_urlencoded, ApiRequest};
use super::limit::{retry_after_secs, PER_HOUR};
use super::{auth, pra, ps, ps_auth, Inner};

/// The token endpoint, at the site root (§1.1).
const TOKEN_PATH: &str = "/oauth2/token";

/// Larger bodies are refused: nothing the API takes comes near.
const MAX_BODY: usize = 4 << 20;

pub(super) fn router(inner: Arc<Inner>) -> Router {
    Router::new().fallback(handle).with_state(inner)
}

async fn handle(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    let delay = inner.faults.delay_ms();
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let is_ps = ps::under_base(&path).is_some();
    let response = if inner.faults.take_drop(&path, is_ps) {
        dropped_connection()
    } else if let Some(status) = inner.faults.take_failure(&path, is_ps) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let text = format!("Simulated failure of {path}");
        if is_ps {
            ps_auth::text(status, &text)
        } else {
            message(status, &text)
        }
    } else {
        match axum::body::to_bytes(body, MAX_BODY).await {
            Err(_) => message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large.",
            ),
            Ok(body) => {
                let request = ApiRequest {
                    method: parts.method,
                    query: parse_urlencoded(parts.uri.query().unwrap_or("")),
                    host: parts
                        .headers
                        .get(header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("localhost")
                        .to_owned(),
                    path,
                    body,
                };
                route(&inner, &parts.headers, request)
            }
        }
    };
    if is_ps {
        response
    } else {
        with_rate_headers(&inner, response)
    }
}

fn route(inner: &Inner, headers: &axum::http::HeaderMap, request: ApiRequest) -> Response {
    if request.path == TOKEN_PATH {
        return auth::token_endpoint(inner, &request.method, headers, &request.body);
    }
    if let Some(rest) = ps::under_base(&request.path) {
        return ps::handle(inner, headers, &request, rest);
    }
    let Some(rest) = under(&request.path, pra::BASE) else {
        return message(
            StatusCode::NOT_FOUND,
            &format!("No such resource: {}", request.path),
        );
    };
    if inner.faults.take_429() {
        return throttled(Duration::from_secs(1));
    }
    if !auth::authenticated(inner, headers) {
        return auth::access_denied();
    }
    if inner.config.rate_limit {
        if let Err(wait) = lock(&inner.limiter).admit(Instant::now()) {
            return throttled(wait);
        }
    }
    let mut response = pra::handle(inner, &request, rest);
    if request.method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    response
}

/// The part of `path` after `base`, when `path` is `base` or below it.
fn under<'a>(path: &'a str, base: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(base)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// 429 with `Retry-After`. Inferred: the reference documents the limits but not the answer
/// to exceeding them (§2.5, §10.1); 429 with `Retry-After` is what HTTP offers for it.
fn throttled(wait: Duration) -> Response {
    let mut response = message(
        StatusCode::TOO_MANY_REQUESTS,
        "Rate limit exceeded: at most 20 requests per second and 15000 per hour per API account.",
    );
    let headers = response.headers_mut();
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs(wait)),
    );
    headers.insert(RATE_LIMIT, HeaderValue::from(PER_HOUR as u64));
    headers.insert(RATE_REMAINING, HeaderValue::from(0u64));
    response
}

const RATE_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const RATE_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");

/// Every response carries `X-RateLimit-Limit` and `X-RateLimit-Remaining` (§2.5) while the
/// rate limit is on; a 429 has set its own.
fn with_rate_headers(inner: &Inner, mut response: Response) -> Response {
    if !inner.config.rate_limit || response.headers().contains_key(&RATE_LIMIT) {
        return response;
    }
    let remaining = lock(&inner.limiter).remaining(Instant::now());
    let headers = response.headers_mut();
    headers.insert(RATE_LIMIT, HeaderValue::from(PER_HOUR as u64));
    headers.insert(RATE_REMAINING, HeaderValue::from(remaining as u64));
    response
}

/// A 200 whose body breaks off: the start of a JSON array, then an error, so that the server
/// aborts the connection mid-body and the client sees a transport error.
fn dropped_connection() -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"[{\"id\": 1, \"name\": \"")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "simulated connection drop",
        )),
    ];
    let mut response = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_below_the_base_belong_to_it() {
        assert_eq!(
            under("/api/config/v1/user", "/api/config/v1"),
            Some("/user")
        );
        assert_eq!(under("/api/config/v1", "/api/config/v1"), Some(""));
        assert_eq!(under("/api/config/v10/user", "/api/config/v1"), None);
    }
}
