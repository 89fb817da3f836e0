//! `plan::apply` in-process against both simulated appliances on loopback, seeded with the
//! shipped example estate: the changes land, a stale plan changes nothing, a failure stops the
//! run with a journal, and running the plan again resumes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jumpguard::estate::JumpItemType;
use jumpguard::plan::apply::{apply, lock_path, ApplyError, ApplyOptions, ApplyReport, StepStatus};
use jumpguard::plan::{
    Action, ActionKind, Change, GroupRef, Op, Plan, PolicyRef, Precondition, PLAN_FORMAT_VERSION,
};
use jumpguard::sim::{SimConfig, Simulator};
use jumpguard::source::{FetchOptions, PraSite, PsAuth, PsSite, Secret};
use serde_json::{json, Value};

const PRA_SECRET: &str = "pra-secret-for-apply-tests";
const PS_KEY: &str = "ps-api-key-for-apply-tests-0123456789abcdef";
const SEED: &str = "examples/seed/estate.json";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Both simulated appliances on one free loopback port, served from a thread of their own.
struct Sim {
    sim: Simulator,
    url: String,
}

fn start() -> Sim {
    let text = std::fs::read_to_string(root().join(SEED)).unwrap();
    let estate: Value = serde_json::from_str(&text).unwrap();
    let config = SimConfig {
        client_id: "jumpguard-test".into(),
        client_secret: PRA_SECRET.into(),
        ps_api_key: PS_KEY.into(),
        ps_runas: "svc-jumpguard".into(),
        ..SimConfig::default()
    };
    let sim = Simulator::new(estate, config).expect("the simulator accepts the seed");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let serving = sim.clone();
    std::thread::spawn(move || runtime.block_on(serving.serve(listener)));
    Sim { sim, url }
}

fn fetch_options(sim: &Sim) -> FetchOptions {
    FetchOptions {
        pra: Some(PraSite {
            url: sim.url.clone(),
            client_id: "jumpguard-test".into(),
            client_secret: Secret::new(PRA_SECRET),
        }),
        ps: Some(PsSite {
            url: sim.url.clone(),
            auth: PsAuth::ApiKey {
                key: Secret::new(PS_KEY),
                runas: "svc-jumpguard".into(),
                password: None,
            },
        }),
        ..FetchOptions::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// The live fingerprint of every object, as a planner reading the simulator would record it.
fn fingerprints(sim: &Sim) -> BTreeMap<String, String> {
    let (estate, _) = runtime()
        .block_on(jumpguard::source::fetch(&fetch_options(sim)))
        .unwrap();
    estate.object_fingerprints()
}

fn journal_path(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.journal.json"));
    (dir, path)
}

/// Applies `plan`, collecting each step the executor reports as `"a1 started"`, `"a1 done"`, ….
fn run(sim: &Sim, plan: &Plan, journal: &Path) -> (Result<ApplyReport, ApplyError>, Vec<String>) {
    let options = ApplyOptions {
        fetch: fetch_options(sim),
        journal: journal.to_path_buf(),
    };
    let mut steps = Vec::new();
    let result = runtime().block_on(apply(plan, &options, |action, status| {
        let what = match status {
            StepStatus::Started => "started".to_string(),
            StepStatus::Done => "done".to_string(),
            StepStatus::Skipped => "skipped".to_string(),
            StepStatus::Failed(detail) => format!("failed: {detail}"),
        };
        steps.push(format!("{} {what}", action.id));
    }));
    (result, steps)
}

fn plan(actions: Vec<Action>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        created_at: "2026-11-26T10:00:00Z".into(),
        estate_fingerprint: "seed".into(),
        allow_destroy: false,
        actions,
    }
}

fn api(id: &str, change: Change, op: Op, expects: &[(&str, Option<&String>)]) -> Action {
    Action {
        id: id.into(),
        kind: ActionKind::Api,
        change,
        op,
        summary: format!("step {id}"),
        resolves: Vec::new(),
        precondition: expects
            .iter()
            .map(|(object, fingerprint)| Precondition {
                object: (*object).into(),
                fingerprint: fingerprint.cloned(),
            })
            .collect(),
        fields: Vec::new(),
        depends_on: Vec::new(),
        instructions: Vec::new(),
        then_add: None,
    }
}

fn manual(id: &str) -> Action {
    Action {
        id: id.into(),
        kind: ActionKind::Manual,
        change: Change::Manual,
        op: Op::Manual {
            title: "Turn off search for External Jump Items".into(),
        },
        summary: "turn off search for External Jump Items".into(),
        resolves: Vec::new(),
        precondition: Vec::new(),
        fields: Vec::new(),
        depends_on: Vec::new(),
        instructions: vec!["/login > Management > Security".into()],
        then_add: None,
    }
}

/// Moves the copy of SRV-DC01 (remote-rdp 118, in the legacy group) into the guarded group.
fn move_copy(fps: &BTreeMap<String, String>) -> Action {
    api(
        "a1",
        Change::Update,
        Op::UpdateJumpItem {
            item_type: Some(JumpItemType::RemoteRdp),
            id: 118,
            jump_group: Some(GroupRef::Existing(4)),
            jump_policy: Some(PolicyRef::Existing(3)),
        },
        &[(
            "pra/jump_item/remote-rdp/118",
            fps.get("pra/jump_item/remote-rdp/118"),
        )],
    )
}

fn rows<'a>(snapshot: &'a Value, collection: &str) -> &'a Vec<Value> {
    snapshot[collection].as_array().unwrap()
}

