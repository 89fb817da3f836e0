//! `jumpguard apply PLAN_FILE`: confirm, check the preconditions, execute with a journal, then
//! read the live state again and verify that the findings the plan resolves are gone.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use jiff::civil::Date;

use crate::analysis::{evaluate, Options};
use crate::plan::apply::{apply, ApplyError, ApplyOptions, StepStatus};
use crate::plan::Plan;
use crate::rules::Severity;

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file written by `jumpguard plan --out`.
    pub plan_file: PathBuf,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// The policy to check the result against.
    #[arg(short = 'p', long = "policy", default_value = "policies")]
    pub policy: PathBuf,
}

/// Exit code of an apply stopped by Ctrl-C: 1, as for every apply that did not finish
/// (DESIGN.md §5 allows `apply` 0 and 1 only; shells would report 130 for a killed process).
pub const EXIT_INTERRUPTED: u8 = 1;

/// The journal beside a plan file.
pub fn journal_path(plan_file: &Path) -> PathBuf {
    let mut name = plan_file.file_name().unwrap_or_default().to_os_string();
    name.push(".journal.json");
    plan_file.with_file_name(name)
}

pub(crate) fn run(args: ApplyArgs, global: &super::live::Global, today: Date) -> u8 {
    let plan = match super::plan::read_plan(&args.plan_file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let Some(policy) = super::load_policy(&args.policy, today) else {
        return 1;
    };
    print!(
        "{}",
        crate::plan::render(&plan, super::use_color(std::io::stdout().is_terminal()))
    );
    if plan.api_actions().next().is_none() {
        println!("Nothing to apply: the plan has no API action.");
        return 0;
    }
    if !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "error: not on a terminal: pass --auto-approve to apply without confirmation"
            );
            return 1;
        }
        if !confirm() {
            eprintln!("Apply cancelled.");
            return 1;
        }
    }
    let fetch = match super::live::fetch_options(global, Some(&policy)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let options = ApplyOptions {
        fetch,
        journal: journal_path(&args.plan_file),
    };
    // `apply` exits 1 on every error (DESIGN.md §5).
    let Ok(runtime) = super::runtime() else {
        return 1;
    };
    let applying = apply(&plan, &options, |action, status| match status {
        StepStatus::Started => eprintln!(
            "{} [{}] {} ...",
            action.change.sign(),
            action.id,
            action.summary
        ),
        StepStatus::Done => eprintln!("  done"),
        StepStatus::Skipped => eprintln!(
            "{} [{}] already done (journal)",
            action.change.sign(),
            action.id
        ),
        StepStatus::Failed(why) => eprintln!("  failed: {why}"),
    });
    // Ctrl-C stops the run between two requests: the journal keeps what was done, and the
    // lock is released, so that the same apply can be run again to resume.
    let result = runtime.block_on(async {
        tokio::select! {
            result = applying => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let Some(result) = result else {
        eprintln!(
            "\nInterrupted. The journal {} records the actions done. An action under way may or may not have taken effect: the next run checks the live configuration before changing anything. Run the same apply again to resume.",
            options.journal.display()
        );
        return EXIT_INTERRUPTED;
    };
    let report = match result {
        Ok(r) => r,
        Err(ApplyError::Stale { problems }) => {
            eprintln!("error: the plan is stale: the live configuration changed since it was made. Nothing was changed.");
            for p in problems {
                eprintln!("  - {p}");
            }
            eprintln!("Run `jumpguard plan` again.");
            return 1;
        }
        Err(e @ ApplyError::Failed { .. }) => {
            eprintln!("error: {e}");
            eprintln!(
                "The journal {} records what was done; run the same apply again to resume.",
                options.journal.display()
            );
            return 1;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    verify(&plan, &policy, &report.estate_after, today)
}

fn confirm() -> bool {
    print!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}

/// Checks the live state after the apply: 0 when every finding an API action was meant to
/// resolve is gone, 1 otherwise. Manual steps stay listed.
fn verify(
    plan: &Plan,
    policy: &crate::policy::Policy,
    estate: &crate::estate::Estate,
    today: Date,
) -> u8 {
    let report = evaluate(
        policy,
        estate,
        Options {
            today,
            fail_on: Severity::Info,
            no_waivers: false,
        },
    );
    let remaining: Vec<&crate::analysis::Finding> = report.unwaived().collect();
    let mut still = Vec::new();
    for action in plan.api_actions() {
        for r in &action.resolves {
            if remaining.iter().any(|f| f.fingerprint == r.fingerprint) {
                still.push(format!(
                    "{} {} {} (action {})",
                    r.rule,
                    r.target.as_deref().unwrap_or("-"),
                    r.host.as_deref().unwrap_or("-"),
                    action.id
                ));
            }
        }
    }
    let manual: Vec<_> = plan.manual_actions().collect();
    println!(
        "\nApplied. Checked again: {} finding{} remain{}.",
        remaining.len(),
        if remaining.len() == 1 { "" } else { "s" },
        if remaining.len() == 1 { "s" } else { "" }
    );
    if !manual.is_empty() {
        println!("Manual steps still to take:");
        for m in manual {
            println!("  ! [{}] {}", m.id, m.summary);
        }
    }
    if still.is_empty() {
        0
    } else {
        eprintln!("error: findings the applied actions were meant to resolve are still reported:");
        for s in still {
            eprintln!("  - {s}");
        }
        1
    }
}
