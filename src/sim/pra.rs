//! The PRA Configuration API v1 (`/api/config/v1`, `reference/pra-config-api.md` §2–§4): lists
//! with the vendor's pagination and filters, get-one, create, update, delete, copy, group-policy
//! memberships and jump policy schedules, over rows kept as the estate gives them.

use std::collections::BTreeMap;

use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::faults::lock;
use super::http::{empty, json_response, message, ApiRequest, Errors};
use super::pra_model::{
    by_store, check_value, serve, Access, FilterKind, Resource, Row, COPY_BODY, RESOURCES,
};
use super::pra_rules::{cascade, check_body, check_owner, is_true, normalize, rules, write_fields};
use super::Inner;

/// Where the API lives under the site root.
pub(crate) const BASE: &str = "/api/config/v1";

/// Page sizes the API accepts (§2.4).
const PER_PAGE: std::ops::RangeInclusive<i64> = 5..=100;
const DEFAULT_PER_PAGE: i64 = 100;

/// The PRA configuration the simulator serves, changed by writes.
#[derive(Debug, Default)]
pub(crate) struct Store {
    rows: BTreeMap<&'static str, Vec<Row>>,
    /// `GET /jump-policy/{id}/schedule`, keyed by jump policy id.
    pub(super) schedules: Row,
    next_id: BTreeMap<&'static str, i64>,
}

impl Store {
    /// Reads the `pra` half of an estate file, refusing what the simulator could not serve
    /// faithfully (unknown collections, rows without ids).
    pub(crate) fn from_estate(pra: Option<&Value>) -> Result<Store, String> {
        let mut store = Store::default();
        let collections = match pra {
            None | Some(Value::Null) => return Ok(store),
            Some(Value::Object(map)) => map,
            Some(_) => return Err("`pra` must be an object of collections".into()),
        };
        for (name, value) in collections {
            match name.as_str() {
                "jump_item" => {
                    let Value::Object(types) = value else {
                        return Err(
                            "`pra.jump_item` must be an object keyed by jump item type".into()
                        );
                    };
                    for (segment, rows) in types {
                        let res = by_store(&format!("jump_item/{segment}")).ok_or_else(|| {
                            format!(
                                "`pra.jump_item.{segment}` is not a jump item type; known: {}",
                                jump_item_segments().join(", ")
                            )
                        })?;
                        store.load(res, &format!("pra.jump_item.{segment}"), rows)?;
                    }
                }
                "jump_policy_schedule" => {
                    let Value::Object(by_policy) = value else {
                        return Err(
                            "`pra.jump_policy_schedule` must be an object keyed by jump policy id"
                                .into(),
                        );
                    };
                    for (id, schedule) in by_policy {
                        if id.parse::<i64>().map_or(true, |i| i <= 0) || !schedule.is_object() {
                            return Err(format!(
                                "`pra.jump_policy_schedule.{id}` must be a schedule object under a jump policy id"
                            ));
                        }
                    }
                    store.schedules = by_policy.clone();
                }
                other => {
                    let res = by_store(other)
                        .filter(|r| !r.is_jump_item())
                        .ok_or_else(|| {
                            format!(
                                "`pra.{other}` is not a collection the simulator serves; known: jump_item, jump_policy_schedule, {}",
                                collection_names().join(", ")
                            )
                        })?;
                    store.load(res, &format!("pra.{other}"), value)?;
                }
            }
        }
        Ok(store)
    }

