//! The policy language: loading files and directories, the JSON Schema check, semantic
//! validation, and the merged, typed [`Policy`] the evaluator works from.

mod diag;
pub mod hosts;
mod load;
mod spanned;
pub mod types;
pub mod yaml;

pub use diag::{did_you_mean, render_diagnostic, FileId, Place, Problem, SourceFile, Sources};
pub use load::{load, load_str, schema, LoadError};
pub use spanned::{Loc, Spanned, SpannedMap};
pub use types::{Permission, Requirement, Setting, Unmanaged};

use jiff::civil::Date;

use crate::rules::Rule;
use hosts::HostPattern;
use types::JumpPolicySpec;

/// The ECM user group BeyondInsight creates when it is connected to PRA.
pub const DEFAULT_ECM_USER_GROUP: &str = "Secure Remote Access Requesters";

/// A loaded, merged and validated policy.
#[derive(Debug, Default)]
pub struct Policy {
    /// The files it was read from, for diagnostics and locations.
    pub sources: Sources,
    /// The PRA site URL, when declared.
    pub pra_url: Option<(String, Place)>,
    /// The Password Safe site URL, when declared.
    pub password_safe_url: Option<(String, Place)>,
    /// Declared jump policies.
    pub jump_policies: Vec<DeclaredJumpPolicy>,
    /// Declared jump groups.
    pub jump_groups: Vec<DeclaredJumpGroup>,
    /// Targets, in file order.
    pub targets: Vec<Target>,
    /// What to do about unmanaged hosts, and where that was said.
    pub unmanaged: (Unmanaged, Option<Place>),
    /// Site-wide hardening: each rule that is on, with the place that turned it on.
    pub site: SiteRules,
    /// The ECM's user groups (names as written).
    pub ecm_user_groups: Vec<String>,
    /// Where the policy says something that needs Password Safe (`password_safe` or a `credentials`).
    pub needs_password_safe: Option<Place>,
    /// Attestations, in file order.
    pub attestations: Vec<Attestation>,
    /// Waivers, in file order.
    pub waivers: Vec<Waiver>,
    /// The place findings point at when nothing more precise exists: the first file's first line.
    pub root: Place,
}

/// A jump policy the policy declares.
#[derive(Debug)]
pub struct DeclaredJumpPolicy {
    /// Its code name.
    pub code_name: String,
    /// Where it is declared.
    pub place: Place,
    /// The declared fields.
    pub spec: JumpPolicySpec,
    /// `approval.max_duration` in minutes, when declared.
    pub max_duration_minutes: Option<i64>,
}

/// A jump group the policy declares.
#[derive(Debug)]
pub struct DeclaredJumpGroup {
    /// Its code name.
    pub code_name: String,
    /// Where it is declared.
    pub place: Place,
    /// Its display name, when declared.
    pub name: Option<String>,
    /// The code name of the jump policy that must guard every path into it.
    pub jump_policy: Option<String>,
}

/// A target: hosts and what reaching them requires.
#[derive(Debug)]
pub struct Target {
    /// Its name as written.
    pub name: String,
    /// Where it is declared (its `name`).
    pub place: Place,
    /// Its host patterns.
    pub hosts: Vec<(HostPattern, Place)>,
    /// The shared jump groups (code names, lowercased) allowed to hold its items, when listed.
    pub jump_groups: Option<Vec<String>>,
    /// `approval: required`.
    pub approval: bool,
    /// `reason.comment: required`.
    pub comment: bool,
    /// `reason.ticket_id: required`.
    pub ticket: bool,
    /// `reason.ticket_pattern`.
    pub ticket_pattern: Option<String>,
    /// Declared Password Safe accounts.
    pub credentials: Vec<Credential>,
    /// `password_safe_api: forbidden`: no account of the target may have `ApiEnabled`.
    pub api_forbidden: bool,
}

impl Target {
    /// Whether the target has any requirement (approval, comment or ticket).
    pub fn has_requirement(&self) -> bool {
        self.approval || self.comment || self.ticket
    }
}

/// A declared Password Safe account of a target.
#[derive(Debug)]
pub struct Credential {
    /// The managed system, normalized like a host name.
    pub system: String,
    /// The account name.
    pub account: String,
    /// Where it is declared.
    pub place: Place,
}

/// The `site:` rules that are switched on, each with its place.
#[derive(Debug, Default)]
pub struct SiteRules {
    /// `self_approval: forbidden`.
    pub self_approval: Option<Place>,
    /// `recordings: required`.
    pub recordings: Option<Place>,
    /// `editing_roles: forbidden`.
    pub editing_roles: Option<Place>,
    /// `personal_jump_items: forbidden`.
    pub personal_jump_items: Option<Place>,
}

/// An attestation of a UI-only setting.
#[derive(Debug, Clone)]
pub struct Attestation {
    /// The setting.
    pub setting: Setting,
    /// Its attested value.
    pub value: bool,
    /// Who attested it.
    pub by: String,
    /// When.
    pub attested_on: Date,
    /// Last valid day.
    pub expires: Date,
    /// Where it is written.
    pub place: Place,
}

/// A waiver.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// The rule it covers.
    pub rule: Rule,
    /// The target it is limited to.
    pub target: Option<String>,
    /// The host narrowing, as written and parsed.
    pub host: Option<(String, HostPattern)>,
    /// Why.
    pub reason: String,
    /// Ticket, when given.
    pub ticket: Option<String>,
    /// Owner, when given.
    pub owner: Option<String>,
    /// Last valid day.
    pub expires: Date,
    /// Where it is written.
    pub place: Place,
}

impl Policy {
    /// The target called `name`.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// Whether the policy relies on a Password Safe site, with the place that does.
    pub fn password_safe_place(&self) -> Option<Place> {
        self.needs_password_safe
    }
}
