//! `plan`, `show` and `apply` of the real binary against the simulator seeded with the seed
//! example: the whole loop, a stale plan, and a fault in the middle of an apply.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jumpguard::sim::SimConfig;
use serde_json::Value;

const PRA_SECRET: &str = "pra-secret-for-apply-tests";
const PS_KEY: &str = "ps-key-for-apply-tests-0123456789";
const SEED_POLICIES: &str = "examples/seed/policies";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

mod common;
use common::Sim;

fn start() -> Sim {
    let config = SimConfig {
        client_id: "jumpguard-test".into(),
        client_secret: PRA_SECRET.into(),
        ps_api_key: PS_KEY.into(),
        ps_runas: "svc-jumpguard".into(),
        ..SimConfig::default()
    };
    common::serve(common::estate("examples/seed/estate.json"), config)
}

/// The binary with `args`, pointed at the simulator's two sites.
fn command(sim: &Sim, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jumpguard"));
    c.args(args)
        .current_dir(root())
        .env_clear()
        .env("NO_COLOR", "1")
        .env("JUMPGUARD_PRA_URL", &sim.url)
        .env("JUMPGUARD_PRA_CLIENT_ID", "jumpguard-test")
        .env("JUMPGUARD_PRA_CLIENT_SECRET", PRA_SECRET)
        .env("JUMPGUARD_PS_URL", &sim.url)
        .env("JUMPGUARD_PS_API_KEY", PS_KEY)
        .env("JUMPGUARD_PS_RUNAS", "svc-jumpguard");
    c
}

fn jumpguard(sim: &Sim, args: &[&str]) -> Output {
    command(sim, args).output().unwrap()
}

/// `apply PLAN --auto-approve` against the seed policies.
fn apply_args(plan: &Path) -> [&str; 7] {
    [
        "apply",
        plan.to_str().unwrap(),
        "--auto-approve",
        "-p",
        SEED_POLICIES,
        "--as-of",
        "2026-12-01",
    ]
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jumpguard-apply-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn plan_to(sim: &Sim, file: &Path) -> Output {
    jumpguard(
        sim,
        &[
            "plan",
            "-p",
            SEED_POLICIES,
            "--as-of",
            "2026-12-01",
            "--allow-destroy",
            "--detailed-exitcode",
            "--out",
            file.to_str().unwrap(),
        ],
    )
}

fn rules_of(sim: &Sim) -> Vec<String> {
    let o = jumpguard(
        sim,
        &[
            "check",
            "-p",
            SEED_POLICIES,
            "--as-of",
            "2026-12-01",
            "--format",
            "json",
        ],
    );
    let report: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o.stderr)));
    let mut rules: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["waiver"].is_null())
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

