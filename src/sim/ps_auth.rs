//! Password Safe sign-in (`reference/password-safe-api.md` §2): OAuth client credentials at
//! `Auth/connect/token`, `Auth/SignAppin` with a `PS-Auth` key or a bearer token, the two
//! session cookies it sets, the idle timeout, and `Auth/Signout`.
//!
//! The session cookie is what authenticates every later call. A client may send its
//! `Authorization` header again on every call (BeyondTrust's Python library does); it is accepted
//! and not required. Whether a real server validates that repeated header is not documented, so
//! the simulator does not.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::auth::{basic_credentials, body_fields, last_field};
use super::faults::lock;
use super::http::{empty, json_response};
use super::Inner;

/// The body of every 401 (a JSON string, §2.1).
pub(crate) const NOT_AUTHENTICATED: &str = "User not authenticated";

/// How long an access token from `Auth/connect/token` lives: the API registration's
/// `AccessTokenDuration` default, 60 minutes (§2.1).
const TOKEN_TTL: Duration = Duration::from_secs(3600);

/// The value of `scope` in token responses. Inferred: the reference's example shows it, its
/// value is not documented (§7).
const SCOPE: &str = "publicapi";

const SESSION_COOKIE: &str = "ASP.NET_SessionId";
const VERIFICATION_COOKIE: &str = "__RequestVerificationToken";

/// Who a session belongs to: the run-as user of a `PS-Auth` sign-in, or the OAuth client's
/// application user.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    pub(crate) user_name: String,
}

/// Access tokens and sessions of the simulated Password Safe.
#[derive(Debug, Default)]
pub(crate) struct PsAuth {
    tokens: Vec<(String, Instant)>,
    sessions: HashMap<String, Session>,
    serial: u64,
    /// Every token, session id and verification token issued, for tests that look for leaks.
    history: Vec<String>,
}

#[derive(Debug)]
struct Session {
    verification: String,
    identity: Identity,
    last_seen: Instant,
    /// The `expire_ps_sessions` epoch the session was opened in.
    epoch: u64,
}

impl PsAuth {
    /// A fresh secret of `bytes` random-looking bytes in hex, unique per simulator and serial.
    fn secret(&mut self, inner: &Inner, bytes: usize) -> String {
        self.serial += 1;
        let mut h = Sha256::new();
        h.update(inner.config.ps_client_secret.as_bytes());
        h.update(self.serial.to_le_bytes());
        h.update(format!("{:?}{:p}", std::time::SystemTime::now(), inner).as_bytes());
        let value: String = h.finalize()[..bytes.min(32)]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.history.push(value.clone());
        value
    }

    fn token_valid(&mut self, token: &str, now: Instant) -> bool {
        self.tokens.retain(|(_, expires)| *expires > now);
        self.tokens.iter().any(|(t, _)| t == token)
    }

    pub(crate) fn history(&self) -> &[String] {
        &self.history
    }
}

/// A JSON string body, the shape of every Password Safe error (§3).
pub(crate) fn text(status: StatusCode, message: &str) -> Response {
    json_response(status, &Value::String(message.to_owned()))
}

/// 401 `"User not authenticated"`.
pub(crate) fn not_authenticated() -> Response {
    text(StatusCode::UNAUTHORIZED, NOT_AUTHENTICATED)
}

/// `POST Auth/connect/token`: a form body with `grant_type=client_credentials`, `client_id` and
/// `client_secret` (HTTP Basic credentials are accepted too). Errors follow RFC 6749 §5.2 with
/// 400, as IdentityServer answers; the reference does not document them (inferred).
pub(crate) fn token_endpoint(inner: &Inner, headers: &HeaderMap, body: &[u8]) -> Response {
    let fields = body_fields(headers, body);
    let field = |name: &str| last_field(&fields, name);
    let oauth_error =
        |error: &str| json_response(StatusCode::BAD_REQUEST, &json!({ "error": error }));
    match field("grant_type").as_deref() {
        Some("client_credentials") => {}
        None => return oauth_error("invalid_request"),
        Some(_) => return oauth_error("unsupported_grant_type"),
    }
    let credentials = (|| Some((field("client_id")?, field("client_secret")?)))()
        .or_else(|| basic_credentials(headers));
    let config = &inner.config;
    if credentials != Some((config.ps_client_id.clone(), config.ps_client_secret.clone())) {
        return oauth_error("invalid_client");
    }
    let mut auth = lock(&inner.ps_auth);
    let token = auth.secret(inner, 32);
    auth.tokens
        .push((token.clone(), Instant::now() + TOKEN_TTL));
    drop(auth);
    let mut response = json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "expires_in": TOKEN_TTL.as_secs(),
            "token_type": "Bearer",
            "scope": SCOPE,
        }),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The credentials of a `PS-Auth` header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PsAuthHeader {
    pub(crate) key: String,
    pub(crate) runas: Option<String>,
    pub(crate) pwd: Option<String>,
}

