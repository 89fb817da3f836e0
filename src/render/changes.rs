//! What changed since a previous report (`check --previous`), matched by fingerprint. Shared by the
//! Markdown and HTML reports so that both tell the same story.

use std::collections::BTreeSet;

use crate::analysis::{Finding, Report};

/// The difference between a report and an earlier one, as far as the verdict is concerned.
pub(super) struct Changes<'a> {
    /// Findings that count now and did not count before (absent, waived or in the baseline then).
    pub new: Vec<&'a Finding>,
    /// Findings that counted before and are gone now (from the previous report).
    pub fixed: Vec<&'a Finding>,
    /// Findings that counted before and are still there, but waived or in the baseline now (from
    /// this report). Not fixed, so not listed as such.
    pub excused: Vec<&'a Finding>,
}

/// Compares `report` with `previous` by fingerprint.
pub(super) fn changes<'a>(report: &'a Report, previous: &'a Report) -> Changes<'a> {
    let counted_before: BTreeSet<&str> = previous
        .unwaived()
        .map(|f| f.fingerprint.as_str())
        .collect();
    let present_now: BTreeSet<&str> = report
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    Changes {
        new: report
            .unwaived()
            .filter(|f| !counted_before.contains(f.fingerprint.as_str()))
            .collect(),
        fixed: previous
            .unwaived()
            .filter(|f| !present_now.contains(f.fingerprint.as_str()))
            .collect(),
        excused: report
            .findings
            .iter()
            .filter(|f| !f.counts() && counted_before.contains(f.fingerprint.as_str()))
            .collect(),
    }
}

/// Reports and findings to test renderers with.
#[cfg(test)]
pub(super) mod sample {
    use crate::analysis::{
        AttestationInfo, AttestationStatus, Finding, Location, PathElement, Report, ReportSources,
        Summary, Tool, Verdict, WaiverInfo, WaiverRef, WaiverStatus,
    };
    use crate::estate::SourceStatus;
    use crate::rules::{Rule, Severity};

    /// A place in `policies/windows.yaml`.
    pub fn location(line: u32) -> Location {
        Location {
            file: "policies/windows.yaml".into(),
            line,
            column: 5,
        }
    }

