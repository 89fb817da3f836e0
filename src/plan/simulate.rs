//! Applies a plan's API actions to an estate in memory, as the appliances would: what-if
//! analysis and the property tests of the planner. Pure.

use std::collections::HashMap;

use serde_json::Value;

use super::{GroupRef, Op, Plan, PolicyRef};
use crate::estate::{
    Estate, JumpGroup, JumpGroupType, JumpItemType, JumpPolicy, Role, RoleAssignment,
};

/// The estate after the plan's API actions (manual steps change nothing).
pub fn simulate(estate: &Estate, plan: &Plan) -> Estate {
    simulate_on(estate.clone(), plan)
}

/// [`simulate`] on an estate the caller has copied already.
pub(crate) fn simulate_on(mut e: Estate, plan: &Plan) -> Estate {
    let mut positions = Positions::default();
    for action in plan.api_actions() {
        apply_op(&mut e, &action.op, &mut positions);
    }
    e
}

/// Where the first object of each id sits, so that a plan of ten thousand updates does not
/// search the lists ten thousand times. Built on first use.
#[derive(Default)]
struct Positions {
    /// (type, id) → jump item; (`None`, id) → jump client. Dropped when an item is deleted.
    items: Option<HashMap<(Option<JumpItemType>, i64), usize>>,
    /// Managed account id → account (accounts are never removed here).
    accounts: Option<HashMap<i64, usize>>,
}

impl Positions {
    fn item(&mut self, e: &Estate, item_type: Option<JumpItemType>, id: i64) -> Option<usize> {
        let index = self.items.get_or_insert_with(|| {
            let mut map = HashMap::new();
            for (t, items) in &e.pra.jump_item {
                for (i, item) in items.iter().enumerate() {
                    map.entry((Some(*t), item.id)).or_insert(i);
                }
            }
            for (i, c) in e.pra.jump_client.iter().enumerate() {
                map.entry((None, c.id)).or_insert(i);
            }
            map
        });
        index.get(&(item_type, id)).copied()
    }
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

fn apply_op(e: &mut Estate, op: &Op, positions: &mut Positions) {
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
            let position = positions.item(e, *item_type, *id);
            match item_type {
                Some(t) => {
                    if let Some(i) = position
                        .and_then(|at| e.pra.jump_item.get_mut(t).and_then(|v| v.get_mut(at)))
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
                    if let Some(c) = position.and_then(|at| e.pra.jump_client.get_mut(at)) {
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
        Op::DeleteJumpItem { item_type, id } => {
            positions.items = None;
            match item_type {
                Some(t) => {
                    if let Some(v) = e.pra.jump_item.get_mut(t) {
                        v.retain(|i| i.id != *id);
                    }
                }
                None => e.pra.jump_client.retain(|c| c.id != *id),
            }
        }
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
            // Accounts are never removed here, so positions hold for the whole plan.
            let accounts = positions.accounts.get_or_insert_with(|| {
                let mut map = HashMap::new();
                for (i, a) in
                    e.ps.iter()
                        .flat_map(|ps| ps.managed_accounts.iter())
                        .enumerate()
                {
                    map.entry(a.managed_account_id).or_insert(i);
                }
                map
            });
            let position = accounts.get(managed_account_id).copied();
            if let Some(a) =
                position.and_then(|at| e.ps.as_mut().and_then(|ps| ps.managed_accounts.get_mut(at)))
            {
                a.api_enabled = false;
            }
        }
        Op::Manual { .. } => {}
    }
}
