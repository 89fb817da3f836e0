//! OAuth2 client credentials (`POST /oauth2/token`) and bearer tokens
//! (`reference/pra-config-api.md` §1.1): one-hour tokens, at most 30 valid per API account with
//! the oldest evicted by the 31st, all invalidated when the secret is regenerated.

use std::collections::VecDeque;
use std::time::Instant;

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::faults::lock;
use super::http::{empty, json_response, parse_urlencoded};
use super::Inner;

/// The body of every refused bearer token (§1.1, verbatim from the vendor's spec).
pub(crate) const ACCESS_DENIED: &str =
    "The resource owner or authorization server denied the request.";

/// The tokens issued to the simulator's one API account, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: VecDeque<Issued>,
    serial: u64,
    /// Every token ever issued, valid or not, for tests that look for leaked tokens.
    history: Vec<String>,
}

#[derive(Debug)]
struct Issued {
    token: String,
    expires: Instant,
    epoch: u64,
}

impl Tokens {
    fn prune(&mut self, now: Instant, epoch: u64) {
        self.issued.retain(|t| t.expires > now && t.epoch == epoch);
    }

    fn issue(&mut self, inner: &Inner, now: Instant) -> String {
        let epoch = inner.faults.token_epoch();
        self.prune(now, epoch);
        while self.issued.len() >= inner.config.max_tokens.max(1) {
            self.issued.pop_front();
        }
        self.serial += 1;
        // Unguessable enough for a test double, and unique per simulator and serial.
        let mut h = Sha256::new();
        h.update(inner.config.client_secret.as_bytes());
        h.update(self.serial.to_le_bytes());
        h.update(format!("{:?}{:p}", std::time::SystemTime::now(), inner).as_bytes());
        let token: String = h.finalize()[..20]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.history.push(token.clone());
        self.issued.push_back(Issued {
            token: token.clone(),
            expires: now + inner.config.token_ttl,
            epoch,
        });
        token
    }

    pub(crate) fn history(&self) -> &[String] {
        &self.history
    }

    fn valid(&mut self, token: &str, now: Instant, epoch: u64) -> bool {
        self.prune(now, epoch);
        self.issued.iter().any(|t| t.token == token)
    }
}

/// Whether the request carries a valid `Authorization: Bearer` token.
pub(crate) fn authenticated(inner: &Inner, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && lock(&inner.tokens).valid(token.trim(), Instant::now(), inner.faults.token_epoch())
}

/// The 401 for a missing, unknown, expired, evicted or revoked token.
pub(crate) fn access_denied() -> Response {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "access_denied", ACCESS_DENIED);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn oauth_error(status: StatusCode, error: &str, message: &str) -> Response {
    json_response(status, &json!({ "error": error, "message": message }))
}

/// `POST /oauth2/token`. Accepts the documented HTTP Basic credentials with a form body, and
/// also credentials in the body and a JSON body, as real appliances do (§1.1 [OBS]).
pub(crate) fn token_endpoint(
    inner: &Inner,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if *method == Method::OPTIONS {
        let mut response = empty(StatusCode::OK);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if *method != Method::POST {
        let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let fields = body_fields(headers, body);
    let field = |name: &str| last_field(&fields, name);
    let credentials =
        basic_credentials(headers).or_else(|| Some((field("client_id")?, field("client_secret")?)));
    let Some((id, secret)) = credentials else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed: no client credentials were given.",
        );
    };
    if id != inner.config.client_id || secret != inner.config.client_secret {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    match field("grant_type").as_deref() {
        Some("client_credentials") => {}
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request is missing a required parameter: grant_type.",
            )
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        }
    }
    let token = lock(&inner.tokens).issue(inner, Instant::now());
    let mut response = json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": inner.config.token_ttl.as_secs(),
        }),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The client id and secret of an HTTP Basic `Authorization` header.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The value of a body field; of a field given twice, the last.
pub(crate) fn last_field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The body's fields, from a JSON object or a form, whichever it is.
pub(crate) fn body_fields(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"))
        || body.trim_ascii_start().starts_with(b"{");
    if is_json {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        return map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect();
    }
    parse_urlencoded(&String::from_utf8_lossy(body))
}
