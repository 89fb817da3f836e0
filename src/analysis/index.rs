//! Host lookups through indexes: exact names and addresses in hash maps, CIDRs by prefix length,
//! globs by their literal suffix or prefix. Matching an item costs a few lookups, never a scan of
//! all targets.

use foldhash::{HashMap, HashMapExt};
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
    globs: GlobIndex,
}

/// Globs, found by the literal text they must end (or else begin) with, then each confirmed.
/// One automaton over a thousand globs is slower by far: its lazy DFA outgrows its cache and
/// falls back to a PikeVM on every lookup.
///
/// Globs compare ignoring case. Names and addresses arrive lowercased, and so are the
/// patterns, so for ASCII text and ASCII patterns the literal ends compare byte for byte; a
/// non-ASCII pattern or host (where case folding is subtler) goes through the full matcher.
#[derive(Default)]
struct GlobIndex {
    /// Each glob, in policy order.
    globs: Vec<IndexedGlob>,
    /// Literal suffix → globs; and the distinct suffix lengths.
    by_suffix: HashMap<String, Vec<usize>>,
    suffix_lengths: Vec<usize>,
    /// Literal prefix → globs (for globs that end in a wildcard); and the distinct lengths.
    by_prefix: HashMap<String, Vec<usize>>,
    prefix_lengths: Vec<usize>,
    /// Globs with no literal end (`*`, `*db*`) or with non-ASCII text: tried on every lookup.
    always: Vec<usize>,
    /// Whether some glob could match an address's text (hex digits, dots and colons only):
    /// `*.corp.example` cannot, so addresses skip the globs instead of being formatted.
    matches_addresses: bool,
}

struct IndexedGlob {
    matcher: globset::GlobMatcher,
    target: usize,
    /// `prefix*suffix` with one `*` and nothing else special: matched without the matcher.
    star: Option<(String, String)>,
}

/// Characters that make a glob position anything but one literal character.
const GLOB_SPECIAL: &[char] = &['*', '?', '[', ']', '{', '}', '\\', ','];

impl GlobIndex {
    fn add(&mut self, text: &str, matcher: globset::GlobMatcher, target: usize) {
        let i = self.globs.len();
        let suffix = text.rfind(GLOB_SPECIAL).map_or(text, |at| &text[at + 1..]);
        let prefix = text.find(GLOB_SPECIAL).map_or(text, |at| &text[..at]);
        let one_star = text.matches(GLOB_SPECIAL).count() == 1 && text.contains('*');
        self.globs.push(IndexedGlob {
            matcher,
            target,
            star: (one_star && text.is_ascii()).then(|| (prefix.to_owned(), suffix.to_owned())),
        });
        let (map, lengths, key) = if !text.is_ascii() {
            self.matches_addresses = true;
            self.always.push(i);
            return;
        } else if suffix.len() >= prefix.len() && !suffix.is_empty() {
            (&mut self.by_suffix, &mut self.suffix_lengths, suffix)
        } else if !prefix.is_empty() {
            (&mut self.by_prefix, &mut self.prefix_lengths, prefix)
        } else {
            self.matches_addresses = true;
            self.always.push(i);
            return;
        };
        if key
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
        {
            self.matches_addresses = true;
        }
        map.entry(key.to_owned()).or_default().push(i);
        if !lengths.contains(&key.len()) {
            lengths.push(key.len());
        }
    }

