//! Executes a plan against the live appliances (DESIGN.md §7). Before changing anything it
//! reads both sites again and checks every precondition, so a plan made from an older state is
//! refused whole ("stale plan"). It then runs the API actions in plan order, one request at a
//! time (group-policy membership writes must never overlap, `reference/pra-config-api.md` §7
//! #2), provisions each group policy whose memberships it wrote, stops at the first failure,
//! and records every step in a journal so that running the same plan again resumes where it
//! stopped.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Action, ActionKind, GroupRef, Op, Plan, PolicyRef, PLAN_FORMAT_VERSION};
use crate::estate::{Completeness, Estate, JumpItemType, SourceStatus};
use crate::source::http::{ApiResponse, Transport};
use crate::source::pra::PraSession;
use crate::source::ps::PsSession;
use crate::source::{FetchOptions, Live};

/// The journal file format this build writes and reads.
pub const JOURNAL_FORMAT_VERSION: u32 = 1;

/// Settings of an apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// How to reach the sites (the same settings a fetch uses).
    pub fetch: FetchOptions,
    /// The journal file (the CLI uses `<plan file>.journal.json`).
    pub journal: PathBuf,
}

/// What an apply did.
#[derive(Clone, Debug)]
pub struct ApplyReport {
    /// Ids of the actions done in this run.
    pub done: Vec<String>,
    /// Ids of the actions an earlier run had done (per the journal).
    pub skipped: Vec<String>,
    /// Ids of the manual steps, left to a person.
    pub manual: Vec<String>,
    /// The live estate, read again after the last change.
    pub estate_after: Estate,
}

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Preconditions no longer hold; nothing was changed.
    #[error("the plan is stale: the live configuration changed since it was made, so nothing was changed; make a new plan\n{}", bullets(.problems))]
    Stale {
        /// Each action and object that no longer matches.
        problems: Vec<String>,
    },
    /// The live state could not be read completely, so the preconditions could not be checked;
    /// nothing was changed.
    #[error("cannot check the plan against the live configuration, so nothing was changed: {0}")]
    Incomplete(String),
    /// An action failed; the run stopped there and the journal records what was done.
    #[error("action {action} failed: {detail}")]
    Failed {
        /// The action's id.
        action: String,
        /// What went wrong, with the vendor's message.
        detail: String,
    },
    /// The journal cannot be read or written, or belongs to another plan.
    #[error("{0}")]
    Journal(String),
    /// Another apply of the same plan holds its lock; nothing was changed.
    #[error("{0}")]
    Locked(String),
    /// The plan or the connection settings cannot be used.
    #[error("{0}")]
    Config(String),
}

fn bullets(problems: &[String]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The progress of one action, reported as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepStatus {
    /// The action's first request is about to be sent.
    Started,
    /// The action is done.
    Done,
    /// The action failed, with what went wrong; the run stops.
    Failed(String),
    /// An earlier run did it (per the journal).
    Skipped,
}

// ---------------------------------------------------------------------------------------------
// The lock.

/// The lock file of a journal: `<journal>.lock`.
pub fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    journal.with_file_name(name)
}

/// A lock file, created exclusively and removed when dropped. It holds who took it and when, so
/// that a person who finds one left by a killed run knows it is safe to delete.
struct Lock {
    path: PathBuf,
}

impl Lock {
    fn take(path: &Path) -> Result<Lock, ApplyError> {
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(path).unwrap_or_default();
                let holder = holder.trim();
                return Err(ApplyError::Locked(format!(
                    "another apply of this plan is running ({}), so nothing was changed; if none is (it was killed), delete {} and run again",
                    if holder.is_empty() { "its lock file is empty" } else { holder },
                    path.display()
                )));
            }
            Err(e) => {
                return Err(ApplyError::Journal(format!(
                    "cannot create the lock file {}: {e}",
                    path.display()
                )))
            }
        };
        let lock = Lock {
            path: path.to_path_buf(),
        };
        let holder = format!("process {} since {}\n", std::process::id(), now());
        file.write_all(holder.as_bytes()).map_err(|e| {
            ApplyError::Journal(format!(
                "cannot write the lock file {}: {e}",
                path.display()
            ))
        })?;
        Ok(lock)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // A lock that cannot be removed is reported by the next apply, with how to clear it.
        let _ = std::fs::remove_file(&self.path);
    }
}

// ---------------------------------------------------------------------------------------------
// The journal.

/// The record of a plan's execution, rewritten (atomically) after every step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// Always [`JOURNAL_FORMAT_VERSION`].
    pub format_version: u32,
    /// The plan this journal belongs to.
    pub plan: JournalPlan,
    /// One entry per action that ran or was recorded, in the order they first ran.
    #[serde(default)]
    pub steps: Vec<JournalStep>,
    /// Ids of the objects the plan created, by code name.
    #[serde(default)]
    pub created: Created,
    /// Group policies whose memberships were written but not yet provisioned.
    #[serde(default)]
    pub unprovisioned: BTreeSet<i64>,
}

/// Which plan a journal belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalPlan {
    /// The plan's `created_at`.
    pub created_at: String,
    /// The plan's `estate_fingerprint`.
    pub estate_fingerprint: String,
    /// The fingerprint of the whole plan file: an edited plan is another plan.
    pub fingerprint: String,
}

/// One action's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalStep {
    /// The action's id.
    pub action: String,
    /// Its state.
    pub status: StepState,
    /// When it reached that state (RFC 3339).
    pub at: String,
    /// What was done, or what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The state of an action in the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Its change was made (for a membership: written; provisioning is tracked apart).
    Done,
    /// It failed; a re-run tries it again.
    Failed,
    /// Not for jumpguard to do: a manual step.
    Skipped,
}

