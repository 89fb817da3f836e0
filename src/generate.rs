//! A deterministic generator of large, realistic estates and the policy that goes with them, with
//! violations planted at known places: the input of the scale benchmark (`benches/scale.rs`), of
//! `jumpguard sim --generate`, and of the test that every planted violation is found.
//!
//! The estate of `n` jump items is laid out in `n/100` segments of about fifty hosts each. Each
//! segment is one target of the policy, two shared jump groups (Windows and Linux) guarded by
//! one of `n/200` approval jump policies, one group policy with memberships, and one smart rule
//! holding the accounts of its `n/2` managed systems (one per host, one to three accounts each).
//! Targets name their hosts with globs, CIDR ranges, exact names or addresses (by segment), so
//! most items match through the managed-system bridge. Apart from what is planted, the estate
//! is compliant: every finding of [`Generated::planted`] is expected, and no other.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::estate::*;
use crate::policy::hosts::HostKey;

/// The day the generated policy is meant to be judged on (`--as-of`): its attestations are
/// valid from 2026-11-20 through 2027-11-30.
pub const AS_OF: &str = "2026-12-01";

/// A finding as the conformance suite compares them: rule, target, host.
pub type Triple = (String, Option<String>, Option<String>);

/// A generated estate, its policy, and the findings planted in it.
pub struct Generated {
    /// The estate, in the shape of an estate file (`fetch --out`).
    pub estate: serde_json::Value,
    /// The policy: one YAML file, valid on its own (no includes).
    pub policy_yaml: String,
    /// Every finding evaluation must report, as (rule, target, host), sorted and distinct.
    pub planted: Vec<Triple>,
}

/// The smallest `n` for which every kind of violation is planted.
pub const MIN_PLANTED: usize = 1000;

/// Generates the estate of `n` jump items (jump clients included) from `seed`. The same
/// arguments give the same estate, byte for byte. Below [`MIN_PLANTED`] items some kinds of
/// violation, or all, may not be planted: there are too few segments to keep them apart.
pub fn generate(n: usize, seed: u64) -> Generated {
    let layout = Layout::new(n);
    let mut b = Builder {
        l: layout,
        rng: Rng(seed),
        items: BTreeMap::new(),
        clients: Vec::new(),
        next_id: BTreeMap::new(),
        placed: Vec::new(),
        planted: Vec::new(),
        gp_memberships: Vec::new(),
    };
    b.group_policies();
    let plan = b.plant_plan();
    let regular = n.saturating_sub(4 * plan.len());
    for i in 0..regular {
        b.regular_item(i);
    }
    for (j, p) in plan.iter().enumerate() {
        b.plant_pra(j, p);
    }
    let (ps, ps_planted) = b.password_safe(&plan);
    b.planted.extend(ps_planted);
    let pra = b.pra();
    let policy_yaml = b.policy_yaml(&plan);
    let estate = Estate {
        format_version: FORMAT_VERSION,
        fetched_at: Some("2026-11-26T06:00:00Z".into()),
        sources: Some(Sources {
            pra: SourceStatus::complete(),
            password_safe: SourceStatus::complete(),
        }),
        pra,
        ps: Some(ps),
    };
    let mut planted = b.planted;
    planted.sort();
    planted.dedup();
    Generated {
        // Serializing plain data into a `Value` cannot fail: every key is a string.
        estate: serde_json::to_value(&estate).unwrap_or_default(),
        policy_yaml,
        planted,
    }
}

/// splitmix64: small, fast, and the same on every platform (no dependency needed for it).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
    /// True with probability `percent`/100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// How many objects of each kind an estate of `n` items has, and how they relate.
struct Layout {
    n: usize,
    segments: usize,
    hosts: usize,
    policies: usize,
    teams: usize,
    users: usize,
    human_groups: usize,
}

impl Layout {
    fn new(n: usize) -> Layout {
        let segments = (n / 100).max(1);
        // At most 250 hosts per segment: a segment is one /24.
        let hosts = (n / 2).max(segments).min(segments * 250);
        Layout {
            n,
            segments,
            hosts,
            policies: segments.div_ceil(2),
            teams: (n / 2000).max(3),
            users: (n / 20).max(20),
            human_groups: (segments / 5).max(2),
        }
    }

