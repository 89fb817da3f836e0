//! The real binary against the PRA simulator on loopback: live check equals offline check,
//! pagination, rate limits, token renewal, faults that leave PRA partial, clear errors, and no
//! secret anywhere in the output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use jumpguard::sim::{SimConfig, Simulator};
use serde_json::Value;

const SECRET: &str = "s3cret-for-tests-only";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

mod common;
use common::Sim;

fn start(estate: &str) -> Sim {
    let config = SimConfig {
        client_id: "jumpguard-test".into(),
        client_secret: SECRET.into(),
        ..SimConfig::default()
    };
    common::serve(common::estate(estate), config)
}

fn jumpguard(sim: &Sim, secret: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jumpguard"))
        .args(args)
        .current_dir(root())
        .env_clear()
        .env("NO_COLOR", "1")
        .env("JUMPGUARD_PRA_URL", &sim.url)
        .env("JUMPGUARD_PRA_CLIENT_ID", "jumpguard-test")
        .env("JUMPGUARD_PRA_CLIENT_SECRET", secret)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jumpguard-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const LIVE_POLICY: &str = "tests/fixtures/live/policy.yaml";
const LIVE_ESTATE: &str = "tests/fixtures/live/estate.json";
const SEED_ESTATE: &str = "examples/seed/estate.json";

/// The PRA half through the typed model, without what a fetch adds that the file may omit:
/// empty lists of item types and the default (empty) schedule of each jump policy.
fn pra_half(path: &Path) -> Value {
    let mut estate = jumpguard::estate::Estate::load(path).unwrap();
    estate.pra.jump_item.retain(|_, items| !items.is_empty());
    estate
        .pra
        .jump_policy_schedule
        .retain(|_, s| s.timezone.is_some() || !s.entries.is_empty());
    serde_json::to_value(&estate.pra).unwrap()
}

#[test]
fn live_fetch_of_the_seed_equals_the_estate_and_checks_the_same() {
    let sim = start(SEED_ESTATE);
    let out = tmp("seed-live.json");
    let fetched = jumpguard(&sim, SECRET, &["fetch", "--out", out.to_str().unwrap()]);
    assert_eq!(fetched.status.code(), Some(0), "{}", text(&fetched.stderr));
    // `fetch` says how many requests it took without `--verbose`: the seed's minimum is 32.
    assert!(
        text(&fetched.stderr).contains(": 32 requests (0 answered 429, 0 retried)"),
        "{}",
        text(&fetched.stderr)
    );
    assert_eq!(
        pra_half(&out),
        pra_half(&root().join(SEED_ESTATE)),
        "the PRA half arrives unchanged"
    );

    // With the seed's Password Safe half beside it, the live estate checks exactly as the file.
    let mut live: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let seed: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(SEED_ESTATE)).unwrap()).unwrap();
    live["ps"] = seed["ps"].clone();
    live["sources"] = seed["sources"].clone();
    std::fs::write(&out, live.to_string()).unwrap();
    let check = |estate: &str| {
        let o = jumpguard(
            &sim,
            SECRET,
            &[
                "check",
                "-p",
                "examples/seed/policies",
                "--estate",
                estate,
                "--as-of",
                "2026-12-01",
                "--format",
                "json",
            ],
        );
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            o.status.code(),
            report["findings"].clone(),
            report["summary"].clone(),
        )
    };
    let offline = check(SEED_ESTATE);
    assert_eq!(offline.0, Some(1));
    assert_eq!(check(out.to_str().unwrap()), offline);
}

#[test]
fn live_check_equals_the_offline_check() {
    let sim = start(SEED_ESTATE);
    let args = |estate: Option<&str>| {
        let mut a = vec![
            "check",
            "-p",
            "examples/seed/policies/linux.yaml",
            "--as-of",
            "2026-12-01",
            "--format",
            "json",
        ];
        if let Some(e) = estate {
            a.extend(["--estate", e]);
        }
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = jumpguard(&sim, SECRET, &refs);
        let report: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o.stderr)));
        (o.status.code(), report["findings"].clone())
    };
    // The offline estate without its Password Safe half, as a PRA-only live run sees it.
    let mut seed: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(SEED_ESTATE)).unwrap()).unwrap();
    seed.as_object_mut().unwrap().remove("ps");
    seed.as_object_mut().unwrap().remove("sources");
    let pra_only = tmp("seed-pra-only.json");
    std::fs::write(&pra_only, seed.to_string()).unwrap();
    let live = run(args(None));
    let offline = run(args(Some(pra_only.to_str().unwrap())));
    assert_eq!(live.0, Some(1));
    assert!(live
        .1
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "personal-jump-item"));
    assert_eq!(live, offline);
}

