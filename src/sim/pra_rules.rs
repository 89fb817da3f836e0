//! What a write to the PRA API must satisfy and what it does besides: field checks, the
//! cross-field and cross-collection rules of §4 and §9 (jump policy approvals and schedules,
//! unique code names, referenced objects, tunnels, vault account types), the appliance's own
//! normalization of group policies, and the cascades of deletes.

use serde_json::Value;

use super::http::Errors;
use super::pra::Store;
use super::pra_model::{
    by_store, check_value, default_of, id_of, stored_value, Access, Kind, Resource, Row,
    JUMP_PERMISSIONS, RESOURCES, VAULT_TYPES,
};

/// Checks the type and constraints of every writable field in a body.
pub(super) fn check_body(res: &Resource, body: &Row, errors: &mut Errors) {
    for (name, value) in body {
        if let Some(field) = res.field(name).filter(|f| f.access != Access::ReadOnly) {
            check_value(field, value, errors);
        }
    }
}

/// Copies a body's writable, non-secret fields into a row (read-only fields are ignored, as the
/// appliance does; write-only secrets are accepted and forgotten).
pub(super) fn write_fields(res: &Resource, body: &Row, row: &mut Row) {
    for (name, value) in body {
        if let Some(field) = res
            .field(name)
            .filter(|f| matches!(f.access, Access::ReadWrite | Access::Required))
        {
            row.insert(name.clone(), stored_value(field, value));
        }
    }
}

/// The value a row has for a field, its documented default when absent.
fn effective(res: &Resource, row: &Row, name: &str) -> Value {
    row.get(name)
        .cloned()
        .or_else(|| res.field(name).and_then(|f| default_of(res, f, row)))
        .unwrap_or(Value::Null)
}

pub(super) fn is_true(v: Option<&Value>) -> bool {
    v == Some(&Value::Bool(true))
}

fn non_empty(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Null => false,
        _ => true,
    }
}

