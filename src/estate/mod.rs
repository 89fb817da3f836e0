//! The estate: a normalized snapshot of live PRA and Password Safe configuration, in the vendors'
//! own field names (DESIGN.md §3; `reference/pra-config-api.md`, `reference/password-safe-api.md`).
//!
//! On disk (`estate.json`) it is `{format_version, sources, pra, ps}`, where `pra` and `ps` hold
//! one key per collection, named after its endpoint, each row as the endpoint returns it. A row
//! field left out has the default the API documents. `ps` is present exactly when a Password Safe
//! site was read.

mod pra;
mod ps;

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use pra::*;
pub use ps::*;

/// The estate file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A snapshot of live configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Estate {
    /// The estate file format (1).
    #[serde(default = "format_version")]
    pub format_version: u32,
    /// When the snapshot was taken (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<String>,
    /// How complete each source is. Missing in a hand-written estate: every present half is complete.
    #[serde(default)]
    pub sources: Option<Sources>,
    /// Privileged Remote Access.
    #[serde(default)]
    pub pra: Pra,
    /// Password Safe, when a Password Safe site was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ps: Option<Ps>,
}

fn format_version() -> u32 {
    FORMAT_VERSION
}

/// The completeness of each source.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Sources {
    /// PRA.
    pub pra: SourceStatus,
    /// Password Safe.
    pub password_safe: SourceStatus,
}

/// Whether a source was read completely, and if not, why.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct SourceStatus {
    /// The state.
    pub status: Completeness,
    /// Why it is not complete.
    #[serde(default)]
    pub reason: Option<String>,
}

impl SourceStatus {
    /// A source read in full.
    pub fn complete() -> Self {
        SourceStatus {
            status: Completeness::Complete,
            reason: None,
        }
    }
    /// A source no site was configured for.
    pub fn not_configured() -> Self {
        SourceStatus {
            status: Completeness::NotConfigured,
            reason: None,
        }
    }
}

/// How much of a source was read.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Completeness {
    /// Everything.
    Complete,
    /// Some calls failed or returned less than announced.
    Partial,
    /// Nothing could be read.
    Unavailable,
    /// No site configured.
    NotConfigured,
}

/// Why an estate file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EstateError {
    /// The file could not be read.
    #[error("cannot read estate file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not an estate.
    #[error("{path} is not a valid estate file: {source}")]
    Json {
        /// The file.
        path: String,
        /// The cause, with line and column.
        source: serde_json::Error,
    },
    /// The file was written by a newer jumpguard.
    #[error(
        "{path} has estate format_version {found}; this jumpguard reads version {FORMAT_VERSION}"
    )]
    Version {
        /// The file.
        path: String,
        /// The version found.
        found: u32,
    },
}

impl Estate {
    /// Reads an estate file.
    pub fn load(path: &Path) -> Result<Estate, EstateError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| EstateError::Io {
            path: shown.clone(),
            source,
        })?;
        Estate::from_json(&bytes, &shown)
    }

    /// Parses an estate from JSON bytes; `name` is used in errors.
    pub fn from_json(bytes: &[u8], name: &str) -> Result<Estate, EstateError> {
        let estate: Estate = serde_json::from_slice(bytes).map_err(|source| EstateError::Json {
            path: name.to_owned(),
            source,
        })?;
        if estate.format_version != FORMAT_VERSION {
            return Err(EstateError::Version {
                path: name.to_owned(),
                found: estate.format_version,
            });
        }
        Ok(estate)
    }

    /// The completeness of each source, derived when the file does not say.
    pub fn sources(&self) -> Sources {
        self.sources.clone().unwrap_or_else(|| Sources {
            pra: SourceStatus::complete(),
            password_safe: if self.ps.is_some() {
                SourceStatus::complete()
            } else {
                SourceStatus::not_configured()
            },
        })
    }

    /// Whether Password Safe is in scope (a Password Safe source was configured).
    pub fn has_password_safe(&self) -> bool {
        self.ps.is_some() || self.sources().password_safe.status != Completeness::NotConfigured
    }

    /// A fingerprint of the whole snapshot: a plan made from it is stale once this changes.
    pub fn fingerprint(&self) -> String {
        let mut halves = BTreeMap::new();
        halves.insert("pra", fingerprint(&self.pra));
        if let Some(ps) = &self.ps {
            halves.insert("ps", fingerprint(ps));
        }
        fingerprint(&halves)
    }
}

/// The fields that identify a row of each collection (a sub-resource row: its parent's id too).
const IDENTITIES: &[(&str, &[&str])] = &[
    ("jump_client", &["id"]),
    ("jump_group", &["id"]),
    ("jump_group_user", &["jump_group_id", "user_id"]),
    ("group_policy", &["id"]),
    (
        "group_policy_jump_group",
        &["group_policy_id", "jump_group_id"],
    ),
    ("jump_policy", &["id"]),
    ("jump_item_role", &["id"]),
    ("jumpoint", &["id"]),
    ("user", &["id"]),
    ("team", &["id"]),
    ("session_policy", &["id"]),
    ("vault_account", &["id"]),
    ("vault_account_group", &["id"]),
    ("managed_systems", &["ManagedSystemID"]),
    ("managed_accounts", &["ManagedAccountID"]),
    ("smart_rules", &["SmartRuleID"]),
    ("user_groups", &["GroupID"]),
    ("user_group_users", &["GroupID", "UserID"]),
    ("roles", &["RoleID"]),
    ("role_assignments", &["UserGroupID", "SmartRuleID"]),
    ("access_policies", &["AccessPolicyID"]),
    ("ticket_systems", &["TicketSystemID"]),
    ("api_registrations", &["Id"]),
];

