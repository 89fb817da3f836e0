//! SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.
//!
//! Choices a consumer relies on (a contract, like the JSON report):
//! - Every rule of the catalogue is in `tool.driver.rules`, whether it fired or not, so that code
//!   scanning can tell "ran and found nothing" (and close the alert) from "unknown rule".
//! - `level`: critical and high are `error`, medium and low `warning`, info `note`.
//! - `properties.security-severity` on each rule, on GitHub's 0–10 scale: critical 9.5, high 8.0,
//!   medium 5.5, low 3.0, info 1.0. GitHub has no band below "low", so info rules show as low there.
//! - `partialFingerprints["jumpguardFingerprint/v1"]` is the report's fingerprint (rule, target,
//!   host and the path's object ids), so alerts follow a finding across runs even when the policy
//!   file is edited above it.
//! - Locations are relative to the directory jumpguard ran in (`%SRCROOT%`): run it from the
//!   repository root, as GitHub resolves paths against the root of the checkout. Absolute paths
//!   become `file:` URIs.
//! - Waived findings stay in the log with an `external` suppression; findings known from a
//!   baseline carry `baselineState: unchanged` (the others `new`).
//! - At most [`MAX_RESULTS`] results, GitHub's limit per run (it rejects a larger upload): the
//!   findings that count come first, most severe first; a notification and
//!   `properties.resultsOmitted` say how many were left out.

use serde_json::{json, Map, Value};

use super::Context;
use crate::analysis::{AttestationStatus, Finding, Location, PathElement, Report, WaiverStatus};
use crate::estate::{Completeness, SourceStatus};
use crate::rules::{self, Rule, Severity};

/// The schema the log declares: the OASIS SARIF 2.1.0 schema (errata 01).
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of the fingerprint in `partialFingerprints`; the version changes if the fingerprint's
/// recipe does, so that code scanning does not match old alerts against new fingerprints.
pub const FINGERPRINT_KEY: &str = "jumpguardFingerprint/v1";

/// Results per run GitHub code scanning accepts (and shows only the 5,000 most severe of).
pub const MAX_RESULTS: usize = 25_000;

/// The SARIF `level` of a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "note",
    }
}

/// GitHub's `security-severity` of a severity (a number written as a string, 0.0 to 10.0).
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// Renders the report as a pretty-printed SARIF 2.1.0 log with a trailing newline.
pub fn render(report: &Report, _ctx: &Context) -> String {
    let mut s = serde_json::to_string_pretty(&log(report))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// The SARIF log as a JSON value.
pub fn log(report: &Report) -> Value {
    let baseline_used = report.findings.iter().any(|f| f.baseline);
    let kept = kept(report);
    let omitted = report.findings.len() - kept.len();
    let results: Vec<Value> = kept
        .into_iter()
        .map(|i| result(&report.findings[i], baseline_used))
        .collect();
    let mut properties = json!({
        "verdict": report.verdict,
        "asOf": report.as_of,
        "summary": report.summary,
        "waivers": report.waivers,
        "attestations": report.attestations,
    });
    if omitted > 0 {
        properties["resultsOmitted"] = json!(omitted);
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "jumpguard",
                    "semanticVersion": report.tool.version,
                    "version": report.tool.version,
                    "rules": Rule::ALL.iter().map(|r| descriptor(*r)).collect::<Vec<_>>(),
                }
            },
            "invocations": [invocation(report, omitted)],
            "originalUriBaseIds": {
                "%SRCROOT%": {
                    "description": {
                        "text": "The directory jumpguard ran in: the root of the policy repository."
                    }
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": properties,
        }],
    })
}

/// The positions of the findings the log holds, in report order: all of them, or the
/// [`MAX_RESULTS`] that matter most: those that count toward the verdict before waived and
/// baseline ones, and within each the report's order (most severe first).
pub fn kept(report: &Report) -> Vec<usize> {
    let n = report.findings.len();
    if n <= MAX_RESULTS {
        return (0..n).collect();
    }
    let counts = |i: &usize| {
        let f = &report.findings[*i];
        f.waiver.is_none() && !f.baseline
    };
    let (mut kept, rest): (Vec<usize>, Vec<usize>) = (0..n).partition(counts);
    kept.truncate(MAX_RESULTS);
    let room = MAX_RESULTS - kept.len();
    kept.extend(rest.into_iter().take(room));
    kept.sort_unstable();
    kept
}

