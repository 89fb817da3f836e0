//! The evaluator: access paths 1–7 of DESIGN.md §3, their effective guard, and the findings of
//! the rule catalogue (§4, §4.1). Pure: a policy and an estate in, a report out.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::net::IpAddr;

use ipnet::IpNet;
use jiff::civil::Date;

use super::index::{push_unique, HostIndex};
use super::report::*;
use crate::estate::{self, Completeness, Estate, JumpGroupType, JumpItemRole, JumpPolicy, Ps};
use crate::policy::hosts::HostKey;
use crate::policy::{Place, Policy, Setting, Target, Unmanaged};
use crate::rules::{Rule, Severity};

/// How to evaluate.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// The day expiries are judged on.
    pub today: Date,
    /// The lowest severity that fails the run.
    pub fail_on: Severity,
    /// Ignore every waiver (the auditor's switch).
    pub no_waivers: bool,
}

/// Evaluates a policy against an estate.
///
/// A source that was not read completely yields no findings of its own: what is missing from
/// it (a jump policy whose list failed, a page that was cut short) would otherwise show up as
/// violations that are not there, and what is hidden in it cannot be ruled out. The verdict is
/// then `incomplete`, and the source's status says why.
pub fn evaluate(policy: &Policy, estate: &Estate, options: Options) -> Report {
    let sources = estate.sources();
    let trusted = |s: &estate::SourceStatus| s.status == Completeness::Complete;
    let mut ev = Evaluator::new(policy, estate, options);
    ev.settings_and_attestations();
    // Password Safe first: what the ECM releases without approval is named on PRA findings.
    if let Some(ps) = estate
        .ps
        .as_ref()
        .filter(|_| trusted(&sources.password_safe))
    {
        ev.password_safe(ps);
    }
    if trusted(&sources.pra) {
        ev.jump_items();
        ev.memberships_and_site();
        ev.declared_objects();
    }
    ev.run_level();
    ev.finish()
}

/// From this many jump items (or managed systems) on, the evaluator uses more threads: below
/// it, starting them costs more than they save.
const LARGE: usize = 10_000;

/// One live jump item or jump client, as the analysis sees it.
struct Item<'a> {
    kind: &'static str,
    item_type: Option<&'static str>,
    id: i64,
    name: &'a str,
    group_type: JumpGroupType,
    group_id: i64,
    policy_id: Option<i64>,
    candidates: Vec<HostKey>,
    tunnel: Vec<TunnelEntry>,
}

/// One filter entry of a network tunnel.
enum TunnelEntry {
    Net(IpNet),
    Range(IpAddr, IpAddr),
    Addr(IpAddr),
}

impl TunnelEntry {
    fn spelling(&self) -> String {
        match self {
            TunnelEntry::Net(n) => n.to_string(),
            TunnelEntry::Range(a, b) => format!("{a}-{b}"),
            TunnelEntry::Addr(a) => a.to_string(),
        }
    }
    fn contains(&self, a: &IpAddr) -> bool {
        match self {
            TunnelEntry::Net(n) => n.contains(a),
            TunnelEntry::Range(s, e) => s <= a && a <= e && s.is_ipv4() == a.is_ipv4(),
            TunnelEntry::Addr(x) => x == a,
        }
    }
    fn overlaps(&self, net: &IpNet) -> bool {
        match self {
            TunnelEntry::Net(n) => n.contains(&net.network()) || net.contains(&n.network()),
            TunnelEntry::Range(s, e) => {
                s.is_ipv4() == net.network().is_ipv4()
                    && *s <= net.broadcast()
                    && net.network() <= *e
            }
            TunnelEntry::Addr(x) => net.contains(x),
        }
    }
}

impl TunnelEntry {
    /// The first and last address the entry covers.
    fn bounds(&self) -> (IpAddr, IpAddr) {
        match self {
            TunnelEntry::Net(n) => (n.network(), n.broadcast()),
            TunnelEntry::Range(s, e) => (*s, *e),
            TunnelEntry::Addr(a) => (*a, *a),
        }
    }
}

/// The addresses and networks of every target, sorted, so that a network tunnel entry finds
/// the targets it reaches by binary search rather than by a scan of every target's addresses.
struct TargetAddresses {
    /// (address, target, position among the target's addresses), by address.
    addrs: Vec<(IpAddr, usize, usize)>,
    /// (network, target), by first address.
    nets: Vec<(IpNet, usize)>,
    /// `reach[i]`: the highest last address of `nets[..=i]`, to stop a backward walk early.
    reach: Vec<IpAddr>,
}

impl TargetAddresses {
    fn build(addrs: &[Vec<IpAddr>], nets: &[Vec<IpNet>]) -> TargetAddresses {
        let mut by_addr: Vec<(IpAddr, usize, usize)> = addrs
            .iter()
            .enumerate()
            .flat_map(|(t, list)| list.iter().enumerate().map(move |(i, a)| (*a, t, i)))
            .collect();
        by_addr.sort_unstable();
        let mut by_net: Vec<(IpNet, usize)> = nets
            .iter()
            .enumerate()
            .flat_map(|(t, list)| list.iter().map(move |n| (*n, t)))
            .collect();
        by_net.sort_unstable_by_key(|(n, t)| (n.network(), *t));
        let mut reach: Vec<IpAddr> = Vec::with_capacity(by_net.len());
        for (n, _) in &by_net {
            let last = n.broadcast();
            reach.push(reach.last().map_or(last, |r| (*r).max(last)));
        }
        TargetAddresses {
            addrs: by_addr,
            nets: by_net,
            reach,
        }
    }

    /// What an entry reaches, as `(target, order, address)`: for each target in policy order,
    /// its addresses inside the entry in the target's own order, then `None` when one of its
    /// networks overlaps the entry (the order of the scan this index replaces).
    fn reached(&self, entry: &TunnelEntry, out: &mut Vec<(usize, usize, Option<IpAddr>)>) {
        out.clear();
        let (first, last) = entry.bounds();
        let start = self.addrs.partition_point(|(a, _, _)| *a < first);
        for (a, t, i) in self.addrs[start..]
            .iter()
            .take_while(|(a, _, _)| *a <= last)
        {
            if entry.contains(a) {
                out.push((*t, *i, Some(*a)));
            }
        }
        let end = self.nets.partition_point(|(n, _)| n.network() <= last);
        for i in (0..end).rev() {
            if self.reach[i] < first {
                break;
            }
            let (n, t) = &self.nets[i];
            if entry.overlaps(n) {
                out.push((*t, usize::MAX, None));
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// How the ECM releases an account with no approval (named on PRA findings of its host).
#[derive(Clone, Copy)]
struct EcmNote<'a> {
    account: &'a str,
    group: &'a str,
    policy: &'a str,
}

/// What one role assignment (a user group on a smart rule) grants, for paths 5–7.
struct Grant<'a> {
    group: &'a estate::UserGroup,
    is_ecm: bool,
    isa: Option<&'a estate::Role>,
    /// The Requestor role under a usable access policy: a path 5 (or 7).
    request: Option<Request<'a>>,
}

/// A Requestor role under an access policy with a usable schedule.
struct Request<'a> {
    role: &'a estate::Role,
    policy: &'a estate::AccessPolicy,
    /// Some usable schedule has an access type with `MinApprovers` 0.
    auto: bool,
    /// Some usable schedule does not require a reason.
    no_reason: bool,
    /// Some usable schedule does not require a ticket from an active ticket system.
    no_ticket: bool,
}

/// A membership of a shared jump group: one way people reach its items.
struct Membership<'a> {
    kind: &'static str,
    id: i64,
    name: String,
    role: Option<&'a JumpItemRole>,
    override_policy: Option<i64>,
}

impl Membership<'_> {
    fn element(&self) -> PathElement {
        el(self.kind, self.id, &self.name)
    }
}

