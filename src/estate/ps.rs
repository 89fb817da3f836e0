//! Password Safe objects, as the public API v3 returns them (PascalCase; the casing differences
//! between endpoints are accepted as aliases).

use serde::{Deserialize, Serialize};

/// Every Password Safe collection the analysis needs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Ps {
    /// `GET ManagedSystems`.
    pub managed_systems: Vec<ManagedSystem>,
    /// `GET ManagedSystems/{id}/ManagedAccounts` (administrator's view, with `ApiEnabled`).
    pub managed_accounts: Vec<ManagedAccount>,
    /// `GET SmartRules`, each with the account ids of `GET SmartRules/{id}/ManagedAccounts`.
    pub smart_rules: Vec<SmartRule>,
    /// `GET UserGroups`.
    pub user_groups: Vec<UserGroup>,
    /// `GET UserGroups/{id}/Users`, one row per (group, user).
    pub user_group_users: Vec<UserGroupUser>,
    /// `GET Roles`.
    pub roles: Vec<Role>,
    /// One row per (user group, smart rule) pair that has roles, with its access policy.
    pub role_assignments: Vec<RoleAssignment>,
    /// `GET AccessPolicies`.
    pub access_policies: Vec<AccessPolicy>,
    /// `GET TicketSystems`.
    pub ticket_systems: Vec<TicketSystem>,
    /// `GET ApiRegistrations`.
    pub api_registrations: Vec<ApiRegistration>,
}

impl Ps {
    /// Whether a schedule makes requesters give a ticket from an active ticket system: its own,
    /// or else the default one.
    pub fn ticket_enforced(&self, s: &Schedule) -> bool {
        if !s.require_ticket_system {
            return false;
        }
        let system = match s.ticket_system_id {
            Some(id) => self
                .ticket_systems
                .iter()
                .find(|t| t.ticket_system_id == id),
            None => self.ticket_systems.iter().find(|t| t.is_default_system),
        };
        system.is_some_and(|t| t.is_active)
    }
}

/// A managed system.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagedSystem {
    /// Id.
    #[serde(
        rename = "ManagedSystemID",
        alias = "SystemId",
        alias = "SystemID",
        alias = "ManagedSystemId"
    )]
    pub managed_system_id: i64,
    /// Host name.
    #[serde(rename = "HostName", skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    /// DNS name.
    #[serde(rename = "DnsName", skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// Address.
    #[serde(rename = "IPAddress", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// System name.
    #[serde(rename = "SystemName", skip_serializing_if = "Option::is_none")]
    pub system_name: Option<String>,
    /// NetBIOS name.
    #[serde(rename = "NetBiosName", skip_serializing_if = "Option::is_none")]
    pub net_bios_name: Option<String>,
}

impl ManagedSystem {
    /// The five fields a system is matched by, in the order findings name them.
    pub fn fields(&self) -> [Option<&str>; 5] {
        [
            self.host_name.as_deref(),
            self.dns_name.as_deref(),
            self.ip_address.as_deref(),
            self.system_name.as_deref(),
            self.net_bios_name.as_deref(),
        ]
    }
}

/// A managed account.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagedAccount {
    /// Id.
    #[serde(
        rename = "ManagedAccountID",
        alias = "AccountId",
        alias = "AccountID",
        alias = "ManagedAccountId"
    )]
    pub managed_account_id: i64,
    /// The system it belongs to.
    #[serde(
        rename = "ManagedSystemID",
        alias = "SystemId",
        alias = "SystemID",
        alias = "ManagedSystemId"
    )]
    pub managed_system_id: i64,
    /// Account name.
    #[serde(rename = "AccountName")]
    pub account_name: String,
    /// Whether the API (the ECM) may release it.
    #[serde(rename = "ApiEnabled")]
    pub api_enabled: bool,
}

/// A smart rule.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SmartRule {
    /// Id.
    #[serde(rename = "SmartRuleID", alias = "SmartRuleId")]
    pub smart_rule_id: i64,
    /// Title.
    #[serde(rename = "Title")]
    pub title: String,
    /// Whether it is active.
    #[serde(rename = "IsActive")]
    pub is_active: bool,
    /// Its accounts, from `GET SmartRules/{id}/ManagedAccounts`.
    #[serde(rename = "_managed_account_ids")]
    pub managed_account_ids: Vec<i64>,
}

impl Default for SmartRule {
    fn default() -> Self {
        SmartRule {
            smart_rule_id: 0,
            title: String::new(),
            is_active: true,
            managed_account_ids: Vec::new(),
        }
    }
}

