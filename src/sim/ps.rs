//! The Password Safe public API v3 (`/BeyondTrust/api/public/v3`,
//! `reference/password-safe-api.md` §1–§6, §10): sign-in and cookie sessions, the lists and
//! objects of the policy graph with their two response shapes, the role writes, and
//! `PUT ManagedAccounts/{id}`.
//!
//! As on the appliance (IIS/ASP.NET), paths, query parameter names and body property names
//! match without regard to case, unknown query parameters and body properties are ignored, and
//! every error body is a JSON string. No rate limit is documented, so none is applied.
//!
//! Choices where the reference is silent (each marked "inferred" where it is made): route and
//! method errors (404, 405) come before authentication (401), as ASP.NET resolves the action
//! before its authorization filter; a `limit` below 1 or a negative `offset` is a 400;
//! `GET AccessPolicies/{id}/Assignees` defaults to 25 rows (the docs say 25 and 1000); `PUT
//! ManagedAccounts/{id}` merges the fields it is given.

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::faults::lock;
use super::http::{empty, json_response, ApiRequest};
use super::pra_model::Row;
use super::ps_auth::{self, not_authenticated, text, Identity};
use super::ps_store::{find, id, public, Store};
use super::Inner;

/// Where the API lives under the site root (§1).
pub(crate) const BASE: &str = "/BeyondTrust/api/public/v3";

/// `GET ManagedAccounts` returns at most this many rows unless asked for more: a client that
/// does not page silently misses the rest (§4, §11).
const MANAGED_ACCOUNTS_LIMIT: usize = 1000;
/// The default `limit` of the other paged lists (§4).
const LIST_LIMIT: usize = 100_000;
/// The default `limit` of `Assignees`; the docs give both 25 and 1000 (§4), and the smaller
/// one shows a client that forgets `limit` what it misses.
const ASSIGNEES_LIMIT: usize = 25;

/// The part of `path` at or below [`BASE`], whose case does not matter (§1).
pub(crate) fn under_base(path: &str) -> Option<&str> {
    let head = path.get(..BASE.len())?;
    let rest = &path[BASE.len()..];
    (head.eq_ignore_ascii_case(BASE) && (rest.is_empty() || rest.starts_with('/'))).then_some(rest)
}

/// The simulated resources, by lowercased path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    ManagedSystems,
    ManagedSystem(i64),
    SystemAccounts(i64),
    ManagedAccounts,
    ManagedAccount(i64),
    SmartRules,
    SmartRule(i64),
    SmartRuleAccounts(i64),
    UserGroups,
    UserGroup(i64),
    GroupUsers(i64),
    GroupSmartRules(i64),
    GroupRoles(i64, i64),
    Roles,
    AccessPolicies,
    Assignees(i64),
    TicketSystems,
    ApiRegistrations,
    ApiRegistration(i64),
}

fn route(segments: &[&str]) -> Option<Route> {
    let id = |s: &str| s.parse::<i64>().ok().filter(|i| *i > 0);
    Some(match segments {
        ["managedsystems"] => Route::ManagedSystems,
        ["managedsystems", s] => Route::ManagedSystem(id(s)?),
        ["managedsystems", s, "managedaccounts"] => Route::SystemAccounts(id(s)?),
        ["managedaccounts"] => Route::ManagedAccounts,
        ["managedaccounts", a] => Route::ManagedAccount(id(a)?),
        ["smartrules"] => Route::SmartRules,
        ["smartrules", r] => Route::SmartRule(id(r)?),
        ["smartrules", r, "managedaccounts"] => Route::SmartRuleAccounts(id(r)?),
        ["usergroups"] => Route::UserGroups,
        ["usergroups", g] => Route::UserGroup(id(g)?),
        ["usergroups", g, "users"] => Route::GroupUsers(id(g)?),
        ["usergroups", g, "smartrules"] => Route::GroupSmartRules(id(g)?),
        ["usergroups", g, "smartrules", r, "roles"] => Route::GroupRoles(id(g)?, id(r)?),
        ["roles"] => Route::Roles,
        ["accesspolicies"] => Route::AccessPolicies,
        ["accesspolicies", p, "assignees"] => Route::Assignees(id(p)?),
        ["ticketsystems"] => Route::TicketSystems,
        ["apiregistrations"] => Route::ApiRegistrations,
        ["apiregistrations", r] => Route::ApiRegistration(id(r)?),
        _ => return None,
    })
}

