//! One firing case and one near miss for every rule of the catalogue (DESIGN.md §4, §4.1).
//!
//! Each rule has a fixture `case::<rule>(fire)` that returns a policy and an estate (in the vendor
//! shape of `../shared/conformance/README.md`). With `fire == false` it is the near miss: the same
//! fixture with the one thing that makes the rule fire changed back. `<rule>_fires` asserts the exact
//! set of unwaived `(rule, target, host)` triples; `<rule>_near_miss` asserts that the rule is absent
//! (and, where that is short, the exact remaining set).
//!
//! Every evaluation runs on 2026-12-01 with `fail_on: low` and waivers applied.

use jiff::civil::Date;
use jumpguard::analysis::{evaluate, Options, Report};
use jumpguard::estate::Estate;
use jumpguard::policy::load_str;
use jumpguard::rules::{Rule, Severity};
use serde_json::{json, Value};

type Hit = (Rule, Option<String>, Option<String>);

fn today() -> Date {
    "2026-12-01".parse().unwrap()
}

fn run_with(policy_yaml: &str, estate_json: &str, no_waivers: bool) -> Report {
    let today = today();
    let policy = match load_str("policy.yaml", policy_yaml, today) {
        Ok(p) => p,
        Err(e) => panic!(
            "invalid policy: {:?}\n---\n{policy_yaml}",
            e.problems
                .iter()
                .map(|p| format!("{p:?}"))
                .collect::<Vec<_>>()
        ),
    };
    let estate = Estate::from_json(estate_json.as_bytes(), "estate.json").unwrap();
    evaluate(
        &policy,
        &estate,
        Options {
            today,
            fail_on: Severity::Low,
            no_waivers,
        },
    )
}

fn run(policy_yaml: &str, estate_json: &str) -> Report {
    run_with(policy_yaml, estate_json, false)
}

/// The unwaived findings as a sorted set of `(rule, target, host)`.
fn fired(policy_yaml: &str, estate_json: &str) -> Vec<Hit> {
    triples(&run(policy_yaml, estate_json))
}

