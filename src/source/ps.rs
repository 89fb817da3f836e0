//! The Password Safe public API v3 client: a cookie session opened with `Auth/SignAppin`
//! (PS-Auth API key or an OAuth bearer token), `limit`/`offset` paging that accepts both list
//! shapes, one sign-in retry on 401, and `Auth/Signout` at the end, also after errors
//! (`reference/password-safe-api.md` §2–§4, §8).

use std::collections::HashMap;

use futures_util::future::join_all;
use reqwest::{Method, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::http::{site_url, ApiResponse, Transport, TransportError};
use super::{ConfigError, PsAuth, PsSite, Secret};
use crate::estate::{self, Completeness, Ps, SourceStatus};

/// The API path under the site root.
pub const API_BASE: &str = "/BeyondTrust/api/public/v3/";
/// Page size. Always sent: `GET ManagedAccounts` silently stops at 1000 rows without it.
pub const PAGE: usize = 1000;

/// Why Password Safe could not be read, in words an administrator can act on.
#[derive(Debug, thiserror::Error)]
pub enum PsError {
    /// SignAppin refused the credentials.
    #[error("Password Safe refused the sign-in ({0})")]
    BadCredentials(String),
    /// The run-as user lacks a permission or role.
    #[error(
        "{what}: 403 Forbidden: the API user lacks a permission; it needs read access to {needs}"
    )]
    Forbidden {
        /// The request.
        what: String,
        /// What to grant.
        needs: &'static str,
    },
    /// The endpoint does not exist on this release.
    #[error("{what}: 404 Not Found{hint}")]
    NotFound {
        /// The request.
        what: String,
        /// What it means.
        hint: String,
    },
    /// Fewer rows arrived than announced.
    #[error("{what}: received {got} of the {total} rows announced by TotalCount")]
    Incomplete {
        /// The list.
        what: String,
        /// Rows received.
        got: usize,
        /// Rows announced.
        total: usize,
    },
    /// An answer that could not be understood.
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

/// A Password Safe cookie session, signed in again once on a 401. `fetch` reads through it;
/// `plan::apply` writes through it. Call [`PsSession::sign_out`] when done, also after errors.
pub(crate) struct PsSession<'a> {
    transport: &'a Transport,
    root: Url,
    site: &'a PsSite,
    /// The `Authorization` value SignAppin accepted, re-sent on every call because some API
    /// registrations validate it on each request (§2.1).
    authorization: tokio::sync::Mutex<Option<Secret>>,
    /// `ASP.NET_SessionId=…; __RequestVerificationToken=…`, as one header.
    cookie: tokio::sync::Mutex<Option<Secret>>,
}

/// Reads everything the estate needs from Password Safe. Never fails: a failure leaves the
/// source partial or unavailable, with the reasons.
pub async fn fetch(transport: &Transport, site: &PsSite) -> (Ps, SourceStatus) {
    transport.status("Password Safe: signing in");
    let session = match PsSession::open(transport, site).await {
        Ok(session) => session,
        Err(e) => return (Ps::default(), unavailable(e.to_string())),
    };
    let read = session.read().await;
    session.sign_out().await;
    read
}

impl PsSession<'_> {
    /// Reads the whole site, as [`fetch`] does, through this session (which stays open).
    pub(crate) async fn read(&self) -> (Ps, SourceStatus) {
        let mut errors = Vec::new();
        let ps = read_all(self, &mut errors).await;
        (ps, source_status(&errors))
    }
}

/// Complete when nothing failed, else partial with the first reasons.
fn source_status(errors: &[String]) -> SourceStatus {
    if errors.is_empty() {
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
    }
}

fn unavailable(reason: String) -> SourceStatus {
    SourceStatus {
        status: Completeness::Unavailable,
        reason: Some(reason),
    }
}

fn take<T>(result: Result<T, PsError>, errors: &mut Vec<String>) -> Option<T> {
    result.map_err(|e| errors.push(e.to_string())).ok()
}

