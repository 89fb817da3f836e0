//! The markdown report (being written).

use super::Context;
use crate::analysis::Report;

/// Renders the report.
pub fn render(_report: &Report, _ctx: &Context) -> String {
    String::new()
}
