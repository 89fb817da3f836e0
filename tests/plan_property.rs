//! Property: for generated estates with random violations, applying the plan (in memory, as the
//! appliances would) and checking again leaves only findings that need a person, and a second
//! plan has no API action.

use jiff::civil::Date;
use jumpguard::analysis::{evaluate, Options, Report};
use jumpguard::estate::Estate;
use jumpguard::plan::{build, simulate, PlanOptions};
use jumpguard::policy::{load_str, Policy};
use jumpguard::rules::Severity;
use proptest::prelude::*;
use serde_json::{json, Value};

const POLICY: &str = r#"
version: 1
jump_policies:
  strict:
    display_name: Strict
    approval: { required: true, self_approval: false }
jump_groups:
  sanctioned: { name: Sanctioned, jump_policy: strict }
targets:
  - name: servers
    hosts: ["*.corp.example"]
    jump_groups: [sanctioned]
    approval: required
    reason: { comment: required }
    password_safe_api: forbidden
unmanaged: ignore
password_safe:
  ecm: { user_groups: ["Secure Remote Access Requesters"] }
attestations:
  - { setting: pra.allow_search_external_jump_items, value: false, by: pam@corp.example, attested_on: 2026-11-20, expires: 2027-06-30 }
  - { setting: pra.local_and_remote_jump_items_present, value: false, by: pam@corp.example, attested_on: 2026-11-20, expires: 2027-06-30 }
"#;

fn today() -> Date {
    "2026-12-01".parse().unwrap()
}

fn policy() -> Policy {
    load_str("policy.yaml", POLICY, today()).expect("a valid policy")
}

fn check(policy: &Policy, estate: &Estate) -> Report {
    evaluate(
        policy,
        estate,
        Options {
            today: today(),
            fail_on: Severity::Info,
            no_waivers: false,
        },
    )
}

/// One generated jump item: in the sanctioned group (1), the legacy group (2) or a personal
/// list; with no jump policy, the weak one, the strict one or the self-approving one.
#[derive(Clone, Debug)]
struct Item {
    place: u8,
    policy: u8,
    copy_of_sanctioned: bool,
}

#[derive(Clone, Debug)]
struct Generated {
    items: Vec<Item>,
    user_override: [u8; 2],
    gp_override: [u8; 2],
    roles: Vec<u8>,
}

fn policy_id(code: u8) -> Value {
    match code {
        0 => Value::Null,
        1 => json!(1),
        2 => json!(2),
        _ => json!(3),
    }
}

fn estate(g: &Generated) -> Value {
    let mut items = Vec::new();
    for (i, it) in g.items.iter().enumerate() {
        let id = i as i64 + 1;
        let host = if it.copy_of_sanctioned && i > 0 {
            "h1.corp.example".to_string()
        } else {
            format!("h{id}.corp.example")
        };
        let (group_id, group_type) = match it.place {
            0 => (1, "shared"),
            1 => (2, "shared"),
            _ => (7, "personal"),
        };
        items.push(json!({"id": id, "name": format!("item{id}"), "hostname": host, "jump_group_id": group_id,
                          "jump_group_type": group_type, "jump_policy_id": policy_id(it.policy)}));
    }
    let over = |c: u8, zero: Value| match c {
        0 => zero,
        1 => json!(1),
        2 => json!(2),
        _ => json!(99),
    };
    let accounts: Vec<Value> = (1..=g.items.len() as i64)
        .map(|i| json!({"ManagedAccountID": i, "ManagedSystemID": i, "AccountName": "Administrator", "ApiEnabled": true}))
        .collect();
    let systems: Vec<Value> = (1..=g.items.len() as i64)
        .map(|i| json!({"ManagedSystemID": i, "HostName": format!("h{i}.corp.example"), "SystemName": format!("h{i}")}))
        .collect();
    let role = |r: u8| match r {
        0 => json!([{"RoleID": 4, "Name": "ISA"}]),
        1 => json!([{"RoleID": 1, "Name": "Requestor"}]),
        _ => json!([{"RoleID": 1, "Name": "Requestor"}, {"RoleID": 4, "Name": "ISA"}]),
    };
    let assignments: Vec<Value> = g
        .roles
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"UserGroupID": i as i64 + 1, "SmartRuleID": 1, "Roles": role(*r), "AccessPolicyID": if *r == 0 { Value::Null } else { json!(1) }}))
        .collect();
    let groups: Vec<Value> = (0..g.roles.len()).map(|i| json!({"GroupID": i as i64 + 1, "Name": format!("Group {}", i + 1), "IsActive": true})).collect();
    json!({
        "pra": {
            "jump_policy": [
                {"id": 1, "code_name": "strict", "display_name": "Strict", "approval_required": true},
                {"id": 2, "code_name": "weak", "display_name": "Weak"},
                {"id": 3, "code_name": "anyone", "display_name": "Anyone", "approval_required": true, "approval_approver_scope": "anyone"}
            ],
            "jump_group": [{"id": 1, "name": "Sanctioned", "code_name": "sanctioned"}, {"id": 2, "name": "Legacy", "code_name": "legacy"}],
            "jump_item_role": [{"id": 1, "name": "Start", "perm_start": true}],
            "user": [{"id": 7, "username": "lee", "default_jump_item_role_id": 1}],
            "group_policy": [{"id": 1, "name": "Ops", "default_jump_item_role_id": 1}],
            "jump_group_user": [
                {"jump_group_id": 1, "user_id": 7, "jump_policy_id": over(g.user_override[0], Value::Null)},
                {"jump_group_id": 2, "user_id": 7, "jump_policy_id": over(g.user_override[1], Value::Null)}
            ],
            "group_policy_jump_group": [
                {"group_policy_id": 1, "jump_group_id": 1, "jump_item_role_id": 0, "jump_policy_id": over(g.gp_override[0], json!(0))},
                {"group_policy_id": 1, "jump_group_id": 2, "jump_item_role_id": 0, "jump_policy_id": over(g.gp_override[1], json!(0))}
            ],
            "jump_item": {"remote-rdp": items}
        },
        "ps": {
            "managed_systems": systems,
            "managed_accounts": accounts,
            "smart_rules": [{"SmartRuleID": 1, "Title": "All", "_managed_account_ids": (1..=g.items.len() as i64).collect::<Vec<i64>>()}],
            "user_groups": groups,
            "role_assignments": assignments,
            "access_policies": [
                {"AccessPolicyID": 1, "Name": "Auto", "Schedules": [{"ScheduleID": 1, "RequireReason": false, "AccessTypes": [{"AccessType": "View", "MinApprovers": 0}]}]},
                {"AccessPolicyID": 2, "Name": "Strict", "Schedules": [{"ScheduleID": 2, "RequireReason": true, "AccessTypes": [{"AccessType": "View", "MinApprovers": 1}]}]}
            ]
        }
    })
}