    fn groups(&self) -> usize {
        2 * self.segments
    }
    /// Lab segments (every tenth) have no requirement; the others need an approval.
    fn required(&self, t: usize) -> bool {
        t % 10 != 9
    }
    fn comment(&self, t: usize) -> bool {
        self.required(t) && t % 3 != 0
    }
    /// Ticket IDs follow the jump policy: the targets of every third policy need one.
    fn ticket(&self, t: usize) -> bool {
        self.required(t) && self.policy_of(t) % 3 == 0
    }
    fn policy_of(&self, t: usize) -> usize {
        t / 2
    }
    fn policy_id(&self, t: usize) -> i64 {
        self.policy_of(t) as i64 + 1
    }
    fn quick_access_id(&self) -> i64 {
        self.policies as i64 + 1
    }
    fn target_name(&self, t: usize) -> String {
        format!("seg-{t:05}")
    }
    fn group_id(&self, t: usize, windows: bool) -> i64 {
        2 * t as i64 + if windows { 1 } else { 2 }
    }
    fn group_code(&self, t: usize, windows: bool) -> String {
        format!("{}_s{t:05}", if windows { "win" } else { "lnx" })
    }
    fn host(&self, t: usize, index: usize) -> usize {
        index * self.segments + t
    }
    fn segment(&self, h: usize) -> usize {
        h % self.segments
    }
    fn windows(&self, h: usize) -> bool {
        (h / self.segments) % 2 == 0
    }
    fn fqdn(&self, h: usize) -> String {
        let os = if self.windows(h) { "win" } else { "lnx" };
        format!("{os}-{h:06}.s{:05}.corp.example", self.segment(h))
    }
    fn short(&self, h: usize) -> String {
        let os = if self.windows(h) { "WIN" } else { "LNX" };
        format!("{os}-{h:06}")
    }
    fn ip(&self, h: usize) -> Ipv4Addr {
        let t = self.segment(h);
        Ipv4Addr::new(
            10,
            16 + (t / 256) as u8,
            (t % 256) as u8,
            (h / self.segments + 1) as u8,
        )
    }
    fn segment_net(&self, t: usize) -> String {
        format!("10.{}.{}.0/24", 16 + t / 256, t % 256)
    }
}

/// Where one instance of each planted violation goes: four segment pairs, both halves of each
/// pair requiring an approval, so that the violations of one instance cannot touch each other.
struct Plant {
    /// An item without a jump policy (and, beside it, one item of no target).
    no_policy: usize,
    /// A group-policy membership that overrides the jump policy.
    overridden: usize,
    /// A personal jump item.
    personal: usize,
    /// An item copied into the sibling segment's jump group.
    unsanctioned: usize,
}

struct Builder {
    l: Layout,
    rng: Rng,
    items: BTreeMap<JumpItemType, Vec<JumpItem>>,
    clients: Vec<JumpClient>,
    next_id: BTreeMap<&'static str, i64>,
    /// (shared jump group, the host the evaluator names) of every shared item.
    placed: Vec<(i64, String)>,
    planted: Vec<Triple>,
    gp_memberships: Vec<GroupPolicyJumpGroup>,
}

fn triple(rule: &str, target: Option<String>, host: Option<String>) -> Triple {
    (rule.to_string(), target, host)
}

impl Builder {
    fn plant_plan(&self) -> Vec<Plant> {
        let l = &self.l;
        let pairs: Vec<usize> = (0..l.segments / 2)
            .map(|m| 2 * m)
            .filter(|t| l.required(*t) && l.required(t + 1))
            .collect();
        let instances = (1 + l.n / 10_000).min(pairs.len() / 4);
        let slots = 4 * instances;
        // Spread the instances over the whole estate, not just its first segments.
        let pick = |i: usize| pairs[i * pairs.len() / slots.max(1)];
        (0..instances)
            .map(|j| Plant {
                no_policy: pick(4 * j),
                overridden: pick(4 * j + 1),
                personal: pick(4 * j + 2),
                unsanctioned: pick(4 * j + 3),
            })
            .collect()
    }