struct Evaluator<'a> {
    policy: &'a Policy,
    estate: &'a Estate,
    options: Options,
    findings: Vec<Finding>,
    paths: usize,
    index: HostIndex,
    /// Addresses (own and bridged) and CIDRs of every target, for network tunnels.
    target_addresses: TargetAddresses,
    /// Managed systems each target names (by position in `ps.managed_systems`).
    target_systems: Vec<Vec<usize>>,
    /// The distinct host keys of each managed system, in field order (by position).
    system_keys: Vec<Vec<HostKey>>,
    found: Vec<bool>,
    jump_policies: HashMap<i64, &'a JumpPolicy>,
    jump_groups: HashMap<i64, &'a estate::JumpGroup>,
    memberships: HashMap<i64, Vec<Membership<'a>>>,
    /// Per target, the managed systems (by position) whose credentials the ECM releases with
    /// no approval, in the order they were found: a PRA path to such a host that is not
    /// guarded gets the credential injected, too. Keyed by host only when a PRA finding asks
    /// (`ecm_hosts`), so a large estate with few findings never builds the keys.
    ecm_notes: Vec<Vec<(usize, EcmNote<'a>)>>,
    ecm_hosts: Vec<std::sync::OnceLock<HashMap<String, EcmNote<'a>>>>,
    ext_search: Option<bool>,
    ticket_system: Option<bool>,
    local_remote: Option<bool>,
}

fn el(kind: &str, id: i64, name: &str) -> PathElement {
    PathElement {
        kind: kind.into(),
        item_type: None,
        id: Some(id),
        name: name.into(),
    }
}

impl<'a> Evaluator<'a> {
    fn new(policy: &'a Policy, estate: &'a Estate, options: Options) -> Self {
        let mut index = HostIndex::build(policy.targets.iter().map(|t| t.hosts.as_slice()));
        let n = policy.targets.len();
        let mut target_addrs: Vec<Vec<IpAddr>> = vec![Vec::new(); n];
        let mut target_nets: Vec<Vec<IpNet>> = vec![Vec::new(); n];
        for (t, target) in policy.targets.iter().enumerate() {
            for (p, _) in &target.hosts {
                match p {
                    crate::policy::hosts::HostPattern::Addr(a) => {
                        push_unique(&mut target_addrs[t], *a)
                    }
                    crate::policy::hosts::HostPattern::Cidr(c) => {
                        push_unique(&mut target_nets[t], *c)
                    }
                    _ => {}
                }
            }
        }
        // The managed-system bridge: a target naming a system by any of its five fields also
        // names the other four (DESIGN.md §2, §4.1).
        let mut target_systems = vec![Vec::new(); n];
        let mut system_keys = Vec::new();
        if let Some(ps) = &estate.ps {
            let mut bridged: Vec<(usize, Vec<HostKey>)> = Vec::new();
            let mut hits = Vec::new();
            for (s, system) in ps.managed_systems.iter().enumerate() {
                // Distinct keys: `HostName` and `DnsName` are often the same name.
                let mut keys: Vec<HostKey> = Vec::with_capacity(5);
                for key in system
                    .fields()
                    .iter()
                    .flatten()
                    .filter_map(|f| HostKey::parse(f))
                {
                    push_unique(&mut keys, key);
                }
                hits.clear();
                for k in &keys {
                    index.lookup(k, &mut hits);
                }
                for &t in &hits {
                    target_systems[t].push(s);
                    bridged.push((t, keys.clone()));
                }
                system_keys.push(keys);
            }
            for (t, keys) in bridged {
                for k in keys {
                    match k {
                        HostKey::Name(name) => index.add_name(name, t),
                        HostKey::Addr(a) => {
                            index.add_addr(a, t);
                            push_unique(&mut target_addrs[t], a);
                        }
                    }
                }
            }
        }
        let pra = &estate.pra;
        let jump_policies = pra.jump_policy.iter().map(|p| (p.id, p)).collect();
        let jump_groups = pra.jump_group.iter().map(|g| (g.id, g)).collect();
        let roles: HashMap<i64, &JumpItemRole> =
            pra.jump_item_role.iter().map(|r| (r.id, r)).collect();
        let users: HashMap<i64, &estate::User> = pra.user.iter().map(|u| (u.id, u)).collect();
        let gps: HashMap<i64, &estate::GroupPolicy> =
            pra.group_policy.iter().map(|g| (g.id, g)).collect();
        let mut memberships: HashMap<i64, Vec<Membership>> = HashMap::new();
        for m in &pra.jump_group_user {
            let user = users.get(&m.user_id);
            let role_id = estate::nonzero(m.jump_item_role_id)
                .or_else(|| user.and_then(|u| u.default_jump_item_role_id));
            memberships
                .entry(m.jump_group_id)
                .or_default()
                .push(Membership {
                    kind: "user_membership",
                    id: m.user_id,
                    name: user
                        .map_or_else(|| format!("user {}", m.user_id), |u| u.username.clone()),
                    role: role_id.and_then(|r| roles.get(&r).copied()),
                    override_policy: estate::nonzero(m.jump_policy_id),
                });
        }
        for m in &pra.group_policy_jump_group {
            let gp = gps.get(&m.group_policy_id);
            let role_id = estate::nonzero(m.jump_item_role_id)
                .or_else(|| gp.and_then(|g| g.default_jump_item_role_id));
            memberships
                .entry(m.jump_group_id)
                .or_default()
                .push(Membership {
                    kind: "group_policy_membership",
                    id: m.group_policy_id,
                    name: gp.map_or_else(
                        || format!("group policy {}", m.group_policy_id),
                        |g| g.name.clone(),
                    ),
                    role: role_id.and_then(|r| roles.get(&r).copied()),
                    override_policy: estate::nonzero(m.jump_policy_id),
                });
        }
        Evaluator {
            policy,
            estate,
            options,
            findings: Vec::new(),
            paths: 0,
            index,
            target_addresses: TargetAddresses::build(&target_addrs, &target_nets),
            target_systems,
            system_keys,
            found: vec![false; n],
            jump_policies,
            jump_groups,
            memberships,
            ecm_notes: vec![Vec::new(); n],
            ecm_hosts: (0..n).map(|_| std::sync::OnceLock::new()).collect(),
            ext_search: None,
            ticket_system: None,
            local_remote: None,
        }
    }