fn triples(report: &Report) -> Vec<Hit> {
    let mut v: Vec<Hit> = report
        .unwaived()
        .map(|f| (f.rule, f.target.clone(), f.host.clone()))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A triple, with `-` for null as `check.py` writes it.
fn hit(rule: Rule, target: &str, host: &str) -> Hit {
    let opt = |s: &str| (s != "-").then(|| s.to_string());
    (rule, opt(target), opt(host))
}

fn sorted(mut v: Vec<Hit>) -> Vec<Hit> {
    v.sort();
    v
}

fn rules_of(hits: &[Hit]) -> Vec<Rule> {
    hits.iter().map(|h| h.0).collect()
}

/// Asserts the exact set of unwaived findings of a fixture.
fn assert_fired((policy, estate): (String, String), expected: Vec<Hit>) {
    assert_eq!(
        fired(&policy, &estate),
        sorted(expected),
        "\npolicy:\n{policy}\nestate:\n{estate}"
    );
}

/// Asserts that `rule` is absent from a fixture's unwaived findings, and that exactly `rest` remains.
fn assert_near_miss((policy, estate): (String, String), rule: Rule, rest: Vec<Hit>) {
    let got = fired(&policy, &estate);
    assert!(
        !rules_of(&got).contains(&rule),
        "{rule} fired in the near miss: {got:?}"
    );
    assert_eq!(got, sorted(rest), "\npolicy:\n{policy}\nestate:\n{estate}");
}

/// The two attestations that keep UI-only settings out of the way (as the conformance cases do).
const ATTESTATIONS: &str = "\
attestations:
  - { setting: pra.allow_search_external_jump_items, value: false, by: pam-team@corp.example, attested_on: 2026-11-20, expires: 2027-06-30 }
  - { setting: pra.local_and_remote_jump_items_present, value: false, by: pam-team@corp.example, attested_on: 2026-11-20, expires: 2027-06-30 }
";

/// `version: 1`, the body, then [`ATTESTATIONS`].
fn attested(body: &str) -> String {
    format!("version: 1\n{body}{ATTESTATIONS}")
}

const APP: &str = "app-servers";
const A1: &str = "srv-a1.corp.example";
const DC: &str = "domain-controllers";
const DC1: &str = "srv-dc1.corp.example";

/// A compliant PRA estate: one RDP item `srv-a1.corp.example` in the shared group `servers`,
/// reached through one user membership ("Set on Jump Items", a start-only role), guarded by
/// jump policy 1 (approval, not the requester). Jump policy 2 requires no approval.
fn pra() -> Value {
    json!({
        "pra": {
            "jump_policy": [
                {"id": 1, "display_name": "Approval", "code_name": "approval", "approval_required": true, "approval_approver_scope": "not_requestor"},
                {"id": 2, "display_name": "Quick access", "code_name": "quick_access", "approval_required": false}
            ],
            "jump_item_role": [
                {"id": 1, "name": "Start Sessions Only", "perm_start": true}
            ],
            "user": [
                {"id": 1, "username": "ines", "default_jump_item_role_id": 1}
            ],
            "jump_group": [
                {"id": 1, "name": "Servers", "code_name": "servers"}
            ],
            "jump_group_user": [
                {"jump_group_id": 1, "user_id": 1, "jump_item_role_id": null, "jump_policy_id": null}
            ],
            "jump_item": {
                "remote-rdp": [
                    {"id": 1, "name": "srv-a1", "hostname": A1, "jump_group_id": 1, "jump_group_type": "shared", "jump_policy_id": 1}
                ]
            }
        }
    })
}

/// A Password Safe estate (no PRA objects) that is compliant for any requirement: the account
/// `Administrator` on `srv-dc1.corp.example` is in smart rule 1, on which the human group
/// `Server Admins` is Requestor under an access policy whose only schedule needs one approver, a
/// reason and a ticket from the active default ticket system.
fn ps() -> Value {
    json!({
        "pra": {},
        "ps": {
            "managed_systems": [
                {"ManagedSystemID": 1, "SystemName": DC1, "HostName": DC1, "IPAddress": "10.20.1.11"}
            ],
            "managed_accounts": [
                {"ManagedAccountID": 1, "ManagedSystemID": 1, "AccountName": "Administrator", "ApiEnabled": true}
            ],
            "smart_rules": [
                {"SmartRuleID": 1, "Title": "DC accounts", "_managed_account_ids": [1]}
            ],
            "user_groups": [
                {"GroupID": 1, "Name": "Server Admins", "IsActive": true}
            ],
            "role_assignments": [
                {"UserGroupID": 1, "SmartRuleID": 1, "Roles": [{"RoleID": 1, "Name": "Requestor"}], "AccessPolicyID": 1}
            ],
            "access_policies": [
                {
                    "AccessPolicyID": 1,
                    "Name": "DC approval",
                    "Schedules": [
                        {
                            "ScheduleID": 11,
                            "RequireReason": true,
                            "RequireTicketSystem": true,
                            "TicketSystemID": 1,
                            "AccessTypes": [{"AccessType": "View", "IsSession": false, "RecordSession": false, "MinApprovers": 1, "MaxConcurrent": 1}]
                        }
                    ]
                }
            ],
            "ticket_systems": [
                {"TicketSystemID": 1, "TicketSystemName": "ServiceNow", "IsActive": true, "IsDefaultSystem": true}
            ]
        }
    })
}

/// The single access type of the single schedule of [`ps`].
fn access_type(e: &mut Value) -> &mut Value {
    &mut e["ps"]["access_policies"][0]["Schedules"][0]["AccessTypes"][0]
}

fn schedule(e: &mut Value) -> &mut Value {
    &mut e["ps"]["access_policies"][0]["Schedules"][0]
}

fn item(e: &mut Value) -> &mut Value {
    &mut e["pra"]["jump_item"]["remote-rdp"][0]
}

fn app_target(needs: &str) -> String {
    format!("targets:\n  - name: {APP}\n    hosts: [\"{A1}\"]\n{needs}")
}

fn dc_target(needs: &str) -> String {
    format!("targets:\n  - name: {DC}\n    hosts: [\"{DC1}\"]\n{needs}")
}

const APPROVAL: &str = "    approval: required\n";
const COMMENT: &str = "    reason: { comment: required }\n";
const TICKET: &str = "    reason: { ticket_id: required }\n";

mod case {
    //! The fixtures: `fire == true` fires the rule, `false` is the near miss.

    use super::*;

    /// Path 3: the ECM group can release the account and external search is attested on (near
    /// miss: attested off).
    pub fn external_search_bypass(fire: bool) -> (String, String) {
        let policy = format!(
            "version: 1\n{}attestations:\n  - {{ setting: pra.allow_search_external_jump_items, value: {fire}, by: pam-team@corp.example, attested_on: 2026-11-20, expires: 2027-06-30 }}\n  - {{ setting: pra.local_and_remote_jump_items_present, value: false, by: pam-team@corp.example, attested_on: 2026-11-20, expires: 2027-06-30 }}\n",
            dc_target(APPROVAL)
        );
        let mut e = ps();
        e["ps"]["user_groups"][0]["Name"] = json!("Secure Remote Access Requesters");
        (policy, e.to_string())
    }

    /// Path 1 guarded by a policy without approval (near miss: the approval policy).
    pub fn approval_missing(fire: bool) -> (String, String) {
        let mut e = pra();
        item(&mut e)["jump_policy_id"] = json!(if fire { 2 } else { 1 });
        (attested(&app_target(APPROVAL)), e.to_string())
    }

    /// The membership overrides the item's approval policy with one without approval (near miss:
    /// it overrides with the approval policy).
    pub fn membership_override(fire: bool) -> (String, String) {
        let mut e = pra();
        e["pra"]["jump_group_user"][0]["jump_policy_id"] = json!(if fire { 2 } else { 1 });
        (attested(&app_target(APPROVAL)), e.to_string())
    }

    /// A personal item reaches an approval-required target, even with the approval policy on it
    /// (near miss: the same item in the shared group).
    pub fn personal_jump_item(fire: bool) -> (String, String) {
        let mut e = pra();
        if fire {
            item(&mut e)["jump_group_type"] = json!("personal");
        }
        (attested(&app_target(APPROVAL)), e.to_string())
    }

    /// Path 5 with `MinApprovers: 0` (near miss: 1).
    pub fn ps_approval_missing(fire: bool) -> (String, String) {
        let mut e = ps();
        access_type(&mut e)["MinApprovers"] = json!(if fire { 0 } else { 1 });
        (attested(&dc_target(APPROVAL)), e.to_string())
    }

    /// Path 6: ISA on the smart rule (near miss: Approver, which opens no path).
    /// The target forbids API release; its account is ApiEnabled (near miss: it is not).
    pub fn ps_api_enabled(fire: bool) -> (String, String) {
        let mut e = ps();
        e["ps"]["managed_accounts"][0]["ApiEnabled"] = json!(fire);
        (
            attested(&dc_target("    password_safe_api: forbidden\n")),
            e.to_string(),
        )
    }

    pub fn ps_isa_bypass(fire: bool) -> (String, String) {
        let mut e = ps();
        let role = if fire { "ISA" } else { "Approver" };
        e["ps"]["role_assignments"][0] = json!({"UserGroupID": 1, "SmartRuleID": 1, "Roles": [{"RoleID": 4, "Name": role}], "AccessPolicyID": null});
        (attested(&dc_target(APPROVAL)), e.to_string())
    }

    /// The item sits in `legacy`, the target lists only `servers` (near miss: it sits in `servers`).
    pub fn unsanctioned_jump_group(fire: bool) -> (String, String) {
        let mut e = pra();
        e["pra"]["jump_group"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 2, "name": "Legacy", "code_name": "legacy"}));
        item(&mut e)["jump_group_id"] = json!(if fire { 2 } else { 1 });
        // A target's jump_groups must be declared (the loader checks that).
        let body = format!(
            "jump_groups:\n  servers:\n    name: Servers\n{}",
            app_target("    jump_groups: [servers]\n")
        );
        (attested(&body), e.to_string())
    }

    /// The approval policy lets requesters approve themselves (near miss: `not_requestor`).
    pub fn self_approval(fire: bool) -> (String, String) {
        let mut e = pra();
        e["pra"]["jump_policy"][0]["approval_approver_scope"] =
            json!(if fire { "anyone" } else { "not_requestor" });
        (attested(&app_target(APPROVAL)), e.to_string())
    }

    /// The membership's role can edit the jump policy (near miss: it can only remove items).
    pub fn policy_editable(fire: bool) -> (String, String) {
        let mut e = pra();
        let perm = if fire {
            "perm_edit_jump_policy"
        } else {
            "perm_remove"
        };
        let mut role = json!({"id": 2, "name": "Editor", "perm_start": true});
        role[perm] = json!(true);
        e["pra"]["jump_item_role"]
            .as_array_mut()
            .unwrap()
            .push(role);
        e["pra"]["jump_group_user"][0]["jump_item_role_id"] = json!(2);
        (attested(&app_target(APPROVAL)), e.to_string())
    }

    /// Run level: `pra.local_and_remote_jump_items_present` is not attested while a target has a
    /// requirement (near miss: it is attested false).
    pub fn unverified_setting(fire: bool) -> (String, String) {
        let mut policy = attested(&app_target(APPROVAL));
        if fire {
            policy = policy
                .lines()
                .filter(|l| !l.contains("local_and_remote"))
                .collect::<Vec<_>>()
                .join("\n")
                + "\n";
        }
        (policy, pra().to_string())
    }

    /// Per path: the jump policy demands a ticket ID but the ticket system is not attested (near
    /// miss: attested true).
    pub fn unverified_setting_per_path(fire: bool) -> (String, String) {
        let mut e = pra();
        e["pra"]["jump_policy"][0]["ticket_id_required"] = json!(true);
        let mut policy = attested(&app_target(TICKET));
        if !fire {
            policy.push_str("  - { setting: pra.ticket_system_configured, value: true, by: pam-team@corp.example, attested_on: 2026-11-20, expires: 2027-06-30 }\n");
        }
        (policy, e.to_string())
    }

    /// The jump policy demands no ticket ID (near miss: it does, and the ticket system is
    /// attested configured in both).
    pub fn ticket_id_missing(fire: bool) -> (String, String) {
        let mut e = pra();
        e["pra"]["jump_policy"][0]["ticket_id_required"] = json!(!fire);
        let mut policy = attested(&app_target(TICKET));
        policy.push_str("  - { setting: pra.ticket_system_configured, value: true, by: pam-team@corp.example, attested_on: 2026-11-20, expires: 2027-06-30 }\n");
        (policy, e.to_string())
    }

    /// A comment-required target behind a policy without approval (near miss: the approval policy).
    pub fn reason_missing(fire: bool) -> (String, String) {
        let mut e = pra();
        item(&mut e)["jump_policy_id"] = json!(if fire { 2 } else { 1 });
        (attested(&app_target(COMMENT)), e.to_string())
    }

    /// Path 5 with `RequireReason: false` (near miss: true).
    pub fn ps_reason_missing(fire: bool) -> (String, String) {
        let mut e = ps();
        schedule(&mut e)["RequireReason"] = json!(!fire);
        (attested(&dc_target(COMMENT)), e.to_string())
    }

    /// Path 5 with `RequireTicketSystem: false` (near miss: true, with the active ticket system).
    pub fn ps_ticket_missing(fire: bool) -> (String, String) {
        let mut e = ps();
        schedule(&mut e)["RequireTicketSystem"] = json!(!fire);
        (attested(&dc_target(TICKET)), e.to_string())
    }

    /// `servers` is declared to be guarded by `approval`; the item carries `quick_access` (near
    /// miss: it carries `approval`). The target has no requirement, so only this rule can fire.
    pub fn group_policy_mismatch(fire: bool) -> (String, String) {
        let mut e = pra();
        item(&mut e)["jump_policy_id"] = json!(if fire { 2 } else { 1 });
        let body = format!(
            "jump_policies:\n  approval:\n    display_name: Approval\njump_groups:\n  servers:\n    jump_policy: approval\n{}",
            app_target("")
        );
        (attested(&body), e.to_string())
    }

    /// The declared policy requires approval; the live one does not (near miss: it does).
    pub fn jump_policy_drift(fire: bool) -> (String, String) {
        let mut e = pra();
        e["pra"]["jump_policy"][0]["approval_required"] = json!(!fire);
        let body = format!(
            "jump_policies:\n  approval:\n    approval: {{ required: true }}\n{}",
            app_target("")
        );
        (attested(&body), e.to_string())
    }

    /// `servers` is declared and does not exist live (near miss: it does).
    pub fn jump_group_missing(fire: bool) -> (String, String) {
        let mut e = pra();
        if fire {
            e["pra"]["jump_group"][0]["code_name"] = json!("servers_old");
        }
        let body = format!(
            "jump_groups:\n  servers:\n    name: Servers\n{}",
            app_target("")
        );
        (attested(&body), e.to_string())
    }

    /// The target names a host no item reaches (near miss: the item reaches it).
    pub fn target_not_found(fire: bool) -> (String, String) {
        let mut e = pra();
        if fire {
            e["pra"]["jump_item"] = json!({});
        }
        (attested(&app_target("")), e.to_string())
    }

    /// A declared credential with no live account of that name (near miss: the right name).
    pub fn credential_not_found(fire: bool) -> (String, String) {
        let mut e = ps();
        if fire {
            e["ps"]["managed_accounts"][0]["AccountName"] = json!("root");
        }
        let body = dc_target(
            "    credentials:\n      - { system: SRV-DC1.corp.example, account: administrator }\n",
        );
        (attested(&body), e.to_string())
    }

    /// A waiver of the approval-missing finding expired yesterday (near miss: it expires today,
    /// which is still valid).
    pub fn waiver_expired(fire: bool) -> (String, String) {
        let mut e = pra();
        item(&mut e)["jump_policy_id"] = json!(2);
        let expires = if fire { "2026-11-30" } else { "2026-12-01" };
        let body = format!(
            "{}waivers:\n  - rule: approval-missing\n    target: {APP}\n    reason: \"Migration in progress\"\n    owner: pam-team@corp.example\n    expires: {expires}\n",
            app_target(APPROVAL)
        );
        (attested(&body), e.to_string())
    }

    /// The only attestation of `pra.local_and_remote_jump_items_present` expired yesterday (near
    /// miss: it expires today). The target has no requirement, so no unverified-setting follows.
    pub fn attestation_expired(fire: bool) -> (String, String) {
        let expires = if fire { "2026-11-30" } else { "2026-12-01" };
        let policy = format!(
            "version: 1\n{}attestations:\n  - {{ setting: pra.allow_search_external_jump_items, value: false, by: pam-team@corp.example, attested_on: 2026-11-20, expires: 2027-06-30 }}\n  - {{ setting: pra.local_and_remote_jump_items_present, value: false, by: pam-team@corp.example, attested_on: 2026-06-01, expires: {expires} }}\n",
            app_target("")
        );
        (policy, pra().to_string())
    }

    /// A second item reaches `srv-x9`, which no target names (near miss: the target names it too).
    pub fn unmanaged_host(fire: bool) -> (String, String) {
        let mut e = pra();
        e["pra"]["jump_item"]["remote-rdp"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 2, "name": "srv-x9", "hostname": "SRV-X9.corp.example.", "jump_group_id": 1, "jump_group_type": "shared", "jump_policy_id": 1}));
        let hosts = if fire {
            format!("[\"{A1}\"]")
        } else {
            format!("[\"{A1}\", \"srv-x9.corp.example\"]")
        };
        let body = format!("targets:\n  - name: {APP}\n    hosts: {hosts}\n");
        (attested(&body), e.to_string())
    }

    /// A waiver of self-approval for a target where no self-approval exists (near miss: the
    /// policy allows self-approval, and the waiver covers it).
    pub fn waiver_unused(fire: bool) -> (String, String) {
        let mut e = pra();
        e["pra"]["jump_policy"][0]["approval_approver_scope"] =
            json!(if fire { "not_requestor" } else { "anyone" });
        let body = format!(
            "{}waivers:\n  - rule: self-approval\n    target: {APP}\n    reason: \"Approver team being staffed\"\n    owner: pam-team@corp.example\n    expires: 2027-01-31\n",
            app_target(APPROVAL)
        );
        (attested(&body), e.to_string())
    }

    /// `site.self_approval: forbidden` and a live policy with scope `anyone` (near miss:
    /// `not_requestor`). No target.
    pub fn site_self_approval(fire: bool) -> (String, String) {
        let scope = if fire { "anyone" } else { "not_requestor" };
        let e = json!({"pra": {"jump_policy": [
            {"id": 1, "display_name": "Approval", "code_name": "approval", "approval_required": true, "approval_approver_scope": scope}
        ]}});
        (
            attested("site:\n  self_approval: forbidden\n"),
            e.to_string(),
        )
    }

    /// `site.recordings: required` and a live policy without recordings (near miss: with).
    pub fn site_recordings_disabled(fire: bool) -> (String, String) {
        let e = json!({"pra": {"jump_policy": [
            {"id": 1, "display_name": "Unrecorded", "code_name": "unrecorded", "recordings_disabled": fire}
        ]}});
        (attested("site:\n  recordings: required\n"), e.to_string())
    }

    /// `site.editing_roles: forbidden` and a membership whose role can move items (near miss: the
    /// role can only remove them). No items, no target.
    pub fn site_editing_role(fire: bool) -> (String, String) {
        let perm = if fire {
            "perm_assign_jump_group"
        } else {
            "perm_remove"
        };
        let mut role = json!({"id": 2, "name": "Mover", "perm_start": true});
        role[perm] = json!(true);
        let e = json!({"pra": {
            "jump_item_role": [role],
            "user": [{"id": 1, "username": "ines", "default_jump_item_role_id": 2}],
            "jump_group": [{"id": 1, "name": "Servers", "code_name": "servers"}],
            "jump_group_user": [{"jump_group_id": 1, "user_id": 1, "jump_item_role_id": null, "jump_policy_id": null}]
        }});
        (
            attested("site:\n  editing_roles: forbidden\n"),
            e.to_string(),
        )
    }

    /// `site.personal_jump_items: forbidden` and a personal item (near miss: the item is shared).
    /// `unmanaged: ignore` keeps unmanaged-host out of it.
    pub fn site_personal_jump_item(fire: bool) -> (String, String) {
        let mut e = pra();
        e["pra"]["jump_item"] = json!({"shell-jump": [
            {"id": 1, "name": "lab-pc", "hostname": "LAB-PC.corp.example.", "jump_group_id": 1,
             "jump_group_type": if fire { "personal" } else { "shared" }, "jump_policy_id": null}
        ]});
        (
            attested("unmanaged: ignore\nsite:\n  personal_jump_items: forbidden\n"),
            e.to_string(),
        )
    }
}

