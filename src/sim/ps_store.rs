//! The Password Safe half of an estate as the simulator keeps it, and the views the API derives
//! from it rather than stores (`reference/password-safe-api.md` §6, §8.1, §10.5): the accounts a
//! user may request, the assignees of an access policy, the roles of a (user group, smart rule)
//! pair.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::pra_model::Row;

/// The collections of the estate's `ps` object, in snapshot order.
const NAMES: [&str; 10] = [
    "managed_systems",
    "managed_accounts",
    "smart_rules",
    "user_groups",
    "user_group_users",
    "roles",
    "role_assignments",
    "access_policies",
    "ticket_systems",
    "api_registrations",
];

/// The role names the product ships with (§6.3), and the ids derived roles take when free.
const PRODUCT_ROLES: [(&str, i64); 5] = [
    ("Requestor", 1),
    ("Approver", 2),
    ("Requestor/Approver", 3),
    ("ISA", 4),
    ("Auditor", 5),
];

/// The roles that request credentials: a pair with one of them needs an access policy (§5.1).
const REQUESTING_ROLES: [&str; 2] = ["Requestor", "Requestor/Approver"];

/// The built-in group whose members hold every role (§8.1).
const ADMINISTRATORS: &str = "Administrators";

/// Inferred: a fixed node id for `PreferredNodeID`, which the reference types as a GUID string.
const PREFERRED_NODE: &str = "00000000-0000-0000-0000-000000000001";

/// The Password Safe configuration the simulator serves, changed by writes. Rows are kept as
/// the estate gives them; `smart_rules` rows keep their `_managed_account_ids`.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) managed_systems: Vec<Row>,
    pub(crate) managed_accounts: Vec<Row>,
    pub(crate) smart_rules: Vec<Row>,
    pub(crate) user_groups: Vec<Row>,
    pub(crate) user_group_users: Vec<Row>,
    pub(crate) roles: Vec<Row>,
    pub(crate) role_assignments: Vec<Row>,
    pub(crate) access_policies: Vec<Row>,
    pub(crate) ticket_systems: Vec<Row>,
    pub(crate) api_registrations: Vec<Row>,
}

/// The integer in `row[field]`.
pub(crate) fn id(row: &Row, field: &str) -> Option<i64> {
    row.get(field).and_then(Value::as_i64)
}

/// The row of `rows` whose `field` is `value`.
pub(crate) fn find<'a>(rows: &'a [Row], field: &str, value: i64) -> Option<&'a Row> {
    rows.iter().find(|r| id(r, field) == Some(value))
}

