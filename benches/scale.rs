//! The scale benchmark of issue 7: generated estates of 10,000, 30,000 and 100,000 jump items,
//! timed stage by stage, against Python's `json.load` of the same file, and a live fetch from
//! the simulator with its rate limit on and off. Prints Markdown tables (the README's figures).
//!
//! ```sh
//! cargo bench --bench scale                                   # everything, best of 5
//! cargo bench --bench scale -- --sizes 10000 --runs 3 --no-fetch
//! ```
//!
//! Each figure is the best of `--runs` runs: the machine is shared, and the best run is the one
//! least disturbed by other work. `check` runs as a child process (the real binary, under
//! `/usr/bin/time` for its peak memory); the stages run in this process.

// The allocator of the binary (src/main.rs), so that the in-process stages are timed as the
// commands run them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use jumpguard::analysis::{evaluate, Options, Report};
use jumpguard::estate::Estate;
use jumpguard::generate::{generate, AS_OF};
use jumpguard::plan::PlanOptions;
use jumpguard::render::{self, Format};
use jumpguard::rules::Severity;
use jumpguard::sim::{SimConfig, Simulator};
use jumpguard::source::{FetchOptions, PraSite, PsAuth, PsSite, Secret};

struct Args {
    sizes: Vec<usize>,
    runs: usize,
    fetch: Option<usize>,
    seed: u64,
    plan: bool,
}

fn args() -> Args {
    let mut a = Args {
        sizes: vec![10_000, 30_000, 100_000],
        runs: 5,
        fetch: Some(10_000),
        seed: 1,
        plan: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match arg.as_str() {
            "--sizes" => {
                a.sizes = value()
                    .split(',')
                    .filter_map(|s| s.trim().parse().ok())
                    .collect()
            }
            "--runs" => a.runs = value().parse().unwrap_or(5).max(1),
            "--seed" => a.seed = value().parse().unwrap_or(1),
            "--fetch-size" => a.fetch = value().parse().ok(),
            "--no-fetch" => a.fetch = None,
            "--no-plan" => a.plan = false,
            _ => {} // `cargo bench` passes `--bench`.
        }
    }
    a
}