// ---- the catalogue ---------------------------------------------------------------------------

/// The rules this file tests. A rule added to the catalogue must be added here, with its two tests.
const COVERED: [Rule; 28] = [
    Rule::ExternalSearchBypass,
    Rule::ApprovalMissing,
    Rule::MembershipOverride,
    Rule::PersonalJumpItem,
    Rule::PsApprovalMissing,
    Rule::PsIsaBypass,
    Rule::UnsanctionedJumpGroup,
    Rule::SelfApproval,
    Rule::PolicyEditable,
    Rule::UnverifiedSetting,
    Rule::TicketIdMissing,
    Rule::ReasonMissing,
    Rule::PsReasonMissing,
    Rule::PsTicketMissing,
    Rule::GroupPolicyMismatch,
    Rule::JumpPolicyDrift,
    Rule::JumpGroupMissing,
    Rule::TargetNotFound,
    Rule::CredentialNotFound,
    Rule::PsApiEnabled,
    Rule::WaiverExpired,
    Rule::AttestationExpired,
    Rule::UnmanagedHost,
    Rule::WaiverUnused,
    Rule::SiteSelfApproval,
    Rule::SiteRecordingsDisabled,
    Rule::SiteEditingRole,
    Rule::SitePersonalJumpItem,
];

#[test]
fn catalogue_has_28_rules_all_covered() {
    assert_eq!(
        Rule::ALL.len(),
        28,
        "a rule was added or removed: give it a _fires and a _near_miss test here"
    );
    let mut all = Rule::ALL.to_vec();
    all.sort();
    let mut covered = COVERED.to_vec();
    covered.sort();
    covered.dedup();
    assert_eq!(all, covered);
}

