//! Remediation: the actions that resolve a report's findings (DESIGN.md §7), the plan file,
//! and its execution. [`build`] is pure; [`apply`] is the only part that writes to an appliance.

pub mod apply;
mod build;
mod render;
mod simulate;

pub use build::{build, PlanOptions};
pub use render::{render, render_summary};
pub use simulate::simulate;
use simulate::simulate_on;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::estate::JumpItemType;

/// The plan file format version; fields are only added within a version.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// A remediation plan: what to change, what it resolves, and what it expects to find.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Always 1 for this layout.
    pub format_version: u32,
    /// When the plan was made (RFC 3339).
    pub created_at: String,
    /// The fingerprint of the estate it was made from ([`crate::estate::Estate::fingerprint`]).
    pub estate_fingerprint: String,
    /// Whether destructive actions were allowed (`--allow-destroy`).
    pub allow_destroy: bool,
    /// The actions, in the order they run (dependencies first).
    pub actions: Vec<Action>,
}

impl Plan {
    /// Actions that call an API.
    pub fn api_actions(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.kind == ActionKind::Api)
    }

    /// Steps a person must take.
    pub fn manual_actions(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.kind == ActionKind::Manual)
    }
}

/// One change, or one manual step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Action {
    /// A stable id within the plan (`a1`, `a2`, …); the journal records steps by it.
    pub id: String,
    /// `api` or `manual`.
    pub kind: ActionKind,
    /// How the change is shown: `+` create, `~` update, `-` destroy, `!` manual.
    pub change: Change,
    /// What to do.
    pub op: Op,
    /// One line for people.
    pub summary: String,
    /// The findings it resolves.
    pub resolves: Vec<Resolved>,
    /// The live state it expects, checked again before anything is changed.
    pub precondition: Vec<Precondition>,
    /// Field-level changes, for `~` actions (before and after, as JSON values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Actions that must run first (by id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// For manual steps: what to do, step by step (menu paths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instructions: Vec<String>,
    /// For manual steps: the policy snippet to add once done (an attestation, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then_add: Option<String>,
}

/// Whether an action calls an API or asks a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// jumpguard can do it.
    Api,
    /// No API can: a person must.
    Manual,
}

/// The kind of change, as the plan shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// `+`
    Create,
    /// `~`
    Update,
    /// `-`
    Destroy,
    /// `!`
    Manual,
}

impl Change {
    /// The sign shown before the action.
    pub fn sign(self) -> char {
        match self {
            Change::Create => '+',
            Change::Update => '~',
            Change::Destroy => '-',
            Change::Manual => '!',
        }
    }
}

/// A finding an action resolves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Resolved {
    /// The finding's fingerprint.
    pub fingerprint: String,
    /// Its rule id.
    pub rule: String,
    /// Its target.
    pub target: Option<String>,
    /// Its host.
    pub host: Option<String>,
}

/// What an action expects of one live object before it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Precondition {
    /// The object, keyed as [`crate::estate::Estate::object_fingerprints`] keys it
    /// (`pra/jump_item/remote-rdp/118`, `ps/role_assignments/3/1`).
    pub object: String,
    /// Its fingerprint when the plan was made; `None`: the object must not exist.
    pub fingerprint: Option<String>,
}

/// One field an update changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// The vendor's field name.
    pub field: String,
    /// The live value.
    pub before: serde_json::Value,
    /// The value after the change.
    pub after: serde_json::Value,
}

/// A jump policy the plan refers to: one that exists, or one an earlier action creates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyRef {
    /// A live jump policy, by id.
    Existing(i64),
    /// A jump policy created by this plan, by code name.
    Created(String),
    /// No jump policy: "Set on Jump Items" on a membership, none on an item.
    None,
}

/// A jump group the plan refers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupRef {
    /// A live jump group, by id.
    Existing(i64),
    /// A jump group created by this plan, by code name.
    Created(String),
}

/// What an action does. API operations name the vendor call they make.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// `POST /jump-policy` with `body` (the declared fields, in vendor names).
    CreateJumpPolicy {
        /// Code name of the new policy.
        code_name: String,
        /// The request body.
        body: serde_json::Value,
    },
    /// `PATCH /jump-policy/{id}` with `body`.
    UpdateJumpPolicy {
        /// The live policy.
        id: i64,
        /// The fields to set.
        body: serde_json::Value,
    },
    /// `POST /jump-group`.
    CreateJumpGroup {
        /// Code name.
        code_name: String,
        /// Display name.
        name: String,
    },
    /// `PATCH /jump-item/{type}/{id}` (or `/jump-client/{id}`): move into a group and/or set
    /// the jump policy.
    UpdateJumpItem {
        /// The item type; `None` for a jump client.
        item_type: Option<JumpItemType>,
        /// The item.
        id: i64,
        /// New shared group, when moving.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jump_group: Option<GroupRef>,
        /// New jump policy, when changing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jump_policy: Option<PolicyRef>,
    },
    /// `DELETE /jump-item/{type}/{id}` (or `/jump-client/{id}`). Needs `--allow-destroy`.
    DeleteJumpItem {
        /// The item type; `None` for a jump client.
        item_type: Option<JumpItemType>,
        /// The item.
        id: i64,
    },
    /// `DELETE` then `POST /group-policy/{id}/jump-group` with the new jump policy, then
    /// `POST /group-policy/{id}/provision` (memberships have no PATCH).
    SetGroupPolicyMembership {
        /// The group policy.
        group_policy_id: i64,
        /// The jump group.
        jump_group_id: i64,
        /// The role to keep (0 = the group policy's default).
        jump_item_role_id: i64,
        /// The new jump policy (`None` = "Set on Jump Items", 0).
        jump_policy: PolicyRef,
    },
    /// `PATCH /jump-group/{id}/user/{user_id}` with the new jump policy.
    SetUserMembership {
        /// The jump group.
        jump_group_id: i64,
        /// The user.
        user_id: i64,
        /// The new jump policy (`None` = "Set on Jump Items", null).
        jump_policy: PolicyRef,
    },
    /// `POST UserGroups/{ug}/SmartRules/{sr}/Roles` (replaces the pair's roles), or `DELETE`
    /// when no role remains.
    SetRoleAssignment {
        /// The user group.
        user_group_id: i64,
        /// The smart rule.
        smart_rule_id: i64,
        /// The roles after the change.
        role_ids: Vec<i64>,
        /// The access policy after the change (required with Requestor roles).
        access_policy_id: Option<i64>,
    },
    /// `PUT ManagedAccounts/{id}` with `ApiEnabled: false`.
    DisableApi {
        /// The managed account.
        managed_account_id: i64,
    },
    /// Something only a person can do.
    Manual {
        /// What, in a few words.
        title: String,
    },
}
