//! The report: what `check` found, in the shape of DESIGN.md §6 (a contract).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::estate::{Completeness, SourceStatus};
use crate::rules::{Rule, Severity};

/// The report format version; fields are only added within a version.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// The result of evaluating a policy against an estate.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "jumpguard report",
    description = "The output of `jumpguard check --format json`."
)]
pub struct Report {
    /// Always 1 for this layout.
    pub format_version: u32,
    /// The tool that wrote the report.
    pub tool: Tool,
    /// The day expiries were judged on (YYYY-MM-DD).
    pub as_of: String,
    /// `compliant`, `violations` or `incomplete`.
    pub verdict: Verdict,
    /// How complete each source was.
    pub sources: ReportSources,
    /// Counts.
    pub summary: Summary,
    /// Every finding, waived ones included, most severe first.
    pub findings: Vec<Finding>,
    /// Every target of the policy, in policy order (also those without findings).
    #[serde(default)]
    pub targets: Vec<TargetInfo>,
    /// Every waiver of the policy, with its expiry and how many findings it covers.
    #[serde(default)]
    pub waivers: Vec<WaiverInfo>,
    /// Every attestation of the policy, with its expiry.
    #[serde(default)]
    pub attestations: Vec<AttestationInfo>,
}

/// A target of the policy and what it requires.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TargetInfo {
    /// Its name.
    pub name: String,
    /// `approval: required`.
    pub approval: bool,
    /// `reason.comment: required`.
    pub comment: bool,
    /// `reason.ticket_id: required`.
    pub ticket_id: bool,
    /// Where it is declared.
    pub location: Location,
}

/// Waivers and attestations expiring within this many days are flagged `expiring`.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// A waiver of the policy as the run judged it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct WaiverInfo {
    /// The rule it covers.
    pub rule: Rule,
    /// The target it is limited to.
    pub target: Option<String>,
    /// The host narrowing, as written.
    pub host: Option<String>,
    /// Why.
    pub reason: String,
    /// Owner.
    pub owner: Option<String>,
    /// Ticket.
    pub ticket: Option<String>,
    /// Last valid day.
    pub expires: String,
    /// Days from `as_of` to `expires` (negative: expired).
    pub days_left: i64,
    /// `active`, `expiring` (within 14 days), `expired`, or `ignored` (`--no-waivers`).
    pub status: WaiverStatus,
    /// Findings it covers in this run.
    pub covers: usize,
    /// Where it is written.
    pub location: Location,
}

/// The state of a waiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaiverStatus {
    /// Valid for more than 14 days.
    Active,
    /// Valid, but for 14 days or less.
    Expiring,
    /// Past its expiry.
    Expired,
    /// Not applied (`--no-waivers`).
    Ignored,
}

/// An attestation of the policy as the run judged it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct AttestationInfo {
    /// The setting.
    pub setting: String,
    /// Its attested value.
    pub value: bool,
    /// Who attested it.
    pub by: String,
    /// When.
    pub attested_on: String,
    /// Last valid day.
    pub expires: String,
    /// Days from `as_of` to `expires` (negative: expired).
    pub days_left: i64,
    /// `valid`, `expiring` (within 14 days) or `expired`.
    pub status: AttestationStatus,
    /// Where it is written.
    pub location: Location,
}

/// The state of an attestation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttestationStatus {
    /// Valid for more than 14 days.
    Valid,
    /// Valid, but for 14 days or less.
    Expiring,
    /// Past its expiry.
    Expired,
}

/// Name and version of the tool.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// `jumpguard`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No unwaived finding at or above the threshold, and everything could be verified.
    Compliant,
    /// An unwaived finding reaches the threshold.
    Violations,
    /// A source is partial or a setting is unverified, and no finding reaches the threshold.
    Incomplete,
}

impl Verdict {
    /// The exit code of `check` (DESIGN.md §5).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Compliant => 0,
            Verdict::Violations => 1,
            Verdict::Incomplete => 3,
        }
    }

    /// The verdict as the JSON report spells it.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Compliant => "compliant",
            Verdict::Violations => "violations",
            Verdict::Incomplete => "incomplete",
        }
    }

    /// The status word of the verdict, for people who skim.
    pub fn status_word(self) -> &'static str {
        match self {
            Verdict::Compliant => "PASS",
            Verdict::Violations => "FAIL",
            Verdict::Incomplete => "INCOMPLETE",
        }
    }
}

/// Completeness of both sources.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReportSources {
    /// PRA.
    pub pra: SourceStatus,
    /// Password Safe.
    pub password_safe: SourceStatus,
}

