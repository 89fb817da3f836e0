//! The human report: findings grouped by target, each with the policy lines it concerns
//! underlined, then a summary and the verdict.

use std::fmt::{self, Write};
use std::sync::Arc;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, NamedSource, SourceCode, SourceSpan,
    SpanContents,
};

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
    // Each policy file is indexed once, not copied and scanned once per finding.
    let files: Vec<IndexedText> = sources.files.iter().map(IndexedText::new).collect();
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
                &FindingDiagnostic::new(f, sources, &files),
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

/// A policy file's text with the byte offset of every line, shared by the findings that point
/// into it. A large policy (a thousand targets) would otherwise be copied and scanned from its
/// first byte for each finding.
#[derive(Clone)]
struct IndexedText {
    text: Arc<String>,
    /// Where each line starts, lines ending at `\n` (how locations count lines).
    lines: Arc<Vec<usize>>,
    /// Where each line starts, lines ending at `\r\n`, `\n` or a lone `\r` (how miette counts).
    miette_lines: Arc<Vec<usize>>,
}

impl IndexedText {
    fn new(file: &crate::policy::SourceFile) -> IndexedText {
        let bytes = file.text.as_bytes();
        let mut lines = vec![0];
        let mut miette_lines = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    lines.push(i + 1);
                    miette_lines.push(i + 1);
                }
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    lines.push(i + 2);
                    miette_lines.push(i + 2);
                    i += 1;
                }
                b'\r' => miette_lines.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        IndexedText {
            text: Arc::new(file.text.clone()),
            lines: Arc::new(lines),
            miette_lines: Arc::new(miette_lines),
        }
    }

    /// The byte offset of a 1-based line and column (columns count characters).
    fn byte(&self, line: u32, column: u32) -> usize {
        let Some(i) = (line as usize).checked_sub(1) else {
            return 0;
        };
        let Some(&start) = self.lines.get(i).filter(|s| **s < self.text.len()) else {
            return 0;
        };
        let end = self.lines.get(i + 1).copied().unwrap_or(self.text.len());
        let l = &self.text[start..end];
        let col = l
            .char_indices()
            .nth(column.saturating_sub(1) as usize)
            .map_or(l.len(), |(b, _)| b);
        (start + col).min(self.text.len())
    }
}

impl SourceCode for IndexedText {
    /// What miette reads for `text` itself, computed from a few lines before the span on
    /// rather than from the first byte: miette's reading depends only on the lines it keeps
    /// as context, so starting at a line further back than those gives the same contents.
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text: &'a str = self.text.as_str();
        // Newlines strictly before the span; start two lines before the first context line.
        let before = self.miette_lines.partition_point(|s| *s <= span.offset());
        let skip = before.saturating_sub(context_lines_before + 2);
        if skip == 0 {
            return text.read_span(span, context_lines_before, context_lines_after);
        }
        let base = self.miette_lines[skip - 1];
        let shifted = SourceSpan::new((span.offset() - base).into(), span.len());
        let inner = text[base..].read_span(&shifted, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new(
            inner.data(),
            SourceSpan::new((inner.span().offset() + base).into(), inner.span().len()),
            inner.line() + skip,
            inner.column(),
            inner.line_count() + skip,
        )))
    }
}

/// A finding as a miette diagnostic pointing into the policy.
struct FindingDiagnostic<'a> {
    finding: &'a Finding,
    source: Option<(NamedSource<IndexedText>, SourceSpan)>,
    help: String,
}

impl<'a> FindingDiagnostic<'a> {
    fn new(finding: &'a Finding, sources: &Sources, files: &[IndexedText]) -> Self {
        let loc = &finding.location;
        let source = sources
            .files
            .iter()
            .zip(files)
            .find(|(f, _)| f.name == loc.file)
            .map(|(f, indexed)| {
                let start = indexed.byte(loc.line, loc.column);
                let len = f.text[start..]
                    .find(['\n', ':', ',', '}'])
                    .unwrap_or(f.text.len() - start)
                    .max(1)
                    .min(f.text.len() - start);
                (
                    NamedSource::new(f.name.clone(), indexed.clone()).with_language("yaml"),
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

#[cfg(test)]
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

#[cfg(test)]
mod tests {
    use super::*;

    const TEXTS: [&str; 5] = [
        "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\ng: 7\n",
        "one\r\ntwo\r\nthree\rfour\nfive\r\n\r\nsix: ä\nseven",
        "x",
        "",
        "ünïcode: 1\n  key: \"värde\"\n\n\n  last: z\n",
    ];

    fn indexed(text: &str) -> IndexedText {
        IndexedText::new(&crate::policy::SourceFile {
            name: "t.yaml".into(),
            text: text.into(),
            included_from: None,
        })
    }

    #[test]
    fn line_and_column_give_the_byte_the_linear_scan_gives() {
        for text in TEXTS {
            let ix = indexed(text);
            for line in 0..12 {
                for column in 0..8 {
                    assert_eq!(
                        ix.byte(line, column),
                        line_col_to_byte(text, line, column),
                        "{text:?} {line}:{column}"
                    );
                }
            }
        }
    }

    #[test]
    fn spans_read_as_miette_reads_the_whole_text() {
        for text in TEXTS {
            let ix = indexed(text);
            for offset in 0..=text.len() {
                for len in [0, 1, 3, 9] {
                    for context in 0..3 {
                        let span = SourceSpan::new(offset.into(), len);
                        let want = text.read_span(&span, context, context);
                        let got = ix.read_span(&span, context, context);
                        match (want, got) {
                            (Ok(w), Ok(g)) => {
                                assert_eq!(
                                    w.data(),
                                    g.data(),
                                    "{text:?} {offset}+{len} ±{context}"
                                );
                                assert_eq!(w.span(), g.span());
                                assert_eq!(w.line(), g.line());
                                assert_eq!(w.column(), g.column());
                                assert_eq!(w.line_count(), g.line_count());
                            }
                            (Err(_), Err(_)) => {}
                            (w, g) => panic!(
                                "{text:?} {offset}+{len}: {:?} vs {:?}",
                                w.is_ok(),
                                g.is_ok()
                            ),
                        }
                    }
                }
            }
        }
    }
}