/// Objects the plan created, code name → id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// Jump policies.
    #[serde(default)]
    pub jump_policy: BTreeMap<String, i64>,
    /// Jump groups.
    #[serde(default)]
    pub jump_group: BTreeMap<String, i64>,
}

/// Code names are unique ignoring case on the appliance.
fn by_code(map: &BTreeMap<String, i64>, code: &str) -> Option<i64> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(code))
        .map(|(_, v)| *v)
}

impl Journal {
    /// An empty journal for `plan`.
    pub fn new(plan: &Plan) -> Journal {
        Journal {
            format_version: JOURNAL_FORMAT_VERSION,
            plan: JournalPlan {
                created_at: plan.created_at.clone(),
                estate_fingerprint: plan.estate_fingerprint.clone(),
                fingerprint: crate::estate::fingerprint(plan),
            },
            steps: Vec::new(),
            created: Created::default(),
            unprovisioned: BTreeSet::new(),
        }
    }

    /// The journal of `plan` at `path`: the one there, or a new one when there is none. A
    /// journal of another plan is refused.
    pub fn open(path: &Path, plan: &Plan) -> Result<Journal, ApplyError> {
        let shown = path.display();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Journal::new(plan)),
            Err(e) => {
                return Err(ApplyError::Journal(format!(
                    "cannot read the journal {shown}: {e}"
                )))
            }
        };
        let journal: Journal = serde_json::from_str(&text)
            .map_err(|e| ApplyError::Journal(format!("{shown} is not a jumpguard journal: {e}")))?;
        if journal.format_version != JOURNAL_FORMAT_VERSION {
            return Err(ApplyError::Journal(format!(
                "{shown} has journal format_version {}; this jumpguard reads version {JOURNAL_FORMAT_VERSION}",
                journal.format_version
            )));
        }
        let expected = Journal::new(plan).plan;
        if journal.plan != expected {
            return Err(ApplyError::Journal(format!(
                "{shown} is the journal of another plan (made {}, from estate {}), not of this one (made {}, from estate {}); move it away to apply this plan afresh",
                journal.plan.created_at,
                journal.plan.estate_fingerprint,
                expected.created_at,
                expected.estate_fingerprint
            )));
        }
        Ok(journal)
    }

    /// Writes the journal to `path` atomically: a temporary file beside it, flushed to disk,
    /// then renamed over it, so a crash leaves the old journal or the new one, never half.
    pub fn save(&self, path: &Path) -> Result<(), ApplyError> {
        let fail = |e: &dyn std::fmt::Display| {
            ApplyError::Journal(format!("cannot write the journal {}: {e}", path.display()))
        };
        let mut text = serde_json::to_string_pretty(self).map_err(|e| fail(&e))?;
        text.push('\n');
        let name = path
            .file_name()
            .ok_or_else(|| fail(&"not a file name"))?
            .to_string_lossy();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(fail(&e));
        }
        Ok(())
    }

    /// The state of an action, if it has one.
    pub fn state(&self, action: &str) -> Option<StepState> {
        self.steps
            .iter()
            .find(|s| s.action == action)
            .map(|s| s.status)
    }

    /// Whether an earlier step did the action.
    pub fn is_done(&self, action: &str) -> bool {
        self.state(action) == Some(StepState::Done)
    }

    /// Records an action's new state.
    pub fn record(&mut self, action: &str, status: StepState, detail: Option<String>) {
        let step = JournalStep {
            action: action.to_string(),
            status,
            at: now(),
            detail,
        };
        match self.steps.iter_mut().find(|s| s.action == action) {
            Some(existing) => *existing = step,
            None => self.steps.push(step),
        }
    }
}

fn now() -> String {
    let t = jiff::Timestamp::now();
    t.round(jiff::Unit::Second).unwrap_or(t).to_string()
}

// ---------------------------------------------------------------------------------------------
// Checks before anything changes.

/// Which sites the plan's remaining work touches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Touches {
    pra: bool,
    ps: bool,
}

fn touches(op: &Op) -> Touches {
    match op {
        Op::SetRoleAssignment { .. } | Op::DisableApi { .. } => Touches {
            pra: false,
            ps: true,
        },
        Op::Manual { .. } => Touches::default(),
        _ => Touches {
            pra: true,
            ps: false,
        },
    }
}

/// Problems of the plan file itself: its version, unique ids, dependencies that run first.
fn check_plan(plan: &Plan) -> Result<(), ApplyError> {
    if plan.format_version != PLAN_FORMAT_VERSION {
        return Err(ApplyError::Config(format!(
            "the plan has format_version {}; this jumpguard applies version {PLAN_FORMAT_VERSION}",
            plan.format_version
        )));
    }
    let mut seen: HashSet<&str> = HashSet::new();
    for action in &plan.actions {
        for dependency in &action.depends_on {
            if !seen.contains(dependency.as_str()) {
                return Err(ApplyError::Config(format!(
                    "the plan is inconsistent: action {} depends on {dependency}, which does not come before it",
                    action.id
                )));
            }
        }
        if !seen.insert(&action.id) {
            return Err(ApplyError::Config(format!(
                "the plan is inconsistent: two actions have the id {}",
                action.id
            )));
        }
        let manual_op = matches!(action.op, Op::Manual { .. });
        if manual_op != (action.kind == ActionKind::Manual) {
            return Err(ApplyError::Config(format!(
                "the plan is inconsistent: action {} is of kind {:?} with op {}",
                action.id,
                action.kind,
                op_name(&action.op)
            )));
        }
    }
    Ok(())
}

