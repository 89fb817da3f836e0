//! The estate: a normalized snapshot of live PRA and Password Safe configuration, in the vendors'
//! own field names (DESIGN.md §3; `reference/pra-config-api.md`, `reference/password-safe-api.md`).
//!
//! On disk (`estate.json`) it is `{format_version, sources, pra, ps}`, where `pra` and `ps` hold
//! one key per collection, named after its endpoint, each row as the endpoint returns it. A row
//! field left out has the default the API documents. `ps` is present exactly when a Password Safe
//! site was read.

mod canonical;
mod pra;
mod ps;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use schemars::JsonSchema;
use std::fmt::Write as _;

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

impl Completeness {
    /// In words, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Completeness::Complete => "complete",
            Completeness::Partial => "partial",
            Completeness::Unavailable => "unavailable",
            Completeness::NotConfigured => "not configured",
        }
    }
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
        // The two halves are hashed side by side: a tenth of a second each on a large estate.
        std::thread::scope(|scope| {
            let ps = self.ps.as_ref().map(|ps| scope.spawn(|| fingerprint(ps)));
            halves.insert("pra", fingerprint(&self.pra));
            if let Some(ps) = ps {
                let ps = ps.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                halves.insert("ps", ps);
            }
        });
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
    let text = canonical::to_canonical(value).unwrap_or_default();
    let digest = Sha256::digest(&text);
    let mut hex = String::with_capacity(32);
    for b in &digest[..16] {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The fingerprints of single objects of an estate, keyed as [`Estate::object_fingerprints`]
/// keys them, computed when asked for: a plan needs the fingerprints of the few thousand
/// objects it touches, not of the few hundred thousand of a large estate.
pub struct ObjectFingerprints<'e> {
    estate: &'e Estate,
    /// Collection (`pra/jump_item/remote-rdp`, `ps/managed_accounts`) → identity → position
    /// of the row; the last row wins, as in `object_fingerprints`.
    index: RefCell<HashMap<String, HashMap<String, usize>>>,
    memo: RefCell<HashMap<String, Option<String>>>,
}

impl<'e> ObjectFingerprints<'e> {
    /// Fingerprints of the objects of `estate`.
    pub fn new(estate: &'e Estate) -> Self {
        ObjectFingerprints {
            estate,
            index: RefCell::default(),
            memo: RefCell::default(),
        }
    }

    /// The fingerprint of the object `key` names; `None` when the estate has no such object.
    pub fn get(&self, key: &str) -> Option<String> {
        if let Some(known) = self.memo.borrow().get(key) {
            return known.clone();
        }
        let found = self.compute(key);
        self.memo.borrow_mut().insert(key.to_owned(), found.clone());
        found
    }

    fn compute(&self, key: &str) -> Option<String> {
        let (half, rest) = key.split_once('/')?;
        let (name, id) = rest.split_once('/')?;
        let (collection, id) = match (half, name) {
            ("pra", "jump_item") => {
                let (ty, id) = id.split_once('/')?;
                (format!("pra/jump_item/{ty}"), id)
            }
            ("pra", "jump_policy_schedule") => {
                return self
                    .estate
                    .pra
                    .jump_policy_schedule
                    .get(id)
                    .map(fingerprint);
            }
            _ => (format!("{half}/{name}"), id),
        };
        let mut index = self.index.borrow_mut();
        if !index.contains_key(&collection) {
            let ids = self.identities(&collection)?;
            let mut positions = HashMap::with_capacity(ids.len());
            for (i, identity) in ids.into_iter().enumerate() {
                positions.insert(identity, i);
            }
            index.insert(collection.clone(), positions);
        }
        let position = *index.get(&collection)?.get(id)?;
        self.fingerprint_at(&collection, position)
    }

