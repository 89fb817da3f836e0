//! The rule catalogue of DESIGN.md §4: stable ids, severities and what can be waived.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered from least to most severe.
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
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational, never fails a run with the default threshold.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// All severities, most severe first (the order reports list them in).
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lowercase name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! rules {
    ($( $variant:ident = $id:literal, $sev:ident, $waivable:literal, $summary:literal; )*) => {
        /// A rule of the catalogue. The id (kebab-case) is a contract.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        pub enum Rule {
            $(
                #[doc = $summary]
                #[serde(rename = $id)]
                $variant,
            )*
        }

        impl Rule {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];

            /// The stable id, as written in policies and reports.
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id),* }
            }

            /// The default severity (`unmanaged-host` depends on the `unmanaged` mode).
            pub fn severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$sev),* }
            }

            /// Whether a waiver may cover findings of this rule.
            pub fn waivable(self) -> bool {
                match self { $(Rule::$variant => $waivable),* }
            }

            /// One line saying when the rule fires.
            pub fn summary(self) -> &'static str {
                match self { $(Rule::$variant => $summary),* }
            }
        }
    };
}

rules! {
    ExternalSearchBypass = "external-search-bypass", Critical, true, "An account of a target is reachable as an External Jump Item, which carries no jump policy.";
    ApprovalMissing = "approval-missing", Critical, true, "A jump-item path to an approval-required target has no guard, or one without approval.";
    MembershipOverride = "membership-override", Critical, true, "A membership's own jump policy overrides the item's and fails a need of the target.";
    PersonalJumpItem = "personal-jump-item", Critical, true, "A personal jump item, guarded only by its owner, reaches a target with a requirement.";
    PsApprovalMissing = "ps-approval-missing", Critical, true, "A Password Safe request path to an approval-required target can be auto-approved.";
    PsIsaBypass = "ps-isa-bypass", Critical, true, "A user group holds the ISA role: credentials are released with no request at all.";
    UnsanctionedJumpGroup = "unsanctioned-jump-group", High, true, "A jump item of a target sits in a shared jump group the target does not list.";
    SelfApproval = "self-approval", High, true, "An approval-required path is guarded by a policy that lets requesters approve themselves.";
    PolicyEditable = "policy-editable", High, true, "A member of a guarded jump group can edit the jump policy, move or add items.";
    UnverifiedSetting = "unverified-setting", High, true, "A decision depends on a setting no API exposes and no valid attestation states.";
    TicketIdMissing = "ticket-id-missing", Medium, true, "A jump-item path to a ticket-requiring target demands no ticket ID.";
    ReasonMissing = "reason-missing", Medium, true, "A jump-item path to a reason-requiring target captures no reason.";
    PsReasonMissing = "ps-reason-missing", Medium, true, "A Password Safe request path to a reason-requiring target asks no reason.";
    PsTicketMissing = "ps-ticket-missing", Medium, true, "A Password Safe request path to a ticket-requiring target demands no ticket.";
    GroupPolicyMismatch = "group-policy-mismatch", Medium, true, "A path into a declared jump group is guarded by another policy than the group's.";
    JumpPolicyDrift = "jump-policy-drift", Medium, true, "A declared jump policy is missing live or differs in a declared field.";
    JumpGroupMissing = "jump-group-missing", Medium, true, "A declared jump group does not exist.";
    TargetNotFound = "target-not-found", Low, true, "A declared target matches no shared jump item.";
    PsApiEnabled = "ps-api-enabled", Medium, true, "An account of a target that forbids API release has ApiEnabled on.";
    CredentialNotFound = "credential-not-found", Low, true, "A declared credential matches no live Password Safe account.";
    WaiverExpired = "waiver-expired", Low, false, "A waiver is past its expiry date.";
    AttestationExpired = "attestation-expired", Low, false, "An attestation is past its expiry date and no valid one of its setting remains.";
    UnmanagedHost = "unmanaged-host", Info, true, "A live jump item's host is named by no target.";
    WaiverUnused = "waiver-unused", Info, false, "An unexpired waiver matches no finding.";
    SiteSelfApproval = "site-self-approval", Medium, true, "A live jump policy lets requesters approve themselves (site.self_approval: forbidden).";
    SiteRecordingsDisabled = "site-recordings-disabled", Medium, true, "A live jump policy disables recordings (site.recordings: required).";
    SiteEditingRole = "site-editing-role", Medium, true, "A membership role can edit jump policies, move or add items (site.editing_roles: forbidden).";
    SitePersonalJumpItem = "site-personal-jump-item", Medium, true, "A personal jump item exists (site.personal_jump_items: forbidden).";
}

impl Rule {
    /// Looks a rule up by its id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id() == id)
    }
}

/// The explanation of each rule, from `docs/rules/<id>.md`.
pub fn explanation(rule: Rule) -> &'static str {
    macro_rules! docs {
        ($($variant:ident => $file:literal),* $(,)?) => {
            match rule { $(Rule::$variant => include_str!(concat!("../docs/rules/", $file, ".md"))),* }
        };
    }
    docs! {
        ExternalSearchBypass => "external-search-bypass",
        ApprovalMissing => "approval-missing",
        MembershipOverride => "membership-override",
        PersonalJumpItem => "personal-jump-item",
        PsApprovalMissing => "ps-approval-missing",
        PsIsaBypass => "ps-isa-bypass",
        UnsanctionedJumpGroup => "unsanctioned-jump-group",
        SelfApproval => "self-approval",
        PolicyEditable => "policy-editable",
        UnverifiedSetting => "unverified-setting",
        TicketIdMissing => "ticket-id-missing",
        ReasonMissing => "reason-missing",
        PsReasonMissing => "ps-reason-missing",
        PsTicketMissing => "ps-ticket-missing",
        GroupPolicyMismatch => "group-policy-mismatch",
        JumpPolicyDrift => "jump-policy-drift",
        JumpGroupMissing => "jump-group-missing",
        TargetNotFound => "target-not-found",
        PsApiEnabled => "ps-api-enabled",
        CredentialNotFound => "credential-not-found",
        WaiverExpired => "waiver-expired",
        AttestationExpired => "attestation-expired",
        UnmanagedHost => "unmanaged-host",
        WaiverUnused => "waiver-unused",
        SiteSelfApproval => "site-self-approval",
        SiteRecordingsDisabled => "site-recordings-disabled",
        SiteEditingRole => "site-editing-role",
        SitePersonalJumpItem => "site-personal-jump-item",
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
