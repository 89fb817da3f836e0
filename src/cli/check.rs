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
    if configuration_error(&policy, &estate) {
        return super::EXIT_ERROR;
    }
    let report = evaluate(
        &policy,
        &estate,
        Options {
            today,
            fail_on: args.fail_on,
            no_waivers: args.no_waivers,
        },
    );
    for (format, file) in &args.reports {
        let text = render_to(*format, &report, &policy, false);
        if let Err(e) = std::fs::write(file, text) {
            eprintln!(
                "error: cannot write the {format} report to {}: {e}",
                file.display()
            );
            return super::EXIT_ERROR;
        }
    }
    let color = super::use_color(std::io::stdout().is_terminal());
    print!("{}", render_to(args.format, &report, &policy, color));
    report.exit_code()
}

fn render_to(format: Format, report: &Report, policy: &Policy, color: bool) -> String {
    match format {
        Format::Human => render::human::render(report, &policy.sources, color),
        Format::Json => render::json::render(report),
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
