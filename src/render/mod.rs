//! Renderers: each turns the one [`Report`](crate::analysis::Report) into a format. Pure.

pub mod human;
pub mod json;

use std::fmt;
use std::str::FromStr;

/// An output format of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people on a terminal or in a log.
    Human,
    /// The JSON report of DESIGN.md §6.
    Json,
}

impl Format {
    /// Every format this build renders.
    pub const ALL: [Format; 2] = [Format::Human, Format::Json];

    /// The name used with `--format` and `--report`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
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