/// Parses `PS-Auth key=K; runas=U; pwd=[P];` leniently, as BeyondTrust's own clients vary
/// (§2.1): parts split on `;` and trimmed, `runas` and `pwd` optional, spaces and the final `;`
/// optional. The password is taken whole from `pwd=[` to the last `]`, so it may contain `;`.
pub(crate) fn parse_ps_auth(value: &str) -> Option<PsAuthHeader> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("PS-Auth") {
        return None;
    }
    let mut rest = rest.to_owned();
    let mut pwd = None;
    if let Some((start, open, close)) = bracketed_password(&rest) {
        pwd = Some(rest[open + 1..close].to_owned());
        rest.replace_range(start..=close, "");
    }
    let mut key = None;
    let mut runas = None;
    for part in rest.split(';') {
        let Some((name, v)) = part.split_once('=') else {
            continue;
        };
        let v = v.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "key" => key = Some(v.to_owned()),
            "runas" => runas = Some(v.to_owned()),
            "pwd" => {
                let v = v.strip_prefix('[').unwrap_or(v);
                pwd = Some(v.strip_suffix(']').unwrap_or(v).to_owned());
            }
            _ => {}
        }
    }
    Some(PsAuthHeader {
        key: key.filter(|k| !k.is_empty())?,
        runas: runas.filter(|r| !r.is_empty()),
        pwd,
    })
}

/// Where `pwd = [...]` is: the start of `pwd`, its `[` and the last `]` of the header.
fn bracketed_password(rest: &str) -> Option<(usize, usize, usize)> {
    // ASCII lowercasing keeps byte offsets.
    let lower = rest.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("pwd") {
        let start = from + i;
        let value = lower[start + 3..]
            .trim_start()
            .strip_prefix('=')
            .map(str::trim_start);
        if let Some(value) = value.filter(|v| v.starts_with('[')) {
            let open = lower.len() - value.len();
            return rest
                .rfind(']')
                .filter(|close| *close > open)
                .map(|close| (start, open, close));
        }
        from = start + 3;
    }
    None
}

