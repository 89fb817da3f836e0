//! Loading a policy: files and directories, includes, the schema check, merging and semantic
//! validation. Every problem of a run is collected; nothing stops at the first one.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde_json::Value;

use super::diag::{did_you_mean, FileId, Place, Problem, Sources};
use super::hosts::{normalize_name, HostPattern};
use super::spanned::{Loc, Spanned};
use super::types::*;
use super::yaml::{Node, PathStep};
use super::*;
use crate::rules::Rule;

/// Built-in policy packs, embedded in the binary, by the name `include` uses.
const BUILTIN_PACKS: &[(&str, &str)] = &[(
    "jumpguard:baseline",
    include_str!("../../policies/baseline.yaml"),
)];

/// A policy that could not be loaded: every problem found, and the files they point into.
#[derive(Debug)]
pub struct LoadError {
    /// The files read.
    pub sources: Sources,
    /// The problems, in the order they were found.
    pub problems: Vec<Problem>,
}

/// The JSON Schema (draft-07) of a policy file, generated from [`PolicyFile`].
pub fn schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<PolicyFile>();
    let mut value = serde_json::to_value(schema).unwrap_or(Value::Null);
    drop_null_branches(&mut value);
    value
}

/// schemars writes an enum with documented variants as `oneOf` of `const`s; an `enum` gives
/// the same constraint with a precise error ("not one of: required, not_required").
fn collapse_const_branches(map: &mut serde_json::Map<String, Value>) {
    let Some(Value::Array(branches)) = map.get("oneOf") else {
        return;
    };
    let consts: Option<Vec<(Value, Option<String>)>> = branches
        .iter()
        .map(|b| {
            let c = b
                .get("const")
                .or_else(|| b.get("enum").and_then(|e| e.get(0)))?;
            Some((
                c.clone(),
                b.get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ))
        })
        .collect();
    let Some(consts) = consts else { return };
    let notes: Vec<String> = consts
        .iter()
        .filter_map(|(c, d)| {
            d.as_ref()
                .map(|d| format!("`{}`: {d}", c.as_str().unwrap_or_default()))
        })
        .collect();
    map.remove("oneOf");
    map.insert("type".into(), Value::String("string".into()));
    map.insert(
        "enum".into(),
        Value::Array(consts.into_iter().map(|(c, _)| c).collect()),
    );
    if !notes.is_empty() && !map.contains_key("description") {
        map.insert("description".into(), Value::String(notes.join(" ")));
    }
}

/// Optional keys are written out or left away; `null` is not a value the language gives them.
/// Dropping schemars' `null` alternatives keeps editor hints and schema errors precise
/// ("expected string" rather than "not valid under any of the schemas in anyOf").
fn drop_null_branches(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            let single = match map.get_mut("anyOf") {
                Some(Value::Array(branches)) => {
                    branches.retain(|b| b.get("type").and_then(Value::as_str) != Some("null"));
                    (branches.len() == 1).then(|| branches.remove(0))
                }
                _ => None,
            };
            if let Some(Value::Object(branch)) = single {
                map.remove("anyOf");
                for (k, val) in branch {
                    map.entry(k).or_insert(val);
                }
            }
            collapse_const_branches(map);
            map.values_mut().for_each(drop_null_branches);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_branches),
        _ => {}
    }
}

/// Loads a policy from a file or a directory (its `*.yaml`/`*.yml`, no recursion).
/// `today` judges `attested_on` dates that lie in the future.
pub fn load(path: &Path, today: Date) -> Result<Policy, LoadError> {
    let mut loader = Loader::new(today);
    let layer = loader.layer(Input::Path(path.to_path_buf()));
    loader.finish(layer)
}

/// Loads a policy from one YAML text (tests, stdin). Relative includes resolve against the
/// current directory.
pub fn load_str(name: &str, text: &str, today: Date) -> Result<Policy, LoadError> {
    let mut loader = Loader::new(today);
    let layer = loader.layer(Input::Text(name.to_owned(), text.to_owned()));
    loader.finish(layer)
}

enum Input {
    Path(PathBuf),
    Text(String, String),
    Builtin(&'static str, &'static str),
}

struct Loader {
    sources: Sources,
    problems: Vec<Problem>,
    schema: Value,
    validator: Option<jsonschema::Validator>,
    stack: Vec<String>,
    today: Date,
}

/// What a set of files says, before includes are folded in and before compilation.
#[derive(Default)]
struct Layer {
    first_file: Option<FileId>,
    pra_url: Option<(String, Place)>,
    password_safe_url: Option<(String, Place)>,
    jump_policies: Vec<(String, Place, JumpPolicySpec)>,
    jump_groups: Vec<(String, Place, JumpGroupSpec)>,
    targets: Vec<(FileId, TargetSpec)>,
    unmanaged: Option<(Unmanaged, Place)>,
    self_approval: Option<(Permission, Place)>,
    recordings: Option<(Requirement, Place)>,
    editing_roles: Option<(Permission, Place)>,
    personal_jump_items: Option<(Permission, Place)>,
    ecm_user_groups: Option<(Vec<String>, Place)>,
    password_safe: Option<Place>,
    attestations: Vec<(FileId, AttestationSpec)>,
    waivers: Vec<(FileId, WaiverSpec)>,
}