/// A row as the API serves it: without the estate's underscore fields.
pub(crate) fn public(row: &Row) -> Value {
    Value::Object(
        row.iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// `IsActive`, true when left out (the API's default for groups and smart rules).
fn is_active(row: Option<&Row>) -> bool {
    row.and_then(|r| r.get("IsActive")).and_then(Value::as_bool) != Some(false)
}

/// The roles of a `role_assignments` row.
fn roles_of(row: &Row) -> impl Iterator<Item = &Value> {
    row.get("Roles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn is_named(name: Option<&str>, names: &[&str]) -> bool {
    name.is_some_and(|n| names.iter().any(|r| r.eq_ignore_ascii_case(n)))
}

impl Store {
    /// Reads the `ps` half of an estate file, refusing what an appliance could not have: an
    /// unknown collection, a row without its id, a repeated id, a reference to nothing.
    pub(crate) fn from_estate(ps: &Value) -> Result<Store, String> {
        let Value::Object(collections) = ps else {
            return Err("`ps` must be an object of collections".into());
        };
        let mut store = Store::default();
        let mut roles_given = false;
        for (name, value) in collections {
            let Some((keys, slot)) = store.slot(name) else {
                return Err(format!(
                    "`ps.{name}` is not a collection the simulator serves; known: {}",
                    NAMES.join(", ")
                ));
            };
            *slot = load_rows(&format!("ps.{name}"), value, keys)?;
            roles_given |= name == "roles";
        }
        store.check_references()?;
        store.settle_roles(roles_given)?;
        Ok(store)
    }

    /// The identity fields of a collection and its rows.
    fn slot(&mut self, name: &str) -> Option<(&'static [&'static str], &mut Vec<Row>)> {
        Some(match name {
            "managed_systems" => (&["ManagedSystemID"], &mut self.managed_systems),
            "managed_accounts" => (&["ManagedAccountID"], &mut self.managed_accounts),
            "smart_rules" => (&["SmartRuleID"], &mut self.smart_rules),
            "user_groups" => (&["GroupID"], &mut self.user_groups),
            "user_group_users" => (&["GroupID", "UserID"], &mut self.user_group_users),
            "roles" => (&["RoleID"], &mut self.roles),
            "role_assignments" => (&["UserGroupID", "SmartRuleID"], &mut self.role_assignments),
            "access_policies" => (&["AccessPolicyID"], &mut self.access_policies),
            "ticket_systems" => (&["TicketSystemID"], &mut self.ticket_systems),
            "api_registrations" => (&["Id"], &mut self.api_registrations),
            _ => return None,
        })
    }

    fn check_references(&self) -> Result<(), String> {
        // The ids each reference may name, collected once: an estate of 100,000 accounts
        // would take minutes with a search per reference.
        let ids = |rows: &[Row], field: &str| -> std::collections::HashSet<i64> {
            rows.iter().filter_map(|r| id(r, field)).collect()
        };
        let (systems, accounts, groups, rules, policies) = (
            ids(&self.managed_systems, "ManagedSystemID"),
            ids(&self.managed_accounts, "ManagedAccountID"),
            ids(&self.user_groups, "GroupID"),
            ids(&self.smart_rules, "SmartRuleID"),
            ids(&self.access_policies, "AccessPolicyID"),
        );
        let refer = |at: &dyn Fn() -> String,
                     known: &std::collections::HashSet<i64>,
                     field: &str,
                     value: Option<&Value>| match value.and_then(Value::as_i64)
        {
            Some(v) if known.contains(&v) => Ok(()),
            _ => Err(format!(
                "`{}` must be the {field} of a row, not {}",
                at(),
                value.unwrap_or(&Value::Null)
            )),
        };
        for (i, row) in self.managed_accounts.iter().enumerate() {
            refer(
                &|| format!("ps.managed_accounts[{i}].ManagedSystemID"),
                &systems,
                "ManagedSystemID",
                row.get("ManagedSystemID"),
            )?;
        }
        for (i, row) in self.smart_rules.iter().enumerate() {
            match row.get("_managed_account_ids") {
                None => {}
                Some(Value::Array(ids)) => {
                    for (j, v) in ids.iter().enumerate() {
                        refer(
                            &|| format!("ps.smart_rules[{i}]._managed_account_ids[{j}]"),
                            &accounts,
                            "ManagedAccountID",
                            Some(v),
                        )?;
                    }
                }
                Some(_) => {
                    return Err(format!(
                        "`ps.smart_rules[{i}]._managed_account_ids` must be an array of account ids"
                    ))
                }
            }
        }
        for (i, row) in self.user_group_users.iter().enumerate() {
            refer(
                &|| format!("ps.user_group_users[{i}].GroupID"),
                &groups,
                "GroupID",
                row.get("GroupID"),
            )?;
        }
        for (i, row) in self.role_assignments.iter().enumerate() {
            let at = format!("ps.role_assignments[{i}]");
            refer(
                &|| format!("{at}.UserGroupID"),
                &groups,
                "GroupID",
                row.get("UserGroupID"),
            )?;
            refer(
                &|| format!("{at}.SmartRuleID"),
                &rules,
                "SmartRuleID",
                row.get("SmartRuleID"),
            )?;
            match row.get("AccessPolicyID") {
                None | Some(Value::Null) => {}
                policy => refer(
                    &|| format!("{at}.AccessPolicyID"),
                    &policies,
                    "AccessPolicyID",
                    policy,
                )?,
            }
            let Some(Value::Array(roles)) = row.get("Roles") else {
                return Err(format!("`{at}.Roles` must be an array of roles"));
            };
            for (j, role) in roles.iter().enumerate() {
                if role
                    .get("RoleID")
                    .and_then(Value::as_i64)
                    .is_none_or(|r| r <= 0)
                {
                    return Err(format!(
                        "`{at}.Roles[{j}].RoleID` must be a positive integer"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Completes the roles: each role of an assignment gets its `Name` from `roles`; without
    /// `roles`, they are derived from the assignments plus the product's usual roles.
    fn settle_roles(&mut self, roles_given: bool) -> Result<(), String> {
        let mut names: BTreeMap<i64, String> = self
            .roles
            .iter()
            .filter_map(|r| Some((id(r, "RoleID")?, r.get("Name")?.as_str()?.to_owned())))
            .collect();
        for (i, row) in self.role_assignments.iter().enumerate() {
            for (j, role) in roles_of(row).enumerate() {
                let at = format!("ps.role_assignments[{i}].Roles[{j}]");
                let role_id = role["RoleID"].as_i64().unwrap_or_default();
                let name = role.get("Name").and_then(Value::as_str);
                match (names.get(&role_id), name) {
                    (Some(known), Some(name)) if !known.eq_ignore_ascii_case(name) => {
                        return Err(format!(
                            "`{at}` names role {role_id} `{name}`, elsewhere `{known}`"
                        ))
                    }
                    (Some(_), _) => {}
                    (None, _) if roles_given => {
                        return Err(format!("`{at}`: role {role_id} is not in `ps.roles`"))
                    }
                    (None, Some(name)) => {
                        if let Some((other, _)) =
                            names.iter().find(|(_, n)| n.eq_ignore_ascii_case(name))
                        {
                            return Err(format!(
                                "`{at}` gives role `{name}` the id {role_id}, elsewhere {other}"
                            ));
                        }
                        names.insert(role_id, name.to_owned());
                    }
                    (None, None) => {
                        return Err(format!(
                            "`{at}` needs a Name when the estate has no `ps.roles`"
                        ))
                    }
                }
            }
        }
        if !roles_given {
            for (name, preferred) in PRODUCT_ROLES {
                if names.values().any(|n| n.eq_ignore_ascii_case(name)) {
                    continue;
                }
                let free = if names.contains_key(&preferred) {
                    names.keys().max().copied().unwrap_or_default() + 1
                } else {
                    preferred
                };
                names.insert(free, name.to_owned());
            }
            self.roles = names
                .iter()
                .map(|(id, name)| row(json!({ "RoleID": id, "Name": name })))
                .collect();
        }
        for row in &mut self.role_assignments {
            if let Some(Value::Array(roles)) = row.get_mut("Roles") {
                for role in roles.iter_mut().filter_map(Value::as_object_mut) {
                    if !role.contains_key("Name") {
                        let name = id(role, "RoleID").and_then(|r| names.get(&r));
                        role.insert(
                            "Name".into(),
                            name.cloned().map_or(Value::Null, Value::from),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// The `Name` of a role.
    pub(crate) fn role_name(&self, role: i64) -> Option<&str> {
        find(&self.roles, "RoleID", role)?.get("Name")?.as_str()
    }

    /// Whether a role requests credentials (needs an access policy).
    pub(crate) fn is_requesting(&self, role: i64) -> bool {
        is_named(self.role_name(role), &REQUESTING_ROLES)
    }

    /// The `UserID` of a user name in `user_group_users` (case-insensitive).
    pub(crate) fn user_id(&self, user_name: &str) -> Option<i64> {
        self.user_group_users
            .iter()
            .find(|r| {
                r.get("UserName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(user_name))
            })
            .and_then(|r| id(r, "UserID"))
    }

    /// The account ids of a smart rule.
    fn members(&self, smart_rule: &Row) -> BTreeSet<i64> {
        smart_rule
            .get("_managed_account_ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect()
    }

    /// The accounts of a smart rule in the administrator's view, in estate order.
    pub(crate) fn smart_rule_accounts(&self, smart_rule: &Row) -> Vec<Value> {
        let members = self.members(smart_rule);
        self.managed_accounts
            .iter()
            .filter(|a| id(a, "ManagedAccountID").is_some_and(|i| members.contains(&i)))
            .map(public)
            .collect()
    }

    fn pair(&self, group: i64, smart_rule: i64) -> Option<usize> {
        self.role_assignments.iter().position(|r| {
            id(r, "UserGroupID") == Some(group) && id(r, "SmartRuleID") == Some(smart_rule)
        })
    }

    /// `GET UserGroups/{ug}/SmartRules/{sr}/Roles`: `[{RoleID, Name}]`, no access policy.
    pub(crate) fn pair_roles(&self, group: i64, smart_rule: i64) -> Vec<Value> {
        let Some(index) = self.pair(group, smart_rule) else {
            return Vec::new();
        };
        roles_of(&self.role_assignments[index])
            .map(|role| {
                let role_id = role.get("RoleID").cloned().unwrap_or(Value::Null);
                let name = role.get("Name").cloned().unwrap_or(Value::Null);
                json!({ "RoleID": role_id, "Name": name })
            })
            .collect()
    }

    /// Replaces the roles of a pair (none: removes the pair), keeping the row's place and its
    /// other fields.
    pub(crate) fn set_roles(
        &mut self,
        group: i64,
        smart_rule: i64,
        roles: &[i64],
        policy: Option<i64>,
    ) {
        let index = self.pair(group, smart_rule);
        if roles.is_empty() {
            if let Some(i) = index {
                self.role_assignments.remove(i);
            }
            return;
        }
        let roles: Vec<Value> = roles
            .iter()
            .map(|r| json!({ "RoleID": r, "Name": self.role_name(*r) }))
            .collect();
        let policy = policy.map_or(Value::Null, Value::from);
        match index {
            Some(i) => {
                let row = &mut self.role_assignments[i];
                row.insert("Roles".into(), Value::Array(roles));
                row.insert("AccessPolicyID".into(), policy);
            }
            None => self.role_assignments.push(row(json!({
                "UserGroupID": group,
                "SmartRuleID": smart_rule,
                "Roles": roles,
                "AccessPolicyID": policy,
            }))),
        }
    }

    /// `GET UserGroups/{id}/SmartRules`: the smart rules the group has roles on, in estate
    /// order. Access levels are not in the estate, so `accessLevelID` is not modelled.
    pub(crate) fn group_smart_rules(&self, group: i64) -> Vec<Value> {
        let rules: BTreeSet<i64> = self
            .role_assignments
            .iter()
            .filter(|r| id(r, "UserGroupID") == Some(group))
            .filter_map(|r| id(r, "SmartRuleID"))
            .collect();
        self.smart_rules
            .iter()
            .filter(|r| id(r, "SmartRuleID").is_some_and(|i| rules.contains(&i)))
            .map(public)
            .collect()
    }

    /// `GET AccessPolicies/{id}/Assignees` rows: one per role of every pair whose access policy
    /// is `policy`. Activity comes from the pair's own `UserGroupIsActive`/`SmartRuleIsActive`
    /// when the estate row carries them (as a fetched estate does), else from the group and the
    /// smart rule.
    pub(crate) fn assignees(&self, policy: i64) -> Vec<Value> {
        let mut out = Vec::new();
        for pair in self
            .role_assignments
            .iter()
            .filter(|r| id(r, "AccessPolicyID") == Some(policy))
        {
            let group_id = id(pair, "UserGroupID").unwrap_or_default();
            let rule_id = id(pair, "SmartRuleID").unwrap_or_default();
            let group = find(&self.user_groups, "GroupID", group_id);
            let rule = find(&self.smart_rules, "SmartRuleID", rule_id);
            let group_active = pair
                .get("UserGroupIsActive")
                .and_then(Value::as_bool)
                .unwrap_or_else(|| is_active(group));
            let rule_active = pair
                .get("SmartRuleIsActive")
                .and_then(Value::as_bool)
                .unwrap_or_else(|| is_active(rule));
            for role in roles_of(pair) {
                out.push(json!({
                    "RoleID": role.get("RoleID"),
                    "RoleName": role.get("Name"),
                    "UserGroupID": group_id,
                    "UserGroupName": group.and_then(|g| g.get("Name")),
                    "UserGroupIsActive": group_active,
                    "SmartRuleID": rule_id,
                    "SmartRuleTitle": rule.and_then(|r| r.get("Title")),
                    "SmartRuleIsActive": rule_active,
                }));
            }
        }
        out
    }

    /// `GET ManagedAccounts` for `user_name`: the API-enabled accounts in the smart rules on
    /// which an active group of the user (`user_group_users`) holds Requestor,
    /// Requestor/Approver or ISA; every API-enabled account for members of Administrators
    /// (§5.2, §8.1). Rows in the requestable view (`SystemId`/`AccountId`), in estate order.
    pub(crate) fn requestable(&self, user_name: &str) -> Vec<Value> {
        let groups: Vec<&Row> = self
            .user_group_users
            .iter()
            .filter(|r| {
                r.get("UserName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(user_name))
            })
            .filter_map(|r| find(&self.user_groups, "GroupID", id(r, "GroupID")?))
            .filter(|g| is_active(Some(g)))
            .collect();
        let admin = groups
            .iter()
            .any(|g| is_named(g.get("Name").and_then(Value::as_str), &[ADMINISTRATORS]));
        let group_ids: BTreeSet<i64> = groups.iter().filter_map(|g| id(g, "GroupID")).collect();
        let mut requestable = BTreeSet::new();
        let mut isa = BTreeSet::new();
        for pair in &self.role_assignments {
            if !id(pair, "UserGroupID").is_some_and(|g| group_ids.contains(&g)) {
                continue;
            }
            let Some(rule) = id(pair, "SmartRuleID")
                .and_then(|r| find(&self.smart_rules, "SmartRuleID", r))
                .filter(|r| is_active(Some(r)))
            else {
                continue;
            };
            for role in roles_of(pair) {
                let name = role.get("Name").and_then(Value::as_str);
                if is_named(name, &REQUESTING_ROLES) {
                    requestable.extend(self.members(rule));
                } else if is_named(name, &["ISA"]) {
                    isa.extend(self.members(rule));
                }
            }
        }
        self.managed_accounts
            .iter()
            .filter(|a| a.get("ApiEnabled").and_then(Value::as_bool) == Some(true))
            .filter_map(|a| {
                let account = id(a, "ManagedAccountID")?;
                let has_isa = admin || isa.contains(&account);
                (has_isa || requestable.contains(&account)).then(|| {
                    let system = id(a, "ManagedSystemID")
                        .and_then(|s| find(&self.managed_systems, "ManagedSystemID", s));
                    requestable_row(a, system, has_isa)
                })
            })
            .collect()
    }

    /// The collections as they stand, in the estate's `ps` shape, every collection present.
    pub(crate) fn snapshot(&self) -> Value {
        let all: [&[Row]; 10] = [
            &self.managed_systems,
            &self.managed_accounts,
            &self.smart_rules,
            &self.user_groups,
            &self.user_group_users,
            &self.roles,
            &self.role_assignments,
            &self.access_policies,
            &self.ticket_systems,
            &self.api_registrations,
        ];
        Value::Object(
            NAMES
                .iter()
                .zip(all)
                .map(|(name, rows)| {
                    let rows = rows.iter().cloned().map(Value::Object).collect();
                    ((*name).to_owned(), Value::Array(rows))
                })
                .collect(),
        )
    }
}

/// An account in the requestable view (§6.8a), from its administrator's row and its system.
fn requestable_row(account: &Row, system: Option<&Row>, isa: bool) -> Value {
    let a = |f: &str| account.get(f).cloned().unwrap_or(Value::Null);
    let s = |f: &str| {
        system
            .and_then(|s| s.get(f))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let or = |v: Value, default: Value| if v.is_null() { default } else { v };
    json!({
        "PlatformID": s("PlatformID"),
        "SystemId": a("ManagedSystemID"),
        "SystemName": s("SystemName"),
        "DomainName": a("DomainName"),
        "AccountId": a("ManagedAccountID"),
        "AccountName": a("AccountName"),
        "InstanceName": s("InstanceName"),
        "UserPrincipalName": a("UserPrincipalName"),
        "AccountDescription": a("Description"),
        "ApplicationID": null,
        "ApplicationDisplayName": null,
        "DefaultReleaseDuration": or(a("ReleaseDuration"), or(s("ReleaseDuration"), json!(120))),
        "MaximumReleaseDuration": or(a("MaxReleaseDuration"), or(s("MaxReleaseDuration"), json!(525600))),
        "LastChangeDate": a("LastChangeDate"),
        "NextChangeDate": a("NextChangeDate"),
        "IsChanging": or(a("IsChanging"), json!(false)),
        "ChangeState": or(a("ChangeState"), json!(0)),
        "IsISAAccess": isa,
        "PreferredNodeID": PREFERRED_NODE,
    })
}

fn row(value: Value) -> Row {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn load_rows(at: &str, value: &Value, keys: &[&str]) -> Result<Vec<Row>, String> {
    let Value::Array(rows) = value else {
        return Err(format!("`{at}` must be an array of rows"));
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let Value::Object(row) = row else {
            return Err(format!("`{at}[{i}]` must be an object"));
        };
        let mut identity = Vec::with_capacity(keys.len());
        for key in keys {
            let id = id(row, key)
                .filter(|v| *v > 0)
                .ok_or_else(|| format!("`{at}[{i}].{key}` must be a positive integer"))?;
            identity.push(id);
        }
        if !seen.insert(identity) {
            return Err(format!(
                "`{at}[{i}]` repeats the identity of an earlier row"
            ));
        }
        out.push(row.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("../../examples/seed/estate.json");

    fn seed_ps() -> Value {
        serde_json::from_str::<Value>(SEED).unwrap()["ps"].clone()
    }

    #[test]
    fn roles_are_derived_from_assignments_and_the_product_names() {
        let store = Store::from_estate(&json!({
            "user_groups": [{"GroupID": 1, "Name": "G"}],
            "smart_rules": [{"SmartRuleID": 1, "Title": "R"}],
            "role_assignments": [
                {"UserGroupID": 1, "SmartRuleID": 1, "Roles": [{"RoleID": 2, "Name": "Requestor"}, {"RoleID": 7, "Name": "Credentials Manager"}]}
            ]
        }))
        .unwrap();
        let roles: Vec<(i64, &str)> = store
            .roles
            .iter()
            .map(|r| (id(r, "RoleID").unwrap(), r["Name"].as_str().unwrap()))
            .collect();
        assert_eq!(
            roles,
            [
                (2, "Requestor"),
                (3, "Requestor/Approver"),
                (4, "ISA"),
                (5, "Auditor"),
                (7, "Credentials Manager"),
                // Its usual id is taken: the next one after the highest.
                (8, "Approver"),
            ]
        );
    }

    #[test]
    fn estates_an_appliance_could_not_have_are_refused() {
        let refused = |ps: Value, expect: &str| {
            let err = Store::from_estate(&ps).unwrap_err();
            assert!(err.contains(expect), "{err} lacks {expect}");
        };
        refused(json!({"managed_account": []}), "known: managed_systems");
        refused(
            json!({"managed_systems": [{"SystemName": "x"}]}),
            "ManagedSystemID",
        );
        refused(
            json!({"managed_systems": [{"ManagedSystemID": 1}, {"ManagedSystemID": 1}]}),
            "repeats",
        );
        refused(
            json!({"managed_accounts": [{"ManagedAccountID": 1, "ManagedSystemID": 9}]}),
            "ps.managed_accounts[0].ManagedSystemID",
        );
        refused(
            json!({"smart_rules": [{"SmartRuleID": 1, "_managed_account_ids": [4]}]}),
            "_managed_account_ids[0]",
        );
        refused(
            json!({"user_groups": [{"GroupID": 1}], "smart_rules": [{"SmartRuleID": 1}],
                   "role_assignments": [{"UserGroupID": 1, "SmartRuleID": 1, "Roles": [{"RoleID": 1, "Name": "Requestor"}], "AccessPolicyID": 3}]}),
            "AccessPolicyID",
        );
        refused(
            json!({"user_groups": [{"GroupID": 1}], "smart_rules": [{"SmartRuleID": 1}],
                   "roles": [{"RoleID": 1, "Name": "Requestor"}],
                   "role_assignments": [{"UserGroupID": 1, "SmartRuleID": 1, "Roles": [{"RoleID": 1, "Name": "ISA"}]}]}),
            "elsewhere `Requestor`",
        );
        refused(
            json!({"user_groups": [{"GroupID": 1}], "smart_rules": [{"SmartRuleID": 1}],
                   "role_assignments": [{"UserGroupID": 1, "SmartRuleID": 1, "Roles": [{"RoleID": 1}]}]}),
            "needs a Name",
        );
    }

    #[test]
    fn the_seed_loads_and_round_trips_through_the_snapshot() {
        let ps = seed_ps();
        let store = Store::from_estate(&ps).unwrap();
        let snapshot = store.snapshot();
        for (name, rows) in ps.as_object().unwrap() {
            assert_eq!(&snapshot[name], rows, "{name}");
        }
        assert_eq!(snapshot["user_group_users"], json!([]));
        assert!(store.role_name(4) == Some("ISA"));
    }

    #[test]
    fn requestable_accounts_follow_groups_roles_and_api_enabled() {
        let mut ps = seed_ps();
        ps["user_group_users"] = json!([
            {"GroupID": 3, "UserID": 41, "UserName": "CORP\\alice"},
            {"GroupID": 4, "UserID": 42, "UserName": "CORP\\bob"},
            {"GroupID": 1, "UserID": 43, "UserName": "admin"}
        ]);
        let store = Store::from_estate(&ps).unwrap();
        let ids = |user: &str| -> Vec<(i64, bool)> {
            store
                .requestable(user)
                .iter()
                .map(|r| (r["AccountId"].as_i64().unwrap(), r["IsISAAccess"] == true))
                .collect()
        };
        // Server Admins request smart rule 1; only its API-enabled accounts are listed.
        assert_eq!(
            ids("corp\\ALICE"),
            [(1, false), (2, false), (3, false), (4, false)]
        );
        // Break glass holds ISA on smart rule 2.
        assert_eq!(ids("CORP\\bob"), [(1, true), (2, true)]);
        assert_eq!(ids("admin").len(), 4);
        assert!(ids("nobody").is_empty());
        let first = &store.requestable("corp\\alice")[0];
        assert_eq!(first["SystemId"], 1);
        assert_eq!(first["SystemName"], "SRV-DC01");
        assert_eq!(first["DefaultReleaseDuration"], 120);
    }
}