    /// One group policy per segment, a member of the segment's two groups and of two others.
    fn group_policies(&mut self) {
        let groups = self.l.groups();
        for q in 0..self.l.segments {
            let own = [self.l.group_id(q, true), self.l.group_id(q, false)];
            let mut ids = own.to_vec();
            while ids.len() < 4.min(groups) {
                let g = self.rng.below(groups) as i64 + 1;
                if !ids.contains(&g) {
                    ids.push(g);
                }
            }
            for g in ids {
                self.gp_memberships.push(GroupPolicyJumpGroup {
                    group_policy_id: q as i64 + 1,
                    jump_group_id: g,
                    jump_item_role_id: Some(0),
                    jump_policy_id: Some(0),
                });
            }
        }
    }

    fn regular_item(&mut self, i: usize) {
        let l = &self.l;
        // The first items cover every host once, so that every target has items.
        let h = if i < l.hosts {
            i
        } else {
            self.rng.below(l.hosts)
        };
        let t = l.segment(h);
        let windows = l.windows(h);
        let personal = i >= l.hosts && !l.required(t) && self.rng.chance(15);
        let roll = self.rng.below(100);
        let fqdn = l.fqdn(h);
        let ip = l.ip(h).to_string();
        // One item in ten names its host by address or short name rather than by FQDN.
        let hostname = match self.rng.below(10) {
            0 => ip.clone(),
            1 => l.short(h),
            _ => fqdn.clone(),
        };
        let (group_type, group_id) = if personal {
            (JumpGroupType::Personal, self.rng.below(l.users) as i64 + 1)
        } else {
            (JumpGroupType::Shared, l.group_id(t, windows))
        };
        let policy = Some(l.policy_id(t)).filter(|_| !personal || self.rng.chance(50));
        let jumpoint = Some((t % (l.segments / 10).max(1)) as i64 + 1);
        let kind = if windows {
            match roll {
                0..=44 => Some(JumpItemType::RemoteRdp),
                45..=79 => None,
                80..=84 => Some(JumpItemType::RemoteVnc),
                85..=94 => Some(JumpItemType::ProtocolTunnelJump),
                _ => Some(JumpItemType::WebJump),
            }
        } else {
            match roll {
                0..=49 => Some(JumpItemType::ShellJump),
                50..=59 => None,
                60..=67 => Some(JumpItemType::PsqlTunnelJump),
                68..=75 => Some(JumpItemType::MysqlTunnelJump),
                76..=85 => Some(JumpItemType::ProtocolTunnelJump),
                86..=94 if !personal => Some(JumpItemType::NetworkTunnelJump),
                _ => Some(JumpItemType::WebJump),
            }
        };
        let Some(kind) = kind else {
            let id = next_id(&mut self.next_id, "jump-client");
            let client = JumpClient {
                id,
                name: l.short(h),
                hostname: Some(l.short(h)),
                fqdn: Some(fqdn),
                private_ip: Some(ip),
                public_ip: Some(format!("203.0.113.{}", 1 + h % 250)),
                jump_group_id: group_id,
                jump_group_type: group_type,
                jump_policy_id: policy,
                tag: Some(format!("s{t:05}")),
            };
            if !personal {
                self.placed.push((group_id, l.short(h).to_lowercase()));
            }
            self.clients.push(client);
            return;
        };
        let mut item = JumpItem {
            id: 0,
            name: format!("{} ({})", l.short(h), kind.segment()),
            jumpoint_id: jumpoint,
            jump_group_id: group_id,
            jump_group_type: group_type,
            jump_policy_id: policy,
            tag: Some(format!("s{t:05}")),
            ..JumpItem::default()
        };
        match kind {
            JumpItemType::WebJump => {
                item.url = Some(format!("https://{fqdn}/admin"));
            }
            JumpItemType::ProtocolTunnelJump => {
                let tunnel = if windows {
                    "mssql"
                } else if roll >= 82 {
                    "k8s"
                } else {
                    "tcp"
                };
                item.tunnel_type = Some(tunnel.into());
                if tunnel == "k8s" {
                    item.url = Some(format!("https://{fqdn}:6443"));
                } else {
                    item.hostname = Some(hostname);
                }
            }
            JumpItemType::NetworkTunnelJump => {
                item.filter_rules = filter_rules(l, &mut self.rng, h);
            }
            JumpItemType::ShellJump => {
                item.protocol = Some("ssh".into());
                item.hostname = Some(hostname);
            }
            _ => item.hostname = Some(hostname),
        }
        if !personal {
            let named = first_candidate(&item);
            self.placed.push((group_id, named));
        }
        self.push_item(kind, item);
    }

