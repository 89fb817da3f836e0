//! The human report: findings grouped by target, each with the policy lines it concerns
//! underlined, then a summary and the verdict.

use std::fmt::{self, Write};

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

use crate::analysis::{Finding, Report, Verdict};
use crate::policy::{render_diagnostic, Sources};
use crate::rules::Severity;

/// Renders a report. `sources` are the policy files (for the snippets); `color` adds ANSI colours.
pub fn render(report: &Report, sources: &Sources, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "jumpguard {} · as of {} · PRA {} · Password Safe {}",
        report.tool.version,
        report.as_of,
        status(&report.sources.pra),
        status(&report.sources.password_safe)
    );
    let mut groups: Vec<(Option<&str>, Vec<&Finding>)> = Vec::new();
    for f in report.unwaived() {
        let key = f.target.as_deref();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(f),
            None => groups.push((key, vec![f])),
        }
    }
    groups.sort_by_key(|(k, _)| (k.is_none(), k.map(str::to_owned)));
    for (target, findings) in &groups {
        let title = match target {
            Some(t) => format!("target {t}"),
            None => "site-wide".to_string(),
        };
        let _ = writeln!(
            out,
            "\n── {title} ({} finding{}) ──",
            findings.len(),
            plural(findings.len())
        );
        for f in findings {
            out.push_str(&render_diagnostic(
                &FindingDiagnostic::new(f, sources),
                color,
            ));
        }
    }
    let waived: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.waiver.is_some())
        .collect();
    if !waived.is_empty() {
        let _ = writeln!(out, "\n── waived ({}) ──", waived.len());
        for f in waived {
            let w = f
                .waiver
                .as_ref()
                .map_or((String::new(), String::new()), |w| {
                    (w.reason.clone(), w.expires.clone())
                });
            let _ = writeln!(
                out,
                "  {} {} {}: {} (until {})",
                f.rule,
                f.target.as_deref().unwrap_or("-"),
                f.host.as_deref().unwrap_or("-"),
                w.0,
                w.1
            );
        }
    }
    if !report.waivers.is_empty() || !report.attestations.is_empty() {
        let _ = writeln!(out, "\n── waivers and attestations ──");
        for w in &report.waivers {
            let status = serde_json::to_value(w.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  waiver {} {}{}: {status} until {} ({} days), covers {} ({}:{})",
                w.rule,
                w.target.as_deref().unwrap_or("every target"),
                w.host.as_ref().map_or(String::new(), |h| format!(" {h}")),
                w.expires,
                w.days_left,
                w.covers,
                w.location.file,
                w.location.line
            );
        }
        for a in &report.attestations {
            let status = serde_json::to_value(a.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  attestation {} = {} by {}: {status} through {} ({} days) ({}:{})",
                a.setting, a.value, a.by, a.expires, a.days_left, a.location.file, a.location.line
            );
        }
    }
    let s = &report.summary;
    let counts: Vec<String> = Severity::ALL
        .iter()
        .map(|sev| format!("{} {sev}", s.by_severity.get(*sev)))
        .collect();
    let _ = writeln!(
        out,
        "\n{} target{}, {} path{}, {} finding{} ({}), {} waived",
        s.targets,
        plural(s.targets),
        s.paths,
        plural(s.paths),
        s.findings,
        plural(s.findings),
        counts.join(", "),
        s.waived
    );
    let verdict = match report.verdict {
        Verdict::Compliant => "compliant",
        Verdict::Violations => "violations",
        Verdict::Incomplete => "incomplete: some paths could not be verified",
    };
    let _ = writeln!(out, "verdict: {verdict}");
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn status(s: &crate::estate::SourceStatus) -> String {
    let name = serde_json::to_value(s.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match &s.reason {
        Some(r) => format!("{name} ({r})"),
        None => name,
    }
}

/// A finding as a miette diagnostic pointing into the policy.
struct FindingDiagnostic<'a> {
    finding: &'a Finding,
    source: Option<(NamedSource<String>, SourceSpan)>,
    help: String,
}

impl<'a> FindingDiagnostic<'a> {
    fn new(finding: &'a Finding, sources: &Sources) -> Self {
        let loc = &finding.location;
        let source = sources.files.iter().find(|f| f.name == loc.file).map(|f| {
            let start = line_col_to_byte(&f.text, loc.line, loc.column);
            let len = f.text[start..]
                .find(['\n', ':', ',', '}'])
                .unwrap_or(f.text.len() - start)
                .max(1)
                .min(f.text.len() - start);
            (
                NamedSource::new(f.name.clone(), f.text.clone()).with_language("yaml"),
                SourceSpan::new(start.into(), len),
            )
        });
        let path: Vec<String> = finding
            .path
            .iter()
            .map(|p| {
                let id = p.id.map_or(String::new(), |i| format!(" #{i}"));
                let ty = p
                    .item_type
                    .as_deref()
                    .map_or(String::new(), |t| format!(" {t}"));
                format!("{}{ty}{id} \"{}\"", p.kind.replace('_', " "), p.name)
            })
            .collect();
        let mut help = String::new();
        if !path.is_empty() {
            help.push_str(&format!("path: {}\n", path.join(" → ")));
        }
        help.push_str(&format!(
            "run `jumpguard explain {}` for how to fix it",
            finding.rule
        ));
        FindingDiagnostic {
            finding,
            source,
            help,
        }
    }
}

fn line_col_to_byte(text: &str, line: u32, column: u32) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let col = l
                .char_indices()
                .nth(column.saturating_sub(1) as usize)
                .map_or(l.len(), |(b, _)| b);
            return (offset + col).min(text.len());
        }
        offset += l.len();
    }
    0
}

impl fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.finding.severity, self.finding.message)
    }
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.finding.rule.id()))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Critical | Severity::High => miette::Severity::Error,
            Severity::Medium | Severity::Low => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.help))
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source
            .as_ref()
            .map(|(s, _)| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (_, span) = self.source.as_ref()?;
        let label = match &self.finding.host {
            Some(h) => format!("host {h}"),
            None => self
                .finding
                .rule
                .summary()
                .trim_end_matches('.')
                .to_lowercase(),
        };
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some(label), *span),
        )))
    }
}
