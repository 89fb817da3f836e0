//! The Markdown report, for pull request and merge request comments: the verdict first, then counts,
//! what changed since the previous report, findings by target in tables, and the waivers and
//! attestations with their expiry. Long lists and the findings that do not count are folded into
//! `<details>`.
//!
//! A comment holds at most [`MAX_CHARS`] characters on GitHub (a larger one is refused): rows of
//! findings that would not fit are left out, with a line saying how many, while the headline,
//! the waivers and the attestations are always there.
//!
//! Every string from the estate or the policy goes through [`escape`]: a jump item named `a|b` or
//! `<script>alert(1)</script>` can neither break a table nor inject HTML. Only the renderer's own
//! words and rule ids are written as they are.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::changes::changes;
use super::Context;
use crate::analysis::{AttestationStatus, Finding, Location, Report, WaiverInfo, WaiverStatus};
use crate::estate::{Completeness, SourceStatus};
use crate::rules::Severity;

/// Rows shown of a table before the rest is folded into `<details>`.
const FOLD_AFTER: usize = 10;

/// The most characters a GitHub pull request comment may have.
pub const MAX_CHARS: usize = 65_536;

/// Room kept for the line about rows left out and for closing a `<details>`.
const NOTE_ROOM: usize = 400;

/// Renders the report as GitHub-flavoured Markdown of at most [`MAX_CHARS`] characters.
pub fn render(report: &Report, ctx: &Context) -> String {
    render_within(report, ctx, MAX_CHARS).0
}

/// Renders the report in at most `limit` bytes (so as many characters or fewer), and says how
/// many rows of findings were left out to fit.
pub fn render_within(report: &Report, ctx: &Context, limit: usize) -> (String, usize) {
    // The end of the report is written first, to know how much room the findings have.
    let mut tail = String::new();
    waivers(&mut tail, &report.waivers);
    attestations(&mut tail, report);
    let _ = writeln!(
        tail,
        "\n<sub>{} {} · expiries judged as of {}</sub>",
        escape(&report.tool.name),
        escape(&report.tool.version),
        escape(&report.as_of)
    );
    let compose = |most_severe_first: bool| {
        let mut out = String::new();
        headline(&mut out, report);
        let mut budget = Budget {
            limit: limit.saturating_sub(tail.len() + NOTE_ROOM),
            omitted: 0,
        };
        if let Some(previous) = ctx.previous {
            since_previous(&mut out, report, previous, &mut budget);
        }
        findings_by_target(&mut out, report, &mut budget, most_severe_first);
        not_counted(&mut out, report, &mut budget);
        (out, budget)
    };
    // Targets in name order; when not all fits, the targets with the most severe findings first,
    // so that what is left out is the least severe.
    let (mut out, budget) = match compose(false) {
        (_, budget) if budget.omitted > 0 => compose(true),
        whole => whole,
    };
    if budget.omitted > 0 {
        let _ = writeln!(
            out,
            "\n> **{} not shown:** a comment holds {MAX_CHARS} characters. The JSON, SARIF and HTML reports have every finding.",
            plural(budget.omitted, "row of findings", "rows of findings"),
        );
    }
    out.push_str(&tail);
    (out, budget.omitted)
}

/// The room left for rows of findings, and how many were left out for want of it.
struct Budget {
    limit: usize,
    omitted: usize,
}

impl Budget {
    /// For the sections that are always written whole (waivers, attestations).
    fn unlimited() -> Budget {
        Budget {
            limit: usize::MAX,
            omitted: 0,
        }
    }

    /// Whether `extra` more bytes fit after `out`.
    fn fits(&self, out: &str, extra: usize) -> bool {
        out.len() + extra <= self.limit
    }
}

/// Escapes a string from the estate or the policy for use anywhere in the report: in a table cell,
/// a heading or running text.
///
/// - `&`, `<`, `>` become entities, so no HTML can be injected and no entity smuggled in;
/// - Markdown punctuation (`\ | * _ [ ] ` ~ # $`) is backslash-escaped, so a value cannot split a
///   table row, open a code span, emphasis, a link or math, or close a heading;
/// - line breaks and other control characters become spaces, so a value stays in its table row;
/// - an `@` that would start a mention gets a zero-width space after it, so a jump item named
///   `@org/admins` does not notify anyone.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut previous: Option<char> = None;
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '~' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            // An `@` after a letter or digit is an e-mail address, which mentions nobody.
            '@' if !previous.is_some_and(|p| p.is_alphanumeric()) => out.push_str("@&#8203;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
        previous = Some(c);
    }
    out
}

