//! `jumpguard plan` and `jumpguard show`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use jiff::civil::Date;

use crate::analysis::{evaluate, Options};
use crate::plan::{self, Plan, PlanOptions};
use crate::rules::Severity;

/// Exit code of `plan` and `show` on an error (Terraform's convention: 2 means changes).
pub const EXIT_PLAN_ERROR: u8 = 1;

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Policy file or directory.
    #[arg(short = 'p', long = "policy", default_value = "policies")]
    pub policy: PathBuf,
    /// Plan from this estate file instead of the live configuration.
    #[arg(long, value_name = "FILE")]
    pub estate: Option<PathBuf>,
    /// Write the plan file here (JSON), for `jumpguard apply`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when no API action is needed, 2 when there are some, 1 on errors (Terraform's).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Allow destructive actions (deleting jump items).
    #[arg(long)]
    pub allow_destroy: bool,
}

pub(crate) fn run(args: PlanArgs, global: &super::live::Global, today: Date) -> u8 {
    let (policy, file) = super::load_policy_and_estate(&args.policy, args.estate.as_deref(), today);
    let Some(policy) = policy else {
        return EXIT_PLAN_ERROR;
    };
    let estate = match file {
        Some(Ok(e)) => e,
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return EXIT_PLAN_ERROR;
        }
        None => match super::live::fetch_estate(global, Some(&policy)) {
            Ok(e) => e,
            Err(_) => return EXIT_PLAN_ERROR,
        },
    };
    if super::check::configuration_error(&policy, &estate) {
        return EXIT_PLAN_ERROR;
    }
    let sources = estate.sources();
    for (name, s) in [
        ("PRA", &sources.pra),
        ("Password Safe", &sources.password_safe),
    ] {
        if matches!(
            s.status,
            crate::estate::Completeness::Partial | crate::estate::Completeness::Unavailable
        ) {
            eprintln!(
                "error: {name} was not read completely ({}); a plan needs the whole live state",
                s.reason.as_deref().unwrap_or("no reason given")
            );
            return EXIT_PLAN_ERROR;
        }
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
    let options = PlanOptions {
        allow_destroy: args.allow_destroy,
        created_at: jiff::Timestamp::now().to_string(),
    };
    let plan = plan::build(&policy, &estate, &report, &options);
    let color = super::use_color(std::io::stdout().is_terminal());
    print!("{}", plan::render(&plan, color));
    if let Some(out) = &args.out {
        if let Err(e) = write_plan(&plan, out) {
            eprintln!("error: {e}");
            return EXIT_PLAN_ERROR;
        }
        eprintln!(
            "saved the plan to {}; apply it with `jumpguard apply {}`",
            out.display(),
            out.display()
        );
    }
    let code = if args.detailed_exitcode && plan.api_actions().next().is_some() {
        2
    } else {
        0
    };
    super::exiting((policy, estate, report, plan));
    code
}

pub(crate) fn write_plan(plan: &Plan, out: &Path) -> Result<(), String> {
    let text = serde_json::to_string_pretty(plan).map_err(|e| e.to_string())? + "\n";
    std::fs::write(out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// Reads a plan file written by `plan --out`.
pub(crate) fn read_plan(path: &Path) -> Result<Plan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a plan file: {e}", path.display()))?;
    match value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(plan::PLAN_FORMAT_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "{} has plan format_version {v}; this jumpguard reads version {}",
                path.display(),
                plan::PLAN_FORMAT_VERSION
            ))
        }
        None => {
            return Err(format!(
                "{} is not a plan file (no format_version)",
                path.display()
            ))
        }
    }
    serde_json::from_value(value)
        .map_err(|e| format!("{} is not a valid plan file: {e}", path.display()))
}

/// `jumpguard show PLAN_FILE`.
pub(crate) fn show(path: &Path) -> u8 {
    match read_plan(path) {
        Ok(plan) => {
            println!(
                "plan made {} from estate {}{}",
                plan.created_at,
                plan.estate_fingerprint,
                if plan.allow_destroy {
                    ", destroy allowed"
                } else {
                    ""
                }
            );
            print!(
                "{}",
                plan::render(&plan, super::use_color(std::io::stdout().is_terminal()))
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_PLAN_ERROR
        }
    }
}