async fn read_all(s: &PsSession<'_>, errors: &mut Vec<String>) -> Ps {
    let mut ps = Ps::default();
    s.transport.status("Password Safe: reading collections");
    let (systems, rules, groups, roles, policies, tickets, registrations) = tokio::join!(
        s.list::<estate::ManagedSystem>("ManagedSystems", true),
        s.list::<estate::SmartRule>("SmartRules", true),
        s.list::<estate::UserGroup>("UserGroups", false),
        s.list::<estate::Role>("Roles", false),
        s.list::<estate::AccessPolicy>("AccessPolicies", false),
        s.list::<estate::TicketSystem>("TicketSystems", false),
        s.list::<estate::ApiRegistration>("ApiRegistrations", false),
    );
    ps.managed_systems = take(systems, errors).unwrap_or_default();
    ps.smart_rules = take(rules, errors).unwrap_or_default();
    ps.user_groups = take(groups, errors).unwrap_or_default();
    ps.roles = take(roles, errors).unwrap_or_default();
    ps.access_policies = take(policies, errors).unwrap_or_default();
    ps.ticket_systems = take(tickets, errors).unwrap_or_default();
    ps.api_registrations = take(registrations, errors).unwrap_or_default();

    s.transport
        .status("Password Safe: reading accounts and smart rules");
    let system_ids: Vec<i64> = ps
        .managed_systems
        .iter()
        .map(|m| m.managed_system_id)
        .collect();
    let accounts = join_all(system_ids.iter().map(|id| {
        s.list::<estate::ManagedAccount>(format!("ManagedSystems/{id}/ManagedAccounts"), true)
    }))
    .await;
    for (id, result) in system_ids.iter().zip(accounts) {
        if let Some(rows) = take(result, errors) {
            // The admin view names its system; rows that do not are this system's.
            ps.managed_accounts.extend(rows.into_iter().map(|mut a| {
                if a.managed_system_id == 0 {
                    a.managed_system_id = *id;
                }
                a
            }));
        }
    }
    let rule_ids: Vec<i64> = ps.smart_rules.iter().map(|r| r.smart_rule_id).collect();
    let members = join_all(
        rule_ids
            .iter()
            .map(|id| s.list::<AccountRef>(format!("SmartRules/{id}/ManagedAccounts"), true)),
    )
    .await;
    for (rule, result) in ps.smart_rules.iter_mut().zip(members) {
        if let Some(rows) = take(result, errors) {
            rule.managed_account_ids = rows.into_iter().map(|r| r.id).collect();
        }
    }

    s.transport
        .status("Password Safe: reading user groups and roles");
    let group_ids: Vec<i64> = ps.user_groups.iter().map(|g| g.group_id).collect();
    let (users, visible) = tokio::join!(
        join_all(group_ids.iter().map(|id| {
            s.list::<estate::UserGroupUser>(format!("UserGroups/{id}/Users"), false)
        })),
        join_all(
            group_ids
                .iter()
                .map(|id| s.list::<RuleRef>(format!("UserGroups/{id}/SmartRules"), false))
        ),
    );
    for (id, result) in group_ids.iter().zip(users) {
        if let Some(rows) = take(result, errors) {
            ps.user_group_users.extend(rows.into_iter().map(|mut u| {
                u.group_id = *id;
                u
            }));
        }
    }
    let mut pairs = Vec::new();
    for (group, result) in group_ids.iter().zip(visible) {
        if let Some(rows) = take(result, errors) {
            pairs.extend(rows.into_iter().map(|r| (*group, r.id)));
        }
    }
    let role_lists = join_all(pairs.iter().map(|(g, r)| {
        s.list::<estate::Role>(format!("UserGroups/{g}/SmartRules/{r}/Roles"), false)
    }))
    .await;
    let policy_ids: Vec<i64> = ps
        .access_policies
        .iter()
        .map(|p| p.access_policy_id)
        .collect();
    let assignees = join_all(
        policy_ids
            .iter()
            .map(|id| s.list::<Assignee>(format!("AccessPolicies/{id}/Assignees"), true)),
    )
    .await;
    // (user group, smart rule) -> (access policy, group active, rule active), from Assignees:
    // the only read path that says which access policy a pair uses (§6.2).
    let mut policy_of: HashMap<(i64, i64), PairPolicy> = HashMap::new();
    for (policy, result) in policy_ids.iter().zip(assignees) {
        match result {
            Ok(rows) => {
                for a in rows {
                    policy_of.insert((a.user_group_id, a.smart_rule_id), (*policy, a.user_group_is_active, a.smart_rule_is_active));
                }
            }
            Err(PsError::NotFound { what, .. }) => errors.push(format!(
                "{what}: 404 Not Found: this Password Safe release does not offer AccessPolicies/{{id}}/Assignees (newer releases do), so which access policy each user group's smart rule uses cannot be read"
            )),
            Err(e) => errors.push(e.to_string()),
        }
    }
    for ((group, rule), result) in pairs.iter().zip(role_lists) {
        let Some(roles) = take(result, errors) else {
            continue;
        };
        if roles.is_empty() {
            continue;
        }
        let (policy, group_active, rule_active) = match policy_of.get(&(*group, *rule)) {
            Some((p, g, r)) => (Some(*p), *g, *r),
            None => (None, None, None),
        };
        ps.role_assignments.push(estate::RoleAssignment {
            user_group_id: *group,
            smart_rule_id: *rule,
            roles,
            access_policy_id: policy,
            user_group_is_active: group_active,
            smart_rule_is_active: rule_active,
        });
    }
    ps
}