    /// Appends to `out` the target of every glob that matches `text`, in policy order.
    fn lookup(&self, text: &str, out: &mut Vec<usize>) {
        if self.globs.is_empty() {
            return;
        }
        if !text.is_ascii() {
            for g in self.globs.iter().filter(|g| g.matcher.is_match(text)) {
                push_unique(out, g.target);
            }
            return;
        }
        // The usual policy: every glob ends in a literal of one length (`*.corp.example`).
        // Its one list of candidates is in policy order already.
        if let ([len], [], []) = (
            self.suffix_lengths.as_slice(),
            self.prefix_lengths.as_slice(),
            self.always.as_slice(),
        ) {
            if let Some(ends) = text.len().checked_sub(*len).and_then(|at| text.get(at..)) {
                for &i in self.by_suffix.get(ends).into_iter().flatten() {
                    self.confirm(i, text, out);
                }
            }
            return;
        }
        let mut candidates: Vec<usize> = self.always.clone();
        for &len in &self.suffix_lengths {
            if let Some(ends) = text.len().checked_sub(len).and_then(|at| text.get(at..)) {
                candidates.extend(self.by_suffix.get(ends).into_iter().flatten());
            }
        }
        for &len in &self.prefix_lengths {
            if let Some(starts) = text.get(..len) {
                candidates.extend(self.by_prefix.get(starts).into_iter().flatten());
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        for i in candidates {
            self.confirm(i, text, out);
        }
    }

    /// Adds the target of glob `i` when it matches `text` (ASCII).
    fn confirm(&self, i: usize, text: &str, out: &mut Vec<usize>) {
        let g = &self.globs[i];
        let matched = match &g.star {
            Some((prefix, suffix)) => {
                text.len() >= prefix.len() + suffix.len()
                    && text.starts_with(prefix.as_str())
                    && text.ends_with(suffix.as_str())
            }
            None => g.matcher.is_match(text),
        };
        if matched {
            push_unique(out, g.target);
        }
    }
}

impl HostIndex {
    /// Indexes the host patterns of each target (position = target index).
    pub fn build<'a>(
        targets: impl Iterator<Item = &'a [(HostPattern, crate::policy::Place)]>,
    ) -> HostIndex {
        let mut ix = HostIndex::default();
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
                    HostPattern::Glob { text, matcher } => {
                        ix.globs.add(text, matcher.clone(), t);
                    }
                }
            }
        }
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
        if self.globs.globs.is_empty() {
            return;
        }
        match key {
            HostKey::Name(n) => self.globs.lookup(n, out),
            HostKey::Addr(a) if self.globs.matches_addresses => {
                self.globs.lookup(&a.to_string(), out)
            }
            HostKey::Addr(_) => {}
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

    #[test]
    fn addresses_meet_the_globs_only_when_a_glob_could_match_one() {
        let names = pats(&["*.corp.example"]);
        let ix = HostIndex::build([names.as_slice()].into_iter());
        assert!(!ix.globs.matches_addresses);
        let mut out = Vec::new();
        ix.lookup(&HostKey::parse("10.0.0.1").unwrap(), &mut out);
        assert!(out.is_empty());
        let addrs = pats(&["10.0.*"]);
        let ix = HostIndex::build([names.as_slice(), addrs.as_slice()].into_iter());
        assert!(ix.globs.matches_addresses);
        ix.lookup(&HostKey::parse("10.0.7.1").unwrap(), &mut out);
        assert_eq!(out, vec![1]);
    }

    #[test]
    fn globs_are_found_by_either_literal_end_and_reported_in_policy_order() {
        let a = pats(&["db-*"]);
        let b = pats(&["*"]);
        let c = pats(&["*.corp.example", "app-?.corp.example", "*db*"]);
        let d = pats(&["\\*.corp.example", "{x,y}-*.corp.example"]);
        let ix =
            HostIndex::build([a.as_slice(), b.as_slice(), c.as_slice(), d.as_slice()].into_iter());
        let look = |s: &str| {
            let mut out = Vec::new();
            ix.lookup(&HostKey::parse(s).unwrap(), &mut out);
            out
        };
        assert_eq!(look("db-1.corp.example"), vec![0, 1, 2]);
        assert_eq!(look("app-1.corp.example"), vec![1, 2]);
        assert_eq!(look("app-10.lab.example"), vec![1]);
        assert_eq!(look("x-1.corp.example"), vec![1, 2, 3]);
        assert_eq!(look("*.corp.example"), vec![1, 2, 3]);
        assert_eq!(look("10.0.0.1"), vec![1]);
    }

    #[test]
    fn globs_fold_case_beyond_ascii_like_the_matcher() {
        let a = pats(&["*.straße.example", "ſrv-*"]);
        let b = pats(&["srv-*.example"]);
        let ix = HostIndex::build([a.as_slice(), b.as_slice()].into_iter());
        let look = |s: &str| {
            let mut out = Vec::new();
            ix.lookup(&HostKey::parse(s).unwrap(), &mut out);
            out
        };
        let by_matcher = |s: &str| {
            let key = HostKey::parse(s).unwrap();
            let mut out = Vec::new();
            for (t, list) in [&a, &b].into_iter().enumerate() {
                if list.iter().any(|(p, _)| p.matches(&key)) {
                    out.push(t);
                }
            }
            out
        };
        for host in [
            "x.STRASSE.example",
            "x.straße.example",
            "srv-1.example",
            "ſrv-1.example",
            "SRV-1.example",
        ] {
            assert_eq!(look(host), by_matcher(host), "{host}");
        }
    }
}