    fn location(&self, place: Place) -> Location {
        let place = self.policy.sources.reported(place);
        Location {
            file: self
                .policy
                .sources
                .files
                .get(place.file.0)
                .map_or_else(String::new, |f| f.name.clone()),
            line: place.loc.line.max(1),
            column: place.loc.column.max(1),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        rule: Rule,
        target: Option<&Target>,
        host: Option<String>,
        message: String,
        path: Vec<PathElement>,
        place: Place,
    ) {
        let severity = match rule {
            Rule::UnmanagedHost if self.policy.unmanaged.0 == Unmanaged::Deny => Severity::High,
            r => r.severity(),
        };
        // Live objects are identified by kind and id; objects of the policy (id-less) by name.
        let identity: Vec<String> = path
            .iter()
            .map(|p| match p.id {
                Some(id) => format!("{}:{}:{id}", p.kind, p.item_type.as_deref().unwrap_or("")),
                None => format!("{}::{}", p.kind, p.name),
            })
            .collect();
        let target_name = target.map(|t| t.name.clone());
        let fingerprint = estate::fingerprint(&(rule.id(), &target_name, &host, &identity));
        let location = self.location(place);
        self.findings.push(Finding {
            rule,
            severity,
            target: target_name,
            host,
            message,
            path,
            location,
            fingerprint,
            waiver: None,
            baseline: false,
        });
    }

    // ---- settings -------------------------------------------------------------------------

    fn settings_and_attestations(&mut self) {
        let today = self.options.today;
        for setting in Setting::ALL {
            let all: Vec<(usize, &crate::policy::Attestation)> = self
                .policy
                .attestations
                .iter()
                .enumerate()
                .filter(|(_, a)| a.setting == setting)
                .collect();
            let valid = all
                .iter()
                .filter(|(_, a)| a.attested_on <= today && today <= a.expires)
                .max_by_key(|(i, a)| (a.attested_on, *i));
            let value = valid.map(|(_, a)| a.value);
            match setting {
                Setting::AllowSearchExternalJumpItems => self.ext_search = value,
                Setting::TicketSystemConfigured => self.ticket_system = value,
                Setting::LocalAndRemoteJumpItemsPresent => self.local_remote = value,
            }
            if valid.is_none() {
                for (_, a) in all.iter().filter(|(_, a)| a.expires < today) {
                    let msg = format!(
                        "the attestation of `{}` by {} expired on {}; the setting counts as unattested until it is attested again",
                        setting.id(),
                        a.by,
                        a.expires
                    );
                    let who = format!("{} by {} on {}", setting.id(), a.by, a.attested_on);
                    let path = vec![setting_element(setting), declared("attestation", &who)];
                    self.report(Rule::AttestationExpired, None, None, msg, path, a.place);
                }
            }
        }
    }

    // ---- PRA jump items (paths 1 and 2) ---------------------------------------------------

    fn items(&self) -> Vec<Item<'a>> {
        let pra = &self.estate.pra;
        let mut out = Vec::new();
        for (ty, items) in &pra.jump_item {
            for it in items {
                let mut candidates = Vec::new();
                let url_host = it.url.as_deref().and_then(url_host);
                match ty {
                    estate::JumpItemType::WebJump => candidates.extend(url_host),
                    _ => match it.hostname.as_deref().and_then(HostKey::parse) {
                        Some(h) => candidates.push(h),
                        None => candidates.extend(url_host),
                    },
                }
                let tunnel = it
                    .filter_rules
                    .iter()
                    .flat_map(|r| {
                        let ip = &r.ip_addresses;
                        let mut v = Vec::new();
                        if let Some(c) = ip
                            .cidr
                            .as_deref()
                            .and_then(|c| c.trim().parse::<IpNet>().ok())
                        {
                            v.push(TunnelEntry::Net(c.trunc()));
                        }
                        if let Some(rg) = &ip.range {
                            if let (Ok(s), Ok(e)) = (rg.start.trim().parse(), rg.end.trim().parse())
                            {
                                v.push(TunnelEntry::Range(s, e));
                            }
                        }
                        for a in ip.list.iter().flatten() {
                            if let Ok(a) = a.trim().parse() {
                                v.push(TunnelEntry::Addr(a));
                            }
                        }
                        v
                    })
                    .collect();
                out.push(Item {
                    kind: "jump_item",
                    item_type: Some(ty.segment()),
                    id: it.id,
                    name: &it.name,
                    group_type: it.jump_group_type,
                    group_id: it.jump_group_id,
                    policy_id: estate::nonzero(it.jump_policy_id),
                    candidates,
                    tunnel,
                });
            }
        }
        for c in &pra.jump_client {
            let candidates = [&c.hostname, &c.fqdn, &c.private_ip]
                .into_iter()
                .filter_map(|f| f.as_deref().and_then(HostKey::parse))
                .collect();
            out.push(Item {
                kind: "jump_client",
                item_type: None,
                id: c.id,
                name: &c.name,
                group_type: c.jump_group_type,
                group_id: c.jump_group_id,
                policy_id: estate::nonzero(c.jump_policy_id),
                candidates,
                tunnel: Vec::new(),
            });
        }
        out
    }