// ---- critical --------------------------------------------------------------------------------

#[test]
fn external_search_bypass_fires() {
    let (p, e) = case::external_search_bypass(true);
    assert_fired(
        (p.clone(), e.clone()),
        vec![
            hit(Rule::ExternalSearchBypass, DC, DC1),
            hit(Rule::TargetNotFound, DC, "-"),
        ],
    );
    assert_eq!(run(&p, &e).exit_code(), 1);
}

#[test]
fn external_search_bypass_near_miss() {
    assert_near_miss(
        case::external_search_bypass(false),
        Rule::ExternalSearchBypass,
        vec![hit(Rule::TargetNotFound, DC, "-")],
    );
}

#[test]
fn approval_missing_fires() {
    assert_fired(
        case::approval_missing(true),
        vec![hit(Rule::ApprovalMissing, APP, A1)],
    );
}

#[test]
fn approval_missing_near_miss() {
    assert_near_miss(case::approval_missing(false), Rule::ApprovalMissing, vec![]);
}

#[test]
fn membership_override_fires() {
    // It replaces approval-missing on its path.
    assert_fired(
        case::membership_override(true),
        vec![hit(Rule::MembershipOverride, APP, A1)],
    );
}

#[test]
fn membership_override_near_miss() {
    assert_near_miss(
        case::membership_override(false),
        Rule::MembershipOverride,
        vec![],
    );
}

