//! The policy language v1 as written in YAML (DESIGN.md §2). These types are the single source of
//! the JSON Schema in `schemas/jumpguard-policy.schema.json`.

use schemars::JsonSchema;
use serde::Deserialize;

use super::spanned::{Spanned, SpannedMap};

/// One policy file. A policy is one file or a directory of them; files merge (DESIGN.md §2).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "jumpguard policy",
    description = "A jumpguard policy file, language version 1."
)]
pub struct PolicyFile {
    /// The language version; always 1.
    pub version: Option<Spanned<PolicyVersion>>,
    /// Built-in packs (`jumpguard:baseline`) or paths relative to this file; they bring defaults.
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    /// Where live configuration comes from (never secrets).
    pub sites: Option<SitesSpec>,
    /// Desired PRA jump policies, keyed by code name.
    #[serde(default)]
    pub jump_policies: SpannedMap<JumpPolicySpec>,
    /// PRA shared jump groups, keyed by code name.
    #[serde(default)]
    pub jump_groups: SpannedMap<JumpGroupSpec>,
    /// The hosts to protect and what they require.
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
    /// What to do about live jump items whose host no target names (default `warn`).
    pub unmanaged: Option<Spanned<Unmanaged>>,
    /// Site-wide hardening, checked on every live object.
    pub site: Option<SiteSpec>,
    /// How the Endpoint Credential Manager reaches Password Safe.
    pub password_safe: Option<PasswordSafeSpec>,
    /// Facts no API exposes, stated by an administrator.
    #[serde(default)]
    pub attestations: Vec<AttestationSpec>,
    /// Accepted exceptions, each with a reason and an expiry.
    #[serde(default)]
    pub waivers: Vec<WaiverSpec>,
}

/// The policy language version. Only `1` exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(schema_with = "version_schema")]
pub struct PolicyVersion(pub u64);

impl<'de> Deserialize<'de> for PolicyVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        if v == 1 {
            Ok(PolicyVersion(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported policy version {v}: this jumpguard reads version 1"
            )))
        }
    }
}

fn version_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "integer", "enum": [1], "description": "The language version; always 1." })
}

/// Site URLs. Credentials come from the environment, never from policy files.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SitesSpec {
    /// The Privileged Remote Access site.
    pub pra: Option<SiteUrl>,
    /// The Password Safe (BeyondInsight) site.
    pub password_safe: Option<SiteUrl>,
}

/// A site root URL such as `https://pra.corp.example`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteUrl {
    /// The site root; jumpguard appends the API paths.
    pub url: Spanned<String>,
}

/// A desired PRA jump policy. Only declared fields are compared with the live policy.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JumpPolicySpec {
    /// `display_name` of the live policy (compared exactly).
    pub display_name: Option<Spanned<String>>,
    /// Approval settings.
    pub approval: Option<ApprovalSpec>,
    /// `ticket_id_required`.
    pub ticket_id: Option<Spanned<Requirement>>,
    /// `recordings_disabled` (required means recordings on).
    pub recording: Option<Spanned<Requirement>>,
}

/// The approval part of a jump policy.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSpec {
    /// `approval_required`.
    pub required: Option<Spanned<bool>>,
    /// Who may approve; only the lists declared are compared.
    pub approvers: Option<ApproversSpec>,
    /// `approval_max_duration`, with a unit: `90m`, `4h`, `2d`.
    pub max_duration: Option<Spanned<String>>,
    /// `false` means `approval_approver_scope: not_requestor`.
    pub self_approval: Option<Spanned<bool>>,
}

/// Approvers of a jump policy. An omitted list declares nothing; `[]` declares "none".
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproversSpec {
    /// Teams by name (`approval_team_ids`).
    pub teams: Option<Vec<Spanned<String>>>,
    /// Users by username (`approval_user_ids`).
    pub users: Option<Vec<Spanned<String>>>,
    /// E-mail addresses (`approval_email_addresses`).
    pub emails: Option<Vec<Spanned<String>>>,
}

/// A PRA shared jump group.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JumpGroupSpec {
    /// The group's display name.
    pub name: Option<Spanned<String>>,
    /// Every path into this group must be guarded by this jump policy (a declared code name).
    pub jump_policy: Option<Spanned<String>>,
}

/// `required` or `not_required`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// The need applies.
    Required,
    /// The need does not apply.
    #[default]
    NotRequired,
}

impl Requirement {
    /// Whether this is `required`.
    pub fn is_required(self) -> bool {
        self == Requirement::Required
    }
}

/// A named group of hosts and what reaching them requires.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// Unique name; findings are reported per target.
    pub name: Spanned<String>,
    /// Exact names, IP addresses, CIDR ranges and shell-style globs (case-insensitive).
    pub hosts: Vec<Spanned<String>>,
    /// The only shared jump groups (code names) allowed to hold the target's items.
    pub jump_groups: Option<Vec<Spanned<String>>>,
    /// Whether every access needs an approval (default `not_required`).
    pub approval: Option<Spanned<Requirement>>,
    /// Reason fields a person must give.
    pub reason: Option<ReasonSpec>,
    /// Password Safe accounts that reach these hosts.
    #[serde(default)]
    pub credentials: Vec<CredentialSpec>,
    /// Whether Password Safe may release the target's accounts to API callers, the Endpoint
    /// Credential Manager included (`ApiEnabled`). `forbidden`: every account must have
    /// `ApiEnabled` off (`ps-api-enabled`), which also closes External Jump Items for them.
    pub password_safe_api: Option<Spanned<Permission>>,
}

