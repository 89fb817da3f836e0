//! JUnit XML, for the test reports of GitLab merge requests and Jenkins.
//!
//! One `<testsuite>` per target (and `site` for findings that concern no target), one
//! `<testcase>` per check: a rule on a host of the target, named `rule host`. A check fails when
//! a finding of it counts; it is skipped when all its findings are waived or in the baseline.
//! A target with no finding passes one testcase, `all checks`. A source that could not be read in
//! full is an `<error>` in the suite `sources`, so that an incomplete run never looks green.
//!
//! A testcase has at most one `<failure>`: GitLab reads a repeated element as a list and Jenkins
//! shows only the first, so several findings of one check are listed in its one body.

use std::fmt::Write as _;

use super::sarif::repository_path;
use super::Context;
use crate::analysis::{Finding, PathElement, Report};
use crate::estate::{Completeness, SourceStatus};
use crate::rules::Rule;

/// The name of the suite of findings with no target.
const SITE: &str = "site";
/// The name of the suite of the sources' completeness.
const SOURCES: &str = "sources";

/// Renders the report as JUnit XML.
pub fn render(report: &Report, _ctx: &Context) -> String {
    let suites = suites(report);
    let total = suites
        .iter()
        .fold(Counts::default(), |acc, s| acc + s.counts());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"jumpguard\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\">",
        total.tests, total.failures, total.errors, total.skipped
    );
    for suite in &suites {
        suite.write(&mut out);
    }
    policy_properties(report, &mut out);
    out.push_str("</testsuites>\n");
    out
}

/// Waivers and attestations with their expiry, as the properties of a suite without tests:
/// every format shows them (issue 6), and JUnit's place for facts is `<properties>`.
fn policy_properties(report: &Report, out: &mut String) {
    if report.waivers.is_empty() && report.attestations.is_empty() {
        return;
    }
    out.push_str("  <testsuite name=\"policy\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0\">\n    <properties>\n");
    for w in &report.waivers {
        let name = format!(
            "waiver {} {} {}",
            w.rule,
            w.target.as_deref().unwrap_or("*"),
            w.host.as_deref().unwrap_or("*")
        );
        let status = serde_json::to_value(w.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let value = format!(
            "{status} until {} ({} days left), covers {}: {}",
            w.expires, w.days_left, w.covers, w.reason
        );
        let _ = writeln!(
            out,
            "      <property name=\"{}\" value=\"{}\"/>",
            attr(&name),
            attr(&value)
        );
    }
    for a in &report.attestations {
        let status = serde_json::to_value(a.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let value = format!(
            "{} by {} on {}, {status} through {} ({} days left)",
            a.value, a.by, a.attested_on, a.expires, a.days_left
        );
        let _ = writeln!(
            out,
            "      <property name=\"attestation {}\" value=\"{}\"/>",
            attr(&a.setting),
            attr(&value)
        );
    }
    out.push_str("    </properties>\n  </testsuite>\n");
}

#[derive(Clone, Copy, Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, o: Counts) -> Counts {
        Counts {
            tests: self.tests + o.tests,
            failures: self.failures + o.failures,
            errors: self.errors + o.errors,
            skipped: self.skipped + o.skipped,
        }
    }
}

/// What one testcase says.
enum Outcome {
    Passed,
    Failed {
        message: String,
        kind: String,
        body: String,
    },
    Skipped {
        message: String,
    },
    Error {
        message: String,
    },
}

struct Case {
    name: String,
    file: Option<String>,
    outcome: Outcome,
}

struct Suite {
    name: String,
    cases: Vec<Case>,
}

impl Suite {
    fn counts(&self) -> Counts {
        let mut c = Counts {
            tests: self.cases.len(),
            ..Counts::default()
        };
        for case in &self.cases {
            match case.outcome {
                Outcome::Passed => {}
                Outcome::Failed { .. } => c.failures += 1,
                Outcome::Skipped { .. } => c.skipped += 1,
                Outcome::Error { .. } => c.errors += 1,
            }
        }
        c
    }

