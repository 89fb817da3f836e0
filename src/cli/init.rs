//! `jumpguard init`: a starter policy repository written from the estate as it is today, so a
//! team starts from its real configuration instead of a blank file.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use jiff::civil::Date;

use crate::estate::{Estate, JumpGroupType, JumpPolicy};
use crate::policy::hosts::HostKey;

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Start from this estate file instead of the live configuration.
    #[arg(long, value_name = "FILE")]
    pub from_estate: Option<PathBuf>,
    /// The directory to write (it must not hold policy files yet).
    #[arg(long, default_value = "policies", value_name = "DIR")]
    pub dir: PathBuf,
}

/// YAML string scalar: a JSON string is a valid double-quoted YAML scalar.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The starter policy of an estate, as YAML with comments. `schema` is the modeline's path.
pub fn starter_policy(estate: &Estate, schema: &str, today: Date) -> String {
    let pra = &estate.pra;
    let mut out = String::new();
    let _ = writeln!(out, "# yaml-language-server: $schema={schema}");
    let _ = writeln!(out, "#");
    let _ = writeln!(
        out,
        "# Starter policy written by `jumpguard init` on {today} from the live configuration."
    );
    let _ = writeln!(out, "# It describes what exists today; tighten it: decide which targets need approval and reasons,");
    let _ = writeln!(out, "# then run `jumpguard check` and `jumpguard plan`.");
    out.push_str("version: 1\n\n");
    out.push_str("# Site-wide hardening every PRA site should meet (see `jumpguard explain site-editing-role`).\n");
    out.push_str("include: [\"jumpguard:baseline\"]\n\n");

    let mut used: Vec<&JumpPolicy> = Vec::new();
    if !pra.jump_policy.is_empty() {
        out.push_str("# The jump policies as they are. Declared fields are compared exactly with the live ones.\n");
        out.push_str("jump_policies:\n");
        for p in &pra.jump_policy {
            if p.code_name.is_empty() {
                continue;
            }
            used.push(p);
            let _ = writeln!(out, "  {}:", p.code_name);
            let _ = writeln!(out, "    display_name: {}", q(&p.display_name));
            let _ = writeln!(out, "    approval:");
            let _ = writeln!(out, "      required: {}", p.approval_required);
            if p.approval_required {
                let teams: Vec<String> = p
                    .approval_team_ids
                    .iter()
                    .filter_map(|id| {
                        pra.team
                            .iter()
                            .find(|t| t.id.to_string() == *id)
                            .map(|t| q(&t.name))
                    })
                    .collect();
                let users: Vec<String> = p
                    .approval_user_ids
                    .iter()
                    .filter_map(|id| {
                        pra.user
                            .iter()
                            .find(|u| u.id.to_string() == *id)
                            .map(|u| q(&u.username))
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "      approvers: {{ teams: [{}], users: [{}] }}",
                    teams.join(", "),
                    users.join(", ")
                );
                let _ = writeln!(out, "      max_duration: {}m", p.approval_max_duration);
            }
            let _ = writeln!(out, "      self_approval: {}", p.self_approval());
            let _ = writeln!(
                out,
                "    ticket_id: {}",
                if p.ticket_id_required {
                    "required"
                } else {
                    "not_required"
                }
            );
            let _ = writeln!(
                out,
                "    recording: {}",
                if p.recordings_disabled {
                    "not_required"
                } else {
                    "required"
                }
            );
        }
        out.push('\n');
    }

    // Items of each shared group, and the jump policy they all carry (if they agree).
    let mut by_group: BTreeMap<i64, (Vec<String>, Vec<Option<i64>>)> = BTreeMap::new();
    let mut add = |group: i64, host: Option<HostKey>, policy: Option<i64>| {
        let entry = by_group.entry(group).or_default();
        if let Some(h) = host {
            let t = h.text();
            if !entry.0.contains(&t) {
                entry.0.push(t);
            }
        }
        entry.1.push(policy.filter(|p| *p != 0));
    };
    for (ty, items) in &pra.jump_item {
        for i in items
            .iter()
            .filter(|i| i.jump_group_type == JumpGroupType::Shared)
        {
            let host = if *ty == crate::estate::JumpItemType::WebJump {
                i.url
                    .as_deref()
                    .and_then(|u| u.split("://").nth(1))
                    .and_then(|r| r.split(['/', ':']).next())
                    .and_then(HostKey::parse)
            } else {
                i.hostname.as_deref().and_then(HostKey::parse)
            };
            add(i.jump_group_id, host, i.jump_policy_id);
        }
    }
    for c in pra
        .jump_client
        .iter()
        .filter(|c| c.jump_group_type == JumpGroupType::Shared)
    {
        let host = [&c.fqdn, &c.hostname, &c.private_ip]
            .into_iter()
            .find_map(|f| f.as_deref().and_then(HostKey::parse));
        add(c.jump_group_id, host, c.jump_policy_id);
    }
    let common = |policies: &[Option<i64>]| -> Option<&JumpPolicy> {
        let first = policies.first().copied().flatten()?;
        policies
            .iter()
            .all(|p| *p == Some(first))
            .then(|| used.iter().copied().find(|p| p.id == first))
            .flatten()
    };
    if !pra.jump_group.is_empty() {
        out.push_str("# The shared jump groups. `jump_policy` is set where every item of the group carries the same one.\n");
        out.push_str("jump_groups:\n");
        for g in pra.jump_group.iter().filter(|g| !g.code_name.is_empty()) {
            let _ = writeln!(out, "  {}:", g.code_name);
            let _ = writeln!(out, "    name: {}", q(&g.name));
            match by_group.get(&g.id).and_then(|(_, p)| common(p)) {
                Some(p) => {
                    let _ = writeln!(out, "    jump_policy: {}", p.code_name);
                }
                None => {
                    let _ = writeln!(out, "    # jump_policy: <the code name of the policy every path into this group must carry>");
                }
            }
        }
        out.push('\n');
    }
    out.push_str("# One target per shared jump group, with the hosts its items reach today. Merge, split and\n");
    out.push_str("# rename them; use globs (*.dc.corp.example) and CIDRs (10.20.1.0/24) to keep them short.\n");
    out.push_str("targets:\n");
    let mut any = false;
    for g in pra.jump_group.iter().filter(|g| !g.code_name.is_empty()) {
        let Some((hosts, policies)) = by_group.get(&g.id) else {
            continue;
        };
        if hosts.is_empty() {
            continue;
        }
        any = true;
        let guarded = common(policies).is_some_and(|p| p.approval_required);
        let _ = writeln!(out, "  - name: {}", g.code_name);
        let _ = writeln!(
            out,
            "    hosts: [{}]",
            hosts.iter().map(|h| q(h)).collect::<Vec<_>>().join(", ")
        );
        let _ = writeln!(out, "    jump_groups: [{}]", g.code_name);
        if guarded {
            out.push_str("    approval: required           # every item of the group requires approval today\n");
        } else {
            out.push_str("    approval: not_required       # decide: should reaching these hosts need an approval?\n");
        }
    }
    if !any {
        out.push_str("  []\n");
    }
    out.push('\n');
    out.push_str("unmanaged: warn\n\n");
    if estate.ps.is_some() {
        out.push_str("# The user groups the Endpoint Credential Manager signs in with.\n");
        let _ = writeln!(
            out,
            "password_safe:\n  ecm:\n    user_groups: [{}]\n",
            q(crate::policy::DEFAULT_ECM_USER_GROUP)
        );
    }
    out.push_str(
        "# Settings no API exposes: check them in the PRA web interface and attest them, e.g.\n",
    );
    out.push_str("# attestations:\n");
    let _ = writeln!(out, "#   - {{ setting: pra.allow_search_external_jump_items, value: false, by: you@corp.example, attested_on: {today}, expires: {} }}", today.saturating_add(jiff::Span::new().days(90)));
    out
}

pub(crate) fn run(args: InitArgs, global: &super::live::Global, today: Date) -> u8 {
    if args.dir.is_dir() {
        let has_yaml = std::fs::read_dir(&args.dir)
            .map(|d| {
                d.flatten().any(|e| {
                    e.path()
                        .extension()
                        .is_some_and(|x| x == "yaml" || x == "yml")
                })
            })
            .unwrap_or(false);
        if has_yaml {
            eprintln!("error: {} already holds policy files; init writes a new policy repository (use --dir)", args.dir.display());
            return super::EXIT_ERROR;
        }
    }
    let estate = match &args.from_estate {
        Some(path) => match Estate::load(path) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return super::EXIT_ERROR;
            }
        },
        None => match super::live::fetch_estate(global, None) {
            Ok(e) => e,
            Err(code) => return code,
        },
    };
    if let Err(e) = std::fs::create_dir_all(&args.dir) {
        eprintln!("error: cannot create {}: {e}", args.dir.display());
        return super::EXIT_ERROR;
    }
    let file = args.dir.join("jumpguard.yaml");
    // The schema travels with the repository, so editors check files without network access.
    let schema_file = args.dir.join("jumpguard-policy.schema.json");
    let schema = serde_json::to_string_pretty(&crate::policy::schema()).unwrap_or_default() + "\n";
    if let Err(e) = std::fs::write(&schema_file, schema) {
        eprintln!("error: cannot write {}: {e}", schema_file.display());
        return super::EXIT_ERROR;
    }
    let text = starter_policy(&estate, "jumpguard-policy.schema.json", today);
    if let Err(e) = std::fs::write(&file, text) {
        eprintln!("error: cannot write {}: {e}", file.display());
        return super::EXIT_ERROR;
    }
    eprintln!(
        "wrote {}; next: `jumpguard validate -p {}` and `jumpguard check -p {}`",
        file.display(),
        args.dir.display(),
        args.dir.display()
    );
    0
}