fn op_name(op: &Op) -> String {
    serde_json::to_value(op)
        .ok()
        .and_then(|v| v.get("op").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

/// The live fingerprint of a precondition's object; `None` when it does not exist. Objects
/// still to be created are keyed by code name (`pra/jump_policy/code_name:<code>`), matched
/// ignoring case as the appliance does.
fn live_fingerprint<'e>(
    object: &str,
    fingerprints: &'e BTreeMap<String, String>,
    halves: &HashMap<&str, Value>,
) -> Option<&'e String> {
    let Some((collection, code)) = object.rsplit_once("/code_name:") else {
        return fingerprints.get(object);
    };
    let (half, name) = collection.split_once('/')?;
    let id = halves
        .get(half)?
        .get(name)?
        .as_array()?
        .iter()
        .find(|row| {
            row.get("code_name")
                .and_then(Value::as_str)
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
        })?
        .get("id")?
        .clone();
    fingerprints.get(&format!("{collection}/{id}"))
}

/// Every precondition of the actions still to run that the live estate no longer meets.
/// Objects that actions already done touched are not checked: those actions changed them.
fn stale_preconditions(plan: &Plan, journal: &Journal, estate: &Estate) -> Vec<String> {
    let fingerprints = estate.object_fingerprints();
    let mut halves = HashMap::new();
    if let Ok(v) = serde_json::to_value(&estate.pra) {
        halves.insert("pra", v);
    }
    if let Some(Ok(v)) = estate.ps.as_ref().map(serde_json::to_value) {
        halves.insert("ps", v);
    }
    let touched: HashSet<&str> = plan
        .api_actions()
        .filter(|a| journal.is_done(&a.id))
        .flat_map(|a| a.precondition.iter().map(|p| p.object.as_str()))
        .collect();
    let mut problems = Vec::new();
    for action in plan.api_actions().filter(|a| !journal.is_done(&a.id)) {
        // A membership write that failed after its DELETE left the membership absent.
        let half_written = match &action.op {
            Op::SetGroupPolicyMembership {
                group_policy_id,
                jump_group_id,
                ..
            } if journal.state(&action.id) == Some(StepState::Failed) => Some(format!(
                "pra/group_policy_jump_group/{group_policy_id}/{jump_group_id}"
            )),
            _ => None,
        };
        for p in &action.precondition {
            if touched.contains(p.object.as_str()) {
                continue;
            }
            let live = live_fingerprint(&p.object, &fingerprints, &halves);
            let problem = match (&p.fingerprint, live) {
                (None, None) => continue,
                (Some(want), Some(have)) if want == have => continue,
                (Some(_), None) if half_written.as_deref() == Some(p.object.as_str()) => continue,
                (None, Some(_)) => "exists now; the plan expected it not to",
                (Some(_), None) => "no longer exists",
                (Some(_), Some(_)) => "changed since the plan was made",
            };
            problems.push(format!(
                "{} ({}): {} {problem}",
                action.id, action.summary, p.object
            ));
        }
    }
    problems
}

fn incomplete(name: &str, status: &SourceStatus) -> Option<String> {
    if status.status == Completeness::Complete {
        return None;
    }
    let state = match status.status {
        Completeness::Partial => "partly read",
        Completeness::Unavailable => "unavailable",
        Completeness::NotConfigured => "not configured",
        Completeness::Complete => "complete",
    };
    Some(match &status.reason {
        Some(reason) => format!("{name} is {state}: {reason}"),
        None => format!("{name} is {state}"),
    })
}

// ---------------------------------------------------------------------------------------------
// Execution.

/// The sessions the writes go through: those the run read with.
struct Sites<'l, 'a> {
    live: &'l Live<'a>,
}

impl<'l, 'a> Sites<'l, 'a> {
    fn pra(&self) -> Result<&'l PraSession<'a>, String> {
        match &self.live.pra {
            Some(Ok(session)) => Ok(session),
            Some(Err(reason)) => Err(reason.clone()),
            None => Err("no PRA site is configured".into()),
        }
    }

    fn ps(&self) -> Result<&'l PsSession<'a>, String> {
        match &self.live.ps {
            Some(Ok(session)) => Ok(session),
            Some(Err(reason)) => Err(reason.clone()),
            None => Err("no Password Safe site is configured".into()),
        }
    }
}

/// A 2xx answer, or the vendor's message as the failure.
fn expect(what: &str, response: ApiResponse) -> Result<ApiResponse, String> {
    if response.is_success() {
        Ok(response)
    } else {
        Err(format!("{what} answered {}", response.problem()))
    }
}

fn item_path(item_type: Option<JumpItemType>, id: i64) -> String {
    match item_type {
        Some(t) => format!("/jump-item/{}/{id}", t.segment()),
        None => format!("/jump-client/{id}"),
    }
}

/// The id of a jump policy or jump group created by this plan: from this run or an earlier one
/// (the journal), or else looked up live by code name.
async fn created_id(
    sites: &Sites<'_, '_>,
    known: Option<i64>,
    collection: &str,
    what: &str,
    code: &str,
) -> Result<i64, String> {
    if let Some(id) = known {
        return Ok(id);
    }
    let encoded: String = url::form_urlencoded::byte_serialize(code.as_bytes()).collect();
    let path = format!("/{collection}?code_name={encoded}");
    let response = sites.pra()?.get(&path).await.map_err(|e| e.to_string())?;
    let response = expect(&format!("GET {path}"), response)?;
    response
        .body
        .as_array()
        .into_iter()
        .flatten()
        .find(|row| {
            row.get("code_name")
                .and_then(Value::as_str)
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
        })
        .and_then(|row| row.get("id").and_then(Value::as_i64))
        .ok_or_else(|| {
            format!("{what} `{code}` does not exist: the action that creates it has not run")
        })
}

async fn policy_id(
    sites: &Sites<'_, '_>,
    journal: &Journal,
    policy: &PolicyRef,
) -> Result<Option<i64>, String> {
    match policy {
        PolicyRef::Existing(id) => Ok(Some(*id)),
        PolicyRef::None => Ok(None),
        PolicyRef::Created(code) => {
            let known = by_code(&journal.created.jump_policy, code);
            created_id(sites, known, "jump-policy", "jump policy", code)
                .await
                .map(Some)
        }
    }
}