impl Loader {
    fn new(today: Date) -> Self {
        let schema = schema();
        let validator = jsonschema::draft7::new(&schema).ok();
        Loader {
            sources: Sources::default(),
            problems: Vec::new(),
            schema,
            validator,
            stack: Vec::new(),
            today,
        }
    }

    fn finish(mut self, layer: Layer) -> Result<Policy, LoadError> {
        let policy = self.compile(layer);
        if self.problems.is_empty() {
            Ok(Policy {
                sources: self.sources,
                ..policy
            })
        } else {
            Err(LoadError {
                sources: self.sources,
                problems: self.problems,
            })
        }
    }

    /// Reads one input (a file, a directory, a text or a built-in pack) with its includes.
    fn layer(&mut self, input: Input) -> Layer {
        let mut files: Vec<(String, String, Option<PathBuf>)> = Vec::new();
        match input {
            Input::Text(name, text) => files.push((name, text, std::env::current_dir().ok())),
            Input::Builtin(name, text) => files.push((name.to_owned(), text.to_owned(), None)),
            Input::Path(path) => match self.read_path(&path) {
                Some(f) => files = f,
                None => return Layer::default(),
            },
        }
        let mut own = Layer::default();
        let mut includes = Vec::new();
        for (name, text, dir) in files {
            let Some((file, parsed)) = self.parse_file(name, text) else {
                continue;
            };
            for inc in &parsed.include {
                includes.push((file, dir.clone(), inc.clone()));
            }
            let layer = Layer::from_file(file, parsed);
            own = self.merge(own, layer, true);
        }
        let mut defaults = Layer::default();
        for (file, dir, inc) in includes {
            let place = Place::new(file, inc.loc);
            let Some((key, input)) = self.resolve_include(&inc.value, dir.as_deref(), place) else {
                continue;
            };
            if let Some(pos) = self.stack.iter().position(|k| *k == key) {
                let chain = self.stack[pos..].join(" -> ");
                self.problems.push(
                    Problem::at(
                        "policy::include-cycle",
                        place,
                        format!("include cycle: {chain} -> {key}"),
                        "includes a policy that includes this one",
                    )
                    .with_help("remove one of the includes so that the chain ends"),
                );
                continue;
            }
            self.stack.push(key);
            let first_new = self.sources.files.len();
            let layer = self.layer(input);
            self.stack.pop();
            // A built-in pack is no file of the repository: findings about what it says point
            // at the `include` that brought it in.
            for f in &mut self.sources.files[first_new..] {
                if f.name.starts_with("jumpguard:") && f.included_from.is_none() {
                    f.included_from = Some(place);
                }
            }
            defaults = self.merge(defaults, layer, true);
        }
        self.merge(defaults, own, false)
    }

    fn resolve_include(
        &mut self,
        spec: &str,
        dir: Option<&Path>,
        place: Place,
    ) -> Option<(String, Input)> {
        if let Some(pack) = spec.strip_prefix("jumpguard:") {
            return match BUILTIN_PACKS.iter().find(|(n, _)| *n == spec) {
                Some((name, text)) => Some((name.to_string(), Input::Builtin(name, text))),
                None => {
                    let names: Vec<&str> = BUILTIN_PACKS.iter().map(|(n, _)| *n).collect();
                    let mut p = Problem::at(
                        "policy::unknown-pack",
                        place,
                        format!("unknown built-in pack `{pack}`"),
                        "no such pack",
                    );
                    p = p.with_help(match did_you_mean(spec, names.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("built-in packs: {}", names.join(", ")),
                    });
                    self.problems.push(p);
                    None
                }
            };
        }
        let path = match dir {
            Some(d) => d.join(spec),
            None => PathBuf::from(spec),
        };
        if !path.exists() {
            self.problems.push(
                Problem::at(
                    "policy::include-missing",
                    place,
                    format!("included policy `{spec}` does not exist"),
                    format!("looked for {}", path.display()),
                )
                .with_help("include paths are relative to the file that includes them"),
            );
            return None;
        }
        let key = path
            .canonicalize()
            .unwrap_or(path.clone())
            .display()
            .to_string();
        Some((key, Input::Path(path)))
    }

    fn read_path(&mut self, path: &Path) -> Option<Vec<(String, String, Option<PathBuf>)>> {
        let mut paths = Vec::new();
        if path.is_dir() {
            let entries = match std::fs::read_dir(path) {
                Ok(e) => e,
                Err(e) => {
                    self.problems.push(
                        Problem::nowhere(
                            "policy::unreadable",
                            format!("cannot read policy directory {}: {e}", path.display()),
                        )
                        .with_help("check the directory's permissions"),
                    );
                    return None;
                }
            };
            for e in entries.flatten() {
                let p = e.path();
                let is_yaml = p.extension().is_some_and(|x| x == "yaml" || x == "yml");
                if is_yaml && p.is_file() {
                    paths.push(p);
                }
            }
            paths.sort();
            if paths.is_empty() {
                self.problems.push(
                    Problem::nowhere(
                        "policy::empty",
                        format!("no *.yaml or *.yml file in {}", path.display()),
                    )
                    .with_help("point -p at a policy file or at a directory holding policy files"),
                );
                return None;
            }
        } else if path.is_file() {
            paths.push(path.to_path_buf());
        } else {
            self.problems.push(
                Problem::nowhere(
                    "policy::not-found",
                    format!("policy path {} does not exist", path.display()),
                )
                .with_help("pass -p with a policy file or directory (default ./policies)"),
            );
            return None;
        }
        let mut out = Vec::new();
        for p in paths {
            match std::fs::read_to_string(&p) {
                Ok(text) => out.push((
                    p.display().to_string(),
                    text,
                    p.parent().map(Path::to_path_buf),
                )),
                Err(e) => self.problems.push(
                    Problem::nowhere(
                        "policy::unreadable",
                        format!("cannot read {}: {e}", p.display()),
                    )
                    .with_help("policy files must be readable UTF-8 text"),
                ),
            }
        }
        Some(out)
    }

