//! The PRA Configuration API client: OAuth2 client credentials, `Link` pagination with
//! `per_page=100`, completeness checks against `X-BT-Pagination-Total`, and the mapping of
//! vendor JSON into the estate (`reference/pra-config-api.md` §1–§2).

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures_util::future::join_all;
use reqwest::{Method, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::http::{site_url, ApiResponse, Transport, TransportError};
use super::{ConfigError, PraSite, Secret};
use crate::estate::{Completeness, JumpItemType, Pra, SourceStatus};

/// The API path under the site root.
pub const API_BASE: &str = "/api/config/v1";
/// Page size: the API's maximum.
pub const PER_PAGE: u32 = 100;

/// Why a collection could not be read, in words an administrator can act on.
#[derive(Debug, thiserror::Error)]
pub enum PraError {
    /// The token endpoint refused the client credentials.
    #[error("PRA refused the API account credentials ({0}): check JUMPGUARD_PRA_CLIENT_ID and JUMPGUARD_PRA_CLIENT_SECRET (/login > Management > API Configuration)")]
    BadCredentials(String),
    /// The API account lacks a permission.
    #[error("{what}: 403 Forbidden: the API account lacks a permission; enable {permission} for it in /login > Management > API Configuration")]
    Forbidden {
        /// The request.
        what: String,
        /// The permission to enable.
        permission: &'static str,
    },
    /// The endpoint does not exist on this appliance.
    #[error("{what}: 404 Not Found: this appliance does not offer {path}; it may predate Configuration API 1.10 (PRA 25.2)")]
    MissingEndpoint {
        /// The request.
        what: String,
        /// The API path.
        path: String,
    },
    /// Fewer rows arrived than the appliance announced.
    #[error("{what}: received {got} of the {total} rows announced by X-BT-Pagination-Total")]
    Incomplete {
        /// The list.
        what: String,
        /// Rows received.
        got: usize,
        /// Rows announced.
        total: usize,
    },
    /// The answer could not be understood.
    #[error("{what}: unexpected answer: {detail}")]
    Unexpected {
        /// The request.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The site settings are unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// A signed-in PRA API account: one cached token, renewed once on a 401. `fetch` reads through
/// it; `plan::apply` writes through it.
pub(crate) struct PraSession<'a> {
    transport: &'a Transport,
    root: Url,
    client_id: String,
    client_secret: Secret,
    token: tokio::sync::Mutex<Option<Secret>>,
    token_requests: Mutex<u32>,
}

/// Reads everything the estate needs from a PRA site. Never fails: a failure leaves the source
/// partial (some collections read) or unavailable (none), with the reasons.
pub async fn fetch(transport: &Transport, site: &PraSite) -> (Pra, SourceStatus) {
    transport.status("PRA: signing in");
    let client = match PraSession::open(transport, site).await {
        Ok(client) => client,
        Err(e) => {
            return (
                Pra::default(),
                SourceStatus {
                    status: Completeness::Unavailable,
                    reason: Some(e.to_string()),
                },
            )
        }
    };
    client.read().await
}

/// Reads everything the estate needs through a signed-in session; what cannot be read leaves
/// the source partial, with the reasons.
async fn read_all(client: &PraSession<'_>) -> (Pra, SourceStatus) {
    let transport = client.transport;
    let mut errors: Vec<String> = Vec::new();
    let mut pra = Pra::default();
    transport.status("PRA: reading collections");

    // Top-level lists, concurrently (the transport bounds concurrency and paces).
    let types = JumpItemType::ALL;
    let item_lists = join_all(
        types
            .iter()
            .map(|t| client.list_all(format!("/jump-item/{}", t.segment()))),
    )
    .await;
    for (t, result) in types.iter().zip(item_lists) {
        match result.and_then(|rows| parse_rows(&format!("jump-item/{}", t.segment()), rows)) {
            Ok(rows) => {
                pra.jump_item.insert(*t, rows);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let (
        clients,
        groups,
        policies,
        gps,
        roles,
        jumpoints,
        users,
        teams,
        session,
        vault,
        vault_groups,
    ) = tokio::join!(
        client.list_typed("/jump-client"),
        client.list_typed("/jump-group"),
        client.list_typed("/jump-policy"),
        client.list_typed("/group-policy"),
        client.list_typed("/jump-item-role"),
        client.list_typed("/jumpoint"),
        client.list_typed("/user"),
        client.list_typed("/team"),
        client.list_typed("/session-policy"),
        client.list_typed("/vault/account"),
        client.list_typed("/vault/account-group"),
    );
    pra.jump_client = take(clients, &mut errors);
    pra.jump_group = take(groups, &mut errors);
    pra.jump_policy = take(policies, &mut errors);
    pra.group_policy = take(gps, &mut errors);
    pra.jump_item_role = take(roles, &mut errors);
    pra.jumpoint = take(jumpoints, &mut errors);
    pra.user = take(users, &mut errors);
    pra.team = take(teams, &mut errors);
    pra.session_policy = take(session, &mut errors);
    pra.vault_account = take(vault, &mut errors);
    pra.vault_account_group = take(vault_groups, &mut errors);

    // Sub-collections: one list per parent.
    transport.status("PRA: reading memberships");
    let group_ids: Vec<i64> = pra.jump_group.iter().map(|g| g.id).collect();
    let members = join_all(
        group_ids
            .iter()
            .map(|id| client.list_all(format!("/jump-group/{id}/user"))),
    )
    .await;
    for (id, result) in group_ids.iter().zip(members) {
        match result.and_then(|rows| with_parent(rows, "jump_group_id", *id, "jump-group user")) {
            Ok(rows) => pra.jump_group_user.extend(rows),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let gp_ids: Vec<i64> = pra.group_policy.iter().map(|g| g.id).collect();
    let gp_groups = join_all(
        gp_ids
            .iter()
            .map(|id| client.get_json(format!("/group-policy/{id}/jump-group"))),
    )
    .await;
    for (id, result) in gp_ids.iter().zip(gp_groups) {
        // Not paginated: a plain array (`reference/pra-config-api.md` §2.4).
        let rows = result.and_then(|v| match v {
            Value::Array(rows) => Ok(rows),
            other => Err(PraError::Unexpected {
                what: format!("GET /group-policy/{id}/jump-group"),
                detail: format!("expected a list, got {}", kind(&other)),
            }),
        });
        match rows
            .and_then(|rows| with_parent(rows, "group_policy_id", *id, "group-policy jump group"))
        {
            Ok(rows) => pra.group_policy_jump_group.extend(rows),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let policy_ids: Vec<i64> = pra.jump_policy.iter().map(|p| p.id).collect();
    let schedules = join_all(
        policy_ids
            .iter()
            .map(|id| client.get_json(format!("/jump-policy/{id}/schedule"))),
    )
    .await;
    for (id, result) in policy_ids.iter().zip(schedules) {
        match result.and_then(|v| {
            serde_json::from_value(v).map_err(|e| PraError::Unexpected {
                what: format!("GET /jump-policy/{id}/schedule"),
                detail: e.to_string(),
            })
        }) {
            Ok(s) => {
                pra.jump_policy_schedule.insert(id.to_string(), s);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let status = if errors.is_empty() {
        SourceStatus::complete()
    } else {
        let more = if errors.len() > 3 {
            format!(" (and {} more)", errors.len() - 3)
        } else {
            String::new()
        };
        SourceStatus {
            status: Completeness::Partial,
            reason: Some(format!(
                "{}{more}",
                errors[..errors.len().min(3)].join("; ")
            )),
        }
    };
    (pra, status)
}

impl<'a> PraSession<'a> {
    /// Checks the site URL and requests the run's token.
    pub(crate) async fn open(
        transport: &'a Transport,
        site: &PraSite,
    ) -> Result<PraSession<'a>, PraError> {
        let root = site_url(&site.url, "--pra-url")?;
        let session = PraSession {
            transport,
            root,
            client_id: site.client_id.clone(),
            client_secret: site.client_secret.clone(),
            token: tokio::sync::Mutex::new(None),
            token_requests: Mutex::new(0),
        };
        session.token(None).await?;
        Ok(session)
    }

    /// Reads the whole site, as [`fetch`] does, through this session.
    pub(crate) async fn read(&self) -> (Pra, SourceStatus) {
        read_all(self).await
    }

    /// `GET {path}` (path and query under `/api/config/v1`), answer as it is.
    pub(crate) async fn get(&self, path: &str) -> Result<ApiResponse, PraError> {
        self.call(Method::GET, path, None).await
    }

    /// `POST {path}` with a JSON body. Never repeated after a 5xx or a broken connection: the
    /// appliance may have acted on it (a create would create twice).
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<ApiResponse, PraError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `PATCH {path}` with a JSON body.
    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Result<ApiResponse, PraError> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// `DELETE {path}`.
    pub(crate) async fn delete(&self, path: &str) -> Result<ApiResponse, PraError> {
        self.call(Method::DELETE, path, None).await
    }

    /// One request with the bearer token, paced; a 401 gets one new token and one replay (a
    /// second 401 is returned: the API also answers 401 to unrecognized fields). The status
    /// is the caller's to judge.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<ApiResponse, PraError> {
        let url = self.url(path)?;
        let what = format!("{method} {}", url.path());
        let repeatable = method != Method::POST;
        let mut token = self.token(None).await?;
        let mut attempt = 0;
        loop {
            let build = || {
                let mut r = self
                    .transport
                    .request(method.clone(), url.clone())
                    .bearer_auth(token.expose())
                    .header("Accept", "application/json");
                if let Some(b) = body {
                    r = r.json(b);
                }
                r
            };
            let response = if repeatable {
                self.transport.send(&what, build).await?
            } else {
                self.transport.send_once(&what, build, true).await?
            };
            if response.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                attempt += 1;
                token = self.token(Some(&token)).await?;
                continue;
            }
            return Ok(ApiResponse::read(response).await);
        }
    }

    fn url(&self, path_and_query: &str) -> Result<Url, PraError> {
        self.root
            .join(&format!("{API_BASE}{path_and_query}"))
            .map_err(|e| PraError::Unexpected {
                what: path_and_query.to_string(),
                detail: e.to_string(),
            })
    }

    /// The cached token, or a new one. `stale` is a token that was just refused: only then is a
    /// new one requested (once per refusal; accounts hold at most 30 tokens).
    async fn token(&self, stale: Option<&Secret>) -> Result<Secret, PraError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref() {
            if stale != Some(t) {
                return Ok(t.clone());
            }
        }
        let url = self
            .root
            .join("/oauth2/token")
            .map_err(|e| PraError::Unexpected {
                what: "token".into(),
                detail: e.to_string(),
            })?;
        *self
            .token_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner()) += 1;
        let response = self
            .transport
            .send("POST /oauth2/token", || {
                self.transport
                    .request(Method::POST, url.clone())
                    .basic_auth(&self.client_id, Some(self.client_secret.expose()))
                    .header("Accept", "application/json")
                    .form(&[("grant_type", "client_credentials")])
            })
            .await?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED
            || status == StatusCode::BAD_REQUEST
            || status == StatusCode::FORBIDDEN
        {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let code = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("refused");
            return Err(PraError::BadCredentials(format!(
                "{} {code}",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(unexpected_status("POST /oauth2/token", response).await);
        }
        let body: Value = response.json().await.map_err(|e| PraError::Unexpected {
            what: "POST /oauth2/token".into(),
            detail: e.to_string(),
        })?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| PraError::Unexpected {
                what: "POST /oauth2/token".into(),
                detail: "no access_token in the answer".into(),
            })?;
        let token = Secret::new(token);
        *slot = Some(token.clone());
        Ok(token)
    }

    /// GET with the bearer token; a 401 gets one new token and one replay.
    async fn get_checked(&self, url: Url) -> Result<Response, PraError> {
        let what = format!("GET {}", url.path());
        let mut token = self.token(None).await?;
        for attempt in 0..2 {
            let response = self
                .transport
                .send(&what, || {
                    self.transport
                        .request(Method::GET, url.clone())
                        .bearer_auth(token.expose())
                        .header("Accept", "application/json")
                })
                .await?;
            match response.status() {
                StatusCode::UNAUTHORIZED if attempt == 0 => {
                    token = self.token(Some(&token)).await?;
                }
                StatusCode::FORBIDDEN => {
                    let permission = if url.path().contains("/vault/") {
                        "\"Allow Access\" to the Configuration API and \"Manage Vault Accounts\""
                    } else {
                        "\"Allow Access\" to the Configuration API"
                    };
                    return Err(PraError::Forbidden { what, permission });
                }
                StatusCode::NOT_FOUND => {
                    return Err(PraError::MissingEndpoint {
                        what,
                        path: url.path().trim_start_matches(API_BASE).to_string(),
                    })
                }
                s if s.is_success() => return Ok(response),
                _ => return Err(unexpected_status(&what, response).await),
            }
        }
        Err(PraError::BadCredentials("401 after a fresh token".into()))
    }

    /// One unpaginated JSON document.
    async fn get_json(&self, path: String) -> Result<Value, PraError> {
        let url = self.url(&path)?;
        let response = self.get_checked(url).await?;
        response.json().await.map_err(|e| PraError::Unexpected {
            what: format!("GET {path}"),
            detail: e.to_string(),
        })
    }

    /// Every row of a paginated list: `per_page=100`, following `Link: rel="next"` (fallback:
    /// `X-BT-Pagination-Last-Page`), checked against `X-BT-Pagination-Total`.
    async fn list_all(&self, path: String) -> Result<Vec<Value>, PraError> {
        let what = format!("GET {path}");
        let mut url = self.url(&format!("{path}?per_page={PER_PAGE}&current_page=1"))?;
        let mut rows = Vec::new();
        let mut announced: Option<usize> = None;
        let mut page = 1u32;
        loop {
            let response = self.get_checked(url.clone()).await?;
            let headers = response.headers().clone();
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            if let Some(total) = header("X-BT-Pagination-Total").and_then(|t| t.trim().parse().ok())
            {
                announced = Some(total);
            }
            let body: Value = response.json().await.map_err(|e| PraError::Unexpected {
                what: what.clone(),
                detail: e.to_string(),
            })?;
            match body {
                Value::Array(page_rows) => rows.extend(page_rows),
                other => {
                    return Err(PraError::Unexpected {
                        what,
                        detail: format!("expected a list, got {}", kind(&other)),
                    })
                }
            }
            let next = header("Link").and_then(|l| link_next(&l));
            match next {
                Some(n) => {
                    url = self.root.join(&n).map_err(|e| PraError::Unexpected {
                        what: what.clone(),
                        detail: format!("bad Link URL {n}: {e}"),
                    })?;
                }
                None => {
                    let last: Option<u32> =
                        header("X-BT-Pagination-Last-Page").and_then(|l| l.trim().parse().ok());
                    if header("Link").is_none() && last.is_some_and(|l| page < l) {
                        page += 1;
                        url =
                            self.url(&format!("{path}?per_page={PER_PAGE}&current_page={page}"))?;
                        continue;
                    }
                    break;
                }
            }
            page += 1;
            if page > 100_000 {
                return Err(PraError::Unexpected {
                    what,
                    detail: "more than 100000 pages: the Link header loops".into(),
                });
            }
        }
        if let Some(total) = announced {
            if rows.len() != total {
                return Err(PraError::Incomplete {
                    what,
                    got: rows.len(),
                    total,
                });
            }
        }
        Ok(rows)
    }

    async fn list_typed<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, PraError> {
        let rows = self.list_all(path.to_string()).await?;
        parse_rows(path.trim_start_matches('/'), rows)
    }
}

/// The rows of a list, or none with the reason recorded.
fn take<T>(result: Result<Vec<T>, PraError>, errors: &mut Vec<String>) -> Vec<T> {
    result.unwrap_or_else(|e| {
        errors.push(e.to_string());
        Vec::new()
    })
}

async fn unexpected_status(what: &str, response: Response) -> PraError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    PraError::Transport(TransportError::Status {
        what: what.to_string(),
        status,
        body,
    })
}

fn parse_rows<T: DeserializeOwned>(what: &str, rows: Vec<Value>) -> Result<Vec<T>, PraError> {
    rows.into_iter()
        .map(|r| {
            serde_json::from_value(r).map_err(|e| PraError::Unexpected {
                what: format!("GET /{what}"),
                detail: e.to_string(),
            })
        })
        .collect()
}

/// Sub-resource rows do not carry their parent's id; the estate records it.
fn with_parent<T: DeserializeOwned>(
    rows: Vec<Value>,
    field: &str,
    id: i64,
    what: &str,
) -> Result<Vec<T>, PraError> {
    let rows = rows
        .into_iter()
        .map(|mut r| {
            if let Value::Object(m) = &mut r {
                m.insert(field.to_string(), Value::from(id));
            }
            r
        })
        .collect();
    parse_rows(what, rows)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The `rel="next"` URL of an RFC 5988 `Link` header.
pub fn link_next(header: &str) -> Option<String> {
    let links: BTreeMap<String, String> = header
        .split(',')
        .filter_map(|part| {
            let (url, params) = part.split_once(';')?;
            let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
            let rel = params
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("rel="))
                .map(|r| r.trim_matches('"').to_string())
                .next()?;
            Some((rel, url.to_string()))
        })
        .collect();
    links.get("next").cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_next_link() {
        let h = r#"<https://s/api/config/v1/user?per_page=10&current_page=1>; rel="first", <https://s/api/config/v1/user?per_page=10&current_page=3>; rel="next", <https://s/api/config/v1/user?per_page=10&current_page=9>; rel="last""#;
        assert_eq!(
            link_next(h).as_deref(),
            Some("https://s/api/config/v1/user?per_page=10&current_page=3")
        );
        assert_eq!(
            link_next(
                r#"<https://s/x?current_page=1>; rel="first", <https://s/x?current_page=1>; rel="last""#
            ),
            None
        );
    }
}