impl Route {
    fn allowed(self) -> Vec<Method> {
        match self {
            Route::ManagedAccount(_) => vec![Method::GET, Method::PUT],
            Route::GroupRoles(..) => vec![Method::GET, Method::POST, Method::DELETE],
            _ => vec![Method::GET],
        }
    }
}

/// Answers one request under [`BASE`]; `rest` is the path after it.
pub(crate) fn handle(inner: &Inner, headers: &HeaderMap, req: &ApiRequest, rest: &str) -> Response {
    let Some(store) = &inner.ps else {
        return text(
            StatusCode::NOT_FOUND,
            "No Password Safe site is configured at this address.",
        );
    };
    let lower = rest.to_ascii_lowercase();
    let segments: Vec<&str> = lower.split('/').filter(|s| !s.is_empty()).collect();
    let post_only = |answer: &dyn Fn() -> Response| {
        if req.method == Method::POST {
            answer()
        } else {
            method_not_allowed(&req.method, &[Method::POST])
        }
    };
    match segments.as_slice() {
        ["auth", "connect", "token"] => {
            return post_only(&|| ps_auth::token_endpoint(inner, headers, &req.body))
        }
        ["auth", "signappin"] => {
            return post_only(&|| {
                ps_auth::sign_appin(inner, headers, |name| lock(store).user_id(name))
            })
        }
        ["auth", "signout"] => return post_only(&|| ps_auth::sign_out(inner, headers)),
        // Access policies and ticket systems are configured in the console only (§8.2, §10.6).
        // `POST AccessPolicies/Test` evaluates rather than writes; it is not simulated.
        [first, ..]
            if matches!(*first, "accesspolicies" | "ticketsystems")
                && req.method != Method::GET
                && segments != ["accesspolicies", "test"] =>
        {
            return method_not_allowed(&req.method, &[Method::GET]);
        }
        _ => {}
    }
    // An older release has no Assignees endpoint (§5.1).
    let route =
        route(&segments).filter(|r| inner.config.ps_assignees || !matches!(r, Route::Assignees(_)));
    let Some(route) = route else {
        return text(
            StatusCode::NOT_FOUND,
            &format!(
                "No HTTP resource was found that matches the request URI '{}'.",
                req.path
            ),
        );
    };
    let allowed = route.allowed();
    if !allowed.contains(&req.method) {
        return method_not_allowed(&req.method, &allowed);
    }
    let Some(identity) = ps_auth::session(inner, headers) else {
        return not_authenticated();
    };
    let api = Api {
        inner,
        req,
        identity,
    };
    let mut store = lock(store);
    let outcome = match route {
        Route::ManagedSystems => api.managed_systems(&store),
        Route::ManagedSystem(s) => one(
            &store.managed_systems,
            "ManagedSystemID",
            s,
            "Managed System",
        ),
        Route::SystemAccounts(s) => api.system_accounts(&store, s),
        Route::ManagedAccounts => api.requestable(&store),
        Route::ManagedAccount(a) if req.method == Method::PUT => api.put_account(&mut store, a),
        Route::ManagedAccount(a) => one(
            &store.managed_accounts,
            "ManagedAccountID",
            a,
            "Managed Account",
        ),
        Route::SmartRules => api.paged(store.smart_rules.iter().map(public).collect(), LIST_LIMIT),
        Route::SmartRule(r) => one(&store.smart_rules, "SmartRuleID", r, "Smart Rule"),
        Route::SmartRuleAccounts(r) => api.smart_rule_accounts(&store, r),
        Route::UserGroups => api.user_groups(&store),
        Route::UserGroup(g) => one(&store.user_groups, "GroupID", g, "User Group"),
        Route::GroupUsers(g) => group_users(&store, g),
        Route::GroupSmartRules(g) => exists(&store.user_groups, "GroupID", g, "User Group")
            .map(|()| array(store.group_smart_rules(g))),
        Route::GroupRoles(g, r) => api.group_roles(&mut store, g, r),
        Route::Roles => Ok(rows(&store.roles)),
        Route::AccessPolicies => Ok(rows(&store.access_policies)),
        Route::Assignees(p) => api.assignees(&store, p),
        Route::TicketSystems => Ok(rows(&store.ticket_systems)),
        Route::ApiRegistrations => Ok(rows(&store.api_registrations)),
        Route::ApiRegistration(r) => one(&store.api_registrations, "Id", r, "API Registration"),
    };
    outcome.unwrap_or_else(|response| *response)
}

