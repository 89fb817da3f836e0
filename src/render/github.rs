//! The github report (being written).

use super::Context;
use crate::analysis::Report;

/// Renders the report.
pub fn render(_report: &Report, _ctx: &Context) -> String {
    String::new()
}

/// The Markdown table appended to `$GITHUB_STEP_SUMMARY`.
pub fn step_summary(_report: &Report, _ctx: &Context) -> String {
    String::new()
}