#[test]
fn a_250_item_list_arrives_whole_in_pages_of_100() {
    let sim = start(LIVE_ESTATE);
    let out = tmp("paged.json");
    let o = jumpguard(
        &sim,
        SECRET,
        &["--verbose", "fetch", "--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let estate = jumpguard::estate::Estate::load(&out).unwrap();
    let items = &estate.pra.jump_item[&jumpguard::estate::JumpItemType::ShellJump];
    assert_eq!(items.len(), 250);
    let err = text(&o.stderr);
    let pages: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("GET /api/config/v1/jump-item/shell-jump?"))
        .collect();
    assert_eq!(pages.len(), 3, "{err}");
    assert!(
        pages
            .iter()
            .all(|l| l.contains("per_page=100") && l.contains(" 200 ")),
        "{pages:?}"
    );
    // Request economy: one token, 8 item types (shell-jump in 3 pages), 11 other lists, one
    // membership list per jump group and group policy, one schedule per jump policy.
    let total = err
        .lines()
        .filter(|l| l.starts_with("GET ") || l.starts_with("POST "))
        .count();
    assert_eq!(total, 1 + 10 + 11 + 1 + 1 + 1, "{err}");
    assert!(err.contains(&format!("{total} requests")), "{err}");
}

#[test]
fn a_forced_429_is_waited_out() {
    let sim = start(LIVE_ESTATE);
    sim.sim.faults().force_429(2);
    let o = jumpguard(
        &sim,
        SECRET,
        &[
            "--verbose",
            "check",
            "-p",
            LIVE_POLICY,
            "--as-of",
            "2026-12-01",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert_eq!(
        err.lines().filter(|l| l.contains(" 429 ")).count(),
        2,
        "{err}"
    );
    assert!(err.contains("2 answered 429"), "{err}");
}

#[test]
fn a_revoked_token_is_renewed_once() {
    let sim = start(LIVE_ESTATE);
    let watcher = sim.sim.clone();
    std::thread::spawn(move || {
        while watcher.request_count() < 6 {
            std::thread::sleep(Duration::from_millis(5));
        }
        watcher.faults().revoke_tokens();
    });
    let o = jumpguard(
        &sim,
        SECRET,
        &[
            "--verbose",
            "check",
            "-p",
            LIVE_POLICY,
            "--as-of",
            "2026-12-01",
        ],
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("POST /oauth2/token"))
            .count(),
        2,
        "{err}"
    );
    assert!(err.lines().any(|l| l.contains(" 401 ")), "{err}");
}

#[test]
fn a_permanent_500_makes_check_exit_3() {
    let sim = start(LIVE_ESTATE);
    sim.sim
        .faults()
        .fail_path("/api/config/v1/jump-policy", 500, u32::MAX);
    let o = jumpguard(
        &sim,
        SECRET,
        &[
            "check",
            "-p",
            LIVE_POLICY,
            "--as-of",
            "2026-12-01",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["verdict"], "incomplete");
    assert_eq!(report["sources"]["pra"]["status"], "partial");
    assert!(
        report["sources"]["pra"]["reason"]
            .as_str()
            .unwrap()
            .contains("500"),
        "{report:#}"
    );
}

#[test]
fn a_truncated_page_makes_check_exit_3() {
    let sim = start(LIVE_ESTATE);
    sim.sim.faults().truncate_pages(true);
    let o = jumpguard(
        &sim,
        SECRET,
        &["check", "-p", LIVE_POLICY, "--as-of", "2026-12-01"],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stderr).contains("rows announced by X-BT-Pagination-Total"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_dropped_connection_is_retried() {
    let sim = start(LIVE_ESTATE);
    sim.sim
        .faults()
        .drop_connections("/api/config/v1/jump-group", 1);
    let o = jumpguard(
        &sim,
        SECRET,
        &[
            "--verbose",
            "check",
            "-p",
            LIVE_POLICY,
            "--as-of",
            "2026-12-01",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("1 retried"), "{}", text(&o.stderr));
}

#[test]
fn bad_credentials_exit_3_with_a_clear_message() {
    let sim = start(LIVE_ESTATE);
    let o = jumpguard(
        &sim,
        "wrong-secret",
        &["check", "-p", LIVE_POLICY, "--as-of", "2026-12-01"],
    );
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(
        err.contains("JUMPGUARD_PRA_CLIENT_ID and JUMPGUARD_PRA_CLIENT_SECRET"),
        "{err}"
    );
    assert!(!err.contains("wrong-secret"));
}

#[test]
fn an_unreachable_site_exits_3_and_plain_http_elsewhere_exits_2() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let sim = Sim {
        sim: Simulator::new(serde_json::json!({"pra": {}}), SimConfig::default()).unwrap(),
        url,
    };
    let o = jumpguard(
        &sim,
        SECRET,
        &["check", "-p", LIVE_POLICY, "--as-of", "2026-12-01"],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stderr).contains("cannot connect"),
        "{}",
        text(&o.stderr)
    );
    let o = jumpguard(
        &sim,
        SECRET,
        &[
            "check",
            "-p",
            LIVE_POLICY,
            "--pra-url",
            "http://pra.corp.example",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("only loopback"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn missing_credentials_are_a_configuration_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_jumpguard"))
        .args([
            "check",
            "-p",
            LIVE_POLICY,
            "--pra-url",
            "https://pra.corp.example",
        ])
        .current_dir(root())
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("JUMPGUARD_PRA_CLIENT_SECRET"));
}

#[test]
fn secrets_appear_nowhere() {
    let sim = start(SEED_ESTATE);
    sim.sim.faults().force_429(1);
    let out = tmp("secret-scan.json");
    let fetched = jumpguard(
        &sim,
        SECRET,
        &["--verbose", "fetch", "--out", out.to_str().unwrap()],
    );
    let checked = jumpguard(
        &sim,
        SECRET,
        &[
            "--verbose",
            "check",
            "-p",
            "examples/seed/policies/linux.yaml",
            "--format",
            "json",
        ],
    );
    let tokens = sim.sim.issued_tokens();
    assert!(!tokens.is_empty());
    let written = std::fs::read_to_string(&out).unwrap();
    for haystack in [
        text(&fetched.stdout),
        text(&fetched.stderr),
        text(&checked.stdout),
        text(&checked.stderr),
        written,
    ] {
        assert!(!haystack.contains(SECRET), "the client secret leaked");
        for t in &tokens {
            assert!(!haystack.contains(t.as_str()), "a bearer token leaked");
        }
    }
}

#[test]
fn a_missing_permission_and_an_older_appliance_are_named() {
    let sim = start(LIVE_ESTATE);
    sim.sim
        .faults()
        .fail_path("/api/config/v1/vault", 403, u32::MAX);
    sim.sim
        .faults()
        .fail_path("/api/config/v1/jump-item/psql-tunnel-jump", 404, u32::MAX);
    let o = jumpguard(
        &sim,
        SECRET,
        &[
            "check",
            "-p",
            LIVE_POLICY,
            "--as-of",
            "2026-12-01",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let reason = report["sources"]["pra"]["reason"].as_str().unwrap();
    assert!(reason.contains("Manage Vault Accounts"), "{reason}");
    assert!(
        reason.contains("may predate Configuration API 1.10"),
        "{reason}"
    );
}

#[test]
fn tls_failures_and_bad_ca_files_are_explained() {
    let sim = start(LIVE_ESTATE);
    // The simulator speaks plain HTTP: a TLS client gets no handshake from it.
    let https = sim.url.replace("http://", "https://");
    let o = jumpguard(
        &sim,
        SECRET,
        &["check", "-p", LIVE_POLICY, "--pra-url", &https],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stderr).contains("TLS handshake"),
        "{}",
        text(&o.stderr)
    );
    let o = jumpguard(
        &sim,
        SECRET,
        &["check", "-p", LIVE_POLICY, "--ca-cert", "Cargo.toml"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("cannot use the CA certificate Cargo.toml"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn the_sim_command_serves_an_estate_with_faults_from_flags() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_jumpguard"))
        .args([
            "sim",
            "--estate",
            LIVE_ESTATE,
            "--listen",
            "127.0.0.1:0",
            "--client-id",
            "jumpguard-test",
            "--client-secret",
            SECRET,
            "--fail-429",
            "1",
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let sim = Sim {
        sim: Simulator::new(serde_json::json!({"pra": {}}), SimConfig::default()).unwrap(),
        url,
    };
    let o = jumpguard(
        &sim,
        SECRET,
        &[
            "--verbose",
            "check",
            "-p",
            LIVE_POLICY,
            "--as-of",
            "2026-12-01",
        ],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("1 answered 429"),
        "{}",
        text(&o.stderr)
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_jumpguard"))
        .args(["sim", "--estate", LIVE_ESTATE, "--listen", "0.0.0.0:0"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("loopback addresses only"));
}