async fn group_id(
    sites: &Sites<'_, '_>,
    journal: &Journal,
    group: &GroupRef,
) -> Result<i64, String> {
    match group {
        GroupRef::Existing(id) => Ok(*id),
        GroupRef::Created(code) => {
            let known = by_code(&journal.created.jump_group, code);
            created_id(sites, known, "jump-group", "jump group", code).await
        }
    }
}

/// The id in a create's answer, else the object found by code name.
async fn new_id(
    sites: &Sites<'_, '_>,
    response: &ApiResponse,
    collection: &str,
    what: &str,
    code: &str,
) -> Result<i64, String> {
    match response.body.get("id").and_then(Value::as_i64) {
        Some(id) => Ok(id),
        None => created_id(sites, None, collection, what, code).await,
    }
}

/// Performs one API action; the journal receives created ids and unprovisioned group
/// policies as they happen. The answer says what was done, or what went wrong.
async fn perform(
    sites: &Sites<'_, '_>,
    journal: &mut Journal,
    plan: &Plan,
    action: &Action,
    before: &Estate,
) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    match &action.op {
        Op::CreateJumpPolicy { code_name, body } => {
            let Value::Object(mut body) = body.clone() else {
                return Err(format!(
                    "the plan's body for jump policy `{code_name}` is not a JSON object"
                ));
            };
            body.insert("code_name".into(), Value::from(code_name.as_str()));
            let pra = sites.pra()?;
            let response = pra
                .post("/jump-policy", &Value::Object(body))
                .await
                .map_err(|e| fail(&e))?;
            let response = expect("POST /jump-policy", response)?;
            let id = new_id(sites, &response, "jump-policy", "jump policy", code_name).await?;
            journal.created.jump_policy.insert(code_name.clone(), id);
            Ok(format!("created jump policy {code_name} (id {id})"))
        }
        Op::UpdateJumpPolicy { id, body } => {
            let path = format!("/jump-policy/{id}");
            let response = sites
                .pra()?
                .patch(&path, body)
                .await
                .map_err(|e| fail(&e))?;
            expect(&format!("PATCH {path}"), response)?;
            Ok(format!("updated jump policy {id}"))
        }
        Op::CreateJumpGroup { code_name, name } => {
            let pra = sites.pra()?;
            let body = json!({ "name": name, "code_name": code_name });
            let response = pra.post("/jump-group", &body).await.map_err(|e| fail(&e))?;
            let response = expect("POST /jump-group", response)?;
            let id = new_id(sites, &response, "jump-group", "jump group", code_name).await?;
            journal.created.jump_group.insert(code_name.clone(), id);
            Ok(format!("created jump group {code_name} (id {id})"))
        }
        Op::UpdateJumpItem {
            item_type,
            id,
            jump_group,
            jump_policy,
        } => {
            let mut body = serde_json::Map::new();
            let mut done = Vec::new();
            if let Some(group) = jump_group {
                let group = group_id(sites, journal, group).await?;
                body.insert("jump_group_id".into(), Value::from(group));
                body.insert("jump_group_type".into(), Value::from("shared"));
                done.push(format!("moved into jump group {group}"));
            }
            if let Some(policy) = jump_policy {
                let policy = policy_id(sites, journal, policy).await?;
                body.insert(
                    "jump_policy_id".into(),
                    policy.map_or(Value::Null, Value::from),
                );
                done.push(match policy {
                    Some(p) => format!("set jump policy {p}"),
                    None => "cleared its jump policy".into(),
                });
            }
            if body.is_empty() {
                return Err("the plan changes nothing on this jump item".into());
            }
            let path = item_path(*item_type, *id);
            let response = sites
                .pra()?
                .patch(&path, &Value::Object(body))
                .await
                .map_err(|e| fail(&e))?;
            expect(&format!("PATCH {path}"), response)?;
            Ok(format!("{path}: {}", done.join(", ")))
        }
        Op::DeleteJumpItem { item_type, id } => {
            if !plan.allow_destroy {
                return Err(destroy_refused());
            }
            let path = item_path(*item_type, *id);
            let response = sites.pra()?.delete(&path).await.map_err(|e| fail(&e))?;
            expect(&format!("DELETE {path}"), response)?;
            Ok(format!("deleted {path}"))
        }
        Op::SetGroupPolicyMembership {
            group_policy_id: gp,
            jump_group_id: jg,
            jump_item_role_id,
            jump_policy,
        } => {
            let policy = policy_id(sites, journal, jump_policy).await?.unwrap_or(0);
            let pra = sites.pra()?;
            let one = format!("/group-policy/{gp}/jump-group/{jg}");
            let list = format!("/group-policy/{gp}/jump-group");
            // From here on the group policy's members need provisioning, whatever happens.
            journal.unprovisioned.insert(*gp);
            // Memberships have no PATCH: delete and re-add. A 404 means an earlier, failed
            // run already deleted it.
            let deleted = pra.delete(&one).await.map_err(|e| fail(&e))?;
            let removed = deleted.is_success();
            if !removed && deleted.status != reqwest::StatusCode::NOT_FOUND {
                return Err(format!("DELETE {one} answered {}", deleted.problem()));
            }
            let body = json!({
                "jump_group_id": jg,
                "jump_item_role_id": jump_item_role_id,
                "jump_policy_id": policy,
            });
            let added = pra.post(&list, &body).await.map_err(|e| fail(&e));
            let problem = match added {
                Ok(r) if r.is_success() => {
                    return Ok(format!(
                        "group policy {gp} reaches jump group {jg} with jump policy {policy} and role {jump_item_role_id}"
                    ))
                }
                Ok(r) => format!("POST {list} answered {}", r.problem()),
                Err(e) => format!("POST {list} failed: {e}"),
            };
            if !removed {
                return Err(problem);
            }
            // Put the old membership back rather than leave the group unreachable.
            let old = before
                .pra
                .group_policy_jump_group
                .iter()
                .find(|m| m.group_policy_id == *gp && m.jump_group_id == *jg);
            let Some(old) = old else {
                return Err(problem);
            };
            let restore = json!({
                "jump_group_id": jg,
                "jump_item_role_id": old.jump_item_role_id.unwrap_or(0),
                "jump_policy_id": old.jump_policy_id.unwrap_or(0),
            });
            match pra.post(&list, &restore).await {
                Ok(r) if r.is_success() => Err(format!(
                    "{problem}; the previous membership was restored"
                )),
                Ok(r) => Err(format!(
                    "{problem}; restoring the previous membership failed too ({}): group policy {gp} no longer reaches jump group {jg}",
                    r.problem()
                )),
                Err(e) => Err(format!(
                    "{problem}; restoring the previous membership failed too ({e}): group policy {gp} no longer reaches jump group {jg}"
                )),
            }
        }
        Op::SetUserMembership {
            jump_group_id,
            user_id,
            jump_policy,
        } => {
            let policy = policy_id(sites, journal, jump_policy).await?;
            let path = format!("/jump-group/{jump_group_id}/user/{user_id}");
            let body = json!({ "jump_policy_id": policy });
            let response = sites
                .pra()?
                .patch(&path, &body)
                .await
                .map_err(|e| fail(&e))?;
            expect(&format!("PATCH {path}"), response)?;
            Ok(match policy {
                Some(p) => format!("user {user_id} reaches jump group {jump_group_id} with jump policy {p}"),
                None => format!("user {user_id} reaches jump group {jump_group_id} with the jump items' policies"),
            })
        }
        Op::SetRoleAssignment {
            user_group_id,
            smart_rule_id,
            role_ids,
            access_policy_id,
        } => {
            let path = format!("UserGroups/{user_group_id}/SmartRules/{smart_rule_id}/Roles");
            let ps = sites.ps()?;
            if role_ids.is_empty() {
                let response = ps.delete(&path).await.map_err(|e| fail(&e))?;
                expect(&format!("DELETE {path}"), response)?;
                return Ok(format!(
                    "removed every role of user group {user_group_id} on smart rule {smart_rule_id}"
                ));
            }
            let mut body = json!({
                "Roles": role_ids.iter().map(|r| json!({ "RoleID": r })).collect::<Vec<_>>(),
            });
            if let Some(policy) = access_policy_id {
                body["AccessPolicyID"] = Value::from(*policy);
            }
            let response = ps.post(&path, &body).await.map_err(|e| fail(&e))?;
            expect(&format!("POST {path}"), response)?;
            let ids: Vec<String> = role_ids.iter().map(i64::to_string).collect();
            Ok(format!(
                "user group {user_group_id} has roles {} on smart rule {smart_rule_id}{}",
                ids.join(", "),
                access_policy_id.map_or(String::new(), |p| format!(" with access policy {p}"))
            ))
        }
        Op::DisableApi { managed_account_id } => {
            let path = format!("ManagedAccounts/{managed_account_id}");
            let ps = sites.ps()?;
            let response = ps.get(&path).await.map_err(|e| fail(&e))?;
            let response = expect(&format!("GET {path}"), response)?;
            let Value::Object(mut account) = response.body else {
                return Err(format!("GET {path} did not answer with an account"));
            };
            // PUT replaces the account: send every field as read, with the one change.
            account.insert("ApiEnabled".into(), Value::Bool(false));
            let response = ps
                .put(&path, &Value::Object(account))
                .await
                .map_err(|e| fail(&e))?;
            expect(&format!("PUT {path}"), response)?;
            Ok(format!(
                "managed account {managed_account_id} can no longer be checked out through the API"
            ))
        }
        Op::Manual { .. } => Err("a manual step cannot be applied".into()),
    }
}