    /// YAML syntax, duplicate keys, the schema, then the typed form. `None` when any failed.
    fn parse_file(&mut self, name: String, text: String) -> Option<(FileId, PolicyFile)> {
        let file = self.sources.add(name, text.clone());
        let node = match Node::parse(&text) {
            Ok(n) => n,
            Err(e) => {
                let place = Place::new(file, e.location().map(Loc::from).unwrap_or_default());
                let msg = e.without_snippet().to_string();
                self.problems.push(
                    Problem::at(
                        "policy::yaml",
                        place,
                        format!("invalid YAML: {}", first_line(&msg)),
                        "here",
                    )
                    .with_help("fix the YAML syntax; strings with `:` or `#` need quotes"),
                );
                return None;
            }
        };
        let duplicates = node.duplicate_keys();
        for (first, dup) in &duplicates {
            let key = dup.key_text();
            self.problems.push(
                Problem::at(
                    "policy::duplicate-key",
                    Place::new(file, dup.loc),
                    format!("key `{key}` is defined twice in one mapping"),
                    "defined again here",
                )
                .also(Place::new(file, first.loc), "first defined here")
                .with_help("keep one of the two definitions"),
            );
        }
        if !duplicates.is_empty() {
            return None;
        }
        let json = node.to_json();
        if json.is_null() {
            return Some((file, PolicyFile::default()));
        }
        if !self.check_schema(file, &node, &json) {
            return None;
        }
        match serde_saphyr::from_str_with_options::<PolicyFile>(&text, super::yaml::yaml_options())
        {
            Ok(p) => Some((file, p)),
            Err(e) => {
                let place = Place::new(file, e.location().map(Loc::from).unwrap_or_default());
                let msg = e.without_snippet().to_string();
                self.problems.push(
                    Problem::at(
                        "policy::invalid",
                        place,
                        first_line(&msg).to_string(),
                        "here",
                    )
                    .with_help("compare with schemas/jumpguard-policy.schema.json"),
                );
                None
            }
        }
    }

