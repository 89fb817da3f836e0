//! The estate generator (issue 7): at 10,000 jump items, evaluation finds every planted
//! violation and nothing else, the same seed gives the same estate, and the estate has the
//! proportions the benchmark claims.

use std::collections::BTreeSet;

use jumpguard::analysis::{evaluate, Options};
use jumpguard::estate::Estate;
use jumpguard::generate::{generate, Triple, AS_OF};
use jumpguard::rules::Severity;

const N: usize = 10_000;

fn found(g: &jumpguard::generate::Generated) -> BTreeSet<Triple> {
    let today = AS_OF.parse().unwrap();
    let policy = jumpguard::policy::load_str("generated.yaml", &g.policy_yaml, today)
        .unwrap_or_else(|e| panic!("the generated policy is invalid: {e:?}"));
    let estate: Estate = serde_json::from_value(g.estate.clone()).unwrap();
    let report = evaluate(
        &policy,
        &estate,
        Options {
            today,
            fail_on: Severity::Low,
            no_waivers: false,
        },
    );
    report
        .findings
        .iter()
        .map(|f| (f.rule.id().to_string(), f.target.clone(), f.host.clone()))
        .collect()
}

#[test]
fn every_planted_violation_is_found_and_nothing_else() {
    let started = std::time::Instant::now();
    let g = generate(N, 7);
    let generated = started.elapsed();
    let found = found(&g);
    eprintln!(
        "generate {N}: {generated:?}; load and evaluate: {:?}",
        started.elapsed() - generated
    );
    let planted: BTreeSet<Triple> = g.planted.iter().cloned().collect();
    let rules: BTreeSet<&str> = planted.iter().map(|(r, _, _)| r.as_str()).collect();
    for rule in [
        "approval-missing",
        "membership-override",
        "personal-jump-item",
        "unsanctioned-jump-group",
        "ps-approval-missing",
        "ps-isa-bypass",
        "external-search-bypass",
        "unmanaged-host",
    ] {
        assert!(rules.contains(rule), "nothing of {rule} is planted");
    }
    let missing: Vec<_> = planted.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&planted).collect();
    assert!(missing.is_empty(), "planted but not found: {missing:#?}");
    assert!(
        unexpected.is_empty(),
        "found but not planted: {unexpected:#?}"
    );
}

#[test]
fn smaller_estates_and_other_seeds_find_exactly_what_is_planted_too() {
    for (n, seed) in [(1000, 2), (2500, 3), (4000, 11)] {
        let g = generate(n, seed);
        let planted: BTreeSet<Triple> = g.planted.iter().cloned().collect();
        assert!(!planted.is_empty(), "{n}/{seed}: nothing planted");
        assert_eq!(found(&g), planted, "{n} items, seed {seed}");
    }
}

#[test]
fn the_same_seed_gives_the_same_estate_and_another_seed_another() {
    let a = generate(N, 42);
    let b = generate(N, 42);
    let c = generate(N, 43);
    assert_eq!(
        serde_json::to_string(&a.estate).unwrap(),
        serde_json::to_string(&b.estate).unwrap()
    );
    assert_eq!(a.policy_yaml, b.policy_yaml);
    assert_eq!(a.planted, b.planted);
    assert_ne!(
        serde_json::to_string(&a.estate).unwrap(),
        serde_json::to_string(&c.estate).unwrap()
    );
}

#[test]
fn the_estate_has_the_proportions_of_issue_7() {
    let g = generate(N, 1);
    let e = &g.estate;
    let len = |half: &str, c: &str| e[half][c].as_array().map_or(0, Vec::len);
    let items: usize = e["pra"]["jump_item"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_array().unwrap().len())
        .sum::<usize>()
        + len("pra", "jump_client");
    assert_eq!(items, N);
    let types = e["pra"]["jump_item"].as_object().unwrap().len();
    assert_eq!(types, 8, "every jump item type");
    let personal = e["pra"]["jump_item"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().unwrap())
        .chain(e["pra"]["jump_client"].as_array().unwrap())
        .filter(|i| i["jump_group_type"] == "personal")
        .count();
    assert!(
        personal > 0 && personal < N / 20,
        "{personal} personal items"
    );
    assert_eq!(len("pra", "jump_group"), N / 50);
    // The declared jump policies, and one undeclared quick-access policy.
    assert_eq!(len("pra", "jump_policy"), N / 200 + 1);
    assert_eq!(len("pra", "group_policy"), N / 100);
    assert!(len("pra", "group_policy_jump_group") >= 2 * N / 100);
    assert_eq!(len("ps", "managed_systems"), N / 2);
    let accounts = len("ps", "managed_accounts");
    assert!(
        (N / 2..=3 * N / 2).contains(&accounts),
        "{accounts} accounts: one to three per system"
    );
    assert!(len("ps", "smart_rules") >= N / 100);
    assert!(len("ps", "user_groups") > 2);
    assert!(len("ps", "access_policies") >= 3);
    let today = AS_OF.parse().unwrap();
    let policy = jumpguard::policy::load_str("generated.yaml", &g.policy_yaml, today).unwrap();
    assert_eq!(policy.targets.len(), N / 100);
    let kinds: BTreeSet<&str> = policy
        .targets
        .iter()
        .flat_map(|t| &t.hosts)
        .map(|(p, _)| match p {
            jumpguard::policy::hosts::HostPattern::Name(_) => "name",
            jumpguard::policy::hosts::HostPattern::Addr(_) => "address",
            jumpguard::policy::hosts::HostPattern::Cidr(_) => "cidr",
            jumpguard::policy::hosts::HostPattern::Glob { .. } => "glob",
        })
        .collect();
    assert_eq!(
        kinds.len(),
        4,
        "targets use names, addresses, CIDRs and globs"
    );
}

#[test]
fn the_simulator_serves_a_generated_estate() {
    let g = generate(1000, 3);
    jumpguard::sim::Simulator::new(g.estate, jumpguard::sim::SimConfig::default())
        .expect("the simulator accepts the generated estate");
}