/// The best of `k` runs of `f`, and the value of the last run.
fn best<T>(k: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut fastest = Duration::MAX;
    let mut value = None;
    for _ in 0..k {
        let started = Instant::now();
        let v = f();
        fastest = fastest.min(started.elapsed());
        value = Some(v);
    }
    (fastest, value.expect("k is at least 1"))
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

struct Row {
    n: usize,
    accounts: usize,
    targets: usize,
    file_mb: f64,
    generate: Duration,
    policy: Duration,
    estate: Duration,
    evaluate: Duration,
    findings: usize,
    renders: Vec<(Format, Duration, usize)>,
    plan: Duration,
    plan_actions: usize,
    violations: usize,
    plan_violations: Duration,
    plan_violations_actions: usize,
    /// `jumpguard plan` run on the estate with 10,000 violations: wall time, peak RSS.
    plan_cli: Duration,
    plan_cli_rss_mb: f64,
    check: Duration,
    check_human: Duration,
    check_rss_mb: f64,
    python: Duration,
    planted_found: bool,
}

fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`: the figures need a
    // release build and minutes, so in a test run the benchmark only says how to run it.
    // A test runner asking for the list of tests (`cargo nextest`, `--list`) gets none.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("scale: a benchmark; run it with `cargo bench --bench scale` (see the README)");
        return;
    }
    let args = args();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scale");
    let k = args.runs;
    let mut rows = Vec::new();
    for &n in &args.sizes {
        eprintln!("n = {n}: generating");
        rows.push(measure(
            n,
            args.seed,
            k,
            args.plan,
            &dir.join(n.to_string()),
        ));
    }
    println!("{}", machine());
    println!(
        "Best of {k} runs each. `check` is the release binary run as `check -p DIR/policies --estate DIR/estate.json --as-of {AS_OF} [--format json] > /dev/null`: wall time, and peak RSS from `/usr/bin/time`. The stages below are timed in-process.\n"
    );
    println!("| jump items | PS accounts | targets | estate file | `check --format json` | `check` (human) | Python `json.load` | ratio | peak RSS | per 1,000 items | planted found |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.1} MB | {} | {} | {} | {:.2} | {:.0} MB | {} | {} |",
            r.n,
            r.accounts,
            r.targets,
            r.file_mb,
            ms(r.check),
            ms(r.check_human),
            ms(r.python),
            r.check.max(r.check_human).as_secs_f64() / r.python.as_secs_f64(),
            r.check_rss_mb,
            ms(r.check.max(r.check_human) / (r.n / 1000).max(1) as u32),
            if r.planted_found { "all" } else { "NO" }
        );
    }
    println!();
    println!(
        "| jump items | generate | load policy | load estate | evaluate | findings | {} |",
        Format::ALL
            .iter()
            .map(|f| format!("render {f}"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!(
        "|---:|---:|---:|---:|---:|---:|{}",
        "---:|".repeat(Format::ALL.len())
    );
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.n,
            ms(r.generate),
            ms(r.policy),
            ms(r.estate),
            ms(r.evaluate),
            r.findings,
            r.renders
                .iter()
                .map(|(_, d, bytes)| format!("{} ({} kB)", ms(*d), bytes / 1000))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    println!();
    println!("| jump items | plan (its findings) | API actions | plan, items without a jump policy | findings | API actions | `jumpguard plan` end to end | peak RSS |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} MB |",
            r.n,
            ms(r.plan),
            r.plan_actions,
            ms(r.plan_violations),
            r.violations,
            r.plan_violations_actions,
            ms(r.plan_cli),
            r.plan_cli_rss_mb
        );
    }
    if let Some(n) = args.fetch {
        println!();
        fetches(n, args.seed, &dir.join(format!("fetch-{n}")));
    }
}

fn measure(n: usize, seed: u64, k: usize, plan: bool, dir: &Path) -> Row {
    let (generate_time, g) = best(1, || generate(n, seed));
    std::fs::create_dir_all(dir.join("policies")).expect("a writable target directory");
    let estate_file = dir.join("estate.json");
    let policy_file = dir.join("policies").join("generated.yaml");
    let text = serde_json::to_string_pretty(&g.estate).expect("JSON") + "\n";
    std::fs::write(&estate_file, &text).expect("estate written");
    std::fs::write(&policy_file, &g.policy_yaml).expect("policy written");
    let file_mb = text.len() as f64 / 1e6;
    drop(text);
    let accounts = g.estate["ps"]["managed_accounts"]
        .as_array()
        .map_or(0, Vec::len);
    let today = AS_OF.parse().expect("a date");

    eprintln!("n = {n}: stages");
    let (policy_time, policy) = best(k, || {
        jumpguard::policy::load(&policy_file, today).expect("the generated policy is valid")
    });
    let (estate_time, estate) = best(k, || Estate::load(&estate_file).expect("a valid estate"));
    let options = Options {
        today,
        fail_on: Severity::Low,
        no_waivers: false,
    };
    let (evaluate_time, report) = best(k, || evaluate(&policy, &estate, options));
    let found: std::collections::BTreeSet<_> = report
        .findings
        .iter()
        .map(|f| (f.rule.id().to_string(), f.target.clone(), f.host.clone()))
        .collect();
    let planted_found = g.planted.iter().all(|p| found.contains(p));
    let renders = renders(k, &report, &policy);
    let plan_options = PlanOptions {
        allow_destroy: true,
        created_at: "2026-12-01T00:00:00Z".into(),
    };
    let mut plans = (Duration::ZERO, 0, 0, Duration::ZERO, 0);
    let mut plan_cli = (Duration::ZERO, 0.0);
    if plan {
        let (plan_time, plan) = best(k, || {
            jumpguard::plan::build(&policy, &estate, &report, &plan_options)
        });
        // Many violations: take the jump policy off shared items until 10,000 findings
        // would need a change (at most a third of the items).
        let mut broken = estate.clone();
        let mut left = 10_000.min(n / 3);
        for items in broken.pra.jump_item.values_mut() {
            for item in items.iter_mut().filter(|i| i.jump_policy_id.is_some()) {
                if left == 0 || item.jump_group_type != jumpguard::estate::JumpGroupType::Shared {
                    continue;
                }
                item.jump_policy_id = None;
                left -= 1;
            }
        }
        let broken_report = evaluate(&policy, &broken, options);
        let (plan_violations, broken_plan) = best(k, || {
            jumpguard::plan::build(&policy, &broken, &broken_report, &plan_options)
        });
        let broken_file = dir.join("broken.json");
        std::fs::write(
            &broken_file,
            serde_json::to_string(&broken).expect("JSON") + "\n",
        )
        .expect("estate written");
        plan_cli = timed_plan(k, dir, &broken_file);
        plans = (
            plan_time,
            plan.api_actions().count(),
            broken_report.unwaived().count(),
            plan_violations,
            broken_plan.api_actions().count(),
        );
    }

    eprintln!("n = {n}: check and json.load");
    let (check_json, json_rss) = check(k, dir, true);
    let (check_human, human_rss) = check(k, dir, false);
    let check_rss_mb = json_rss.max(human_rss);
    let python = python(k, &estate_file);
    Row {
        n,
        accounts,
        targets: policy.targets.len(),
        file_mb,
        generate: generate_time,
        policy: policy_time,
        estate: estate_time,
        evaluate: evaluate_time,
        findings: report.findings.len(),
        renders,
        plan: plans.0,
        plan_actions: plans.1,
        violations: plans.2,
        plan_violations: plans.3,
        plan_violations_actions: plans.4,
        plan_cli: plan_cli.0,
        plan_cli_rss_mb: plan_cli.1,
        check: check_json,
        check_human,
        check_rss_mb,
        python,
        planted_found,
    }
}

fn renders(
    k: usize,
    report: &Report,
    policy: &jumpguard::policy::Policy,
) -> Vec<(Format, Duration, usize)> {
    let ctx = render::Context {
        sources: &policy.sources,
        color: false,
        previous: None,
    };
    Format::ALL
        .iter()
        .map(|f| {
            let (d, text) = best(k, || render::render(*f, report, &ctx));
            (*f, d, text.len())
        })
        .collect()
}

/// `jumpguard check` on the files, as a user runs it: wall time and peak RSS.
fn check(k: usize, dir: &Path, json: bool) -> (Duration, f64) {
    let mut args: Vec<OsString> = vec![
        "check".into(),
        "-p".into(),
        dir.join("policies").into(),
        "--estate".into(),
        dir.join("estate.json").into(),
        "--as-of".into(),
        AS_OF.into(),
    ];
    if json {
        args.extend(["--format".into(), "json".into()]);
    }
    timed(k, &args, 1, "check finds the planted violations")
}

/// `jumpguard plan --allow-destroy --out FILE` on an estate file, as a user runs it: best
/// wall time of `k` runs and peak RSS.
fn timed_plan(k: usize, dir: &Path, estate: &Path) -> (Duration, f64) {
    let args: Vec<OsString> = vec![
        "plan".into(),
        "-p".into(),
        dir.join("policies").into(),
        "--estate".into(),
        estate.into(),
        "--as-of".into(),
        AS_OF.into(),
        "--allow-destroy".into(),
        "--out".into(),
        dir.join("plan.json").into(),
    ];
    timed(k, &args, 0, "plan succeeds")
}

/// The release binary run `k` times with `args` under `/usr/bin/time`, stdout discarded: the
/// best wall time and the peak RSS (MB). Each run must exit with `code`.
fn timed(k: usize, args: &[OsString], code: i32, what: &str) -> (Duration, f64) {
    let mut fastest = Duration::MAX;
    let mut rss_kb = 0u64;
    for _ in 0..k {
        let started = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(env!("CARGO_BIN_EXE_jumpguard"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .output()
            .expect("/usr/bin/time and the jumpguard binary");
        fastest = fastest.min(started.elapsed());
        assert_eq!(out.status.code(), Some(code), "{what}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let kb = stderr
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or(0);
        rss_kb = rss_kb.max(kb);
    }
    (fastest, rss_kb as f64 / 1024.0)
}

/// Python's `json.load` of the same file, best of `k`, in one interpreter.
fn python(k: usize, file: &Path) -> Duration {
    let script = format!(
        "import json, sys, time\nbest = 1e9\nfor _ in range({k}):\n    t = time.perf_counter()\n    with open(sys.argv[1]) as f:\n        json.load(f)\n    best = min(best, time.perf_counter() - t)\nprint(best)"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .arg(file)
        .output()
        .expect("python3");
    let secs: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("python prints seconds");
    Duration::from_secs_f64(secs)
}

/// A live fetch of a generated estate from the simulator on loopback.
fn fetches(n: usize, seed: u64, _dir: &Path) {
    let g = generate(n, seed);
    println!("Live fetch of the generated estate of {n} jump items from the in-process simulator on loopback (one run each; the floor is PRA requests / 20 per second, the token request not counted):\n");
    println!("| rate limit | sites | requests | 429s | wall time | floor | over floor |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (limit, ps) in [(true, false), (true, true), (false, false), (false, true)] {
        let config = SimConfig {
            rate_limit: limit,
            ..SimConfig::default()
        };
        let sim = Simulator::new(g.estate.clone(), config.clone()).expect("a servable estate");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (stats, estate) = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let url = format!("http://{}", listener.local_addr().expect("an address"));
            let server = tokio::spawn(sim.clone().serve(listener));
            let options = FetchOptions {
                pra: Some(PraSite {
                    url: url.clone(),
                    client_id: config.client_id.clone(),
                    client_secret: Secret::new(config.client_secret.clone()),
                }),
                ps: ps.then(|| PsSite {
                    url: url.clone(),
                    auth: PsAuth::ApiKey {
                        key: Secret::new(config.ps_api_key.clone()),
                        runas: config.ps_runas.clone(),
                        password: None,
                    },
                }),
                ..FetchOptions::default()
            };
            let (estate, stats) = jumpguard::source::fetch(&options)
                .await
                .expect("valid fetch settings");
            server.abort();
            (stats, estate)
        });
        let sources = estate.sources();
        assert_eq!(
            sources.pra.status,
            jumpguard::estate::Completeness::Complete,
            "{:?}",
            sources.pra.reason
        );
        let pra_requests = pra_requests(&estate);
        let floor = Duration::from_secs_f64(pra_requests as f64 / 20.0);
        println!(
            "| {} | {} | {} (PRA {}) | {} | {} | {} | {} |",
            if limit { "on" } else { "off" },
            if ps { "PRA + Password Safe" } else { "PRA" },
            stats.requests,
            pra_requests + 1,
            stats.rate_limited,
            ms(stats.elapsed),
            if limit { ms(floor) } else { "-".into() },
            if limit {
                format!(
                    "{:+.1}%",
                    (stats.elapsed.as_secs_f64() / floor.as_secs_f64() - 1.0) * 100.0
                )
            } else {
                "-".into()
            }
        );
    }
}

/// The fewest PRA API requests that read an estate: one per 100 rows of each list, at least
/// one per list, and one per parent for sub-collections (token not counted).
fn pra_requests(e: &Estate) -> usize {
    let pages = |rows: usize| rows.div_ceil(100).max(1);
    let p = &e.pra;
    let item_lists: usize = jumpguard::estate::JumpItemType::ALL
        .iter()
        .map(|t| pages(p.jump_item.get(t).map_or(0, Vec::len)))
        .sum();
    item_lists
        + pages(p.jump_client.len())
        + pages(p.jump_group.len())
        + pages(p.group_policy.len())
        + pages(p.jump_policy.len())
        + pages(p.jump_item_role.len())
        + pages(p.jumpoint.len())
        + pages(p.user.len())
        + pages(p.team.len())
        + pages(p.session_policy.len())
        + pages(p.vault_account.len())
        + pages(p.vault_account_group.len())
        + p.jump_group.len()
        + p.group_policy.len()
        + p.jump_policy.len()
}

/// The machine, for the README.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let ram = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or_else(
            || "unknown".into(),
            |kb| format!("{:.0} GB", kb / 1024.0 / 1024.0),
        );
    format!(
        "Machine: {cores} cores ({cpu}), {ram} RAM; jumpguard {} (release build).\n",
        jumpguard::VERSION
    )
}