    fn write(&self, out: &mut String) {
        let c = self.counts();
        let name = attr(&self.name);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\">",
            c.tests, c.failures, c.errors, c.skipped
        );
        for case in &self.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{name}\" name=\"{}\"",
                attr(&case.name)
            );
            if let Some(file) = &case.file {
                let _ = write!(out, " file=\"{}\"", attr(file));
            }
            out.push_str(" time=\"0\"");
            match &case.outcome {
                Outcome::Passed => out.push_str("/>\n"),
                Outcome::Failed {
                    message,
                    kind,
                    body,
                } => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        attr(message),
                        attr(kind),
                        text(body)
                    );
                }
                Outcome::Skipped { message } => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        attr(message)
                    );
                }
                Outcome::Error { message } => {
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{m}\" type=\"incomplete\">{b}</error>\n    </testcase>",
                        m = attr(message),
                        b = text(message)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
}

/// The suites: declared targets in policy order, then targets known only from findings, then
/// `site`, then `sources`.
fn suites(report: &Report) -> Vec<Suite> {
    // (target key, display name, checks in order of first finding)
    let mut groups: Vec<(Option<String>, String, Vec<Check>)> = report
        .targets
        .iter()
        .map(|t| (Some(t.name.to_lowercase()), t.name.clone(), Vec::new()))
        .collect();
    let mut site: Vec<Check> = Vec::new();
    for f in &report.findings {
        let checks = match &f.target {
            Some(t) => {
                let key = t.to_lowercase();
                let i = match groups.iter().position(|g| g.0.as_deref() == Some(&key)) {
                    Some(i) => i,
                    None => {
                        groups.push((Some(key), t.clone(), Vec::new()));
                        groups.len() - 1
                    }
                };
                &mut groups[i].2
            }
            None => &mut site,
        };
        match checks
            .iter_mut()
            .find(|c| c.rule == f.rule && c.host == f.host)
        {
            Some(c) => c.findings.push(f),
            None => checks.push(Check {
                rule: f.rule,
                host: f.host.clone(),
                findings: vec![f],
            }),
        }
    }
    let mut suites: Vec<Suite> = groups
        .into_iter()
        .map(|(_, name, checks)| {
            let cases = if checks.is_empty() {
                vec![Case {
                    name: "all checks".into(),
                    file: None,
                    outcome: Outcome::Passed,
                }]
            } else {
                checks.iter().map(Check::case).collect()
            };
            Suite { name, cases }
        })
        .collect();
    if !site.is_empty() {
        suites.push(Suite {
            name: SITE.into(),
            cases: site.iter().map(Check::case).collect(),
        });
    }
    let source_cases: Vec<Case> = [
        ("PRA", &report.sources.pra),
        ("Password Safe", &report.sources.password_safe),
    ]
    .into_iter()
    .filter_map(|(name, s)| source_case(name, s))
    .collect();
    if !source_cases.is_empty() {
        suites.push(Suite {
            name: SOURCES.into(),
            cases: source_cases,
        });
    }
    suites
}

/// A rule on one host of one target, and its findings.
struct Check<'a> {
    rule: Rule,
    host: Option<String>,
    findings: Vec<&'a Finding>,
}