/// The cross-field and cross-collection rules of one write. `row` is the row as it would be
/// stored; `stored` the row before an update.
pub(super) fn rules(
    store: &Store,
    res: &Resource,
    body: &Row,
    stored: Option<&Row>,
    row: &Row,
    parent: Option<i64>,
    errors: &mut Errors,
) {
    let self_key = stored
        .and_then(|s| s.get(res.key()))
        .and_then(Value::as_i64);
    // Unique code names (§4: `CodeName` must be unique) and jump group names (§4.1).
    for field in res.fields() {
        let unique = matches!(field.kind, Kind::CodeName)
            || (res.store == "jump_group" && field.name == "name");
        let Some(Value::String(value)) = body.get(field.name) else {
            continue;
        };
        if !unique || value.is_empty() || errors.has(field.name) {
            continue;
        }
        let taken = store.rows(res).iter().any(|other| {
            other.get(res.key()).and_then(Value::as_i64) != self_key
                && other
                    .get(field.name)
                    .and_then(Value::as_str)
                    .is_some_and(|o| o.eq_ignore_ascii_case(value))
        });
        if taken {
            errors.add(
                field.name,
                format!(
                    "The {} has already been taken.",
                    field.name.replace('_', " ")
                ),
            );
        }
    }
    // A membership is added once.
    if let (Some(p), Some(id), None) = (res.parent, parent, stored) {
        if let Some(key) = body.get(p.key).and_then(Value::as_i64) {
            if store.position(res, Some(id), key).is_some() && !errors.has(p.key) {
                errors.add(
                    p.key,
                    format!("The {} has already been taken.", p.key.replace('_', " ")),
                );
            }
        }
    }
    // Referenced objects exist (Laravel's `exists` rule). Only fields the body sets are
    // checked: the estate is the truth about what is already stored.
    for (field, target) in references(res) {
        let Some(value) = body.get(*field) else {
            continue;
        };
        if errors.has(field) {
            continue;
        }
        let ids: Vec<i64> = match value {
            Value::Array(items) => items.iter().filter_map(id_of).collect(),
            other => id_of(other).into_iter().collect(),
        };
        if ids.iter().any(|id| !store.exists(target, *id)) {
            errors.add(
                field,
                format!("The selected {} is invalid.", field.replace('_', " ")),
            );
        }
    }
    if (res.is_jump_item() || res.store == "jump_client")
        && (body.contains_key("jump_group_id") || body.contains_key("jump_group_type"))
    {
        check_owner(store, row, errors);
    }
    match res.store {
        "jump_policy" => jump_policy_rules(res, body, stored, row, errors),
        "jump_item/protocol-tunnel-jump" => {
            let kind = effective(res, row, "tunnel_type");
            match kind.as_str() {
                Some("k8s") => {
                    for name in ["url", "ca_certificates"] {
                        require(res, row, name, "when tunnel type is k8s", errors);
                    }
                }
                _ => require(res, row, "hostname", "", errors),
            }
            if kind.as_str() == Some("tcp") {
                require(
                    res,
                    row,
                    "tunnel_definitions",
                    "when tunnel type is tcp",
                    errors,
                );
                if let Some(defs) = row.get("tunnel_definitions").and_then(Value::as_str) {
                    if !defs.is_empty()
                        && !valid_tunnel_definitions(defs)
                        && !errors.has("tunnel_definitions")
                    {
                        errors.add(
                            "tunnel_definitions",
                            "The tunnel definitions field must be pairs of local and remote ports separated by semicolons.",
                        );
                    }
                }
            }
            check_listen_address(body, errors);
        }
        "jump_item/psql-tunnel-jump" | "jump_item/mysql-tunnel-jump" => {
            check_listen_address(body, errors);
        }
        "jump_item/network-tunnel-jump" => {
            if let Some(Value::Array(rules)) = body.get("filter_rules") {
                for (i, rule) in rules.iter().enumerate() {
                    let addresses = rule.get("ip_addresses").and_then(Value::as_object);
                    let one_kind = addresses.is_some_and(|a| {
                        a.len() == 1
                            && (a.contains_key("cidr")
                                || a.contains_key("range")
                                || a.contains_key("list"))
                    });
                    if !one_kind {
                        errors.add(
                            &format!("filter_rules.{i}.ip_addresses"),
                            format!("The filter_rules.{i}.ip_addresses field must be one of cidr, range or list."),
                        );
                    }
                }
            }
        }
        "group_policy" => {
            const IDLE: [i64; 12] = [
                -1, 0, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400,
            ];
            if let Some(n) = body
                .get("perm_session_idle_timeout")
                .and_then(Value::as_i64)
            {
                if !IDLE.contains(&n) && !errors.has("perm_session_idle_timeout") {
                    errors.add(
                        "perm_session_idle_timeout",
                        "The selected perm session idle timeout is invalid.",
                    );
                }
            }
        }
        "jumpoint" => {
            if let Some(stored) = stored {
                for name in ["platform", "clustered"] {
                    if let Some(v) = body.get(name) {
                        if effective(res, stored, name) != *v {
                            errors
                                .add(name, format!("The {name} of a jumpoint cannot be changed."));
                        }
                    }
                }
            }
        }
        "vault_account" => vault_account_rules(body, stored, errors),
        _ => {}
    }
}

/// The collection each id field refers to.
fn references(res: &Resource) -> &'static [(&'static str, &'static str)] {
    if res.is_jump_item() {
        return &[
            ("jumpoint_id", "jumpoint"),
            ("jump_policy_id", "jump_policy"),
            ("session_policy_id", "session_policy"),
        ];
    }
    match res.store {
        "jump_client" => &[
            ("jump_policy_id", "jump_policy"),
            ("session_policy_id", "session_policy"),
        ],
        "jump_group_user" => &[
            ("user_id", "user"),
            ("jump_item_role_id", "jump_item_role"),
            ("jump_policy_id", "jump_policy"),
        ],
        // `0` ("User's Default", "Set on Jump Items") is not an id and passes.
        "group_policy_jump_group" => &[
            ("jump_group_id", "jump_group"),
            ("jump_item_role_id", "jump_item_role"),
            ("jump_policy_id", "jump_policy"),
        ],
        "group_policy" => &[
            ("default_jump_item_role_id", "jump_item_role"),
            ("private_jump_item_role_id", "jump_item_role"),
            ("inferior_jump_item_role_id", "jump_item_role"),
            ("unassigned_jump_item_role_id", "jump_item_role"),
        ],
        "jump_policy" => &[("approval_user_ids", "user"), ("approval_team_ids", "team")],
        "jumpoint" => &[("rdp_service_account_id", "vault_account")],
        "vault_account" => &[("account_group_id", "vault_account_group")],
        _ => &[],
    }
}