    fn push_item(&mut self, kind: JumpItemType, mut item: JumpItem) {
        item.id = next_id(&mut self.next_id, kind.segment());
        self.items.entry(kind).or_default().push(item);
    }

    /// The PRA violations of one instance, and every finding they cause.
    fn plant_pra(&mut self, j: usize, p: &Plant) {
        let l = &self.l;
        let shell = |l: &Layout, h: usize, group_type, group_id, policy| JumpItem {
            name: format!("{} (ssh)", l.short(h)),
            hostname: Some(l.fqdn(h)),
            protocol: Some("ssh".into()),
            jump_group_id: group_id,
            jump_group_type: group_type,
            jump_policy_id: policy,
            ..JumpItem::default()
        };
        let name = |t| Some(l.target_name(t));
        let mut planted = Vec::new();
        let mut items = Vec::new();

        // No jump policy: approval-missing, and every other need of the target unmet.
        let t = p.no_policy;
        let h = l.host(t, 1);
        let host = Some(l.fqdn(h));
        items.push((
            JumpItemType::ShellJump,
            shell(l, h, JumpGroupType::Shared, l.group_id(t, false), None),
        ));
        planted.push(triple("approval-missing", name(t), host.clone()));
        planted.push(triple("group-policy-mismatch", name(t), host.clone()));
        if l.comment(t) {
            planted.push(triple("reason-missing", name(t), host.clone()));
        }
        if l.ticket(t) {
            planted.push(triple("ticket-id-missing", name(t), host.clone()));
        }
        // Beside it, an item of a decommissioned host that no target names.
        let old = format!("old-srv-{j:03}.legacy.corp.example");
        items.push((
            JumpItemType::RemoteRdp,
            JumpItem {
                name: format!("OLD-SRV-{j:03} (remote-rdp)"),
                hostname: Some(old.clone()),
                jump_group_id: l.group_id(t, true),
                jump_policy_id: Some(l.policy_id(t)),
                ..JumpItem::default()
            },
        ));
        planted.push(triple("unmanaged-host", None, Some(old)));

        // A group policy's membership of the Windows group overrides the guard with the quick
        // access policy: every item there is reached without an approval.
        let t = p.overridden;
        let group = l.group_id(t, true);
        for m in &mut self.gp_memberships {
            if m.group_policy_id == t as i64 + 1 && m.jump_group_id == group {
                m.jump_policy_id = Some(l.quick_access_id());
            }
        }
        for (_, host) in self.placed.iter().filter(|(g, _)| *g == group) {
            planted.push(triple("membership-override", name(t), Some(host.clone())));
        }

        // A personal jump item to a guarded host.
        let t = p.personal;
        let h = l.host(t, 1);
        let owner = (j % l.users) as i64 + 1;
        items.push((
            JumpItemType::ShellJump,
            shell(l, h, JumpGroupType::Personal, owner, None),
        ));
        planted.push(triple("personal-jump-item", name(t), Some(l.fqdn(h))));

        // A copy in the sibling segment's group: same jump policy, but not a sanctioned group.
        let t = p.unsanctioned;
        let h = l.host(t, 1);
        items.push((
            JumpItemType::ShellJump,
            shell(
                l,
                h,
                JumpGroupType::Shared,
                l.group_id(t + 1, false),
                Some(l.policy_id(t)),
            ),
        ));
        planted.push(triple("unsanctioned-jump-group", name(t), Some(l.fqdn(h))));

        for (kind, item) in items {
            self.push_item(kind, item);
        }
        self.planted.extend(planted);
    }

