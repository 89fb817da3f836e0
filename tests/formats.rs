//! The CI formats as the platforms read them, from the real binary on the seed example: SARIF
//! valid against the OASIS schema with what GitHub code scanning needs, JUnit XML well-formed with
//! counts that add up, GitHub annotations on stderr and the job summary in its file.
//!
//! The SARIF schema lives in `../shared/reference/`, beside the clone; in CI (`CI=true`) a missing
//! schema is a failure, not a skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jumpguard::rules::Rule;
use serde_json::Value;

const AS_OF: &str = "2026-12-01";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `check` on the seed example in the crate root with a cleared, colourless environment.
fn check_seed(extra: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jumpguard"));
    cmd.args([
        "check",
        "-p",
        "examples/seed/policies",
        "--estate",
        "examples/seed/estate.json",
        "--as-of",
        AS_OF,
    ])
    .args(extra)
    .current_dir(root())
    .env_clear()
    .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// The JSON report of the same run, to compare the other formats with.
fn json_report(dir: &tempfile::TempDir) -> Value {
    let path = temp_file(dir, "report.json");
    let out = check_seed(
        &[
            "--format",
            "human",
            "--report",
            &format!("json={}", path.display()),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sarif_schema() -> Option<Value> {
    let path = root().join("../shared/reference/sarif-schema-2.1.0.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("the SARIF schema is JSON")),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the SARIF schema is missing at {} ({e}): CI must run with ../shared beside the clone",
                path.display()
            );
            eprintln!(
                "skipping the SARIF schema check: {} is missing",
                path.display()
            );
            None
        }
    }
}

#[test]
fn sarif_is_valid_and_has_what_code_scanning_needs() {
    let out = check_seed(&["--format", "sarif"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stderr(&out)));

    if let Some(schema) = sarif_schema() {
        let validator = jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the SARIF schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "the SARIF log breaks the schema:\n{}",
            errors.join("\n")
        );
        // The check has teeth: a wrong level or a `$schema` that is no URI is caught.
        let mut broken = log.clone();
        broken["runs"][0]["results"][0]["level"] = "fatal".into();
        assert!(!validator.is_valid(&broken));
        let mut broken = log.clone();
        broken["$schema"] = "not a uri".into();
        assert!(!validator.is_valid(&broken));
    }

    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().starts_with("https://"));
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "jumpguard");
    assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), Rule::ALL.len(), "every rule is described");
    for rule in rules {
        let sev: f64 = rule["properties"]["security-severity"]
            .as_str()
            .expect("security-severity is a string")
            .parse()
            .expect("security-severity is a number");
        assert!((0.0..=10.0).contains(&sev));
        assert!(!rule["help"]["markdown"].as_str().unwrap().is_empty());
    }

    let report = json_report(&tempfile::tempdir().unwrap());
    let findings = report["findings"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), findings.len(), "one result per finding");
    for (result, finding) in results.iter().zip(findings) {
        let rule_id = result["ruleId"].as_str().unwrap();
        assert_eq!(rule_id, finding["rule"]);
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], rule_id, "ruleIndex points at its rule");
        let physical = &result["locations"][0]["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
        // Draft-04 does not know the `uri-reference` format the schema asks for: check it here.
        assert!(
            uri.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~/%!$&'()*+,;=@".contains(&b)),
            "{uri} is not a relative reference"
        );
        assert!(
            root().join(uri).is_file(),
            "{uri} is not a file relative to the repository"
        );
        assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(physical["region"]["startLine"], finding["location"]["line"]);
        assert_eq!(
            result["partialFingerprints"]["jumpguardFingerprint/v1"],
            finding["fingerprint"]
        );
        assert!(!result["locations"][0]["logicalLocations"]
            .as_array()
            .unwrap()
            .is_empty());
        let waived = !finding["waiver"].is_null();
        assert_eq!(result.get("suppressions").is_some(), waived, "{rule_id}");
        assert!(
            result.get("baselineState").is_none(),
            "no baseline in this run"
        );
    }
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["ruleId"], "site-recordings-disabled");
    let suppression = &suppressed[0]["suppressions"][0];
    assert_eq!(suppression["kind"], "external");
    assert_eq!(suppression["status"], "accepted");
    assert!(suppression["justification"]
        .as_str()
        .unwrap()
        .contains("2027-03-31"));
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn junit_is_well_formed_and_its_counts_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "junit.xml");
    let out = check_seed(
        &[
            "--format",
            "json",
            "--report",
            &format!("junit={}", path.display()),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    let root = xml::parse(&text).unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{text}"));
    assert_eq!(root.name, "testsuites");

    let mut total = BTreeMap::new();
    for suite in &root.children {
        assert_eq!(suite.name, "testsuite");
        let mut counts =
            BTreeMap::from([("tests", 0), ("failures", 0), ("errors", 0), ("skipped", 0)]);
        for case in &suite.children {
            if case.name == "properties" {
                // The policy suite lists waivers and attestations with their expiry.
                assert!(case.children.iter().all(|p| p.name == "property"
                    && p.attr("value").contains("through")
                    || p.attr("value").contains("until")));
                continue;
            }
            assert_eq!(case.name, "testcase");
            assert_eq!(case.attr("classname"), suite.attr("name"));
            *counts.get_mut("tests").unwrap() += 1;
            let outcomes: Vec<&str> = case.children.iter().map(|c| c.name.as_str()).collect();
            assert!(
                outcomes.len() <= 1,
                "one outcome per testcase: {outcomes:?}"
            );
            match outcomes.first() {
                Some(&"failure") => *counts.get_mut("failures").unwrap() += 1,
                Some(&"skipped") => *counts.get_mut("skipped").unwrap() += 1,
                Some(&"error") => *counts.get_mut("errors").unwrap() += 1,
                None => {}
                Some(other) => panic!("unexpected <{other}>"),
            }
        }
        for (key, n) in counts {
            assert_eq!(
                suite.attr(key).parse::<usize>().unwrap(),
                n,
                "{key} of suite {}",
                suite.attr("name")
            );
            *total.entry(key).or_insert(0) += n;
        }
    }
    for (key, n) in total {
        assert_eq!(
            root.attr(key).parse::<usize>().unwrap(),
            n,
            "{key} of <testsuites>"
        );
    }

    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let suite_names: Vec<&str> = root.children.iter().map(|s| s.attr("name")).collect();
    for f in report["findings"].as_array().unwrap() {
        let suite = f["target"].as_str().unwrap_or("site");
        assert!(suite_names.contains(&suite), "no suite {suite}");
    }
    assert!(
        suite_names.contains(&"branch-print"),
        "a target without findings passes: {suite_names:?}"
    );
    assert_eq!(root.attr("skipped"), "1", "the waived finding is skipped");
    let skipped = root
        .children
        .iter()
        .flat_map(|s| &s.children)
        .flat_map(|c| &c.children)
        .find(|o| o.name == "skipped")
        .unwrap();
    assert!(skipped.attr("message").starts_with("waived: "));
}

#[test]
fn github_annotations_go_to_stderr_and_the_table_to_the_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = temp_file(&dir, "summary.md");
    std::fs::write(&summary, "# earlier step\n").unwrap();
    let out = check_seed(
        &["--format", "github"],
        &[("GITHUB_STEP_SUMMARY", summary.as_path())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "stdout stays clean");
    let err = stderr(&out);
    let commands: Vec<&str> = err.lines().filter(|l| l.starts_with("::")).collect();
    let count = |level: &str| {
        commands
            .iter()
            .filter(|l| l.starts_with(&format!("::{level} ")))
            .count()
    };
    // The seed has 21 critical or high findings and 8 medium ones.
    assert_eq!(count("error"), 10, "{err}");
    assert_eq!(count("warning"), 8, "{err}");
    let last = commands.last().unwrap();
    assert!(last.starts_with("::notice "), "{last}");
    assert!(last.contains("11 more findings"), "{last}");
    for c in &commands[..commands.len() - 1] {
        assert!(
            c.contains(" file=examples/seed/policies/") && c.contains(",line="),
            "{c}"
        );
        assert!(!c.contains('\n'));
    }

    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("# earlier step\n"),
        "the summary is appended"
    );
    assert!(md.contains("## jumpguard: ❌ violations"), "{md}");
    assert!(
        md.contains("| rule | severity | target | host | location |"),
        "{md}"
    );
    let rows = md
        .lines()
        .filter(|l| l.contains("| examples/seed/policies/"))
        .count();
    assert_eq!(rows, 29, "every finding that counts is a row:\n{md}");
}

