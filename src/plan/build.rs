//! The planner: from a report, the fewest actions that resolve its findings (DESIGN.md §7).
//! Pure: policy, estate and report in, a plan out.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use serde_json::{json, Value};

use super::*;
use crate::analysis::{Finding, PathElement, Report};
use crate::estate::{Estate, JumpClient, JumpGroup, JumpItem, JumpPolicy, ObjectFingerprints};
use crate::policy::{DeclaredJumpGroup, DeclaredJumpPolicy, Policy, Setting, Target};
use crate::rules::Rule;

/// How to plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Allow destructive actions (deleting jump items).
    pub allow_destroy: bool,
    /// The plan's `created_at` (RFC 3339); the caller supplies the clock.
    pub created_at: String,
}

/// Builds the plan that resolves a report's unwaived findings.
///
/// A change can reveal findings the report could not show (an item moved into a group whose
/// membership overrides its jump policy, say), so the planner plans again on the estate as the
/// plan would leave it, until nothing more can be done by API (three rounds at most). Every
/// precondition refers to the live estate as it is now.
pub fn build(policy: &Policy, estate: &Estate, report: &Report, options: &PlanOptions) -> Plan {
    // Hashing the whole estate and copying it for the next round take a third of a second at
    // 100,000 jump items: a second thread does both while the first round is planned.
    std::thread::scope(|scope| {
        let spare = scope.spawn(|| (estate.fingerprint(), estate.clone()));
        let original = ObjectFingerprints::new(estate);
        let first = build_once(policy, estate, report, options, &original);
        let (fingerprint, copy) = spare
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let mut plan = later_rounds(policy, estate, report, options, &original, first, copy);
        plan.estate_fingerprint = fingerprint;
        plan
    })
}

/// Plans again on the estate as `first` leaves it (`copy` is the live estate, to be changed),
/// and joins the rounds into one plan.
fn later_rounds(
    policy: &Policy,
    estate: &Estate,
    report: &Report,
    options: &PlanOptions,
    original: &ObjectFingerprints,
    first: Plan,
    copy: Estate,
) -> Plan {
    let Ok(today) = report.as_of.parse::<jiff::civil::Date>() else {
        return first;
    };
    let mut api: Vec<Action> = first.api_actions().cloned().collect();
    let mut manual: Vec<Action> = first.manual_actions().cloned().collect();
    let mut current = super::simulate_on(copy, &first);
    for round in 2..=4 {
        let eval = crate::analysis::Options {
            today,
            fail_on: crate::rules::Severity::Info,
            no_waivers: false,
        };
        let next_report = crate::analysis::evaluate(policy, &current, eval);
        let mut next = build_once(policy, &current, &next_report, options, original);
        let new_api: Vec<Action> = next.api_actions().cloned().collect();
        if new_api.is_empty() || round == 4 {
            // Manual steps of the last round describe what is left; keep the first round's too
            // (they resolve the findings the user sees now).
            for m in next.manual_actions() {
                match manual.iter_mut().find(|x| x.summary == m.summary) {
                    Some(x) => {
                        for r in &m.resolves {
                            if !x.resolves.contains(r) {
                                x.resolves.push(r.clone());
                            }
                        }
                    }
                    None => manual.push(m.clone()),
                }
            }
            break;
        }
        next.actions = new_api;
        // Objects this plan creates have no live id yet: refer to them by code name.
        for a in &mut next.actions {
            relink(a, estate, &current);
            a.id = format!("r{round}{}", a.id);
            a.depends_on = a
                .depends_on
                .iter()
                .map(|d| format!("r{round}{d}"))
                .collect();
        }
        current = super::simulate_on(current, &next);
        api.extend(next.actions);
    }
    crate::drop_later(current);
    // Number every action again, dependencies included.
    let mut actions: Vec<Action> = api.into_iter().chain(manual).collect();
    let renames: HashMap<String, String> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.clone(), format!("a{}", i + 1)))
        .collect();
    for a in &mut actions {
        a.id = renames[&a.id].clone();
        a.depends_on = a
            .depends_on
            .iter()
            .filter_map(|d| renames.get(d).cloned())
            .collect();
    }
    // A later round's reference to something an earlier round creates depends on its creator.
    let creators: Vec<(String, String)> = actions
        .iter()
        .filter_map(|a| match &a.op {
            Op::CreateJumpPolicy { code_name, .. } | Op::CreateJumpGroup { code_name, .. } => {
                Some((code_name.to_lowercase(), a.id.clone()))
            }
            _ => None,
        })
        .collect();
    for a in &mut actions {
        for code in created_refs(&a.op) {
            if let Some((_, id)) = creators.iter().find(|(c, _)| *c == code) {
                if *id != a.id && !a.depends_on.contains(id) {
                    a.depends_on.push(id.clone());
                }
            }
        }
    }
    Plan { actions, ..first }
}

/// Code names of the jump policies and groups an operation refers to as created by the plan.
fn created_refs(op: &Op) -> Vec<String> {
    let mut v = Vec::new();
    let mut policy = |p: &PolicyRef| {
        if let PolicyRef::Created(c) = p {
            v.push(c.to_lowercase());
        }
    };
    match op {
        Op::UpdateJumpItem {
            jump_group,
            jump_policy,
            ..
        } => {
            if let Some(p) = jump_policy {
                policy(p);
            }
            if let Some(GroupRef::Created(c)) = jump_group {
                v.push(c.to_lowercase());
            }
        }
        Op::SetGroupPolicyMembership { jump_policy, .. }
        | Op::SetUserMembership { jump_policy, .. } => policy(jump_policy),
        _ => {}
    }
    v
}

/// Rewrites references to ids that exist only in the simulated estate as references by code name.
fn relink(a: &mut Action, live: &Estate, simulated: &Estate) {
    let policy = |p: &mut PolicyRef| {
        if let PolicyRef::Existing(id) = p {
            if !live.pra.jump_policy.iter().any(|x| x.id == *id) {
                if let Some(x) = simulated.pra.jump_policy.iter().find(|x| x.id == *id) {
                    *p = PolicyRef::Created(x.code_name.clone());
                }
            }
        }
    };
    match &mut a.op {
        Op::UpdateJumpItem {
            jump_group,
            jump_policy,
            ..
        } => {
            if let Some(p) = jump_policy {
                policy(p);
            }
            if let Some(GroupRef::Existing(id)) = jump_group {
                if !live.pra.jump_group.iter().any(|x| x.id == *id) {
                    if let Some(x) = simulated.pra.jump_group.iter().find(|x| x.id == *id) {
                        *jump_group = Some(GroupRef::Created(x.code_name.clone()));
                    }
                }
            }
        }
        Op::SetGroupPolicyMembership { jump_policy, .. }
        | Op::SetUserMembership { jump_policy, .. } => policy(jump_policy),
        _ => {}
    }
}