    fn pra(&mut self) -> Pra {
        let l = &self.l;
        let mut pra = Pra {
            jump_item: std::mem::take(&mut self.items),
            jump_client: std::mem::take(&mut self.clients),
            group_policy_jump_group: std::mem::take(&mut self.gp_memberships),
            ..Pra::default()
        };
        for t in 0..l.segments {
            for windows in [true, false] {
                let os = if windows { "Windows" } else { "Linux" };
                pra.jump_group.push(JumpGroup {
                    id: l.group_id(t, windows),
                    name: format!("{os} Servers S{t:05}"),
                    code_name: l.group_code(t, windows),
                    comments: None,
                    ecm_group_id: None,
                });
            }
            pra.group_policy.push(GroupPolicy {
                id: t as i64 + 1,
                name: format!("S{t:05} Operators"),
                default_jump_item_role_id: Some(1 + (t % 2) as i64),
            });
        }
        for p in 0..l.policies {
            pra.jump_policy.push(JumpPolicy {
                id: p as i64 + 1,
                code_name: format!("approval-{p:04}"),
                display_name: format!("Server Approval {p:04}"),
                approval_required: true,
                approval_max_duration: 240,
                approval_team_ids: vec![(p % l.teams + 1).to_string()],
                ticket_id_required: p % 3 == 0,
                ..JumpPolicy::default()
            });
        }
        pra.jump_policy.push(JumpPolicy {
            id: l.quick_access_id(),
            code_name: "quick-access".into(),
            display_name: "Quick Access".into(),
            ..JumpPolicy::default()
        });
        pra.jump_item_role = vec![
            JumpItemRole {
                id: 1,
                name: "Start Sessions Only".into(),
                perm_start: true,
                ..JumpItemRole::default()
            },
            JumpItemRole {
                id: 2,
                name: "Start and Remove".into(),
                perm_start: true,
                perm_remove: true,
                ..JumpItemRole::default()
            },
            JumpItemRole {
                id: 3,
                name: "Jump Item Administrator".into(),
                perm_start: true,
                perm_add: true,
                perm_assign_jump_group: true,
                perm_edit_jump_policy: true,
                perm_remove: true,
            },
        ];
        for u in 0..l.users {
            pra.user.push(User {
                id: u as i64 + 1,
                username: format!("user{u:05}"),
                public_display_name: Some(format!("User {u:05}")),
                default_jump_item_role_id: Some(1),
            });
        }
        for u in 0..l.users / 2 {
            pra.jump_group_user.push(JumpGroupUser {
                jump_group_id: self.rng.below(l.groups()) as i64 + 1,
                user_id: u as i64 + 1,
                jump_item_role_id: None,
                jump_policy_id: None,
            });
        }
        for k in 0..l.teams {
            pra.team.push(Team {
                id: k as i64 + 1,
                name: format!("Approvers {k:03}"),
                code_name: format!("approvers_{k:03}"),
            });
        }
        for k in 0..(l.segments / 10).max(1) {
            pra.jumpoint.push(Jumpoint {
                id: k as i64 + 1,
                name: format!("Datacenter {k:03}"),
                code_name: format!("dc_{k:03}"),
                external_jump_item_network_id: None,
            });
        }
        pra.session_policy.push(SessionPolicy {
            id: 1,
            display_name: "Recorded Sessions".into(),
            code_name: "recorded_sessions".into(),
        });
        pra
    }