/// The position of a rule in `tool.driver.rules` (catalogue order).
fn rule_index(rule: Rule) -> usize {
    Rule::ALL.iter().position(|r| *r == rule).unwrap_or(0)
}

/// The reporting descriptor of a rule.
fn descriptor(rule: Rule) -> Value {
    let explanation = rules::explanation(rule);
    json!({
        "id": rule.id(),
        "name": camel_case(rule.id()),
        "shortDescription": { "text": rule.summary() },
        "fullDescription": { "text": what_it_finds(explanation).unwrap_or_else(|| rule.summary().to_string()) },
        "help": { "text": explanation, "markdown": explanation },
        "defaultConfiguration": { "level": level(rule.severity()) },
        "properties": {
            "security-severity": security_severity(rule.severity()),
            "tags": ["security", area(rule)],
        },
    })
}

/// `approval-missing` → `ApprovalMissing`.
fn camel_case(id: &str) -> String {
    id.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

/// The first paragraph of the explanation's "What it finds", on one line.
fn what_it_finds(explanation: &str) -> Option<String> {
    let (_, rest) = explanation.split_once("## What it finds\n")?;
    let paragraph = rest.split("\n\n").next()?;
    let paragraph = paragraph.split("\n## ").next()?;
    let text = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// The part of the estate a rule is about, as a tag to filter alerts by.
fn area(rule: Rule) -> &'static str {
    match rule {
        Rule::PsApprovalMissing
        | Rule::PsIsaBypass
        | Rule::PsReasonMissing
        | Rule::PsTicketMissing
        | Rule::ExternalSearchBypass
        | Rule::CredentialNotFound => "password-safe",
        Rule::SiteSelfApproval
        | Rule::SiteRecordingsDisabled
        | Rule::SiteEditingRole
        | Rule::SitePersonalJumpItem => "site",
        Rule::WaiverExpired
        | Rule::WaiverUnused
        | Rule::AttestationExpired
        | Rule::UnverifiedSetting => "policy",
        _ => "pra",
    }
}

/// One result.
fn result(f: &Finding, baseline_used: bool) -> Value {
    let mut location = Map::new();
    location.insert("physicalLocation".into(), physical_location(&f.location));
    let logical = logical_locations(&f.path);
    if !logical.is_empty() {
        location.insert("logicalLocations".into(), Value::Array(logical));
    }
    let mut r = json!({
        "ruleId": f.rule.id(),
        "ruleIndex": rule_index(f.rule),
        "level": level(f.severity),
        "message": { "text": f.message },
        "locations": [location],
        "partialFingerprints": { FINGERPRINT_KEY: f.fingerprint },
        "properties": {
            "target": f.target,
            "host": f.host,
            "severity": f.severity,
        },
    });
    if let Some(w) = &f.waiver {
        let mut justification = format!("{} (waived until {}", w.reason, w.expires);
        if let Some(owner) = &w.owner {
            justification.push_str(&format!("; owner {owner}"));
        }
        if let Some(ticket) = &w.ticket {
            justification.push_str(&format!("; ticket {ticket}"));
        }
        justification.push(')');
        r["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": justification,
            "location": { "physicalLocation": physical_location(&w.location) },
        }]);
    }
    if baseline_used {
        r["baselineState"] = json!(if f.baseline { "unchanged" } else { "new" });
    }
    r
}

/// A place in the policy repository.
fn physical_location(l: &Location) -> Value {
    json!({
        "artifactLocation": artifact_location(&l.file),
        "region": { "startLine": l.line.max(1), "startColumn": l.column.max(1) },
    })
}

/// A policy file's path as the repository knows it: `./` stripped, backslashes as slashes.
/// GitHub Actions annotations and GitLab's JUnit `file` use the same form.
pub(crate) fn repository_path(file: &str) -> String {
    let slashed = file.replace('\\', "/");
    let mut path = slashed.as_str();
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    path.to_string()
}