fn build_once<'a>(
    policy: &'a Policy,
    estate: &'a Estate,
    report: &'a Report,
    options: &'a PlanOptions,
    original: &'a ObjectFingerprints<'a>,
) -> Plan {
    let mut p = Planner::new(policy, estate, report, options, original);
    p.jump_policies();
    p.jump_groups();
    p.items();
    p.memberships();
    p.role_assignments();
    p.api_access();
    p.manual_steps();
    p.finish()
}

struct Planner<'a> {
    policy: &'a Policy,
    estate: &'a Estate,
    options: &'a PlanOptions,
    findings: Vec<&'a Finding>,
    /// Which action (index) resolves each finding.
    resolved_by: Vec<Option<usize>>,
    actions: Vec<Action>,
    /// The id of the first action that creates each jump policy or group, by code name
    /// (ASCII-lowercased).
    creators: HashMap<String, String>,
    fingerprints: &'a ObjectFingerprints<'a>,
    ticket_system: Option<bool>,
    ix: Indexes<'a>,
}

/// Lookups the planner makes for every item it plans, so that planning ten thousand items
/// does not scan every finding and every live object ten thousand times. Where several
/// objects share a key, the first (in estate or policy order) wins, as `find` would pick.
struct Indexes<'a> {
    /// (item type, id) of a jump item or client → the findings whose path holds it.
    findings_by_item: HashMap<(Option<String>, i64), Vec<usize>>,
    /// Jump policy id on the path → findings.
    findings_by_policy: HashMap<i64, Vec<usize>>,
    /// (user group id, smart rule id) of the path → findings.
    findings_by_pair: HashMap<(Option<i64>, Option<i64>), Vec<usize>>,
    /// Managed account id of the path → findings.
    findings_by_account: HashMap<Option<i64>, Vec<usize>>,
    /// (element kind, element id, jump group id) of a `membership-override` → findings.
    overrides: HashMap<(String, Option<i64>, Option<i64>), Vec<usize>>,
    targets: HashMap<&'a str, &'a Target>,
    items: HashMap<(JumpItemType, i64), &'a JumpItem>,
    clients: HashMap<i64, &'a JumpClient>,
    groups: HashMap<i64, Vec<&'a JumpGroup>>,
    groups_by_code: HashMap<String, &'a JumpGroup>,
    live_policies: HashMap<String, &'a JumpPolicy>,
    declared_policies: HashMap<String, &'a DeclaredJumpPolicy>,
    declared_groups: HashMap<String, &'a DeclaredJumpGroup>,
    /// (item type, lowercased hostname) → shared items, for copies of an item; built on first use.
    by_host: Option<HashMap<(JumpItemType, String), Vec<&'a JumpItem>>>,
}

impl<'a> Indexes<'a> {
    fn new(policy: &'a Policy, estate: &'a Estate, findings: &[&'a Finding]) -> Self {
        fn first<K: std::hash::Hash + Eq, V>(pairs: impl Iterator<Item = (K, V)>) -> HashMap<K, V> {
            let mut map = HashMap::new();
            for (k, v) in pairs {
                map.entry(k).or_insert(v);
            }
            map
        }
        fn add<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<usize>>, key: K, i: usize) {
            let list = map.entry(key).or_default();
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
        let pra = &estate.pra;
        let mut ix = Indexes {
            findings_by_item: HashMap::new(),
            findings_by_policy: HashMap::new(),
            findings_by_pair: HashMap::new(),
            findings_by_account: HashMap::new(),
            overrides: HashMap::new(),
            targets: first(policy.targets.iter().map(|t| (t.name.as_str(), t))),
            items: first(
                pra.jump_item
                    .iter()
                    .flat_map(|(t, items)| items.iter().map(move |i| ((*t, i.id), i))),
            ),
            clients: first(pra.jump_client.iter().map(|c| (c.id, c))),
            groups: HashMap::new(),
            groups_by_code: first(
                pra.jump_group
                    .iter()
                    .map(|g| (g.code_name.to_ascii_lowercase(), g)),
            ),
            live_policies: first(
                pra.jump_policy
                    .iter()
                    .map(|p| (p.code_name.to_ascii_lowercase(), p)),
            ),
            declared_policies: first(
                policy
                    .jump_policies
                    .iter()
                    .map(|p| (p.code_name.to_ascii_lowercase(), p)),
            ),
            declared_groups: first(
                policy
                    .jump_groups
                    .iter()
                    .map(|g| (g.code_name.to_ascii_lowercase(), g)),
            ),
            by_host: None,
        };
        for g in &pra.jump_group {
            ix.groups.entry(g.id).or_default().push(g);
        }
        for (i, f) in findings.iter().enumerate() {
            for p in &f.path {
                match (p.kind.as_str(), p.id) {
                    ("jump_item" | "jump_client", Some(id)) => {
                        add(&mut ix.findings_by_item, (p.item_type.clone(), id), i)
                    }
                    ("jump_policy", Some(id)) => add(&mut ix.findings_by_policy, id, i),
                    _ => {}
                }
            }
            let pair = (
                el(f, "user_group").and_then(|e| e.id),
                el(f, "smart_rule").and_then(|e| e.id),
            );
            add(&mut ix.findings_by_pair, pair, i);
            let account = el(f, "managed_account").and_then(|e| e.id);
            add(&mut ix.findings_by_account, account, i);
            if f.rule == Rule::MembershipOverride {
                let group = el(f, "jump_group").and_then(|e| e.id);
                for p in &f.path {
                    add(&mut ix.overrides, (p.kind.clone(), p.id, group), i);
                }
            }
        }
        ix
    }

    fn group(&self, id: i64) -> Option<&'a JumpGroup> {
        self.groups.get(&id).and_then(|g| g.first().copied())
    }
}

fn el<'f>(f: &'f Finding, kind: &str) -> Option<&'f PathElement> {
    f.path.iter().find(|p| p.kind == kind)
}

fn is_membership(p: &PathElement) -> bool {
    p.kind == "user_membership" || p.kind == "group_policy_membership"
}

/// The object key of a jump item or client, as `Estate::object_fingerprints` spells it.
fn item_key(item_type: Option<&str>, id: i64) -> String {
    match item_type {
        Some(t) => format!("pra/jump_item/{t}/{id}"),
        None => format!("pra/jump_client/{id}"),
    }
}

impl<'a> Planner<'a> {
    fn new(
        policy: &'a Policy,
        estate: &'a Estate,
        report: &'a Report,
        options: &'a PlanOptions,
        original: &'a ObjectFingerprints<'a>,
    ) -> Self {
        let findings: Vec<&Finding> = report.unwaived().collect();
        let today_valid =
            |a: &&crate::policy::Attestation| a.setting == Setting::TicketSystemConfigured;
        // The newest attestation of the ticket system as the report judged it (expired ones
        // were reported; valid ones are those the evaluator used).
        let ticket_system = policy
            .attestations
            .iter()
            .filter(today_valid)
            .filter(|a| {
                a.expires.to_string() >= report.as_of && a.attested_on.to_string() <= report.as_of
            })
            .max_by_key(|a| a.attested_on)
            .map(|a| a.value);
        Planner {
            policy,
            estate,
            options,
            resolved_by: vec![None; findings.len()],
            ix: Indexes::new(policy, estate, &findings),
            findings,
            actions: Vec::new(),
            creators: HashMap::new(),
            fingerprints: original,
            ticket_system,
        }
    }