fn generated() -> impl Strategy<Value = Generated> {
    let item =
        (0u8..3, 0u8..4, any::<bool>()).prop_map(|(place, policy, copy_of_sanctioned)| Item {
            place,
            policy,
            copy_of_sanctioned,
        });
    (
        prop::collection::vec(item, 1..8),
        [0u8..4, 0u8..4],
        [0u8..4, 0u8..4],
        prop::collection::vec(0u8..3, 0..3),
    )
        .prop_map(|(items, user_override, gp_override, roles)| Generated {
            items,
            user_override,
            gp_override,
            roles,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn apply_then_check_leaves_only_manual_findings(g in generated()) {
        let policy = policy();
        let estate = Estate::from_json(estate(&g).to_string().as_bytes(), "generated").unwrap();
        let report = check(&policy, &estate);
        let options = PlanOptions { allow_destroy: true, created_at: "2026-12-01T00:00:00Z".into() };
        let plan = build(&policy, &estate, &report, &options);

        let after = simulate(&estate, &plan);
        let rechecked = check(&policy, &after);
        let remaining: Vec<&str> = rechecked.unwaived().map(|f| f.fingerprint.as_str()).collect();
        for action in plan.api_actions() {
            for r in &action.resolves {
                prop_assert!(!remaining.contains(&r.fingerprint.as_str()), "{} still reports {} {:?} {:?} after {}", "check", r.rule, r.target, r.host, action.summary);
            }
        }
        // In this world every violation has an API fix (a strict jump policy and a strict access
        // policy exist, destroy is allowed): only findings no API can fix may remain.
        let manual_only = ["target-not-found", "external-search-bypass", "unverified-setting", "credential-not-found"];
        for f in rechecked.unwaived() {
            prop_assert!(manual_only.contains(&f.rule.id()), "{} {:?} {:?} remains after apply: {}", f.rule, f.target, f.host, f.message);
        }
        let second = build(&policy, &after, &rechecked, &options);
        let api: Vec<String> = second.api_actions().map(|a| a.summary.clone()).collect();
        prop_assert!(api.is_empty(), "a second plan still has API actions: {:?}\nfirst plan: {:#?}", api, plan.actions.iter().map(|a| &a.summary).collect::<Vec<_>>());
        // What remains is covered by manual steps of the second plan.
        let manual: Vec<&str> = second.manual_actions().flat_map(|a| a.resolves.iter().map(|r| r.fingerprint.as_str())).collect();
        for f in rechecked.unwaived() {
            prop_assert!(manual.contains(&f.fingerprint.as_str()), "{} {:?} {:?} is in no manual step", f.rule, f.target, f.host);
        }
    }
}