    /// Validates a file against the schema; maps each error back to its YAML node.
    fn check_schema(&mut self, file: FileId, node: &Node, json: &Value) -> bool {
        let Some(validator) = &self.validator else {
            return true;
        };
        let mut ok = true;
        let mut found = Vec::new();
        for err in validator.iter_errors(json) {
            ok = false;
            let steps: Vec<Step> = err
                .instance_path()
                .iter()
                .map(|s| match s {
                    jsonschema::paths::LocationSegment::Property(p) => Step::Key(p.to_string()),
                    jsonschema::paths::LocationSegment::Index(i) => Step::Index(i),
                })
                .collect();
            let (target, key) = node.at(steps.iter().map(Step::as_path_step));
            let dotted = dotted(&steps);
            use jsonschema::error::ValidationErrorKind as K;
            match err.kind() {
                K::AdditionalProperties { unexpected } => {
                    let allowed = allowed_keys(&self.schema, &steps);
                    for key in unexpected {
                        let key_node = match &target.value {
                            super::yaml::NodeValue::Map(entries) => entries
                                .iter()
                                .find(|(k, _)| k.key_text() == *key)
                                .map(|(k, _)| k.loc),
                            _ => None,
                        };
                        let place = Place::new(file, key_node.unwrap_or(target.loc));
                        let where_ = if dotted.is_empty() {
                            "at the top level".to_string()
                        } else {
                            format!("in `{dotted}`")
                        };
                        let help = match did_you_mean(key, allowed.iter().map(String::as_str)) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("valid keys here: {}", allowed.join(", ")),
                        };
                        found.push(
                            Problem::at(
                                "policy::unknown-key",
                                place,
                                format!("unknown key `{key}` {where_}"),
                                "unknown key",
                            )
                            .with_help(help),
                        );
                    }
                }
                K::Required { property } => {
                    let prop = property.as_str().unwrap_or_default().to_string();
                    let place = Place::new(file, key.map_or(target.loc, |k| k.loc));
                    let what = if dotted.is_empty() {
                        "the policy".to_string()
                    } else {
                        format!("`{dotted}`")
                    };
                    let help = match prop.as_str() {
                        "expires" => {
                            "add `expires: YYYY-MM-DD`: every waiver and attestation must expire"
                                .to_string()
                        }
                        _ => format!("add `{prop}`"),
                    };
                    found.push(
                        Problem::at(
                            "policy::missing-key",
                            place,
                            format!("{what} is missing the required key `{prop}`"),
                            format!("`{prop}` missing"),
                        )
                        .with_help(help),
                    );
                }
                K::Enum { options } => {
                    let options: Vec<String> = options
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    let value = err
                        .instance()
                        .as_str()
                        .map_or(err.instance().to_string(), str::to_string);
                    let mut help = match did_you_mean(&value, options.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("expected one of: {}", options.join(", ")),
                    };
                    if dotted.ends_with(".rule")
                        && Rule::from_id(&value).is_some_and(|r| !r.waivable())
                    {
                        help = format!("`{value}` cannot be waived: fix the waiver or attestation it reports instead");
                    }
                    found.push(
                        Problem::at(
                            "policy::invalid-value",
                            Place::new(file, target.loc),
                            format!("`{value}` is not a valid value for `{dotted}`"),
                            "not allowed here",
                        )
                        .with_help(help),
                    );
                }
                K::Type { kind } => {
                    let expected = match kind {
                        jsonschema::error::TypeKind::Single(t) => t.to_string(),
                        jsonschema::error::TypeKind::Multiple(ts) => {
                            let v: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
                            v.join(" or ")
                        }
                    };
                    let help = if dotted.ends_with("max_duration") {
                        "a duration is a string with a unit: 90m, 4h or 2d".to_string()
                    } else if expected == "string" {
                        "quote the value to make it a string".to_string()
                    } else if expected == "array" {
                        "write a list, e.g. [\"a\", \"b\"], even for one element".to_string()
                    } else if expected == "boolean" {
                        "only `true` and `false` are booleans (YAML 1.2)".to_string()
                    } else {
                        format!("write a value of type {expected}")
                    };
                    found.push(
                        Problem::at(
                            "policy::wrong-type",
                            Place::new(file, target.loc),
                            format!(
                                "wrong type for `{dotted}`: expected {expected}, found {}",
                                json_type(err.instance())
                            ),
                            format!("expected {expected}"),
                        )
                        .with_help(help),
                    );
                }
                _ => {
                    found.push(
                        Problem::at(
                            "policy::schema",
                            Place::new(file, target.loc),
                            format!("`{dotted}`: {err}"),
                            "does not match the policy schema",
                        )
                        .with_help("compare with schemas/jumpguard-policy.schema.json"),
                    );
                }
            }
        }
        self.problems.extend(found);
        ok
    }

    /// Folds `top` into `base`. Strict: a key defined in both is an error naming both places.
    /// Not strict (`top` includes `base`): `top` wins by key and replaces targets by name.
    fn merge(&mut self, mut base: Layer, top: Layer, strict: bool) -> Layer {
        base.first_file = base.first_file.or(top.first_file);
        macro_rules! scalar {
            ($field:ident, $what:expr) => {
                if let Some(t) = top.$field {
                    match &base.$field {
                        Some(b) if strict => self.twice($what, t.1, b.1),
                        _ => base.$field = Some(t),
                    }
                }
            };
        }
        scalar!(pra_url, "`sites.pra`");
        scalar!(password_safe_url, "`sites.password_safe`");
        scalar!(unmanaged, "`unmanaged`");
        scalar!(self_approval, "`site.self_approval`");
        scalar!(recordings, "`site.recordings`");
        scalar!(editing_roles, "`site.editing_roles`");
        scalar!(personal_jump_items, "`site.personal_jump_items`");
        scalar!(ecm_user_groups, "`password_safe.ecm`");
        base.password_safe = top.password_safe.or(base.password_safe);
        // The first entry of each key (compared ignoring ASCII case), kept up to date as
        // entries are added: a policy of thousands of groups merges in one pass.
        fn first_positions<T>(entries: &[(String, Place, T)]) -> HashMap<String, usize> {
            let mut map = HashMap::with_capacity(entries.len());
            for (i, (k, _, _)) in entries.iter().enumerate() {
                map.entry(k.to_ascii_lowercase()).or_insert(i);
            }
            map
        }
        let mut positions = first_positions(&base.jump_policies);
        for (key, place, spec) in top.jump_policies {
            match positions.get(&key.to_ascii_lowercase()).copied() {
                Some(i) if strict => self.twice(
                    &format!("jump policy `{key}`"),
                    place,
                    base.jump_policies[i].1,
                ),
                Some(i) => base.jump_policies[i] = (key, place, spec),
                None => {
                    positions.insert(key.to_ascii_lowercase(), base.jump_policies.len());
                    base.jump_policies.push((key, place, spec));
                }
            }
        }
        let mut positions = first_positions(&base.jump_groups);
        for (key, place, spec) in top.jump_groups {
            match positions.get(&key.to_ascii_lowercase()).copied() {
                Some(i) if strict => {
                    self.twice(&format!("jump group `{key}`"), place, base.jump_groups[i].1)
                }
                Some(i) => base.jump_groups[i] = (key, place, spec),
                None => {
                    positions.insert(key.to_ascii_lowercase(), base.jump_groups.len());
                    base.jump_groups.push((key, place, spec));
                }
            }
        }
        if !strict {
            base.targets.retain(|(_, b)| {
                !top.targets
                    .iter()
                    .any(|(_, t)| t.name.value == b.name.value)
            });
        }
        base.targets.extend(top.targets);
        base.attestations.extend(top.attestations);
        base.waivers.extend(top.waivers);
        base
    }

    fn twice(&mut self, what: &str, again: Place, first: Place) {
        self.problems.push(
            Problem::at("policy::defined-twice", again, format!("{what} is defined twice"), "defined again here")
                .also(first, "first defined here")
                .with_help("keep one definition: files of a policy merge, and a key may be defined in only one of them"),
        );
    }

    /// Semantic validation, and the typed [`Policy`].
    fn compile(&mut self, layer: Layer) -> Policy {
        let root = Place::top_of(layer.first_file.unwrap_or_default());
        let mut policy = Policy {
            root,
            pra_url: layer.pra_url,
            password_safe_url: layer.password_safe_url,
            unmanaged: layer
                .unmanaged
                .map_or((Unmanaged::Warn, None), |(u, p)| (u, Some(p))),
            ..Policy::default()
        };
        policy.site = SiteRules {
            self_approval: layer
                .self_approval
                .filter(|(v, _)| *v == Permission::Forbidden)
                .map(|(_, p)| p),
            recordings: layer
                .recordings
                .filter(|(v, _)| v.is_required())
                .map(|(_, p)| p),
            editing_roles: layer
                .editing_roles
                .filter(|(v, _)| *v == Permission::Forbidden)
                .map(|(_, p)| p),
            personal_jump_items: layer
                .personal_jump_items
                .filter(|(v, _)| *v == Permission::Forbidden)
                .map(|(_, p)| p),
        };
        policy.ecm_user_groups = match layer.ecm_user_groups {
            Some((groups, _)) => groups,
            None => vec![DEFAULT_ECM_USER_GROUP.to_string()],
        };
        policy.needs_password_safe = layer.password_safe;

        for (code_name, place, spec) in layer.jump_policies {
            let max_duration_minutes = spec
                .approval
                .as_ref()
                .and_then(|a| a.max_duration.as_ref())
                .and_then(|d| {
                    let file = place.file;
                    match parse_duration_minutes(&d.value) {
                        Ok(m) => Some(m),
                        Err(msg) => {
                            self.problems.push(
                                Problem::at(
                                    "policy::bad-duration",
                                    Place::new(file, d.loc),
                                    msg,
                                    "not a duration",
                                )
                                .with_help(
                                    "write a number with a unit: 90m, 4h or 2d (at most 364d)",
                                ),
                            );
                            None
                        }
                    }
                });
            policy.jump_policies.push(DeclaredJumpPolicy {
                code_name,
                place,
                spec,
                max_duration_minutes,
            });
        }
        let policy_codes: HashSet<String> = policy
            .jump_policies
            .iter()
            .map(|p| p.code_name.to_ascii_lowercase())
            .collect();
        for (code_name, place, spec) in layer.jump_groups {
            if let Some(jp) = &spec.jump_policy {
                if !policy_codes.contains(&jp.value.to_ascii_lowercase()) {
                    let names: Vec<&str> = policy
                        .jump_policies
                        .iter()
                        .map(|p| p.code_name.as_str())
                        .collect();
                    self.undeclared(
                        "jump policy",
                        &jp.value,
                        Place::new(place.file, jp.loc),
                        &names,
                        "jump_policies",
                    );
                }
            }
            policy.jump_groups.push(DeclaredJumpGroup {
                code_name,
                place,
                name: spec.name.map(|n| n.value),
                jump_policy: spec.jump_policy.map(|p| p.value),
            });
        }
        let group_codes: HashSet<String> = policy
            .jump_groups
            .iter()
            .map(|g| g.code_name.to_ascii_lowercase())
            .collect();
        let mut seen: HashMap<String, Place> = HashMap::new();
        for (file, spec) in layer.targets {
            let place = Place::new(file, spec.name.loc);
            if let Some(first) = seen.get(&spec.name.value.to_lowercase()) {
                self.problems.push(
                    Problem::at(
                        "policy::duplicate-target",
                        place,
                        format!("target `{}` is defined twice", spec.name.value),
                        "defined again here",
                    )
                    .also(*first, "first defined here")
                    .with_help("target names must be unique; merge the two targets or rename one"),
                );
                continue;
            }
            seen.insert(spec.name.value.to_lowercase(), place);
            let target = self.compile_target(file, spec, &policy, &group_codes);
            if !target.credentials.is_empty() && policy.needs_password_safe.is_none() {
                policy.needs_password_safe = Some(target.credentials[0].place);
            }
            policy.targets.push(target);
        }
        for (file, a) in layer.attestations {
            if let Some(att) = self.compile_attestation(file, a) {
                policy.attestations.push(att);
            }
        }
        for (file, w) in layer.waivers {
            if let Some(waiver) = self.compile_waiver(file, w, &policy) {
                policy.waivers.push(waiver);
            }
        }
        policy
    }

    /// `group_codes`: the declared jump groups' code names, ASCII-lowercased.
    fn compile_target(
        &mut self,
        file: FileId,
        spec: TargetSpec,
        policy: &Policy,
        group_codes: &HashSet<String>,
    ) -> Target {
        let at = |loc: Loc| Place::new(file, loc);
        let mut hosts = Vec::new();
        for h in &spec.hosts {
            match HostPattern::parse(&h.value) {
                Ok(p) => hosts.push((p, at(h.loc))),
                Err(msg) => self.problems.push(
                    Problem::at("policy::bad-host", at(h.loc), msg, "invalid host")
                        .with_help("a host is a name (srv-dc01.corp.example), an address (10.20.0.11), a CIDR range (10.20.1.0/24) or a glob (*.dc.corp.example)"),
                ),
            }
        }
        if spec.hosts.is_empty() {
            self.problems.push(
                Problem::at(
                    "policy::no-hosts",
                    at(spec.name.loc),
                    format!("target `{}` names no hosts", spec.name.value),
                    "empty `hosts`",
                )
                .with_help("list at least one host, address, CIDR range or glob"),
            );
        }
        let jump_groups = spec.jump_groups.as_ref().map(|groups| {
            for g in groups {
                if !group_codes.contains(&g.value.to_ascii_lowercase()) {
                    let names: Vec<&str> = policy
                        .jump_groups
                        .iter()
                        .map(|g| g.code_name.as_str())
                        .collect();
                    self.undeclared("jump group", &g.value, at(g.loc), &names, "jump_groups");
                }
            }
            groups.iter().map(|g| g.value.to_lowercase()).collect()
        });
        let reason = spec.reason.unwrap_or_default();
        let ticket_pattern = reason.ticket_pattern.map(|p| {
            if let Err(e) = regex::Regex::new(&p.value) {
                self.problems.push(
                    Problem::at(
                        "policy::bad-regex",
                        at(p.loc),
                        format!(
                            "`ticket_pattern` is not a valid regular expression: {}",
                            e.to_string()
                                .lines()
                                .last()
                                .unwrap_or_default()
                                .trim_start_matches("error: ")
                        ),
                        "invalid regex",
                    )
                    .with_help("use Rust regex syntax, e.g. ^(CHG|INC)[0-9]{7}$"),
                );
            }
            p.value
        });
        let req = |r: Option<Spanned<Requirement>>| r.is_some_and(|r| r.value.is_required());
        let api_forbidden = spec
            .password_safe_api
            .as_ref()
            .is_some_and(|p| p.value == Permission::Forbidden);
        Target {
            name: spec.name.value.clone(),
            place: at(spec.name.loc),
            hosts,
            jump_groups,
            approval: req(spec.approval),
            comment: req(reason.comment),
            ticket: req(reason.ticket_id),
            ticket_pattern,
            api_forbidden,
            credentials: spec
                .credentials
                .into_iter()
                .map(|c| Credential {
                    system: normalize_name(&c.system.value),
                    account: c.account.value,
                    place: at(c.system.loc),
                })
                .collect(),
        }
    }

    fn compile_attestation(&mut self, file: FileId, a: AttestationSpec) -> Option<Attestation> {
        let attested_on = self.date(file, &a.attested_on)?;
        let expires = self.date(file, &a.expires)?;
        if attested_on > self.today {
            self.problems.push(
                Problem::at(
                    "policy::attestation-in-future",
                    Place::new(file, a.attested_on.loc),
                    format!(
                        "`attested_on` {attested_on} lies in the future (today is {})",
                        self.today
                    ),
                    "in the future",
                )
                .with_help(
                    "an attestation states what someone checked: date it on the day it was checked",
                ),
            );
            return None;
        }
        if expires < attested_on {
            self.problems.push(
                Problem::at(
                    "policy::attestation-expires-early",
                    Place::new(file, a.expires.loc),
                    format!("`expires` {expires} is before `attested_on` {attested_on}"),
                    "before attested_on",
                )
                .with_help("an attestation is valid from `attested_on` through `expires`"),
            );
            return None;
        }
        Some(Attestation {
            setting: a.setting.value,
            value: a.value.value,
            by: a.by.value,
            attested_on,
            expires,
            place: Place::new(file, a.setting.loc),
        })
    }

    fn compile_waiver(&mut self, file: FileId, w: WaiverSpec, policy: &Policy) -> Option<Waiver> {
        let at = |loc: Loc| Place::new(file, loc);
        let rule = match Rule::from_id(&w.rule.value) {
            Some(r) if r.waivable() => Some(r),
            Some(r) => {
                self.problems.push(
                    Problem::at("policy::unwaivable-rule", at(w.rule.loc), format!("`{r}` cannot be waived"), "not waivable")
                        .with_help("waiver-unused, waiver-expired and attestation-expired report on the policy itself: fix the waiver or attestation instead"),
                );
                None
            }
            None => {
                let ids = Rule::ALL.iter().map(|r| r.id());
                let help = did_you_mean(&w.rule.value, ids).map_or(
                    "run `jumpguard explain` with a rule id; the ids are listed in DESIGN.md §4"
                        .into(),
                    |s| format!("did you mean `{s}`?"),
                );
                self.problems.push(
                    Problem::at(
                        "policy::unknown-rule",
                        at(w.rule.loc),
                        format!("unknown rule `{}`", w.rule.value),
                        "unknown rule",
                    )
                    .with_help(help),
                );
                None
            }
        };
        if let Some(t) = &w.target {
            if policy.target(&t.value).is_none() {
                let names: Vec<&str> = policy.targets.iter().map(|t| t.name.as_str()).collect();
                self.undeclared("target", &t.value, at(t.loc), &names, "targets");
            }
        }
        let host = match &w.host {
            Some(h) => match HostPattern::parse(&h.value) {
                Ok(p) => Some((h.value.clone(), p)),
                Err(msg) => {
                    self.problems.push(Problem::at(
                        "policy::bad-host",
                        at(h.loc),
                        msg,
                        "invalid host",
                    ).with_help("a waiver's host uses target host syntax: a name, an address, a CIDR range or a glob"));
                    return None;
                }
            },
            None => None,
        };
        let expires = self.date(file, &w.expires)?;
        Some(Waiver {
            rule: rule?,
            target: w.target.map(|t| t.value),
            host,
            reason: w.reason.value,
            ticket: w.ticket.map(|t| t.value),
            owner: w.owner.map(|o| o.value),
            expires,
            place: at(w.rule.loc),
        })
    }

    fn date(&mut self, file: FileId, s: &Spanned<String>) -> Option<Date> {
        match s.value.trim().parse::<Date>() {
            Ok(d) if s.value.trim().len() == 10 => Some(d),
            _ => {
                self.problems.push(
                    Problem::at(
                        "policy::bad-date",
                        Place::new(file, s.loc),
                        format!("`{}` is not a date", s.value),
                        "expected YYYY-MM-DD",
                    )
                    .with_help("write dates as YYYY-MM-DD, e.g. 2027-01-31"),
                );
                None
            }
        }
    }

    fn undeclared(
        &mut self,
        what: &str,
        name: &str,
        place: Place,
        declared: &[&str],
        section: &str,
    ) {
        let help = match did_you_mean(name, declared.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if declared.is_empty() => format!("declare it under `{section}:`"),
            None => format!("declared under `{section}`: {}", declared.join(", ")),
        };
        self.problems.push(
            Problem::at(
                "policy::undeclared",
                place,
                format!("{what} `{name}` is not declared"),
                format!("no such {what}"),
            )
            .with_help(help),
        );
    }
}