    /// [`Self::matches`] of every item, in order, on as many threads as there are cores (up to
    /// four): host lookups are most of the time an evaluation of a large estate takes.
    fn match_all(&self, items: &[Item<'a>]) -> Vec<Vec<(usize, String)>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        if threads < 2 || items.len() < LARGE {
            return items.iter().map(|i| self.matches(i)).collect();
        }
        let chunk = items.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .skip(1)
                .map(|part| scope.spawn(move || part.iter().map(|i| self.matches(i)).collect()))
                .collect();
            let mut all: Vec<Vec<(usize, String)>> =
                items[..chunk].iter().map(|i| self.matches(i)).collect();
            for h in handles {
                let part: Vec<_> = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                all.extend(part);
            }
            all
        })
    }

    /// (target, host) pairs an item reaches; per target the first matching candidate.
    fn matches(&self, item: &Item) -> Vec<(usize, String)> {
        let mut out: Vec<(usize, String)> = Vec::new();
        if item.item_type == Some("network-tunnel-jump") {
            let mut hits = Vec::new();
            for entry in &item.tunnel {
                self.target_addresses.reached(entry, &mut hits);
                for (t, _, addr) in &hits {
                    let host = addr.map_or_else(|| entry.spelling(), |a| a.to_string());
                    push_unique(&mut out, (*t, host));
                }
            }
            return out;
        }
        let mut hits = Vec::new();
        for c in &item.candidates {
            hits.clear();
            self.index.lookup(c, &mut hits);
            for &t in &hits {
                if !out.iter().any(|(x, _)| *x == t) {
                    out.push((t, c.text()));
                }
            }
        }
        out
    }

    fn first_host(item: &Item) -> Option<String> {
        match item.tunnel.first() {
            Some(e) if item.item_type == Some("network-tunnel-jump") => Some(e.spelling()),
            _ => item.candidates.first().map(HostKey::text),
        }
    }

    fn item_element(item: &Item) -> PathElement {
        PathElement {
            kind: item.kind.into(),
            item_type: item.item_type.map(str::to_string),
            id: Some(item.id),
            name: item.name.into(),
        }
    }

    fn policy_element(&self, id: Option<i64>) -> PathElement {
        match id {
            Some(id) => match self.jump_policies.get(&id) {
                Some(p) => el("jump_policy", id, &p.display_name),
                None => el("jump_policy", id, "(no such jump policy)"),
            },
            None => PathElement {
                kind: "jump_policy".into(),
                item_type: None,
                id: None,
                name: "(none)".into(),
            },
        }
    }

    fn jump_items(&mut self) {
        // Taken out for the loop so findings can be pushed while memberships are borrowed.
        let memberships = std::mem::take(&mut self.memberships);
        self.jump_items_with(&memberships);
        self.memberships = memberships;
    }

    fn jump_items_with(&mut self, memberships: &HashMap<i64, Vec<Membership<'a>>>) {
        let items = self.items();
        // A copy of the map (of references): findings are pushed while it is read.
        let groups = self.jump_groups.clone();
        // Declared groups by code name (compared ignoring ASCII case; the first declaration
        // wins), and each live group's code name lowercased once rather than per item.
        let mut declared_groups: HashMap<String, &crate::policy::DeclaredJumpGroup> =
            HashMap::new();
        for g in &self.policy.jump_groups {
            declared_groups
                .entry(g.code_name.to_ascii_lowercase())
                .or_insert(g);
        }
        let group_codes: HashMap<i64, String> = groups
            .iter()
            .map(|(id, g)| (*id, g.code_name.to_lowercase()))
            .collect();
        let users: HashMap<i64, &estate::User> =
            self.estate.pra.user.iter().map(|u| (u.id, u)).collect();
        // Guarded groups (path 4): group id -> (target, host) of items of targets with a
        // requirement; kept only for groups with a membership whose role can edit the guard,
        // the only ones path 4 reports on.
        let mut guarded: HashMap<i64, Vec<(usize, String)>> = HashMap::new();
        let editable: HashSet<i64> = memberships
            .iter()
            .filter(|(_, ms)| {
                ms.iter()
                    .any(|m| m.role.is_some_and(|r| r.can_edit_guard()))
            })
            .map(|(g, _)| *g)
            .collect();
        let all_matches = self.match_all(&items);
        for (item, matches) in items.iter().zip(all_matches) {
            // Path elements are built only for findings: most paths raise none.
            let item_el = || Self::item_element(item);
            if matches.is_empty() && self.policy.unmanaged.0 != Unmanaged::Ignore {
                let host = Self::first_host(item);
                let msg = format!(
                    "{} `{}` reaches {}, which no target names",
                    item.kind.replace('_', " "),
                    item.name,
                    host.as_deref().unwrap_or("no known host")
                );
                let place = self.policy.unmanaged.1.unwrap_or(self.policy.root);
                self.report(Rule::UnmanagedHost, None, host, msg, vec![item_el()], place);
            }
            if item.group_type == JumpGroupType::Personal {
                let owner = users
                    .get(&item.group_id)
                    .map_or_else(|| format!("user {}", item.group_id), |u| u.username.clone());
                let owner_el = el("personal_list", item.group_id, &owner);
                if let Some(place) = self.policy.site.personal_jump_items {
                    let msg = format!("`{owner}` has a personal jump item `{}`; site policy forbids personal jump items", item.name);
                    self.report(
                        Rule::SitePersonalJumpItem,
                        None,
                        Self::first_host(item),
                        msg,
                        vec![item_el(), owner_el.clone()],
                        place,
                    );
                }
                for (t, host) in &matches {
                    self.paths += 1;
                    let target = &self.policy.targets[*t];
                    if target.has_requirement() {
                        let msg = format!(
                            "personal jump item `{}` of `{owner}` reaches {host}; only its owner controls its jump policy, so the {} of `{}` is not enforced{}",
                            item.name,
                            needs_text(target),
                            target.name,
                            self.ecm_note(*t, host)
                        );
                        let path = vec![
                            item_el(),
                            owner_el.clone(),
                            self.policy_element(item.policy_id),
                        ];
                        self.report(
                            Rule::PersonalJumpItem,
                            Some(target),
                            Some(host.clone()),
                            msg,
                            path,
                            target.place,
                        );
                    }
                }
                continue;
            }
            let group = groups.get(&item.group_id).copied();
            let group_code = group_codes.get(&item.group_id);
            let group_name = group.map_or("(unknown group)", |g| g.name.as_str());
            let group_el = || el("jump_group", item.group_id, group_name);
            // `c` is lowercased already, so it is its own ASCII-lowercase key.
            let declared = group_code.and_then(|c| declared_groups.get(c)).copied();
            for (t, host) in &matches {
                let target = &self.policy.targets[*t];
                let sanctioned = match &target.jump_groups {
                    Some(list) => group_code.is_some_and(|c| list.iter().any(|g| g == c)),
                    None => true,
                };
                if sanctioned {
                    self.found[*t] = true;
                } else {
                    let msg = format!(
                        "`{}` ({host}) sits in jump group `{}`, which target `{}` does not list in its jump_groups",
                        item.name, group_name, target.name
                    );
                    self.report(
                        Rule::UnsanctionedJumpGroup,
                        Some(target),
                        Some(host.clone()),
                        msg,
                        vec![item_el(), group_el()],
                        target.place,
                    );
                }
                if target.has_requirement() && editable.contains(&item.group_id) {
                    push_unique(
                        guarded.entry(item.group_id).or_default(),
                        (*t, host.clone()),
                    );
                }
            }
            let Some(members) = memberships.get(&item.group_id) else {
                continue;
            };
            // Memberships that keep "Set on Jump Items" share one path identity: the item's guard.
            let mut item_path_done = false;
            let evaluations: Vec<(Option<usize>, Option<i64>)> = members
                .iter()
                .enumerate()
                .filter_map(|(i, m)| match m.override_policy {
                    Some(p) => Some((Some(i), Some(p))),
                    None if !item_path_done => {
                        item_path_done = true;
                        Some((None, item.policy_id))
                    }
                    None => None,
                })
                .collect();
            self.paths += members.len() * matches.len().max(1);
            for (membership, policy_id) in evaluations {
                // Item, group, the overriding membership, the effective policy: built once,
                // when the first finding on this path needs it.
                let mut path_cache: Option<Vec<PathElement>> = None;
                let mut path = |this: &Self| {
                    path_cache
                        .get_or_insert_with(|| {
                            let mut path = vec![item_el(), group_el()];
                            if let Some(i) = membership {
                                path.push(members[i].element());
                            }
                            path.push(this.policy_element(policy_id));
                            path
                        })
                        .clone()
                };
                let is_override = membership.is_some();
                let live = policy_id.and_then(|p| self.jump_policies.get(&p).copied());
                let mut overridden = Vec::new();
                for (t, host) in &matches {
                    let target = &self.policy.targets[*t];
                    let failures = self.guard_failures(target, live);
                    if is_override
                        && target.has_requirement()
                        && (policy_id.is_some() && live.is_none()
                            || failures.iter().any(|(r, _)| *r != Rule::UnverifiedSetting))
                    {
                        let what = match live {
                            Some(p) => format!(
                                "jump policy `{}`: {}",
                                p.display_name,
                                failures
                                    .iter()
                                    .filter(|(r, _)| *r != Rule::UnverifiedSetting)
                                    .map(|(_, m)| m.as_str())
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            ),
                            None => format!(
                                "jump policy id {}, which does not exist (no guard)",
                                policy_id.unwrap_or_default()
                            ),
                        };
                        let msg = format!(
                            "membership `{}` of jump group `{}` overrides the jump policy of `{}` ({host}) with {what}{}",
                            members[membership.unwrap_or_default()].name,
                            group_name,
                            item.name,
                            self.ecm_note(*t, host)
                        );
                        let path = path(self);
                        self.report(
                            Rule::MembershipOverride,
                            Some(target),
                            Some(host.clone()),
                            msg,
                            path.clone(),
                            target.place,
                        );
                        overridden.push(*t);
                        for (rule, m) in failures
                            .into_iter()
                            .filter(|(r, _)| *r == Rule::UnverifiedSetting)
                        {
                            self.report(
                                rule,
                                Some(target),
                                Some(host.clone()),
                                m,
                                path.clone(),
                                target.place,
                            );
                        }
                        continue;
                    }
                    for (rule, m) in failures {
                        let note = if rule == Rule::ApprovalMissing {
                            self.ecm_note(*t, host)
                        } else {
                            String::new()
                        };
                        let guard = match live {
                            Some(p) => format!("jump policy `{}`", p.display_name),
                            None => "no jump policy".to_string(),
                        };
                        let msg = format!(
                            "`{}` ({host}) via jump group `{}`, guarded by {guard}: {m}{note}",
                            item.name, group_name
                        );
                        let path = path(self);
                        self.report(
                            rule,
                            Some(target),
                            Some(host.clone()),
                            msg,
                            path,
                            target.place,
                        );
                    }
                }
                // group-policy-mismatch: every path into a declared group, whatever its target.
                if let Some(dg) = declared {
                    if let Some(want) = &dg.jump_policy {
                        let ok = live.is_some_and(|p| p.code_name.eq_ignore_ascii_case(want));
                        if !ok {
                            let have = live.map_or("no jump policy".to_string(), |p| {
                                format!("jump policy `{}`", p.code_name)
                            });
                            let dg_place = dg.place;
                            let msg = |host: &str| {
                                format!("`{}` ({host}) in jump group `{}` is guarded by {have}, not by `{want}` as the policy declares", item.name, group_name)
                            };
                            if matches.is_empty() {
                                let host = Self::first_host(item);
                                let m = msg(host.as_deref().unwrap_or("-"));
                                let path = path(self);
                                self.report(
                                    Rule::GroupPolicyMismatch,
                                    None,
                                    host,
                                    m,
                                    path,
                                    dg_place,
                                );
                            }
                            for (t, host) in &matches {
                                if overridden.contains(t) {
                                    continue;
                                }
                                let target = &self.policy.targets[*t];
                                let path = path(self);
                                self.report(
                                    Rule::GroupPolicyMismatch,
                                    Some(target),
                                    Some(host.clone()),
                                    msg(host),
                                    path,
                                    target.place,
                                );
                            }
                        }
                    }
                }
            }
        }
        // Path 4: roles that let the guarded edit their own guard.
        let mut guarded: Vec<(i64, Vec<(usize, String)>)> = guarded.into_iter().collect();
        guarded.sort_by_key(|(g, _)| *g);
        for (group_id, hosts) in guarded {
            let Some(members) = memberships.get(&group_id) else {
                continue;
            };
            let group_name = groups
                .get(&group_id)
                .map_or("(unknown group)".to_string(), |g| g.name.clone());
            for m in members {
                let Some(role) = m.role.filter(|r| r.can_edit_guard()) else {
                    continue;
                };
                for (t, host) in &hosts {
                    let target = &self.policy.targets[*t];
                    let msg = format!(
                        "membership `{}` of guarded jump group `{group_name}` has role `{}`, which can {}: the guard on {host} can be removed by the people it guards",
                        m.name,
                        role.name,
                        role_powers(role)
                    );
                    let path = vec![
                        el("jump_group", group_id, &group_name),
                        m.element(),
                        el("jump_item_role", role.id, &role.name),
                    ];
                    self.report(
                        Rule::PolicyEditable,
                        Some(target),
                        Some(host.clone()),
                        msg,
                        path,
                        target.place,
                    );
                }
            }
        }
    }

    /// `; and <how the ECM releases the host's credential>` when it does so without approval.
    fn ecm_note(&self, target: usize, host: &str) -> String {
        let hosts = self.ecm_hosts[target].get_or_init(|| {
            let mut map = HashMap::new();
            for (s, note) in &self.ecm_notes[target] {
                for key in &self.system_keys[*s] {
                    map.entry(key.text()).or_insert(*note);
                }
            }
            map
        });
        hosts.get(host).map_or(String::new(), |n| {
            format!(
                "; and the ECM injects `{}` from Password Safe into such sessions with no approval (user group `{}`, access policy `{}`)",
                n.account, n.group, n.policy
            )
        })
    }

    /// What a jump policy (or none) fails of a target's needs on a jump-item path.
    fn guard_failures(&self, target: &Target, policy: Option<&JumpPolicy>) -> Vec<(Rule, String)> {
        let mut out = Vec::new();
        let approval = policy.is_some_and(|p| p.approval_required);
        if target.approval {
            if !approval {
                out.push((Rule::ApprovalMissing, "no approval is required".into()));
            } else if policy.is_some_and(JumpPolicy::self_approval) {
                out.push((
                    Rule::SelfApproval,
                    "requesters may approve their own requests (approval_approver_scope: anyone)"
                        .into(),
                ));
            }
        }
        if target.comment && !approval {
            out.push((
                Rule::ReasonMissing,
                "no reason is captured (only an approval request carries one)".into(),
            ));
        }
        if target.ticket {
            match policy {
                Some(p) if p.ticket_id_required => match self.ticket_system {
                    Some(true) => {}
                    Some(false) => out.push((Rule::TicketIdMissing, "ticket_id_required is set, but no ticket system is configured (attested), so no ticket ID is checked".into())),
                    None => out.push((Rule::UnverifiedSetting, format!(
                        "jump policy `{}` requires a ticket ID, but whether a ticket system is configured is not attested (pra.ticket_system_configured)",
                        p.display_name
                    ))),
                },
                _ => out.push((Rule::TicketIdMissing, "no ticket ID is demanded".into())),
            }
        }
        out
    }

    // ---- memberships and site rules --------------------------------------------------------

    fn memberships_and_site(&mut self) {
        if let Some(place) = self.policy.site.editing_roles {
            // A copy of the map (of references): findings are pushed while it is read.
            let groups = self.jump_groups.clone();
            let mut ids: Vec<&i64> = self.memberships.keys().collect();
            ids.sort();
            let mut found = Vec::new();
            for gid in ids {
                let gname = groups
                    .get(gid)
                    .map_or("(unknown group)".to_string(), |g| g.name.clone());
                for m in &self.memberships[gid] {
                    if let Some(role) = m.role.filter(|r| r.can_edit_guard()) {
                        let msg = format!(
                            "membership `{}` of jump group `{gname}` has role `{}`, which can {}",
                            m.name,
                            role.name,
                            role_powers(role)
                        );
                        found.push((
                            msg,
                            vec![
                                el("jump_group", *gid, &gname),
                                m.element(),
                                el("jump_item_role", role.id, &role.name),
                            ],
                        ));
                    }
                }
            }
            for (msg, path) in found {
                self.report(Rule::SiteEditingRole, None, None, msg, path, place);
            }
        }
        let site = &self.policy.site;
        for p in &self.estate.pra.jump_policy {
            if let Some(place) = site.self_approval {
                if p.self_approval() {
                    let msg = format!("jump policy `{}` lets requesters approve themselves (approval_approver_scope: anyone)", p.display_name);
                    self.report(
                        Rule::SiteSelfApproval,
                        None,
                        None,
                        msg,
                        vec![el("jump_policy", p.id, &p.display_name)],
                        place,
                    );
                }
            }
            if let Some(place) = site.recordings {
                if p.recordings_disabled {
                    let msg = format!(
                        "jump policy `{}` disables session recordings (recordings_disabled: true)",
                        p.display_name
                    );
                    self.report(
                        Rule::SiteRecordingsDisabled,
                        None,
                        None,
                        msg,
                        vec![el("jump_policy", p.id, &p.display_name)],
                        place,
                    );
                }
            }
        }
    }

    // ---- declared objects ------------------------------------------------------------------

    fn declared_objects(&mut self) {
        let pra = &self.estate.pra;
        for jp in &self.policy.jump_policies {
            let live = pra
                .jump_policy
                .iter()
                .find(|p| p.code_name.eq_ignore_ascii_case(&jp.code_name));
            let (msg, path) = match live {
                None => (
                    format!(
                        "jump policy `{}` is declared but does not exist live",
                        jp.code_name
                    ),
                    vec![declared("declared_jump_policy", &jp.code_name)],
                ),
                Some(p) => {
                    let diffs = drift(jp, p, pra);
                    if diffs.is_empty() {
                        continue;
                    }
                    (
                        format!(
                            "jump policy `{}` differs from the policy: {}",
                            jp.code_name,
                            diffs.join("; ")
                        ),
                        vec![el("jump_policy", p.id, &p.display_name)],
                    )
                }
            };
            self.report(Rule::JumpPolicyDrift, None, None, msg, path, jp.place);
        }
        for g in &self.policy.jump_groups {
            if !pra
                .jump_group
                .iter()
                .any(|l| l.code_name.eq_ignore_ascii_case(&g.code_name))
            {
                let msg = format!(
                    "jump group `{}` is declared but does not exist live",
                    g.code_name
                );
                let path = vec![declared("declared_jump_group", &g.code_name)];
                self.report(Rule::JumpGroupMissing, None, None, msg, path, g.place);
            }
        }
        for (t, target) in self.policy.targets.iter().enumerate() {
            if !self.found[t] {
                let within = match &target.jump_groups {
                    Some(g) => format!(" in its jump groups ({})", g.join(", ")),
                    None => String::new(),
                };
                let msg = format!(
                    "target `{}` matches no shared jump item{within}",
                    target.name
                );
                self.report(
                    Rule::TargetNotFound,
                    Some(target),
                    None,
                    msg,
                    Vec::new(),
                    target.place,
                );
            }
        }
    }

    // ---- Password Safe (paths 3, 5, 6, 7) --------------------------------------------------

    fn password_safe(&mut self, ps: &'a Ps) {
        // Taken out for the loop so findings can be pushed while the keys are borrowed.
        let system_keys = std::mem::take(&mut self.system_keys);
        self.password_safe_with(ps, &system_keys);
        self.system_keys = system_keys;
    }

    fn password_safe_with(&mut self, ps: &'a Ps, system_keys: &[Vec<HostKey>]) {
        // Each system's accounts, with their position in the list (credentials keep that order).
        let mut accounts_by_system: HashMap<i64, Vec<(usize, &estate::ManagedAccount)>> =
            HashMap::new();
        for (i, a) in ps.managed_accounts.iter().enumerate() {
            accounts_by_system
                .entry(a.managed_system_id)
                .or_default()
                .push((i, a));
        }
        // A credential names its system by any of the five fields: the systems (by position)
        // by field, for the fields credentials name (the last system of an id counts).
        let wanted: HashSet<&str> = self
            .policy
            .targets
            .iter()
            .flat_map(|t| &t.credentials)
            .map(|c| c.system.as_str())
            .collect();
        let mut systems_by_field: HashMap<String, Vec<usize>> = HashMap::new();
        if !wanted.is_empty() {
            let mut last: HashMap<i64, usize> = HashMap::new();
            for (i, system) in ps.managed_systems.iter().enumerate() {
                last.insert(system.managed_system_id, i);
            }
            let mut lasts: Vec<usize> = last.into_values().collect();
            lasts.sort_unstable();
            for i in lasts {
                for f in ps.managed_systems[i].fields().iter().flatten() {
                    let key = crate::policy::hosts::normalize_name(f);
                    if wanted.contains(key.as_str()) {
                        push_unique(systems_by_field.entry(key).or_default(), i);
                    }
                }
            }
        }
        let mut rules_by_account: HashMap<i64, Vec<&estate::SmartRule>> = HashMap::new();
        for sr in ps.smart_rules.iter().filter(|s| s.is_active) {
            for a in &sr.managed_account_ids {
                rules_by_account.entry(*a).or_default().push(sr);
            }
        }
        let mut assignments: HashMap<i64, Vec<&estate::RoleAssignment>> = HashMap::new();
        for ra in &ps.role_assignments {
            assignments.entry(ra.smart_rule_id).or_default().push(ra);
        }
        let groups: HashMap<i64, &estate::UserGroup> =
            ps.user_groups.iter().map(|g| (g.group_id, g)).collect();
        let policies: HashMap<i64, &estate::AccessPolicy> = ps
            .access_policies
            .iter()
            .map(|p| (p.access_policy_id, p))
            .collect();
        let ext_open = self.ext_search != Some(false);
        // What each role assignment grants, worked out once per smart rule rather than once per
        // account in it: the user group, its ISA role, its Requestor role under a usable access
        // policy, and which needs that policy's schedules leave unmet.
        let mut grants: HashMap<i64, Vec<Grant<'a>>> = HashMap::new();
        for (rule, list) in &assignments {
            let rule_grants = grants.entry(*rule).or_default();
            for ra in list {
                let Some(group) = groups.get(&ra.user_group_id).copied() else {
                    continue;
                };
                if !group.is_active
                    || !ra.active()
                    || group.name.eq_ignore_ascii_case("Administrators")
                {
                    continue;
                }
                let is_ecm = self
                    .policy
                    .ecm_user_groups
                    .iter()
                    .any(|g| g.eq_ignore_ascii_case(&group.name));
                let isa = ra.roles.iter().find(|r| r.name.eq_ignore_ascii_case("ISA"));
                // Equal to comparing `to_lowercase()`: no non-ASCII character lowercases to a
                // letter of these two names.
                let requestor = ra.roles.iter().find(|r| {
                    r.name.eq_ignore_ascii_case("requestor")
                        || r.name.eq_ignore_ascii_case("requestor/approver")
                });
                let request = requestor.and_then(|role| {
                    let policy = ra
                        .access_policy_id
                        .and_then(|id| policies.get(&id).copied())?;
                    let usable: Vec<&estate::Schedule> = policy
                        .schedules
                        .iter()
                        .filter(|s| !s.access_types.is_empty())
                        .collect();
                    if usable.is_empty() {
                        return None;
                    }
                    Some(Request {
                        role,
                        policy,
                        auto: usable
                            .iter()
                            .any(|s| s.access_types.iter().any(|a| a.min_approvers < 1)),
                        no_reason: usable.iter().any(|s| !s.require_reason),
                        no_ticket: usable.iter().any(|s| !ps.ticket_enforced(s)),
                    })
                });
                rule_grants.push(Grant {
                    group,
                    is_ecm,
                    isa,
                    request,
                });
            }
        }

        for (t, target) in self.policy.targets.iter().enumerate() {
            // (system position, system, account)
            let mut accounts: Vec<(usize, &estate::ManagedSystem, &estate::ManagedAccount)> =
                Vec::new();
            let mut seen = HashSet::new();
            for &s in &self.target_systems[t] {
                let system = &ps.managed_systems[s];
                for (_, a) in accounts_by_system
                    .get(&system.managed_system_id)
                    .into_iter()
                    .flatten()
                {
                    push_unique_by(&mut accounts, &mut seen, (s, system, *a));
                }
            }
            for c in &target.credentials {
                let account = c.account.to_lowercase();
                // (account position, system position, system, account)
                let mut found: Vec<(
                    usize,
                    usize,
                    &estate::ManagedSystem,
                    &estate::ManagedAccount,
                )> = Vec::new();
                for &s in systems_by_field.get(&c.system).into_iter().flatten() {
                    let system = &ps.managed_systems[s];
                    for (i, a) in accounts_by_system
                        .get(&system.managed_system_id)
                        .into_iter()
                        .flatten()
                    {
                        if a.account_name.to_lowercase() == account {
                            found.push((*i, s, system, *a));
                        }
                    }
                }
                found.sort_by_key(|(i, _, _, _)| *i);
                let hits: Vec<_> = found.into_iter().map(|(_, s, x, a)| (s, x, a)).collect();
                if hits.is_empty() {
                    let msg = format!("credential `{}` on `{}` of target `{}` matches no live Password Safe account", c.account, c.system, target.name);
                    self.report(
                        Rule::CredentialNotFound,
                        Some(target),
                        None,
                        msg,
                        vec![declared(
                            "declared_credential",
                            &format!("{}/{}", c.system, c.account),
                        )],
                        c.place,
                    );
                }
                for h in hits {
                    push_unique_by(&mut accounts, &mut seen, h);
                }
            }
            if target.api_forbidden {
                for (s, system, account) in accounts.iter().filter(|(_, _, a)| a.api_enabled) {
                    let host = system_keys[*s].first().map(HostKey::text);
                    let system_name = system
                        .system_name
                        .clone()
                        .or_else(|| system.host_name.clone())
                        .unwrap_or_default();
                    let msg = format!(
                        "`{}` on {} has ApiEnabled on, but target `{}` forbids releasing its accounts to API callers (password_safe_api: forbidden)",
                        account.account_name,
                        host.as_deref().unwrap_or("?"),
                        target.name
                    );
                    let path = vec![
                        el("managed_system", system.managed_system_id, &system_name),
                        el(
                            "managed_account",
                            account.managed_account_id,
                            &account.account_name,
                        ),
                    ];
                    self.report(
                        Rule::PsApiEnabled,
                        Some(target),
                        host,
                        msg,
                        path,
                        target.place,
                    );
                }
            }
            if !target.has_requirement() {
                continue;
            }
            for (s, system, account) in accounts {
                // The host and the path are worked out only for findings: most accounts have none.
                let host = || system_keys[s].first().map(HostKey::text);
                let base = || {
                    let system_name = system
                        .system_name
                        .clone()
                        .or_else(|| system.host_name.clone())
                        .unwrap_or_default();
                    vec![
                        el("managed_system", system.managed_system_id, &system_name),
                        el(
                            "managed_account",
                            account.managed_account_id,
                            &account.account_name,
                        ),
                    ]
                };
                for sr in rules_by_account
                    .get(&account.managed_account_id)
                    .into_iter()
                    .flatten()
                {
                    for grant in grants.get(&sr.smart_rule_id).into_iter().flatten() {
                        let group = grant.group;
                        let group_path = || {
                            let mut path = base();
                            path.push(el("smart_rule", sr.smart_rule_id, &sr.title));
                            path.push(el("user_group", group.group_id, &group.name));
                            path
                        };
                        if let Some(isa) = grant.isa {
                            self.paths += 1;
                            let mut p = group_path();
                            p.push(el("role", isa.role_id, &isa.name));
                            let host = host();
                            let msg = format!(
                                "user group `{}` holds the ISA role on smart rule `{}`: `{}` on {} is released with no request, approval or reason",
                                group.name, sr.title, account.account_name, host.as_deref().unwrap_or("?")
                            );
                            self.report(
                                Rule::PsIsaBypass,
                                Some(target),
                                host,
                                msg,
                                p,
                                target.place,
                            );
                        }
                        let Some(request) = &grant.request else {
                            continue;
                        };
                        let (requestor, policy) = (request.role, request.policy);
                        self.paths += 1;
                        let requestor_path = || {
                            let mut path = group_path();
                            path.push(el("role", requestor.role_id, &requestor.name));
                            path.push(el("access_policy", policy.access_policy_id, &policy.name));
                            path
                        };
                        if grant.is_ecm {
                            // Path 7 raises nothing itself; what it opens is path 3, and any
                            // unguarded PRA path to the host (noted on that finding).
                            if account.api_enabled && request.auto {
                                self.ecm_notes[t].push((
                                    s,
                                    EcmNote {
                                        account: &account.account_name,
                                        group: &group.name,
                                        policy: &policy.name,
                                    },
                                ));
                            }
                            if account.api_enabled && ext_open {
                                let why = if self.ext_search == Some(true) {
                                    "is attested on"
                                } else {
                                    "is not attested off"
                                };
                                let host = host();
                                let msg = format!(
                                    "`{}` on {} can be released by the ECM (user group `{}`, access policy `{}`) and \"Allow Search for External Jump Items\" {why}: it is reachable as an External Jump Item with no jump policy",
                                    account.account_name, host.as_deref().unwrap_or("?"), group.name, policy.name
                                );
                                let mut p = requestor_path();
                                p.push(setting_element(Setting::AllowSearchExternalJumpItems));
                                self.report(
                                    Rule::ExternalSearchBypass,
                                    Some(target),
                                    host,
                                    msg,
                                    p,
                                    target.place,
                                );
                            }
                            continue;
                        }
                        let no_approver = target.approval && request.auto;
                        let no_reason = target.comment && request.no_reason;
                        let no_ticket = target.ticket && request.no_ticket;
                        if !(no_approver || no_reason || no_ticket) {
                            continue;
                        }
                        let path = requestor_path();
                        let host = host();
                        let who = format!(
                            "user group `{}` (access policy `{}`)",
                            group.name, policy.name
                        );
                        if no_approver {
                            let msg = format!(
                                "{who} can check out `{}` on {} with no approver (MinApprovers 0)",
                                account.account_name,
                                host.as_deref().unwrap_or("?")
                            );
                            self.report(
                                Rule::PsApprovalMissing,
                                Some(target),
                                host.clone(),
                                msg,
                                path.clone(),
                                target.place,
                            );
                        }
                        if no_reason {
                            let msg = format!("{who} can check out `{}` on {} without giving a reason (RequireReason false)", account.account_name, host.as_deref().unwrap_or("?"));
                            self.report(
                                Rule::PsReasonMissing,
                                Some(target),
                                host.clone(),
                                msg,
                                path.clone(),
                                target.place,
                            );
                        }
                        if no_ticket {
                            let msg = format!("{who} can check out `{}` on {} without a ticket from an active ticket system", account.account_name, host.as_deref().unwrap_or("?"));
                            self.report(
                                Rule::PsTicketMissing,
                                Some(target),
                                host.clone(),
                                msg,
                                path.clone(),
                                target.place,
                            );
                        }
                    }
                }
            }
        }
    }

    // ---- run-level unverified settings -----------------------------------------------------

    fn run_level(&mut self) {
        let needy: Vec<&Target> = self
            .policy
            .targets
            .iter()
            .filter(|t| t.has_requirement())
            .collect();
        let Some(first) = needy.first().map(|t| t.place) else {
            return;
        };
        let place_of = |s: Setting| {
            self.policy
                .attestations
                .iter()
                .rev()
                .find(|a| a.setting == s)
                .map_or(first, |a| a.place)
        };
        match self.local_remote {
            None => {
                let msg = "Local and Remote Jump items are invisible to the API and `pra.local_and_remote_jump_items_present` is not attested: paths through them cannot be checked".to_string();
                let place = place_of(Setting::LocalAndRemoteJumpItemsPresent);
                self.report_setting(Setting::LocalAndRemoteJumpItemsPresent, None, msg, place);
            }
            Some(true) => {
                for t in needy {
                    let msg = format!("Local and Remote Jump items are attested present; the API cannot show whether any reaches target `{}`", t.name);
                    self.report_setting(
                        Setting::LocalAndRemoteJumpItemsPresent,
                        Some(t),
                        msg,
                        t.place,
                    );
                }
            }
            Some(false) => {}
        }
        if !self.estate.has_password_safe() && self.ext_search != Some(false) {
            let state = if self.ext_search == Some(true) {
                "is attested on"
            } else {
                "is not attested off"
            };
            let msg = format!(
                "\"Allow Search for External Jump Items\" {state} and Password Safe is not read: which accounts it exposes without a jump policy cannot be checked"
            );
            let place = place_of(Setting::AllowSearchExternalJumpItems);
            self.report_setting(Setting::AllowSearchExternalJumpItems, None, msg, place);
        }
    }

    /// Whether a source was not read completely (then an unmatched waiver proves nothing).
    fn incomplete(&self) -> bool {
        let s = self.estate.sources();
        [s.pra.status, s.password_safe.status]
            .iter()
            .any(|c| matches!(c, Completeness::Partial | Completeness::Unavailable))
    }

    fn report_setting(&mut self, s: Setting, target: Option<&Target>, msg: String, place: Place) {
        self.report(
            Rule::UnverifiedSetting,
            target,
            None,
            msg,
            vec![setting_element(s)],
            place,
        );
    }

    // ---- waivers, verdict ------------------------------------------------------------------

    fn finish(mut self) -> Report {
        // Worth a thread only for a large estate's indexes.
        if self.system_keys.len() >= LARGE {
            crate::drop_later((
                std::mem::take(&mut self.index),
                std::mem::take(&mut self.system_keys),
            ));
        }
        // One finding per identity: several memberships or accounts can yield the same path.
        let mut seen = HashSet::new();
        self.findings.retain(|f| seen.insert(f.fingerprint.clone()));
        let today = self.options.today;
        if !self.options.no_waivers {
            let mut used = vec![false; self.policy.waivers.len()];
            for f in &mut self.findings {
                if !f.rule.waivable() {
                    continue;
                }
                for (i, w) in self.policy.waivers.iter().enumerate() {
                    if w.expires < today || !waiver_matches(w, f) {
                        continue;
                    }
                    used[i] = true;
                    if f.waiver.is_none() {
                        f.waiver = Some(WaiverRef {
                            reason: w.reason.clone(),
                            expires: w.expires.to_string(),
                            owner: w.owner.clone(),
                            ticket: w.ticket.clone(),
                            location: Location {
                                file: self
                                    .policy
                                    .sources
                                    .files
                                    .get(w.place.file.0)
                                    .map_or_else(String::new, |s| s.name.clone()),
                                line: w.place.loc.line,
                                column: w.place.loc.column,
                            },
                        });
                    }
                }
            }
            for (i, w) in self.policy.waivers.iter().enumerate() {
                let scope = w
                    .target
                    .as_ref()
                    .map_or(String::new(), |t| format!(" for target `{t}`"));
                if w.expires < today {
                    let msg = format!("the waiver of `{}`{scope} expired on {}; the findings it covered count again", w.rule, w.expires);
                    self.report(
                        Rule::WaiverExpired,
                        None,
                        None,
                        msg,
                        vec![waiver_element(w)],
                        w.place,
                    );
                } else if !used[i] && !self.incomplete() {
                    let msg = format!(
                        "the waiver of `{}`{scope} matches no finding; remove it",
                        w.rule
                    );
                    self.report(
                        Rule::WaiverUnused,
                        None,
                        None,
                        msg,
                        vec![waiver_element(w)],
                        w.place,
                    );
                }
            }
        }
        self.findings.sort_by(|a, b| {
            (
                std::cmp::Reverse(a.severity),
                a.rule,
                &a.target,
                &a.host,
                &a.message,
            )
                .cmp(&(
                    std::cmp::Reverse(b.severity),
                    b.rule,
                    &b.target,
                    &b.host,
                    &b.message,
                ))
        });
        let sources = self.estate.sources();
        let location = |place: Place| self.location(place);
        let waivers = self
            .policy
            .waivers
            .iter()
            .map(|w| {
                let matched = self
                    .findings
                    .iter()
                    .filter(|f| {
                        f.waiver
                            .as_ref()
                            .is_some_and(|r| r.location == location(w.place))
                    })
                    .count();
                let days_left = (w.expires - today).get_days() as i64;
                let status = if self.options.no_waivers {
                    WaiverStatus::Ignored
                } else if w.expires < today {
                    WaiverStatus::Expired
                } else if days_left <= EXPIRY_WARNING_DAYS {
                    WaiverStatus::Expiring
                } else {
                    WaiverStatus::Active
                };
                WaiverInfo {
                    rule: w.rule,
                    target: w.target.clone(),
                    host: w.host.as_ref().map(|(h, _)| h.clone()),
                    reason: w.reason.clone(),
                    owner: w.owner.clone(),
                    ticket: w.ticket.clone(),
                    expires: w.expires.to_string(),
                    days_left,
                    status,
                    covers: matched,
                    location: location(w.place),
                }
            })
            .collect();
        let attestations = self
            .policy
            .attestations
            .iter()
            .map(|a| {
                let days_left = (a.expires - today).get_days() as i64;
                let status = if a.expires < today {
                    AttestationStatus::Expired
                } else if days_left <= EXPIRY_WARNING_DAYS {
                    AttestationStatus::Expiring
                } else {
                    AttestationStatus::Valid
                };
                AttestationInfo {
                    setting: a.setting.id().to_string(),
                    value: a.value,
                    by: a.by.clone(),
                    attested_on: a.attested_on.to_string(),
                    expires: a.expires.to_string(),
                    days_left,
                    status,
                    location: location(a.place),
                }
            })
            .collect();
        let mut report = Report {
            format_version: REPORT_FORMAT_VERSION,
            tool: Tool {
                name: "jumpguard".into(),
                version: crate::VERSION.into(),
            },
            as_of: today.to_string(),
            verdict: Verdict::Compliant,
            sources: ReportSources {
                pra: sources.pra,
                password_safe: sources.password_safe,
            },
            summary: Summary {
                targets: self.policy.targets.len(),
                paths: self.paths,
                ..Summary::default()
            },
            targets: self
                .policy
                .targets
                .iter()
                .map(|t| TargetInfo {
                    name: t.name.clone(),
                    approval: t.approval,
                    comment: t.comment,
                    ticket_id: t.ticket,
                    location: location(t.place),
                })
                .collect(),
            findings: self.findings,
            waivers,
            attestations,
        };
        report.recompute(self.options.fail_on);
        report
    }
}