    fn load(&mut self, res: &'static Resource, at: &str, rows: &Value) -> Result<(), String> {
        let Value::Array(rows) = rows else {
            return Err(format!("`{at}` must be an array of rows"));
        };
        let mut loaded = Vec::with_capacity(rows.len());
        let mut keys = std::collections::BTreeSet::new();
        for (i, row) in rows.iter().enumerate() {
            let Value::Object(row) = row else {
                return Err(format!("`{at}[{i}]` must be an object"));
            };
            let mut identity = Vec::new();
            for field in res.parent.map(|p| p.field).into_iter().chain([res.key()]) {
                let id = row
                    .get(field)
                    .and_then(Value::as_i64)
                    .filter(|i| *i > 0)
                    .ok_or_else(|| format!("`{at}[{i}].{field}` must be a positive integer"))?;
                identity.push(id);
            }
            if !keys.insert(identity) {
                return Err(format!(
                    "`{at}[{i}]` repeats the identity of an earlier row"
                ));
            }
            loaded.push(row.clone());
        }
        let max = loaded
            .iter()
            .filter_map(|r| r.get("id").and_then(Value::as_i64))
            .max()
            .unwrap_or(0);
        self.next_id.insert(res.store, max + 1);
        self.rows.insert(res.store, loaded);
        Ok(())
    }

    pub(super) fn rows(&self, res: &Resource) -> &[Row] {
        self.rows.get(res.store).map_or(&[], Vec::as_slice)
    }

    pub(super) fn rows_mut(&mut self, res: &'static Resource) -> &mut Vec<Row> {
        self.rows.entry(res.store).or_default()
    }

    pub(super) fn position(&self, res: &Resource, parent: Option<i64>, key: i64) -> Option<usize> {
        self.rows(res)
            .iter()
            .position(|row| is_row(res, row, parent, key))
    }

    /// Whether a row with this id exists in the collection stored under `store`.
    pub(super) fn exists(&self, store: &str, id: i64) -> bool {
        by_store(store).is_some_and(|res| self.position(res, None, id).is_some())
    }

    fn next_id(&mut self, res: &'static Resource) -> i64 {
        let next = self.next_id.entry(res.store).or_insert(1);
        let id = *next;
        *next += 1;
        id
    }

    /// The PRA collections as a complete read would produce them: every collection (empty ones
    /// too), rows as served plus the parent id of sub-resource rows, in the estate's shape.
    pub(crate) fn snapshot(&self) -> Value {
        let mut pra = Map::new();
        let mut items = Map::new();
        for res in RESOURCES {
            let rows: Vec<Value> = self
                .rows(res)
                .iter()
                .map(|row| {
                    let mut out = Row::new();
                    if let Some(p) = res.parent {
                        out.insert(p.field.to_owned(), row[p.field].clone());
                    }
                    out.extend(serve(res, row));
                    Value::Object(out)
                })
                .collect();
            match res.store.strip_prefix("jump_item/") {
                Some(segment) => {
                    items.insert(segment.to_owned(), Value::Array(rows));
                }
                None => {
                    pra.insert(res.store.to_owned(), Value::Array(rows));
                }
            }
        }
        pra.insert("jump_item".into(), Value::Object(items));
        pra.insert(
            "jump_policy_schedule".into(),
            Value::Object(self.schedules.clone()),
        );
        Value::Object(pra)
    }
}

fn jump_item_segments() -> Vec<&'static str> {
    RESOURCES
        .iter()
        .filter_map(|r| r.store.strip_prefix("jump_item/"))
        .collect()
}

fn collection_names() -> Vec<&'static str> {
    RESOURCES
        .iter()
        .filter(|r| !r.is_jump_item())
        .map(|r| r.store)
        .collect()
}

fn is_row(res: &Resource, row: &Row, parent: Option<i64>, key: i64) -> bool {
    let parent_ok = match (res.parent, parent) {
        (Some(p), Some(id)) => row.get(p.field).and_then(Value::as_i64) == Some(id),
        _ => true,
    };
    parent_ok && row.get(res.key()).and_then(Value::as_i64) == Some(key)
}

// ---------------------------------------------------------------------------------------------
// Routing.