/// Counts of the report.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Targets in the policy.
    pub targets: usize,
    /// Access paths enumerated.
    pub paths: usize,
    /// Unwaived findings.
    pub findings: usize,
    /// Waived findings.
    pub waived: usize,
    /// Findings known from the baseline (`--baseline`), not counted.
    #[serde(default)]
    pub baseline: usize,
    /// Unwaived findings by severity.
    pub by_severity: BySeverity,
}

/// Unwaived findings per severity.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct BySeverity {
    /// Critical.
    pub critical: usize,
    /// High.
    pub high: usize,
    /// Medium.
    pub medium: usize,
    /// Low.
    pub low: usize,
    /// Info.
    pub info: usize,
}

impl BySeverity {
    /// Counts one finding.
    pub fn add(&mut self, s: Severity) {
        match s {
            Severity::Critical => self.critical += 1,
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
            Severity::Info => self.info += 1,
        }
    }

    /// The count of one severity.
    pub fn get(&self, s: Severity) -> usize {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }
}

/// One way the live configuration fails the policy.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// Its severity in this run.
    pub severity: Severity,
    /// The target concerned, or null (DESIGN.md §4.1).
    pub target: Option<String>,
    /// The host concerned, or null.
    pub host: Option<String>,
    /// What is wrong, in words.
    pub message: String,
    /// The chain of live objects of the access path.
    pub path: Vec<PathElement>,
    /// The place in the policy it concerns.
    pub location: Location,
    /// Stable identity: rule, target, host and the path's object ids.
    pub fingerprint: String,
    /// The waiver that covers it, if any.
    pub waiver: Option<WaiverRef>,
    /// Known from the baseline (`--baseline`): reported, but it does not count.
    #[serde(default)]
    pub baseline: bool,
}

impl Finding {
    /// Whether the finding counts toward the verdict (neither waived nor in the baseline).
    pub fn counts(&self) -> bool {
        self.waiver.is_none() && !self.baseline
    }
}

/// One live object on an access path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PathElement {
    /// `jump_item`, `jump_client`, `jump_group`, `personal_list`, `user_membership`,
    /// `group_policy_membership`, `jump_policy`, `jump_item_role`, `managed_system`,
    /// `managed_account`, `smart_rule`, `user_group`, `role`, `access_policy`, `setting`.
    pub kind: String,
    /// The jump item type (`remote-rdp`, …) for jump items.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub item_type: Option<String>,
    /// Its id, when it has one.
    pub id: Option<i64>,
    /// Its name.
    pub name: String,
}

/// A place in a policy file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    /// The file, as given on the command line (or `jumpguard:<pack>`).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// The waiver covering a finding.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct WaiverRef {
    /// Why the exception is accepted.
    pub reason: String,
    /// Last valid day.
    pub expires: String,
    /// Owner.
    pub owner: Option<String>,
    /// Ticket.
    pub ticket: Option<String>,
    /// Where the waiver is written.
    pub location: Location,
}

impl Report {
    /// The exit code of `check` for this report.
    pub fn exit_code(&self) -> u8 {
        self.verdict.exit_code()
    }

    /// The findings that count (neither waived nor in the baseline).
    pub fn unwaived(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.counts())
    }

    /// Marks the findings whose fingerprints the baseline holds, and judges again.
    pub fn apply_baseline(
        &mut self,
        known: &std::collections::BTreeSet<String>,
        fail_on: Severity,
    ) {
        for f in &mut self.findings {
            f.baseline = known.contains(&f.fingerprint);
        }
        self.recompute(fail_on);
    }

    /// Counts and the verdict from the findings and the sources (DESIGN.md §4.1 "Verdict"):
    /// violations when a counted finding reaches `fail_on`; otherwise incomplete when a source is
    /// partial or a counted `unverified-setting` remains; otherwise compliant.
    pub fn recompute(&mut self, fail_on: Severity) {
        let mut summary = Summary {
            targets: self.summary.targets,
            paths: self.summary.paths,
            ..Summary::default()
        };
        let mut failing = false;
        let mut unverified = false;
        for f in &self.findings {
            if f.waiver.is_some() {
                summary.waived += 1;
                continue;
            }
            if f.baseline {
                summary.baseline += 1;
                continue;
            }
            summary.findings += 1;
            summary.by_severity.add(f.severity);
            failing |= f.severity >= fail_on;
            unverified |= f.rule == Rule::UnverifiedSetting;
        }
        let partial = [&self.sources.pra, &self.sources.password_safe]
            .iter()
            .any(|s| matches!(s.status, Completeness::Partial | Completeness::Unavailable));
        self.summary = summary;
        self.verdict = if failing {
            Verdict::Violations
        } else if partial || unverified {
            Verdict::Incomplete
        } else {
            Verdict::Compliant
        };
    }
}

/// The JSON Schema (draft-07) of the report.
pub fn report_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<Report>()).unwrap_or_default()
}