#[test]
fn personal_jump_item_fires() {
    // target-not-found counts shared items only.
    assert_fired(
        case::personal_jump_item(true),
        vec![
            hit(Rule::PersonalJumpItem, APP, A1),
            hit(Rule::TargetNotFound, APP, "-"),
        ],
    );
}

#[test]
fn personal_jump_item_near_miss() {
    assert_near_miss(
        case::personal_jump_item(false),
        Rule::PersonalJumpItem,
        vec![],
    );
}

#[test]
fn ps_approval_missing_fires() {
    assert_fired(
        case::ps_approval_missing(true),
        vec![
            hit(Rule::PsApprovalMissing, DC, DC1),
            hit(Rule::TargetNotFound, DC, "-"),
        ],
    );
}

#[test]
fn ps_approval_missing_near_miss() {
    assert_near_miss(
        case::ps_approval_missing(false),
        Rule::PsApprovalMissing,
        vec![hit(Rule::TargetNotFound, DC, "-")],
    );
}

#[test]
fn ps_api_enabled_fires() {
    assert_fired(
        case::ps_api_enabled(true),
        vec![
            hit(Rule::PsApiEnabled, DC, DC1),
            hit(Rule::TargetNotFound, DC, "-"),
        ],
    );
}

#[test]
fn ps_api_enabled_near_miss() {
    assert_near_miss(
        case::ps_api_enabled(false),
        Rule::PsApiEnabled,
        vec![hit(Rule::TargetNotFound, DC, "-")],
    );
}