/// `POST Auth/SignAppin`: checks the `Authorization` header, opens a session and answers the
/// user object with both session cookies. `user_id` looks a user name up in the estate's
/// `user_group_users`.
pub(crate) fn sign_appin(
    inner: &Inner,
    headers: &HeaderMap,
    user_id: impl Fn(&str) -> Option<i64>,
) -> Response {
    let Some(user_name) = signed_in_user(inner, headers) else {
        return not_authenticated();
    };
    // Users the estate does not list get fixed ids, so that a session's user is stable.
    let user_id = user_id(&user_name).unwrap_or(if user_name == inner.config.ps_client_id {
        9002
    } else {
        9001
    });
    let local = user_name
        .rsplit('\\')
        .next()
        .unwrap_or(&user_name)
        .to_owned();
    let body = json!({
        "UserId": user_id,
        "SID": null,
        "EmailAddress": format!("{local}@corp.example"),
        "UserName": user_name,
        "Name": local,
    });
    let mut auth = lock(&inner.ps_auth);
    let session_id = auth.secret(inner, 12);
    let verification = auth.secret(inner, 32);
    auth.sessions.insert(
        session_id.clone(),
        Session {
            verification: verification.clone(),
            identity: Identity { user_name },
            last_seen: Instant::now(),
            epoch: inner.faults.ps_session_epoch(),
        },
    );
    drop(auth);
    let mut response = json_response(StatusCode::OK, &body);
    for cookie in [
        format!("{SESSION_COOKIE}={session_id}; path=/; secure; HttpOnly; SameSite=None"),
        format!("{VERIFICATION_COOKIE}={verification}; path=/; secure; HttpOnly"),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The user an `Authorization` header signs in, when its credentials are right.
fn signed_in_user(inner: &Inner, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let config = &inner.config;
    if let Some((scheme, token)) = value.split_once(char::is_whitespace) {
        if scheme.eq_ignore_ascii_case("bearer") {
            return lock(&inner.ps_auth)
                .token_valid(token.trim(), Instant::now())
                .then(|| config.ps_client_id.clone());
        }
    }
    let credentials = parse_ps_auth(value)?;
    if credentials.key != config.ps_api_key {
        return None;
    }
    // Inferred: BeyondInsight user names compare without regard to case.
    if let Some(runas) = &credentials.runas {
        if !runas.eq_ignore_ascii_case(&config.ps_runas) {
            return None;
        }
    }
    if let Some(password) = &config.ps_password {
        if credentials.pwd.as_ref() != Some(password) {
            return None;
        }
    }
    // The user's name as the appliance stores it, whatever the header's spelling.
    Some(config.ps_runas.clone())
}

/// The identity of the request's session, refreshing its idle timer; `None` when the request
/// has no session cookie pair, or its session is unknown, idle too long, expired by a fault or
/// signed out.
///
/// The cookies must come in one `Cookie` header: replaying them as several headers made real
/// servers answer 401 (§2.1, §11), and RFC 6265 allows only one.
pub(crate) fn session(inner: &Inner, headers: &HeaderMap) -> Option<Identity> {
    let (session_id, verification) = cookies(headers)?;
    let now = Instant::now();
    let epoch = inner.faults.ps_session_epoch();
    let idle = inner.config.ps_session_idle;
    let mut auth = lock(&inner.ps_auth);
    auth.sessions
        .retain(|_, s| s.epoch == epoch && now.duration_since(s.last_seen) < idle);
    let session = auth.sessions.get_mut(&session_id)?;
    if session.verification != verification {
        return None;
    }
    session.last_seen = now;
    Some(session.identity.clone())
}

/// `POST Auth/Signout`: ends the request's session; 200 with no body. Without a valid session
/// it is a 401 like any other call (inferred).
pub(crate) fn sign_out(inner: &Inner, headers: &HeaderMap) -> Response {
    if session(inner, headers).is_none() {
        return not_authenticated();
    }
    if let Some((session_id, _)) = cookies(headers) {
        lock(&inner.ps_auth).sessions.remove(&session_id);
    }
    empty(StatusCode::OK)
}

/// The session id and verification token of the one `Cookie` header.
fn cookies(headers: &HeaderMap) -> Option<(String, String)> {
    let mut all = headers.get_all(header::COOKIE).iter();
    let value = all.next()?.to_str().ok()?;
    if all.next().is_some() {
        return None;
    }
    let mut session_id = None;
    let mut verification = None;
    for pair in value.split(';') {
        let Some((name, v)) = pair.split_once('=') else {
            continue;
        };
        match name.trim() {
            SESSION_COOKIE => session_id = Some(v.trim().to_owned()),
            VERIFICATION_COOKIE => verification = Some(v.trim().to_owned()),
            _ => {}
        }
    }
    Some((session_id?, verification?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(key: &str, runas: Option<&str>, pwd: Option<&str>) -> Option<PsAuthHeader> {
        Some(PsAuthHeader {
            key: key.into(),
            runas: runas.map(Into::into),
            pwd: pwd.map(Into::into),
        })
    }

    #[test]
    fn ps_auth_headers_parse_in_every_spelling_clients_use() {
        assert_eq!(
            parse_ps_auth("PS-Auth key=K; runas=CORP\\svc; pwd=[hunter2];"),
            parsed("K", Some("CORP\\svc"), Some("hunter2"))
        );
        assert_eq!(
            parse_ps_auth("PS-Auth key=K;runas=u;"),
            parsed("K", Some("u"), None)
        );
        assert_eq!(parse_ps_auth("PS-Auth key=K"), parsed("K", None, None));
        assert_eq!(
            parse_ps_auth("ps-auth  key = K ;  runas = u ; pwd = [a;b]] ; "),
            parsed("K", Some("u"), Some("a;b]"))
        );
        assert_eq!(
            parse_ps_auth("PS-Auth runas=u; pwd=[]; key=K"),
            parsed("K", Some("u"), Some(""))
        );
        assert_eq!(
            parse_ps_auth("PS-Auth key=K; pwd=p"),
            parsed("K", None, Some("p"))
        );
        assert_eq!(parse_ps_auth("PS-Auth runas=u;"), None);
        assert_eq!(parse_ps_auth("Bearer key=K"), None);
        assert_eq!(parse_ps_auth("PS-Auth"), None);
    }
}
