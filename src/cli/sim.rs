//! `jumpguard sim`: the simulator on a loopback port, with faults switched on from flags; or
//! a generated large estate (`--generate`), served or written out with its policy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::sim::{SimConfig, Simulator};

/// Arguments of `sim`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["estate", "generate"])))]
pub struct SimArgs {
    /// The estate to serve (an estate file, as `fetch` writes it).
    #[arg(long, value_name = "FILE")]
    pub estate: Option<PathBuf>,
    /// Generate an estate of N jump items (and its policy, with violations planted at known
    /// places) instead of reading one.
    #[arg(long, value_name = "N")]
    pub generate: Option<usize>,
    /// The seed of `--generate`: the same N and seed give the same estate.
    #[arg(long, value_name = "S", default_value_t = 1, requires = "generate")]
    pub seed: u64,
    /// With `--generate`: write DIR/estate.json, DIR/policies/generated.yaml and
    /// DIR/planted.json instead of serving.
    #[arg(long, value_name = "DIR", requires = "generate")]
    pub out: Option<PathBuf>,
    /// Where to listen; loopback addresses only (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8443", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The simulated API account's client id.
    #[arg(long, default_value = "jumpguard-sim")]
    pub client_id: String,
    /// The simulated API account's client secret (a test value, never a real one).
    #[arg(long, default_value = "sim-secret")]
    pub client_secret: String,
    /// The simulated Password Safe API key (a test value, never a real one).
    #[arg(long, value_name = "KEY")]
    pub ps_api_key: Option<String>,
    /// The run-as user the Password Safe API key is registered for.
    #[arg(long, default_value = "jumpguard", value_name = "USER")]
    pub ps_runas: String,
    /// Require this run-as password (a registration with "User Password Required").
    #[arg(long, value_name = "PASSWORD")]
    pub ps_password: Option<String>,
    /// Simulate a Password Safe release without `AccessPolicies/{id}/Assignees`.
    #[arg(long)]
    pub ps_without_assignees: bool,
    /// Do not enforce the appliance's rate limit (20 requests/s, 15,000/hour).
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Answer the first N API requests with 429.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub fail_429: u32,
    /// Answer requests whose path starts with PREFIX with STATUS, N times (N omitted: always).
    #[arg(long, value_name = "PREFIX:STATUS[:N]")]
    pub fail_path: Vec<String>,
    /// Abort the connection of requests whose path starts with PREFIX, N times.
    #[arg(long, value_name = "PREFIX[:N]")]
    pub drop_connection: Vec<String>,
    /// Delay every response by this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay_ms: u64,
    /// Drop the last row of every list page while the headers announce the full list.
    #[arg(long)]
    pub truncate_pages: bool,
    /// Answer unrecognized query parameters and body fields with 422 instead of 401.
    #[arg(long)]
    pub unknown_field_422: bool,
}