fn destroy_refused() -> String {
    "the plan deletes a jump item but was made without --allow-destroy; make the plan again with --allow-destroy to allow it".into()
}

/// `POST /group-policy/{id}/provision` for each group policy whose memberships were written,
/// so their members get the change (§4.7). Each one provisioned leaves the journal's list.
async fn provision(sites: &Sites<'_, '_>, journal: &mut Journal) -> Result<(), String> {
    let mut problems = Vec::new();
    for gp in journal.unprovisioned.clone() {
        let path = format!("/group-policy/{gp}/provision");
        let answer = match sites.pra() {
            Ok(pra) => pra
                .post(&path, &json!({}))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| expect(&format!("POST {path}"), r)),
            Err(e) => Err(e),
        };
        match answer {
            Ok(_) => {
                journal.unprovisioned.remove(&gp);
            }
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "provisioning failed ({}); the journal keeps the group policies to provision on the next run",
            problems.join("; ")
        ))
    }
}

/// Runs the plan's actions in order, stopping at the first failure.
struct Run<'a, 'f> {
    plan: &'a Plan,
    transport: &'a Transport,
    path: &'a Path,
    journal: Journal,
    on_step: &'f mut dyn FnMut(&Action, StepStatus),
    done: Vec<String>,
    skipped: Vec<String>,
    manual: Vec<String>,
}

impl Run<'_, '_> {
    /// Tells the caller, with the progress display out of the way.
    fn step(&mut self, action: &Action, status: StepStatus) {
        let on_step = &mut self.on_step;
        self.transport.suspend(|| on_step(action, status));
    }

