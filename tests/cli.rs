//! The real binary, driven as a user would: every command of this issue and every exit code.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const SEED: &str = "examples/seed";
const COMPLIANT: &str = "examples/compliant";
const AS_OF: &str = "2026-12-01";

/// Runs jumpguard in the crate root with a cleared, colourless environment.
fn jumpguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jumpguard"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn check_json(policy: &str, estate: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "check", "-p", policy, "--estate", estate, "--as-of", AS_OF, "--format", "json",
    ];
    args.extend_from_slice(extra);
    let out = jumpguard(&args);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&out)));
    (out.status.code().unwrap_or(-1), report)
}

/// The line of `needle` in a file (1-based).
fn line_of(file: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {file}")) as u64
        + 1
}

#[test]
fn seed_check_reports_the_ecm_situation_at_the_right_places() {
    let (code, report) = check_json(
        &format!("{SEED}/policies"),
        &format!("{SEED}/estate.json"),
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(report["verdict"], "violations");
    let findings = report["findings"].as_array().unwrap();
    for (rule, target) in [
        ("external-search-bypass", "domain-controllers"),
        ("approval-missing", "domain-controllers"),
        ("membership-override", "domain-controllers"),
        ("personal-jump-item", "linux-prod"),
        ("unsanctioned-jump-group", "domain-controllers"),
        ("ps-approval-missing", "domain-controllers"),
        ("ps-isa-bypass", "domain-controllers"),
    ] {
        let f = findings
            .iter()
            .find(|f| f["rule"] == rule && f["target"] == target && f["waiver"].is_null())
            .unwrap_or_else(|| panic!("no {rule} finding for {target}"));
        let file = f["location"]["file"].as_str().unwrap();
        assert!(
            file.starts_with(&format!("{SEED}/policies/")),
            "{rule} points at {file}"
        );
        assert_eq!(
            f["location"]["line"],
            line_of(file, &format!("name: {target}")),
            "{rule} line"
        );
        assert!(f["fingerprint"].as_str().unwrap().len() >= 16);
        assert!(
            !f["path"].as_array().unwrap().is_empty(),
            "{rule} has a path"
        );
    }
    // The ECM's auto-approve is accepted only while every PRA path is guarded: an unguarded path
    // to a host whose credential the ECM releases says so.
    let unguarded = findings
        .iter()
        .find(|f| f["rule"] == "approval-missing")
        .unwrap();
    assert!(
        unguarded["message"]
            .as_str()
            .unwrap()
            .contains("the ECM injects `Administrator`"),
        "{unguarded:#}"
    );
    let linux = findings
        .iter()
        .find(|f| f["rule"] == "personal-jump-item")
        .unwrap();
    assert!(
        !linux["message"].as_str().unwrap().contains("ECM"),
        "lnx-db01's accounts are not released by the ECM"
    );
}

#[test]
fn compliant_example_exits_0() {
    let (code, report) = check_json(
        &format!("{COMPLIANT}/policies"),
        &format!("{COMPLIANT}/estate.json"),
        &[],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["verdict"], "compliant");
    assert_eq!(report["summary"]["findings"], 0);
}

#[test]
fn a_partial_source_without_findings_exits_3() {
    let (code, report) = check_json(
        &format!("{COMPLIANT}/policies"),
        "tests/fixtures/partial/estate.json",
        &[],
    );
    assert_eq!(code, 3);
    assert_eq!(report["verdict"], "incomplete");
    assert_eq!(report["sources"]["password_safe"]["status"], "partial");
}

#[test]
fn an_incomplete_source_reports_nothing_of_its_own() {
    // The seed with its PRA half marked partial: findings that rest on PRA data are withheld
    // (they could be artefacts of what is missing), Password Safe findings stand.
    let mut seed: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(SEED)
                .join("estate.json"),
        )
        .unwrap(),
    )
    .unwrap();
    seed["sources"]["pra"] = serde_json::json!({"status": "partial", "reason": "GET /api/config/v1/jump-policy answered 500"});
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("estate.json");
    std::fs::write(&file, seed.to_string()).unwrap();
    let (code, report) = check_json(&format!("{SEED}/policies"), file.to_str().unwrap(), &[]);
    assert_eq!(code, 1);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"ps-isa-bypass") && rules.contains(&"external-search-bypass"),
        "{rules:?}"
    );
    for pra_rule in [
        "approval-missing",
        "membership-override",
        "personal-jump-item",
        "unsanctioned-jump-group",
        "site-personal-jump-item",
    ] {
        assert!(
            !rules.contains(&pra_rule),
            "{pra_rule} rests on partial PRA data"
        );
    }
    // Below the threshold of what remains, the verdict is incomplete, never compliant.
    let (code, report) = check_json(
        &format!("{SEED}/policies"),
        file.to_str().unwrap(),
        &["--no-waivers"],
    );
    assert_eq!((code, report["verdict"].as_str()), (1, Some("violations")));
    seed["ps"] = serde_json::json!({});
    std::fs::write(&file, seed.to_string()).unwrap();
    // Without Password Safe data only credential-not-found (low) remains.
    let (code, report) = check_json(
        &format!("{SEED}/policies"),
        file.to_str().unwrap(),
        &["--fail-on", "medium"],
    );
    assert_eq!(
        (code, report["verdict"].as_str()),
        (3, Some("incomplete")),
        "{report:#}"
    );
}