    /// The identity of every row of a collection, spelled as `object_fingerprints` spells it
    /// (ids are integers, so `row[field].to_string()` is the number).
    fn identities(&self, collection: &str) -> Option<Vec<String>> {
        let pra = &self.estate.pra;
        let one = |ids: &mut dyn Iterator<Item = i64>| ids.map(|i| i.to_string()).collect();
        let two = |ids: &mut dyn Iterator<Item = (i64, i64)>| {
            ids.map(|(a, b)| format!("{a}/{b}")).collect()
        };
        if let Some(ty) = collection.strip_prefix("pra/jump_item/") {
            let ty = JumpItemType::ALL.into_iter().find(|t| t.segment() == ty)?;
            return Some(one(&mut pra.jump_item.get(&ty)?.iter().map(|r| r.id)));
        }
        if let Some(name) = collection.strip_prefix("pra/") {
            return Some(match name {
                "jump_client" => one(&mut pra.jump_client.iter().map(|r| r.id)),
                "jump_group" => one(&mut pra.jump_group.iter().map(|r| r.id)),
                "jump_group_user" => two(&mut pra
                    .jump_group_user
                    .iter()
                    .map(|r| (r.jump_group_id, r.user_id))),
                "group_policy" => one(&mut pra.group_policy.iter().map(|r| r.id)),
                "group_policy_jump_group" => two(&mut pra
                    .group_policy_jump_group
                    .iter()
                    .map(|r| (r.group_policy_id, r.jump_group_id))),
                "jump_policy" => one(&mut pra.jump_policy.iter().map(|r| r.id)),
                "jump_item_role" => one(&mut pra.jump_item_role.iter().map(|r| r.id)),
                "jumpoint" => one(&mut pra.jumpoint.iter().map(|r| r.id)),
                "user" => one(&mut pra.user.iter().map(|r| r.id)),
                "team" => one(&mut pra.team.iter().map(|r| r.id)),
                "session_policy" => one(&mut pra.session_policy.iter().map(|r| r.id)),
                "vault_account" => one(&mut pra.vault_account.iter().map(|r| r.id)),
                "vault_account_group" => one(&mut pra.vault_account_group.iter().map(|r| r.id)),
                _ => return None,
            });
        }
        let ps = self.estate.ps.as_ref()?;
        Some(match collection.strip_prefix("ps/")? {
            "managed_systems" => one(&mut ps.managed_systems.iter().map(|r| r.managed_system_id)),
            "managed_accounts" => {
                one(&mut ps.managed_accounts.iter().map(|r| r.managed_account_id))
            }
            "smart_rules" => one(&mut ps.smart_rules.iter().map(|r| r.smart_rule_id)),
            "user_groups" => one(&mut ps.user_groups.iter().map(|r| r.group_id)),
            "user_group_users" => {
                two(&mut ps.user_group_users.iter().map(|r| (r.group_id, r.user_id)))
            }
            "roles" => one(&mut ps.roles.iter().map(|r| r.role_id)),
            "role_assignments" => two(&mut ps
                .role_assignments
                .iter()
                .map(|r| (r.user_group_id, r.smart_rule_id))),
            "access_policies" => one(&mut ps.access_policies.iter().map(|r| r.access_policy_id)),
            "ticket_systems" => one(&mut ps.ticket_systems.iter().map(|r| r.ticket_system_id)),
            "api_registrations" => one(&mut ps.api_registrations.iter().map(|r| r.id)),
            _ => return None,
        })
    }