    fn fail(&mut self, action: &Action, detail: String) -> ApplyError {
        self.journal
            .record(&action.id, StepState::Failed, Some(detail.clone()));
        if let Err(e) = self.journal.save(self.path) {
            return e;
        }
        self.step(action, StepStatus::Failed(detail.clone()));
        ApplyError::Failed {
            action: action.id.clone(),
            detail,
        }
    }

    async fn execute(&mut self, sites: &Sites<'_, '_>, before: &Estate) -> Result<(), ApplyError> {
        let plan = self.plan;
        // Provisioning waits for the plan's last membership write, so each group policy is
        // provisioned once.
        let last_membership = plan.actions.iter().rposition(|a| {
            a.kind == ActionKind::Api && matches!(a.op, Op::SetGroupPolicyMembership { .. })
        });
        for (index, action) in plan.actions.iter().enumerate() {
            if action.kind == ActionKind::Manual {
                self.manual.push(action.id.clone());
                if self.journal.state(&action.id) != Some(StepState::Skipped) {
                    self.journal.record(
                        &action.id,
                        StepState::Skipped,
                        Some("a manual step: a person does it".into()),
                    );
                    self.journal.save(self.path)?;
                }
                continue;
            }
            if self.journal.is_done(&action.id) {
                self.skipped.push(action.id.clone());
                self.step(action, StepStatus::Skipped);
            } else {
                let missing = action.depends_on.iter().find(|d| {
                    let manual = plan
                        .actions
                        .iter()
                        .any(|a| &a.id == *d && a.kind == ActionKind::Manual);
                    !manual && !self.journal.is_done(d)
                });
                if let Some(missing) = missing {
                    let detail = format!("it depends on {missing}, which is not done");
                    return Err(self.fail(action, detail));
                }
                self.transport
                    .status(&format!("applying {}: {}", action.id, action.summary));
                self.step(action, StepStatus::Started);
                let outcome = perform(sites, &mut self.journal, plan, action, before).await;
                match outcome {
                    Ok(detail) => {
                        self.journal
                            .record(&action.id, StepState::Done, Some(detail));
                        self.journal.save(self.path).map_err(|e| {
                            ApplyError::Journal(format!(
                                "action {} was applied, but {e}; applying the plan again would find it stale",
                                action.id
                            ))
                        })?;
                        self.done.push(action.id.clone());
                        if Some(index) != last_membership {
                            self.step(action, StepStatus::Done);
                            continue;
                        }
                    }
                    Err(mut detail) => {
                        // Members of a group policy whose memberships changed get the change
                        // even when the run stops.
                        if !self.journal.unprovisioned.is_empty() {
                            if let Err(e) = provision(sites, &mut self.journal).await {
                                detail = format!("{detail}; {e}");
                            }
                        }
                        return Err(self.fail(action, detail));
                    }
                }
            }
            if Some(index) == last_membership {
                let provisioned = provision(sites, &mut self.journal).await;
                self.journal.save(self.path)?;
                match provisioned {
                    Ok(()) => {
                        if !self.skipped.contains(&action.id) {
                            self.step(action, StepStatus::Done);
                        }
                    }
                    Err(e) => {
                        // The membership itself is written (the journal says done); only the
                        // provisioning is left, and the journal keeps it for the next run.
                        self.step(action, StepStatus::Failed(e.clone()));
                        return Err(ApplyError::Failed {
                            action: action.id.clone(),
                            detail: e,
                        });
                    }
                }
            }
        }
        // Left over from an earlier run whose plan has no membership write still to come.
        if !self.journal.unprovisioned.is_empty() {
            let provisioned = provision(sites, &mut self.journal).await;
            self.journal.save(self.path)?;
            if let Err(e) = provisioned {
                let action = last_membership
                    .map(|i| plan.actions[i].id.clone())
                    .unwrap_or_default();
                return Err(ApplyError::Failed { action, detail: e });
            }
        }
        Ok(())
    }
}

/// Applies `plan`: checks every precondition against a fresh read of the sites, then runs the
/// API actions in order, reporting each step to `on_step`, and reads the sites again at the
/// end. Re-running a plan after a failure resumes it: the journal at `options.journal` says
/// which actions are done. One PRA token and one Password Safe session serve the whole run.
pub async fn apply(
    plan: &Plan,
    options: &ApplyOptions,
    mut on_step: impl FnMut(&Action, StepStatus),
) -> Result<ApplyReport, ApplyError> {
    check_plan(plan)?;
    // One apply of a plan at a time: two would both find an action not done and do it twice.
    let _lock = Lock::take(&lock_path(&options.journal))?;
    let mut journal = Journal::open(&options.journal, plan)?;
    // Written first, so an unwritable journal stops the run before anything changes.
    journal.save(&options.journal)?;

    // A destructive plan made without --allow-destroy is refused before anything changes.
    if !plan.allow_destroy {
        let destructive = plan
            .api_actions()
            .find(|a| matches!(a.op, Op::DeleteJumpItem { .. }) && !journal.is_done(&a.id));
        if let Some(action) = destructive {
            let detail = destroy_refused();
            journal.record(&action.id, StepState::Failed, Some(detail.clone()));
            journal.save(&options.journal)?;
            on_step(action, StepStatus::Failed(detail.clone()));
            return Err(ApplyError::Failed {
                action: action.id.clone(),
                detail,
            });
        }
    }

    let mut needs = Touches {
        pra: !journal.unprovisioned.is_empty(),
        ps: false,
    };
    for action in plan.api_actions().filter(|a| !journal.is_done(&a.id)) {
        let t = touches(&action.op);
        needs.pra |= t.pra
            || action
                .precondition
                .iter()
                .any(|p| p.object.starts_with("pra/"));
        needs.ps |= t.ps
            || action
                .precondition
                .iter()
                .any(|p| p.object.starts_with("ps/"));
    }
    if needs.pra && options.fetch.pra.is_none() {
        return Err(ApplyError::Config(
            "the plan changes PRA, but no PRA site is configured (--pra-url or JUMPGUARD_PRA_URL, with JUMPGUARD_PRA_CLIENT_ID and JUMPGUARD_PRA_CLIENT_SECRET)".into(),
        ));
    }
    if needs.ps && options.fetch.ps.is_none() {
        return Err(ApplyError::Config(
            "the plan changes Password Safe, but no Password Safe site is configured (--ps-url or JUMPGUARD_PS_URL, with its credentials)".into(),
        ));
    }

    let transport =
        Transport::new(&options.fetch).map_err(|e| ApplyError::Config(e.to_string()))?;
    let live = Live::open(&transport, &options.fetch).await;
    let mut run = Run {
        plan,
        transport: &transport,
        path: &options.journal,
        journal,
        on_step: &mut on_step,
        done: Vec::new(),
        skipped: Vec::new(),
        manual: Vec::new(),
    };
    let outcome = checked_run(&mut run, &live, needs).await;
    live.close().await;
    transport.finish();
    let estate_after = outcome?;
    Ok(ApplyReport {
        done: run.done,
        skipped: run.skipped,
        manual: run.manual,
        estate_after,
    })
}

