//! `jumpguard check`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use jiff::civil::Date;

use crate::analysis::{evaluate, Options, Report};
use crate::estate::Estate;
use crate::policy::{render_diagnostic, Policy, Problem};
use crate::render::{self, Format};
use crate::rules::Severity;

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Policy file or directory.
    #[arg(short = 'p', long = "policy", default_value = "policies")]
    pub policy: PathBuf,
    /// Evaluate this estate file instead of fetching live configuration.
    #[arg(long, value_name = "FILE")]
    pub estate: Option<PathBuf>,
    /// Format written to stdout.
    #[arg(long, default_value = "human", value_name = "FMT")]
    pub format: Format,
    /// Also write a report in FMT to FILE (repeatable), e.g. --report json=report.json.
    #[arg(long = "report", value_name = "FMT=FILE", value_parser = parse_report)]
    pub reports: Vec<(Format, PathBuf)>,
    /// Lowest severity that fails the run.
    #[arg(long, default_value = "low", value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Ignore every waiver (the auditor's switch).
    #[arg(long)]
    pub no_waivers: bool,
    /// Fail only on findings whose fingerprints are not in this baseline (`jumpguard baseline`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// A JSON report of an earlier run: reports show what is new and what was fixed since.
    #[arg(long, value_name = "REPORT.json")]
    pub previous: Option<PathBuf>,
}

fn parse_report(s: &str) -> Result<(Format, PathBuf), String> {
    let (fmt, file) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not FMT=FILE (e.g. json=report.json)"))?;
    if file.is_empty() {
        return Err(format!("`{s}` names no file"));
    }
    Ok((fmt.parse()?, PathBuf::from(file)))
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::ALL
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| format!("`{s}` is not a severity (critical, high, medium, low, info)"))
}

pub(crate) fn run(args: CheckArgs, global: &super::live::Global, today: Date) -> u8 {
    let (policy, file) = super::load_policy_and_estate(&args.policy, args.estate.as_deref(), today);
    let Some(policy) = policy else {
        return super::EXIT_ERROR;
    };
    let estate = match file {
        Some(Ok(e)) => e,
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return super::EXIT_ERROR;
        }
        None => match super::live::fetch_estate(global, Some(&policy)) {
            Ok(e) => e,
            Err(code) => return code,
        },
    };
    if configuration_error(&policy, &estate) {
        return super::EXIT_ERROR;
    }
    let mut report = evaluate(
        &policy,
        &estate,
        Options {
            today,
            fail_on: args.fail_on,
            no_waivers: args.no_waivers,
        },
    );
    if let Some(path) = &args.baseline {
        match super::baseline::read(path) {
            Ok(known) => report.apply_baseline(&known, args.fail_on),
            Err(e) => {
                eprintln!("error: {e}");
                return super::EXIT_ERROR;
            }
        }
    }
    let previous = match &args.previous {
        Some(path) => match read_report(path) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("error: {e}");
                return super::EXIT_ERROR;
            }
        },
        None => None,
    };
    warn_expiring(&report);
    let file_ctx = render::Context {
        sources: &policy.sources,
        color: false,
        previous: previous.as_ref(),
    };
    for (format, file) in &args.reports {
        let (text, note) = render::render_noting_limits(*format, &report, &file_ctx);
        if let Some(note) = note {
            eprintln!("warning: {note} ({})", file.display());
        }
        if let Err(e) = std::fs::write(file, text) {
            eprintln!(
                "error: cannot write the {format} report to {}: {e}",
                file.display()
            );
            return super::EXIT_ERROR;
        }
    }
    let ctx = render::Context {
        color: super::use_color(std::io::stdout().is_terminal()),
        ..file_ctx
    };
    let (text, note) = render::render_noting_limits(args.format, &report, &ctx);
    if let Some(note) = note {
        eprintln!("warning: {note}");
    }
    if args.format == Format::Github {
        // Annotations go to stderr so that stdout stays clean; the summary to the step summary.
        eprint!("{text}");
        if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
            let table = render::github::step_summary(&report, &file_ctx);
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&summary)
                .and_then(|mut f| std::io::Write::write_all(&mut f, table.as_bytes()));
            if let Err(e) = written {
                eprintln!("warning: cannot append to $GITHUB_STEP_SUMMARY: {e}");
            }
        }
    } else {
        print!("{text}");
    }
    let code = report.exit_code();
    super::exiting((policy, estate, report, previous));
    code
}

/// Reads a JSON report written earlier (`--previous`).
fn read_report(path: &std::path::Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a jumpguard JSON report: {e}", path.display()))
}

/// Warns on stderr about waivers and attestations that expire within 14 days.
fn warn_expiring(report: &Report) {
    use crate::analysis::{AttestationStatus, WaiverStatus};
    for w in report
        .waivers
        .iter()
        .filter(|w| w.status == WaiverStatus::Expiring)
    {
        eprintln!(
            "warning: the waiver of `{}`{} at {}:{} expires on {} ({} day{} left)",
            w.rule,
            w.target
                .as_ref()
                .map_or(String::new(), |t| format!(" for `{t}`")),
            w.location.file,
            w.location.line,
            w.expires,
            w.days_left,
            if w.days_left == 1 { "" } else { "s" }
        );
    }
    for a in report
        .attestations
        .iter()
        .filter(|a| a.status == AttestationStatus::Expiring)
    {
        eprintln!(
            "warning: the attestation of `{}` at {}:{} expires on {} ({} day{} left)",
            a.setting,
            a.location.file,
            a.location.line,
            a.expires,
            a.days_left,
            if a.days_left == 1 { "" } else { "s" }
        );
    }
}

/// Prints the configuration error of a policy and an estate, if any; true when there is one.
pub(crate) fn configuration_error(policy: &Policy, estate: &Estate) -> bool {
    match configuration_problem(policy, estate) {
        Some(problem) => {
            let color = super::use_color(std::io::stderr().is_terminal());
            eprint!(
                "{}",
                render_diagnostic(&problem.diagnostic(&policy.sources), color)
            );
            true
        }
        None => false,
    }
}

/// A policy that relies on Password Safe when the estate has none is a configuration error.
fn configuration_problem(policy: &Policy, estate: &Estate) -> Option<Problem> {
    let place = policy.password_safe_place()?;
    if estate.has_password_safe() {
        return None;
    }
    Some(
        Problem::at(
            "config::no-password-safe",
            place,
            "the policy declares Password Safe settings or credentials, but no Password Safe source is configured",
            "needs Password Safe",
        )
        .with_help("configure a Password Safe site (--ps-url and JUMPGUARD_PS_* variables) or use an estate with a `ps` section; otherwise remove `credentials` and `password_safe`"),
    )
}