fn item(snapshot: &Value, segment: &str, id: i64) -> Option<Value> {
    snapshot["jump_item"][segment]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
}

fn membership(snapshot: &Value, gp: i64, jg: i64) -> Option<Value> {
    rows(snapshot, "group_policy_jump_group")
        .iter()
        .find(|r| r["group_policy_id"] == gp && r["jump_group_id"] == jg)
        .cloned()
}

fn journal(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn step<'a>(journal: &'a Value, id: &str) -> Option<&'a Value> {
    journal["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"] == id)
}

/// No secret (configured or issued by the appliances) in `text`.
fn assert_no_secret(sim: &Sim, text: &str) {
    assert!(
        !text.contains(PRA_SECRET) && !text.contains(PS_KEY),
        "{text}"
    );
    for secret in sim
        .sim
        .issued_tokens()
        .into_iter()
        .chain(sim.sim.issued_ps_secrets())
    {
        assert!(!text.contains(&secret), "a secret leaked into: {text}");
    }
}

#[test]
fn creates_a_jump_policy_and_points_a_membership_at_it() {
    let sim = start();
    let fps = fingerprints(&sim);
    let create = api(
        "a1",
        Change::Create,
        Op::CreateJumpPolicy {
            code_name: "tier0-approval".into(),
            body: json!({
                "display_name": "Tier 0 approval",
                "schedule_enabled": false,
                "approval_required": true,
                "approval_display_name": "Windows Infra Leads",
                "approval_team_ids": ["3"],
                "approval_approver_scope": "not_requestor",
                "ticket_id_required": true,
            }),
        },
        &[("pra/jump_policy/code_name:tier0-approval", None)],
    );
    let mut point = api(
        "a2",
        Change::Update,
        Op::SetGroupPolicyMembership {
            group_policy_id: 3,
            jump_group_id: 4,
            jump_item_role_id: 0,
            jump_policy: PolicyRef::Created("tier0-approval".into()),
        },
        &[(
            "pra/group_policy_jump_group/3/4",
            fps.get("pra/group_policy_jump_group/3/4"),
        )],
    );
    point.depends_on = vec!["a1".into()];
    let plan = plan(vec![create, manual("a3"), point]);
    let (_dir, path) = journal_path("create");

    let (result, steps) = run(&sim, &plan, &path);
    let report = result.unwrap();
    assert_eq!(report.done, ["a1", "a2"]);
    assert_eq!(report.manual, ["a3"]);
    assert!(report.skipped.is_empty());
    assert_eq!(steps, ["a1 started", "a1 done", "a2 started", "a2 done"]);

    let pra = sim.sim.pra_snapshot();
    let created = rows(&pra, "jump_policy")
        .iter()
        .find(|p| p["code_name"] == "tier0-approval")
        .expect("the jump policy was created")
        .clone();
    assert_eq!(created["approval_required"], true);
    let id = created["id"].as_i64().unwrap();
    let m = membership(&pra, 3, 4).expect("the membership is back");
    assert_eq!(m["jump_policy_id"], id);
    assert_eq!(m["jump_item_role_id"], 0);
    assert!(report
        .estate_after
        .pra
        .jump_policy
        .iter()
        .any(|p| p.id == id));

    let j = journal(&path);
    assert_eq!(j["created"]["jump_policy"]["tier0-approval"], id);
    assert_eq!(j["unprovisioned"], json!([]));
    assert_eq!(step(&j, "a1").unwrap()["status"], "done");
    assert_eq!(step(&j, "a2").unwrap()["status"], "done");
    assert_eq!(step(&j, "a3").unwrap()["status"], "skipped");
    assert_no_secret(&sim, &std::fs::read_to_string(&path).unwrap());

    // Applying it again does nothing more: every action is done.
    let (again, steps) = run(&sim, &plan, &path);
    let again = again.unwrap();
    assert!(again.done.is_empty());
    assert_eq!(again.skipped, ["a1", "a2"]);
    assert_eq!(steps, ["a1 skipped", "a2 skipped"]);
    assert_eq!(
        rows(&sim.sim.pra_snapshot(), "jump_policy")
            .iter()
            .filter(|p| p["code_name"] == "tier0-approval")
            .count(),
        1
    );
}