#[test]
fn fail_on_raises_the_threshold() {
    // The seed has critical findings: still 1 with --fail-on critical.
    let (code, _) = check_json(
        &format!("{SEED}/policies"),
        &format!("{SEED}/estate.json"),
        &["--fail-on", "critical"],
    );
    assert_eq!(code, 1);
}

#[test]
fn no_waivers_brings_waived_findings_back() {
    let (_, with) = check_json(
        &format!("{SEED}/policies"),
        &format!("{SEED}/estate.json"),
        &[],
    );
    let (_, without) = check_json(
        &format!("{SEED}/policies"),
        &format!("{SEED}/estate.json"),
        &["--no-waivers"],
    );
    assert!(with["summary"]["waived"].as_u64().unwrap() > 0);
    assert_eq!(without["summary"]["waived"], 0);
    assert_eq!(
        without["summary"]["findings"].as_u64().unwrap(),
        with["summary"]["findings"].as_u64().unwrap() + with["summary"]["waived"].as_u64().unwrap()
    );
}

#[test]
fn json_report_validates_against_the_committed_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/jumpguard-report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft7::new(&schema).expect("the report schema compiles");
    for (policy, estate) in [
        (format!("{SEED}/policies"), format!("{SEED}/estate.json")),
        (
            format!("{COMPLIANT}/policies"),
            format!("{COMPLIANT}/estate.json"),
        ),
    ] {
        let (_, report) = check_json(&policy, &estate, &[]);
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

#[test]
fn report_flag_writes_several_formats_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let human = dir.path().join("r.txt");
    let out = jumpguard(&[
        "check",
        "-p",
        &format!("{SEED}/policies"),
        "--estate",
        &format!("{SEED}/estate.json"),
        "--as-of",
        AS_OF,
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("human={}", human.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(written["verdict"], "violations");
    assert!(std::fs::read_to_string(&human)
        .unwrap()
        .contains("verdict: violations"));
    assert!(stdout(&out).contains("── target domain-controllers"));
}

#[test]
fn human_output_of_the_seed() {
    let out = jumpguard(&[
        "check",
        "-p",
        &format!("{SEED}/policies"),
        "--estate",
        &format!("{SEED}/estate.json"),
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "no colour when not on a terminal");
    insta::assert_snapshot!("seed_human", text);
}

#[test]
fn json_output_of_the_seed() {
    let out = jumpguard(&[
        "check",
        "-p",
        &format!("{SEED}/policies"),
        "--estate",
        &format!("{SEED}/estate.json"),
        "--as-of",
        AS_OF,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("seed_json", stdout(&out));
}

#[test]
fn validate_accepts_the_examples() {
    for p in [
        format!("{SEED}/policies"),
        format!("{COMPLIANT}/policies"),
        "policies/baseline.yaml".to_string(),
    ] {
        let out = jumpguard(&["validate", "-p", &p]);
        assert_eq!(out.status.code(), Some(0), "{p}: {}", stderr(&out));
        assert!(stdout(&out).contains("valid"));
    }
}

#[test]
fn validate_shows_every_mistake_at_once() {
    let out = jumpguard(&["validate", "-p", "tests/fixtures/broken", "--as-of", AS_OF]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for expected in [
        "unknown key `aproval`",
        "did you mean `approval`?",
        "expected array",
        "`mandatory` is not a valid value",
        "missing the required key `expires`",
        "`waiver-unused` cannot be waived",
        "invalid YAML",
        "`90x` is not a duration",
        "jump policy `infra-aproval` is not declared",
        "not a valid CIDR range",
        "not a valid glob",
        "jump group `windowz` is not declared",
        "not a valid regular expression",
        "target `dc` is defined twice",
        "lies in the future",
        "target `dcc` is not declared",
        "tests/fixtures/broken/1-schema.yaml:8:5",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    insta::assert_snapshot!("broken_diagnostics", err);
}

#[test]
fn check_with_an_invalid_policy_exits_2_without_evaluating() {
    let out = jumpguard(&[
        "check",
        "-p",
        "tests/fixtures/broken",
        "--estate",
        &format!("{SEED}/estate.json"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("nothing was evaluated"));
}

#[test]
fn configuration_and_usage_errors_exit_2() {
    let missing = jumpguard(&[
        "check",
        "-p",
        "policies/does-not-exist",
        "--estate",
        "x.json",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("does not exist"));
    let bad_estate = jumpguard(&[
        "check",
        "-p",
        &format!("{SEED}/policies"),
        "--estate",
        "Cargo.toml",
    ]);
    assert_eq!(bad_estate.status.code(), Some(2));
    assert!(stderr(&bad_estate).contains("not a valid estate file"));
    let bad_flag = jumpguard(&["check", "--fail-on", "severe"]);
    assert_eq!(bad_flag.status.code(), Some(2));
    let no_ps = jumpguard(&[
        "check",
        "-p",
        "../shared/conformance/044-error-credentials-without-password-safe/policy.yaml",
        "--estate",
        "../shared/conformance/044-error-credentials-without-password-safe/estate.json",
    ]);
    if Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance")
        .is_dir()
    {
        assert_eq!(no_ps.status.code(), Some(2));
        assert!(stderr(&no_ps).contains("no Password Safe source"));
    }
}

#[test]
fn explain_covers_every_rule() {
    let list = jumpguard(&["explain"]);
    assert_eq!(list.status.code(), Some(0));
    let ids: Vec<String> = stdout(&list)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 28);
    for id in &ids {
        let out = jumpguard(&["explain", id]);
        assert_eq!(out.status.code(), Some(0), "{id}");
        let text = stdout(&out);
        assert!(text.starts_with(&format!("# {id}")), "{id}");
        assert!(text.contains("## How to fix"), "{id}");
    }
    let unknown = jumpguard(&["explain", "aproval-missing"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("did you mean `approval-missing`?"));
}

#[test]
fn schema_prints_the_committed_schemas() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let policy = jumpguard(&["schema"]);
    assert_eq!(policy.status.code(), Some(0));
    assert_eq!(
        stdout(&policy),
        std::fs::read_to_string(root.join("schemas/jumpguard-policy.schema.json")).unwrap()
    );
    let report = jumpguard(&["schema", "--report"]);
    assert_eq!(
        stdout(&report),
        std::fs::read_to_string(root.join("schemas/jumpguard-report.schema.json")).unwrap()
    );
}

#[test]
fn init_writes_a_valid_starter_policy_from_an_estate() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("policies");
    let out = jumpguard(&[
        "init",
        "--from-estate",
        &format!("{SEED}/estate.json"),
        "--dir",
        repo.to_str().unwrap(),
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(repo.join("jumpguard.yaml")).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=jumpguard-policy.schema.json"));
    assert!(repo.join("jumpguard-policy.schema.json").is_file());
    for expected in [
        "windows-infra-approval:",
        "windows_infra:",
        "- name: linux_prod",
        "\"lnx-db01.corp.example\"",
        "approval: required",
    ] {
        assert!(text.contains(expected), "`{expected}` missing:\n{text}");
    }
    let valid = jumpguard(&["validate", "-p", repo.to_str().unwrap()]);
    assert_eq!(valid.status.code(), Some(0), "{}", stderr(&valid));
    // The starter describes today's jump policies exactly: no drift on the estate it came from.
    let (_, report) = check_json(repo.to_str().unwrap(), &format!("{SEED}/estate.json"), &[]);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        !rules.contains(&"jump-policy-drift") && !rules.contains(&"jump-group-missing"),
        "{rules:?}"
    );
    let again = jumpguard(&[
        "init",
        "--from-estate",
        &format!("{SEED}/estate.json"),
        "--dir",
        repo.to_str().unwrap(),
    ]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "init never overwrites a policy repository"
    );
}

#[test]
fn a_baseline_fails_only_on_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");
    let out = jumpguard(&[
        "baseline",
        "-p",
        &format!("{SEED}/policies"),
        "--estate",
        &format!("{SEED}/estate.json"),
        "--as-of",
        AS_OF,
        "--out",
        baseline.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, report) = check_json(
        &format!("{SEED}/policies"),
        &format!("{SEED}/estate.json"),
        &["--baseline", baseline.to_str().unwrap()],
    );
    assert_eq!(
        (code, report["verdict"].as_str()),
        (0, Some("compliant")),
        "{:#}",
        report["summary"]
    );
    assert_eq!(report["summary"]["baseline"], 29);
    // A new violation: another personal item on a guarded host.
    let mut seed: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(SEED)
                .join("estate.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let items = seed["pra"]["jump_item"]["shell-jump"]
        .as_array_mut()
        .unwrap();
    let mut extra = items
        .iter()
        .find(|i| i["jump_group_type"] == "personal")
        .unwrap()
        .clone();
    extra["id"] = serde_json::json!(990);
    extra["hostname"] = serde_json::json!("lnx-app01.corp.example");
    items.push(extra);
    // An unrelated change (a renamed user) must not change any fingerprint.
    seed["pra"]["user"][0]["public_display_name"] = serde_json::json!("Renamed Admin");
    let estate = dir.path().join("estate.json");
    std::fs::write(&estate, seed.to_string()).unwrap();
    let (code, report) = check_json(
        &format!("{SEED}/policies"),
        estate.to_str().unwrap(),
        &["--baseline", baseline.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    let new: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["waiver"].is_null() && f["baseline"] == false)
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["host"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        new,
        [
            ("personal-jump-item", "lnx-app01.corp.example"),
            ("site-personal-jump-item", "lnx-app01.corp.example")
        ]
    );
}

#[test]
fn fingerprints_follow_the_path_and_nothing_else() {
    let (_, before) = check_json(
        &format!("{SEED}/policies"),
        &format!("{SEED}/estate.json"),
        &[],
    );
    let mut seed: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(SEED)
                .join("estate.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // Unrelated: a team renamed, a comment edited. On the path: the copy's jump group changes.
    seed["pra"]["team"][0]["name"] = serde_json::json!("Help Desk");
    let copy = seed["pra"]["jump_item"]["remote-rdp"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["id"] == 118)
        .unwrap();
    copy["comments"] = serde_json::json!("edited");
    let dir = tempfile::tempdir().unwrap();
    let unrelated = dir.path().join("unrelated.json");
    std::fs::write(&unrelated, seed.to_string()).unwrap();
    let (_, after) = check_json(
        &format!("{SEED}/policies"),
        unrelated.to_str().unwrap(),
        &[],
    );
    let prints = |r: &Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        prints(&before),
        prints(&after),
        "unrelated changes keep every fingerprint"
    );
    let copy = seed["pra"]["jump_item"]["remote-rdp"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["id"] == 118)
        .unwrap();
    copy["jump_group_id"] = serde_json::json!(12);
    let moved = dir.path().join("moved.json");
    std::fs::write(&moved, seed.to_string()).unwrap();
    let (_, moved) = check_json(&format!("{SEED}/policies"), moved.to_str().unwrap(), &[]);
    let on_copy = |r: &Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["path"].to_string().contains("SRV-DC01 (copy)"))
            .map(|f| f["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!on_copy(&moved).is_empty());
    assert!(
        on_copy(&moved).iter().all(|f| !prints(&before).contains(f)),
        "a finding whose path changed gets a new fingerprint"
    );
}

#[test]
fn expiring_waivers_are_warned_about() {
    // The seed's waiver expires on 2027-03-31: 10 days before, it is expiring.
    let out = jumpguard(&[
        "check",
        "-p",
        &format!("{SEED}/policies"),
        "--estate",
        &format!("{SEED}/estate.json"),
        "--as-of",
        "2027-03-21",
        "--format",
        "json",
    ]);
    let err = stderr(&out);
    assert!(
        err.contains("warning: the waiver of `site-recordings-disabled`")
            && err.contains("(10 days left)"),
        "{err}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["waivers"][0]["status"], "expiring");
    let quiet = jumpguard(&[
        "check",
        "-p",
        &format!("{SEED}/policies"),
        "--estate",
        &format!("{SEED}/estate.json"),
        "--as-of",
        AS_OF,
        "--format",
        "json",
    ]);
    assert!(!stderr(&quiet).contains("warning: the waiver"));
}

#[test]
fn demo_walks_check_plan_apply_check_without_an_appliance() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jumpguard"))
        .args(["demo", "--as-of", AS_OF])
        .current_dir(dir.path())
        .env_clear()
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "1. check",
        "2. plan",
        "3. apply",
        "4. check again",
        "Plan: 0 to add, 3 to change, 2 to destroy, 1 manual step.",
        "Applied.",
    ] {
        assert!(text.contains(expected), "`{expected}` missing:\n{text}");
    }
    let last = text.rsplit("4. check again").next().unwrap();
    assert!(
        last.contains("external-search-bypass") && !last.contains("membership-override"),
        "{last}"
    );
}