/// The owner of a jump item: a shared jump group, or the user whose personal list it is.
pub(super) fn check_owner(store: &Store, row: &Row, errors: &mut Errors) {
    if errors.has("jump_group_id") || errors.has("jump_group_type") {
        return;
    }
    let Some(id) = row.get("jump_group_id").and_then(Value::as_i64) else {
        return;
    };
    let personal = row.get("jump_group_type").and_then(Value::as_str) == Some("personal");
    let target = if personal { "user" } else { "jump_group" };
    if !store.exists(target, id) {
        errors.add("jump_group_id", "The selected jump group id is invalid.");
    }
}

fn require(res: &Resource, row: &Row, name: &str, condition: &str, errors: &mut Errors) {
    if !non_empty(&effective(res, row, name)) && !errors.has(name) {
        let w = name.replace('_', " ");
        let text = if condition.is_empty() {
            format!("The {w} field is required.")
        } else {
            format!("The {w} field is required {condition}.")
        };
        errors.add(name, text);
    }
}

fn valid_tunnel_definitions(defs: &str) -> bool {
    let ports: Vec<Option<u16>> = defs.split(';').map(|p| p.trim().parse().ok()).collect();
    ports.len() % 2 == 0
        && ports
            .chunks(2)
            .all(|pair| matches!(pair, [Some(_), Some(remote)] if *remote >= 1))
}

fn check_listen_address(body: &Row, errors: &mut Errors) {
    let Some(Value::String(addr)) = body.get("tunnel_listen_address") else {
        return;
    };
    let ok = addr
        .parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.octets()[..3] == [127, 0, 0]);
    if !ok && !errors.has("tunnel_listen_address") {
        errors.add(
            "tunnel_listen_address",
            "The tunnel listen address field must be an address in 127.0.0.0/24.",
        );
    }
}

/// The jump policy rules of §4.3 and §9.
fn jump_policy_rules(
    res: &Resource,
    body: &Row,
    stored: Option<&Row>,
    row: &Row,
    errors: &mut Errors,
) {
    // "Explicitly true": set so by this request or stored so before it. The documented default
    // of `schedule_enabled` (true) is contested (§4.3), so a default never counts.
    let explicit = |name: &str| match body.get(name) {
        Some(v) => is_true(Some(v)),
        None => is_true(stored.and_then(|s| s.get(name))),
    };
    if explicit("approval_required") && explicit("schedule_enabled") {
        errors.add(
            "approval_required",
            "The approval required field cannot be enabled when schedule enabled is true.",
        );
        errors.add(
            "schedule_enabled",
            "The schedule enabled field cannot be enabled when approval required is true.",
        );
    }
    if is_true(Some(&effective(res, row, "schedule_strict")))
        && !is_true(Some(&effective(res, row, "schedule_enabled")))
        && !errors.has("schedule_strict")
    {
        errors.add(
            "schedule_strict",
            "The schedule strict field can only be enabled when schedule enabled is true.",
        );
    }
    if is_true(Some(&effective(res, row, "approval_required"))) {
        require(
            res,
            row,
            "approval_display_name",
            "when approval required is true",
            errors,
        );
        let sources = [
            "approval_user_ids",
            "approval_team_ids",
            "approval_email_addresses",
        ];
        if !sources.iter().any(|s| non_empty(&effective(res, row, s))) {
            for source in sources {
                if !errors.has(source) {
                    errors.add(
                        source,
                        format!(
                            "The {} field is required when approval required is true and none of approval user ids / approval team ids / approval email addresses are present.",
                            source.replace('_', " ")
                        ),
                    );
                }
            }
        }
    }
    let notifying = is_true(Some(&effective(res, row, "session_start_notification")))
        || is_true(Some(&effective(res, row, "session_end_notification")));
    if stored.is_none() && notifying {
        require(
            res,
            row,
            "notification_display_name",
            "when a session notification is enabled",
            errors,
        );
    }
}