#[test]
fn moves_an_item_and_changes_password_safe() {
    let sim = start();
    let fps = fingerprints(&sim);
    let account_before = sim.sim.ps_snapshot()["managed_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ManagedAccountID"] == 1)
        .unwrap()
        .clone();
    let plan = plan(vec![
        move_copy(&fps),
        api(
            "a2",
            Change::Update,
            Op::SetRoleAssignment {
                user_group_id: 3,
                smart_rule_id: 1,
                role_ids: vec![1],
                access_policy_id: Some(1),
            },
            &[(
                "ps/role_assignments/3/1",
                fps.get("ps/role_assignments/3/1"),
            )],
        ),
        api(
            "a3",
            Change::Destroy,
            Op::SetRoleAssignment {
                user_group_id: 4,
                smart_rule_id: 2,
                role_ids: Vec::new(),
                access_policy_id: None,
            },
            &[(
                "ps/role_assignments/4/2",
                fps.get("ps/role_assignments/4/2"),
            )],
        ),
        api(
            "a4",
            Change::Update,
            Op::DisableApi {
                managed_account_id: 1,
            },
            &[("ps/managed_accounts/1", fps.get("ps/managed_accounts/1"))],
        ),
    ]);
    let (_dir, path) = journal_path("mixed");
    // What one read costs in sign-ins (`fingerprints` above read once).
    let (tokens, ps_secrets) = (
        sim.sim.issued_tokens().len(),
        sim.sim.issued_ps_secrets().len(),
    );
    let (result, _) = run(&sim, &plan, &path);
    let report = result.unwrap();
    assert_eq!(report.done, ["a1", "a2", "a3", "a4"]);
    // Reading, writing and reading again share one PRA token and one Password Safe session.
    assert_eq!(sim.sim.issued_tokens().len(), 2 * tokens);
    assert_eq!(sim.sim.issued_ps_secrets().len(), 2 * ps_secrets);

    let moved = item(&sim.sim.pra_snapshot(), "remote-rdp", 118).unwrap();
    assert_eq!(moved["jump_group_id"], 4);
    assert_eq!(moved["jump_group_type"], "shared");
    assert_eq!(moved["jump_policy_id"], 3);

    let ps = sim.sim.ps_snapshot();
    let pair = |ug: i64, sr: i64| {
        rows(&ps, "role_assignments")
            .iter()
            .find(|r| r["UserGroupID"] == ug && r["SmartRuleID"] == sr)
            .cloned()
    };
    assert_eq!(pair(3, 1).unwrap()["AccessPolicyID"], 1);
    assert_eq!(pair(3, 1).unwrap()["Roles"][0]["RoleID"], 1);
    assert_eq!(pair(4, 2), None, "the ISA role was removed");
    let mut account = rows(&ps, "managed_accounts")
        .iter()
        .find(|a| a["ManagedAccountID"] == 1)
        .unwrap()
        .clone();
    assert_eq!(account["ApiEnabled"], false);
    // Only ApiEnabled changed: the whole account was sent back.
    account["ApiEnabled"] = json!(true);
    assert_eq!(account, account_before);

    // The report's estate is the state after the changes.
    let after = report.estate_after.ps.unwrap();
    assert!(after
        .managed_accounts
        .iter()
        .any(|a| a.managed_account_id == 1 && !a.api_enabled));
}