    fn fingerprint_at(&self, collection: &str, i: usize) -> Option<String> {
        let pra = &self.estate.pra;
        if let Some(ty) = collection.strip_prefix("pra/jump_item/") {
            let ty = JumpItemType::ALL.into_iter().find(|t| t.segment() == ty)?;
            return pra.jump_item.get(&ty)?.get(i).map(fingerprint);
        }
        if let Some(name) = collection.strip_prefix("pra/") {
            return match name {
                "jump_client" => pra.jump_client.get(i).map(fingerprint),
                "jump_group" => pra.jump_group.get(i).map(fingerprint),
                "jump_group_user" => pra.jump_group_user.get(i).map(fingerprint),
                "group_policy" => pra.group_policy.get(i).map(fingerprint),
                "group_policy_jump_group" => pra.group_policy_jump_group.get(i).map(fingerprint),
                "jump_policy" => pra.jump_policy.get(i).map(fingerprint),
                "jump_item_role" => pra.jump_item_role.get(i).map(fingerprint),
                "jumpoint" => pra.jumpoint.get(i).map(fingerprint),
                "user" => pra.user.get(i).map(fingerprint),
                "team" => pra.team.get(i).map(fingerprint),
                "session_policy" => pra.session_policy.get(i).map(fingerprint),
                "vault_account" => pra.vault_account.get(i).map(fingerprint),
                "vault_account_group" => pra.vault_account_group.get(i).map(fingerprint),
                _ => None,
            };
        }
        let ps = self.estate.ps.as_ref()?;
        match collection.strip_prefix("ps/")? {
            "managed_systems" => ps.managed_systems.get(i).map(fingerprint),
            "managed_accounts" => ps.managed_accounts.get(i).map(fingerprint),
            "smart_rules" => ps.smart_rules.get(i).map(fingerprint),
            "user_groups" => ps.user_groups.get(i).map(fingerprint),
            "user_group_users" => ps.user_group_users.get(i).map(fingerprint),
            "roles" => ps.roles.get(i).map(fingerprint),
            "role_assignments" => ps.role_assignments.get(i).map(fingerprint),
            "access_policies" => ps.access_policies.get(i).map(fingerprint),
            "ticket_systems" => ps.ticket_systems.get(i).map(fingerprint),
            "api_registrations" => ps.api_registrations.get(i).map(fingerprint),
            _ => None,
        }
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

    /// The fingerprint as first written: the canonical text built as a String, then hashed.
    fn fingerprint_v1(value: &serde_json::Value) -> String {
        fn canonical(v: &serde_json::Value, out: &mut String) {
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
                        canonical(&map[k], out);
                    }
                    out.push('}');
                }
                serde_json::Value::Array(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        canonical(item, out);
                    }
                    out.push(']');
                }
                other => out.push_str(&other.to_string()),
            }
        }
        let mut text = String::new();
        canonical(value, &mut text);
        let digest = Sha256::digest(text.as_bytes());
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn fingerprints_are_those_of_the_first_implementation() {
        let big: Vec<serde_json::Value> = (0..5000)
            .map(|i| serde_json::json!({"id": i, "name": format!("item {i} \u{e9}\"\\\n"), "x": [1.5, -0.0, 1e300, null, true]}))
            .collect();
        for v in [
            serde_json::json!(null),
            serde_json::json!({"b": 1, "a": {"d": [1, 2, {"z": "\u{1F600}", "y": "tab\t"}], "c": 1.25}}),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!("plain"),
            serde_json::json!(big),
        ] {
            assert_eq!(fingerprint(&v), fingerprint_v1(&v), "{v}");
        }
        let seed: serde_json::Value =
            serde_json::from_str(include_str!("../../examples/seed/estate.json")).unwrap();
        assert_eq!(fingerprint(&seed), fingerprint_v1(&seed));
        // Typed values go straight to canonical text, without a `Value`: the same text.
        let typed = |v: &dyn Fn() -> (String, serde_json::Value)| {
            let (fp, value) = v();
            assert_eq!(fp, fingerprint_v1(&value), "{value}");
        };
        let seed =
            Estate::from_json(include_bytes!("../../examples/seed/estate.json"), "seed").unwrap();
        let generated: Estate =
            serde_json::from_value(crate::generate::generate(1000, 9).estate).unwrap();
        for e in [&seed, &generated] {
            typed(&|| (fingerprint(&e.pra), serde_json::to_value(&e.pra).unwrap()));
            typed(&|| (fingerprint(&e.ps), serde_json::to_value(&e.ps).unwrap()));
        }
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Wrapper(i32);
        #[derive(Serialize)]
        enum Shapes {
            Plain,
            Newtype(Vec<u8>),
            Tuple(i8, String),
            Struct { z: f32, a: Option<char> },
        }
        #[derive(Serialize)]
        struct All {
            unit: Unit,
            wrapper: Wrapper,
            shapes: Vec<Shapes>,
            by_number: BTreeMap<i64, bool>,
            by_bool: BTreeMap<bool, u128>,
            by_variant: BTreeMap<JumpItemType, ()>,
            bytes: serde_json::Value,
            tuple: (u8, f64, &'static str),
        }
        let all = All {
            unit: Unit,
            wrapper: Wrapper(-3),
            shapes: vec![
                Shapes::Plain,
                Shapes::Newtype(vec![1, 2]),
                Shapes::Tuple(-1, "x\"y".into()),
                Shapes::Struct {
                    z: 0.1,
                    a: Some('é'),
                },
                Shapes::Struct {
                    z: f32::NAN,
                    a: None,
                },
            ],
            by_number: BTreeMap::from([(10, true), (-2, false), (3, true)]),
            by_bool: BTreeMap::from([(true, 1), (false, u128::from(u64::MAX))]),
            by_variant: BTreeMap::from([
                (JumpItemType::WebJump, ()),
                (JumpItemType::RemoteRdp, ()),
            ]),
            bytes: serde_json::json!({"k": [1, {"b": 2, "a": 1}]}),
            tuple: (255, 1e-7, "t"),
        };
        typed(&|| (fingerprint(&all), serde_json::to_value(&all).unwrap()));
    }

    #[test]
    fn single_objects_have_the_fingerprints_of_the_whole_listing() {
        let seed = Estate::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed/estate.json"),
        )
        .unwrap();
        let generated: Estate =
            serde_json::from_value(crate::generate::generate(1000, 5).estate).unwrap();
        for e in [&seed, &generated] {
            let all = e.object_fingerprints();
            let single = ObjectFingerprints::new(e);
            for (key, fp) in &all {
                assert_eq!(single.get(key).as_ref(), Some(fp), "{key}");
            }
            for absent in [
                "pra/jump_item/remote-rdp/999999",
                "pra/jump_group_user/1/999999",
                "ps/role_assignments/999/999",
                "pra/nothing/1",
                "nonsense",
            ] {
                assert_eq!(single.get(absent), None, "{absent}");
            }
        }
    }

    #[test]
    fn newer_formats_are_refused() {
        let err = Estate::from_json(br#"{"format_version": 9, "pra": {}}"#, "t").unwrap_err();
        assert!(err.to_string().contains("format_version 9"));
    }
}