pub(crate) fn run(args: SimArgs) -> u8 {
    if let (Some(n), Some(dir)) = (args.generate, &args.out) {
        return write_generated(n, args.seed, dir);
    }
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "error: the simulator listens on loopback addresses only, not {}",
            args.listen.ip()
        );
        return super::EXIT_ERROR;
    }
    let (estate, shown) = match (&args.estate, args.generate) {
        (Some(path), _) => match read_estate(path) {
            Ok(v) => (v, path.display().to_string()),
            Err(e) => {
                eprintln!("error: {e}");
                return super::EXIT_ERROR;
            }
        },
        (None, Some(n)) => {
            let generated = crate::generate::generate(n, args.seed);
            eprintln!(
                "  serving a generated estate of {n} jump items (seed {}); its policy: jumpguard sim --generate {n} --seed {} --out DIR",
                args.seed, args.seed
            );
            (generated.estate, format!("the generated estate ({n})"))
        }
        // clap requires one of the two.
        (None, None) => return super::EXIT_ERROR,
    };
    let config = SimConfig {
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        rate_limit: !args.no_rate_limit,
        unknown_field_status: if args.unknown_field_422 { 422 } else { 401 },
        ps_runas: args.ps_runas.clone(),
        ps_password: args.ps_password.clone(),
        ps_assignees: !args.ps_without_assignees,
        ..SimConfig::default()
    };
    let config = match &args.ps_api_key {
        Some(key) => SimConfig {
            ps_api_key: key.clone(),
            ..config
        },
        None => config,
    };
    let has_ps = estate.get("ps").is_some();
    let sim = match Simulator::new(estate, config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot simulate {shown}: {e}");
            return super::EXIT_ERROR;
        }
    };
    let faults = sim.faults();
    if args.fail_429 > 0 {
        faults.force_429(args.fail_429);
    }
    for spec in &args.fail_path {
        let mut parts = spec.splitn(3, ':');
        let (Some(prefix), Some(Ok(status))) = (parts.next(), parts.next().map(str::parse::<u16>))
        else {
            eprintln!("error: --fail-path `{spec}` is not PREFIX:STATUS[:N]");
            return super::EXIT_ERROR;
        };
        let times = parts.next().map_or(Ok(u32::MAX), str::parse::<u32>);
        let Ok(times) = times else {
            eprintln!("error: --fail-path `{spec}`: N must be a number");
            return super::EXIT_ERROR;
        };
        faults.fail_path(prefix, status, times);
    }
    for spec in &args.drop_connection {
        let (prefix, times) = match spec.rsplit_once(':') {
            Some((p, n)) if n.parse::<u32>().is_ok() => (p, n.parse().unwrap_or(1)),
            _ => (spec.as_str(), u32::MAX),
        };
        faults.drop_connections(prefix, times);
    }
    if args.delay_ms > 0 {
        faults.set_delay(args.delay_ms);
    }
    faults.truncate_pages(args.truncate_pages);
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", args.listen);
                return super::EXIT_ERROR;
            }
        };
        let addr = listener.local_addr().map_or(args.listen, |a| a);
        println!("listening on http://{addr}");
        eprintln!(
            "  export JUMPGUARD_PRA_URL=http://{addr} JUMPGUARD_PRA_CLIENT_ID={} JUMPGUARD_PRA_CLIENT_SECRET={}",
            args.client_id, args.client_secret
        );
        if has_ps {
            eprintln!(
                "  export JUMPGUARD_PS_URL=http://{addr} JUMPGUARD_PS_RUNAS={} JUMPGUARD_PS_API_KEY={}",
                args.ps_runas,
                args.ps_api_key.clone().unwrap_or_else(|| SimConfig::default().ps_api_key)
            );
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tokio::select! {
            r = sim.serve(listener) => match r {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: the simulator stopped: {e}");
                    1
                }
            },
            _ = tokio::signal::ctrl_c() => 0,
        }
    })
}

fn read_estate(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

/// Writes a generated estate, its policy and the findings planted in it.
fn write_generated(n: usize, seed: u64, dir: &Path) -> u8 {
    let generated = crate::generate::generate(n, seed);
    let planted: Vec<serde_json::Value> = generated
        .planted
        .iter()
        .map(|(rule, target, host)| serde_json::json!({"rule": rule, "target": target, "host": host}))
        .collect();
    let estate = dir.join("estate.json");
    let policy = dir.join("policies").join("generated.yaml");
    let expected = dir.join("planted.json");
    let written = std::fs::create_dir_all(dir.join("policies"))
        .and_then(|()| {
            let text = serde_json::to_string_pretty(&generated.estate).unwrap_or_default();
            std::fs::write(&estate, text + "\n")
        })
        .and_then(|()| std::fs::write(&policy, &generated.policy_yaml))
        .and_then(|()| {
            let text = serde_json::to_string_pretty(&planted).unwrap_or_default();
            std::fs::write(&expected, text + "\n")
        });
    if let Err(e) = written {
        eprintln!(
            "error: cannot write the generated estate to {}: {e}",
            dir.display()
        );
        return super::EXIT_ERROR;
    }
    println!(
        "wrote {} ({n} jump items, seed {seed}), {} and {} ({} planted findings)",
        estate.display(),
        policy.display(),
        expected.display(),
        planted.len()
    );
    if n < crate::generate::MIN_PLANTED {
        eprintln!(
            "warning: below {} jump items not every kind of violation can be planted",
            crate::generate::MIN_PLANTED
        );
    }
    println!(
        "  check it: jumpguard check -p {} --estate {} --as-of {}",
        dir.join("policies").display(),
        estate.display(),
        crate::generate::AS_OF
    );
    0
}
