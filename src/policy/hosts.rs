//! Host names, addresses, CIDR ranges and globs, compared the way DESIGN.md §2 says: names
//! lowercased without a trailing dot, addresses in canonical form.

use std::net::IpAddr;

use ipnet::IpNet;

/// A host as a live object names it: a normalized name or an address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostKey {
    /// A name, lowercased, without a trailing dot.
    Name(String),
    /// An address.
    Addr(IpAddr),
}

impl HostKey {
    /// Reads a live host field; `None` when it is empty.
    pub fn parse(raw: &str) -> Option<HostKey> {
        let t = raw.trim();
        if t.is_empty() {
            return None;
        }
        if let Ok(a) = t
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Some(HostKey::Addr(a));
        }
        Some(HostKey::Name(normalize_name(t)))
    }

    /// The text reports use: the normalized name or the canonical address.
    pub fn text(&self) -> String {
        match self {
            HostKey::Name(n) => n.clone(),
            HostKey::Addr(a) => a.to_string(),
        }
    }
}

/// Lowercases a name and drops a trailing dot.
pub fn normalize_name(s: &str) -> String {
    let t = s.trim();
    t.strip_suffix('.').unwrap_or(t).to_lowercase()
}

/// One entry of a target's `hosts` (or a waiver's `host`).
#[derive(Clone, Debug)]
pub enum HostPattern {
    /// An exact name.
    Name(String),
    /// An exact address.
    Addr(IpAddr),
    /// A CIDR range.
    Cidr(IpNet),
    /// A shell-style glob over names (`*` crosses dots, `?` is one character).
    Glob {
        /// The normalized pattern text.
        text: String,
        /// The compiled matcher.
        matcher: globset::GlobMatcher,
    },
}

impl HostPattern {
    /// Parses one host entry, or says what is wrong with it.
    pub fn parse(raw: &str) -> Result<HostPattern, String> {
        let t = raw.trim();
        if t.is_empty() {
            return Err("a host cannot be empty".into());
        }
        if t.contains('/') {
            return t
                .parse::<IpNet>()
                .map(|n| HostPattern::Cidr(n.trunc()))
                .map_err(|_| {
                    format!("`{t}` is not a valid CIDR range (expected e.g. 10.20.1.0/24)")
                });
        }
        if let Ok(a) = t
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(HostPattern::Addr(a));
        }
        let name = normalize_name(t);
        if name.contains(['*', '?', '[']) {
            let glob = globset::GlobBuilder::new(&name)
                .case_insensitive(true)
                .literal_separator(false)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!("`{t}` is not a valid glob: {}", e.kind()))?;
            return Ok(HostPattern::Glob {
                text: name,
                matcher: glob.compile_matcher(),
            });
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(format!(
                "`{t}` is not a host name, address, CIDR range or glob (unexpected `{bad}`)"
            ));
        }
        if looks_like_bad_address(&name) {
            return Err(format!(
                "`{t}` looks like an IP address but is not a valid one"
            ));
        }
        Ok(HostPattern::Name(name))
    }

    /// Whether a live host matches this pattern.
    pub fn matches(&self, key: &HostKey) -> bool {
        match (self, key) {
            (HostPattern::Name(n), HostKey::Name(k)) => n == k,
            (HostPattern::Addr(a), HostKey::Addr(k)) => a == k,
            (HostPattern::Cidr(net), HostKey::Addr(k)) => net.contains(k),
            (HostPattern::Glob { matcher, .. }, k) => matcher.is_match(k.text()),
            _ => false,
        }
    }

    /// The pattern as reports spell it.
    pub fn text(&self) -> String {
        match self {
            HostPattern::Name(n) => n.clone(),
            HostPattern::Addr(a) => a.to_string(),
            HostPattern::Cidr(c) => c.to_string(),
            HostPattern::Glob { text, .. } => text.clone(),
        }
    }
}

fn looks_like_bad_address(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> HostKey {
        HostKey::parse(s).unwrap()
    }

    #[test]
    fn names_compare_lowercased_without_trailing_dot() {
        let p = HostPattern::parse("SRV-DC01.corp.example.").unwrap();
        assert!(p.matches(&key("srv-dc01.CORP.example")));
        assert!(!p.matches(&key("srv-dc02.corp.example")));
    }

    #[test]
    fn globs_cross_dots_and_question_mark_is_one_char() {
        let p = HostPattern::parse("*.web.corp.example").unwrap();
        assert!(p.matches(&key("a.b.web.corp.example")));
        assert!(!p.matches(&key("web.corp.example")));
        let q = HostPattern::parse("app-?.corp.example").unwrap();
        assert!(q.matches(&key("app-1.corp.example")));
        assert!(!q.matches(&key("app-10.corp.example")));
    }

    #[test]
    fn addresses_are_canonical_and_cidrs_contain() {
        assert_eq!(key("2001:DB8:0:0::11").text(), "2001:db8::11");
        let c = HostPattern::parse("10.30.0.0/24").unwrap();
        assert!(c.matches(&key("10.30.0.7")));
        assert!(!c.matches(&key("10.30.1.7")));
    }

    #[test]
    fn bad_entries_are_explained() {
        assert!(HostPattern::parse("10.0.0.0/33")
            .unwrap_err()
            .contains("CIDR"));
        assert!(HostPattern::parse("srv[.corp")
            .unwrap_err()
            .contains("glob"));
        assert!(HostPattern::parse("srv dc")
            .unwrap_err()
            .contains("not a host name"));
        assert!(HostPattern::parse("10.0.0.300").is_err());
    }
}