#[test]
fn a_second_apply_of_the_same_plan_waits_its_turn() {
    let sim = start();
    let fps = fingerprints(&sim);
    let pra_before = sim.sim.pra_snapshot();
    let plan = plan(vec![move_copy(&fps)]);
    let (_dir, path) = journal_path("locked");
    let lock = lock_path(&path);
    // The lock an apply that is still running holds.
    std::fs::write(&lock, "process 4242 since 2026-11-26T10:00:00Z\n").unwrap();
    let (result, steps) = run(&sim, &plan, &path);
    let Err(ApplyError::Locked(why)) = result else {
        panic!("expected the lock to stop the run, got {result:?}");
    };
    assert!(
        why.contains("process 4242 since 2026-11-26T10:00:00Z"),
        "{why}"
    );
    assert!(why.contains(&format!("delete {}", lock.display())), "{why}");
    assert!(steps.is_empty());
    assert_eq!(sim.sim.pra_snapshot(), pra_before, "nothing was changed");
    assert!(!path.exists(), "no journal was started");

    // Once the other run is over, the plan applies, and leaves no lock behind.
    std::fs::remove_file(&lock).unwrap();
    let (result, steps) = run(&sim, &plan, &path);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(steps, ["a1 started", "a1 done"]);
    assert!(!lock.exists(), "the lock is removed at the end");
}