/// A handler step: its value, or the response that ends the request (boxed: responses are
/// large).
type Outcome<T> = Result<T, Box<Response>>;

fn bad_request(message: &str) -> Box<Response> {
    Box::new(text(StatusCode::BAD_REQUEST, message))
}

fn not_found(what: &str) -> Box<Response> {
    Box::new(text(StatusCode::NOT_FOUND, &format!("{what} not found")))
}

/// 405 with `Allow`, in ASP.NET Web API's words.
fn method_not_allowed(method: &Method, allowed: &[Method]) -> Response {
    let mut response = text(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("The requested resource does not support http method '{method}'."),
    );
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(v) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, v);
    }
    response
}

fn array(rows: Vec<Value>) -> Response {
    json_response(StatusCode::OK, &Value::Array(rows))
}

fn rows(rows: &[Row]) -> Response {
    array(rows.iter().map(public).collect())
}

fn exists(rows: &[Row], field: &str, value: i64, what: &str) -> Outcome<()> {
    find(rows, field, value)
        .map(|_| ())
        .ok_or_else(|| not_found(what))
}

fn one(rows: &[Row], field: &str, value: i64, what: &str) -> Outcome<Response> {
    let row = find(rows, field, value).ok_or_else(|| not_found(what))?;
    Ok(json_response(StatusCode::OK, &public(row)))
}

/// `GET UserGroups/{id}/Users`: the group's `user_group_users` rows without their `GroupID`.
fn group_users(store: &Store, group: i64) -> Outcome<Response> {
    exists(&store.user_groups, "GroupID", group, "User Group")?;
    Ok(array(
        store
            .user_group_users
            .iter()
            .filter(|r| id(r, "GroupID") == Some(group))
            .map(|r| {
                let mut user = r.clone();
                user.remove("GroupID");
                public(&user)
            })
            .collect(),
    ))
}

/// A value of the JSON object `map` by property name, whatever its case (JSON.NET binding).
fn property<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// An integer as JSON.NET binds one: a number, or a string of digits.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `limit` and `offset` of a paged list.
struct Paging {
    offset: usize,
    limit: usize,
    /// Whether the request named either, which turns a bare array into `{TotalCount, Data}`.
    requested: bool,
}

impl Paging {
    fn page(&self, rows: Vec<Value>) -> Vec<Value> {
        rows.into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect()
    }
}

struct Api<'a> {
    inner: &'a Inner,
    req: &'a ApiRequest,
    identity: Identity,
}