/// Adds an account unless one with its id is in already (`seen` holds their ids).
fn push_unique_by<'x>(
    v: &mut Vec<(usize, &'x estate::ManagedSystem, &'x estate::ManagedAccount)>,
    seen: &mut HashSet<i64>,
    x: (usize, &'x estate::ManagedSystem, &'x estate::ManagedAccount),
) {
    if seen.insert(x.2.managed_account_id) {
        v.push(x);
    }
}

/// An object of the policy itself (a declared group, a credential, a waiver) on a finding's path,
/// so that findings about different declarations keep different fingerprints.
fn declared(kind: &str, name: &str) -> PathElement {
    PathElement {
        kind: kind.into(),
        item_type: None,
        id: None,
        name: name.into(),
    }
}

fn waiver_element(w: &crate::policy::Waiver) -> PathElement {
    let target = w.target.as_deref().unwrap_or("*");
    let host = w.host.as_ref().map_or("*", |(h, _)| h.as_str());
    declared(
        "waiver",
        &format!("{} {target} {host} until {}", w.rule, w.expires),
    )
}

fn setting_element(s: Setting) -> PathElement {
    PathElement {
        kind: "setting".into(),
        item_type: None,
        id: None,
        name: s.id().into(),
    }
}

fn needs_text(t: &Target) -> String {
    let mut v = Vec::new();
    if t.approval {
        v.push("approval");
    }
    if t.comment {
        v.push("reason");
    }
    if t.ticket {
        v.push("ticket ID");
    }
    format!("{} requirement", v.join(" and "))
}

