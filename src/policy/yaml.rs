//! A YAML document as a tree of spanned nodes: the form in which schema errors are mapped back to
//! places in the file, and duplicate keys are found.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::spanned::Loc;

/// One YAML node and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The node's value.
    pub value: NodeValue,
    /// Where it starts.
    pub loc: Loc,
}

/// The value of a YAML node under the YAML 1.2 core schema.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or empty.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order; duplicate keys are kept so they can be reported.
    Map(Vec<(Node, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<NodeValue>::deserialize(d)?;
        Ok(Node {
            value: s.value,
            loc: s.referenced.into(),
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<NodeValue, A::Error> {
        let mut out = Vec::new();
        while let Some(n) = a.next_element::<Node>()? {
            out.push(n);
        }
        Ok(NodeValue::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<NodeValue, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = a.next_entry::<Node, Node>()? {
            out.push((k, v));
        }
        Ok(NodeValue::Map(out))
    }
}

impl Node {
    /// Parses a YAML document; duplicate keys are kept (last and first both present).
    pub fn parse(text: &str) -> Result<Node, serde_saphyr::Error> {
        let options = serde_saphyr::Options {
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
            ..yaml_options()
        };
        serde_saphyr::from_str_with_options::<Option<Node>>(text, options).map(|n| {
            n.unwrap_or(Node {
                value: NodeValue::Null,
                loc: Loc::default(),
            })
        })
    }

    /// The key text of a mapping key node (scalars as written).
    pub fn key_text(&self) -> String {
        match &self.value {
            NodeValue::Str(s) => s.clone(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Null => "null".into(),
            NodeValue::Seq(_) | NodeValue::Map(_) => "<complex key>".into(),
        }
    }

    /// The JSON value of this node, for schema validation. Later duplicate keys win.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The node at a path of keys and indexes, and the key node of its last step when it is a key.
    pub fn at<'a, I>(&self, path: I) -> (&Node, Option<&Node>)
    where
        I: IntoIterator<Item = PathStep<'a>>,
    {
        let mut node = self;
        let mut key = None;
        for step in path {
            let next = match (&node.value, step) {
                (NodeValue::Map(entries), PathStep::Key(k)) => entries
                    .iter()
                    .rev()
                    .find(|(kn, _)| kn.key_text() == k)
                    .map(|(kn, v)| (v, Some(kn))),
                (NodeValue::Seq(items), PathStep::Index(i)) => items.get(i).map(|n| (n, None)),
                _ => None,
            };
            match next {
                Some((n, k)) => {
                    node = n;
                    key = k;
                }
                None => break,
            }
        }
        (node, key)
    }

    /// Every pair of equal keys in any mapping of the tree: (first, duplicate).
    pub fn duplicate_keys(&self) -> Vec<(&Node, &Node)> {
        let mut out = Vec::new();
        self.collect_duplicates(&mut out);
        out
    }

    fn collect_duplicates<'a>(&'a self, out: &mut Vec<(&'a Node, &'a Node)>) {
        match &self.value {
            NodeValue::Map(entries) => {
                // The first occurrence of each key, so that a mapping of thousands of keys
                // (jump groups, say) is checked in one pass.
                let mut first: std::collections::HashMap<String, &Node> =
                    std::collections::HashMap::with_capacity(entries.len());
                for (k, _) in entries {
                    match first.entry(k.key_text()) {
                        std::collections::hash_map::Entry::Occupied(seen) => {
                            out.push((*seen.get(), k));
                        }
                        std::collections::hash_map::Entry::Vacant(slot) => {
                            slot.insert(k);
                        }
                    }
                }
                for (_, v) in entries {
                    v.collect_duplicates(out);
                }
            }
            NodeValue::Seq(items) => items.iter().for_each(|n| n.collect_duplicates(out)),
            _ => {}
        }
    }
}

/// The YAML reading options of every policy file: YAML 1.2 core schema (only `true`/`false`
/// are booleans), no error snippets (diagnostics draw their own).
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::Options {
        strict_booleans: true,
        with_snippet: false,
        ..Default::default()
    }
}

/// One step of a path into a YAML tree.
#[derive(Clone, Copy, Debug)]
pub enum PathStep<'a> {
    /// A mapping key.
    Key(&'a str),
    /// A sequence index.
    Index(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_their_lines() {
        let n = Node::parse("a: 1\nb:\n  - x\n  - y: true\n").unwrap();
        let (x, _) = n.at([PathStep::Key("b"), PathStep::Index(1), PathStep::Key("y")]);
        assert_eq!(x.value, NodeValue::Bool(true));
        assert_eq!(x.loc.line, 4);
        assert_eq!(
            n.to_json(),
            serde_json::json!({"a": 1, "b": ["x", {"y": true}]})
        );
    }

    #[test]
    fn yaml_1_2_booleans_only() {
        let n = Node::parse("a: yes\nb: false\nc: 2026-11-20\n").unwrap();
        assert_eq!(
            n.to_json(),
            serde_json::json!({"a": "yes", "b": false, "c": "2026-11-20"})
        );
    }

    #[test]
    fn duplicate_keys_are_found() {
        let n = Node::parse("a: 1\nb: 2\na: 3\n").unwrap();
        let d = n.duplicate_keys();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].0.loc.line, d[0].1.loc.line), (1, 3));
    }
}