impl Check<'_> {
    fn case(&self) -> Case {
        let name = format!("{} {}", self.rule, self.host.as_deref().unwrap_or("-"));
        let file = self
            .findings
            .first()
            .map(|f| repository_path(&f.location.file));
        let failing: Vec<&Finding> = self
            .findings
            .iter()
            .copied()
            .filter(|f| f.counts())
            .collect();
        let outcome = if let Some(first) = failing.first() {
            let message = if failing.len() == 1 {
                first.message.clone()
            } else {
                format!("{} findings; the first: {}", failing.len(), first.message)
            };
            let mut body = String::new();
            for f in &self.findings {
                describe(f, &mut body);
            }
            let _ = writeln!(body, "explain: jumpguard explain {}", self.rule);
            Outcome::Failed {
                message,
                kind: self.rule.id().into(),
                body,
            }
        } else {
            let mut reasons: Vec<String> = Vec::new();
            for f in &self.findings {
                let reason = not_counted(f);
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
            Outcome::Skipped {
                message: reasons.join("; "),
            }
        };
        Case {
            name,
            file,
            outcome,
        }
    }
}

/// Why a finding does not count: `waived: reason (until date)` or `in baseline`.
fn not_counted(f: &Finding) -> String {
    match &f.waiver {
        Some(w) => format!("waived: {} (until {})", w.reason, w.expires),
        None => "in baseline".into(),
    }
}

/// A finding in a failure body: severity, message, location, path, fingerprint.
fn describe(f: &Finding, out: &mut String) {
    let status = if f.counts() {
        f.severity.to_string()
    } else {
        format!("{}, {}", f.severity, not_counted(f))
    };
    let _ = writeln!(out, "[{status}] {}", f.message);
    let _ = writeln!(
        out,
        "  at {}:{}:{}",
        repository_path(&f.location.file),
        f.location.line,
        f.location.column
    );
    if !f.path.is_empty() {
        let path: Vec<String> = f.path.iter().map(element).collect();
        let _ = writeln!(out, "  path: {}", path.join(" → "));
    }
    let _ = writeln!(out, "  fingerprint: {}", f.fingerprint);
}

/// `jump_item remote-rdp 118 "SRV-DC01 (copy)"`.
fn element(e: &PathElement) -> String {
    let mut s = e.kind.clone();
    if let Some(t) = &e.item_type {
        s.push(' ');
        s.push_str(t);
    }
    if let Some(id) = e.id {
        let _ = write!(s, " {id}");
    }
    let _ = write!(s, " \"{}\"", e.name);
    s
}

fn source_case(name: &str, s: &SourceStatus) -> Option<Case> {
    let outcome = match s.status {
        Completeness::NotConfigured => return None,
        Completeness::Complete => Outcome::Passed,
        Completeness::Partial | Completeness::Unavailable => {
            let what = if s.status == Completeness::Partial {
                "read only in part"
            } else {
                "could not be read"
            };
            let reason = s
                .reason
                .as_deref()
                .map_or(String::new(), |r| format!(": {r}"));
            Outcome::Error {
                message: format!("{name} {what}{reason}; findings may be missing"),
            }
        }
    };
    Some(Case {
        name: format!("{name} read in full"),
        file: None,
        outcome,
    })
}