fn source(name: &str, s: &SourceStatus) -> String {
    let mut text = format!("{name} {}", s.status.name());
    if let Some(reason) = s.reason.as_deref().filter(|r| !r.is_empty()) {
        let _ = write!(text, " ({})", escape(reason));
    }
    text
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn headline(out: &mut String, report: &Report) {
    let s = &report.summary;
    let _ = writeln!(
        out,
        "## jumpguard: {} ({})\n",
        report.verdict.status_word(),
        report.verdict.name()
    );
    let _ = writeln!(
        out,
        "{} count toward the verdict; {} waived, {} known from the baseline. \
         {}, {} checked.\n",
        plural(s.findings, "finding", "findings"),
        s.waived,
        s.baseline,
        plural(s.targets, "target", "targets"),
        plural(s.paths, "access path", "access paths"),
    );
    out.push_str("| critical | high | medium | low | info | waived | baseline |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|\n");
    for sev in Severity::ALL {
        let _ = write!(out, "| {} ", s.by_severity.get(sev));
    }
    let _ = writeln!(out, "| {} | {} |\n", s.waived, s.baseline);
    let _ = writeln!(
        out,
        "**Sources:** {} · {}",
        source("PRA", &report.sources.pra),
        source("Password Safe", &report.sources.password_safe)
    );
    let degraded = [&report.sources.pra, &report.sources.password_safe]
        .iter()
        .any(|s| matches!(s.status, Completeness::Partial | Completeness::Unavailable));
    if degraded {
        out.push_str(
            "\n**Not every source could be read in full: the findings may be incomplete.**\n",
        );
    }
}

/// A table with a header; rows after [`FOLD_AFTER`] go into a `<details>` with the same header.
/// Rows that do not fit the budget are left out (and counted); a table with no row that fits
/// is not written at all.
fn table(out: &mut String, header: &[&str], rows: &[String], more: &str, budget: &mut Budget) {
    let head = |out: &mut String| {
        out.push('\n');
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    };
    let head_len = header.iter().map(|h| h.len() + 7).sum::<usize>() + 2;
    if rows
        .first()
        .is_none_or(|r| !budget.fits(out, head_len + r.len()))
    {
        budget.omitted += rows.len();
        return;
    }
    head(out);
    let shown = fitting(out, &rows[..rows.len().min(FOLD_AFTER)], budget);
    if shown < FOLD_AFTER.min(rows.len()) {
        budget.omitted += rows.len() - shown;
        return;
    }
    if rows.len() > FOLD_AFTER {
        let rest = &rows[FOLD_AFTER..];
        let summary = format!("\n<details><summary>{} more {more}</summary>\n", rest.len());
        if !budget.fits(out, summary.len() + head_len + rest[0].len()) {
            budget.omitted += rest.len();
            return;
        }
        out.push_str(&summary);
        head(out);
        let shown = fitting(out, rest, budget);
        budget.omitted += rest.len() - shown;
        out.push_str("\n</details>\n");
    }
}

/// Writes the rows that fit the budget, in order, and says how many that was.
fn fitting(out: &mut String, rows: &[String], budget: &Budget) -> usize {
    for (i, row) in rows.iter().enumerate() {
        if !budget.fits(out, row.len()) {
            return i;
        }
        out.push_str(row);
    }
    rows.len()
}

/// A whole table folded into a `<details>` whose summary is the renderer's own words.
fn folded(out: &mut String, summary: &str, header: &[&str], rows: &[String], budget: &mut Budget) {
    let open = format!(
        "\n<details><summary>{summary}</summary>\n\n| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    if rows
        .first()
        .is_none_or(|r| !budget.fits(out, open.len() + r.len()))
    {
        budget.omitted += rows.len();
        return;
    }
    out.push_str(&open);
    let shown = fitting(out, rows, budget);
    budget.omitted += rows.len() - shown;
    out.push_str("\n</details>\n");
}

fn opt(s: Option<&str>) -> String {
    s.map_or_else(|| "–".to_string(), escape)
}

fn location(l: &Location) -> String {
    escape(&format!("{}:{}", l.file, l.line))
}

/// A finding as a row: rule, severity, host, message, location (and target when asked).
fn row(f: &Finding, with_target: bool) -> String {
    let mut cells = vec![format!("`{}`", f.rule.id()), f.severity.to_string()];
    if with_target {
        cells.push(opt(f.target.as_deref()));
    }
    cells.push(opt(f.host.as_deref()));
    cells.push(escape(&f.message));
    cells.push(location(&f.location));
    format!("| {} |\n", cells.join(" | "))
}

const FINDING_HEADER: [&str; 5] = ["Rule", "Severity", "Host", "Message", "Location"];
const FINDING_HEADER_WITH_TARGET: [&str; 6] =
    ["Rule", "Severity", "Target", "Host", "Message", "Location"];

fn since_previous(out: &mut String, report: &Report, previous: &Report, budget: &mut Budget) {
    let c = changes(report, previous);
    let _ = writeln!(
        out,
        "\n### Since the previous report\n\nCompared with the report as of {} (verdict {}): \
         {} new, {} fixed{}.",
        escape(&previous.as_of),
        previous.verdict.name(),
        c.new.len(),
        c.fixed.len(),
        if c.excused.is_empty() {
            String::new()
        } else {
            format!(", {} waived or baselined since", c.excused.len())
        }
    );
    for (title, list) in [
        ("New since the previous report", &c.new),
        ("Fixed since the previous report", &c.fixed),
        ("Waived or baselined since the previous report", &c.excused),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n**{title} ({}):**", list.len());
        let rows: Vec<String> = list.iter().map(|f| row(f, true)).collect();
        table(out, &FINDING_HEADER_WITH_TARGET, &rows, "findings", budget);
    }
}

/// Counted findings grouped by target, targets in name order, site-wide findings last.
fn findings_by_target(
    out: &mut String,
    report: &Report,
    budget: &mut Budget,
    most_severe_first: bool,
) {
    // Targets in name order, site-wide last.
    let mut by_target: BTreeMap<(bool, Option<&str>), Vec<&Finding>> = BTreeMap::new();
    for f in report.unwaived() {
        let key = f.target.as_deref();
        by_target.entry((key.is_none(), key)).or_default().push(f);
    }
    let mut groups: Vec<(Option<&str>, Vec<&Finding>)> =
        by_target.into_iter().map(|((_, k), v)| (k, v)).collect();
    if most_severe_first {
        groups.sort_by_key(|(_, v)| std::cmp::Reverse(v.iter().map(|f| f.severity).max()));
    }
    if groups.is_empty() {
        out.push_str("\nNo finding counts toward the verdict.\n");
        return;
    }
    out.push_str("\n### Findings by target\n");
    for (target, findings) in &groups {
        let count = plural(findings.len(), "finding", "findings");
        let heading = match target {
            Some(t) => format!("\n#### Target {} ({count})\n", escape(t)),
            None => format!("\n#### Site-wide ({count})\n"),
        };
        // A heading only with at least one of its rows: the first row decides.
        let first = row(findings[0], false);
        if !budget.fits(out, heading.len() + first.len() + 200) {
            budget.omitted += findings.len();
            continue;
        }
        out.push_str(&heading);
        let rows: Vec<String> = findings.iter().map(|f| row(f, false)).collect();
        table(out, &FINDING_HEADER, &rows, "findings", budget);
    }
}

/// Waived and baseline findings, folded: they do not count, but a reviewer may want to see them.
fn not_counted(out: &mut String, report: &Report, budget: &mut Budget) {
    let waived: Vec<String> = report
        .findings
        .iter()
        .filter_map(|f| {
            let w = f.waiver.as_ref()?;
            Some(format!(
                "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
                f.rule.id(),
                f.severity,
                opt(f.target.as_deref()),
                opt(f.host.as_deref()),
                escape(&f.message),
                escape(&w.reason),
                escape(&w.expires),
                location(&w.location)
            ))
        })
        .collect();
    if !waived.is_empty() {
        folded(
            out,
            &format!("Waived findings ({})", waived.len()),
            &[
                "Rule",
                "Severity",
                "Target",
                "Host",
                "Message",
                "Waiver",
                "Expires",
                "Waiver at",
            ],
            &waived,
            budget,
        );
    }
    let baseline: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.baseline && f.waiver.is_none())
        .map(|f| row(f, true))
        .collect();
    if !baseline.is_empty() {
        folded(
            out,
            &format!("Known from the baseline ({})", baseline.len()),
            &FINDING_HEADER_WITH_TARGET,
            &baseline,
            budget,
        );
    }
}

/// "in 12 days", "today", "3 days ago".
fn days(days_left: i64) -> String {
    match days_left {
        0 => "last day today".to_string(),
        d if d > 0 => format!("{} left", plural(d.unsigned_abs() as usize, "day", "days")),
        d => format!("{} ago", plural(d.unsigned_abs() as usize, "day", "days")),
    }
}

fn waiver_status(w: &WaiverInfo) -> String {
    match w.status {
        WaiverStatus::Active => format!("active, {}", days(w.days_left)),
        WaiverStatus::Expiring => format!("**EXPIRING**, {}", days(w.days_left)),
        WaiverStatus::Expired => format!("**EXPIRED**, {}", days(w.days_left)),
        WaiverStatus::Ignored => "ignored (`--no-waivers`)".to_string(),
    }
}

fn waivers(out: &mut String, waivers: &[WaiverInfo]) {
    if waivers.is_empty() {
        return;
    }
    out.push_str("\n### Waivers\n");
    let expiring = waivers
        .iter()
        .filter(|w| w.status == WaiverStatus::Expiring)
        .count();
    let expired = waivers
        .iter()
        .filter(|w| w.status == WaiverStatus::Expired)
        .count();
    if expiring + expired > 0 {
        let _ = writeln!(
            out,
            "\n**Attention:** {} expiring within {} days, {} expired.",
            plural(expiring, "waiver", "waivers"),
            crate::analysis::EXPIRY_WARNING_DAYS,
            expired
        );
    }
    let rows: Vec<String> = waivers
        .iter()
        .map(|w| {
            format!(
                "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                w.rule.id(),
                opt(w.target.as_deref()),
                opt(w.host.as_deref()),
                escape(&w.reason),
                opt(w.owner.as_deref()),
                opt(w.ticket.as_deref()),
                escape(&w.expires),
                waiver_status(w),
                w.covers,
                location(&w.location)
            )
        })
        .collect();
    table(
        out,
        &[
            "Rule", "Target", "Host", "Reason", "Owner", "Ticket", "Expires", "Status", "Covers",
            "Location",
        ],
        &rows,
        "waivers",
        &mut Budget::unlimited(),
    );
}

fn attestations(out: &mut String, report: &Report) {
    let list = &report.attestations;
    if list.is_empty() {
        return;
    }
    out.push_str("\n### Attestations\n");
    let expiring = list
        .iter()
        .filter(|a| a.status == AttestationStatus::Expiring)
        .count();
    let expired = list
        .iter()
        .filter(|a| a.status == AttestationStatus::Expired)
        .count();
    if expiring + expired > 0 {
        let _ = writeln!(
            out,
            "\n**Attention:** {} expiring within {} days, {} expired.",
            plural(expiring, "attestation", "attestations"),
            crate::analysis::EXPIRY_WARNING_DAYS,
            expired
        );
    }
    let rows: Vec<String> = list
        .iter()
        .map(|a| {
            let status = match a.status {
                AttestationStatus::Valid => format!("valid, {}", days(a.days_left)),
                AttestationStatus::Expiring => format!("**EXPIRING**, {}", days(a.days_left)),
                AttestationStatus::Expired => format!("**EXPIRED**, {}", days(a.days_left)),
            };
            format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                escape(&a.setting),
                a.value,
                escape(&a.by),
                escape(&a.attested_on),
                escape(&a.expires),
                status,
                location(&a.location)
            )
        })
        .collect();
    table(
        out,
        &[
            "Setting",
            "Value",
            "By",
            "Attested on",
            "Expires",
            "Status",
            "Location",
        ],
        &rows,
        "attestations",
        &mut Budget::unlimited(),
    );
}