impl Api<'_> {
    /// A query parameter by name, whatever its case; the first of duplicates, as ASP.NET binds
    /// a scalar.
    fn query(&self, name: &str) -> Option<&str> {
        self.req
            .query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn int_query(&self, name: &str, min: i64) -> Outcome<Option<i64>> {
        match self.query(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n >= min => Ok(Some(n)),
                _ => Err(bad_request(&format!(
                    "The value '{v}' is not valid for {name}."
                ))),
            },
        }
    }

    fn paging(&self, default_limit: usize) -> Outcome<Paging> {
        let limit = self.int_query("limit", 1)?;
        let offset = self.int_query("offset", 0)?;
        let size = |n: Option<i64>, default: usize| {
            n.map_or(default, |n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        Ok(Paging {
            requested: limit.is_some() || offset.is_some(),
            limit: size(limit, default_limit),
            offset: size(offset, 0),
        })
    }

    /// A paged list: a bare array without `limit`/`offset`, `{TotalCount, Data}` with them.
    fn paged(&self, rows: Vec<Value>, default_limit: usize) -> Outcome<Response> {
        let paging = self.paging(default_limit)?;
        if paging.requested {
            Ok(self.container(&paging, rows))
        } else {
            Ok(array(paging.page(rows)))
        }
    }

    /// `{TotalCount, Data}`; the `truncate_pages` fault drops the last row of a non-empty page
    /// while `TotalCount` still counts it.
    fn container(&self, paging: &Paging, rows: Vec<Value>) -> Response {
        let total = rows.len();
        let mut data = paging.page(rows);
        if self.inner.faults.truncating() {
            data.pop();
        }
        json_response(
            StatusCode::OK,
            &json!({ "TotalCount": total, "Data": data }),
        )
    }

    /// `GET ManagedSystems`, filtered by `type` (the entity type id) and `name` (the system
    /// name, exactly, ignoring case: inferred).
    fn managed_systems(&self, store: &Store) -> Outcome<Response> {
        let entity_type = self.int_query("type", i64::MIN)?;
        let name = self.query("name");
        let rows = store
            .managed_systems
            .iter()
            .filter(|s| entity_type.is_none_or(|t| id(s, "EntityTypeID") == Some(t)))
            .filter(|s| name.is_none_or(|n| same_text(s.get("SystemName"), n)))
            .map(public)
            .collect();
        self.paged(rows, LIST_LIMIT)
    }

    /// `GET ManagedSystems/{id}/ManagedAccounts`: the administrator's view, with `ApiEnabled`.
    fn system_accounts(&self, store: &Store, system: i64) -> Outcome<Response> {
        exists(
            &store.managed_systems,
            "ManagedSystemID",
            system,
            "Managed System",
        )?;
        let rows = store
            .managed_accounts
            .iter()
            .filter(|a| id(a, "ManagedSystemID") == Some(system))
            .map(public)
            .collect();
        self.paged(rows, LIST_LIMIT)
    }

    /// `GET SmartRules/{id}/ManagedAccounts`, in the administrator's view: the conformance
    /// suite reads `ManagedAccountID` from its rows.
    fn smart_rule_accounts(&self, store: &Store, rule: i64) -> Outcome<Response> {
        let rule =
            find(&store.smart_rules, "SmartRuleID", rule).ok_or_else(|| not_found("Smart Rule"))?;
        self.paged(store.smart_rule_accounts(rule), LIST_LIMIT)
    }

    /// `GET ManagedAccounts`: the caller's requestable accounts, always a bare array of at most
    /// `limit` (default 1000) rows; one object when `systemName` and `accountName` are both
    /// given (404 when nothing matches). Filters compare exactly, ignoring case; `type`,
    /// `workgroupName` and `applicationDisplayName` are not modelled and ignored.
    fn requestable(&self, store: &Store) -> Outcome<Response> {
        let paging = self.paging(MANAGED_ACCOUNTS_LIMIT)?;
        let system_id = self.int_query("systemID", i64::MIN)?;
        let system_name = self.query("systemName");
        let account_name = self.query("accountName");
        let address = self.query("ipAddress");
        let mut rows: Vec<Value> = store
            .requestable(&self.identity.user_name)
            .into_iter()
            .filter(|r| system_name.is_none_or(|n| same_text(r.get("SystemName"), n)))
            .filter(|r| account_name.is_none_or(|n| same_text(r.get("AccountName"), n)))
            .filter(|r| system_id.is_none_or(|s| r["SystemId"].as_i64() == Some(s)))
            .filter(|r| {
                address.is_none_or(|ip| {
                    let system = r["SystemId"]
                        .as_i64()
                        .and_then(|s| find(&store.managed_systems, "ManagedSystemID", s));
                    same_text(system.and_then(|s| s.get("IPAddress")), ip)
                })
            })
            .collect();
        if system_name.is_some() && account_name.is_some() {
            return if rows.is_empty() {
                Err(not_found("Managed Account"))
            } else {
                Ok(json_response(StatusCode::OK, &rows.swap_remove(0)))
            };
        }
        let mut page = paging.page(rows);
        // A full page says more may follow; the fault drops its last row.
        if self.inner.faults.truncating() && page.len() == paging.limit {
            page.pop();
        }
        Ok(array(page))
    }

    /// `PUT ManagedAccounts/{id}`: the administrator's fields given in the body replace the
    /// stored ones (inferred: the vendor's model may reset fields a body leaves out, so a
    /// client should send the whole account it read). Unknown properties are ignored, and the
    /// write-only `Password`, `PrivateKey` and `Passphrase` are never served. 200 with the
    /// account.
    fn put_account(&self, store: &mut Store, account: i64) -> Outcome<Response> {
        let index = store
            .managed_accounts
            .iter()
            .position(|a| id(a, "ManagedAccountID") == Some(account))
            .ok_or_else(|| not_found("Managed Account"))?;
        let body = self.body()?;
        let mut row = store.managed_accounts[index].clone();
        for (key, value) in &body {
            let Some((name, kind)) = ACCOUNT_FIELDS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(key))
            else {
                continue;
            };
            if !kind.accepts(value) {
                return Err(bad_request(&format!(
                    "The value {value} is not valid for {name}."
                )));
            }
            match *name {
                "ManagedAccountID" if value.as_i64() != Some(account) => {
                    return Err(bad_request("ManagedAccountID does not match the URL."));
                }
                "ManagedSystemID" => {
                    let system = value.as_i64().unwrap_or_default();
                    if find(&store.managed_systems, "ManagedSystemID", system).is_none() {
                        return Err(bad_request("Managed System not found"));
                    }
                }
                "AccountName" if value.as_str().is_none_or(|s| s.trim().is_empty()) => {
                    return Err(bad_request("AccountName is required."));
                }
                _ => {}
            }
            if !matches!(kind, Kind::WriteOnly) {
                row.insert((*name).to_owned(), value.clone());
            }
        }
        let served = public(&row);
        store.managed_accounts[index] = row;
        Ok(json_response(StatusCode::OK, &served))
    }

    /// `GET UserGroups`; with `name`, the one group of that name (ignoring case) or 404.
    fn user_groups(&self, store: &Store) -> Outcome<Response> {
        let Some(name) = self.query("name") else {
            return Ok(rows(&store.user_groups));
        };
        let group = store
            .user_groups
            .iter()
            .find(|g| same_text(g.get("Name"), name))
            .ok_or_else(|| not_found("User Group"))?;
        Ok(json_response(StatusCode::OK, &public(group)))
    }

    /// `GET`, `POST` and `DELETE UserGroups/{ug}/SmartRules/{sr}/Roles`.
    fn group_roles(&self, store: &mut Store, group: i64, rule: i64) -> Outcome<Response> {
        exists(&store.user_groups, "GroupID", group, "User Group")?;
        exists(&store.smart_rules, "SmartRuleID", rule, "Smart Rule")?;
        if self.req.method == Method::GET {
            return Ok(array(store.pair_roles(group, rule)));
        }
        if self.req.method == Method::DELETE {
            store.set_roles(group, rule, &[], None);
            return Ok(empty(StatusCode::OK));
        }
        let (roles, policy) = self.roles_body(store)?;
        store.set_roles(group, rule, &roles, policy);
        Ok(empty(StatusCode::NO_CONTENT))
    }

    /// The body of `POST .../Roles`: `{Roles: [{RoleID}], AccessPolicyID}`, checked (§5.1).
    fn roles_body(&self, store: &Store) -> Outcome<(Vec<i64>, Option<i64>)> {
        let body = self.body()?;
        let Some(Value::Array(list)) = property(&body, "Roles") else {
            return Err(bad_request("Roles is required."));
        };
        let mut roles = Vec::new();
        for item in list {
            let role = item
                .as_object()
                .and_then(|o| property(o, "RoleID"))
                .and_then(integer)
                .ok_or_else(|| bad_request("Every role needs a RoleID."))?;
            if store.role_name(role).is_none() {
                return Err(bad_request(&format!("Role {role} not found")));
            }
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        let policy = match property(&body, "AccessPolicyID") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let policy = integer(v).ok_or_else(|| {
                    bad_request(&format!("The value {v} is not valid for AccessPolicyID."))
                })?;
                if find(&store.access_policies, "AccessPolicyID", policy).is_none() {
                    return Err(bad_request("Access Policy not found"));
                }
                Some(policy)
            }
        };
        if policy.is_none() && roles.iter().any(|r| store.is_requesting(*r)) {
            return Err(bad_request(
                "AccessPolicyID is required when the Requestor or Requestor/Approver role is assigned.",
            ));
        }
        Ok((roles, policy))
    }

    /// `GET AccessPolicies/{id}/Assignees`: always `{TotalCount, Data}`.
    fn assignees(&self, store: &Store, policy: i64) -> Outcome<Response> {
        exists(
            &store.access_policies,
            "AccessPolicyID",
            policy,
            "Access Policy",
        )?;
        let paging = self.paging(ASSIGNEES_LIMIT)?;
        Ok(self.container(&paging, store.assignees(policy)))
    }

    /// The request body as a JSON object.
    fn body(&self) -> Outcome<Map<String, Value>> {
        match serde_json::from_slice::<Value>(&self.req.body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(bad_request("The request body must be a JSON object.")),
        }
    }
}