#[test]
fn plan_apply_recheck_and_a_second_plan_without_changes() {
    let sim = start();
    let dir = tmpdir("loop");
    let file = dir.join("plan.json");
    let planned = plan_to(&sim, &file);
    assert_eq!(planned.status.code(), Some(2), "{}", text(&planned.stderr));
    let shown = text(&planned.stdout);
    for expected in [
        "~ [",
        "- [",
        "! [",
        "switch off \"Allow Search for External Jump Items\"",
        "Plan: 0 to add, 3 to change, 2 to destroy, 1 manual step.",
    ] {
        assert!(shown.contains(expected), "`{expected}` not in:\n{shown}");
    }
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 1);
    assert!(saved["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["resolves"].as_array().is_some_and(|r| !r.is_empty())));
    for secret in [PRA_SECRET, PS_KEY] {
        assert!(!saved.to_string().contains(secret));
    }
    let show = jumpguard(&sim, &["show", file.to_str().unwrap()]);
    assert_eq!(show.status.code(), Some(0));
    assert!(text(&show.stdout).contains("Plan: 0 to add, 3 to change, 2 to destroy"));

    let refused = jumpguard(
        &sim,
        &[
            "apply",
            file.to_str().unwrap(),
            "-p",
            SEED_POLICIES,
            "--as-of",
            "2026-12-01",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("--auto-approve"));

    let applied = jumpguard(&sim, &apply_args(&file));
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}\n{}",
        text(&applied.stdout),
        text(&applied.stderr)
    );
    // The simulator changed: the override is gone, the ISA role too, the copy is deleted.
    let pra = sim.sim.pra_snapshot();
    let membership = pra["group_policy_jump_group"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["group_policy_id"] == 3 && m["jump_group_id"] == 4)
        .unwrap();
    assert_eq!(membership["jump_policy_id"], 3);
    assert!(!pra["jump_item"]["remote-rdp"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == 118));
    let ps = sim.sim.ps_snapshot();
    assert!(
        !ps["role_assignments"].to_string().contains("\"ISA\""),
        "{}",
        ps["role_assignments"]
    );
    // Only findings that need a person remain.
    assert_eq!(rules_of(&sim), vec!["external-search-bypass".to_string()]);
    let again = jumpguard(
        &sim,
        &[
            "plan",
            "-p",
            SEED_POLICIES,
            "--as-of",
            "2026-12-01",
            "--allow-destroy",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    assert!(
        text(&again.stdout).contains("Plan: 0 to add, 0 to change, 0 to destroy, 1 manual step.")
    );
}

/// Changes the Service Desk membership behind the plan's back, through the API.
fn change_membership_live(sim: &Sim) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The simulator enforces the appliance's 20 requests/s: start in a fresh second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let token: Value = client
            .post(format!("{}/oauth2/token", sim.url))
            .basic_auth("jumpguard-test", Some(PRA_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bearer = token["access_token"].as_str().unwrap().to_string();
        let base = format!("{}/api/config/v1/group-policy/3/jump-group", sim.url);
        let r = client.delete(format!("{base}/4")).bearer_auth(&bearer).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let r = client
            .post(&base)
            .bearer_auth(&bearer)
            .json(&serde_json::json!({"jump_group_id": 4, "jump_item_role_id": 0, "jump_policy_id": 6}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    });
}

#[test]
fn a_stale_plan_is_refused_and_nothing_changes() {
    let sim = start();
    let dir = tmpdir("stale");
    let file = dir.join("plan.json");
    assert_eq!(plan_to(&sim, &file).status.code(), Some(2));
    change_membership_live(&sim);
    let before_pra = sim.sim.pra_snapshot();
    let before_ps = sim.sim.ps_snapshot();
    let o = jumpguard(&sim, &apply_args(&file));
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("stale") && err.contains("group_policy_jump_group/3/4"),
        "{err}"
    );
    assert_eq!(sim.sim.pra_snapshot(), before_pra, "nothing changed in PRA");
    assert_eq!(
        sim.sim.ps_snapshot(),
        before_ps,
        "nothing changed in Password Safe"
    );
}

#[test]
fn a_fault_mid_apply_leaves_a_journal_and_the_rerun_completes() {
    let sim = start();
    let dir = tmpdir("fault");
    let file = dir.join("plan.json");
    assert_eq!(plan_to(&sim, &file).status.code(), Some(2));
    // Deleting the personal item (the second action) fails on every retry; the first passes.
    sim.sim
        .faults()
        .fail_path("/api/config/v1/jump-item/shell-jump/58", 500, 4);
    let first = jumpguard(&sim, &apply_args(&file));
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));
    let journal_file = dir.join("plan.json.journal.json");
    let journal = std::fs::read_to_string(&journal_file).expect("a journal beside the plan");
    assert!(
        journal.contains("\"done\"") && journal.contains("\"failed\""),
        "{journal}"
    );
    let second = jumpguard(&sim, &apply_args(&file));
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}\n{}",
        text(&second.stdout),
        text(&second.stderr)
    );
    assert!(
        text(&second.stderr).contains("already done"),
        "{}",
        text(&second.stderr)
    );
    assert_eq!(rules_of(&sim), vec!["external-search-bypass".to_string()]);
}

#[test]
fn ctrl_c_stops_an_apply_releases_its_lock_and_the_rerun_completes() {
    let sim = start();
    let dir = tmpdir("interrupt");
    let file = dir.join("plan.json");
    assert_eq!(plan_to(&sim, &file).status.code(), Some(2));
    // A slow appliance, so that the apply is still under way when Ctrl-C comes.
    sim.sim.faults().set_delay(300);
    let child = command(&sim, &apply_args(&file))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lock = dir.join("plan.json.journal.json.lock");
    let started = std::time::Instant::now();
    while !lock.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the apply never took its lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let signal = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let stopped = child.wait_with_output().unwrap();
    assert_eq!(stopped.status.code(), Some(1), "{}", text(&stopped.stderr));
    assert!(
        text(&stopped.stderr).contains("Interrupted. The journal"),
        "{}",
        text(&stopped.stderr)
    );
    assert!(!lock.exists(), "the lock is released");

    sim.sim.faults().set_delay(0);
    let again = jumpguard(&sim, &apply_args(&file));
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}\n{}",
        text(&again.stdout),
        text(&again.stderr)
    );
    assert_eq!(rules_of(&sim), vec!["external-search-bypass".to_string()]);
}
