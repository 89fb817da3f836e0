//! The real binary against the Password Safe half of the simulator: a live check of the seed
//! (PRA and Password Safe) equals the offline one; sessions, paging, older releases, bad keys,
//! sign-out, and no secret in any output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use jumpguard::sim::SimConfig;
use serde_json::{json, Value};

const PRA_SECRET: &str = "pra-secret-for-tests-only";
const PS_KEY: &str = "ps-api-key-for-tests-only-0123456789abcdef";
const PS_PASSWORD: &str = "runas-password-for-tests-only";
const SEED: &str = "examples/seed/estate.json";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn config() -> SimConfig {
    SimConfig {
        client_id: "jumpguard-test".into(),
        client_secret: PRA_SECRET.into(),
        ps_api_key: PS_KEY.into(),
        ps_runas: "svc-jumpguard".into(),
        ..SimConfig::default()
    }
}

mod common;
use common::Sim;

fn serve(estate: Value, config: SimConfig) -> Sim {
    common::serve(estate, config)
}

fn seed() -> Value {
    common::estate(SEED)
}

/// Runs jumpguard against the simulator for both sites; `env` overrides the defaults.
fn jumpguard(sim: &Sim, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jumpguard"));
    cmd.args(args)
        .current_dir(root())
        .env_clear()
        .env("NO_COLOR", "1")
        .env("JUMPGUARD_PRA_URL", &sim.url)
        .env("JUMPGUARD_PRA_CLIENT_ID", "jumpguard-test")
        .env("JUMPGUARD_PRA_CLIENT_SECRET", PRA_SECRET)
        .env("JUMPGUARD_PS_URL", &sim.url)
        .env("JUMPGUARD_PS_API_KEY", PS_KEY)
        .env("JUMPGUARD_PS_RUNAS", "svc-jumpguard");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jumpguard-live-ps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn findings(report: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["waiver"].is_null())
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("-").to_string();
            (s("rule"), s("target"), s("host"))
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn live_check_of_the_seed_equals_the_offline_check() {
    let sim = serve(seed(), config());
    let check = |estate: Option<&str>| {
        let mut args = vec![
            "check",
            "-p",
            "examples/seed/policies",
            "--as-of",
            "2026-12-01",
            "--format",
            "json",
        ];
        if let Some(e) = estate {
            args.extend(["--estate", e]);
        }
        let o = jumpguard(&sim, &args, &[]);
        let report: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o.stderr)));
        (o.status.code(), report)
    };
    let (live_code, live) = check(None);
    let (offline_code, offline) = check(Some(SEED));
    assert_eq!(
        live["sources"]["password_safe"]["status"], "complete",
        "{:#}",
        live["sources"]
    );
    assert_eq!(
        (live_code, findings(&live)),
        (offline_code, findings(&offline))
    );
    assert_eq!(
        live["findings"], offline["findings"],
        "messages, paths and fingerprints agree too"
    );
    let got = findings(&live);
    for (rule, target, host) in [
        (
            "external-search-bypass",
            "domain-controllers",
            "srv-dc01.corp.example",
        ),
        (
            "external-search-bypass",
            "sql-servers",
            "srv-sql02.corp.example",
        ),
        (
            "ps-approval-missing",
            "domain-controllers",
            "srv-dc02.corp.example",
        ),
        (
            "ps-approval-missing",
            "sql-servers",
            "srv-sql01.corp.example",
        ),
        (
            "ps-isa-bypass",
            "domain-controllers",
            "srv-dc01.corp.example",
        ),
        ("ps-reason-missing", "sql-servers", "srv-sql02.corp.example"),
    ] {
        assert!(
            got.contains(&(rule.into(), target.into(), host.into())),
            "missing {rule} {target} {host} in {got:#?}"
        );
    }
    assert!(
        !got.iter()
            .any(|(r, _, h)| r == "ps-isa-bypass" && h.starts_with("srv-sql")),
        "ISA covers the DCs only"
    );
}