/// Vault accounts: only some types can be created, each with its own required secrets (§4.9).
fn vault_account_rules(body: &Row, stored: Option<&Row>, errors: &mut Errors) {
    let kind = body.get("type").and_then(Value::as_str);
    match stored {
        Some(stored) => {
            if kind.is_some_and(|k| stored.get("type").and_then(Value::as_str) != Some(k)) {
                errors.add("type", "The type of a vault account cannot be changed.");
            }
        }
        None => {
            const CREATABLE: [&str; 6] = [
                "username_password",
                "ssh",
                "ssh_ca",
                "opaque_token",
                "x509_ca",
                "x509_csr",
            ];
            let required: &[&str] = match kind {
                None => {
                    if !errors.has("type") {
                        errors.add("type", "The type field is required.");
                    }
                    &["name"]
                }
                Some(k) if !CREATABLE.contains(&k) => {
                    if !errors.has("type") {
                        let known = VAULT_TYPES.contains(&k);
                        errors.add(
                            "type",
                            if known {
                                format!(
                                    "Vault accounts of type {k} cannot be created through the API."
                                )
                            } else {
                                "The selected type is invalid.".to_owned()
                            },
                        );
                    }
                    &["name"]
                }
                Some("username_password") => &["name", "username", "password"],
                Some("ssh" | "ssh_ca") => &["name", "username", "private_key"],
                Some("opaque_token") => &["name", "token"],
                Some(_) => &["name"],
            };
            for name in required {
                if !body.get(*name).is_some_and(non_empty) && !errors.has(name) {
                    errors.add(
                        name,
                        format!("The {} field is required.", name.replace('_', " ")),
                    );
                }
            }
        }
    }
}

/// What the appliance does to a row on its own when it is written.
pub(super) fn normalize(res: &Resource, body: &Row, row: &mut Row, creating: bool) {
    if res.store != "group_policy" {
        return;
    }
    // `access_perm_status` defaults to `defined` when the request sets any permission (§4.7).
    if creating
        && !body.contains_key("access_perm_status")
        && body.keys().any(|k| k.starts_with("perm_"))
    {
        row.insert("access_perm_status".into(), Value::from("defined"));
    }
    // Jump permissions fall back to false unless access is allowed and defined (§4.7 [OBS]).
    let allowed = is_true(row.get("perm_access_allowed"))
        && effective(res, row, "access_perm_status").as_str() != Some("not_defined");
    if !allowed {
        for name in JUMP_PERMISSIONS {
            if is_true(row.get(*name)) {
                row.insert((*name).into(), Value::Bool(false));
            }
        }
    }
}

/// What deleting a row takes with it (§3.1, §3.3, §9).
pub(super) fn cascade(store: &mut Store, res: &Resource, removed: &Row) {
    let Some(id) = removed.get(res.key()).and_then(Value::as_i64) else {
        return;
    };
    let owned_by = |row: &Row, kind: &str| {
        row.get("jump_group_id").and_then(Value::as_i64) == Some(id)
            && row
                .get("jump_group_type")
                .and_then(Value::as_str)
                .unwrap_or("shared")
                == kind
    };
    let field_is = |row: &Row, field: &str| row.get(field).and_then(Value::as_i64) == Some(id);
    let owners = || {
        RESOURCES
            .iter()
            .filter(|r| r.is_jump_item() || r.store == "jump_client")
    };
    match res.store {
        "jump_group" => {
            for r in owners() {
                store.rows_mut(r).retain(|row| !owned_by(row, "shared"));
            }
            for key in ["jump_group_user", "group_policy_jump_group"] {
                if let Some(r) = by_store(key) {
                    store
                        .rows_mut(r)
                        .retain(|row| !field_is(row, "jump_group_id"));
                }
            }
        }
        "user" => {
            for r in owners() {
                store.rows_mut(r).retain(|row| !owned_by(row, "personal"));
            }
            if let Some(r) = by_store("jump_group_user") {
                store.rows_mut(r).retain(|row| !field_is(row, "user_id"));
            }
        }
        "jumpoint" => {
            for r in RESOURCES.iter().filter(|r| r.is_jump_item()) {
                store
                    .rows_mut(r)
                    .retain(|row| !field_is(row, "jumpoint_id"));
            }
        }
        "group_policy" => {
            if let Some(r) = by_store("group_policy_jump_group") {
                store
                    .rows_mut(r)
                    .retain(|row| !field_is(row, "group_policy_id"));
            }
        }
        "jump_policy" => {
            store.schedules.remove(&id.to_string());
        }
        "vault_account_group" => {
            if let Some(r) = by_store("vault_account") {
                for row in store.rows_mut(r) {
                    if field_is(row, "account_group_id") {
                        row.insert("account_group_id".into(), Value::from(1));
                    }
                }
            }
        }
        _ => {}
    }
}