/// Drops what XML 1.0 cannot hold at all (most control characters, U+FFFE, U+FFFF).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes an attribute value; line breaks and tabs as character references, because a parser
/// would otherwise turn them into spaces.
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| xml_char(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes element text.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| xml_char(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Location, ReportSources, Summary, TargetInfo, Tool, Verdict, WaiverRef};
    use crate::rules::Severity;

    fn finding(rule: Rule, target: Option<&str>, host: Option<&str>, message: &str) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            target: target.map(String::from),
            host: host.map(String::from),
            message: message.into(),
            path: vec![PathElement {
                kind: "jump_item".into(),
                item_type: Some("shell-jump".into()),
                id: Some(58),
                name: "db01 quick".into(),
            }],
            location: Location {
                file: "./policies/linux.yaml".into(),
                line: 27,
                column: 11,
            },
            fingerprint: format!("fp-{rule}-{message}"),
            waiver: None,
            baseline: false,
        }
    }

    fn waived(mut f: Finding, reason: &str) -> Finding {
        f.waiver = Some(WaiverRef {
            reason: reason.into(),
            expires: "2027-03-31".into(),
            owner: None,
            ticket: None,
            location: Location {
                file: "policies/site.yaml".into(),
                line: 37,
                column: 11,
            },
        });
        f
    }

    fn report(findings: Vec<Finding>) -> Report {
        let mut r = Report {
            format_version: 1,
            tool: Tool {
                name: "jumpguard".into(),
                version: "0.1.0".into(),
            },
            as_of: "2026-12-01".into(),
            verdict: Verdict::Compliant,
            sources: ReportSources {
                pra: SourceStatus::complete(),
                password_safe: SourceStatus {
                    status: Completeness::NotConfigured,
                    reason: None,
                },
            },
            summary: Summary::default(),
            findings,
            targets: Vec::new(),
            waivers: Vec::new(),
            attestations: Vec::new(),
        };
        r.recompute(Severity::Low);
        r
    }

    /// The declared targets of a report, by name.
    fn targets(names: &[&str]) -> Vec<TargetInfo> {
        names
            .iter()
            .map(|n| TargetInfo {
                name: n.to_string(),
                approval: true,
                comment: false,
                ticket_id: false,
                location: Location {
                    file: "policies/main.yaml".into(),
                    line: 1,
                    column: 1,
                },
            })
            .collect()
    }

    fn render_with(report: &Report, names: &[&str]) -> String {
        let mut report = report.clone();
        report.targets = targets(names);
        let sources = crate::policy::Sources::default();
        render(
            &report,
            &Context {
                sources: &sources,
                color: false,
                previous: None,
            },
        )
    }

    /// The value of `name="…"` in the first tag that starts with `tag`.
    fn attribute<'a>(xml: &'a str, tag: &str, name: &str) -> &'a str {
        let start = xml.find(tag).unwrap_or_else(|| panic!("no {tag} in {xml}"));
        let rest = &xml[start..];
        let rest = &rest[..rest.find('>').unwrap()];
        let key = format!(" {name}=\"");
        let at = rest
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} in {rest}"))
            + key.len();
        &rest[at..at + rest[at..].find('"').unwrap()]
    }

    #[test]
    fn counts_add_up_and_each_check_is_one_testcase() {
        let r = report(vec![
            finding(
                Rule::ApprovalMissing,
                Some("linux-prod"),
                Some("lnx-db01"),
                "one",
            ),
            finding(
                Rule::ApprovalMissing,
                Some("linux-prod"),
                Some("lnx-db01"),
                "two",
            ),
            finding(
                Rule::ReasonMissing,
                Some("linux-prod"),
                Some("lnx-db01"),
                "three",
            ),
            waived(
                finding(Rule::SiteRecordingsDisabled, None, None, "four"),
                "print only",
            ),
        ]);
        let xml = render_with(&r, &["linux-prod", "quiet"]);
        assert_eq!(attribute(&xml, "<testsuites", "tests"), "5");
        assert_eq!(attribute(&xml, "<testsuites", "failures"), "2");
        assert_eq!(attribute(&xml, "<testsuites", "skipped"), "1");
        assert_eq!(attribute(&xml, "<testsuites", "errors"), "0");
        assert_eq!(xml.matches("<testcase ").count(), 5);
        assert_eq!(xml.matches("<failure ").count(), 2);
        assert!(xml.contains(
            "<testcase classname=\"linux-prod\" name=\"approval-missing lnx-db01\" file=\"policies/linux.yaml\""
        ));
        assert!(xml.contains("message=\"2 findings; the first: one\" type=\"approval-missing\""));
        assert!(xml.contains("  at policies/linux.yaml:27:11\n"));
        assert!(xml.contains("path: jump_item shell-jump 58 &quot;db01 quick&quot;"));
        assert!(xml.contains("<testcase classname=\"quiet\" name=\"all checks\" time=\"0\"/>"));
        assert!(xml.contains("<testcase classname=\"site\" name=\"site-recordings-disabled -\""));
        assert!(xml.contains("<skipped message=\"waived: print only (until 2027-03-31)\"/>"));
        assert!(xml.contains("<testcase classname=\"sources\" name=\"PRA read in full\""));
    }

    #[test]
    fn suite_counts_match_their_testcases() {
        let r = report(vec![
            finding(Rule::ApprovalMissing, Some("a"), Some("h1"), "x"),
            waived(
                finding(Rule::ApprovalMissing, Some("a"), Some("h2"), "y"),
                "r",
            ),
        ]);
        let xml = render_with(&r, &[]);
        let suite = &xml[xml.find("<testsuite name=\"a\"").unwrap()..];
        assert_eq!(attribute(suite, "<testsuite", "tests"), "2");
        assert_eq!(attribute(suite, "<testsuite", "failures"), "1");
        assert_eq!(attribute(suite, "<testsuite", "skipped"), "1");
    }

    #[test]
    fn baseline_findings_are_skipped_and_a_mixed_check_fails() {
        let mut known = finding(Rule::ApprovalMissing, Some("a"), Some("h"), "known");
        known.baseline = true;
        let mut only_known = finding(Rule::ReasonMissing, Some("a"), Some("h"), "old");
        only_known.baseline = true;
        let fresh = finding(Rule::ApprovalMissing, Some("a"), Some("h"), "fresh");
        let xml = render_with(&report(vec![known, only_known, fresh]), &[]);
        assert!(xml.contains("<skipped message=\"in baseline\"/>"));
        assert!(xml.contains("message=\"fresh\""));
        assert!(xml.contains("[critical, in baseline] known"));
        assert_eq!(attribute(&xml, "<testsuites", "failures"), "1");
        assert_eq!(attribute(&xml, "<testsuites", "skipped"), "1");
    }

    #[test]
    fn markup_in_names_and_messages_is_escaped() {
        let evil = "<script>alert('x')</script> & \"more\"\u{1}\u{FFFF}\nline two";
        let r = report(vec![finding(
            Rule::ApprovalMissing,
            Some("t<&>"),
            Some("h\"'"),
            evil,
        )]);
        let xml = render_with(&r, &[]);
        assert!(!xml.contains("<script>"));
        assert!(xml.contains(
            "message=\"&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;more&quot;&#10;line two\""
        ));
        assert!(xml.contains(
            "[critical] &lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;more&quot;\nline two"
        ));
        assert!(xml.contains("<testsuite name=\"t&lt;&amp;&gt;\""));
        assert!(xml.contains("name=\"approval-missing h&quot;&apos;\""));
        assert!(!xml.contains('\u{1}'));
        assert!(!xml.contains('\u{FFFF}'));
    }

    #[test]
    fn an_incomplete_source_is_an_error_not_a_green_run() {
        let mut r = report(Vec::new());
        r.sources.pra = SourceStatus {
            status: Completeness::Unavailable,
            reason: Some("401 from /oauth2/token".into()),
        };
        let xml = render_with(&r, &["dc"]);
        assert_eq!(attribute(&xml, "<testsuites", "errors"), "1");
        assert_eq!(attribute(&xml, "<testsuites", "tests"), "2");
        assert!(xml.contains(
            "<error message=\"PRA could not be read: 401 from /oauth2/token; findings may be missing\""
        ));
    }

    #[test]
    fn snapshot() {
        let r = report(vec![
            finding(
                Rule::ApprovalMissing,
                Some("linux-prod"),
                Some("lnx-db01"),
                "no approval",
            ),
            finding(
                Rule::ApprovalMissing,
                Some("linux-prod"),
                Some("lnx-db01"),
                "no approval either",
            ),
            waived(
                finding(Rule::SiteRecordingsDisabled, None, None, "recordings off"),
                "print only",
            ),
        ]);
        let xml = render_with(&r, &["linux-prod", "quiet"]);
        insta::assert_snapshot!(xml);
    }
}