    fn precondition(&self, object: String) -> Precondition {
        let fingerprint = self.fingerprints.get(&object);
        Precondition {
            object,
            fingerprint,
        }
    }

    fn absent(&self, object: String) -> Precondition {
        Precondition {
            object,
            fingerprint: None,
        }
    }

    /// Adds an action resolving the findings `which` picks among those not yet resolved.
    fn push(&mut self, action: Action, which: impl Fn(&Finding) -> bool) -> usize {
        let all: Vec<usize> = (0..self.findings.len()).collect();
        self.push_among(action, &all, which)
    }

    /// Like `push`, when `which` can only pick findings among `candidates` (an index says so).
    fn push_among(
        &mut self,
        mut action: Action,
        candidates: &[usize],
        which: impl Fn(&Finding) -> bool,
    ) -> usize {
        let index = self.actions.len();
        action.id = format!("a{}", index + 1);
        for &i in candidates {
            if self.resolved_by[i].is_none() && which(self.findings[i]) {
                self.resolved_by[i] = Some(index);
            }
        }
        if let Op::CreateJumpPolicy { code_name, .. } | Op::CreateJumpGroup { code_name, .. } =
            &action.op
        {
            self.creators
                .entry(code_name.to_ascii_lowercase())
                .or_insert_with(|| action.id.clone());
        }
        self.actions.push(action);
        index
    }

    fn api(change: Change, op: Op, summary: String, precondition: Vec<Precondition>) -> Action {
        Action {
            id: String::new(),
            kind: ActionKind::Api,
            change,
            op,
            summary,
            resolves: Vec::new(),
            precondition,
            fields: Vec::new(),
            depends_on: Vec::new(),
            instructions: Vec::new(),
            then_add: None,
        }
    }

    fn manual(title: &str, instructions: Vec<String>, then_add: Option<String>) -> Action {
        Action {
            id: String::new(),
            kind: ActionKind::Manual,
            change: Change::Manual,
            op: Op::Manual {
                title: title.to_string(),
            },
            summary: title.to_string(),
            resolves: Vec::new(),
            precondition: Vec::new(),
            fields: Vec::new(),
            depends_on: Vec::new(),
            instructions,
            then_add,
        }
    }