/// Whether a served string equals `wanted`, ignoring case.
fn same_text(field: Option<&Value>, wanted: &str) -> bool {
    field
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case(wanted))
}

/// The JSON type a writable account field takes.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Bool,
    /// An integer in a range, or `null` when nullable.
    Int {
        min: i64,
        max: i64,
        nullable: bool,
    },
    /// A string or `null`.
    Str,
    /// Accepted and never stored.
    WriteOnly,
}

impl Kind {
    fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            (Kind::Bool, v) => v.is_boolean(),
            (Kind::Int { nullable, .. }, Value::Null) => nullable,
            (Kind::Int { min, max, .. }, v) => v.as_i64().is_some_and(|n| (min..=max).contains(&n)),
            (Kind::Str | Kind::WriteOnly, v) => v.is_string() || v.is_null(),
        }
    }
}

const ID: Kind = Kind::Int {
    min: 1,
    max: i64::MAX,
    nullable: false,
};
const OPTIONAL_ID: Kind = Kind::Int {
    min: 0,
    max: i64::MAX,
    nullable: true,
};
const MINUTES: Kind = Kind::Int {
    min: 1,
    max: 525_600,
    nullable: false,
};

/// The administrator's account fields a `PUT` may carry (§6.8b).
const ACCOUNT_FIELDS: &[(&str, Kind)] = &[
    ("ManagedAccountID", ID),
    ("ManagedSystemID", ID),
    ("DomainName", Kind::Str),
    ("AccountName", Kind::Str),
    ("DistinguishedName", Kind::Str),
    ("PasswordFallbackFlag", Kind::Bool),
    ("UserPrincipalName", Kind::Str),
    ("SAMAccountName", Kind::Str),
    ("LoginAccountFlag", Kind::Bool),
    ("Description", Kind::Str),
    ("PasswordRuleID", OPTIONAL_ID),
    ("ApiEnabled", Kind::Bool),
    ("ReleaseNotificationEmail", Kind::Str),
    ("ChangeServicesFlag", Kind::Bool),
    ("RestartServicesFlag", Kind::Bool),
    ("ChangeTasksFlag", Kind::Bool),
    ("ReleaseDuration", MINUTES),
    ("MaxReleaseDuration", MINUTES),
    ("ISAReleaseDuration", MINUTES),
    (
        "MaxConcurrentRequests",
        Kind::Int {
            min: 0,
            max: 999,
            nullable: false,
        },
    ),
    ("AutoManagementFlag", Kind::Bool),
    ("DSSAutoManagementFlag", Kind::Bool),
    ("CheckPasswordFlag", Kind::Bool),
    ("ResetPasswordOnMismatchFlag", Kind::Bool),
    ("ChangePasswordAfterAnyReleaseFlag", Kind::Bool),
    ("ChangeFrequencyType", Kind::Str),
    ("ChangeFrequencyDays", OPTIONAL_ID),
    ("ChangeTime", Kind::Str),
    ("ParentAccountID", OPTIONAL_ID),
    ("IsSubscribedAccount", Kind::Bool),
    ("NextChangeDate", Kind::Str),
    ("UseOwnCredentials", Kind::Bool),
    ("WorkgroupID", OPTIONAL_ID),
    ("ChangeIISAppPoolFlag", Kind::Bool),
    ("RestartIISAppPoolFlag", Kind::Bool),
    ("ChangeWindowsAutoLogonFlag", Kind::Bool),
    ("ChangeComPlusFlag", Kind::Bool),
    ("ChangeDComFlag", Kind::Bool),
    ("ChangeSComFlag", Kind::Bool),
    ("ObjectID", Kind::Str),
    ("Password", Kind::WriteOnly),
    ("PrivateKey", Kind::WriteOnly),
    ("Passphrase", Kind::WriteOnly),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_matches_in_any_case_and_only_whole_segments() {
        assert_eq!(
            under_base("/BeyondTrust/api/public/v3/Auth/SignAppin"),
            Some("/Auth/SignAppin")
        );
        assert_eq!(under_base("/beyondtrust/API/Public/V3"), Some(""));
        assert_eq!(under_base("/BeyondTrust/api/public/v31/x"), None);
        assert_eq!(under_base("/api/config/v1/user"), None);
    }

    #[test]
    fn routes_cover_the_simulated_resources() {
        assert_eq!(
            route(&["managedaccounts", "7"]),
            Some(Route::ManagedAccount(7))
        );
        assert_eq!(
            route(&["usergroups", "2", "smartrules", "3", "roles"]),
            Some(Route::GroupRoles(2, 3))
        );
        assert_eq!(
            route(&["accesspolicies", "1", "assignees"]),
            Some(Route::Assignees(1))
        );
        assert_eq!(route(&["managedaccounts", "x"]), None);
        assert_eq!(route(&["managedaccounts", "0"]), None);
        assert_eq!(route(&["accesspolicies", "1"]), None);
    }
}