/// The artifact location of a policy file: relative to `%SRCROOT%`, or a `file:` URI when the
/// path is absolute (GitHub's upload action makes those relative to the checkout).
fn artifact_location(file: &str) -> Value {
    let path = repository_path(file);
    let bytes = path.as_bytes();
    let windows_drive = bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":/";
    if path.starts_with('/') {
        json!({ "uri": format!("file://{}", encode_path(&path, true)) })
    } else if windows_drive {
        json!({ "uri": format!("file:///{}", encode_path(&path, true)) })
    } else {
        // A colon is escaped in relative references so that `a:b.yaml` is not read as a scheme.
        json!({ "uri": encode_path(&path, false), "uriBaseId": "%SRCROOT%" })
    }
}

/// Percent-encodes what RFC 3986 does not allow in a path (spaces, `%`, `#`, `?`, non-ASCII).
fn encode_path(path: &str, keep_colon: bool) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let plain = b.is_ascii_alphanumeric()
            || b"-._~/!$&'()*+,;=@".contains(&b)
            || (keep_colon && b == b':');
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The live objects of the path, each once (SARIF wants them distinct).
fn logical_locations(path: &[PathElement]) -> Vec<Value> {
    let mut seen: Vec<&PathElement> = Vec::new();
    let mut out = Vec::new();
    for e in path {
        if seen.contains(&e) {
            continue;
        }
        seen.push(e);
        out.push(json!({
            "name": e.name,
            "kind": e.kind,
            "fullyQualifiedName": qualified_name(e),
        }));
    }
    out
}

/// `jump_item/remote-rdp/118`, `jump_group/7`, or `jump_policy/(none)` for objects without an id.
fn qualified_name(e: &PathElement) -> String {
    let mut parts = vec![e.kind.clone()];
    parts.extend(e.item_type.clone());
    parts.push(e.id.map_or_else(|| e.name.clone(), |id| id.to_string()));
    parts.join("/")
}

/// The invocation: always successful (findings are results, not failures of the tool), with
/// notifications for expiring waivers and attestations and for sources not read in full.
fn invocation(report: &Report, omitted: usize) -> Value {
    let mut configuration = Vec::new();
    for w in &report.waivers {
        let scope = match (&w.target, &w.host) {
            (Some(t), Some(h)) => format!(" for `{t}` ({h})"),
            (Some(t), None) => format!(" for `{t}`"),
            (None, Some(h)) => format!(" for {h}"),
            (None, None) => String::new(),
        };
        let (text, rule) = match w.status {
            WaiverStatus::Expiring => (
                format!(
                    "The waiver of `{}`{scope} expires on {} ({}).",
                    w.rule,
                    w.expires,
                    days(w.days_left)
                ),
                None,
            ),
            WaiverStatus::Expired => (
                format!(
                    "The waiver of `{}`{scope} expired on {}: it covers nothing any more.",
                    w.rule, w.expires
                ),
                Some(Rule::WaiverExpired),
            ),
            WaiverStatus::Active | WaiverStatus::Ignored => continue,
        };
        configuration.push(notification(text, &w.location, rule));
    }
    for a in &report.attestations {
        let (text, rule) = match a.status {
            AttestationStatus::Expiring => (
                format!(
                    "The attestation of `{}` by {} expires on {} ({}).",
                    a.setting,
                    a.by,
                    a.expires,
                    days(a.days_left)
                ),
                None,
            ),
            AttestationStatus::Expired => (
                format!(
                    "The attestation of `{}` by {} expired on {}.",
                    a.setting, a.by, a.expires
                ),
                Some(Rule::AttestationExpired),
            ),
            AttestationStatus::Valid => continue,
        };
        configuration.push(notification(text, &a.location, rule));
    }
    let mut execution = Vec::new();
    for (name, source) in [
        ("PRA", &report.sources.pra),
        ("Password Safe", &report.sources.password_safe),
    ] {
        if let Some(n) = source_notification(name, source) {
            execution.push(n);
        }
    }
    if omitted > 0 {
        execution.push(json!({
            "level": "warning",
            "message": {
                "text": format!(
                    "{omitted} of {} findings are not in this log: GitHub code scanning accepts at most {MAX_RESULTS} results per run. The findings that count toward the verdict come first, most severe first; the JSON report has every finding.",
                    report.findings.len()
                )
            },
        }));
    }
    let mut inv = json!({ "executionSuccessful": true });
    if !configuration.is_empty() {
        inv["toolConfigurationNotifications"] = Value::Array(configuration);
    }
    if !execution.is_empty() {
        inv["toolExecutionNotifications"] = Value::Array(execution);
    }
    inv
}