    /// A finding of `rule` on `host` of `target`, through one jump item named `item`.
    pub fn finding(rule: Rule, target: Option<&str>, host: Option<&str>, item: &str) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            target: target.map(str::to_owned),
            host: host.map(str::to_owned),
            message: format!("{} reaches {}", item, host.unwrap_or("-")),
            path: vec![
                PathElement {
                    kind: "jump_item".into(),
                    item_type: Some("remote-rdp".into()),
                    id: Some(7),
                    name: item.into(),
                },
                PathElement {
                    kind: "jump_group".into(),
                    item_type: None,
                    id: Some(3),
                    name: "Legacy Windows".into(),
                },
            ],
            location: location(12),
            fingerprint: format!("{}-{}-{}", rule.id(), host.unwrap_or("-"), item),
            waiver: None,
            baseline: false,
        }
    }

    /// A report of `findings`, counted and judged as `check` does.
    pub fn report(findings: Vec<Finding>) -> Report {
        let mut report = Report {
            format_version: 1,
            tool: Tool {
                name: "jumpguard".into(),
                version: "0.1.0".into(),
            },
            as_of: "2026-12-01".into(),
            verdict: Verdict::Compliant,
            sources: ReportSources {
                pra: SourceStatus::complete(),
                password_safe: SourceStatus::not_configured(),
            },
            summary: Summary {
                targets: 2,
                paths: 9,
                ..Summary::default()
            },
            findings,
            targets: Vec::new(),
            waivers: Vec::new(),
            attestations: Vec::new(),
        };
        report.recompute(Severity::Low);
        report
    }

    /// The seed's mix: three targets, a waived finding, a waiver expiring soon, an expired
    /// attestation.
    pub fn mixed() -> Report {
        let mut waived = finding(Rule::SiteRecordingsDisabled, None, None, "Print Support");
        waived.waiver = Some(WaiverRef {
            reason: "storage upgrade pending".into(),
            expires: "2026-12-10".into(),
            owner: Some("pam-team@corp.example".into()),
            ticket: Some("CHG1".into()),
            location: location(30),
        });
        let mut report = report(vec![
            finding(
                Rule::ApprovalMissing,
                Some("domain-controllers"),
                Some("srv-dc01.corp.example"),
                "SRV-DC01 (copy)",
            ),
            finding(
                Rule::UnsanctionedJumpGroup,
                Some("domain-controllers"),
                Some("srv-dc01.corp.example"),
                "SRV-DC01 (copy)",
            ),
            finding(
                Rule::ReasonMissing,
                Some("sql-servers"),
                Some("srv-sql01.corp.example"),
                "SRV-SQL01",
            ),
            finding(Rule::JumpGroupMissing, None, None, "legacy"),
            waived,
        ]);
        report.waivers = vec![WaiverInfo {
            rule: Rule::SiteRecordingsDisabled,
            target: None,
            host: None,
            reason: "storage upgrade pending".into(),
            owner: Some("pam-team@corp.example".into()),
            ticket: Some("CHG1".into()),
            expires: "2026-12-10".into(),
            days_left: 9,
            status: WaiverStatus::Expiring,
            covers: 1,
            location: location(30),
        }];
        report.attestations = vec![AttestationInfo {
            setting: "pra.ticket_system_configured".into(),
            value: true,
            by: "jane.doe@corp.example".into(),
            attested_on: "2025-11-20".into(),
            expires: "2026-11-30".into(),
            days_left: -1,
            status: AttestationStatus::Expired,
            location: location(40),
        }];
        report
    }
}

#[cfg(test)]
mod tests {
    use super::sample::{finding, report};
    use super::*;
    use crate::analysis::WaiverRef;
    use crate::rules::Rule;

    #[test]
    fn new_fixed_and_excused_are_told_apart_by_fingerprint() {
        let stays = finding(Rule::ApprovalMissing, Some("t"), Some("a"), "A");
        let goes = finding(Rule::ReasonMissing, Some("t"), Some("b"), "B");
        let comes = finding(Rule::TicketIdMissing, Some("t"), Some("c"), "C");
        let mut waived_now = finding(Rule::SelfApproval, Some("t"), Some("d"), "D");
        let before = report(vec![stays.clone(), goes.clone(), waived_now.clone()]);
        waived_now.waiver = Some(WaiverRef {
            reason: "r".into(),
            expires: "2027-01-01".into(),
            owner: None,
            ticket: None,
            location: sample::location(1),
        });
        let now = report(vec![stays, comes.clone(), waived_now.clone()]);

        let c = changes(&now, &before);
        let fps = |v: &[&Finding]| v.iter().map(|f| f.fingerprint.clone()).collect::<Vec<_>>();
        assert_eq!(fps(&c.new), vec![comes.fingerprint]);
        assert_eq!(fps(&c.fixed), vec![goes.fingerprint]);
        assert_eq!(fps(&c.excused), vec![waived_now.fingerprint]);
    }

    #[test]
    fn a_finding_whose_waiver_lapsed_is_new() {
        let mut then = finding(Rule::ApprovalMissing, Some("t"), Some("a"), "A");
        then.waiver = Some(WaiverRef {
            reason: "r".into(),
            expires: "2026-01-01".into(),
            owner: None,
            ticket: None,
            location: sample::location(1),
        });
        let now = finding(Rule::ApprovalMissing, Some("t"), Some("a"), "A");
        let before = report(vec![then]);
        let after = report(vec![now]);
        let c = changes(&after, &before);
        assert_eq!(c.new.len(), 1);
        assert!(c.fixed.is_empty() && c.excused.is_empty());
    }
}
