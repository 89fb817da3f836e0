//! `jumpguard demo`: the whole product on the shipped example, with no appliance. It starts the
//! simulator in-process on the seed estate and walks check → plan → apply → check.

use std::path::PathBuf;

use jiff::civil::Date;

use crate::render::Format;
use crate::rules::Severity;
use crate::sim::{SimConfig, Simulator};

/// The seed example, embedded so that the demo runs from any directory.
const SEED_ESTATE: &str = include_str!("../../examples/seed/estate.json");
const SEED_POLICIES: &[(&str, &str)] = &[
    (
        "linux.yaml",
        include_str!("../../examples/seed/policies/linux.yaml"),
    ),
    (
        "password-safe.yaml",
        include_str!("../../examples/seed/policies/password-safe.yaml"),
    ),
    (
        "site.yaml",
        include_str!("../../examples/seed/policies/site.yaml"),
    ),
    (
        "windows.yaml",
        include_str!("../../examples/seed/policies/windows.yaml"),
    ),
];

fn step(title: &str) {
    println!("\n══ {title} ══\n");
}

pub(crate) fn run(global: &super::live::Global, today: Date) -> u8 {
    let dir = std::env::temp_dir().join(format!("jumpguard-demo-{}", std::process::id()));
    let policies = dir.join("policies");
    if let Err(e) = std::fs::create_dir_all(&policies) {
        eprintln!("error: cannot create {}: {e}", policies.display());
        return 1;
    }
    for (name, text) in SEED_POLICIES {
        if let Err(e) = std::fs::write(policies.join(name), text) {
            eprintln!("error: cannot write the demo policy: {e}");
            return 1;
        }
    }
    let estate: serde_json::Value = match serde_json::from_str(SEED_ESTATE) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: the embedded seed estate is invalid: {e}");
            return 1;
        }
    };
    let config = SimConfig::default();
    let sim = match Simulator::new(estate, config.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    // The simulator serves from its own runtime thread for the rest of the process.
    let (tx, rx) = std::sync::mpsc::channel();
    let serving = sim.clone();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                Ok(listener) => {
                    let _ = tx.send(listener.local_addr().ok());
                    let _ = serving.serve(listener).await;
                }
                Err(_) => {
                    let _ = tx.send(None);
                }
            }
        });
    });
    let Ok(Some(addr)) = rx.recv() else {
        eprintln!("error: cannot start the simulator on a loopback port");
        return 1;
    };
    let url = format!("http://{addr}");
    let demo = super::live::Global {
        pra_url: Some(url.clone()),
        ps_url: Some(url.clone()),
        vars: vec![
            ("JUMPGUARD_PRA_CLIENT_ID".into(), config.client_id.clone()),
            (
                "JUMPGUARD_PRA_CLIENT_SECRET".into(),
                config.client_secret.clone(),
            ),
            ("JUMPGUARD_PS_API_KEY".into(), config.ps_api_key.clone()),
            ("JUMPGUARD_PS_RUNAS".into(), config.ps_runas.clone()),
        ],
        ..global.clone()
    };
    println!(
        "jumpguard demo: a simulated PRA and Password Safe at {url}, seeded with examples/seed,"
    );
    println!(
        "and the example policy repository (written to {}).",
        policies.display()
    );

    let check = |title: &str| {
        step(title);
        super::check::run(
            super::check::CheckArgs {
                policy: policies.clone(),
                estate: None,
                format: Format::Human,
                reports: Vec::new(),
                fail_on: Severity::Low,
                no_waivers: false,
                baseline: None,
                previous: None,
            },
            &demo,
            today,
        )
    };
    let first = check("1. check: the live configuration against the policy");
    step("2. plan: what resolves the findings (deleting copies and personal items allowed)");
    let plan_file: PathBuf = dir.join("plan.json");
    let planned = super::plan::run(
        super::plan::PlanArgs {
            policy: policies.clone(),
            estate: None,
            out: Some(plan_file.clone()),
            detailed_exitcode: true,
            allow_destroy: true,
        },
        &demo,
        today,
    );
    if planned != 2 {
        eprintln!("error: the plan found nothing to do (exit {planned})");
        return 1;
    }
    step("3. apply: the plan, against the simulator");
    let applied = super::apply::run(
        super::apply::ApplyArgs {
            plan_file,
            auto_approve: true,
            policy: policies.clone(),
        },
        &demo,
        today,
    );
    let last = check("4. check again: only what needs a person is left");
    println!(
        "\nThe first check exited {first}, apply {applied}, the last check {last}. What is left is the External Jump Items\nswitch, which no API exposes: switch it off in /login > Management > Security, then attest it."
    );
    let _ = std::fs::remove_dir_all(&dir);
    if applied == 0 {
        0
    } else {
        1
    }
}
