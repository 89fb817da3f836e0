//! Renderers: each turns the one [`Report`](crate::analysis::Report) into a format, so that the
//! formats can never disagree. Pure: data in, text out; the CLI decides where text goes.

mod changes;
pub mod github;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use std::fmt;
use std::str::FromStr;

use crate::analysis::Report;
use crate::policy::Sources;

/// An output format of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people on a terminal or in a log.
    Human,
    /// The JSON report of DESIGN.md §6.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML, for GitLab and Jenkins test reports.
    Junit,
    /// GitHub Actions workflow commands (`::error file=…`).
    Github,
    /// A Markdown report for pull request comments.
    Markdown,
    /// One self-contained HTML page for the nightly compliance report.
    Html,
}

impl Format {
    /// Every format this build renders.
    pub const ALL: [Format; 7] = [
        Format::Human,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Github,
        Format::Markdown,
        Format::Html,
    ];

    /// The name used with `--format` and `--report`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Github => "github",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("unknown format `{s}` (available: {})", names.join(", "))
            })
    }
}

/// What renderers may need besides the report.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The policy files (snippets, relative paths).
    pub sources: &'a Sources,
    /// ANSI colours (terminal output only).
    pub color: bool,
    /// The previous report (`--previous`), for "new since" and "fixed since".
    pub previous: Option<&'a Report>,
}

/// Renders a report in a format. For `github` this is the annotations (the CLI writes them to
/// stderr, and [`github::step_summary`] to `$GITHUB_STEP_SUMMARY`).
pub fn render(format: Format, report: &Report, ctx: &Context) -> String {
    render_noting_limits(format, report, ctx).0
}

/// [`render`], and what the rendering left out to stay within the limits of where the format
/// goes (GitHub's 25,000 SARIF results per run, 65,536 characters per comment), said for a
/// warning.
pub fn render_noting_limits(
    format: Format,
    report: &Report,
    ctx: &Context,
) -> (String, Option<String>) {
    match format {
        Format::Human => (human::render(report, ctx.sources, ctx.color), None),
        Format::Json => (json::render(report), None),
        Format::Sarif => {
            let n = report.findings.len();
            let note = (n > sarif::MAX_RESULTS).then(|| {
                format!(
                    "the SARIF report holds {} of the {n} findings, GitHub's limit per run (those that count first, most severe first); the JSON report has every finding",
                    sarif::MAX_RESULTS
                )
            });
            (sarif::render(report, ctx), note)
        }
        Format::Junit => (junit::render(report, ctx), None),
        Format::Github => (github::render(report, ctx), None),
        Format::Markdown => {
            let (text, omitted) = markdown::render_within(report, ctx, markdown::MAX_CHARS);
            let note = (omitted > 0).then(|| {
                format!(
                    "the Markdown report leaves out {omitted} rows of findings to fit a comment's {} characters; the JSON report has every finding",
                    markdown::MAX_CHARS
                )
            });
            (text, note)
        }
        Format::Html => (html::render(report, ctx), None),
    }
}

#[cfg(test)]
mod tests {
    use super::changes::sample::{finding, report};
    use super::*;
    use crate::rules::Rule;

    fn note(format: Format, findings: usize, message_len: usize) -> Option<String> {
        let long = "x".repeat(message_len);
        let findings = (0..findings)
            .map(|i| {
                finding(
                    Rule::ApprovalMissing,
                    Some("dc"),
                    Some(&format!("h{i}")),
                    &long,
                )
            })
            .collect();
        let sources = Sources::default();
        let ctx = Context {
            sources: &sources,
            color: false,
            previous: None,
        };
        render_noting_limits(format, &report(findings), &ctx).1
    }

    #[test]
    fn what_a_format_leaves_out_is_said_for_a_warning() {
        let sarif = note(Format::Sarif, sarif::MAX_RESULTS + 1, 1).expect("a SARIF note");
        assert!(sarif.starts_with("the SARIF report holds 25000 of the 25001 findings"));
        assert_eq!(note(Format::Sarif, 10, 1), None);
        let markdown = note(Format::Markdown, 400, 300).expect("a Markdown note");
        assert!(
            markdown.starts_with("the Markdown report leaves out "),
            "{markdown}"
        );
        assert_eq!(note(Format::Markdown, 10, 300), None);
        // The JSON report always holds everything.
        assert_eq!(note(Format::Json, sarif::MAX_RESULTS + 1, 1), None);
    }
}