/// An estate of one managed system with `n` accounts, all in one smart rule.
fn many_accounts(n: i64) -> Value {
    let accounts: Vec<Value> = (1..=n)
        .map(|i| json!({"ManagedAccountID": i, "ManagedSystemID": 1, "AccountName": format!("svc{i:04}"), "ApiEnabled": true}))
        .collect();
    json!({
        "pra": {},
        "ps": {
            "managed_systems": [{"ManagedSystemID": 1, "SystemName": "big.corp.example", "HostName": "big.corp.example", "IPAddress": "10.9.0.1"}],
            "managed_accounts": accounts,
            "smart_rules": [{"SmartRuleID": 1, "Title": "Everything", "_managed_account_ids": (1..=n).collect::<Vec<i64>>()}],
            "user_groups": [{"GroupID": 1, "Name": "Ops", "IsActive": true}],
            "role_assignments": [{"UserGroupID": 1, "SmartRuleID": 1, "Roles": [{"RoleID": 4, "Name": "ISA"}], "AccessPolicyID": null}],
        }
    })
}

#[test]
fn every_account_arrives_past_the_1000_row_default() {
    let sim = serve(many_accounts(1200), config());
    let out = tmp("many.json");
    let o = jumpguard(
        &sim,
        &["--verbose", "fetch", "--out", out.to_str().unwrap()],
        &[("JUMPGUARD_PRA_URL", "")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let estate = jumpguard::estate::Estate::load(&out).unwrap();
    let ps = estate.ps.unwrap();
    assert_eq!(ps.managed_accounts.len(), 1200);
    assert_eq!(ps.smart_rules[0].managed_account_ids.len(), 1200);
    assert_eq!(ps.role_assignments.len(), 1);
    let err = text(&o.stderr);
    let pages = err
        .lines()
        .filter(|l| l.contains("/ManagedSystems/1/ManagedAccounts?limit=1000&offset="))
        .count();
    assert_eq!(pages, 2, "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("POST /BeyondTrust/api/public/v3/Auth/Signout")),
        "{err}"
    );
}

#[test]
fn an_expired_session_signs_in_again_once() {
    let sim = serve(seed(), config());
    let watcher = sim.sim.clone();
    std::thread::spawn(move || {
        while watcher.request_count() < 12 {
            std::thread::sleep(Duration::from_millis(2));
        }
        watcher.faults().expire_ps_sessions();
    });
    let o = jumpguard(
        &sim,
        &[
            "--verbose",
            "check",
            "-p",
            "examples/seed/policies",
            "--as-of",
            "2026-12-01",
            "--format",
            "json",
        ],
        &[],
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        report["sources"]["password_safe"]["status"], "complete",
        "{err}"
    );
    let sign_ins = err
        .lines()
        .filter(|l| l.starts_with("POST /BeyondTrust/api/public/v3/Auth/SignAppin"))
        .count();
    assert!((1..=2).contains(&sign_ins), "{err}");
}

#[test]
fn an_older_release_without_assignees_leaves_password_safe_partial() {
    let sim = serve(
        seed(),
        SimConfig {
            ps_assignees: false,
            ..config()
        },
    );
    let o = jumpguard(
        &sim,
        &[
            "check",
            "-p",
            "examples/seed/policies",
            "--as-of",
            "2026-12-01",
            "--format",
            "json",
        ],
        &[],
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["sources"]["password_safe"]["status"], "partial");
    assert!(
        report["sources"]["password_safe"]["reason"]
            .as_str()
            .unwrap()
            .contains("Assignees"),
        "{:#}",
        report["sources"]
    );
    // PRA findings stand; no Password Safe finding is made up from what is missing.
    let rules: Vec<String> = findings(&report).into_iter().map(|f| f.0).collect();
    assert!(rules.iter().any(|r| r == "membership-override"));
    assert!(
        !rules
            .iter()
            .any(|r| r.starts_with("ps-") || r == "external-search-bypass"),
        "{rules:?}"
    );
}

#[test]
fn a_bad_key_exits_3_with_a_clear_message_and_a_500_still_signs_out() {
    let sim = serve(seed(), config());
    let o = jumpguard(
        &sim,
        &[
            "check",
            "-p",
            "examples/seed/policies/password-safe.yaml",
            "--as-of",
            "2026-12-01",
        ],
        &[
            ("JUMPGUARD_PS_API_KEY", "not-the-key"),
            ("JUMPGUARD_PRA_URL", ""),
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("JUMPGUARD_PS_API_KEY"),
        "{}",
        text(&o.stderr)
    );

    sim.sim
        .faults()
        .fail_path("/BeyondTrust/api/public/v3/AccessPolicies", 500, u32::MAX);
    let o = jumpguard(
        &sim,
        &[
            "--verbose",
            "check",
            "-p",
            "examples/seed/policies/password-safe.yaml",
            "--as-of",
            "2026-12-01",
        ],
        &[("JUMPGUARD_PRA_URL", "")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr)
            .lines()
            .any(|l| l.starts_with("POST /BeyondTrust/api/public/v3/Auth/Signout")),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn oauth_and_a_required_password_work() {
    let sim = serve(
        seed(),
        SimConfig {
            ps_password: Some(PS_PASSWORD.into()),
            ps_client_id: "ps-app".into(),
            ps_client_secret: "ps-app-secret".into(),
            ..config()
        },
    );
    let args = [
        "check",
        "-p",
        "examples/seed/policies/password-safe.yaml",
        "--as-of",
        "2026-12-01",
        "--format",
        "json",
    ];
    let without = jumpguard(&sim, &args, &[("JUMPGUARD_PRA_URL", "")]);
    assert_eq!(without.status.code(), Some(3));
    assert!(
        text(&without.stderr).contains("JUMPGUARD_PS_PASSWORD"),
        "{}",
        text(&without.stderr)
    );
    let with = jumpguard(
        &sim,
        &args,
        &[
            ("JUMPGUARD_PRA_URL", ""),
            ("JUMPGUARD_PS_PASSWORD", PS_PASSWORD),
        ],
    );
    let report: Value = serde_json::from_slice(&with.stdout).unwrap();
    assert_eq!(
        report["sources"]["password_safe"]["status"],
        "complete",
        "{}",
        text(&with.stderr)
    );
    let oauth = jumpguard(
        &sim,
        &args,
        &[
            ("JUMPGUARD_PRA_URL", ""),
            ("JUMPGUARD_PS_API_KEY", ""),
            ("JUMPGUARD_PS_CLIENT_ID", "ps-app"),
            ("JUMPGUARD_PS_CLIENT_SECRET", "ps-app-secret"),
        ],
    );
    let report: Value = serde_json::from_slice(&oauth.stdout).unwrap();
    assert_eq!(
        report["sources"]["password_safe"]["status"],
        "complete",
        "{}",
        text(&oauth.stderr)
    );
}

#[test]
fn no_key_password_cookie_or_token_in_any_output() {
    let sim = serve(
        seed(),
        SimConfig {
            ps_password: Some(PS_PASSWORD.into()),
            ..config()
        },
    );
    let out = tmp("secrets.json");
    let env = [("JUMPGUARD_PS_PASSWORD", PS_PASSWORD)];
    let fetched = jumpguard(
        &sim,
        &["--verbose", "fetch", "--out", out.to_str().unwrap()],
        &env,
    );
    assert_eq!(fetched.status.code(), Some(0), "{}", text(&fetched.stderr));
    let checked = jumpguard(
        &sim,
        &[
            "--verbose",
            "check",
            "-p",
            "examples/seed/policies",
            "--format",
            "json",
        ],
        &env,
    );
    let written = std::fs::read_to_string(&out).unwrap();
    for haystack in [
        text(&fetched.stdout),
        text(&fetched.stderr),
        text(&checked.stdout),
        text(&checked.stderr),
        written,
    ] {
        for secret in [
            PS_KEY,
            PS_PASSWORD,
            PRA_SECRET,
            "ASP.NET_SessionId",
            "__RequestVerificationToken",
        ] {
            assert!(!haystack.contains(secret), "{secret} leaked");
        }
        for t in sim
            .sim
            .issued_tokens()
            .into_iter()
            .chain(sim.sim.issued_ps_secrets())
        {
            assert!(
                !haystack.contains(t.as_str()),
                "a token or session cookie leaked"
            );
        }
    }
}