#[test]
fn ps_isa_bypass_fires() {
    assert_fired(
        case::ps_isa_bypass(true),
        vec![
            hit(Rule::PsIsaBypass, DC, DC1),
            hit(Rule::TargetNotFound, DC, "-"),
        ],
    );
}

#[test]
fn ps_isa_bypass_near_miss() {
    assert_near_miss(
        case::ps_isa_bypass(false),
        Rule::PsIsaBypass,
        vec![hit(Rule::TargetNotFound, DC, "-")],
    );
}

// ---- high ------------------------------------------------------------------------------------

#[test]
fn unsanctioned_jump_group_fires() {
    // The item outside the target's jump_groups does not count as found either.
    assert_fired(
        case::unsanctioned_jump_group(true),
        vec![
            hit(Rule::UnsanctionedJumpGroup, APP, A1),
            hit(Rule::TargetNotFound, APP, "-"),
        ],
    );
}

#[test]
fn unsanctioned_jump_group_near_miss() {
    assert_near_miss(
        case::unsanctioned_jump_group(false),
        Rule::UnsanctionedJumpGroup,
        vec![],
    );
}

#[test]
fn self_approval_fires() {
    assert_fired(
        case::self_approval(true),
        vec![hit(Rule::SelfApproval, APP, A1)],
    );
}

#[test]
fn self_approval_near_miss() {
    assert_near_miss(case::self_approval(false), Rule::SelfApproval, vec![]);
}

#[test]
fn policy_editable_fires() {
    assert_fired(
        case::policy_editable(true),
        vec![hit(Rule::PolicyEditable, APP, A1)],
    );
}

#[test]
fn policy_editable_near_miss() {
    assert_near_miss(case::policy_editable(false), Rule::PolicyEditable, vec![]);
}

#[test]
fn unverified_setting_fires() {
    let (p, e) = case::unverified_setting(true);
    assert_fired(
        (p.clone(), e.clone()),
        vec![hit(Rule::UnverifiedSetting, "-", "-")],
    );
    // High: it fails a run at the default threshold; under `critical` it leaves the run incomplete.
    assert_eq!(run(&p, &e).exit_code(), 1);
}

#[test]
fn unverified_setting_near_miss() {
    assert_near_miss(
        case::unverified_setting(false),
        Rule::UnverifiedSetting,
        vec![],
    );
}

#[test]
fn unverified_setting_per_path_fires() {
    assert_fired(
        case::unverified_setting_per_path(true),
        vec![hit(Rule::UnverifiedSetting, APP, A1)],
    );
}

#[test]
fn unverified_setting_per_path_near_miss() {
    assert_near_miss(
        case::unverified_setting_per_path(false),
        Rule::UnverifiedSetting,
        vec![],
    );
}

// ---- medium ----------------------------------------------------------------------------------

#[test]
fn ticket_id_missing_fires() {
    assert_fired(
        case::ticket_id_missing(true),
        vec![hit(Rule::TicketIdMissing, APP, A1)],
    );
}

