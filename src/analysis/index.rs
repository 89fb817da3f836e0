//! Host lookups through indexes: exact names and addresses in hash maps, CIDRs by prefix length,
//! globs in one automaton. Matching an item costs a few lookups, never a scan of all targets.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::policy::hosts::{HostKey, HostPattern};

/// Networks of one prefix length and family, by network address.
type CidrTable = ((u8, bool), HashMap<IpAddr, Vec<usize>>);

/// Maps a live host to the targets that name it.
#[derive(Default)]
pub struct HostIndex {
    names: HashMap<String, Vec<usize>>,
    addrs: HashMap<IpAddr, Vec<usize>>,
    /// (prefix length, is IPv6) → network address → targets.
    cidrs: Vec<CidrTable>,
    globs: Option<globset::GlobSet>,
    glob_targets: Vec<usize>,
}

impl HostIndex {
    /// Indexes the host patterns of each target (position = target index).
    pub fn build<'a>(
        targets: impl Iterator<Item = &'a [(HostPattern, crate::policy::Place)]>,
    ) -> HostIndex {
        let mut ix = HostIndex::default();
        let mut globs = globset::GlobSetBuilder::new();
        for (t, hosts) in targets.enumerate() {
            for (p, _) in hosts {
                match p {
                    HostPattern::Name(n) => ix.add_name(n.clone(), t),
                    HostPattern::Addr(a) => ix.add_addr(*a, t),
                    HostPattern::Cidr(net) => {
                        let key = (net.prefix_len(), matches!(net, IpNet::V6(_)));
                        let slot = match ix.cidrs.iter().position(|(k, _)| *k == key) {
                            Some(i) => i,
                            None => {
                                ix.cidrs.push((key, HashMap::new()));
                                ix.cidrs.len() - 1
                            }
                        };
                        push_unique(ix.cidrs[slot].1.entry(net.network()).or_default(), t);
                    }
                    HostPattern::Glob { matcher, .. } => {
                        globs.add(matcher.glob().clone());
                        ix.glob_targets.push(t);
                    }
                }
            }
        }
        ix.globs = globs.build().ok();
        ix
    }

    /// Adds an exact name for a target (the managed-system bridge).
    pub fn add_name(&mut self, name: String, target: usize) {
        push_unique(self.names.entry(name).or_default(), target);
    }

    /// Adds an exact address for a target (the managed-system bridge).
    pub fn add_addr(&mut self, addr: IpAddr, target: usize) {
        push_unique(self.addrs.entry(addr).or_default(), target);
    }

    /// Appends to `out` every target that names `key` (deduplicated within `out`).
    pub fn lookup(&self, key: &HostKey, out: &mut Vec<usize>) {
        match key {
            HostKey::Name(n) => {
                if let Some(ts) = self.names.get(n) {
                    ts.iter().for_each(|t| push_unique(out, *t));
                }
            }
            HostKey::Addr(a) => {
                if let Some(ts) = self.addrs.get(a) {
                    ts.iter().for_each(|t| push_unique(out, *t));
                }
                for ((len, v6), nets) in &self.cidrs {
                    if *v6 != a.is_ipv6() {
                        continue;
                    }
                    if let Ok(net) = IpNet::new(*a, *len) {
                        if let Some(ts) = nets.get(&net.trunc().network()) {
                            ts.iter().for_each(|t| push_unique(out, *t));
                        }
                    }
                }
            }
        }
        if let Some(globs) = &self.globs {
            for i in globs.matches(key.text()) {
                push_unique(out, self.glob_targets[i]);
            }
        }
    }
}

pub(crate) fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Place;

    fn pats(list: &[&str]) -> Vec<(HostPattern, Place)> {
        list.iter()
            .map(|s| (HostPattern::parse(s).unwrap(), Place::default()))
            .collect()
    }

    #[test]
    fn finds_targets_by_name_address_cidr_and_glob() {
        let a = pats(&["srv-a.corp.example", "10.0.0.1"]);
        let b = pats(&["10.0.1.0/24", "*.web.corp.example"]);
        let ix = HostIndex::build([a.as_slice(), b.as_slice()].into_iter());
        let look = |s: &str| {
            let mut out = Vec::new();
            ix.lookup(&HostKey::parse(s).unwrap(), &mut out);
            out
        };
        assert_eq!(look("SRV-A.corp.example."), vec![0]);
        assert_eq!(look("10.0.0.1"), vec![0]);
        assert_eq!(look("10.0.1.77"), vec![1]);
        assert_eq!(look("x.web.corp.example"), vec![1]);
        assert!(look("10.0.2.1").is_empty());
    }
}