impl Layer {
    fn from_file(file: FileId, f: PolicyFile) -> Layer {
        let at = |loc: Loc| Place::new(file, loc);
        let sites = f.sites;
        let site = f.site.unwrap_or_default();
        let ecm = f
            .password_safe
            .as_ref()
            .and_then(|p| p.ecm.as_ref())
            .map(|e| {
                let place = e
                    .user_groups
                    .first()
                    .map_or(Place::top_of(file), |g| at(g.loc));
                (
                    e.user_groups
                        .iter()
                        .map(|g| g.value.clone())
                        .collect::<Vec<_>>(),
                    place,
                )
            });
        let password_safe = f
            .password_safe
            .as_ref()
            .map(|_| ecm.as_ref().map_or(Place::top_of(file), |e| e.1));
        Layer {
            first_file: Some(file),
            pra_url: sites
                .as_ref()
                .and_then(|s| s.pra.as_ref())
                .map(|u| (u.url.value.clone(), at(u.url.loc))),
            password_safe_url: sites
                .as_ref()
                .and_then(|s| s.password_safe.as_ref())
                .map(|u| (u.url.value.clone(), at(u.url.loc))),
            jump_policies: f
                .jump_policies
                .0
                .into_iter()
                .map(|(k, v)| (k.value, at(k.loc), v))
                .collect(),
            jump_groups: f
                .jump_groups
                .0
                .into_iter()
                .map(|(k, v)| (k.value, at(k.loc), v))
                .collect(),
            targets: f.targets.into_iter().map(|t| (file, t)).collect(),
            unmanaged: f.unmanaged.map(|u| (u.value, at(u.loc))),
            self_approval: site.self_approval.map(|v| (v.value, at(v.loc))),
            recordings: site.recordings.map(|v| (v.value, at(v.loc))),
            editing_roles: site.editing_roles.map(|v| (v.value, at(v.loc))),
            personal_jump_items: site.personal_jump_items.map(|v| (v.value, at(v.loc))),
            ecm_user_groups: ecm,
            password_safe,
            attestations: f.attestations.into_iter().map(|a| (file, a)).collect(),
            waivers: f.waivers.into_iter().map(|w| (file, w)).collect(),
        }
    }
}