    fn live_policy(&self, code: &str) -> Option<&'a JumpPolicy> {
        self.ix
            .live_policies
            .get(&code.to_ascii_lowercase())
            .copied()
    }

    fn declared_policy(&self, code: &str) -> Option<&'a DeclaredJumpPolicy> {
        self.ix
            .declared_policies
            .get(&code.to_ascii_lowercase())
            .copied()
    }

    /// The reference to a declared jump policy: live when it exists, else created by this plan.
    fn policy_ref(&self, code: &str) -> PolicyRef {
        match self.live_policy(code) {
            Some(p) => PolicyRef::Existing(p.id),
            None => PolicyRef::Created(
                self.declared_policy(code)
                    .map_or(code.to_string(), |d| d.code_name.clone()),
            ),
        }
    }

    /// The id of the action that creates a jump policy or group of this code name, if any.
    fn creator(&self, code: &str) -> Option<String> {
        self.creators.get(&code.to_ascii_lowercase()).cloned()
    }

    /// Whether a declared jump policy, once it matches the policy file, meets a target's needs.
    fn spec_meets(&self, code: &str, target: &Target) -> bool {
        let Some(d) = self.declared_policy(code) else {
            return false;
        };
        let approval = d.spec.approval.as_ref();
        let required = approval
            .and_then(|a| a.required.as_ref())
            .is_some_and(|r| r.value);
        let self_approval = approval
            .and_then(|a| a.self_approval.as_ref())
            .is_some_and(|s| s.value);
        let ticket = d
            .spec
            .ticket_id
            .as_ref()
            .is_some_and(|t| t.value.is_required());
        (!target.approval || (required && !self_approval))
            && (!target.comment || required)
            && (!target.ticket || (ticket && self.ticket_system == Some(true)))
    }

    fn target(&self, name: Option<&str>) -> Option<&'a Target> {
        name.and_then(|n| self.ix.targets.get(n).copied())
    }

    // ---- jump policies -------------------------------------------------------------------

    fn jump_policies(&mut self) {
        // Fields each live policy must get: declared fields, then site hardening.
        let mut updates: BTreeMap<i64, Vec<FieldChange>> = BTreeMap::new();
        for d in &self.policy.jump_policies {
            let body = declared_body(d, self.estate);
            match self.live_policy(&d.code_name) {
                None => {
                    let mut body = body;
                    body["code_name"] = json!(d.code_name);
                    if body.get("display_name").is_none() {
                        body["display_name"] = json!(d.code_name);
                    }
                    if body.get("approval_required") == Some(&json!(true)) {
                        // The API demands a display name for approvers and schedule off.
                        body["approval_display_name"] = body["display_name"].clone();
                        body["schedule_enabled"] = json!(false);
                    }
                    let code = d.code_name.clone();
                    let summary = format!("create jump policy `{code}`");
                    let pre =
                        vec![self
                            .absent(format!("pra/jump_policy/code_name:{}", code.to_lowercase()))];
                    let action = Self::api(
                        Change::Create,
                        Op::CreateJumpPolicy {
                            code_name: code.clone(),
                            body,
                        },
                        summary,
                        pre,
                    );
                    self.push(action, |f| {
                        f.rule == Rule::JumpPolicyDrift
                            && el(f, "declared_jump_policy")
                                .is_some_and(|e| e.name.eq_ignore_ascii_case(&code))
                    });
                }
                Some(live) => {
                    let current = serde_json::to_value(live).unwrap_or(Value::Null);
                    let changes = updates.entry(live.id).or_default();
                    if let Value::Object(fields) = body {
                        for (k, v) in fields {
                            let before = current.get(&k).cloned().unwrap_or(Value::Null);
                            if !same(&k, &before, &v) {
                                changes.push(FieldChange {
                                    field: k,
                                    before,
                                    after: v,
                                });
                            }
                        }
                    }
                }
            }
        }
        let site = &self.policy.site;
        for live in &self.estate.pra.jump_policy {
            let changes = updates.entry(live.id).or_default();
            let has = |c: &Vec<FieldChange>, f: &str| c.iter().any(|x| x.field == f);
            if site.self_approval.is_some()
                && live.self_approval()
                && !has(changes, "approval_approver_scope")
            {
                changes.push(FieldChange {
                    field: "approval_approver_scope".into(),
                    before: json!(live.approval_approver_scope),
                    after: json!("not_requestor"),
                });
            }
            if site.recordings.is_some()
                && live.recordings_disabled
                && !has(changes, "recordings_disabled")
            {
                changes.push(FieldChange {
                    field: "recordings_disabled".into(),
                    before: json!(true),
                    after: json!(false),
                });
            }
        }
        for (id, fields) in updates {
            if fields.is_empty() {
                continue;
            }
            let Some(live) = self.estate.pra.jump_policy.iter().find(|p| p.id == id) else {
                continue;
            };
            let body: serde_json::Map<String, Value> = fields
                .iter()
                .map(|c| (c.field.clone(), c.after.clone()))
                .collect();
            let mut action = Self::api(
                Change::Update,
                Op::UpdateJumpPolicy {
                    id,
                    body: Value::Object(body),
                },
                format!("update jump policy `{}` (id {id})", live.display_name),
                vec![self.precondition(format!("pra/jump_policy/{id}"))],
            );
            action.fields = fields;
            let site_fields = action
                .fields
                .iter()
                .any(|f| f.field == "approval_approver_scope" || f.field == "recordings_disabled");
            let on_policy = self
                .ix
                .findings_by_policy
                .get(&id)
                .cloned()
                .unwrap_or_default();
            self.push_among(action, &on_policy, |f| {
                let on_policy = f
                    .path
                    .iter()
                    .any(|p| p.kind == "jump_policy" && p.id == Some(id));
                on_policy
                    && (f.rule == Rule::JumpPolicyDrift
                        || (site_fields
                            && matches!(
                                f.rule,
                                Rule::SiteSelfApproval | Rule::SiteRecordingsDisabled
                            )))
            });
        }
    }

    fn jump_groups(&mut self) {
        for g in &self.policy.jump_groups {
            if self
                .estate
                .pra
                .jump_group
                .iter()
                .any(|l| l.code_name.eq_ignore_ascii_case(&g.code_name))
            {
                continue;
            }
            let code = g.code_name.clone();
            let name = g.name.clone().unwrap_or_else(|| code.clone());
            let action = Self::api(
                Change::Create,
                Op::CreateJumpGroup {
                    code_name: code.clone(),
                    name: name.clone(),
                },
                format!("create jump group `{name}` ({code})"),
                vec![self.absent(format!("pra/jump_group/code_name:{}", code.to_lowercase()))],
            );
            self.push(action, |f| {
                f.rule == Rule::JumpGroupMissing
                    && el(f, "declared_jump_group")
                        .is_some_and(|e| e.name.eq_ignore_ascii_case(&code))
            });
        }
    }

    // ---- jump items ----------------------------------------------------------------------

    fn items(&mut self) {
        // Every item with a finding on a path that does not go through a membership override.
        let mut items: Vec<(Option<String>, i64, String)> = Vec::new();
        let mut seen = HashSet::new();
        for f in &self.findings {
            let Some(item) = f
                .path
                .iter()
                .find(|p| p.kind == "jump_item" || p.kind == "jump_client")
            else {
                continue;
            };
            if f.path.iter().any(is_membership) && f.rule != Rule::UnsanctionedJumpGroup {
                continue;
            }
            let key = (
                item.item_type.clone(),
                item.id.unwrap_or_default(),
                item.name.clone(),
            );
            if seen.insert(key.clone()) {
                items.push(key);
            }
        }
        for (item_type, id, name) in items {
            self.plan_item(item_type.as_deref(), id, &name);
        }
    }

    fn plan_item(&mut self, item_type: Option<&str>, id: i64, name: &str) {
        let pra = &self.estate.pra;
        let ty: Option<JumpItemType> =
            item_type.and_then(|t| serde_json::from_value(Value::String(t.into())).ok());
        let (group_type, group_id, policy_id, host) = match ty {
            Some(t) => match self.ix.items.get(&(t, id)) {
                Some(i) => (
                    i.jump_group_type,
                    i.jump_group_id,
                    crate::estate::nonzero(i.jump_policy_id),
                    i.hostname.clone().or(i.url.clone()),
                ),
                None => return,
            },
            None => match self.ix.clients.get(&id) {
                Some(c) => (
                    c.jump_group_type,
                    c.jump_group_id,
                    crate::estate::nonzero(c.jump_policy_id),
                    c.hostname.clone(),
                ),
                None => return,
            },
        };
        let on_item = |f: &Finding| {
            f.path.iter().any(|p| {
                (p.kind == "jump_item" || p.kind == "jump_client")
                    && p.id == Some(id)
                    && p.item_type.as_deref() == item_type
            })
        };
        let key = item_key(item_type, id);
        let label = format!("{} `{name}`", item_type.unwrap_or("jump client"));
        // The findings `on_item` picks, in report order.
        let mine: Vec<usize> = self
            .ix
            .findings_by_item
            .get(&(item_type.map(str::to_owned), id))
            .cloned()
            .unwrap_or_default();

        if group_type == crate::estate::JumpGroupType::Personal {
            let personal = |f: &Finding| {
                on_item(f) && matches!(f.rule, Rule::PersonalJumpItem | Rule::SitePersonalJumpItem)
            };
            if self.options.allow_destroy {
                let action = Self::api(
                    Change::Destroy,
                    Op::DeleteJumpItem { item_type: ty, id },
                    format!("delete personal {label}"),
                    vec![self.precondition(key)],
                );
                self.push_among(action, &mine, personal);
            } else {
                let action = Self::manual(
                    &format!("remove personal {label}"),
                    vec![
                        format!("Ask its owner (user id {group_id}) to delete the personal {label}, or have an administrator remove it in the access console."),
                        "Or run `jumpguard plan --allow-destroy` to let jumpguard delete it.".into(),
                    ],
                    None,
                );
                self.push_among(action, &mine, personal);
            }
            return;
        }

        let group = self.ix.group(group_id);
        let group_code = group.map(|g| g.code_name.to_lowercase());
        // Targets whose findings name this item.
        let targets: Vec<&Target> = {
            let mut v: Vec<&Target> = Vec::new();
            for f in mine.iter().map(|i| self.findings[*i]) {
                if let Some(t) = self.target(f.target.as_deref()) {
                    if !v.iter().any(|x| x.name == t.name) {
                        v.push(t);
                    }
                }
            }
            v
        };
        // Where the item may live: the groups every such target lists (when any lists).
        let sanctioned: Option<Vec<String>> = targets
            .iter()
            .filter_map(|t| t.jump_groups.clone())
            .reduce(|a, b| a.into_iter().filter(|g| b.contains(g)).collect());
        let misplaced = match (&sanctioned, &group_code) {
            (Some(list), Some(code)) => !list.contains(code),
            (Some(_), None) => true,
            _ => false,
        };
        if misplaced {
            let list = sanctioned.clone().unwrap_or_default();
            // A copy of an item that already sits in a sanctioned group: remove it.
            let by_host = self.ix.by_host.get_or_insert_with(|| {
                let mut map: HashMap<(JumpItemType, String), Vec<&JumpItem>> = HashMap::new();
                for (t, items) in &pra.jump_item {
                    for i in items {
                        if let Some(h) = &i.hostname {
                            map.entry((*t, h.to_lowercase())).or_default().push(i);
                        }
                    }
                }
                map
            });
            let groups = &self.ix.groups;
            let twin = ty.zip(host.as_deref()).and_then(|(t, h)| {
                by_host
                    .get(&(t, h.to_lowercase()))?
                    .iter()
                    .copied()
                    .find(|i| {
                        i.id != id
                            && i.jump_group_type == crate::estate::JumpGroupType::Shared
                            && groups.get(&i.jump_group_id).is_some_and(|gs| {
                                gs.iter()
                                    .any(|g| list.contains(&g.code_name.to_lowercase()))
                            })
                    })
            });
            if let Some(twin) = twin {
                let covered = |f: &Finding| on_item(f);
                if self.options.allow_destroy {
                    let action = Self::api(
                        Change::Destroy,
                        Op::DeleteJumpItem { item_type: ty, id },
                        format!("delete {label}: `{}` already reaches the same host from a sanctioned group", twin.name),
                        vec![self.precondition(key)],
                    );
                    self.push_among(action, &mine, covered);
                } else {
                    let action = Self::manual(
                        &format!("delete {label} (a copy of `{}`)", twin.name),
                        vec![
                            format!("{label} in jump group `{}` copies `{}` of a sanctioned group; delete it in /login > Jump > Jump Items (or the access console).", group.map_or("?", |g| g.name.as_str()), twin.name),
                            "Or run `jumpguard plan --allow-destroy` to let jumpguard delete it.".into(),
                        ],
                        None,
                    );
                    self.push_among(action, &mine, covered);
                }
                return;
            }
            let Some(dest_code) = list.first().cloned() else {
                return;
            };
            let dest = match self.ix.groups_by_code.get(&dest_code.to_ascii_lowercase()) {
                Some(g) => GroupRef::Existing(g.id),
                None => GroupRef::Created(dest_code.clone()),
            };
            let want = self
                .ix
                .declared_groups
                .get(&dest_code.to_ascii_lowercase())
                .and_then(|g| g.jump_policy.clone());
            let set_policy = want
                .as_deref()
                .filter(|code| targets.iter().all(|t| self.spec_meets(code, t)));
            let new_policy = set_policy.map(|c| self.policy_ref(c));
            let mut action = Self::api(
                Change::Update,
                Op::UpdateJumpItem {
                    item_type: ty,
                    id,
                    jump_group: Some(dest.clone()),
                    jump_policy: new_policy.clone(),
                },
                format!("move {label} into jump group `{dest_code}`"),
                vec![self.precondition(key)],
            );
            action.fields.push(FieldChange {
                field: "jump_group_id".into(),
                before: json!(group_id),
                after: group_ref_json(&dest),
            });
            if let Some(p) = &new_policy {
                action.fields.push(FieldChange {
                    field: "jump_policy_id".into(),
                    before: json!(policy_id),
                    after: policy_ref_json(p),
                });
            }
            action.depends_on = [Some(dest_code.as_str()), set_policy]
                .into_iter()
                .flatten()
                .filter_map(|c| self.creator(c))
                .collect();
            let fixed_policy = new_policy.is_some();
            self.push_among(action, &mine, move |f| {
                on_item(f)
                    && !f.path.iter().any(is_membership)
                    && (f.rule == Rule::UnsanctionedJumpGroup
                        || (fixed_policy
                            && matches!(
                                f.rule,
                                Rule::ApprovalMissing
                                    | Rule::ReasonMissing
                                    | Rule::TicketIdMissing
                                    | Rule::SelfApproval
                                    | Rule::GroupPolicyMismatch
                            )))
            });
            return;
        }
        // In a sanctioned (or unrestricted) group: give it the group's declared jump policy.
        let declared = group_code.as_deref().and_then(|c| {
            self.ix
                .declared_groups
                .get(&c.to_ascii_lowercase())
                .copied()
        });
        let want = declared.and_then(|g| g.jump_policy.clone());
        let generic = |f: &Finding| {
            on_item(f)
                && !f.path.iter().any(is_membership)
                && matches!(
                    f.rule,
                    Rule::ApprovalMissing
                        | Rule::ReasonMissing
                        | Rule::TicketIdMissing
                        | Rule::SelfApproval
                        | Rule::GroupPolicyMismatch
                )
        };
        match want.filter(|code| targets.iter().all(|t| self.spec_meets(code, t))) {
            Some(code) => {
                let new_policy = self.policy_ref(&code);
                let mut action = Self::api(
                    Change::Update,
                    Op::UpdateJumpItem {
                        item_type: ty,
                        id,
                        jump_group: None,
                        jump_policy: Some(new_policy.clone()),
                    },
                    format!("guard {label} with jump policy `{code}`"),
                    vec![self.precondition(key)],
                );
                action.fields.push(FieldChange {
                    field: "jump_policy_id".into(),
                    before: json!(policy_id),
                    after: policy_ref_json(&new_policy),
                });
                action.depends_on = self.creator(&code).into_iter().collect();
                self.push_among(action, &mine, generic);
            }
            None if mine.iter().any(|i| {
                generic(self.findings[*i]) && self.findings[*i].rule != Rule::TicketIdMissing
            }) =>
            {
                let where_ = group.map_or("its jump group".to_string(), |g| {
                    format!("jump group `{}`", g.name)
                });
                let action = Self::manual(
                    &format!("guard {label}"),
                    vec![
                        format!("Give {label} in {where_} a jump policy that requires approval (not_requestor), in /login > Jump > Jump Items."),
                        format!("Or declare `jump_policy:` for {where_} in the policy so that `jumpguard plan` can set it."),
                    ],
                    None,
                );
                self.push_among(action, &mine, generic);
            }
            None => {}
        }
    }

    // ---- memberships ---------------------------------------------------------------------

    fn memberships(&mut self) {
        let mut seen: HashSet<(String, i64, i64)> = HashSet::new();
        let overrides: Vec<&Finding> = self
            .findings
            .iter()
            .copied()
            .filter(|f| f.rule == Rule::MembershipOverride)
            .collect();
        for f in overrides {
            let (Some(m), Some(g)) = (
                f.path.iter().find(|p| is_membership(p)),
                el(f, "jump_group"),
            ) else {
                continue;
            };
            let (kind, member, group_id) = (
                m.kind.clone(),
                m.id.unwrap_or_default(),
                g.id.unwrap_or_default(),
            );
            if !seen.insert((kind.clone(), member, group_id)) {
                continue;
            }
            let group = self.ix.group(group_id);
            let declared = group.and_then(|x| {
                self.ix
                    .declared_groups
                    .get(&x.code_name.to_ascii_lowercase())
                    .copied()
            });
            let code = declared.and_then(|d| d.jump_policy.clone());
            // The override findings of this membership, in report order.
            let same: Vec<usize> = self
                .ix
                .overrides
                .get(&(kind.clone(), Some(member), Some(group_id)))
                .cloned()
                .unwrap_or_default();
            let target_names: Vec<&Target> = same
                .iter()
                .filter_map(|i| self.target(self.findings[*i].target.as_deref()))
                .collect();
            // The group's declared policy when it meets every need; otherwise "Set on Jump
            // Items", so that each item's own guard counts again.
            let new_policy = match code
                .as_deref()
                .filter(|c| target_names.iter().all(|t| self.spec_meets(c, t)))
            {
                Some(c) => self.policy_ref(c),
                None => PolicyRef::None,
            };
            let depends: Vec<String> = match &new_policy {
                PolicyRef::Created(c) => self.creator(c).into_iter().collect(),
                _ => Vec::new(),
            };
            let group_name = group.map_or(format!("#{group_id}"), |x| x.name.clone());
            let (op, key, before) = if kind == "group_policy_membership" {
                let row = self
                    .estate
                    .pra
                    .group_policy_jump_group
                    .iter()
                    .find(|r| r.group_policy_id == member && r.jump_group_id == group_id);
                (
                    Op::SetGroupPolicyMembership {
                        group_policy_id: member,
                        jump_group_id: group_id,
                        jump_item_role_id: row.and_then(|r| r.jump_item_role_id).unwrap_or(0),
                        jump_policy: new_policy.clone(),
                    },
                    format!("pra/group_policy_jump_group/{member}/{group_id}"),
                    row.and_then(|r| r.jump_policy_id),
                )
            } else {
                let row = self
                    .estate
                    .pra
                    .jump_group_user
                    .iter()
                    .find(|r| r.user_id == member && r.jump_group_id == group_id);
                (
                    Op::SetUserMembership {
                        jump_group_id: group_id,
                        user_id: member,
                        jump_policy: new_policy.clone(),
                    },
                    format!("pra/jump_group_user/{group_id}/{member}"),
                    row.and_then(|r| r.jump_policy_id),
                )
            };
            let what = match &new_policy {
                PolicyRef::None => "\"Set on Jump Items\"".to_string(),
                PolicyRef::Existing(_) | PolicyRef::Created(_) => {
                    format!("jump policy `{}`", code.clone().unwrap_or_default())
                }
            };
            let mut action = Self::api(
                Change::Update,
                op,
                format!(
                    "set the jump policy of membership `{}` in jump group `{group_name}` to {what}",
                    m.name
                ),
                vec![self.precondition(key)],
            );
            action.fields.push(FieldChange {
                field: "jump_policy_id".into(),
                before: json!(before),
                after: policy_ref_json(&new_policy),
            });
            action.depends_on = depends;
            self.push_among(action, &same, |x| {
                x.rule == Rule::MembershipOverride
                    && x.path
                        .iter()
                        .any(|p| p.kind == kind && p.id == Some(member))
                    && el(x, "jump_group").is_some_and(|e| e.id == Some(group_id))
            });
        }
    }

    // ---- Password Safe role assignments --------------------------------------------------

    fn role_assignments(&mut self) {
        let Some(ps) = &self.estate.ps else { return };
        let mut pairs: Vec<(i64, i64)> = Vec::new();
        for f in &self.findings {
            if !matches!(
                f.rule,
                Rule::PsIsaBypass
                    | Rule::PsApprovalMissing
                    | Rule::PsReasonMissing
                    | Rule::PsTicketMissing
            ) {
                continue;
            }
            if let (Some(g), Some(r)) = (
                el(f, "user_group").and_then(|e| e.id),
                el(f, "smart_rule").and_then(|e| e.id),
            ) {
                if !pairs.contains(&(g, r)) {
                    pairs.push((g, r));
                }
            }
        }
        for (group_id, rule_id) in pairs {
            let Some(row) = ps
                .role_assignments
                .iter()
                .find(|r| r.user_group_id == group_id && r.smart_rule_id == rule_id)
            else {
                continue;
            };
            let on_pair = move |f: &Finding| {
                el(f, "user_group").and_then(|e| e.id) == Some(group_id)
                    && el(f, "smart_rule").and_then(|e| e.id) == Some(rule_id)
            };
            let on_this_pair: Vec<usize> = self
                .ix
                .findings_by_pair
                .get(&(Some(group_id), Some(rule_id)))
                .cloned()
                .unwrap_or_default();
            let pair_findings: Vec<&Finding> =
                on_this_pair.iter().map(|i| self.findings[*i]).collect();
            let isa = pair_findings.iter().any(|f| f.rule == Rule::PsIsaBypass);
            let need_approval = pair_findings
                .iter()
                .any(|f| f.rule == Rule::PsApprovalMissing);
            let need_reason = pair_findings
                .iter()
                .any(|f| f.rule == Rule::PsReasonMissing);
            let need_ticket = pair_findings
                .iter()
                .any(|f| f.rule == Rule::PsTicketMissing);
            let mut roles: Vec<i64> = row
                .roles
                .iter()
                .filter(|r| !(isa && r.name.eq_ignore_ascii_case("ISA")))
                .map(|r| r.role_id)
                .collect();
            let requests = row.roles.iter().any(|r| {
                let n = r.name.to_lowercase();
                n == "requestor" || n == "requestor/approver"
            });
            let mut policy = row.access_policy_id;
            let mut fixes_requests = false;
            let mut manual_policy = None;
            if requests && (need_approval || need_reason || need_ticket) {
                let good = ps.access_policies.iter().find(|p| {
                    let usable: Vec<_> = p
                        .schedules
                        .iter()
                        .filter(|s| !s.access_types.is_empty())
                        .collect();
                    !usable.is_empty()
                        && usable.iter().all(|s| {
                            (!need_approval || s.access_types.iter().all(|a| a.min_approvers >= 1))
                                && (!need_reason || s.require_reason)
                                && (!need_ticket || ps.ticket_enforced(s))
                        })
                });
                match good {
                    Some(p) => {
                        policy = Some(p.access_policy_id);
                        fixes_requests = true;
                    }
                    None => manual_policy = Some((need_approval, need_reason, need_ticket)),
                }
            }
            let group_name = ps
                .user_groups
                .iter()
                .find(|g| g.group_id == group_id)
                .map_or(format!("#{group_id}"), |g| g.name.clone());
            let rule_name = ps
                .smart_rules
                .iter()
                .find(|r| r.smart_rule_id == rule_id)
                .map_or(format!("#{rule_id}"), |r| r.title.clone());
            if isa || fixes_requests {
                roles.sort();
                let mut action = Self::api(
                    Change::Update,
                    Op::SetRoleAssignment {
                        user_group_id: group_id,
                        smart_rule_id: rule_id,
                        role_ids: roles.clone(),
                        access_policy_id: if roles.is_empty() { None } else { policy },
                    },
                    format!(
                        "change the roles of user group `{group_name}` on smart rule `{rule_name}`"
                    ),
                    vec![self.precondition(format!("ps/role_assignments/{group_id}/{rule_id}"))],
                );
                let before_roles: Vec<String> = row.roles.iter().map(|r| r.name.clone()).collect();
                let after_roles: Vec<String> = row
                    .roles
                    .iter()
                    .filter(|r| roles.contains(&r.role_id))
                    .map(|r| r.name.clone())
                    .collect();
                if before_roles != after_roles {
                    action.fields.push(FieldChange {
                        field: "Roles".into(),
                        before: json!(before_roles),
                        after: json!(after_roles),
                    });
                }
                if policy != row.access_policy_id {
                    action.fields.push(FieldChange {
                        field: "AccessPolicyID".into(),
                        before: json!(row.access_policy_id),
                        after: json!(policy),
                    });
                }
                self.push_among(action, &on_this_pair, move |f| {
                    on_pair(f)
                        && (f.rule == Rule::PsIsaBypass && isa
                            || fixes_requests
                                && matches!(
                                    f.rule,
                                    Rule::PsApprovalMissing
                                        | Rule::PsReasonMissing
                                        | Rule::PsTicketMissing
                                ))
                });
            }
            if let Some((a, r, t)) = manual_policy {
                let mut needs = Vec::new();
                if a {
                    needs.push("at least one approver for every access type (no Auto Approve)");
                }
                if r {
                    needs.push("Require Reason");
                }
                if t {
                    needs.push("Require Ticket System, with an active ticket system");
                }
                let action = Self::manual(
                    &format!("give user group `{group_name}` a stricter access policy on smart rule `{rule_name}`"),
                    vec![
                        format!("No access policy in Password Safe has {} in every schedule; access policies can only be edited in the BeyondInsight console.", needs.join(", ")),
                        "Create one in BeyondInsight: Configuration > Privileged Access Management Policies > Access Policies.".into(),
                        format!("Then run `jumpguard plan` again: it assigns that policy to `{group_name}` on `{rule_name}`."),
                    ],
                    None,
                );
                self.push_among(action, &on_this_pair, move |f| {
                    on_pair(f)
                        && matches!(
                            f.rule,
                            Rule::PsApprovalMissing | Rule::PsReasonMissing | Rule::PsTicketMissing
                        )
                });
            }
        }
    }

    // ---- ApiEnabled ------------------------------------------------------------------------

    /// `ps-api-enabled`: switch `ApiEnabled` off; the account's External Jump Item path closes too.
    fn api_access(&mut self) {
        let mut accounts: Vec<(i64, String, String)> = Vec::new();
        let mut seen = HashSet::new();
        for f in self
            .findings
            .iter()
            .filter(|f| f.rule == Rule::PsApiEnabled)
        {
            if let Some(a) = el(f, "managed_account") {
                let system = el(f, "managed_system").map_or(String::new(), |s| s.name.clone());
                let entry = (a.id.unwrap_or_default(), a.name.clone(), system);
                if seen.insert(entry.clone()) {
                    accounts.push(entry);
                }
            }
        }
        for (id, name, system) in accounts {
            let mut action = Self::api(
                Change::Update,
                Op::DisableApi {
                    managed_account_id: id,
                },
                format!("switch ApiEnabled off for `{name}` on `{system}`"),
                vec![self.precondition(format!("ps/managed_accounts/{id}"))],
            );
            action.fields.push(FieldChange {
                field: "ApiEnabled".into(),
                before: json!(true),
                after: json!(false),
            });
            let on_account = self
                .ix
                .findings_by_account
                .get(&Some(id))
                .cloned()
                .unwrap_or_default();
            self.push_among(action, &on_account, move |f| {
                matches!(f.rule, Rule::PsApiEnabled | Rule::ExternalSearchBypass)
                    && el(f, "managed_account").and_then(|e| e.id) == Some(id)
            });
        }
    }

    // ---- what no API can change ------------------------------------------------------------

    fn manual_steps(&mut self) {
        let attest = |setting: &str, value: bool| {
            format!(
                "attestations:\n  - {{ setting: {setting}, value: {value}, by: <you>, attested_on: <today>, expires: <in 90 days> }}"
            )
        };
        let steps: Vec<(Rule, Action)> = vec![
            (
                Rule::ExternalSearchBypass,
                Self::manual(
                    "switch off \"Allow Search for External Jump Items\"",
                    vec![
                        "In PRA: /login > Management > Security, clear \"Allow Search for External Jump Items\" and save.".into(),
                        "Restart the software when PRA asks (the setting takes effect after a restart).".into(),
                        "No API exposes this switch; attest it in the policy once done.".into(),
                    ],
                    Some(attest("pra.allow_search_external_jump_items", false)),
                ),
            ),
            (
                Rule::UnverifiedSetting,
                Self::manual(
                    "attest the settings no API exposes",
                    vec![
                        "Check each setting the findings name in the PRA web interface: the ticket system (Jump > Jump Policies), Allow Search for External Jump Items (Management > Security), Local and Remote Jump items (the access console).".into(),
                        "Add an attestation for each to the policy, with who checked it and until when it holds.".into(),
                    ],
                    Some(attest("<setting>", false)),
                ),
            ),
            (
                Rule::TicketIdMissing,
                Self::manual(
                    "require a ticket ID on the paths that lack one",
                    vec![
                        "Set ticket_id_required on the jump policies guarding these paths (declare `ticket_id: required` so that `jumpguard plan` can), and configure a ticket system in /login > Jump > Jump Policies.".into(),
                    ],
                    Some(attest("pra.ticket_system_configured", true)),
                ),
            ),
            (
                Rule::PolicyEditable,
                Self::manual(
                    "take editing roles away from members of guarded jump groups",
                    vec!["In /login > Jump > Jump Groups (or the group policy's Jump Groups), give these memberships a Jump Item Role without Edit Jump Policy, Move (assign jump group) and Add permissions.".into()],
                    None,
                ),
            ),
            (
                Rule::SiteEditingRole,
                Self::manual(
                    "take editing roles away from jump group memberships",
                    vec!["In /login > Jump > Jump Groups and Users & Security > Group Policies, use Jump Item Roles without Edit Jump Policy, Move and Add permissions.".into()],
                    None,
                ),
            ),
            (Rule::TargetNotFound, Self::manual("check targets that match no jump item", vec!["Correct the target's hosts or jump_groups in the policy, or remove the target.".into()], None)),
            (Rule::CredentialNotFound, Self::manual("check credentials that match no Password Safe account", vec!["Correct `credentials` (system and account) in the policy, or onboard the account in Password Safe.".into()], None)),
            (Rule::UnmanagedHost, Self::manual("name the unmanaged hosts", vec!["Add the hosts to a target (or set `unmanaged: ignore` for hosts out of scope).".into()], None)),
            (Rule::AttestationExpired, Self::manual("renew expired attestations", vec!["Check the setting again and add a new attestation with today's date.".into()], None)),
            (Rule::WaiverExpired, Self::manual("renew or remove expired waivers", vec!["Fix the finding, or renew the waiver with a new `expires` after review.".into()], None)),
            (Rule::WaiverUnused, Self::manual("remove unused waivers", vec!["Delete waivers that match no finding from the policy.".into()], None)),
            (Rule::UnsanctionedJumpGroup, Self::manual("move items into sanctioned jump groups", vec!["Move each item into a jump group its target lists (declare the group in the policy so that `jumpguard plan` can).".into()], None)),
            (Rule::GroupPolicyMismatch, Self::manual("guard declared jump groups with their jump policy", vec!["Set the declared jump policy on the items of the group, in /login > Jump > Jump Items.".into()], None)),
            (Rule::JumpPolicyDrift, Self::manual("align jump policies with the policy file", vec!["Edit the jump policy in /login > Jump > Jump Policies to match the declared fields (team or user approvers the policy names must exist).".into()], None)),
        ];
        for (rule, action) in steps {
            if self
                .findings
                .iter()
                .enumerate()
                .any(|(i, f)| self.resolved_by[i].is_none() && f.rule == rule)
            {
                self.push(action, move |f| f.rule == rule);
            }
        }
        // Whatever is left gets one catch-all step, so every finding is accounted for.
        if self.resolved_by.iter().any(Option::is_none) {
            let action = Self::manual("resolve the remaining findings", vec!["Run `jumpguard explain <rule>` for each remaining finding and follow its How to fix section.".into()], None);
            self.push(action, |_| true);
        }
    }

    fn finish(mut self) -> Plan {
        /// (action, fingerprint, rule, target, host): one entry of an action's `resolves`.
        type ResolvedKey<'k> = (usize, &'k str, &'k str, Option<&'k str>, Option<&'k str>);
        // Each action's resolves, without repeats (actions start with none).
        let mut listed: HashSet<ResolvedKey> = HashSet::new();
        for (i, f) in self.findings.iter().enumerate() {
            if let Some(a) = self.resolved_by[i] {
                let key = (
                    a,
                    f.fingerprint.as_str(),
                    f.rule.id(),
                    f.target.as_deref(),
                    f.host.as_deref(),
                );
                if listed.insert(key) {
                    self.actions[a].resolves.push(Resolved {
                        fingerprint: f.fingerprint.clone(),
                        rule: f.rule.id().into(),
                        target: f.target.clone(),
                        host: f.host.clone(),
                    });
                }
            }
        }
        // API actions that resolve nothing are not worth running.
        let keep: Vec<bool> = self
            .actions
            .iter()
            .map(|a| {
                a.kind == ActionKind::Manual
                    || !a.resolves.is_empty()
                    || matches!(
                        a.op,
                        Op::CreateJumpPolicy { .. } | Op::CreateJumpGroup { .. }
                    )
            })
            .collect();
        let mut kept = Vec::new();
        for (a, k) in self.actions.into_iter().zip(keep) {
            if k {
                kept.push(a);
            }
        }
        // API actions first (in dependency order as pushed), then manual steps.
        kept.sort_by_key(|a| a.kind == ActionKind::Manual);
        let renames: HashMap<String, String> = kept
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), format!("a{}", i + 1)))
            .collect();
        for a in &mut kept {
            a.id = renames[&a.id].clone();
            a.depends_on = a
                .depends_on
                .iter()
                .filter_map(|d| renames.get(d).cloned())
                .collect();
        }
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            created_at: self.options.created_at.clone(),
            // Set by `build`, for the estate the plan was made from.
            estate_fingerprint: String::new(),
            allow_destroy: self.options.allow_destroy,
            actions: kept,
        }
    }
}