#[test]
fn ticket_id_missing_near_miss() {
    assert_near_miss(
        case::ticket_id_missing(false),
        Rule::TicketIdMissing,
        vec![],
    );
}

#[test]
fn reason_missing_fires() {
    assert_fired(
        case::reason_missing(true),
        vec![hit(Rule::ReasonMissing, APP, A1)],
    );
}

#[test]
fn reason_missing_near_miss() {
    assert_near_miss(case::reason_missing(false), Rule::ReasonMissing, vec![]);
}

#[test]
fn ps_reason_missing_fires() {
    assert_fired(
        case::ps_reason_missing(true),
        vec![
            hit(Rule::PsReasonMissing, DC, DC1),
            hit(Rule::TargetNotFound, DC, "-"),
        ],
    );
}

#[test]
fn ps_reason_missing_near_miss() {
    assert_near_miss(
        case::ps_reason_missing(false),
        Rule::PsReasonMissing,
        vec![hit(Rule::TargetNotFound, DC, "-")],
    );
}

#[test]
fn ps_ticket_missing_fires() {
    assert_fired(
        case::ps_ticket_missing(true),
        vec![
            hit(Rule::PsTicketMissing, DC, DC1),
            hit(Rule::TargetNotFound, DC, "-"),
        ],
    );
}

#[test]
fn ps_ticket_missing_near_miss() {
    assert_near_miss(
        case::ps_ticket_missing(false),
        Rule::PsTicketMissing,
        vec![hit(Rule::TargetNotFound, DC, "-")],
    );
}

#[test]
fn group_policy_mismatch_fires() {
    assert_fired(
        case::group_policy_mismatch(true),
        vec![hit(Rule::GroupPolicyMismatch, APP, A1)],
    );
}

#[test]
fn group_policy_mismatch_near_miss() {
    assert_near_miss(
        case::group_policy_mismatch(false),
        Rule::GroupPolicyMismatch,
        vec![],
    );
}

#[test]
fn jump_policy_drift_fires() {
    assert_fired(
        case::jump_policy_drift(true),
        vec![hit(Rule::JumpPolicyDrift, "-", "-")],
    );
}

#[test]
fn jump_policy_drift_near_miss() {
    assert_near_miss(
        case::jump_policy_drift(false),
        Rule::JumpPolicyDrift,
        vec![],
    );
}

#[test]
fn jump_group_missing_fires() {
    assert_fired(
        case::jump_group_missing(true),
        vec![hit(Rule::JumpGroupMissing, "-", "-")],
    );
}

#[test]
fn jump_group_missing_near_miss() {
    assert_near_miss(
        case::jump_group_missing(false),
        Rule::JumpGroupMissing,
        vec![],
    );
}

#[test]
fn site_self_approval_fires() {
    assert_fired(
        case::site_self_approval(true),
        vec![hit(Rule::SiteSelfApproval, "-", "-")],
    );
}

#[test]
fn site_self_approval_near_miss() {
    assert_near_miss(
        case::site_self_approval(false),
        Rule::SiteSelfApproval,
        vec![],
    );
}

#[test]
fn site_recordings_disabled_fires() {
    assert_fired(
        case::site_recordings_disabled(true),
        vec![hit(Rule::SiteRecordingsDisabled, "-", "-")],
    );
}

#[test]
fn site_recordings_disabled_near_miss() {
    assert_near_miss(
        case::site_recordings_disabled(false),
        Rule::SiteRecordingsDisabled,
        vec![],
    );
}

#[test]
fn site_editing_role_fires() {
    assert_fired(
        case::site_editing_role(true),
        vec![hit(Rule::SiteEditingRole, "-", "-")],
    );
}

#[test]
fn site_editing_role_near_miss() {
    assert_near_miss(
        case::site_editing_role(false),
        Rule::SiteEditingRole,
        vec![],
    );
}

#[test]
fn site_personal_jump_item_fires() {
    // The one site-* finding that names a host: the item's, normalized.
    assert_fired(
        case::site_personal_jump_item(true),
        vec![hit(Rule::SitePersonalJumpItem, "-", "lab-pc.corp.example")],
    );
}

#[test]
fn site_personal_jump_item_near_miss() {
    assert_near_miss(
        case::site_personal_jump_item(false),
        Rule::SitePersonalJumpItem,
        vec![],
    );
}

// ---- low and info ----------------------------------------------------------------------------

#[test]
fn target_not_found_fires() {
    assert_fired(
        case::target_not_found(true),
        vec![hit(Rule::TargetNotFound, APP, "-")],
    );
}

#[test]
fn target_not_found_near_miss() {
    assert_near_miss(case::target_not_found(false), Rule::TargetNotFound, vec![]);
}

#[test]
fn credential_not_found_fires() {
    assert_fired(
        case::credential_not_found(true),
        vec![
            hit(Rule::CredentialNotFound, DC, "-"),
            hit(Rule::TargetNotFound, DC, "-"),
        ],
    );
}

#[test]
fn credential_not_found_near_miss() {
    // The declared system and account compare case-insensitively.
    assert_near_miss(
        case::credential_not_found(false),
        Rule::CredentialNotFound,
        vec![hit(Rule::TargetNotFound, DC, "-")],
    );
}