/// A small XML 1.0 reader, enough to prove well-formedness of what jumpguard writes: elements,
/// attributes, character and entity references, comments, one declaration. A dependency would
/// buy nothing the tests need.
mod xml {
    /// An element with its attributes, child elements and text.
    pub struct Element {
        pub name: String,
        pub attrs: Vec<(String, String)>,
        pub children: Vec<Element>,
        pub text: String,
    }

    impl Element {
        pub fn attr(&self, name: &str) -> &str {
            self.attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("<{}> has no {name}", self.name))
        }
    }

    struct Reader<'a> {
        s: &'a str,
        pos: usize,
    }

    pub fn parse(s: &str) -> Result<Element, String> {
        if let Some(bad) = s.chars().find(|c| !valid_char(*c)) {
            return Err(format!(
                "character U+{:04X} is not allowed in XML",
                bad as u32
            ));
        }
        let mut r = Reader { s, pos: 0 };
        if r.rest().starts_with("<?xml") {
            let end = r.rest().find("?>").ok_or("unterminated declaration")?;
            r.pos += end + 2;
        }
        r.misc()?;
        let root = r.element()?;
        r.misc()?;
        if r.pos != s.len() {
            return Err(format!("content after the root element at byte {}", r.pos));
        }
        Ok(root)
    }

    fn valid_char(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    }

    impl<'a> Reader<'a> {
        fn rest(&self) -> &'a str {
            &self.s[self.pos..]
        }

        fn skip_ws(&mut self) {
            let trimmed = self.rest().trim_start_matches([' ', '\t', '\r', '\n']);
            self.pos = self.s.len() - trimmed.len();
        }

        /// Whitespace and comments.
        fn misc(&mut self) -> Result<(), String> {
            loop {
                self.skip_ws();
                if self.rest().starts_with("<!--") {
                    let end = self.rest().find("-->").ok_or("unterminated comment")?;
                    self.pos += end + 3;
                } else {
                    return Ok(());
                }
            }
        }

        fn name(&mut self) -> Result<String, String> {
            let rest = self.rest();
            let len = rest
                .char_indices()
                .find(|(i, c)| {
                    !(c.is_ascii_alphabetic()
                        || *c == '_'
                        || *c == ':'
                        || (*i > 0 && (c.is_ascii_digit() || *c == '-' || *c == '.')))
                })
                .map_or(rest.len(), |(i, _)| i);
            if len == 0 {
                return Err(format!("expected a name at byte {}", self.pos));
            }
            self.pos += len;
            Ok(rest[..len].to_string())
        }

        fn expect(&mut self, token: &str) -> Result<(), String> {
            if self.rest().starts_with(token) {
                self.pos += token.len();
                Ok(())
            } else {
                Err(format!("expected `{token}` at byte {}", self.pos))
            }
        }

        fn element(&mut self) -> Result<Element, String> {
            self.expect("<")?;
            let name = self.name()?;
            let mut el = Element {
                name,
                attrs: Vec::new(),
                children: Vec::new(),
                text: String::new(),
            };
            loop {
                let before = self.pos;
                self.skip_ws();
                if self.rest().starts_with("/>") {
                    self.pos += 2;
                    return Ok(el);
                }
                if self.rest().starts_with('>') {
                    self.pos += 1;
                    break;
                }
                if self.pos == before {
                    return Err(format!(
                        "expected whitespace before an attribute at byte {}",
                        self.pos
                    ));
                }
                let key = self.name()?;
                self.skip_ws();
                self.expect("=")?;
                self.skip_ws();
                let quote = self.rest().chars().next().ok_or("unexpected end")?;
                if quote != '"' && quote != '\'' {
                    return Err(format!("unquoted attribute {key}"));
                }
                self.pos += 1;
                let end = self.rest().find(quote).ok_or("unterminated attribute")?;
                let raw = &self.rest()[..end];
                if raw.contains('<') {
                    return Err(format!("`<` in the value of {key}"));
                }
                let value = unescape(raw)?;
                self.pos += end + 1;
                if el.attrs.iter().any(|(k, _)| *k == key) {
                    return Err(format!("duplicate attribute {key}"));
                }
                el.attrs.push((key, value));
            }
            loop {
                let end = self
                    .rest()
                    .find('<')
                    .ok_or_else(|| format!("<{}> is not closed", el.name))?;
                let raw = &self.rest()[..end];
                if raw.contains("]]>") {
                    return Err("`]]>` in text".into());
                }
                el.text.push_str(&unescape(raw)?);
                self.pos += end;
                if self.rest().starts_with("</") {
                    self.pos += 2;
                    let closing = self.name()?;
                    if closing != el.name {
                        return Err(format!("<{}> closed by </{closing}>", el.name));
                    }
                    self.skip_ws();
                    self.expect(">")?;
                    return Ok(el);
                } else if self.rest().starts_with("<!--") {
                    self.misc()?;
                } else {
                    el.children.push(self.element()?);
                }
            }
        }
    }

    fn unescape(raw: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            let end = rest[at..].find(';').ok_or("`&` without `;`")? + at;
            let entity = &rest[at + 1..end];
            let c = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = if let Some(hex) = entity.strip_prefix("#x") {
                        u32::from_str_radix(hex, 16)
                    } else if let Some(dec) = entity.strip_prefix('#') {
                        dec.parse()
                    } else {
                        return Err(format!("unknown entity &{entity};"));
                    }
                    .map_err(|_| format!("bad reference &{entity};"))?;
                    char::from_u32(code)
                        .filter(|c| valid_char(*c))
                        .ok_or_else(|| format!("&{entity}; is not an XML character"))?
                }
            };
            out.push(c);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    #[test]
    fn the_reader_rejects_what_parsers_reject() {
        assert!(parse("<a x=\"1\"><b/>t &amp; u</a>").is_ok());
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a x=\"<\"/>").is_err());
        assert!(parse("<a>&</a>").is_err());
        assert!(parse("<a>&nbsp;</a>").is_err());
        assert!(parse("<a x=\"1\" x=\"2\"/>").is_err());
        assert!(parse("<a>\u{1}</a>").is_err());
        assert!(parse("<a/><b/>").is_err());
    }
}