/// Reason fields of a target.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonSpec {
    /// A free-text reason must be captured before access.
    pub comment: Option<Spanned<Requirement>>,
    /// A ticket ID must be given.
    pub ticket_id: Option<Spanned<Requirement>>,
    /// A regular expression for ticket IDs; shown in reports, not checkable live in v1.
    pub ticket_pattern: Option<Spanned<String>>,
}

/// A Password Safe account: a managed system (by host name, DNS name, address, system name or
/// NetBIOS name, compared exactly) and an account name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    /// The managed system.
    pub system: Spanned<String>,
    /// The account's `AccountName`.
    pub account: Spanned<String>,
}

/// What to do about live jump items whose host no target names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unmanaged {
    /// Report nothing.
    Ignore,
    /// Report at severity info.
    #[default]
    Warn,
    /// Report at severity high.
    Deny,
}

/// `forbidden` or `allowed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Not allowed anywhere on the site.
    Forbidden,
    /// Allowed.
    Allowed,
}

/// Site-wide hardening, checked on every live object.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    /// No jump policy may have `approval_approver_scope: anyone`.
    pub self_approval: Option<Spanned<Permission>>,
    /// No jump policy may set `recordings_disabled: true`.
    pub recordings: Option<Spanned<Requirement>>,
    /// No membership role may edit jump policies, move, copy or add items.
    pub editing_roles: Option<Spanned<Permission>>,
    /// No personal jump items at all.
    pub personal_jump_items: Option<Spanned<Permission>>,
}

/// Password Safe settings of the policy.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordSafeSpec {
    /// The Endpoint Credential Manager.
    pub ecm: Option<EcmSpec>,
}

/// How the ECM reaches Password Safe.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EcmSpec {
    /// The user groups the ECM signs in with (default: `Secure Remote Access Requesters`).
    pub user_groups: Vec<Spanned<String>>,
}

/// A setting that no API exposes and an administrator can attest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, JsonSchema)]
pub enum Setting {
    /// Management > Security > "Allow Search for External Jump Items".
    #[serde(rename = "pra.allow_search_external_jump_items")]
    AllowSearchExternalJumpItems,
    /// A ticket system is configured for PRA jump policies (Jump > Jump Policies).
    #[serde(rename = "pra.ticket_system_configured")]
    TicketSystemConfigured,
    /// Local and Remote Jump items (invisible to the API) exist.
    #[serde(rename = "pra.local_and_remote_jump_items_present")]
    LocalAndRemoteJumpItemsPresent,
}

impl Setting {
    /// Every attestable setting.
    pub const ALL: [Setting; 3] = [
        Setting::AllowSearchExternalJumpItems,
        Setting::TicketSystemConfigured,
        Setting::LocalAndRemoteJumpItemsPresent,
    ];

    /// The id written in policies.
    pub fn id(self) -> &'static str {
        match self {
            Setting::AllowSearchExternalJumpItems => "pra.allow_search_external_jump_items",
            Setting::TicketSystemConfigured => "pra.ticket_system_configured",
            Setting::LocalAndRemoteJumpItemsPresent => "pra.local_and_remote_jump_items_present",
        }
    }
}

/// An administrator's statement of a UI-only setting, valid through `expires`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationSpec {
    /// The setting.
    pub setting: Spanned<Setting>,
    /// Its value.
    pub value: Spanned<bool>,
    /// Who checked it.
    pub by: Spanned<String>,
    /// The day it was checked (YYYY-MM-DD, not in the future).
    pub attested_on: Spanned<String>,
    /// The last day it is valid (YYYY-MM-DD).
    pub expires: Spanned<String>,
    /// Optional free text (how it was checked).
    pub note: Option<Spanned<String>>,
}

/// An accepted exception to a rule, with a reason and an expiry.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverSpec {
    /// The rule id.
    #[schemars(schema_with = "waivable_rule_schema")]
    pub rule: Spanned<String>,
    /// Only findings of this target (without it: every target, target-less findings included).
    pub target: Option<Spanned<String>>,
    /// Only findings whose host this matches (target host syntax).
    pub host: Option<Spanned<String>>,
    /// Why the exception is accepted.
    pub reason: Spanned<String>,
    /// The change or risk ticket.
    pub ticket: Option<Spanned<String>>,
    /// Who owns the exception.
    pub owner: Option<Spanned<String>>,
    /// The last day the waiver applies (YYYY-MM-DD).
    pub expires: Spanned<String>,
}

fn waivable_rule_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let ids: Vec<&str> = crate::rules::Rule::ALL
        .iter()
        .filter(|r| r.waivable())
        .map(|r| r.id())
        .collect();
    schemars::json_schema!({ "type": "string", "enum": ids, "description": "The rule id (waiver-*, attestation-expired cannot be waived)." })
}
