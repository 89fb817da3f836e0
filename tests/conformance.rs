//! Runs every case of the shared conformance suite (`../shared/conformance/`) through the real
//! binary and compares the unwaived `(rule, target, host)` set and the exit code, as the suite's
//! `check.py` does. In CI (`CI=true`) a missing suite is a failure, not a skip.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn suite_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the conformance suite is missing at {}: CI must run with ../shared beside the clone",
        dir.display()
    );
    eprintln!("skipping: no conformance suite at {}", dir.display());
    None
}

fn triple(f: &Value) -> String {
    let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
    format!("{} {} {}", s("rule"), s("target"), s("host"))
}

fn run_case(dir: &Path) -> Result<(), String> {
    let case: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("case.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let policy = if dir.join("policy").is_dir() {
        dir.join("policy")
    } else {
        dir.join("policy.yaml")
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jumpguard"));
    cmd.args(["check", "--format", "json", "--as-of"])
        .arg(case["today"].as_str().unwrap_or("2026-12-01"))
        .arg("-p")
        .arg(&policy)
        .arg("--estate")
        .arg(dir.join("estate.json"))
        .env_remove("NO_COLOR");
    if let Some(f) = case.get("fail_on").and_then(Value::as_str) {
        cmd.args(["--fail-on", f]);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let code = out.status.code().unwrap_or(-1);
    let expected = &case["expected"];
    let want_code = expected["exit_code"].as_i64().unwrap_or(-2) as i32;
    let mut problems = Vec::new();
    if code != want_code {
        problems.push(format!(
            "exit code: expected {want_code}, got {code}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if want_code != 2 {
        let report: Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("unreadable report: {e}"))?;
        let got: BTreeSet<String> = report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["waiver"].is_null())
            .map(triple)
            .collect();
        let want: BTreeSet<String> = expected["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(triple)
            .collect();
        problems.extend(want.difference(&got).map(|t| format!("missing: {t}")));
        problems.extend(got.difference(&want).map(|t| format!("unexpected: {t}")));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}

#[test]
fn every_conformance_case_passes() {
    let Some(suite) = suite_dir() else { return };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&suite)
        .expect("readable suite")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 45,
        "expected the whole suite, found {} cases",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            run_case(c).err().map(|e| {
                format!(
                    "{}:\n  {e}",
                    c.file_name().unwrap_or_default().to_string_lossy()
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The suite's own comparator agrees with ours on one case of each exit code (when Python exists).
#[test]
fn the_suites_checker_accepts_our_reports() {
    let Some(suite) = suite_dir() else { return };
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipping: no python3");
        return;
    }
    for name in [
        "001-shared-item-memberships",
        "032-unmanaged-warn",
        "013-external-search-attested-on-without-password-safe",
    ] {
        let dir = suite.join(name);
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jumpguard"));
        cmd.args(["check", "--format", "json", "--as-of", "2026-12-01", "-p"])
            .arg(dir.join("policy.yaml"))
            .arg("--estate")
            .arg(dir.join("estate.json"));
        if let Some(f) = case.get("fail_on").and_then(Value::as_str) {
            cmd.args(["--fail-on", f]);
        }
        let out = cmd.output().unwrap();
        let report = std::env::temp_dir().join(format!(
            "jumpguard-conformance-{name}-{}.json",
            std::process::id()
        ));
        std::fs::write(&report, &out.stdout).unwrap();
        let check = Command::new("python3")
            .arg(suite.join("check.py"))
            .arg(&dir)
            .arg(&report)
            .arg(out.status.code().unwrap().to_string())
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&report);
        assert!(
            check.status.success(),
            "check.py rejects {name}: {}",
            String::from_utf8_lossy(&check.stdout)
        );
    }
}