#[cfg(test)]
mod tests {
    use super::super::changes::sample::{finding, mixed, report};
    use super::*;
    use crate::policy::Sources;
    use crate::rules::Rule;

    fn render_plain(report: &Report) -> String {
        let sources = Sources::default();
        render(
            report,
            &Context {
                sources: &sources,
                color: false,
                previous: None,
            },
        )
    }

    /// The table rows of a rendered report (lines starting with `|`).
    fn rows(md: &str) -> Vec<&str> {
        md.lines().filter(|l| l.starts_with('|')).collect()
    }

    /// The cells of a table row, splitting on unescaped pipes as GitHub does.
    fn cells(row: &str) -> Vec<String> {
        let mut cells = vec![String::new()];
        let mut chars = row.trim().trim_matches('|').chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let last = cells.last_mut().expect("one cell at least");
                    last.push(c);
                    if let Some(n) = chars.next() {
                        last.push(n);
                    }
                }
                '|' => cells.push(String::new()),
                c => cells.last_mut().expect("one cell at least").push(c),
            }
        }
        cells.into_iter().map(|c| c.trim().to_string()).collect()
    }

    #[test]
    fn escape_neutralizes_tables_code_html_and_mentions() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape("`x` *y* _z_ [l](u)"),
            "\\`x\\` \\*y\\* \\_z\\_ \\[l\\](u)"
        );
        assert_eq!(escape("a\nb\r\nc"), "a b  c");
        assert_eq!(escape("&lt;"), "&amp;lt;");
        assert_eq!(escape("back\\slash # $x$"), "back\\\\slash \\# \\$x\\$");
        assert_eq!(escape("@org/admins"), "@&#8203;org/admins");
        assert_eq!(escape("pam-team@corp.example"), "pam-team@corp.example");
    }

    #[test]
    fn headline_has_the_verdict_a_status_word_and_the_counts() {
        let md = render_plain(&mixed());
        let first = md.lines().next().unwrap();
        assert_eq!(first, "## jumpguard: FAIL (violations)");
        assert!(md.contains("4 findings count toward the verdict; 1 waived"));
        // critical, high, medium, low, info, waived, baseline
        assert!(md.contains("| 1 | 1 | 2 | 0 | 0 | 1 | 0 |"), "{md}");
        assert!(md.contains("**Sources:** PRA complete · Password Safe not configured"));

        let clean = render_plain(&report(Vec::new()));
        assert!(clean.starts_with("## jumpguard: PASS (compliant)\n"));
        assert!(clean.contains("No finding counts toward the verdict."));
    }

    #[test]
    fn hostile_names_cannot_break_a_row_or_inject_html() {
        let mut f = finding(
            Rule::ApprovalMissing,
            Some("t|x"),
            Some("a|b.corp.example"),
            "<script>alert(1)</script>",
        );
        f.message = "line one\nline | two `code` <img src=x onerror=alert(1)>".into();
        let md = render_plain(&report(vec![f]));
        assert!(!md.contains("<script"), "{md}");
        assert!(!md.contains("<img"), "{md}");
        let row = rows(&md)
            .into_iter()
            .find(|r| r.contains("approval-missing"))
            .expect("a row for the finding");
        assert_eq!(cells(row).len(), FINDING_HEADER.len(), "{row}");
        assert!(row.contains("a\\|b.corp.example"));
        assert!(md.contains("#### Target t\\|x (1 finding)"));
    }

    #[test]
    fn findings_are_grouped_by_target_with_site_wide_last() {
        let md = render_plain(&mixed());
        let dc = md
            .find("#### Target domain-controllers (2 findings)")
            .unwrap();
        let sql = md.find("#### Target sql-servers (1 finding)").unwrap();
        let site = md.find("#### Site-wide (1 finding)").unwrap();
        assert!(dc < sql && sql < site);
        assert!(md.contains(
            "| `approval-missing` | critical | srv-dc01.corp.example | SRV-DC01 (copy) reaches \
             srv-dc01.corp.example | policies/windows.yaml:12 |"
        ));
    }

    #[test]
    fn a_report_too_long_for_a_comment_leaves_rows_out_and_says_so() {
        let long = "x".repeat(300);
        let findings = (0..2000)
            .map(|i| {
                finding(
                    Rule::ReasonMissing,
                    Some(&format!("target-{:03}", i % 150)),
                    Some(&format!("h{i}.corp.example")),
                    &format!("item {i} {long}"),
                )
            })
            .collect::<Vec<_>>();
        // One critical finding, of the target last by name: it is kept all the same.
        let mut findings = findings;
        findings.push(finding(
            Rule::ExternalSearchBypass,
            Some("zzz-last"),
            Some("dc01.corp.example"),
            "the ECM gap",
        ));
        let mut r = report(findings);
        r.waivers = mixed().waivers;
        assert!(!r.waivers.is_empty());
        let sources = Sources::default();
        let ctx = Context {
            sources: &sources,
            color: false,
            previous: None,
        };
        let (md, omitted) = render_within(&r, &ctx, MAX_CHARS);
        assert!(
            md.chars().count() <= MAX_CHARS,
            "{} characters",
            md.chars().count()
        );
        assert!(omitted > 0 && omitted < 2000, "{omitted} left out");
        let shown = rows(&md)
            .iter()
            .filter(|l| l.contains("`reason-missing`"))
            .count();
        assert_eq!(shown + omitted, 2000);
        let ecm = md
            .find("#### Target zzz-last")
            .expect("the critical finding's target");
        assert!(ecm < md.find("#### Target target-000").unwrap());
        assert!(md.contains(&format!("**{omitted} rows of findings not shown:**")));
        // Still whole: every fold closed, every row ends its cells, waivers and footer there.
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count()
        );
        assert!(rows(&md).iter().all(|l| l.ends_with('|')));
        assert!(md.contains("### Waivers"));
        assert!(md.trim_end().ends_with("</sub>"));
        assert_eq!(render_plain(&r), md);

        // A report that fits is written whole.
        let (small, none) = render_within(&mixed(), &ctx, MAX_CHARS);
        assert_eq!(none, 0);
        assert!(!small.contains("not shown"));
    }

    #[test]
    fn long_tables_fold_the_rest_into_details() {
        let findings = (0..13)
            .map(|i| {
                finding(
                    Rule::ReasonMissing,
                    Some("big"),
                    Some(&format!("h{i}.corp.example")),
                    &format!("item {i}"),
                )
            })
            .collect();
        let md = render_plain(&report(findings));
        let (open, folded) = md
            .split_once("<details><summary>3 more findings</summary>")
            .unwrap();
        assert_eq!(
            rows(open)
                .iter()
                .filter(|r| r.contains("`reason-missing`"))
                .count(),
            10
        );
        assert_eq!(
            rows(folded)
                .iter()
                .filter(|r| r.contains("`reason-missing`"))
                .count(),
            3
        );
        assert!(folded.contains("</details>"));
    }

    #[test]
    fn waived_findings_are_folded_and_expiries_flagged() {
        let md = render_plain(&mixed());
        assert!(md.contains("<details><summary>Waived findings (1)</summary>"));
        assert!(md.contains("storage upgrade pending"));
        assert!(md.contains("**Attention:** 1 waiver expiring within 14 days, 0 expired."));
        assert!(md.contains("**EXPIRING**, 9 days left"));
        assert!(md.contains("**Attention:** 0 attestations expiring within 14 days, 1 expired."));
        assert!(md.contains("**EXPIRED**, 1 day ago"));
        // The waived finding is not among the counted ones.
        let counted = md.split("<details>").next().unwrap();
        assert!(!counted.contains("site-recordings-disabled"));
    }

    #[test]
    fn previous_report_gives_new_and_fixed_by_fingerprint() {
        let before = report(vec![
            finding(Rule::ApprovalMissing, Some("t"), Some("a"), "A"),
            finding(Rule::ReasonMissing, Some("t"), Some("b"), "B"),
        ]);
        let now = report(vec![
            finding(Rule::ApprovalMissing, Some("t"), Some("a"), "A"),
            finding(Rule::TicketIdMissing, Some("t"), Some("c"), "C"),
        ]);
        let sources = Sources::default();
        let md = render(
            &now,
            &Context {
                sources: &sources,
                color: false,
                previous: Some(&before),
            },
        );
        assert!(md.contains("1 new, 1 fixed."), "{md}");
        let new = md
            .split("**New since the previous report (1):**")
            .nth(1)
            .unwrap();
        let new = new.split("**Fixed").next().unwrap();
        assert!(new.contains("`ticket-id-missing`") && !new.contains("`approval-missing`"));
        let fixed = md
            .split("**Fixed since the previous report (1):**")
            .nth(1)
            .unwrap();
        assert!(fixed
            .split("###")
            .next()
            .unwrap()
            .contains("`reason-missing`"));
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render_plain(&mixed()));
    }
}