fn role_powers(r: &JumpItemRole) -> String {
    let mut v = Vec::new();
    if r.perm_edit_jump_policy {
        v.push("edit the jump policy");
    }
    if r.perm_assign_jump_group {
        v.push("move or copy items");
    }
    if r.perm_add {
        v.push("add items");
    }
    v.join(", ")
}

/// The host of a URL (`https://user@host:8443/path` → `host`).
fn url_host(url: &str) -> Option<HostKey> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    HostKey::parse(host)
}

fn waiver_matches(w: &crate::policy::Waiver, f: &Finding) -> bool {
    if w.rule != f.rule {
        return false;
    }
    if let Some(t) = &w.target {
        if f.target.as_deref() != Some(t.as_str()) {
            return false;
        }
    }
    match (&w.host, &f.host) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some((text, pattern)), Some(host)) => {
            // A tunnel entry (a CIDR or a range) is covered only by the identical string or a glob.
            if host.contains('/')
                || host.contains('-')
                    && host.parse::<IpAddr>().is_err()
                    && host.split('-').all(|p| p.parse::<IpAddr>().is_ok())
            {
                return text.trim() == host
                    || matches!(pattern, crate::policy::hosts::HostPattern::Glob { matcher, .. } if matcher.is_match(host));
            }
            HostKey::parse(host).is_some_and(|k| pattern.matches(&k))
        }
    }
}