impl Estate {
    /// A fingerprint of every object, keyed `pra/<collection>/<id>` (`pra/jump_item/<type>/<id>`,
    /// `ps/role_assignments/<group>/<rule>`). A plan records the ones it expects; `apply` compares.
    pub fn object_fingerprints(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let halves = [
            ("pra", serde_json::to_value(&self.pra).ok()),
            (
                "ps",
                self.ps.as_ref().and_then(|p| serde_json::to_value(p).ok()),
            ),
        ];
        for (half, value) in halves {
            let Some(serde_json::Value::Object(collections)) = value else {
                continue;
            };
            for (name, rows) in &collections {
                match (name.as_str(), rows) {
                    ("jump_item", serde_json::Value::Object(types)) => {
                        for (ty, items) in types {
                            for row in items.as_array().into_iter().flatten() {
                                out.insert(
                                    format!("{half}/jump_item/{ty}/{}", row["id"]),
                                    fingerprint(row),
                                );
                            }
                        }
                    }
                    ("jump_policy_schedule", serde_json::Value::Object(by_policy)) => {
                        for (id, row) in by_policy {
                            out.insert(
                                format!("{half}/jump_policy_schedule/{id}"),
                                fingerprint(row),
                            );
                        }
                    }
                    (_, serde_json::Value::Array(rows)) => {
                        let fields = IDENTITIES
                            .iter()
                            .find(|(c, _)| *c == name)
                            .map_or(&["id"][..], |(_, f)| *f);
                        for row in rows {
                            let id: Vec<String> =
                                fields.iter().map(|f| row[*f].to_string()).collect();
                            out.insert(format!("{half}/{name}/{}", id.join("/")), fingerprint(row));
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

/// A stable fingerprint of any object: SHA-256 over its JSON with keys sorted, hex, 16 bytes.
/// Field order and formatting of the source do not matter; any value change does.
pub fn fingerprint<T: Serialize + ?Sized>(value: &T) -> String {
    let mut canonical = String::new();
    if let Ok(v) = serde_json::to_value(value) {
        write_canonical(&v, &mut canonical);
    }
    let digest = Sha256::digest(canonical.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted at every level. A dependency turns on serde_json's
/// `preserve_order`, so `Value::to_string` alone would follow the input's key order.
fn write_canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Ids in the PRA API are positive integers; `null` and `0` both mean "none" on memberships.
pub(crate) fn nonzero(id: Option<i64>) -> Option<i64> {
    id.filter(|i| *i != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_key_order_but_not_values() {
        let a: serde_json::Value = serde_json::from_str(r#"{"id":1,"name":"x"}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"name":"x","id":1}"#).unwrap();
        let c: serde_json::Value = serde_json::from_str(r#"{"name":"y","id":1}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn a_hand_written_estate_is_complete_for_the_halves_it_has() {
        let e = Estate::from_json(br#"{"pra": {}}"#, "t").unwrap();
        assert_eq!(e.sources().pra.status, Completeness::Complete);
        assert_eq!(
            e.sources().password_safe.status,
            Completeness::NotConfigured
        );
        assert!(!e.has_password_safe());
        let e = Estate::from_json(br#"{"pra": {}, "ps": {}}"#, "t").unwrap();
        assert!(e.has_password_safe());
    }

    #[test]
    fn every_object_has_a_fingerprint_that_follows_its_content() {
        let json = br#"{"pra": {"jump_item": {"remote-rdp": [{"id": 7, "name": "a", "hostname": "a.corp.example", "jump_group_id": 1}]},
                               "jump_group_user": [{"jump_group_id": 1, "user_id": 2}]},
                       "ps": {"role_assignments": [{"UserGroupID": 3, "SmartRuleID": 4, "Roles": []}]}}"#;
        let e = Estate::from_json(json, "t").unwrap();
        let fps = e.object_fingerprints();
        let keys: Vec<&str> = fps.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "pra/jump_group_user/1/2",
                "pra/jump_item/remote-rdp/7",
                "ps/role_assignments/3/4"
            ]
        );
        let mut changed = e.clone();
        changed.pra.jump_item.values_mut().next().unwrap()[0].jump_policy_id = Some(5);
        let after = changed.object_fingerprints();
        assert_ne!(
            fps["pra/jump_item/remote-rdp/7"],
            after["pra/jump_item/remote-rdp/7"]
        );
        assert_eq!(
            fps["pra/jump_group_user/1/2"],
            after["pra/jump_group_user/1/2"]
        );
        assert_ne!(e.fingerprint(), changed.fingerprint());
    }

    #[test]
    fn newer_formats_are_refused() {
        let err = Estate::from_json(br#"{"format_version": 9, "pra": {}}"#, "t").unwrap_err();
        assert!(err.to_string().contains("format_version 9"));
    }
}