#[derive(Clone, Copy, Debug)]
enum Route {
    /// A collection; a sub-resource's has its parent's id.
    List(&'static Resource, Option<i64>),
    One(&'static Resource, Option<i64>, i64),
    Copy(&'static Resource, i64),
    Provision(i64),
    Schedule(i64),
}

fn parse_id(s: &str) -> Option<i64> {
    s.parse().ok().filter(|i| *i > 0)
}

fn route(rest: &str) -> Option<Route> {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    // Top-level collections: `jump-group`, `jump-item/shell-jump`, `vault/account`, ...
    for res in RESOURCES.iter().filter(|r| r.parent.is_none()) {
        let base: Vec<&str> = res.path.split('/').collect();
        if segments.len() < base.len() || segments[..base.len()] != base[..] {
            continue;
        }
        match &segments[base.len()..] {
            [] => return Some(Route::List(res, None)),
            [id] => {
                if let Some(id) = parse_id(id) {
                    return Some(Route::One(res, None, id));
                }
            }
            [id, "copy"] if res.ops.copy => return Some(Route::Copy(res, parse_id(id)?)),
            _ => {}
        }
    }
    match segments.as_slice() {
        ["group-policy", id, "provision"] => return Some(Route::Provision(parse_id(id)?)),
        ["jump-policy", id, "schedule"] => return Some(Route::Schedule(parse_id(id)?)),
        _ => {}
    }
    for res in RESOURCES {
        let Some(p) = res.parent else { continue };
        match segments.as_slice() {
            [path, id, sub] if *path == p.path && *sub == p.sub => {
                return Some(Route::List(res, Some(parse_id(id)?)))
            }
            [path, id, sub, key] if *path == p.path && *sub == p.sub => {
                return Some(Route::One(res, Some(parse_id(id)?), parse_id(key)?))
            }
            _ => {}
        }
    }
    None
}

impl Route {
    fn allowed(self) -> Vec<Method> {
        let mut out = Vec::new();
        match self {
            Route::List(res, _) => {
                if res.ops.list {
                    out.extend([Method::GET, Method::HEAD]);
                }
                if res.ops.create {
                    out.push(Method::POST);
                }
            }
            Route::One(res, _, _) => {
                if res.ops.get {
                    out.extend([Method::GET, Method::HEAD]);
                }
                if res.ops.update {
                    out.push(Method::PATCH);
                }
                if res.ops.delete {
                    out.push(Method::DELETE);
                }
            }
            Route::Copy(..) | Route::Provision(_) => out.push(Method::POST),
            Route::Schedule(_) => out.extend([Method::GET, Method::HEAD]),
        }
        out
    }
}

/// Answers one request under [`BASE`]; `rest` is the path after it.
pub(crate) fn handle(inner: &Inner, req: &ApiRequest, rest: &str) -> Response {
    let route = route(rest);
    let allowed = route.map(Route::allowed).unwrap_or_default();
    let Some(route) = route.filter(|_| !allowed.is_empty()) else {
        return message(
            StatusCode::NOT_FOUND,
            &format!("No such resource: {}", req.path),
        );
    };
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(",");
    if req.method == Method::OPTIONS {
        return with_allow(empty(StatusCode::OK), &allow);
    }
    let method = if req.method == Method::HEAD {
        Method::GET
    } else {
        req.method.clone()
    };
    if !allowed.contains(&method) {
        return with_allow(
            message(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("The {} method is not supported for this route.", req.method),
            ),
            &allow,
        );
    }
    let api = Api { inner, req };
    let outcome = match (route, method) {
        (Route::List(res, parent), Method::GET) => api.list(res, parent),
        (Route::List(res, parent), _) => api.create(res, parent),
        (Route::One(res, parent, key), Method::GET) => api.get(res, parent, key),
        (Route::One(res, parent, key), Method::PATCH) => api.update(res, parent, key),
        (Route::One(res, parent, key), _) => api.delete(res, parent, key),
        (Route::Copy(res, id), _) => api.copy(res, id),
        (Route::Provision(id), _) => api.provision(id),
        (Route::Schedule(id), _) => api.schedule(id),
    };
    outcome.unwrap_or_else(|response| *response)
}

fn with_allow(mut response: Response, allow: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, v);
    }
    response
}

fn not_found(what: &str, id: i64) -> Box<Response> {
    Box::new(message(
        StatusCode::NOT_FOUND,
        &format!("The {what} with id {id} was not found."),
    ))
}

// ---------------------------------------------------------------------------------------------
// Handlers.

struct Api<'a> {
    inner: &'a Inner,
    req: &'a ApiRequest,
}