/// Parses `90m`, `4h`, `2d` (and sums such as `1h30m`) into minutes. A unit is required.
pub(crate) fn parse_duration_minutes(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let mut total: i64 = 0;
    let mut digits = String::new();
    if t.is_empty() {
        return Err("a duration cannot be empty".into());
    }
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'm' => 1,
            'h' => 60,
            'd' => 1440,
            _ => return Err(format!("`{t}` is not a duration: unknown unit `{c}`")),
        };
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("`{t}` is not a duration: a number must come before `{c}`"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!(
            "`{t}` has no unit: write {digits}m, {digits}h or {digits}d"
        ));
    }
    if !(1..=524_160).contains(&total) {
        return Err(format!(
            "`{t}` is out of range: PRA accepts 1 minute to 364 days"
        ));
    }
    Ok(total)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

impl Step {
    fn as_path_step(&self) -> PathStep<'_> {
        match self {
            Step::Key(k) => PathStep::Key(k),
            Step::Index(i) => PathStep::Index(*i),
        }
    }
}

fn dotted(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The property names the schema allows at an instance path.
fn allowed_keys(root: &Value, steps: &[Step]) -> Vec<String> {
    let mut node = resolve(root, root);
    for step in steps {
        let next = match step {
            Step::Key(k) => node
                .get("properties")
                .and_then(|p| p.get(k.as_str()))
                .or_else(|| node.get("additionalProperties").filter(|a| a.is_object())),
            Step::Index(_) => node.get("items"),
        };
        match next {
            Some(n) => node = resolve(root, n),
            None => return Vec::new(),
        }
    }
    node.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..16 {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let path = r.trim_start_matches('#');
            match root.pointer(path) {
                Some(n) => node = n,
                None => return node,
            }
        } else if let Some(any) = node
            .get("anyOf")
            .or_else(|| node.get("oneOf"))
            .and_then(Value::as_array)
        {
            match any
                .iter()
                .find(|s| s.get("type") != Some(&Value::String("null".into())))
            {
                Some(n) => node = n,
                None => return node,
            }
        } else {
            return node;
        }
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        "2026-12-01".parse().unwrap()
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn a_key_defined_in_two_files_names_both_places() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "a.yaml",
            "version: 1\njump_policies:\n  approval: { display_name: A }\n",
        );
        write(dir.path(), "b.yaml", "version: 1\nsite:\n  recordings: required\njump_policies:\n  Approval: { display_name: B }\n");
        write(dir.path(), "c.yaml", "site:\n  recordings: not_required\n");
        let err = load(dir.path(), today()).unwrap_err();
        let msgs: Vec<String> = err
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{} @ {} & {:?}",
                    p.message,
                    p.position(&err.sources),
                    p.others.iter().map(|(o, _)| o.loc.line).collect::<Vec<_>>()
                )
            })
            .collect();
        assert_eq!(err.problems.len(), 2, "{msgs:#?}");
        assert!(
            msgs[0].starts_with("jump policy `Approval` is defined twice"),
            "{msgs:#?}"
        );
        assert!(
            msgs[0].contains("b.yaml:5:3") && msgs[0].ends_with("[3]"),
            "{msgs:#?}"
        );
        assert!(
            msgs[1].starts_with("`site.recordings` is defined twice"),
            "{msgs:#?}"
        );
    }

    #[test]
    fn includes_bring_defaults_and_cycles_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("main")).unwrap();
        write(dir.path(), "base.yaml", "version: 1\nunmanaged: deny\ntargets:\n  - { name: web, hosts: [a.corp.example], approval: required }\n");
        write(&dir.path().join("main"), "main.yaml", "version: 1\ninclude: [\"../base.yaml\", \"jumpguard:baseline\"]\nunmanaged: ignore\ntargets:\n  - { name: web, hosts: [b.corp.example] }\n");
        let p = load(&dir.path().join("main"), today()).unwrap();
        assert_eq!(p.unmanaged.0, Unmanaged::Ignore);
        assert_eq!(p.targets.len(), 1);
        assert_eq!(p.targets[0].hosts[0].0.text(), "b.corp.example");
        assert!(!p.targets[0].approval);
        assert!(
            p.site.personal_jump_items.is_some(),
            "the baseline pack switches site rules on"
        );

        write(dir.path(), "x.yaml", "version: 1\ninclude: [y.yaml]\n");
        write(dir.path(), "y.yaml", "version: 1\ninclude: [x.yaml]\n");
        let err = load(&dir.path().join("x.yaml"), today()).unwrap_err();
        assert!(
            err.problems
                .iter()
                .any(|p| p.message.starts_with("include cycle")),
            "{:?}",
            err.problems
        );

        let err = load_str(
            "p.yaml",
            "version: 1\ninclude: [\"jumpguard:baselin\"]\n",
            today(),
        )
        .unwrap_err();
        assert_eq!(
            err.problems[0].help.as_deref(),
            Some("did you mean `jumpguard:baseline`?")
        );
    }

    #[test]
    fn waivers_need_a_known_rule_and_a_declared_target() {
        let yaml = "version: 1\ntargets:\n  - { name: web, hosts: [a.corp.example] }\nwaivers:\n  - { rule: approval-missing, target: webb, reason: r, expires: 2027-01-01 }\n";
        let err = load_str("p.yaml", yaml, today()).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].message, "target `webb` is not declared");
        assert_eq!(err.problems[0].help.as_deref(), Some("did you mean `web`?"));
    }

    #[test]
    fn durations_need_units() {
        assert_eq!(parse_duration_minutes("90m"), Ok(90));
        assert_eq!(parse_duration_minutes("4h"), Ok(240));
        assert_eq!(parse_duration_minutes("2d"), Ok(2880));
        assert_eq!(parse_duration_minutes("1h30m"), Ok(90));
        assert!(parse_duration_minutes("90")
            .unwrap_err()
            .contains("no unit"));
        assert!(parse_duration_minutes("4w").is_err());
        assert!(parse_duration_minutes("400d").is_err());
    }

    #[test]
    fn schema_allows_the_top_level_keys() {
        let keys = allowed_keys(&schema(), &[]);
        for k in [
            "version",
            "include",
            "targets",
            "waivers",
            "site",
            "password_safe",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
        }
        let tk = allowed_keys(&schema(), &[Step::Key("targets".into()), Step::Index(0)]);
        assert!(tk.iter().any(|x| x == "hosts"));
    }
}
