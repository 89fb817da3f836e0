//! Values that remember where in a policy file they were written.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

/// A place in one policy file: 1-based line and column, and the character range of the node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Loc {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (characters).
    pub column: u32,
    /// Character offset of the node in the file.
    pub offset: usize,
    /// Length of the node in characters (0 when unknown).
    pub len: usize,
}

impl From<serde_saphyr::Location> for Loc {
    fn from(l: serde_saphyr::Location) -> Self {
        Loc {
            line: l.line() as u32,
            column: l.column() as u32,
            offset: l.span().offset(),
            len: l.span().len(),
        }
    }
}

/// A value together with the place it was written.
///
/// Its JSON Schema is the schema of `T`: the span is invisible to the policy language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value as parsed.
    pub value: T,
    /// Where the value was written.
    pub loc: Loc,
}

impl<T> Spanned<T> {
    /// Wraps a value with a location.
    pub fn new(value: T, loc: Loc) -> Self {
        Spanned { value, loc }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        Ok(Spanned {
            value: s.value,
            loc: s.referenced.into(),
        })
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A YAML mapping whose keys keep their places and their order, such as `jump_policies`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpannedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for SpannedMap<V> {
    fn default() -> Self {
        SpannedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for MapVisitor<V> {
            type Value = SpannedMap<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(SpannedMap::default())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<Spanned<String>, V>()? {
                    out.push((k, v));
                }
                Ok(SpannedMap(out))
            }
        }
        d.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for SpannedMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<V>();
        schemars::json_schema!({
            "type": "object",
            "propertyNames": { "pattern": "^[a-zA-Z0-9_\\-]+$", "maxLength": 64 },
            "additionalProperties": value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spanned_maps_keep_every_key_in_order() {
        let m: SpannedMap<serde_json::Value> =
            serde_saphyr::from_str("p1:\n  display_name: P1\np2:\n  display_name: P2\np3: {}\n")
                .unwrap();
        let keys: Vec<(&str, u32)> =
            m.0.iter()
                .map(|(k, _)| (k.value.as_str(), k.loc.line))
                .collect();
        assert_eq!(keys, [("p1", 1), ("p2", 3), ("p3", 5)]);
    }
}
