//! Privileged Remote Access objects, as the Configuration API v1 returns them.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// Every PRA collection the analysis needs, keyed like the endpoints.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Pra {
    /// `GET /jump-item/{type}`, by type segment.
    pub jump_item: BTreeMap<JumpItemType, Vec<JumpItem>>,
    /// `GET /jump-client`.
    pub jump_client: Vec<JumpClient>,
    /// `GET /jump-group` (shared groups only).
    pub jump_group: Vec<JumpGroup>,
    /// `GET /jump-group/{id}/user`, one row per explicit user membership.
    pub jump_group_user: Vec<JumpGroupUser>,
    /// `GET /group-policy`.
    pub group_policy: Vec<GroupPolicy>,
    /// `GET /group-policy/{id}/jump-group`, one row per membership.
    pub group_policy_jump_group: Vec<GroupPolicyJumpGroup>,
    /// `GET /jump-policy`.
    pub jump_policy: Vec<JumpPolicy>,
    /// `GET /jump-policy/{id}/schedule`, keyed by jump policy id.
    pub jump_policy_schedule: BTreeMap<String, JumpPolicySchedule>,
    /// `GET /jump-item-role`.
    pub jump_item_role: Vec<JumpItemRole>,
    /// `GET /jumpoint`.
    pub jumpoint: Vec<Jumpoint>,
    /// `GET /user`.
    pub user: Vec<User>,
    /// `GET /team`.
    pub team: Vec<Team>,
    /// `GET /session-policy`.
    pub session_policy: Vec<SessionPolicy>,
    /// `GET /vault/account`.
    pub vault_account: Vec<VaultAccount>,
    /// `GET /vault/account-group`.
    pub vault_account_group: Vec<VaultAccountGroup>,
}

/// The jump item types of the Configuration API, spelled as their URL segment.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum JumpItemType {
    /// Remote RDP.
    RemoteRdp,
    /// Remote VNC.
    RemoteVnc,
    /// Shell Jump (SSH, Telnet).
    ShellJump,
    /// Protocol tunnel (TCP, MSSQL, Kubernetes).
    ProtocolTunnelJump,
    /// PostgreSQL tunnel.
    PsqlTunnelJump,
    /// MySQL tunnel.
    MysqlTunnelJump,
    /// Network tunnel (filter rules of addresses).
    NetworkTunnelJump,
    /// Web Jump.
    WebJump,
}

impl JumpItemType {
    /// All eight types.
    pub const ALL: [JumpItemType; 8] = [
        JumpItemType::RemoteRdp,
        JumpItemType::RemoteVnc,
        JumpItemType::ShellJump,
        JumpItemType::ProtocolTunnelJump,
        JumpItemType::PsqlTunnelJump,
        JumpItemType::MysqlTunnelJump,
        JumpItemType::NetworkTunnelJump,
        JumpItemType::WebJump,
    ];

    /// The URL segment (`remote-rdp`), also the `type` of a path element.
    pub fn segment(self) -> &'static str {
        match self {
            JumpItemType::RemoteRdp => "remote-rdp",
            JumpItemType::RemoteVnc => "remote-vnc",
            JumpItemType::ShellJump => "shell-jump",
            JumpItemType::ProtocolTunnelJump => "protocol-tunnel-jump",
            JumpItemType::PsqlTunnelJump => "psql-tunnel-jump",
            JumpItemType::MysqlTunnelJump => "mysql-tunnel-jump",
            JumpItemType::NetworkTunnelJump => "network-tunnel-jump",
            JumpItemType::WebJump => "web-jump",
        }
    }
}

/// `shared` or `personal`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JumpGroupType {
    /// A shared jump group; `jump_group_id` is the group.
    #[default]
    Shared,
    /// A personal list; `jump_group_id` is the owner's user id.
    Personal,
}

/// A jump item of any of the eight types (the union of their fields the analysis uses).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JumpItem {
    /// Unique within its type only.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Target host (not on web jumps and network tunnels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// URL of a web jump or a Kubernetes protocol tunnel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Protocol tunnel kind (`tcp`, `mssql`, `k8s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel_type: Option<String>,
    /// Shell jump protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Network tunnel filter rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filter_rules: Vec<FilterRule>,
    /// The jumpoint it connects through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jumpoint_id: Option<i64>,
    /// The shared group, or the owner's user id for a personal item.
    pub jump_group_id: i64,
    /// Shared or personal.
    pub jump_group_type: JumpGroupType,
    /// The item's jump policy; `null` means none.
    pub jump_policy_id: Option<i64>,
    /// The item's session policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_policy_id: Option<i64>,
    /// Free-text tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Comments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
}

/// One network tunnel filter rule.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterRule {
    /// The addresses it lets through.
    pub ip_addresses: IpAddresses,
    /// `ANY`, `TCP`, `UDP`, `ICMP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// Addresses of a filter rule: one of a CIDR, a range or a list.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IpAddresses {
    /// `a.b.c.d/n`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// A first and last address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<AddressRange>,
    /// Single addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<Vec<String>>,
}

/// An address range of a filter rule.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AddressRange {
    /// First address.
    pub start: String,
    /// Last address.
    pub end: String,
}