#[test]
fn a_stale_plan_changes_nothing() {
    let sim = start();
    let fps = fingerprints(&sim);
    let pra_before = sim.sim.pra_snapshot();
    let plan = plan(vec![
        move_copy(&fps),
        api(
            "a2",
            Change::Update,
            Op::UpdateJumpItem {
                item_type: Some(JumpItemType::RemoteRdp),
                id: 101,
                jump_group: None,
                jump_policy: Some(PolicyRef::None),
            },
            &[(
                "pra/jump_item/remote-rdp/101",
                Some(&"0123456789abcdef0123456789abcdef".to_string()),
            )],
        ),
        // The seed has `windows-infra-approval`: code names match ignoring case.
        api(
            "a3",
            Change::Create,
            Op::CreateJumpPolicy {
                code_name: "Windows-Infra-Approval".into(),
                body: json!({"display_name": "Again"}),
            },
            &[("pra/jump_policy/code_name:Windows-Infra-Approval", None)],
        ),
    ]);
    let (_dir, path) = journal_path("stale");
    let (result, steps) = run(&sim, &plan, &path);
    let Err(ApplyError::Stale { problems }) = result else {
        panic!("expected a stale plan, got {result:?}");
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("a2 ") && problems[0].contains("remote-rdp/101 changed"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("a3 ") && problems[1].contains("exists now"),
        "{problems:?}"
    );
    assert!(steps.is_empty());
    assert_eq!(sim.sim.pra_snapshot(), pra_before, "nothing was changed");
    assert_eq!(journal(&path)["steps"], json!([]));
}

#[test]
fn a_failure_stops_the_run_and_running_it_again_resumes() {
    let sim = start();
    let fps = fingerprints(&sim);
    let mut membership_change = api(
        "a3",
        Change::Update,
        Op::SetGroupPolicyMembership {
            group_policy_id: 2,
            jump_group_id: 7,
            jump_item_role_id: 0,
            jump_policy: PolicyRef::Existing(3),
        },
        &[(
            "pra/group_policy_jump_group/2/7",
            fps.get("pra/group_policy_jump_group/2/7"),
        )],
    );
    membership_change.depends_on = vec!["a1".into()];
    let plan = plan(vec![
        move_copy(&fps),
        api(
            "a2",
            Change::Update,
            Op::SetUserMembership {
                jump_group_id: 4,
                user_id: 12,
                jump_policy: PolicyRef::Existing(3),
            },
            &[(
                "pra/jump_group_user/4/12",
                fps.get("pra/jump_group_user/4/12"),
            )],
        ),
        membership_change,
    ]);
    let (_dir, path) = journal_path("resume");
    sim.sim
        .faults()
        .fail_path("/api/config/v1/jump-group/4/user/12", 500, u32::MAX);

    let (result, steps) = run(&sim, &plan, &path);
    let Err(ApplyError::Failed { action, detail }) = result else {
        panic!("expected a failure, got {result:?}");
    };
    assert_eq!(action, "a2");
    assert!(
        detail.contains("PATCH /api/config/v1/jump-group/4/user/12"),
        "{detail}"
    );
    assert!(detail.contains("500"), "{detail}");
    assert_eq!(steps[..3], ["a1 started", "a1 done", "a2 started"]);
    assert!(steps[3].starts_with("a2 failed: "), "{steps:?}");
    assert_eq!(steps.len(), 4, "a3 did not run");

    let pra = sim.sim.pra_snapshot();
    assert_eq!(item(&pra, "remote-rdp", 118).unwrap()["jump_group_id"], 4);
    assert_eq!(membership(&pra, 2, 7).unwrap()["jump_policy_id"], 0);
    let j = journal(&path);
    assert_eq!(step(&j, "a1").unwrap()["status"], "done");
    assert_eq!(step(&j, "a2").unwrap()["status"], "failed");
    assert!(step(&j, "a2").unwrap()["detail"]
        .as_str()
        .unwrap()
        .contains("500"));
    assert!(step(&j, "a3").is_none());

    // The appliance recovers; the same plan resumes after the done action.
    sim.sim.faults().clear_path_faults();
    let (result, steps) = run(&sim, &plan, &path);
    let report = result.unwrap();
    assert_eq!(report.skipped, ["a1"]);
    assert_eq!(report.done, ["a2", "a3"]);
    assert_eq!(steps[0], "a1 skipped");
    let pra = sim.sim.pra_snapshot();
    let user = rows(&pra, "jump_group_user")
        .iter()
        .find(|u| u["jump_group_id"] == 4 && u["user_id"] == 12)
        .unwrap()
        .clone();
    assert_eq!(user["jump_policy_id"], 3);
    assert_eq!(membership(&pra, 2, 7).unwrap()["jump_policy_id"], 3);
    assert_eq!(journal(&path)["unprovisioned"], json!([]));
}

#[test]
fn a_failed_provisioning_is_finished_by_the_next_run() {
    let sim = start();
    let fps = fingerprints(&sim);
    let plan = plan(vec![api(
        "a1",
        Change::Update,
        Op::SetGroupPolicyMembership {
            group_policy_id: 5,
            jump_group_id: 9,
            jump_item_role_id: 0,
            jump_policy: PolicyRef::Existing(4),
        },
        &[(
            "pra/group_policy_jump_group/5/9",
            fps.get("pra/group_policy_jump_group/5/9"),
        )],
    )]);
    let (_dir, path) = journal_path("provision");
    sim.sim
        .faults()
        .fail_path("/api/config/v1/group-policy/5/provision", 500, u32::MAX);
    let (result, steps) = run(&sim, &plan, &path);
    let Err(ApplyError::Failed { action, detail }) = result else {
        panic!("expected a failure, got {result:?}");
    };
    assert_eq!(action, "a1");
    assert!(detail.contains("provision"), "{detail}");
    assert!(steps[1].starts_with("a1 failed"), "{steps:?}");
    // The membership is written; only its provisioning is left.
    assert_eq!(
        membership(&sim.sim.pra_snapshot(), 5, 9).unwrap()["jump_policy_id"],
        4
    );
    let j = journal(&path);
    assert_eq!(step(&j, "a1").unwrap()["status"], "done");
    assert_eq!(j["unprovisioned"], json!([5]));

    sim.sim.faults().clear_path_faults();
    let (result, steps) = run(&sim, &plan, &path);
    let report = result.unwrap();
    assert_eq!(report.skipped, ["a1"]);
    assert!(report.done.is_empty());
    assert_eq!(steps, ["a1 skipped"]);
    assert_eq!(journal(&path)["unprovisioned"], json!([]));
}

#[test]
fn deleting_needs_a_plan_made_with_allow_destroy() {
    let sim = start();
    let fps = fingerprints(&sim);
    let delete = api(
        "a1",
        Change::Destroy,
        Op::DeleteJumpItem {
            item_type: Some(JumpItemType::RemoteRdp),
            id: 118,
        },
        &[(
            "pra/jump_item/remote-rdp/118",
            fps.get("pra/jump_item/remote-rdp/118"),
        )],
    );
    let refused = plan(vec![delete.clone()]);
    let (_dir, path) = journal_path("refused");
    let (result, _) = run(&sim, &refused, &path);
    let Err(ApplyError::Failed { action, detail }) = result else {
        panic!("expected a refusal, got {result:?}");
    };
    assert_eq!(action, "a1");
    assert!(detail.contains("--allow-destroy"), "{detail}");
    assert!(item(&sim.sim.pra_snapshot(), "remote-rdp", 118).is_some());

    let mut allowed = plan(vec![delete]);
    allowed.allow_destroy = true;
    let (_dir, path) = journal_path("allowed");
    let (result, _) = run(&sim, &allowed, &path);
    assert_eq!(result.unwrap().done, ["a1"]);
    assert!(item(&sim.sim.pra_snapshot(), "remote-rdp", 118).is_none());
}

#[test]
fn an_unreadable_site_changes_nothing() {
    let sim = start();
    let fps = fingerprints(&sim);
    let plan = plan(vec![move_copy(&fps)]);
    let pra_before = sim.sim.pra_snapshot();
    // The API account may not read teams: PRA can be read only in part.
    sim.sim
        .faults()
        .fail_path("/api/config/v1/team", 403, u32::MAX);
    let (_dir, path) = journal_path("incomplete");
    let (result, steps) = run(&sim, &plan, &path);
    let Err(ApplyError::Incomplete(reason)) = result else {
        panic!("expected an incomplete read, got {result:?}");
    };
    assert!(reason.starts_with("PRA is partly read: "), "{reason}");
    assert!(reason.contains("/team"), "{reason}");
    assert!(steps.is_empty());
    assert_eq!(sim.sim.pra_snapshot(), pra_before);
}