fn days(n: i64) -> String {
    format!("{n} day{} left", if n == 1 { "" } else { "s" })
}

fn notification(text: String, location: &Location, rule: Option<Rule>) -> Value {
    let mut n = json!({
        "level": "warning",
        "message": { "text": text },
        "locations": [{ "physicalLocation": physical_location(location) }],
    });
    if let Some(rule) = rule {
        n["associatedRule"] = json!({ "id": rule.id(), "index": rule_index(rule) });
    }
    n
}

/// A source that was not read in full makes the run incomplete; say so where viewers look.
fn source_notification(name: &str, source: &SourceStatus) -> Option<Value> {
    let (level, what) = match source.status {
        Completeness::Complete | Completeness::NotConfigured => return None,
        Completeness::Partial => ("warning", "was read only in part"),
        Completeness::Unavailable => ("error", "could not be read"),
    };
    let reason = source
        .reason
        .as_deref()
        .map_or(String::new(), |r| format!(" ({r})"));
    Some(json!({
        "level": level,
        "message": {
            "text": format!("{name} {what}{reason}: the evaluation is incomplete, and findings may be missing.")
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{
        AttestationInfo, BySeverity, ReportSources, Summary, Tool, Verdict, WaiverInfo, WaiverRef,
    };
    use crate::policy::Sources;

    fn loc(file: &str, line: u32) -> Location {
        Location {
            file: file.into(),
            line,
            column: 5,
        }
    }

    fn finding(rule: Rule, target: Option<&str>, host: Option<&str>) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            target: target.map(String::from),
            host: host.map(String::from),
            message: format!("{rule} on {}", host.unwrap_or("the site")),
            path: vec![
                PathElement {
                    kind: "jump_item".into(),
                    item_type: Some("remote-rdp".into()),
                    id: Some(118),
                    name: "SRV-DC01 (copy)".into(),
                },
                PathElement {
                    kind: "jump_group".into(),
                    item_type: None,
                    id: Some(7),
                    name: "Legacy Windows".into(),
                },
                PathElement {
                    kind: "jump_policy".into(),
                    item_type: None,
                    id: None,
                    name: "(none)".into(),
                },
            ],
            location: loc("./policies\\windows.yaml", 12),
            fingerprint: format!("fp-{rule}-{}", host.unwrap_or("-")),
            waiver: None,
            baseline: false,
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        let mut r = Report {
            format_version: 1,
            tool: Tool {
                name: "jumpguard".into(),
                version: "1.2.3".into(),
            },
            as_of: "2026-12-01".into(),
            verdict: Verdict::Compliant,
            sources: ReportSources {
                pra: SourceStatus::complete(),
                password_safe: SourceStatus::complete(),
            },
            summary: Summary {
                targets: 1,
                paths: 3,
                by_severity: BySeverity::default(),
                ..Summary::default()
            },
            findings,
            targets: Vec::new(),
            waivers: Vec::new(),
            attestations: Vec::new(),
        };
        r.recompute(Severity::Low);
        r
    }

    fn render_log(report: &Report) -> Value {
        let sources = Sources::default();
        let ctx = Context {
            sources: &sources,
            color: false,
            previous: None,
        };
        serde_json::from_str(&render(report, &ctx)).expect("the SARIF log is JSON")
    }

    #[test]
    fn every_rule_is_described_with_github_severity() {
        let log = render_log(&report(Vec::new()));
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), Rule::ALL.len());
        let approval = &rules[rule_index(Rule::ApprovalMissing)];
        assert_eq!(approval["id"], "approval-missing");
        assert_eq!(approval["name"], "ApprovalMissing");
        assert_eq!(approval["defaultConfiguration"]["level"], "error");
        assert_eq!(approval["properties"]["security-severity"], "9.5");
        assert!(approval["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("security")));
        assert!(approval["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("## How to fix"));
        assert!(approval["fullDescription"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Access path 1"));
        let unmanaged = &rules[rule_index(Rule::UnmanagedHost)];
        assert_eq!(unmanaged["defaultConfiguration"]["level"], "note");
        assert_eq!(run["tool"]["driver"]["version"], "1.2.3");
        assert_eq!(run["results"], json!([]));
        assert_eq!(log["version"], "2.1.0");
    }

    #[test]
    fn a_result_points_into_the_repository_and_carries_its_fingerprint() {
        let log = render_log(&report(vec![finding(
            Rule::TicketIdMissing,
            Some("dc"),
            Some("srv-dc01.corp.example"),
        )]));
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], "ticket-id-missing");
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"]
                [result["ruleIndex"].as_u64().unwrap() as usize]["id"],
            "ticket-id-missing"
        );
        assert_eq!(result["level"], "warning");
        let physical = &result["locations"][0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uri"], "policies/windows.yaml");
        assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(physical["region"]["startLine"], 12);
        assert_eq!(physical["region"]["startColumn"], 5);
        assert_eq!(
            result["partialFingerprints"][FINGERPRINT_KEY],
            "fp-ticket-id-missing-srv-dc01.corp.example"
        );
        let logical = result["locations"][0]["logicalLocations"]
            .as_array()
            .unwrap();
        assert_eq!(logical[0]["fullyQualifiedName"], "jump_item/remote-rdp/118");
        assert_eq!(logical[1]["fullyQualifiedName"], "jump_group/7");
        assert_eq!(logical[2]["fullyQualifiedName"], "jump_policy/(none)");
        assert_eq!(result["properties"]["target"], "dc");
        assert_eq!(result["properties"]["severity"], "medium");
        assert!(result.get("suppressions").is_none());
        assert!(result.get("baselineState").is_none());
    }

    #[test]
    fn a_log_holds_at_most_githubs_limit_and_keeps_what_counts() {
        // Waived findings first in the report, so that keeping the report's order alone would
        // fill the log with them.
        let mut findings = Vec::new();
        for i in 0..100 {
            let mut f = finding(Rule::SiteRecordingsDisabled, None, Some(&format!("w{i}")));
            f.waiver = Some(WaiverRef {
                reason: "lab".into(),
                expires: "2027-03-31".into(),
                owner: None,
                ticket: None,
                location: loc("policies/site.yaml", 37),
            });
            findings.push(f);
        }
        for i in 0..MAX_RESULTS + 10 {
            findings.push(finding(
                Rule::ApprovalMissing,
                Some("dc"),
                Some(&format!("h{i}")),
            ));
        }
        let log = render_log(&report(findings));
        let run = &log["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), MAX_RESULTS);
        assert!(results.iter().all(|r| r.get("suppressions").is_none()));
        assert_eq!(run["properties"]["resultsOmitted"], 110);
        let note = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap();
        assert!(
            note.starts_with("110 of 25110 findings are not in this log"),
            "{note}"
        );

        // Under the limit, everything is kept and nothing is said.
        let log = render_log(&report(vec![finding(Rule::ApprovalMissing, None, None)]));
        assert!(log["runs"][0]["properties"].get("resultsOmitted").is_none());
        assert!(log["runs"][0]["invocations"][0]
            .get("toolExecutionNotifications")
            .is_none());
    }

    #[test]
    fn a_waived_finding_is_an_accepted_external_suppression() {
        let mut f = finding(Rule::SiteRecordingsDisabled, None, None);
        f.waiver = Some(WaiverRef {
            reason: "Print sessions carry no privileged data".into(),
            expires: "2027-03-31".into(),
            owner: Some("pam-team@corp.example".into()),
            ticket: Some("CHG0031207".into()),
            location: loc("policies/site.yaml", 37),
        });
        let log = render_log(&report(vec![f]));
        let suppression = &log["runs"][0]["results"][0]["suppressions"][0];
        assert_eq!(suppression["kind"], "external");
        assert_eq!(suppression["status"], "accepted");
        let justification = suppression["justification"].as_str().unwrap();
        assert!(justification.contains("Print sessions carry no privileged data"));
        assert!(justification.contains("2027-03-31"));
        assert_eq!(
            suppression["location"]["physicalLocation"]["region"]["startLine"],
            37
        );
    }

    #[test]
    fn baseline_state_appears_only_when_a_baseline_was_used() {
        let mut known = finding(Rule::ApprovalMissing, Some("dc"), Some("a"));
        known.baseline = true;
        let fresh = finding(Rule::ApprovalMissing, Some("dc"), Some("b"));
        let log = render_log(&report(vec![known, fresh]));
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results[0]["baselineState"], "unchanged");
        assert_eq!(results[1]["baselineState"], "new");
    }

    #[test]
    fn expiring_waivers_expired_attestations_and_partial_sources_are_notifications() {
        let mut r = report(Vec::new());
        r.waivers.push(WaiverInfo {
            rule: Rule::ApprovalMissing,
            target: Some("dc".into()),
            host: None,
            reason: "migration".into(),
            owner: None,
            ticket: None,
            expires: "2026-12-10".into(),
            days_left: 9,
            status: WaiverStatus::Expiring,
            covers: 1,
            location: loc("policies/windows.yaml", 40),
        });
        r.attestations.push(AttestationInfo {
            setting: "pra.ticket_system_configured".into(),
            value: true,
            by: "jane.doe@corp.example".into(),
            attested_on: "2025-11-01".into(),
            expires: "2026-11-01".into(),
            days_left: -30,
            status: AttestationStatus::Expired,
            location: loc("policies/site.yaml", 22),
        });
        r.sources.pra = SourceStatus {
            status: Completeness::Partial,
            reason: Some("GET /jump-item/shell-jump returned 500".into()),
        };
        let log = render_log(&r);
        let invocation = &log["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], true);
        let config = invocation["toolConfigurationNotifications"]
            .as_array()
            .unwrap();
        assert_eq!(config.len(), 2);
        assert_eq!(config[0]["level"], "warning");
        assert!(config[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("expires on 2026-12-10 (9 days left)"));
        assert_eq!(
            config[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            40
        );
        assert_eq!(config[1]["associatedRule"]["id"], "attestation-expired");
        let execution = invocation["toolExecutionNotifications"].as_array().unwrap();
        assert!(execution[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("PRA was read only in part (GET /jump-item/shell-jump returned 500)"));
    }

    #[test]
    fn paths_become_uris_viewers_resolve() {
        assert_eq!(artifact_location("./././a/b.yaml")["uri"], "a/b.yaml");
        assert_eq!(
            artifact_location("policies\\prod env\\x#1.yaml")["uri"],
            "policies/prod%20env/x%231.yaml"
        );
        assert_eq!(artifact_location("a:b.yaml")["uri"], "a%3Ab.yaml");
        let abs = artifact_location("/repo/policies/p.yaml");
        assert_eq!(abs["uri"], "file:///repo/policies/p.yaml");
        assert!(abs.get("uriBaseId").is_none());
        assert_eq!(
            artifact_location("C:\\repo\\p.yaml")["uri"],
            "file:///C:/repo/p.yaml"
        );
        assert_eq!(artifact_location("é.yaml")["uri"], "%C3%A9.yaml");
    }

    #[test]
    fn levels_and_names_follow_the_catalogue() {
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Low), "warning");
        assert_eq!(camel_case("site-self-approval"), "SiteSelfApproval");
        for rule in Rule::ALL {
            assert!(
                what_it_finds(rules::explanation(*rule)).is_some(),
                "{rule}: docs/rules has no 'What it finds' paragraph"
            );
        }
    }

    #[test]
    fn snapshot_of_results_and_invocation() {
        let mut waived = finding(Rule::SiteRecordingsDisabled, None, None);
        waived.waiver = Some(WaiverRef {
            reason: "Print sessions carry no privileged data".into(),
            expires: "2027-03-31".into(),
            owner: None,
            ticket: Some("CHG0031207".into()),
            location: loc("policies/site.yaml", 37),
        });
        let mut known = finding(
            Rule::ApprovalMissing,
            Some("dc"),
            Some("srv-dc01.corp.example"),
        );
        known.baseline = true;
        let mut r = report(vec![known, waived]);
        r.sources.password_safe = SourceStatus {
            status: Completeness::Unavailable,
            reason: Some("401 from SignAppin".into()),
        };
        r.recompute(Severity::Low);
        let log = render_log(&r);
        insta::assert_json_snapshot!(json!({
            "results": log["runs"][0]["results"],
            "invocations": log["runs"][0]["invocations"],
            "properties": log["runs"][0]["properties"],
        }));
    }
}