/// A jump client (`GET /jump-client`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JumpClient {
    /// Id (unique among jump clients).
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Host name reported by the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Fully qualified domain name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Private address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    /// Public address (not a host candidate: it is the NAT's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    /// Shared group, or owner's user id.
    pub jump_group_id: i64,
    /// Shared or personal.
    pub jump_group_type: JumpGroupType,
    /// The client's jump policy.
    pub jump_policy_id: Option<i64>,
    /// Tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// A shared jump group.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JumpGroup {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Code name.
    pub code_name: String,
    /// Comments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    /// ECM group it is tied to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecm_group_id: Option<i64>,
}

/// An explicit user membership of a jump group.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JumpGroupUser {
    /// The group (the `{id}` of the URL).
    pub jump_group_id: i64,
    /// The user.
    pub user_id: i64,
    /// The role; `null` means the user's default role.
    pub jump_item_role_id: Option<i64>,
    /// The membership's jump policy; `null` means "Set on Jump Items".
    pub jump_policy_id: Option<i64>,
}

/// A group policy.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupPolicy {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The role its jump-group memberships use when theirs is 0.
    pub default_jump_item_role_id: Option<i64>,
}

/// A group policy's membership of a jump group.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupPolicyJumpGroup {
    /// The group policy (the `{id}` of the URL).
    pub group_policy_id: i64,
    /// The jump group.
    pub jump_group_id: i64,
    /// The role; `0` means the group policy's default role.
    pub jump_item_role_id: Option<i64>,
    /// The membership's jump policy; `0` means "Set on Jump Items".
    pub jump_policy_id: Option<i64>,
}

/// A jump policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct JumpPolicy {
    /// Id.
    pub id: i64,
    /// Code name.
    pub code_name: String,
    /// Display name.
    pub display_name: String,
    /// Access needs an approval.
    pub approval_required: bool,
    /// `not_requestor` or `anyone` (self-approval).
    pub approval_approver_scope: String,
    /// Minutes of access after an approval.
    pub approval_max_duration: i64,
    /// Approving teams (ids as strings, as the API has them).
    #[serde(deserialize_with = "string_ids")]
    pub approval_team_ids: Vec<String>,
    /// Approving users (ids as strings).
    #[serde(deserialize_with = "string_ids")]
    pub approval_user_ids: Vec<String>,
    /// Approving e-mail addresses.
    pub approval_email_addresses: Vec<String>,
    /// Name shown to approvers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_display_name: Option<String>,
    /// A ticket ID must be given.
    pub ticket_id_required: bool,
    /// Recordings are off.
    pub recordings_disabled: bool,
    /// Access is limited to a schedule.
    pub schedule_enabled: bool,
}

impl Default for JumpPolicy {
    fn default() -> Self {
        JumpPolicy {
            id: 0,
            code_name: String::new(),
            display_name: String::new(),
            approval_required: false,
            approval_approver_scope: "not_requestor".into(),
            approval_max_duration: 480,
            approval_team_ids: Vec::new(),
            approval_user_ids: Vec::new(),
            approval_email_addresses: Vec::new(),
            approval_display_name: None,
            ticket_id_required: false,
            recordings_disabled: false,
            schedule_enabled: false,
        }
    }
}

impl JumpPolicy {
    /// Whether requesters may approve themselves.
    pub fn self_approval(&self) -> bool {
        self.approval_approver_scope.eq_ignore_ascii_case("anyone")
    }
}

/// The schedule of a jump policy.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JumpPolicySchedule {
    /// Time zone.
    pub timezone: Option<String>,
    /// Entries.
    pub entries: Vec<serde_json::Value>,
}

/// A jump item role.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JumpItemRole {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Start sessions.
    pub perm_start: bool,
    /// Add items to the group.
    pub perm_add: bool,
    /// Move items between groups.
    pub perm_assign_jump_group: bool,
    /// Edit items' jump policy.
    pub perm_edit_jump_policy: bool,
    /// Remove items.
    pub perm_remove: bool,
}

impl JumpItemRole {
    /// Whether the role lets a member remove the guard (edit the policy, move or add items).
    pub fn can_edit_guard(&self) -> bool {
        self.perm_edit_jump_policy || self.perm_assign_jump_group || self.perm_add
    }
}

/// A jumpoint.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Jumpoint {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Code name.
    pub code_name: String,
    /// Network id used for External Jump Items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_jump_item_network_id: Option<String>,
}

/// A user.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_display_name: Option<String>,
    /// Role used on memberships whose role is null.
    pub default_jump_item_role_id: Option<i64>,
}

/// A team.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Team {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Code name.
    pub code_name: String,
}

/// A session policy.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionPolicy {
    /// Id.
    pub id: i64,
    /// Display name.
    pub display_name: String,
    /// Code name.
    pub code_name: String,
}

/// A vault account (secrets are never read).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VaultAccount {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Kind (`username_password`, `password_safe`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Account group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_group_id: Option<i64>,
}

/// A vault account group.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VaultAccountGroup {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// Ids the API types as strings; numbers are accepted too.
fn string_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let values = Option::<Vec<serde_json::Value>>::deserialize(d)?.unwrap_or_default();
    Ok(values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
        .collect())
}