/// Reads the sites, checks the preconditions, executes, and reads the sites again.
async fn checked_run(
    run: &mut Run<'_, '_>,
    live: &Live<'_>,
    needs: Touches,
) -> Result<Estate, ApplyError> {
    // With nothing left to change (a finished plan applied again), there is nothing to check.
    let before = if needs.pra || needs.ps {
        let before = live.read().await;
        let sources = before.sources();
        let mut unread = Vec::new();
        if needs.pra {
            unread.extend(incomplete("PRA", &sources.pra));
        }
        if needs.ps {
            unread.extend(incomplete("Password Safe", &sources.password_safe));
        }
        if !unread.is_empty() {
            return Err(ApplyError::Incomplete(unread.join("; ")));
        }
        let problems = stale_preconditions(run.plan, &run.journal, &before);
        if !problems.is_empty() {
            return Err(ApplyError::Stale { problems });
        }
        before
    } else {
        Estate::default()
    };
    run.execute(&Sites { live }, &before).await?;
    live.transport.status("reading the result");
    Ok(live.read().await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Change, Precondition};

    fn action(id: &str, op: Op, precondition: Vec<Precondition>) -> Action {
        Action {
            id: id.into(),
            kind: if matches!(op, Op::Manual { .. }) {
                ActionKind::Manual
            } else {
                ActionKind::Api
            },
            change: Change::Update,
            op,
            summary: format!("step {id}"),
            resolves: Vec::new(),
            precondition,
            fields: Vec::new(),
            depends_on: Vec::new(),
            instructions: Vec::new(),
            then_add: None,
        }
    }

    fn plan(actions: Vec<Action>) -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            created_at: "2026-11-26T10:00:00Z".into(),
            estate_fingerprint: "e1".into(),
            allow_destroy: false,
            actions,
        }
    }

    fn move_item(id: &str, item: i64) -> Action {
        action(
            id,
            Op::UpdateJumpItem {
                item_type: Some(JumpItemType::RemoteRdp),
                id: item,
                jump_group: Some(GroupRef::Existing(4)),
                jump_policy: None,
            },
            Vec::new(),
        )
    }

    fn scratch() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn a_journal_resumes_where_the_last_run_stopped() {
        let dir = scratch();
        let path = dir.path().join("plan.json.journal.json");
        let p = plan(vec![move_item("a1", 1), move_item("a2", 2)]);
        let mut journal = Journal::open(&path, &p).unwrap();
        assert!(journal.steps.is_empty());
        journal.record("a1", StepState::Done, Some("moved".into()));
        journal.record("a2", StepState::Failed, Some("500".into()));
        journal
            .created
            .jump_policy
            .insert("Infra-Approval".into(), 7);
        journal.unprovisioned.insert(3);
        journal.save(&path).unwrap();

        let again = Journal::open(&path, &p).unwrap();
        assert_eq!(again, journal);
        assert!(again.is_done("a1"));
        assert!(!again.is_done("a2"));
        assert_eq!(again.state("a2"), Some(StepState::Failed));
        assert_eq!(
            by_code(&again.created.jump_policy, "infra-approval"),
            Some(7)
        );

        // A retried step replaces its entry rather than adding one.
        let mut again = again;
        again.record("a2", StepState::Done, None);
        assert_eq!(again.steps.len(), 2);
        assert!(again.is_done("a2"));
    }

    #[test]
    fn the_journal_of_another_plan_is_refused() {
        let dir = scratch();
        let path = dir.path().join("j.json");
        let first = plan(vec![move_item("a1", 1)]);
        Journal::new(&first).save(&path).unwrap();

        let mut other_estate = first.clone();
        other_estate.estate_fingerprint = "e2".into();
        let err = Journal::open(&path, &other_estate).unwrap_err();
        assert!(
            matches!(&err, ApplyError::Journal(m) if m.contains("another plan")),
            "{err}"
        );

        // Same estate, different actions: an edited plan is another plan too.
        let edited = plan(vec![move_item("a1", 2)]);
        assert!(matches!(
            Journal::open(&path, &edited),
            Err(ApplyError::Journal(_))
        ));

        std::fs::write(&path, "{ not json").unwrap();
        let err = Journal::open(&path, &first).unwrap_err().to_string();
        assert!(err.contains("not a jumpguard journal"), "{err}");
    }

    #[test]
    fn the_journal_is_replaced_whole_or_not_at_all() {
        let dir = scratch();
        let path = dir.path().join("j.json");
        let p = plan(vec![move_item("a1", 1)]);
        let mut journal = Journal::new(&p);
        journal.save(&path).unwrap();
        journal.record("a1", StepState::Done, None);
        journal.save(&path).unwrap();
        // Nothing but the journal is left behind: the temporary file was renamed over it.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["j.json"]);
        let text = std::fs::read_to_string(&path).unwrap();
        let on_disk: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(on_disk["steps"][0]["action"], "a1");
        assert_eq!(on_disk["steps"][0]["status"], "done");
        assert_eq!(on_disk["plan"]["estate_fingerprint"], "e1");

        // A write that cannot happen leaves the last good journal in place.
        let blocked = dir.path().join("missing-dir").join("j.json");
        assert!(matches!(
            journal.save(&blocked),
            Err(ApplyError::Journal(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    fn estate() -> Estate {
        Estate::from_json(
            br#"{"pra": {
                "jump_item": {"remote-rdp": [{"id": 1, "name": "a", "hostname": "a", "jump_group_id": 7}]},
                "jump_policy": [{"id": 3, "display_name": "Infra", "code_name": "Infra-Approval"}],
                "group_policy_jump_group": [{"group_policy_id": 2, "jump_group_id": 4, "jump_item_role_id": 0, "jump_policy_id": 0}]
            }}"#,
            "test",
        )
        .unwrap()
    }

    fn expect_object(object: &str, fingerprint: Option<String>) -> Precondition {
        Precondition {
            object: object.into(),
            fingerprint,
        }
    }

    #[test]
    fn preconditions_compare_fingerprints_and_code_names() {
        let e = estate();
        let fps = e.object_fingerprints();
        let item = fps["pra/jump_item/remote-rdp/1"].clone();
        let create = |code: &str| {
            action(
                "c",
                Op::CreateJumpPolicy {
                    code_name: code.into(),
                    body: json!({}),
                },
                vec![expect_object(
                    &format!("pra/jump_policy/code_name:{code}"),
                    None,
                )],
            )
        };
        let fine = plan(vec![
            action(
                "a1",
                Op::DisableApi {
                    managed_account_id: 1,
                },
                vec![expect_object(
                    "pra/jump_item/remote-rdp/1",
                    Some(item.clone()),
                )],
            ),
            create("linux-approval"),
        ]);
        assert_eq!(
            stale_preconditions(&fine, &Journal::new(&fine), &e),
            Vec::<String>::new()
        );

        let stale = plan(vec![
            action(
                "a1",
                Op::DisableApi {
                    managed_account_id: 1,
                },
                vec![
                    expect_object("pra/jump_item/remote-rdp/1", Some("0000".into())),
                    expect_object("pra/jump_item/remote-rdp/2", Some(item.clone())),
                ],
            ),
            // Code names match ignoring case, as on the appliance.
            create("infra-approval"),
        ]);
        let problems = stale_preconditions(&stale, &Journal::new(&stale), &e);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("a1 (step a1): pra/jump_item/remote-rdp/1 changed"));
        assert!(problems[1].contains("remote-rdp/2 no longer exists"));
        assert!(problems[2].contains("code_name:infra-approval exists now"));

        // What done actions touched is theirs: it is not checked again.
        let mut journal = Journal::new(&stale);
        journal.record("a1", StepState::Done, None);
        journal.record("c", StepState::Done, None);
        let resumed = plan(vec![
            stale.actions[0].clone(),
            stale.actions[1].clone(),
            action(
                "a3",
                Op::DisableApi {
                    managed_account_id: 1,
                },
                vec![expect_object("pra/jump_item/remote-rdp/1", Some(item))],
            ),
        ]);
        assert_eq!(
            stale_preconditions(&resumed, &journal, &e),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_membership_whose_rewrite_failed_halfway_may_be_missing() {
        let e = estate();
        let fps = e.object_fingerprints();
        let key = "pra/group_policy_jump_group/2/5";
        let a = action(
            "a1",
            Op::SetGroupPolicyMembership {
                group_policy_id: 2,
                jump_group_id: 5,
                jump_item_role_id: 0,
                jump_policy: PolicyRef::Existing(3),
            },
            vec![expect_object(
                key,
                Some(fps["pra/group_policy_jump_group/2/4"].clone()),
            )],
        );
        let p = plan(vec![a]);
        let mut journal = Journal::new(&p);
        assert_eq!(stale_preconditions(&p, &journal, &e).len(), 1);
        journal.record("a1", StepState::Failed, None);
        assert!(stale_preconditions(&p, &journal, &e).is_empty());
    }

    #[test]
    fn inconsistent_plans_are_refused() {
        let mut later = move_item("a1", 1);
        later.depends_on = vec!["a2".into()];
        let err = check_plan(&plan(vec![later, move_item("a2", 2)])).unwrap_err();
        assert!(err.to_string().contains("does not come before"), "{err}");
        let err = check_plan(&plan(vec![move_item("a1", 1), move_item("a1", 2)])).unwrap_err();
        assert!(err.to_string().contains("two actions"), "{err}");
        let mut old = plan(Vec::new());
        old.format_version = 9;
        assert!(matches!(check_plan(&old), Err(ApplyError::Config(_))));
    }

    #[test]
    fn vendor_messages_make_the_failure() {
        let pra = ApiResponse {
            status: reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({"message": "The given data was invalid.", "errors": {"jump_group_id": ["The selected jump group id is invalid."]}}),
        };
        let err = expect("PATCH /jump-item/remote-rdp/1", pra).unwrap_err();
        assert_eq!(
            err,
            "PATCH /jump-item/remote-rdp/1 answered 422 Unprocessable Entity: The given data was invalid. (jump_group_id: The selected jump group id is invalid.)"
        );
        let ps = ApiResponse {
            status: reqwest::StatusCode::BAD_REQUEST,
            body: json!("Access Policy not found"),
        };
        assert!(expect("POST x", ps)
            .unwrap_err()
            .ends_with("400 Bad Request: Access Policy not found"));
    }
}