    /// Managed systems, accounts, smart rules, user groups, roles and access policies; and
    /// the Password Safe violations of each instance.
    fn password_safe(&mut self, plan: &[Plant]) -> (Ps, Vec<Triple>) {
        let l = &self.l;
        let mut ps = Ps::default();
        let mut by_segment: Vec<Vec<i64>> = vec![Vec::new(); l.segments];
        let mut by_host: Vec<Vec<i64>> = vec![Vec::new(); l.hosts];
        for h in 0..l.hosts {
            let windows = l.windows(h);
            ps.managed_systems.push(ManagedSystem {
                managed_system_id: h as i64 + 1,
                host_name: Some(l.fqdn(h)),
                dns_name: Some(l.fqdn(h)),
                ip_address: Some(l.ip(h).to_string()),
                system_name: Some(l.short(h)),
                net_bios_name: windows.then(|| l.short(h)),
            });
            let names: [&str; 3] = if windows {
                ["Administrator", "svc-backup", "svc-monitoring"]
            } else {
                ["root", "ansible", "svc-backup"]
            };
            for name in names.iter().take(1 + self.rng.below(3)) {
                let id = ps.managed_accounts.len() as i64 + 1;
                ps.managed_accounts.push(ManagedAccount {
                    managed_account_id: id,
                    managed_system_id: h as i64 + 1,
                    account_name: (*name).into(),
                    api_enabled: self.rng.chance(70),
                });
                by_segment[l.segment(h)].push(id);
                by_host[h].push(id);
            }
        }
        ps.user_groups = vec![
            UserGroup {
                group_id: 1,
                name: "Administrators".into(),
                is_active: true,
            },
            UserGroup {
                group_id: 2,
                name: crate::policy::DEFAULT_ECM_USER_GROUP.into(),
                is_active: true,
            },
        ];
        for g in 0..l.human_groups {
            let group_id = g as i64 + 3;
            ps.user_groups.push(UserGroup {
                group_id,
                name: format!("Server Operators {g:03}"),
                is_active: true,
            });
            for k in 0..3 {
                let user_id = (g * 3 + k) as i64 + 1;
                ps.user_group_users.push(UserGroupUser {
                    group_id,
                    user_id,
                    user_name: format!("user{:05}", user_id - 1),
                });
            }
        }
        let role = |id: i64, name: &str| Role {
            role_id: id,
            name: name.into(),
        };
        ps.roles = vec![
            role(1, "Requestor"),
            role(2, "Requestor/Approver"),
            role(3, "Approver"),
            role(4, "ISA"),
        ];
        let access = |t: &str, min| AccessType {
            access_type: t.into(),
            is_session: t != "View",
            record_session: t != "View",
            min_approvers: min,
            max_concurrent: 1,
        };
        let schedule = |id, reason, ticket, types| Schedule {
            schedule_id: id,
            require_reason: reason,
            require_ticket_system: ticket,
            ticket_system_id: None,
            access_types: types,
        };
        ps.access_policies = vec![
            AccessPolicy {
                access_policy_id: 1,
                name: "Secure Remote Access Approval Policy".into(),
                schedules: vec![schedule(11, false, false, vec![access("View", 0)])],
            },
            AccessPolicy {
                access_policy_id: 2,
                name: "Server Access with Approval".into(),
                schedules: vec![
                    schedule(21, true, true, vec![access("View", 1), access("RDP", 1)]),
                    schedule(22, true, true, vec![access("SSH", 1)]),
                ],
            },
            AccessPolicy {
                access_policy_id: 3,
                name: "Break-glass Auto-Approve".into(),
                schedules: vec![schedule(31, true, true, vec![access("View", 0)])],
            },
        ];
        ps.ticket_systems = vec![TicketSystem {
            ticket_system_id: 1,
            ticket_system_name: "ServiceNow".into(),
            is_active: true,
            is_default_system: true,
        }];
        ps.api_registrations = vec![ApiRegistration {
            id: 1,
            name: "jumpguard".into(),
            active: true,
            user_password_required: false,
        }];
        let human = |k: usize| (k % l.human_groups) as i64 + 3;
        let assign = |group, rule, roles: Vec<Role>, policy| RoleAssignment {
            user_group_id: group,
            smart_rule_id: rule,
            roles,
            access_policy_id: policy,
            ..RoleAssignment::default()
        };
        for (t, accounts) in by_segment.into_iter().enumerate() {
            let rule = t as i64 + 1;
            ps.smart_rules.push(SmartRule {
                smart_rule_id: rule,
                title: format!("Servers S{t:05}"),
                is_active: true,
                managed_account_ids: accounts,
            });
            ps.role_assignments
                .push(assign(human(t), rule, vec![role(1, "Requestor")], Some(2)));
            ps.role_assignments
                .push(assign(human(t + 1), rule, vec![role(3, "Approver")], None));
            if t % 4 == 0 {
                // The built-in group is out of scope (DESIGN.md §3), whatever its roles.
                ps.role_assignments
                    .push(assign(1, rule, vec![role(4, "ISA")], None));
            }
            if !l.required(t) {
                // The ECM injects credentials of the lab segments only.
                ps.role_assignments
                    .push(assign(2, rule, vec![role(1, "Requestor")], Some(1)));
            }
        }
        let mut planted = Vec::new();
        for (j, p) in plan.iter().enumerate() {
            // Three systems of guarded segments, each in a smart rule of its own: one that a
            // human group checks out with auto-approval, one under an ISA role, and one the
            // ECM releases while the external search is on.
            let cases: [(usize, usize, &str); 3] = [
                (p.no_policy, 0, "ps-approval-missing"),
                (p.overridden, 1, "ps-isa-bypass"),
                (p.personal, 2, "external-search-bypass"),
            ];
            for (t, index, rule_id) in cases {
                let h = l.host(t, index);
                let rule = ps.smart_rules.len() as i64 + 1;
                ps.smart_rules.push(SmartRule {
                    smart_rule_id: rule,
                    title: format!("Emergency {} {j:03}", l.short(h)),
                    is_active: true,
                    managed_account_ids: by_host[h].clone(),
                });
                let ra = match rule_id {
                    "ps-approval-missing" => {
                        assign(human(j), rule, vec![role(1, "Requestor")], Some(3))
                    }
                    "ps-isa-bypass" => assign(human(j), rule, vec![role(4, "ISA")], None),
                    _ => {
                        let first = by_host[h][0] as usize - 1;
                        ps.managed_accounts[first].api_enabled = true;
                        assign(2, rule, vec![role(1, "Requestor")], Some(1))
                    }
                };
                ps.role_assignments.push(ra);
                planted.push(triple(rule_id, Some(l.target_name(t)), Some(l.fqdn(h))));
            }
        }
        (ps, planted)
    }