/// A user group.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct UserGroup {
    /// Id.
    #[serde(rename = "GroupID", alias = "UserGroupID", alias = "GroupId")]
    pub group_id: i64,
    /// Name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Whether it is active.
    #[serde(rename = "IsActive")]
    pub is_active: bool,
}

impl Default for UserGroup {
    fn default() -> Self {
        UserGroup {
            group_id: 0,
            name: String::new(),
            is_active: true,
        }
    }
}

/// A member of a user group.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserGroupUser {
    /// The group.
    #[serde(rename = "GroupID", alias = "UserGroupID")]
    pub group_id: i64,
    /// The user.
    #[serde(rename = "UserID", alias = "UserId")]
    pub user_id: i64,
    /// Login name.
    #[serde(rename = "UserName")]
    pub user_name: String,
}

/// A role (`GET Roles`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Role {
    /// Id.
    #[serde(rename = "RoleID", alias = "RoleId")]
    pub role_id: i64,
    /// Name (Requestor, Requestor/Approver, Approver, ISA, …).
    #[serde(rename = "Name")]
    pub name: String,
}

/// The roles of one user group on one smart rule, and the access policy of the pair.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleAssignment {
    /// The user group.
    #[serde(rename = "UserGroupID")]
    pub user_group_id: i64,
    /// The smart rule.
    #[serde(rename = "SmartRuleID")]
    pub smart_rule_id: i64,
    /// The roles.
    #[serde(rename = "Roles")]
    pub roles: Vec<Role>,
    /// The access policy, when one is assigned.
    #[serde(rename = "AccessPolicyID")]
    pub access_policy_id: Option<i64>,
    /// Whether the user group is active, as `AccessPolicies/{id}/Assignees` reports it.
    #[serde(rename = "UserGroupIsActive", skip_serializing_if = "Option::is_none")]
    pub user_group_is_active: Option<bool>,
    /// Whether the smart rule is active, as `AccessPolicies/{id}/Assignees` reports it.
    #[serde(rename = "SmartRuleIsActive", skip_serializing_if = "Option::is_none")]
    pub smart_rule_is_active: Option<bool>,
}

impl RoleAssignment {
    /// False when `Assignees` reports the user group or the smart rule inactive.
    pub fn active(&self) -> bool {
        self.user_group_is_active != Some(false) && self.smart_rule_is_active != Some(false)
    }
}

/// An access policy.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessPolicy {
    /// Id.
    #[serde(rename = "AccessPolicyID")]
    pub access_policy_id: i64,
    /// Name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Schedules.
    #[serde(rename = "Schedules")]
    pub schedules: Vec<Schedule>,
}

/// A schedule of an access policy.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Schedule {
    /// Id.
    #[serde(rename = "ScheduleID")]
    pub schedule_id: i64,
    /// A reason must be given.
    #[serde(rename = "RequireReason")]
    pub require_reason: bool,
    /// A ticket must be given.
    #[serde(rename = "RequireTicketSystem")]
    pub require_ticket_system: bool,
    /// The ticket system; `null` means the default one.
    #[serde(rename = "TicketSystemID")]
    pub ticket_system_id: Option<i64>,
    /// Access types granted.
    #[serde(rename = "AccessTypes")]
    pub access_types: Vec<AccessType>,
}

/// One access type of a schedule.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessType {
    /// View, RDP, SSH, …
    #[serde(rename = "AccessType")]
    pub access_type: String,
    /// A session access type.
    #[serde(rename = "IsSession")]
    pub is_session: bool,
    /// Sessions are recorded.
    #[serde(rename = "RecordSession")]
    pub record_session: bool,
    /// Approvers needed; 0 is auto-approve.
    #[serde(rename = "MinApprovers")]
    pub min_approvers: i64,
    /// Concurrent requests.
    #[serde(rename = "MaxConcurrent")]
    pub max_concurrent: i64,
}

/// A ticket system.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketSystem {
    /// Id.
    #[serde(rename = "TicketSystemID")]
    pub ticket_system_id: i64,
    /// Name.
    #[serde(rename = "TicketSystemName")]
    pub ticket_system_name: String,
    /// Active.
    #[serde(rename = "IsActive")]
    pub is_active: bool,
    /// The default system.
    #[serde(rename = "IsDefaultSystem")]
    pub is_default_system: bool,
}

/// An API registration (the auth-side policy knobs; keys are never read).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiRegistration {
    /// Id.
    #[serde(rename = "Id", alias = "ID")]
    pub id: i64,
    /// Name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Whether it is active.
    #[serde(rename = "Active", alias = "IsActive")]
    pub active: bool,
    /// Whether the user password is required on sign-in.
    #[serde(rename = "UserPasswordRequired")]
    pub user_password_required: bool,
}