/// A handler step: its value, or the response that ends the request (boxed: responses are
/// large).
type Outcome<T> = Result<T, Box<Response>>;

impl Api<'_> {
    /// Refuses query parameters other than `known` (§2.2: the appliance answers 401 to
    /// unrecognized parameters and body fields; configurable, see `SimConfig`).
    fn check_query(&self, known: &[&str]) -> Outcome<()> {
        let unknown: Vec<&str> = self
            .req
            .query
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !known.contains(k))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(Box::new(self.unrecognized("query parameter", &unknown)))
        }
    }

    fn unrecognized(&self, kind: &str, names: &[&str]) -> Response {
        let status = self.inner.config.unknown_field_status;
        if status == StatusCode::UNPROCESSABLE_ENTITY.as_u16() {
            let mut errors = Errors::default();
            for name in names {
                errors.add(name, format!("The {name} {kind} is not recognized."));
            }
            return errors.into_response();
        }
        message(
            StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED),
            &format!("Unrecognized {kind}: {}.", names.join(", ")),
        )
    }

    /// The JSON object of a POST or PATCH body (an empty body is an empty object).
    fn body(&self) -> Outcome<Row> {
        if self.req.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Row::new());
        }
        match serde_json::from_slice::<Value>(&self.req.body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => {
                let mut errors = Errors::default();
                errors.add("body", "The request body must be a JSON object.");
                Err(Box::new(errors.into_response()))
            }
        }
    }

    fn check_fields(&self, res: &Resource, body: &Row) -> Outcome<()> {
        let unknown: Vec<&str> = body
            .keys()
            .map(String::as_str)
            .filter(|k| res.field(k).is_none())
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(Box::new(self.unrecognized("field", &unknown)))
        }
    }

    fn list(&self, res: &'static Resource, parent: Option<i64>) -> Outcome<Response> {
        let q = self.list_query(res)?;
        let hide_personal = !q.include_personal
            && res
                .filters
                .iter()
                .any(|(_, k)| *k == FilterKind::IncludePersonal);
        let store = lock(&self.inner.pra);
        missing_parent(&store, res, parent)?;
        let rows: Vec<Row> = store
            .rows(res)
            .iter()
            .filter(|row| match (res.parent, parent) {
                (Some(p), Some(id)) => row.get(p.field).and_then(Value::as_i64) == Some(id),
                _ => true,
            })
            .map(|row| serve(res, row))
            .filter(|row| {
                q.filters
                    .iter()
                    .all(|(name, wanted)| matches(row.get(*name), wanted))
            })
            // Personal vault accounts are listed only on request.
            .filter(|row| !(hide_personal && is_true(row.get("personal"))))
            .collect();
        drop(store);
        if !res.paginated {
            return Ok(json_response(StatusCode::OK, &rows_value(rows)));
        }
        Ok(page(self.req, &rows, &q, self.inner.faults.truncating()))
    }

    /// Reads a list's query: pagination (§2.4) and the documented filters.
    fn list_query(&self, res: &Resource) -> Outcome<ListQuery<'_>> {
        let mut known: Vec<&str> = res.filters.iter().map(|(n, _)| *n).collect();
        if res.paginated {
            known.extend(["per_page", "current_page"]);
        }
        self.check_query(&known)?;
        let mut errors = Errors::default();
        let mut filters = Vec::new();
        let mut include_personal = false;
        let mut per_page = DEFAULT_PER_PAGE;
        let mut current_page = 1;
        // Later duplicates win, as in PHP.
        let mut query: BTreeMap<&str, &str> = BTreeMap::new();
        for (k, v) in &self.req.query {
            query.insert(k, v);
        }
        for (name, value) in &query {
            match *name {
                "per_page" => match value.parse::<i64>() {
                    Ok(n) if PER_PAGE.contains(&n) => per_page = n,
                    // Inferred (§2.4, §10.2): out-of-range sizes are refused like any schema
                    // violation, unless `SimConfig::clamp_per_page` asks for clamping.
                    Ok(n) if self.inner.config.clamp_per_page => {
                        per_page = n.clamp(*PER_PAGE.start(), *PER_PAGE.end());
                    }
                    Ok(_) => errors.add(
                        "per_page",
                        format!(
                            "The per page field must be between {} and {}.",
                            PER_PAGE.start(),
                            PER_PAGE.end()
                        ),
                    ),
                    Err(_) => errors.add("per_page", "The per page field must be an integer."),
                },
                "current_page" => match value.parse::<i64>() {
                    Ok(n) if n >= 1 => current_page = n,
                    Ok(_) => {
                        errors.add("current_page", "The current page field must be at least 1.")
                    }
                    Err(_) => {
                        errors.add("current_page", "The current page field must be an integer.")
                    }
                },
                _ => {
                    let kind = res
                        .filters
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(FilterKind::Str, |(_, k)| *k);
                    match kind {
                        FilterKind::Str => {
                            filters.push((*name, Value::String((*value).to_owned())))
                        }
                        FilterKind::Int => match value.parse::<i64>() {
                            Ok(n) => filters.push((*name, Value::from(n))),
                            Err(_) => errors.add(
                                name,
                                format!("The {} field must be an integer.", name.replace('_', " ")),
                            ),
                        },
                        FilterKind::IncludePersonal => match *value {
                            "1" | "true" => include_personal = true,
                            "0" | "false" => include_personal = false,
                            _ => errors
                                .add(name, "The include personal field must be true or false."),
                        },
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(Box::new(errors.into_response()));
        }
        Ok(ListQuery {
            filters,
            include_personal,
            per_page,
            current_page,
        })
    }

    fn get(&self, res: &'static Resource, parent: Option<i64>, key: i64) -> Outcome<Response> {
        self.check_query(&[])?;
        let store = lock(&self.inner.pra);
        missing_parent(&store, res, parent)?;
        let index = store
            .position(res, parent, key)
            .ok_or_else(|| not_found(res.what, key))?;
        Ok(json_response(
            StatusCode::OK,
            &Value::Object(serve(res, &store.rows(res)[index])),
        ))
    }

    fn create(&self, res: &'static Resource, parent: Option<i64>) -> Outcome<Response> {
        self.check_query(&[])?;
        let body = self.body()?;
        let mut store = lock(&self.inner.pra);
        missing_parent(&store, res, parent)?;
        self.check_fields(res, &body)?;
        let mut errors = Errors::default();
        check_body(res, &body, &mut errors);
        for field in res.fields().filter(|f| f.access == Access::Required) {
            if body.get(field.name).is_none_or(Value::is_null) && !errors.has(field.name) {
                errors.add(
                    field.name,
                    format!("The {} field is required.", field.name.replace('_', " ")),
                );
            }
        }
        let mut row = Row::new();
        if res.parent.is_none() {
            // Reserved only once the row is valid (below); a placeholder keeps the key order.
            row.insert("id".into(), Value::Null);
        }
        if let (Some(p), Some(id)) = (res.parent, parent) {
            row.insert(p.field.into(), Value::from(id));
        }
        write_fields(res, &body, &mut row);
        rules(&store, res, &body, None, &row, parent, &mut errors);
        if !errors.is_empty() {
            return Err(Box::new(errors.into_response()));
        }
        normalize(res, &body, &mut row, true);
        if res.parent.is_none() {
            row.insert("id".into(), Value::from(store.next_id(res)));
        }
        let key = row.get(res.key()).cloned().unwrap_or(Value::Null);
        let served = serve(res, &row);
        store.rows_mut(res).push(row);
        drop(store);
        if res.store == "group_policy_jump_group" {
            // Documented as 201 with no body (§4.7).
            return Ok(empty(StatusCode::CREATED));
        }
        let mut response = json_response(StatusCode::CREATED, &Value::Object(served));
        let location = self.req.url(
            &format!("{}/{key}", self.req.path.trim_end_matches('/')),
            &[],
        );
        if let Ok(v) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, v);
        }
        Ok(response)
    }

    fn update(&self, res: &'static Resource, parent: Option<i64>, key: i64) -> Outcome<Response> {
        self.check_query(&[])?;
        let body = self.body()?;
        let mut store = lock(&self.inner.pra);
        missing_parent(&store, res, parent)?;
        let Some(index) = store.position(res, parent, key) else {
            return Err(not_found(res.what, key));
        };
        self.check_fields(res, &body)?;
        let mut errors = Errors::default();
        // A sub-resource's key is its URL; the body cannot move it.
        let body: Row = body.into_iter().filter(|(k, _)| k != res.key()).collect();
        check_body(res, &body, &mut errors);
        let stored = store.rows(res)[index].clone();
        let mut row = stored.clone();
        write_fields(res, &body, &mut row);
        rules(&store, res, &body, Some(&stored), &row, parent, &mut errors);
        if !errors.is_empty() {
            return Err(Box::new(errors.into_response()));
        }
        normalize(res, &body, &mut row, false);
        let served = serve(res, &row);
        store.rows_mut(res)[index] = row;
        Ok(json_response(StatusCode::OK, &Value::Object(served)))
    }

    fn delete(&self, res: &'static Resource, parent: Option<i64>, key: i64) -> Outcome<Response> {
        self.check_query(&[])?;
        let mut store = lock(&self.inner.pra);
        missing_parent(&store, res, parent)?;
        let index = store
            .position(res, parent, key)
            .ok_or_else(|| not_found(res.what, key))?;
        let row = &store.rows(res)[index];
        let refusal = match res.store {
            "user" if is_true(row.get("perm_admin")) => Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "Administrators cannot be deleted.",
            )),
            "vault_account" if is_true(row.get("personal")) => Some((
                StatusCode::FORBIDDEN,
                "Personal vault accounts cannot be deleted through the API.",
            )),
            "vault_account_group" if key == 1 => Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "The default account group cannot be deleted.",
            )),
            _ => None,
        };
        if let Some((status, text)) = refusal {
            return Err(Box::new(message(status, text)));
        }
        let removed = store.rows_mut(res).remove(index);
        cascade(&mut store, res, &removed);
        Ok(empty(StatusCode::NO_CONTENT))
    }

    /// `POST /jump-item/{type}/{id}/copy`: an independent copy in another group (§4.2, §5.1).
    fn copy(&self, res: &'static Resource, id: i64) -> Outcome<Response> {
        self.check_query(&[])?;
        let body = self.body()?;
        let mut store = lock(&self.inner.pra);
        let Some(index) = store.position(res, None, id) else {
            return Err(not_found(res.what, id));
        };
        let unknown: Vec<&str> = body
            .keys()
            .map(String::as_str)
            .filter(|k| !COPY_BODY.iter().any(|f| f.name == *k))
            .collect();
        if !unknown.is_empty() {
            return Err(Box::new(self.unrecognized("field", &unknown)));
        }
        let mut errors = Errors::default();
        for field in COPY_BODY {
            match body.get(field.name) {
                Some(v) => {
                    check_value(field, v, &mut errors);
                }
                None => errors.add(
                    field.name,
                    format!("The {} field is required.", field.name.replace('_', " ")),
                ),
            }
        }
        if errors.is_empty() {
            check_owner(&store, &body, &mut errors);
        }
        if !errors.is_empty() {
            return Err(Box::new(errors.into_response()));
        }
        let mut copy = store.rows(res)[index].clone();
        let new_id = store.next_id(res);
        copy.insert("id".into(), Value::from(new_id));
        for field in COPY_BODY {
            copy.insert(field.name.into(), body[field.name].clone());
        }
        store.rows_mut(res).push(copy);
        Ok(json_response(
            StatusCode::OK,
            &json!({ "action": "copy", "success": "1", "destId": new_id }),
        ))
    }

    /// `POST /group-policy/{id}/provision`: nothing to recompute in a simulator (§4.7).
    fn provision(&self, id: i64) -> Outcome<Response> {
        self.check_query(&[])?;
        if lock(&self.inner.pra).exists("group_policy", id) {
            Ok(empty(StatusCode::NO_CONTENT))
        } else {
            Err(not_found("Group Policy", id))
        }
    }

    /// `GET /jump-policy/{id}/schedule`. A policy without one in the estate has no entries; the
    /// spec types `timezone` as a non-nullable string and gives it no default, so it is left out.
    fn schedule(&self, id: i64) -> Outcome<Response> {
        self.check_query(&[])?;
        let store = lock(&self.inner.pra);
        if !store.exists("jump_policy", id) {
            return Err(not_found("Jump Policy", id));
        }
        let schedule = store
            .schedules
            .get(&id.to_string())
            .cloned()
            .unwrap_or_else(|| json!({ "entries": [] }));
        Ok(json_response(StatusCode::OK, &schedule))
    }
}

