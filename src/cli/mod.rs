//! The command line (DESIGN.md §5): clap commands, thin glue over the library.

mod apply;
mod baseline;
mod check;
mod demo;
mod explain;
mod init;
mod live;
mod plan;
mod sim;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jiff::civil::Date;

use crate::policy::{self, render_diagnostic, Policy};

/// Exit code for usage, policy and configuration errors.
pub const EXIT_ERROR: u8 = 2;

/// Policy-as-code for privileged remote access: checks BeyondTrust PRA and Password Safe
/// against a policy repository.
#[derive(Debug, Parser)]
#[command(name = "jumpguard", version, about, long_about = None)]
pub struct Cli {
    /// Judge expiries of waivers and attestations as of this day (YYYY-MM-DD) instead of today.
    #[arg(long, global = true, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<Date>,
    /// Log each API request (method, path, status, duration); never a secret.
    #[arg(long, global = true)]
    pub verbose: bool,
    /// PRA site root, e.g. https://pra.corp.example (credentials: JUMPGUARD_PRA_CLIENT_ID and
    /// JUMPGUARD_PRA_CLIENT_SECRET).
    #[arg(long, global = true, env = "JUMPGUARD_PRA_URL", value_name = "URL")]
    pub pra_url: Option<String>,
    /// Password Safe site root (credentials: JUMPGUARD_PS_API_KEY, JUMPGUARD_PS_RUNAS).
    #[arg(long, global = true, env = "JUMPGUARD_PS_URL", value_name = "URL")]
    pub ps_url: Option<String>,
    /// PEM file of CA certificates to trust besides the system's (private CAs).
    #[arg(long, global = true, env = "JUMPGUARD_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Timeout of each API request, in seconds.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that a policy is valid (exit 0) or show every problem (exit 2).
    Validate {
        /// Policy file or directory.
        #[arg(short = 'p', long = "policy", default_value = "policies")]
        policy: PathBuf,
    },
    /// Evaluate a policy against the live configuration or an estate file.
    Check(check::CheckArgs),
    /// Plan the changes that resolve the findings (Terraform-style; `--out` saves a plan file).
    Plan(plan::PlanArgs),
    /// Apply a saved plan: confirm, check it is not stale, execute with a journal, re-check.
    Apply(apply::ApplyArgs),
    /// Write a baseline of today's findings, for `check --baseline`.
    Baseline(baseline::BaselineArgs),
    /// Write a starter policy repository from the configuration as it is today.
    Init(init::InitArgs),
    /// Walk check → plan → apply → check against a simulator of the shipped example.
    Demo,
    /// Render a saved plan file.
    Show {
        /// The plan file.
        plan_file: PathBuf,
    },
    /// Read the live configuration and write it as an estate file.
    Fetch {
        /// Where to write the estate (JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Policy whose `sites` give URLs not set by flags or the environment.
        #[arg(short = 'p', long = "policy")]
        policy: Option<PathBuf>,
    },
    /// Serve an estate as a simulated appliance on a loopback port (prints `listening on URL`).
    Sim(sim::SimArgs),
    /// Explain a rule: what it finds, why it matters, how to fix it.
    Explain {
        /// The rule id, e.g. external-search-bypass. Without it, list every rule.
        rule: Option<String>,
    },
    /// Print the JSON Schema of the policy language (or, with --report, of the JSON report).
    Schema {
        /// Print the schema of the JSON report instead.
        #[arg(long)]
        report: bool,
    },
}

fn parse_date(s: &str) -> Result<Date, String> {
    s.parse::<Date>()
        .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(run(cli))
}

