//! The HTML report as a browser sees it: the real binary writes it for the seed with a hostile jump
//! item name, and headless Chromium loads it. The page must be self-contained, run no script, and
//! show the name as text; `--previous` must show what is new and what was fixed.
//!
//! Without Chromium the browser half is skipped with a message, except in CI (`CI=true`), where a
//! missing browser fails the test (`.ci/run` installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const AS_OF: &str = "2026-12-01";
const HOSTILE: &str = "<script>alert(1)</script>";
const HOSTILE_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";
/// The jump item renamed: `SRV-DC01 (copy)` in Legacy Windows, on the path of three findings.
const RENAMED_ITEM: (&str, i64) = ("remote-rdp", 118);
const CHROMIUM: &str = "/usr/bin/chromium";

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

/// `check` with the given estate and policy, writing `reports`; returns the exit code.
fn check(policy: &str, estate: &Path, previous: Option<&Path>, reports: &[(&str, &Path)]) -> i32 {
    let estate = estate.to_str().expect("a UTF-8 temp path");
    let mut args: Vec<String> = ["check", "-p", policy, "--estate", estate, "--as-of", AS_OF]
        .map(String::from)
        .to_vec();
    if let Some(p) = previous {
        args.push("--previous".into());
        args.push(p.to_str().expect("a UTF-8 temp path").into());
    }
    for (format, file) in reports {
        args.push("--report".into());
        args.push(format!("{format}={}", file.display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = jumpguard(&args);
    for (format, file) in reports {
        assert!(
            file.exists(),
            "no {format} report written: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.code().unwrap_or(-1)
}

/// The seed estate with one jump item renamed to a script tag, written to `dir`.
fn hostile_estate(dir: &Path) -> PathBuf {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed/estate.json");
    let mut estate: Value = serde_json::from_str(&std::fs::read_to_string(seed).unwrap()).unwrap();
    let (kind, id) = RENAMED_ITEM;
    let item = estate["pra"]["jump_item"][kind]
        .as_array_mut()
        .expect("jump items by type")
        .iter_mut()
        .find(|i| i["id"] == id)
        .expect("the item to rename is in the seed");
    item["name"] = Value::from(HOSTILE);
    let path = dir.join("estate.json");
    std::fs::write(&path, serde_json::to_string_pretty(&estate).unwrap()).unwrap();
    path
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap()
}

/// The external references of a document: what follows `src=`, `href=` or `url(`.
fn references(doc: &str) -> Vec<String> {
    let lower = doc.to_ascii_lowercase();
    let mut refs = Vec::new();
    for marker in ["src=", "href=", "url("] {
        for (i, _) in lower.match_indices(marker) {
            let value: String = lower[i + marker.len()..]
                .trim_start_matches(['"', '\'', ' '])
                .chars()
                .take_while(|c| !matches!(c, '"' | '\'' | ')' | ' ' | '>'))
                .collect();
            refs.push(value);
        }
    }
    refs
}

/// Byte checks on the file itself: no script, nothing loaded from elsewhere, the name escaped.
fn assert_self_contained(doc: &str) {
    let lower = doc.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script element in the report");
    for r in references(doc) {
        assert!(
            !r.starts_with("http:") && !r.starts_with("https:") && !r.starts_with("//"),
            "external reference {r}"
        );
    }
}

/// Chromium: `/usr/bin/chromium` (Debian's package), else `chromium` on `PATH`. Without it the
/// browser checks are skipped locally and fail in CI.
fn chromium() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("chromium"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if let Some(found) = std::iter::once(PathBuf::from(CHROMIUM))
        .chain(on_path)
        .find(|p| p.is_file())
    {
        return Some(found);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !ci,
        "Chromium is missing and CI=true: install it (apt-get install chromium); .ci/run does"
    );
    eprintln!("skipping the browser checks: Chromium is not installed (apt-get install chromium)");
    None
}

/// The DOM of a local file after Chromium has parsed it (`--dump-dom`), in a fresh profile, with
/// nothing that would reach the network.
fn dump_dom(chromium: &Path, file: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        // Chromium writes crash reports and caches under HOME: keep them in the temp dir.
        .env("HOME", profile.path())
        .env("XDG_CONFIG_HOME", profile.path())
        .env("XDG_CACHE_HOME", profile.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read stdout on a thread so that a full pipe cannot stall Chromium while we wait.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("chromium can be waited on") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let dom = reader.join().unwrap().expect("chromium prints UTF-8");
    let err = err_reader.join().unwrap();
    assert!(
        status.success() && dom.contains("<html"),
        "chromium failed ({status}): {err}"
    );
    dom
}

/// The text a reader sees: the DOM without its tags (attributes included), `<head>` and
/// `<style>`, with entities decoded and whitespace squashed.
fn visible_text(dom: &str) -> String {
    let body = dom.split_once("<body").map_or(dom, |(_, b)| b);
    let mut text = String::new();
    let mut in_tag = false;
    let mut quote: Option<char> = None;
    let mut skipping_style = false;
    let mut tag = String::new();
    for c in body.chars() {
        if in_tag {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c == '>' => {
                    in_tag = false;
                    let name = tag.to_ascii_lowercase();
                    if name.starts_with("style") {
                        skipping_style = true;
                    } else if name.starts_with("/style") {
                        skipping_style = false;
                    }
                    text.push(' ');
                }
                None => tag.push(c),
            }
        } else if c == '<' {
            in_tag = true;
            tag.clear();
        } else if !skipping_style {
            text.push(c);
        }
    }
    squash(
        &text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&nbsp;", " ")
            .replace("&amp;", "&"),
    )
}

/// Runs of whitespace as one space, as a browser lays text out.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The part of `text` from `from` up to `to` (or the end).
fn between<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
    let start = text
        .find(from)
        .unwrap_or_else(|| panic!("`{from}` not in the page"));
    let rest = &text[start..];
    rest.find(to).map_or(rest, |end| &rest[..end])
}

#[test]
fn seed_html_report_is_self_contained_and_shows_hostile_names_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let estate = hostile_estate(dir.path());
    let compliant_estate =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/compliant/estate.json");
    let (compliant_json, seed_html, seed_json, seed_md, fixed_html) = (
        dir.path().join("compliant.json"),
        dir.path().join("seed.html"),
        dir.path().join("seed.json"),
        dir.path().join("seed.md"),
        dir.path().join("fixed.html"),
    );

    // 1. The compliant example: the "previous" report of the seed run.
    let code = check(
        "examples/compliant/policies",
        &compliant_estate,
        None,
        &[("json", &compliant_json)],
    );
    assert_eq!(code, 0);
    // 2. The seed with the hostile name, compared with it: every finding is new.
    let code = check(
        "examples/seed/policies",
        &estate,
        Some(&compliant_json),
        &[
            ("html", &seed_html),
            ("json", &seed_json),
            ("markdown", &seed_md),
        ],
    );
    assert_eq!(code, 1);
    // 3. The compliant example compared with the seed: every finding is fixed.
    let code = check(
        "examples/compliant/policies",
        &compliant_estate,
        Some(&seed_json),
        &[("html", &fixed_html)],
    );
    assert_eq!(code, 0);

    let report = read_json(&seed_json);
    assert_eq!(report["verdict"], "violations");
    let findings = report["findings"].as_array().unwrap();
    let counted: Vec<&Value> = findings
        .iter()
        .filter(|f| f["waiver"].is_null() && f["baseline"] != true)
        .collect();
    let on_renamed: Vec<&Value> = counted
        .iter()
        .copied()
        .filter(|f| {
            f["path"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == HOSTILE)
        })
        .collect();
    assert!(!on_renamed.is_empty(), "no finding on the renamed item");
    let mut targets: Vec<&str> = counted
        .iter()
        .filter_map(|f| f["target"].as_str())
        .collect();
    targets.sort_unstable();
    targets.dedup();

    // (a) Bytes.
    let html = read(&seed_html);
    assert_self_contained(&html);
    assert!(
        html.contains(HOSTILE_ESCAPED),
        "the escaped name is not in the page"
    );
    assert!(!html.contains(HOSTILE));
    assert_self_contained(&read(&fixed_html));
    let md = read(&seed_md);
    assert!(
        !md.contains("<script"),
        "a script tag in the Markdown report"
    );
    assert!(md.contains(HOSTILE_ESCAPED));

    // (b) What a browser makes of it.
    let Some(chromium) = chromium() else { return };

    // A control, so that a clean result means something: a page that does run a script shows it.
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><title>c</title><p>x</p><script>document.title='ran'</script>",
    )
    .unwrap();
    let dom = dump_dom(&chromium, &control);
    assert!(
        dom.contains("<script>"),
        "the control script element is in the DOM"
    );
    assert!(dom.contains("<title>ran</title>"), "the control script ran");

    let dom = dump_dom(&chromium, &seed_html);
    assert!(
        !dom.to_ascii_lowercase().contains("<script"),
        "a script element in the DOM"
    );
    assert!(dom.contains(HOSTILE_ESCAPED), "the name is not a text node");
    let text = visible_text(&dom);
    assert!(text.contains(HOSTILE), "the name is not visible as text");
    assert!(text.contains("FAIL") && text.contains("Verdict: violations"));
    for t in &targets {
        assert!(text.contains(&format!("Target {t}")), "target {t} missing");
    }
    for f in &on_renamed {
        assert!(text.contains(f["rule"].as_str().unwrap()));
    }

    let changes = between(
        &text,
        "Compared with the report as of",
        "Findings by target",
    );
    let new = between(changes, "New since the previous report", "Fixed since");
    assert!(
        new.contains(&format!(
            "New since the previous report ({})",
            counted.len()
        )),
        "{new}"
    );
    let first = squash(counted[0]["message"].as_str().unwrap());
    assert!(new.contains(&first), "the first seed finding is not new");

    let dom = dump_dom(&chromium, &fixed_html);
    let text = visible_text(&dom);
    assert!(text.contains("PASS") && text.contains("Verdict: compliant"));
    let changes = between(
        &text,
        "Compared with the report as of",
        "Findings by target",
    );
    assert!(
        changes.contains("New since the previous report (0)"),
        "{changes}"
    );
    let fixed = between(
        changes,
        "Fixed since the previous report",
        "Waived or baselined",
    );
    assert!(
        fixed.contains(&format!(
            "Fixed since the previous report ({})",
            counted.len()
        )),
        "{fixed}"
    );
    assert!(
        fixed.contains(&first),
        "the first seed finding is not fixed"
    );
    for f in &on_renamed {
        assert!(
            fixed.contains(&squash(f["message"].as_str().unwrap())),
            "{f}"
        );
    }
}