/// The declared fields of a jump policy that differ live, in words.
fn drift(
    jp: &crate::policy::DeclaredJumpPolicy,
    live: &JumpPolicy,
    pra: &estate::Pra,
) -> Vec<String> {
    let mut out = Vec::new();
    let spec = &jp.spec;
    if let Some(d) = &spec.display_name {
        if d.value != live.display_name {
            out.push(format!(
                "display_name is `{}`, declared `{}`",
                live.display_name, d.value
            ));
        }
    }
    if let Some(a) = &spec.approval {
        if let Some(r) = &a.required {
            if r.value != live.approval_required {
                out.push(format!(
                    "approval_required is {}, declared {}",
                    live.approval_required, r.value
                ));
            }
        }
        if let Some(m) = jp.max_duration_minutes {
            if m != live.approval_max_duration {
                out.push(format!(
                    "approval_max_duration is {} minutes, declared {m}",
                    live.approval_max_duration
                ));
            }
        }
        if let Some(s) = &a.self_approval {
            if s.value != live.self_approval() {
                out.push(format!(
                    "approval_approver_scope is `{}`, declared self_approval: {}",
                    live.approval_approver_scope, s.value
                ));
            }
        }
        if let Some(ap) = &a.approvers {
            let names = |ids: &[String], lookup: &dyn Fn(&str) -> Option<String>| -> Vec<String> {
                let mut v: Vec<String> = ids
                    .iter()
                    .map(|id| {
                        lookup(id)
                            .unwrap_or_else(|| format!("#{id}"))
                            .to_lowercase()
                    })
                    .collect();
                v.sort();
                v
            };
            let declared = |list: &Vec<crate::policy::Spanned<String>>| -> Vec<String> {
                let mut v: Vec<String> = list.iter().map(|s| s.value.to_lowercase()).collect();
                v.sort();
                v.dedup();
                v
            };
            if let Some(teams) = &ap.teams {
                let live_names = names(&live.approval_team_ids, &|id| {
                    pra.team
                        .iter()
                        .find(|t| t.id.to_string() == id)
                        .map(|t| t.name.clone())
                });
                if live_names != declared(teams) {
                    out.push(format!(
                        "approving teams are [{}], declared [{}]",
                        live_names.join(", "),
                        declared(teams).join(", ")
                    ));
                }
            }
            if let Some(users) = &ap.users {
                let live_names = names(&live.approval_user_ids, &|id| {
                    pra.user
                        .iter()
                        .find(|u| u.id.to_string() == id)
                        .map(|u| u.username.clone())
                });
                if live_names != declared(users) {
                    out.push(format!(
                        "approving users are [{}], declared [{}]",
                        live_names.join(", "),
                        declared(users).join(", ")
                    ));
                }
            }
            if let Some(emails) = &ap.emails {
                let mut live_emails: Vec<String> = live
                    .approval_email_addresses
                    .iter()
                    .map(|e| e.to_lowercase())
                    .collect();
                live_emails.sort();
                if live_emails != declared(emails) {
                    out.push(format!(
                        "approval e-mails are [{}], declared [{}]",
                        live_emails.join(", "),
                        declared(emails).join(", ")
                    ));
                }
            }
        }
    }
    if let Some(t) = &spec.ticket_id {
        if t.value.is_required() != live.ticket_id_required {
            out.push(format!(
                "ticket_id_required is {}, declared {}",
                live.ticket_id_required,
                t.value.is_required()
            ));
        }
    }
    if let Some(r) = &spec.recording {
        if r.value.is_required() == live.recordings_disabled {
            out.push(format!(
                "recordings_disabled is {}, declared recording: {}",
                live.recordings_disabled,
                if r.value.is_required() {
                    "required"
                } else {
                    "not_required"
                }
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("https://portal.corp.example/login")
                .unwrap()
                .text(),
            "portal.corp.example"
        );
        assert_eq!(
            url_host("https://u@k8s-api.corp.example:6443")
                .unwrap()
                .text(),
            "k8s-api.corp.example"
        );
        assert_eq!(
            url_host("https://[2001:db8::1]:443/").unwrap().text(),
            "2001:db8::1"
        );
    }
}