fn run(cli: Cli) -> u8 {
    let today = cli.as_of.unwrap_or_else(|| jiff::Zoned::now().date());
    let global = live::Global {
        verbose: cli.verbose,
        // An empty variable (`JUMPGUARD_PRA_URL=`) means "not configured", as unset does.
        pra_url: cli.pra_url.filter(|u| !u.trim().is_empty()),
        ps_url: cli.ps_url.filter(|u| !u.trim().is_empty()),
        ca_cert: cli.ca_cert,
        timeout: std::time::Duration::from_secs(cli.timeout.max(1)),
        vars: Vec::new(),
    };
    match cli.command {
        Command::Validate { policy } => match load_policy(&policy, today) {
            Some(p) => {
                println!(
                    "{}: valid ({} file{}, {} target{}, {} waiver{}, {} attestation{})",
                    policy.display(),
                    p.sources.files.len(),
                    s(p.sources.files.len()),
                    p.targets.len(),
                    s(p.targets.len()),
                    p.waivers.len(),
                    s(p.waivers.len()),
                    p.attestations.len(),
                    s(p.attestations.len())
                );
                0
            }
            None => EXIT_ERROR,
        },
        Command::Check(args) => check::run(args, &global, today),
        Command::Fetch { out, policy } => {
            let policy = match policy {
                Some(p) => match load_policy(&p, today) {
                    Some(p) => Some(p),
                    None => return EXIT_ERROR,
                },
                None => None,
            };
            live::fetch_to_file(&global, policy.as_ref(), &out)
        }
        Command::Sim(args) => sim::run(args),
        Command::Plan(args) => plan::run(args, &global, today),
        Command::Show { plan_file } => plan::show(&plan_file),
        Command::Apply(args) => apply::run(args, &global, today),
        Command::Baseline(args) => baseline::run(args, &global, today),
        Command::Init(args) => init::run(args, &global, today),
        Command::Demo => demo::run(&global, today),
        Command::Explain { rule } => explain::run(rule.as_deref()),
        Command::Schema { report } => {
            let schema = if report {
                crate::analysis::report_schema()
            } else {
                policy::schema()
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            0
        }
    }
}

fn s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Whether to colour output written to stderr or stdout (a terminal, and `NO_COLOR` unset).
pub(crate) fn use_color(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Loads a policy, printing every problem to stderr. `None` when it is invalid.
/// The async runtime of a command that talks to the appliances (or serves as one), or the exit
/// code after saying why there is none.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            EXIT_ERROR
        })
}

/// Lets go of what a command is done with when the process is about to exit: the operating
/// system reclaims it at once, where freeing a large estate object by object takes a tenth
/// of a second. Only for values whose drop does nothing but free memory.
pub(crate) fn exiting<T>(value: T) {
    std::mem::forget(value);
}

/// The policy and, when given, the estate file, read side by side on two threads: at 100,000
/// jump items each is a parse of a tenth of a second. The policy's problems are printed here;
/// the estate's error is returned for the caller to print after them (or not at all when the
/// policy is unusable, as before).
pub(crate) fn load_policy_and_estate(
    policy: &std::path::Path,
    estate: Option<&std::path::Path>,
    today: Date,
) -> (
    Option<Policy>,
    Option<Result<crate::estate::Estate, crate::estate::EstateError>>,
) {
    std::thread::scope(|scope| {
        let estate = estate.map(|path| scope.spawn(move || crate::estate::Estate::load(path)));
        let policy = load_policy(policy, today);
        // A panic while parsing is a bug; let it surface as one.
        let estate = estate.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (policy, estate)
    })
}

pub(crate) fn load_policy(path: &std::path::Path, today: Date) -> Option<Policy> {
    match policy::load(path, today) {
        Ok(p) => Some(p),
        Err(err) => {
            let color = use_color(std::io::stderr().is_terminal());
            for problem in &err.problems {
                eprint!(
                    "{}",
                    render_diagnostic(&problem.diagnostic(&err.sources), color)
                );
            }
            eprintln!(
                "error: the policy has {} problem{}; nothing was evaluated",
                err.problems.len(),
                s(err.problems.len())
            );
            None
        }
    }
}