    /// The policy: declared jump policies and groups, one target per segment, site hardening,
    /// the attestations, and a waiver of one planted finding.
    fn policy_yaml(&self, plan: &[Plant]) -> String {
        let l = &self.l;
        let mut y = String::with_capacity(l.n * 20);
        let _ = writeln!(
            y,
            "# Generated by jumpguard (`sim --generate {}`): {} targets over {} managed systems.\n\
             # Judge it --as-of {AS_OF}: its attestations hold from 2026-11-20 through 2027-11-30.\n\
             version: 1\n\
             unmanaged: warn\n\
             site: {{ self_approval: forbidden, recordings: required, editing_roles: forbidden, personal_jump_items: allowed }}\n\
             password_safe:\n  ecm: {{ user_groups: [\"{}\"] }}\n\
             attestations:",
            l.n,
            l.segments,
            l.hosts,
            crate::policy::DEFAULT_ECM_USER_GROUP
        );
        for (setting, value) in [
            ("pra.local_and_remote_jump_items_present", false),
            ("pra.ticket_system_configured", true),
            // Left on, as on most sites: External Jump Items are searchable.
            ("pra.allow_search_external_jump_items", true),
        ] {
            let _ = writeln!(
                y,
                "  - {{ setting: {setting}, value: {value}, by: pam-team@corp.example, attested_on: 2026-11-20, expires: 2027-11-30 }}"
            );
        }
        if let Some(p) = plan.first() {
            let t = p.unsanctioned;
            let _ = writeln!(
                y,
                "waivers:\n  - {{ rule: unsanctioned-jump-group, target: {}, host: {}, reason: \"Migration copy, removed with the next change window\", ticket: CHG0000001, expires: 2027-06-30 }}",
                l.target_name(t),
                l.fqdn(l.host(t, 1))
            );
        }
        y.push_str("jump_policies:\n");
        for p in 0..l.policies {
            let _ = writeln!(
                y,
                "  approval-{p:04}:\n    display_name: Server Approval {p:04}\n    approval: {{ required: true, approvers: {{ teams: [\"Approvers {:03}\"] }}, max_duration: 4h, self_approval: false }}\n    ticket_id: {}\n    recording: required",
                p % l.teams,
                if p % 3 == 0 { "required" } else { "not_required" }
            );
        }
        y.push_str("jump_groups:\n");
        for t in 0..l.segments {
            for windows in [true, false] {
                let os = if windows { "Windows" } else { "Linux" };
                let _ = writeln!(
                    y,
                    "  {}: {{ name: {os} Servers S{t:05}, jump_policy: approval-{:04} }}",
                    l.group_code(t, windows),
                    l.policy_of(t)
                );
            }
        }
        y.push_str("targets:\n");
        for t in 0..l.segments {
            let members: Vec<usize> = (0..)
                .map(|i| l.host(t, i))
                .take_while(|h| *h < l.hosts)
                .collect();
            let hosts: Vec<String> = match t % 4 {
                0 => vec![format!("*.s{t:05}.corp.example")],
                1 => vec![l.segment_net(t)],
                2 => members.iter().map(|h| l.fqdn(*h)).collect(),
                _ => members
                    .iter()
                    .filter(|h| !l.windows(**h))
                    .map(|h| l.ip(*h).to_string())
                    .chain([format!("win-*.s{t:05}.corp.example")])
                    .collect(),
            };
            let _ = writeln!(
                y,
                "  - name: {}\n    hosts: [{}]\n    jump_groups: [{}, {}]",
                l.target_name(t),
                hosts
                    .iter()
                    .map(|h| format!("\"{h}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                l.group_code(t, true),
                l.group_code(t, false)
            );
            if !l.required(t) {
                continue;
            }
            let need = |b: bool| if b { "required" } else { "not_required" };
            let _ = writeln!(
                y,
                "    approval: required\n    reason: {{ comment: {}, ticket_id: {} }}",
                need(l.comment(t)),
                need(l.ticket(t))
            );
            if t % 25 == 0 {
                let h = l.host(t, 0);
                let _ = writeln!(
                    y,
                    "    credentials: [{{ system: {}, account: Administrator }}]",
                    l.short(h)
                );
            }
        }
        y
    }
}

fn next_id(ids: &mut BTreeMap<&'static str, i64>, kind: &'static str) -> i64 {
    let next = ids.entry(kind).or_insert(0);
    *next += 1;
    *next
}

/// Network tunnel rules around a host: its own address first, then a /28, then a range.
fn filter_rules(l: &Layout, rng: &mut Rng, h: usize) -> Vec<FilterRule> {
    let ip = l.ip(h);

    let o = ip.octets();
    let rule = |ip_addresses| FilterRule {
        ip_addresses,
        protocol: Some("ANY".into()),
    };
    let mut rules = vec![rule(IpAddresses {
        list: Some(vec![ip.to_string()]),
        ..IpAddresses::default()
    })];
    if rng.chance(60) {
        rules.push(rule(IpAddresses {
            cidr: Some(format!("{}.{}.{}.{}/28", o[0], o[1], o[2], o[3] & 0xf0)),
            ..IpAddresses::default()
        }));
    }
    if rng.chance(30) {
        let end = o[3].saturating_add(5).min(254);
        rules.push(rule(IpAddresses {
            range: Some(AddressRange {
                start: ip.to_string(),
                end: Ipv4Addr::new(o[0], o[1], o[2], end).to_string(),
            }),
            ..IpAddresses::default()
        }));
    }
    rules
}

/// The host the evaluator names for an item of a matched target: its first host candidate
/// (DESIGN.md §4.1), which in a generated estate always matches.
fn first_candidate(item: &JumpItem) -> String {
    let from_url = |u: &str| {
        let rest = u.split_once("://").map_or(u, |(_, r)| r);
        rest.split(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let raw = match (&item.hostname, &item.url) {
        (Some(h), _) => h.clone(),
        (None, Some(u)) => from_url(u),
        (None, None) => {
            // A network tunnel: its first entry is an address of its own host.
            return item
                .filter_rules
                .first()
                .and_then(|r| r.ip_addresses.list.as_ref())
                .and_then(|l| l.first())
                .cloned()
                .unwrap_or_default();
        }
    };
    HostKey::parse(&raw).map_or(raw, |k| k.text())
}
