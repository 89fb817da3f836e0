//! Applies a plan's API actions to an estate in memory, as the appliances would: what-if
//! analysis and the property tests of the planner. Pure.

use serde_json::Value;

use super::{GroupRef, Op, Plan, PolicyRef};
use crate::estate::{Estate, JumpGroup, JumpGroupType, JumpPolicy, Role, RoleAssignment};

/// The estate after the plan's API actions (manual steps change nothing).
pub fn simulate(estate: &Estate, plan: &Plan) -> Estate {
    let mut e = estate.clone();
    for action in plan.api_actions() {
        apply_op(&mut e, &action.op);
    }
    e
}

fn policy_id(e: &Estate, r: &PolicyRef) -> Option<i64> {
    match r {
        PolicyRef::Existing(id) => Some(*id),
        PolicyRef::Created(code) => e
            .pra
            .jump_policy
            .iter()
            .find(|p| p.code_name.eq_ignore_ascii_case(code))
            .map(|p| p.id),
        PolicyRef::None => None,
    }
}

fn group_id(e: &Estate, r: &GroupRef) -> Option<i64> {
    match r {
        GroupRef::Existing(id) => Some(*id),
        GroupRef::Created(code) => e
            .pra
            .jump_group
            .iter()
            .find(|g| g.code_name.eq_ignore_ascii_case(code))
            .map(|g| g.id),
    }
}

fn merge(target: &mut Value, patch: &Value) {
    if let (Value::Object(t), Value::Object(p)) = (target, patch) {
        for (k, v) in p {
            t.insert(k.clone(), v.clone());
        }
    }
}

fn apply_op(e: &mut Estate, op: &Op) {
    match op {
        Op::CreateJumpPolicy { code_name, body } => {
            let id = e.pra.jump_policy.iter().map(|p| p.id).max().unwrap_or(0) + 1;
            let mut v = serde_json::to_value(JumpPolicy::default()).unwrap_or(Value::Null);
            merge(&mut v, body);
            merge(
                &mut v,
                &serde_json::json!({"id": id, "code_name": code_name}),
            );
            if let Ok(p) = serde_json::from_value(v) {
                e.pra.jump_policy.push(p);
            }
        }
        Op::UpdateJumpPolicy { id, body } => {
            if let Some(p) = e.pra.jump_policy.iter_mut().find(|p| p.id == *id) {
                let mut v = serde_json::to_value(&*p).unwrap_or(Value::Null);
                merge(&mut v, body);
                if let Ok(new) = serde_json::from_value(v) {
                    *p = new;
                }
            }
        }
        Op::CreateJumpGroup { code_name, name } => {
            let id = e.pra.jump_group.iter().map(|g| g.id).max().unwrap_or(0) + 1;
            e.pra.jump_group.push(JumpGroup {
                id,
                name: name.clone(),
                code_name: code_name.clone(),
                ..JumpGroup::default()
            });
        }
        Op::UpdateJumpItem {
            item_type,
            id,
            jump_group,
            jump_policy,
        } => {
            let group = jump_group.as_ref().and_then(|g| group_id(e, g));
            let policy = jump_policy.as_ref().map(|p| policy_id(e, p));
            match item_type {
                Some(t) => {
                    if let Some(i) = e
                        .pra
                        .jump_item
                        .get_mut(t)
                        .and_then(|v| v.iter_mut().find(|i| i.id == *id))
                    {
                        if let Some(g) = group {
                            i.jump_group_id = g;
                            i.jump_group_type = JumpGroupType::Shared;
                        }
                        if let Some(p) = policy {
                            i.jump_policy_id = p;
                        }
                    }
                }
                None => {
                    if let Some(c) = e.pra.jump_client.iter_mut().find(|c| c.id == *id) {
                        if let Some(g) = group {
                            c.jump_group_id = g;
                            c.jump_group_type = JumpGroupType::Shared;
                        }
                        if let Some(p) = policy {
                            c.jump_policy_id = p;
                        }
                    }
                }
            }
        }
        Op::DeleteJumpItem { item_type, id } => match item_type {
            Some(t) => {
                if let Some(v) = e.pra.jump_item.get_mut(t) {
                    v.retain(|i| i.id != *id);
                }
            }
            None => e.pra.jump_client.retain(|c| c.id != *id),
        },
        Op::SetGroupPolicyMembership {
            group_policy_id,
            jump_group_id,
            jump_policy,
            ..
        } => {
            let p = policy_id(e, jump_policy).unwrap_or(0);
            for m in e.pra.group_policy_jump_group.iter_mut().filter(|m| {
                m.group_policy_id == *group_policy_id && m.jump_group_id == *jump_group_id
            }) {
                m.jump_policy_id = Some(p);
            }
        }
        Op::SetUserMembership {
            jump_group_id,
            user_id,
            jump_policy,
        } => {
            let p = policy_id(e, jump_policy);
            for m in e
                .pra
                .jump_group_user
                .iter_mut()
                .filter(|m| m.jump_group_id == *jump_group_id && m.user_id == *user_id)
            {
                m.jump_policy_id = p;
            }
        }
        Op::SetRoleAssignment {
            user_group_id,
            smart_rule_id,
            role_ids,
            access_policy_id,
        } => {
            let Some(ps) = e.ps.as_mut() else { return };
            let names: Vec<Role> = role_ids
                .iter()
                .map(|id| {
                    let known = ps
                        .roles
                        .iter()
                        .chain(ps.role_assignments.iter().flat_map(|r| r.roles.iter()))
                        .find(|r| r.role_id == *id);
                    Role {
                        role_id: *id,
                        name: known.map(|r| r.name.clone()).unwrap_or_default(),
                    }
                })
                .collect();
            ps.role_assignments.retain(|r| {
                !(r.user_group_id == *user_group_id
                    && r.smart_rule_id == *smart_rule_id
                    && role_ids.is_empty())
            });
            match ps
                .role_assignments
                .iter_mut()
                .find(|r| r.user_group_id == *user_group_id && r.smart_rule_id == *smart_rule_id)
            {
                Some(r) => {
                    r.roles = names;
                    r.access_policy_id = *access_policy_id;
                }
                None if !role_ids.is_empty() => ps.role_assignments.push(RoleAssignment {
                    user_group_id: *user_group_id,
                    smart_rule_id: *smart_rule_id,
                    roles: names,
                    access_policy_id: *access_policy_id,
                    ..RoleAssignment::default()
                }),
                None => {}
            }
        }
        Op::DisableApi { managed_account_id } => {
            if let Some(a) = e.ps.as_mut().and_then(|ps| {
                ps.managed_accounts
                    .iter_mut()
                    .find(|a| a.managed_account_id == *managed_account_id)
            }) {
                a.api_enabled = false;
            }
        }
        Op::Manual { .. } => {}
    }
}