#[test]
fn waiver_expired_fires() {
    // An expired waiver covers nothing: the finding it covered counts again.
    assert_fired(
        case::waiver_expired(true),
        vec![
            hit(Rule::ApprovalMissing, APP, A1),
            hit(Rule::WaiverExpired, "-", "-"),
        ],
    );
}

#[test]
fn waiver_expired_near_miss() {
    // Valid through its expiry day.
    let (p, e) = case::waiver_expired(false);
    assert_near_miss((p.clone(), e.clone()), Rule::WaiverExpired, vec![]);
    assert_eq!(run(&p, &e).exit_code(), 0);
}

#[test]
fn attestation_expired_fires() {
    assert_fired(
        case::attestation_expired(true),
        vec![hit(Rule::AttestationExpired, "-", "-")],
    );
}

#[test]
fn attestation_expired_near_miss() {
    assert_near_miss(
        case::attestation_expired(false),
        Rule::AttestationExpired,
        vec![],
    );
}

#[test]
fn unmanaged_host_fires() {
    let (p, e) = case::unmanaged_host(true);
    assert_fired(
        (p.clone(), e.clone()),
        vec![hit(Rule::UnmanagedHost, "-", "srv-x9.corp.example")],
    );
    // Info under the default `unmanaged: warn`: the run still passes.
    let report = run(&p, &e);
    assert_eq!(report.findings[0].severity, Severity::Info);
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn unmanaged_host_near_miss() {
    assert_near_miss(case::unmanaged_host(false), Rule::UnmanagedHost, vec![]);
}

#[test]
fn waiver_unused_fires() {
    let (p, e) = case::waiver_unused(true);
    assert_fired(
        (p.clone(), e.clone()),
        vec![hit(Rule::WaiverUnused, "-", "-")],
    );
    assert_eq!(run(&p, &e).exit_code(), 0);
}

#[test]
fn waiver_unused_near_miss() {
    assert_near_miss(case::waiver_unused(false), Rule::WaiverUnused, vec![]);
}

// ---- waivers ---------------------------------------------------------------------------------

#[test]
fn waiver_covers_a_finding_and_no_waivers_brings_it_back() {
    let (p, e) = case::waiver_expired(false);

    let waived = run(&p, &e);
    assert_eq!(waived.findings.len(), 1, "{:?}", waived.findings);
    let f = &waived.findings[0];
    assert_eq!(
        (f.rule, f.target.as_deref(), f.host.as_deref()),
        (Rule::ApprovalMissing, Some(APP), Some(A1))
    );
    let w = f.waiver.as_ref().expect("the waiver covers the finding");
    assert_eq!(w.expires, "2026-12-01");
    assert_eq!(w.reason, "Migration in progress");
    assert!(triples(&waived).is_empty());
    assert_eq!(waived.summary.waived, 1);
    assert_eq!(waived.exit_code(), 0);

    let audited = run_with(&p, &e, true);
    assert_eq!(triples(&audited), vec![hit(Rule::ApprovalMissing, APP, A1)]);
    assert!(audited.findings.iter().all(|f| f.waiver.is_none()));
    assert_eq!(audited.exit_code(), 1);
}

#[test]
fn unmanaged_host_is_high_under_deny() {
    let (p, e) = case::unmanaged_host(true);
    let p = p.replace("targets:", "unmanaged: deny\ntargets:");
    let report = run(&p, &e);
    assert_eq!(
        triples(&report),
        vec![hit(Rule::UnmanagedHost, "-", "srv-x9.corp.example")]
    );
    assert_eq!(report.findings[0].severity, Severity::High);
    assert_eq!(report.exit_code(), 1);
}

// ---- findings of distinct objects --------------------------------------------------------------

#[test]
fn findings_of_distinct_declared_objects_stay_distinct() {
    let policy = attested(
        "jump_policies:\n  p1:\n    display_name: P1\n  p2:\n    display_name: P2\n\
         jump_groups:\n  g1:\n    name: G1\n  g2:\n    name: G2\n\
         targets:\n  - name: domain-controllers\n    hosts: [\"srv-dc1.corp.example\"]\n    credentials:\n\
         \x20     - { system: srv-dc1.corp.example, account: a1 }\n\
         \x20     - { system: srv-dc1.corp.example, account: a2 }\n\
         waivers:\n  - { rule: self-approval, reason: one, expires: 2026-11-01 }\n\
         \x20 - { rule: approval-missing, reason: two, expires: 2026-11-02 }\n",
    );
    let report = run(&policy, &ps().to_string());
    for rule in [
        Rule::JumpPolicyDrift,
        Rule::JumpGroupMissing,
        Rule::CredentialNotFound,
        Rule::WaiverExpired,
    ] {
        let of_rule: Vec<_> = report.findings.iter().filter(|f| f.rule == rule).collect();
        assert_eq!(
            of_rule.len(),
            2,
            "{rule}: one finding per declared object: {of_rule:#?}"
        );
        assert_ne!(
            of_rule[0].fingerprint, of_rule[1].fingerprint,
            "{rule}: distinct fingerprints"
        );
    }
}