/// A list's query, read.
struct ListQuery<'a> {
    filters: Vec<(&'a str, Value)>,
    include_personal: bool,
    per_page: i64,
    current_page: i64,
}

/// One page of `rows` with the pagination headers of §2.4: `Link` with `first` and `last`
/// always and `previous`/`next` when they exist, on the request's own URL with its filters.
/// `truncate` drops the page's last row while the headers still count it (a fault).
fn page(req: &ApiRequest, rows: &[Row], q: &ListQuery<'_>, truncate: bool) -> Response {
    let total = rows.len() as i64;
    let last_page = ((total + q.per_page - 1) / q.per_page).max(1);
    let start = ((q.current_page - 1).saturating_mul(q.per_page)).min(total) as usize;
    let end = (start as i64 + q.per_page).min(total) as usize;
    let mut rows: Vec<Row> = rows[start..end].to_vec();
    if truncate {
        rows.pop();
    }
    let mut response = json_response(StatusCode::OK, &rows_value(rows));
    let link = |n: i64, rel: &str| {
        let mut query = vec![
            ("per_page".to_owned(), q.per_page.to_string()),
            ("current_page".to_owned(), n.to_string()),
        ];
        query.extend(
            req.query
                .iter()
                .filter(|(k, _)| k != "per_page" && k != "current_page")
                .cloned(),
        );
        format!("<{}>; rel=\"{rel}\"", req.url(&req.path, &query))
    };
    let mut links = vec![link(1, "first")];
    if q.current_page > 1 {
        links.push(link(q.current_page - 1, "previous"));
    }
    if q.current_page < last_page {
        links.push(link(q.current_page + 1, "next"));
    }
    links.push(link(last_page, "last"));
    let headers = response.headers_mut();
    for (name, value) in [
        ("link", links.join(", ")),
        ("x-bt-pagination-current-page", q.current_page.to_string()),
        ("x-bt-pagination-per-page", q.per_page.to_string()),
        ("x-bt-pagination-last-page", last_page.to_string()),
        ("x-bt-pagination-total", total.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    response
}

fn rows_value(rows: Vec<Row>) -> Value {
    Value::Array(rows.into_iter().map(Value::Object).collect())
}

/// A 404 when a sub-resource's parent (the jump group of `/jump-group/{id}/user`) is absent.
fn missing_parent(store: &Store, res: &Resource, parent: Option<i64>) -> Outcome<()> {
    match (res.parent, parent) {
        (Some(p), Some(id)) if !store.exists(p.of, id) => {
            Err(not_found(by_store(p.of).map_or(p.of, |r| r.what), id))
        }
        _ => Ok(()),
    }
}

/// Exact, case-insensitive matching of a filter against a served field.
fn matches(field: Option<&Value>, wanted: &Value) -> bool {
    match (field, wanted) {
        (Some(Value::String(have)), Value::String(want)) => have.eq_ignore_ascii_case(want),
        (Some(Value::Number(have)), Value::Number(want)) => have == want,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_cover_collections_members_and_actions() {
        assert!(
            matches!(route("/jump-item/shell-jump"), Some(Route::List(res, None)) if res.store == "jump_item/shell-jump")
        );
        assert!(matches!(
            route("/jump-item/shell-jump/7"),
            Some(Route::One(_, None, 7))
        ));
        assert!(matches!(
            route("/jump-item/web-jump/7/copy"),
            Some(Route::Copy(_, 7))
        ));
        assert!(matches!(
            route("/jump-client/41/copy"),
            Some(Route::Copy(_, 41))
        ));
        assert!(
            matches!(route("/jump-group/4/user/12"), Some(Route::One(res, Some(4), 12)) if res.store == "jump_group_user")
        );
        assert!(
            matches!(route("/group-policy/2/jump-group"), Some(Route::List(res, Some(2))) if res.store == "group_policy_jump_group")
        );
        assert!(matches!(
            route("/group-policy/2/provision"),
            Some(Route::Provision(2))
        ));
        assert!(matches!(
            route("/jump-policy/3/schedule"),
            Some(Route::Schedule(3))
        ));
        assert!(
            matches!(route("/vault/account-group/1"), Some(Route::One(res, None, 1)) if res.store == "vault_account_group")
        );
        assert!(route("/jump-item/local-jump").is_none());
        assert!(route("/jump-group/x").is_none());
        assert!(route("/jump-group/4/copy").is_none());
        assert!(route("/team/1/user").is_none());
    }

    #[test]
    fn estates_with_unknown_collections_or_rows_without_ids_are_refused() {
        let err = Store::from_estate(Some(&json!({"jump_groups": []}))).unwrap_err();
        assert!(
            err.contains("jump_groups") && err.contains("jump_group,"),
            "{err}"
        );
        let err = Store::from_estate(Some(&json!({"jump_item": {"local-jump": []}}))).unwrap_err();
        assert!(err.contains("remote-rdp"), "{err}");
        let err = Store::from_estate(Some(&json!({"jump_group": [{"name": "x"}]}))).unwrap_err();
        assert!(err.contains("pra.jump_group[0].id"), "{err}");
        let err =
            Store::from_estate(Some(&json!({"jump_group_user": [{"user_id": 3}]}))).unwrap_err();
        assert!(err.contains("jump_group_id"), "{err}");
        let err = Store::from_estate(Some(&json!({"team": [{"id": 1}, {"id": 1}]}))).unwrap_err();
        assert!(err.contains("repeats"), "{err}");
    }

    #[test]
    fn deleting_a_jump_group_takes_its_items_and_memberships() {
        let mut store = Store::from_estate(Some(&json!({
            "jump_group": [{"id": 4, "name": "A"}, {"id": 5, "name": "B"}],
            "jump_item": {"shell-jump": [
                {"id": 1, "jump_group_id": 4},
                {"id": 2, "jump_group_id": 5},
                {"id": 3, "jump_group_id": 4, "jump_group_type": "personal"}
            ]},
            "jump_group_user": [{"jump_group_id": 4, "user_id": 9}, {"jump_group_id": 5, "user_id": 9}],
            "group_policy_jump_group": [{"group_policy_id": 2, "jump_group_id": 4}]
        })))
        .unwrap();
        let group = by_store("jump_group").unwrap();
        let removed = store.rows_mut(group).remove(0);
        cascade(&mut store, group, &removed);
        let snap = store.snapshot();
        let ids: Vec<i64> = snap["jump_item"]["shell-jump"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [2, 3]);
        assert_eq!(snap["jump_group_user"].as_array().unwrap().len(), 1);
        assert_eq!(snap["group_policy_jump_group"], json!([]));
    }
}
