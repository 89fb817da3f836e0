//! `jumpguard baseline`: accept today's findings, fail only on new ones.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Args;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::analysis::{evaluate, Options, Report};
use crate::estate::Estate;
use crate::rules::Severity;

/// The baseline file format version.
pub const BASELINE_FORMAT_VERSION: u32 = 1;

/// A baseline: the fingerprints of accepted findings (with what they were, for reviewers).
#[derive(Debug, Serialize, Deserialize)]
pub struct Baseline {
    /// Always 1.
    pub format_version: u32,
    /// When it was written.
    pub created_at: String,
    /// The accepted findings.
    pub findings: Vec<BaselineEntry>,
}

/// One accepted finding.
#[derive(Debug, Serialize, Deserialize)]
pub struct BaselineEntry {
    /// Its fingerprint (what `--baseline` compares).
    pub fingerprint: String,
    /// Its rule.
    pub rule: String,
    /// Its target.
    pub target: Option<String>,
    /// Its host.
    pub host: Option<String>,
}

/// Arguments of `baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Policy file or directory.
    #[arg(short = 'p', long = "policy", default_value = "policies")]
    pub policy: PathBuf,
    /// Evaluate this estate file instead of fetching live configuration.
    #[arg(long, value_name = "FILE")]
    pub estate: Option<PathBuf>,
    /// Where to write the baseline.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// The baseline of a report: every unwaived finding.
pub fn of(report: &Report) -> Baseline {
    Baseline {
        format_version: BASELINE_FORMAT_VERSION,
        created_at: jiff::Timestamp::now().to_string(),
        findings: report
            .findings
            .iter()
            .filter(|f| f.waiver.is_none())
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.id().into(),
                target: f.target.clone(),
                host: f.host.clone(),
            })
            .collect(),
    }
}

/// Reads the fingerprints of a baseline file.
pub fn read(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
    let b: Baseline = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a jumpguard baseline: {e}", path.display()))?;
    if b.format_version != BASELINE_FORMAT_VERSION {
        return Err(format!("{} has baseline format_version {}; this jumpguard reads version {BASELINE_FORMAT_VERSION}", path.display(), b.format_version));
    }
    Ok(b.findings.into_iter().map(|f| f.fingerprint).collect())
}

pub(crate) fn run(args: BaselineArgs, global: &super::live::Global, today: Date) -> u8 {
    let Some(policy) = super::load_policy(&args.policy, today) else {
        return super::EXIT_ERROR;
    };
    let estate = match &args.estate {
        Some(path) => match Estate::load(path) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return super::EXIT_ERROR;
            }
        },
        None => match super::live::fetch_estate(global, Some(&policy)) {
            Ok(e) => e,
            Err(code) => return code,
        },
    };
    if super::check::configuration_error(&policy, &estate) {
        return super::EXIT_ERROR;
    }
    let report = evaluate(
        &policy,
        &estate,
        Options {
            today,
            fail_on: Severity::Info,
            no_waivers: false,
        },
    );
    let sources = &report.sources;
    if [&sources.pra, &sources.password_safe].iter().any(|s| {
        matches!(
            s.status,
            crate::estate::Completeness::Partial | crate::estate::Completeness::Unavailable
        )
    }) {
        eprintln!("error: a source was not read completely; a baseline of partial data would hide findings");
        return 3;
    }
    let baseline = of(&report);
    let text = serde_json::to_string_pretty(&baseline).unwrap_or_default() + "\n";
    if let Err(e) = std::fs::write(&args.out, text) {
        eprintln!("error: cannot write {}: {e}", args.out.display());
        return super::EXIT_ERROR;
    }
    eprintln!(
        "wrote {} with {} finding{}",
        args.out.display(),
        baseline.findings.len(),
        if baseline.findings.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    0
}