/// The access policy of a (user group, smart rule) pair and the activity flags Assignees reports.
type PairPolicy = (i64, Option<bool>, Option<bool>);

/// A row that names a managed account, in either casing.
#[derive(serde::Deserialize)]
struct AccountRef {
    #[serde(
        rename = "ManagedAccountID",
        alias = "AccountId",
        alias = "AccountID",
        alias = "ManagedAccountId"
    )]
    id: i64,
}

/// A row that names a smart rule.
#[derive(serde::Deserialize)]
struct RuleRef {
    #[serde(rename = "SmartRuleID", alias = "SmartRuleId")]
    id: i64,
}

/// One row of `GET AccessPolicies/{id}/Assignees`.
#[derive(serde::Deserialize)]
struct Assignee {
    #[serde(rename = "UserGroupID")]
    user_group_id: i64,
    #[serde(rename = "SmartRuleID")]
    smart_rule_id: i64,
    #[serde(rename = "UserGroupIsActive", default)]
    user_group_is_active: Option<bool>,
    #[serde(rename = "SmartRuleIsActive", default)]
    smart_rule_is_active: Option<bool>,
}

impl<'a> PsSession<'a> {
    /// Checks the site URL and signs in.
    pub(crate) async fn open(
        transport: &'a Transport,
        site: &'a PsSite,
    ) -> Result<PsSession<'a>, PsError> {
        let root = site_url(&site.url, "--ps-url")?;
        let session = PsSession {
            transport,
            root,
            site,
            authorization: tokio::sync::Mutex::new(None),
            cookie: tokio::sync::Mutex::new(None),
        };
        session.sign_in().await?;
        Ok(session)
    }

    /// `GET {path}` (under `/BeyondTrust/api/public/v3/`), answer as it is.
    pub(crate) async fn get(&self, path: &str) -> Result<ApiResponse, PsError> {
        self.call(Method::GET, path, None).await
    }

    /// `POST {path}` with a JSON body; never repeated after a 5xx or a broken connection.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<ApiResponse, PsError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `PUT {path}` with a JSON body.
    pub(crate) async fn put(&self, path: &str, body: &Value) -> Result<ApiResponse, PsError> {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// `DELETE {path}`.
    pub(crate) async fn delete(&self, path: &str) -> Result<ApiResponse, PsError> {
        self.call(Method::DELETE, path, None).await
    }

    /// One request with the session; a 401 signs in again once and replays. The status is the
    /// caller's to judge.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<ApiResponse, PsError> {
        let url = self.url(path)?;
        let what = format!("{method} {}", url.path());
        let response = self.send(method, &url, &what, body).await?;
        Ok(ApiResponse::read(response).await)
    }

    /// One request with the session cookie (and the authorization header, when there is one);
    /// a 401 signs in again once and replays. The second answer is returned as it is.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        what: &str,
        body: Option<&Value>,
    ) -> Result<Response, PsError> {
        let mut renewed = false;
        loop {
            let cookie = self
                .cookie
                .lock()
                .await
                .clone()
                .unwrap_or_else(|| Secret::new(""));
            let authorization = self.authorization.lock().await.clone();
            let build = || {
                let mut r = self
                    .transport
                    .request(method.clone(), url.clone())
                    .header("Cookie", cookie.expose())
                    .header("Accept", "application/json");
                if let Some(a) = &authorization {
                    r = r.header("Authorization", a.expose());
                }
                match body {
                    Some(b) => r.json(b),
                    // Password Safe wants a body on every write, even an empty one.
                    None if method != Method::GET => r.body(""),
                    None => r,
                }
            };
            let response = if method == Method::POST {
                self.transport.send_once(what, build, false).await?
            } else {
                self.transport.send_unpaced(what, build).await?
            };
            if response.status() == StatusCode::UNAUTHORIZED && !renewed {
                self.renew(&cookie).await?;
                renewed = true;
                continue;
            }
            return Ok(response);
        }
    }

    fn url(&self, path_and_query: &str) -> Result<Url, PsError> {
        self.root
            .join(&format!("{API_BASE}{path_and_query}"))
            .map_err(|e| PsError::Unexpected {
                what: path_and_query.to_string(),
                detail: e.to_string(),
            })
    }

    /// The `Authorization` value of the configured credentials (an OAuth token is fetched).
    async fn credentials(&self) -> Result<Secret, PsError> {
        match &self.site.auth {
            PsAuth::ApiKey {
                key,
                runas,
                password,
            } => {
                let mut v = format!("PS-Auth key={}; runas={};", key.expose(), runas);
                if let Some(p) = password {
                    v.push_str(&format!(" pwd=[{}];", p.expose()));
                }
                Ok(Secret::new(v))
            }
            PsAuth::OAuth {
                client_id,
                client_secret,
            } => {
                let url = self.url("Auth/connect/token")?;
                let response = self
                    .transport
                    .send_unpaced("POST Auth/connect/token", || {
                        self.transport.request(Method::POST, url.clone()).form(&[
                            ("grant_type", "client_credentials"),
                            ("client_id", client_id.as_str()),
                            ("client_secret", client_secret.expose()),
                        ])
                    })
                    .await?;
                if !response.status().is_success() {
                    return Err(PsError::BadCredentials(format!(
                        "Auth/connect/token answered {}: check JUMPGUARD_PS_CLIENT_ID and JUMPGUARD_PS_CLIENT_SECRET",
                        response.status().as_u16()
                    )));
                }
                let body: Value = response.json().await.map_err(|e| PsError::Unexpected {
                    what: "POST Auth/connect/token".into(),
                    detail: e.to_string(),
                })?;
                let token = body
                    .get("access_token")
                    .and_then(Value::as_str)
                    .ok_or_else(|| PsError::Unexpected {
                        what: "POST Auth/connect/token".into(),
                        detail: "no access_token in the answer".into(),
                    })?;
                Ok(Secret::new(format!("Bearer {token}")))
            }
        }
    }

    /// Opens the session.
    async fn sign_in(&self) -> Result<(), PsError> {
        let mut cookie = self.cookie.lock().await;
        let (new_cookie, authorization) = self.open_session().await?;
        *cookie = Some(new_cookie);
        *self.authorization.lock().await = Some(authorization);
        Ok(())
    }

    /// Signs in again after a 401, unless a concurrent request already did: requests that
    /// met the same expired session share one new session.
    async fn renew(&self, stale: &Secret) -> Result<(), PsError> {
        let mut cookie = self.cookie.lock().await;
        if cookie.as_ref() != Some(stale) {
            return Ok(());
        }
        let (new_cookie, authorization) = self.open_session().await?;
        *cookie = Some(new_cookie);
        *self.authorization.lock().await = Some(authorization);
        Ok(())
    }

    /// `POST Auth/SignAppin`: the session cookies (as one `Cookie` value) and the
    /// `Authorization` value that opened them.
    async fn open_session(&self) -> Result<(Secret, Secret), PsError> {
        let authorization = self.credentials().await?;
        let url = self.url("Auth/SignAppin")?;
        let response = self
            .transport
            .send_unpaced("POST Auth/SignAppin", || {
                self.transport
                    .request(Method::POST, url.clone())
                    .header("Authorization", authorization.expose())
                    .header("Content-Type", "application/json")
                    .body("")
            })
            .await?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let hint = match &self.site.auth {
                PsAuth::ApiKey { password, .. } => {
                    let pwd = if password.is_none() {
                        "; a registration with \"User Password Required\" also needs JUMPGUARD_PS_PASSWORD"
                    } else {
                        ""
                    };
                    format!("{} on Auth/SignAppin: check JUMPGUARD_PS_API_KEY and that JUMPGUARD_PS_RUNAS names a user allowed to use that API registration{pwd}", status.as_u16())
                }
                PsAuth::OAuth { .. } => format!("{} on Auth/SignAppin: the application user of JUMPGUARD_PS_CLIENT_ID may not sign in", status.as_u16()),
            };
            return Err(PsError::BadCredentials(hint));
        }
        if !status.is_success() {
            return Err(unexpected("POST Auth/SignAppin", response).await);
        }
        let cookies: Vec<String> = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next().map(|p| p.trim().to_string()))
            .filter(|p| p.contains('='))
            .collect();
        if cookies.is_empty() {
            return Err(PsError::Unexpected {
                what: "POST Auth/SignAppin".into(),
                detail: "no session cookie in the answer".into(),
            });
        }
        Ok((Secret::new(cookies.join("; ")), authorization))
    }

    /// `POST Auth/Signout`; failures do not matter any more.
    pub(crate) async fn sign_out(&self) {
        let Ok(url) = self.url("Auth/Signout") else {
            return;
        };
        let Some(cookie) = self.cookie.lock().await.clone() else {
            return;
        };
        let _ = self
            .transport
            .send_unpaced("POST Auth/Signout", || {
                self.transport
                    .request(Method::POST, url.clone())
                    .header("Cookie", cookie.expose())
                    .body("")
            })
            .await;
    }

    /// GET with the session; a 401 signs in again once and replays.
    async fn get_checked(&self, path_and_query: &str) -> Result<Response, PsError> {
        let url = self.url(path_and_query)?;
        let what = format!("GET {}", url.path());
        let response = self.send(Method::GET, &url, &what, None).await?;
        match response.status() {
            StatusCode::FORBIDDEN => Err(PsError::Forbidden {
                what,
                needs: needs_for(url.path()),
            }),
            StatusCode::NOT_FOUND => Err(PsError::NotFound {
                what,
                hint: String::new(),
            }),
            s if s.is_success() => Ok(response),
            _ => Err(unexpected(&what, response).await),
        }
    }

    /// Every row of a list. Paged lists send `limit`/`offset` and stop at a short page or at
    /// `TotalCount`; both shapes (a bare array, `{TotalCount, Data}`) and a single object are
    /// accepted.
    async fn list<T: DeserializeOwned>(
        &self,
        path: impl Into<String>,
        paged: bool,
    ) -> Result<Vec<T>, PsError> {
        let path = path.into();
        let what = format!("GET {path}");
        let mut rows: Vec<Value> = Vec::new();
        let mut announced = None;
        let mut offset = 0usize;
        loop {
            let query = if paged {
                format!("{path}?limit={PAGE}&offset={offset}")
            } else {
                path.clone()
            };
            let response = self.get_checked(&query).await?;
            let body: Value = response.json().await.map_err(|e| PsError::Unexpected {
                what: what.clone(),
                detail: e.to_string(),
            })?;
            let page: Vec<Value> = match body {
                Value::Array(items) => items,
                Value::Object(mut map) if map.contains_key("Data") => {
                    if let Some(total) = map.get("TotalCount").and_then(Value::as_u64) {
                        announced = Some(total as usize);
                    }
                    match map.remove("Data") {
                        Some(Value::Array(items)) => items,
                        Some(Value::Null) | None => Vec::new(),
                        Some(other) => vec![other],
                    }
                }
                Value::Object(map) => vec![Value::Object(map)],
                Value::Null => Vec::new(),
                other => {
                    return Err(PsError::Unexpected {
                        what,
                        detail: format!("expected a list, got {other}"),
                    })
                }
            };
            let n = page.len();
            rows.extend(page);
            offset += n;
            let more = paged && n == PAGE && announced.is_none_or(|t| offset < t);
            if !more {
                break;
            }
        }
        if let Some(total) = announced {
            if rows.len() != total {
                return Err(PsError::Incomplete {
                    what,
                    got: rows.len(),
                    total,
                });
            }
        }
        rows.into_iter()
            .map(|r| {
                serde_json::from_value(r).map_err(|e| PsError::Unexpected {
                    what: what.clone(),
                    detail: e.to_string(),
                })
            })
            .collect()
    }
}

fn needs_for(path: &str) -> &'static str {
    let p = path.to_lowercase();
    if p.contains("accesspolicies") || p.contains("/roles") {
        "Password Safe Role Management"
    } else if p.contains("usergroups") {
        "User Accounts Management"
    } else if p.contains("ticketsystems") {
        "Ticket System"
    } else if p.contains("apiregistrations") {
        "API Registration Management"
    } else {
        "Password Safe Account Management (and the managed systems' smart rules)"
    }
}

async fn unexpected(what: &str, response: Response) -> PsError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    PsError::Transport(TransportError::Status {
        what: what.to_string(),
        status,
        body,
    })
}
