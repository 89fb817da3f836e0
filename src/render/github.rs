//! GitHub Actions: workflow commands that annotate the policy files (`::error file=…::…`), and a
//! Markdown section for the job summary (`$GITHUB_STEP_SUMMARY`).
//!
//! GitHub shows at most 10 annotations of each level per step and drops the rest silently, so
//! each level is capped at 10 and one `::notice::` says how many more there are and where to find
//! them; the job summary lists every finding.

use std::fmt::Write as _;

use super::sarif::repository_path;
use super::Context;
use crate::analysis::{AttestationStatus, Finding, Report, Verdict, WaiverStatus};
use crate::estate::Completeness;
use crate::rules::Severity;

/// Annotations GitHub shows per level and step.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

/// Rows of the findings table in the job summary; GitHub accepts at most 1 MiB per step.
const SUMMARY_ROWS: usize = 1000;

/// The workflow command of a severity.
fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "notice",
    }
}

/// Escapes the message of a workflow command, as the runner unescapes it.
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a property value (`file=`, `title=`) of a workflow command.
pub fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

/// The annotations of the findings that count (neither waived nor in the baseline), most severe
/// first, at most 10 per level, then a notice with the number left out.
pub fn render(report: &Report, _ctx: &Context) -> String {
    let mut by_level: [Vec<&Finding>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut counting: Vec<&Finding> = report.unwaived().collect();
    counting.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in counting {
        let slot = match f.severity {
            Severity::Critical | Severity::High => 0,
            Severity::Medium | Severity::Low => 1,
            Severity::Info => 2,
        };
        by_level[slot].push(f);
    }
    let [errors, warnings, notices] = &by_level;
    // The count notice is a notice itself: when it is needed, it takes one of the ten places.
    let overflow = errors.len() > ANNOTATIONS_PER_LEVEL
        || warnings.len() > ANNOTATIONS_PER_LEVEL
        || notices.len() > ANNOTATIONS_PER_LEVEL;
    let caps = [
        ANNOTATIONS_PER_LEVEL,
        ANNOTATIONS_PER_LEVEL,
        if overflow {
            ANNOTATIONS_PER_LEVEL - 1
        } else {
            ANNOTATIONS_PER_LEVEL
        },
    ];
    let mut out = String::new();
    let mut left_out = [0usize; 3];
    for (i, findings) in by_level.iter().enumerate() {
        for f in findings.iter().take(caps[i]) {
            annotate(f, &mut out);
        }
        left_out[i] = findings.len().saturating_sub(caps[i]);
    }
    let total: usize = left_out.iter().sum();
    if total > 0 {
        let parts: Vec<String> = ["error", "warning", "notice"]
            .iter()
            .zip(left_out)
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{n} {name}{}", if n == 1 { "" } else { "s" }))
            .collect();
        let text = format!(
            "{total} more finding{} not annotated ({}): GitHub shows only {ANNOTATIONS_PER_LEVEL} annotations of each level per step. The job summary lists every finding; the SARIF or JSON report (--report sarif=FILE) has them all with their paths.",
            if total == 1 { " is" } else { "s are" },
            parts.join(", ")
        );
        let _ = writeln!(
            out,
            "::notice title={}::{}",
            escape_property("jumpguard: more findings"),
            escape_data(&text)
        );
    }
    out
}

/// One annotation: the policy file and line, the rule and target as title, the message and the
/// path of live objects as text.
fn annotate(f: &Finding, out: &mut String) {
    let title = match (&f.target, &f.host) {
        (Some(t), Some(h)) => format!("{} ({}): {t} {h}", f.rule, f.severity),
        (Some(t), None) => format!("{} ({}): {t}", f.rule, f.severity),
        (None, Some(h)) => format!("{} ({}): {h}", f.rule, f.severity),
        (None, None) => format!("{} ({})", f.rule, f.severity),
    };
    let mut message = f.message.clone();
    if !f.path.is_empty() {
        let path: Vec<String> = f
            .path
            .iter()
            .map(|e| match e.id {
                Some(id) => format!("{} {id} \"{}\"", e.kind, e.name),
                None => format!("{} \"{}\"", e.kind, e.name),
            })
            .collect();
        let _ = write!(message, "\nPath: {}", path.join(" → "));
    }
    let _ = write!(
        message,
        "\nRun `jumpguard explain {}` for how to fix it.",
        f.rule
    );
    let _ = writeln!(
        out,
        "::{} file={},line={},col={},title={}::{}",
        command(f.severity),
        escape_property(&repository_path(&f.location.file)),
        f.location.line,
        f.location.column,
        escape_property(&title),
        escape_data(&message)
    );
}

/// A Markdown table cell: pipes escaped, line breaks as `<br>`, markup characters as entities.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("&#92;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push_str("&#96;"),
            '\r' => {}
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

/// The Markdown section for `$GITHUB_STEP_SUMMARY`: verdict, counts by severity, every finding
/// that counts, the waived ones, and waivers and attestations that expire soon.
pub fn step_summary(report: &Report, _ctx: &Context) -> String {
    let mut out = String::new();
    let verdict = match report.verdict {
        Verdict::Compliant => "✅ compliant",
        Verdict::Violations => "❌ violations",
        Verdict::Incomplete => "⚠️ incomplete",
    };
    let s = &report.summary;
    let _ = writeln!(out, "## jumpguard: {verdict}\n");
    let _ = write!(
        out,
        "{} finding{} in {} target{} and {} access path{}, as of {}",
        s.findings,
        plural(s.findings),
        s.targets,
        plural(s.targets),
        s.paths,
        plural(s.paths),
        report.as_of
    );
    let mut aside = Vec::new();
    if s.waived > 0 {
        aside.push(format!("{} waived", s.waived));
    }
    if s.baseline > 0 {
        aside.push(format!("{} in the baseline", s.baseline));
    }
    if !aside.is_empty() {
        let _ = write!(out, "; not counted: {}", aside.join(", "));
    }
    out.push_str(".\n\n");
    for (name, source) in [
        ("PRA", &report.sources.pra),
        ("Password Safe", &report.sources.password_safe),
    ] {
        let what = match source.status {
            Completeness::Partial => "was read only in part",
            Completeness::Unavailable => "could not be read",
            Completeness::Complete | Completeness::NotConfigured => continue,
        };
        let reason = source
            .reason
            .as_deref()
            .map_or(String::new(), |r| format!(" ({})", r.replace('\n', " ")));
        let _ = writeln!(
            out,
            "> [!WARNING]\n> {name} {what}{reason}: findings may be missing.\n"
        );
    }

    out.push_str("| critical | high | medium | low | info |\n|---:|---:|---:|---:|---:|\n");
    let counts: Vec<String> = Severity::ALL
        .iter()
        .map(|sev| s.by_severity.get(*sev).to_string())
        .collect();
    let _ = writeln!(out, "| {} |\n", counts.join(" | "));

    let counting: Vec<&Finding> = report.unwaived().collect();
    if !counting.is_empty() {
        out.push_str("### Findings\n\n| rule | severity | target | host | location |\n|---|---|---|---|---|\n");
        for f in counting.iter().take(SUMMARY_ROWS) {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {}:{} |",
                f.rule,
                f.severity,
                f.target.as_deref().map_or("-".into(), cell),
                f.host.as_deref().map_or("-".into(), cell),
                cell(&repository_path(&f.location.file)),
                f.location.line
            );
        }
        if counting.len() > SUMMARY_ROWS {
            let _ = writeln!(
                out,
                "\n… and {} more; the SARIF or JSON report has them all.",
                counting.len() - SUMMARY_ROWS
            );
        }
        out.push('\n');
    }

    let waived: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.waiver.is_some())
        .collect();
    if !waived.is_empty() {
        out.push_str(
            "### Waived\n\n| rule | target | host | reason | until |\n|---|---|---|---|---|\n",
        );
        for f in waived.iter().take(SUMMARY_ROWS) {
            if let Some(w) = &f.waiver {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} |",
                    f.rule,
                    f.target.as_deref().map_or("-".into(), cell),
                    f.host.as_deref().map_or("-".into(), cell),
                    cell(&w.reason),
                    cell(&w.expires)
                );
            }
        }
        out.push('\n');
    }

    let mut expiring = Vec::new();
    for w in &report.waivers {
        if matches!(w.status, WaiverStatus::Expiring | WaiverStatus::Expired) {
            expiring.push(format!(
                "| waiver of `{}`{} | {} | {} | {}:{} |",
                w.rule,
                w.target
                    .as_deref()
                    .map_or(String::new(), |t| format!(" for {}", cell(t))),
                cell(&w.expires),
                when(w.days_left),
                cell(&repository_path(&w.location.file)),
                w.location.line
            ));
        }
    }
    for a in &report.attestations {
        if matches!(
            a.status,
            AttestationStatus::Expiring | AttestationStatus::Expired
        ) {
            expiring.push(format!(
                "| attestation of `{}` by {} | {} | {} | {}:{} |",
                cell(&a.setting),
                cell(&a.by),
                cell(&a.expires),
                when(a.days_left),
                cell(&repository_path(&a.location.file)),
                a.location.line
            ));
        }
    }
    if !expiring.is_empty() {
        out.push_str(
            "### Expiring soon\n\n| what | expires | when | location |\n|---|---|---|---|\n",
        );
        for row in expiring {
            out.push_str(&row);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn when(days_left: i64) -> String {
    match days_left {
        d if d < 0 => format!("expired {} day{} ago", -d, plural((-d) as usize)),
        0 => "last day today".into(),
        d => format!("in {d} day{}", plural(d as usize)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{
        Location, PathElement, ReportSources, Summary, Tool, WaiverInfo, WaiverRef,
    };
    use crate::estate::SourceStatus;
    use crate::policy::Sources;
    use crate::rules::Rule;

    fn finding(rule: Rule, severity: Severity, n: usize) -> Finding {
        Finding {
            rule,
            severity,
            target: Some("domain-controllers".into()),
            host: Some(format!("srv-dc{n:02}.corp.example")),
            message: format!("finding {n}"),
            path: vec![PathElement {
                kind: "jump_item".into(),
                item_type: Some("remote-rdp".into()),
                id: Some(100 + n as i64),
                name: format!("SRV-DC{n:02}"),
            }],
            location: Location {
                file: "./policies/windows.yaml".into(),
                line: 12,
                column: 5,
            },
            fingerprint: format!("fp{n}"),
            waiver: None,
            baseline: false,
        }
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
                password_safe: SourceStatus::complete(),
            },
            summary: Summary {
                targets: 2,
                paths: 9,
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

    fn with_ctx<T>(f: impl FnOnce(&Context) -> T) -> T {
        let sources = Sources::default();
        f(&Context {
            sources: &sources,
            color: false,
            previous: None,
        })
    }

    #[test]
    fn messages_and_properties_are_escaped_for_the_runner() {
        assert_eq!(
            escape_data("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext: a,b"
        );
        assert_eq!(
            escape_property("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext%3A a%2Cb"
        );
        let mut f = finding(Rule::ApprovalMissing, Severity::Critical, 1);
        f.message = "100% open: a, b\nsecond line".into();
        f.location.file = ".\\policies\\win,dows.yaml".into();
        let text = with_ctx(|ctx| render(&report(vec![f]), ctx));
        let line = text.lines().next().unwrap();
        assert!(
            line.starts_with("::error file=policies/win%2Cdows.yaml,line=12,col=5,title=approval-missing (critical)%3A domain-controllers srv-dc01.corp.example::100%25 open: a, b%0Asecond line%0APath: jump_item 101 \"SRV-DC01\""),
            "{line}"
        );
        assert_eq!(text.lines().count(), 1, "one finding, one line: {text}");
    }

    #[test]
    fn levels_follow_severity_and_waived_or_baseline_findings_are_silent() {
        let mut waived = finding(Rule::ReasonMissing, Severity::Medium, 2);
        waived.waiver = Some(WaiverRef {
            reason: "r".into(),
            expires: "2027-01-01".into(),
            owner: None,
            ticket: None,
            location: waived.location.clone(),
        });
        let mut known = finding(Rule::ReasonMissing, Severity::Medium, 3);
        known.baseline = true;
        let text = with_ctx(|ctx| {
            render(
                &report(vec![
                    finding(Rule::UnmanagedHost, Severity::Info, 4),
                    finding(Rule::TargetNotFound, Severity::Low, 5),
                    finding(Rule::SelfApproval, Severity::High, 6),
                    waived,
                    known,
                ]),
                ctx,
            )
        });
        let commands: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(commands, ["::error", "::warning", "::notice"]);
    }

    #[test]
    fn at_most_ten_per_level_then_one_notice_with_the_rest() {
        let mut findings: Vec<Finding> = (0..13)
            .map(|n| finding(Rule::ApprovalMissing, Severity::Critical, n))
            .collect();
        findings.extend((20..32).map(|n| finding(Rule::UnmanagedHost, Severity::Info, n)));
        findings.push(finding(Rule::ReasonMissing, Severity::Medium, 40));
        let text = with_ctx(|ctx| render(&report(findings), ctx));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("::error ")).count(),
            10
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("::warning ")).count(),
            1
        );
        // 12 info findings: 9 annotations, as the count notice takes the tenth place.
        let notices: Vec<&&str> = lines
            .iter()
            .filter(|l| l.starts_with("::notice "))
            .collect();
        assert_eq!(notices.len(), 10);
        let last = lines.last().unwrap();
        assert!(last.starts_with("::notice title=jumpguard%3A more findings::6 more findings are not annotated (3 errors, 3 notices)"), "{last}");
        assert!(last.contains("job summary"));
    }

    #[test]
    fn no_count_notice_when_everything_fits() {
        let findings: Vec<Finding> = (0..10)
            .map(|n| finding(Rule::UnmanagedHost, Severity::Info, n))
            .collect();
        let text = with_ctx(|ctx| render(&report(findings), ctx));
        assert_eq!(text.lines().count(), 10);
        assert!(!text.contains("more finding"));
    }

    #[test]
    fn the_step_summary_has_verdict_counts_table_and_expiring_waivers() {
        let mut f = finding(Rule::ApprovalMissing, Severity::Critical, 1);
        f.target = Some("a|b\nc".into());
        let mut r = report(vec![f, finding(Rule::ReasonMissing, Severity::Medium, 2)]);
        r.waivers.push(WaiverInfo {
            rule: Rule::ApprovalMissing,
            target: Some("dc".into()),
            host: None,
            reason: "r".into(),
            owner: None,
            ticket: None,
            expires: "2026-12-10".into(),
            days_left: 9,
            status: WaiverStatus::Expiring,
            covers: 0,
            location: Location {
                file: "policies/windows.yaml".into(),
                line: 40,
                column: 5,
            },
        });
        let md = with_ctx(|ctx| step_summary(&r, ctx));
        assert!(md.starts_with("## jumpguard: ❌ violations\n"), "{md}");
        assert!(md.contains("| 1 | 0 | 1 | 0 | 0 |"), "{md}");
        assert!(md.contains(
            "| `approval-missing` | critical | a\\|b<br>c | srv-dc01.corp.example | policies/windows.yaml:12 |"
        ), "{md}");
        assert!(md.contains("| waiver of `approval-missing` for dc | 2026-12-10 | in 9 days | policies/windows.yaml:40 |"), "{md}");
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\r\nc<d>&`"), "a\\|b<br>c&lt;d&gt;&amp;&#96;");
    }

    #[test]
    fn snapshot() {
        let mut waived = finding(Rule::ReasonMissing, Severity::Medium, 2);
        waived.waiver = Some(WaiverRef {
            reason: "moves with CHG1".into(),
            expires: "2027-01-31".into(),
            owner: None,
            ticket: None,
            location: waived.location.clone(),
        });
        let r = report(vec![
            finding(Rule::ApprovalMissing, Severity::Critical, 1),
            waived,
            finding(Rule::UnmanagedHost, Severity::Info, 3),
        ]);
        let (annotations, summary) = with_ctx(|ctx| (render(&r, ctx), step_summary(&r, ctx)));
        insta::assert_snapshot!(format!("{annotations}\n---- step summary ----\n{summary}"));
    }
}