/// Two field values are the same; id lists compare as sets.
fn same(field: &str, a: &Value, b: &Value) -> bool {
    if field.ends_with("_ids") || field.ends_with("_addresses") {
        let set = |v: &Value| {
            let mut s: Vec<String> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| x.as_str().map_or(x.to_string(), str::to_lowercase))
                .collect();
            s.sort();
            s
        };
        return set(a) == set(b);
    }
    a == b
}

/// The declared fields of a jump policy in the vendor's names and values.
fn declared_body(d: &DeclaredJumpPolicy, estate: &Estate) -> Value {
    let mut body = serde_json::Map::new();
    let spec = &d.spec;
    if let Some(n) = &spec.display_name {
        body.insert("display_name".into(), json!(n.value));
    }
    if let Some(a) = &spec.approval {
        if let Some(r) = &a.required {
            body.insert("approval_required".into(), json!(r.value));
        }
        if let Some(m) = d.max_duration_minutes {
            body.insert("approval_max_duration".into(), json!(m));
        }
        if let Some(s) = &a.self_approval {
            body.insert(
                "approval_approver_scope".into(),
                json!(if s.value { "anyone" } else { "not_requestor" }),
            );
        }
        if let Some(ap) = &a.approvers {
            let pra = &estate.pra;
            if let Some(teams) = &ap.teams {
                let ids = ids_named(teams, &pra.team, |t| (t.name.as_str(), t.id));
                body.insert("approval_team_ids".into(), json!(ids));
            }
            if let Some(users) = &ap.users {
                let ids = ids_named(users, &pra.user, |u| (u.username.as_str(), u.id));
                body.insert("approval_user_ids".into(), json!(ids));
            }
            if let Some(emails) = &ap.emails {
                body.insert(
                    "approval_email_addresses".into(),
                    json!(emails.iter().map(|e| e.value.clone()).collect::<Vec<_>>()),
                );
            }
        }
    }
    if let Some(t) = &spec.ticket_id {
        body.insert("ticket_id_required".into(), json!(t.value.is_required()));
    }
    if let Some(r) = &spec.recording {
        body.insert("recordings_disabled".into(), json!(!r.value.is_required()));
    }
    Value::Object(body)
}

/// The ids (as the API spells them, strings) of the live rows named, compared ignoring case;
/// names no row has are left out.
fn ids_named<R>(
    names: &[crate::policy::Spanned<String>],
    rows: &[R],
    name_and_id: impl Fn(&R) -> (&str, i64),
) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| {
            rows.iter()
                .map(&name_and_id)
                .find(|(name, _)| name.eq_ignore_ascii_case(&n.value))
                .map(|(_, id)| id.to_string())
        })
        .collect()
}

fn policy_ref_json(p: &PolicyRef) -> Value {
    match p {
        PolicyRef::Existing(id) => json!(id),
        PolicyRef::Created(code) => json!(format!("(new jump policy `{code}`)")),
        PolicyRef::None => Value::Null,
    }
}

fn group_ref_json(g: &GroupRef) -> Value {
    match g {
        GroupRef::Existing(id) => json!(id),
        GroupRef::Created(code) => json!(format!("(new jump group `{code}`)")),
    }
}
