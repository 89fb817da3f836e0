//! The JSON report (DESIGN.md §6).

use crate::analysis::Report;

/// The report as pretty-printed JSON with a trailing newline.
pub fn render(report: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
