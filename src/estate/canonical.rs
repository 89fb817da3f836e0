//! Canonical JSON (object keys sorted at every level) written straight from `Serialize`, with
//! no `serde_json::Value` in between: fingerprinting a whole estate of 100,000 jump items would
//! otherwise build and free a tree of millions of values.
//!
//! The text is exactly what `serde_json::to_value` followed by a sorted-key writer gives:
//! scalars are written by serde_json itself, map keys are converted to strings as serde_json
//! converts them, and of a key given twice the last value counts.

use std::fmt;

use serde::ser::{self, Serialize};

/// The canonical JSON of a value; `None` where `serde_json::to_value` would fail.
pub(crate) fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    value.serialize(Canonical { out: &mut out }).ok()?;
    Some(out)
}

/// Why a value has no canonical form (the same cases `serde_json::to_value` refuses).
#[derive(Debug)]
pub(crate) struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl ser::Error for Refused {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Refused(msg.to_string())
    }
}

/// Writes one value.
struct Canonical<'o> {
    out: &'o mut Vec<u8>,
}

impl Canonical<'_> {
    /// A scalar, written as serde_json writes the `Value` that `to_value` makes of it.
    fn scalar(self, v: serde_json::Value) -> Result<(), Refused> {
        serde_json::to_writer(&mut *self.out, &v).map_err(|e| Refused(e.to_string()))
    }
}

macro_rules! scalars {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<(), Refused> {
            self.scalar(serde_json::to_value(v).map_err(|e| Refused(e.to_string()))?)
        })*
    };
}

impl<'o> ser::Serializer for Canonical<'o> {
    type Ok = ();
    type Error = Refused;
    type SerializeSeq = Seq<'o>;
    type SerializeTuple = Seq<'o>;
    type SerializeTupleStruct = Seq<'o>;
    type SerializeTupleVariant = Variant<Seq<'o>>;
    type SerializeMap = Object<'o>;
    type SerializeStruct = Object<'o>;
    type SerializeStructVariant = Variant<Object<'o>>;

    scalars!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char);

    fn serialize_str(self, v: &str) -> Result<(), Refused> {
        serde_json::to_writer(&mut *self.out, v).map_err(|e| Refused(e.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Refused> {
        self.scalar(serde_json::Value::from(v.to_vec()))
    }
    fn serialize_none(self) -> Result<(), Refused> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Refused> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Refused> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Refused> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Refused> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        // `{"variant": value}`: one key, so already in order.
        let out = self.out;
        open_variant(out, variant)?;
        value.serialize(Canonical { out: &mut *out })?;
        out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'o>, Refused> {
        self.out.push(b'[');
        Ok(Seq {
            out: self.out,
            first: true,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'o>, Refused> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'o>, Refused> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<Seq<'o>>, Refused> {
        let _ = len;
        let out = self.out;
        open_variant(out, variant)?;
        out.push(b'[');
        Ok(Variant(Seq { out, first: true }))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object<'o>, Refused> {
        Ok(Object::new(self.out))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object<'o>, Refused> {
        Ok(Object::new(self.out))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Variant<Object<'o>>, Refused> {
        let out = self.out;
        open_variant(out, variant)?;
        Ok(Variant(Object::new(out)))
    }
}

/// Writes `{"variant":`, the start of an externally tagged variant.
fn open_variant(out: &mut Vec<u8>, variant: &str) -> Result<(), Refused> {
    out.push(b'{');
    serde_json::to_writer(&mut *out, variant).map_err(|e| Refused(e.to_string()))?;
    out.push(b':');
    Ok(())
}

/// An array, written as it comes.
struct Seq<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Canonical { out: self.out })
    }
    fn close(self) {
        self.out.push(b']');
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Refused;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.element(value)
    }
    fn end(self) -> Result<(), Refused> {
        self.close();
        Ok(())
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = Refused;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.element(value)
    }
    fn end(self) -> Result<(), Refused> {
        self.close();
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.element(value)
    }
    fn end(self) -> Result<(), Refused> {
        self.close();
        Ok(())
    }
}

/// An object: its entries are kept aside, then written with the keys sorted.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    /// The written values, one after the other.
    values: Vec<u8>,
    /// (key, where its value lies in `values`).
    entries: Vec<(String, usize, usize)>,
    key: Option<String>,
}

impl<'o> Object<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        Object {
            out,
            values: Vec::new(),
            entries: Vec::new(),
            key: None,
        }
    }

    fn entry<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), Refused> {
        let start = self.values.len();
        value.serialize(Canonical {
            out: &mut self.values,
        })?;
        self.entries.push((key, start, self.values.len()));
        Ok(())
    }

    /// Writes the object; gives back the output for what encloses it.
    fn close(mut self) -> Result<&'o mut Vec<u8>, Refused> {
        // Sorted by key; of a key given twice, the last value counts (as in a `Value` map).
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.out.push(b'{');
        let mut first = true;
        for (i, (key, start, end)) in self.entries.iter().enumerate() {
            if self.entries.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut *self.out, key).map_err(|e| Refused(e.to_string()))?;
            self.out.push(b':');
            self.out.extend_from_slice(&self.values[*start..*end]);
        }
        self.out.push(b'}');
        Ok(self.out)
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Refused;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Refused> {
        // Strings and unit variants are their own key. Anything else goes through serde_json's
        // own key rules (numbers and booleans become strings, the rest is refused).
        if let Ok(serde_json::Value::String(s)) = serde_json::to_value(key) {
            self.key = Some(s);
            return Ok(());
        }
        let text = serde_json::to_value(std::collections::BTreeMap::from([(KeyOf(key), ())]))
            .map_err(|e| Refused(e.to_string()))?;
        let serde_json::Value::Object(map) = text else {
            return Err(Refused("a map key is not a string".into()));
        };
        self.key = map.keys().next().cloned();
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Refused("a map value without its key".into()))?;
        self.entry(key, value)
    }
    fn end(self) -> Result<(), Refused> {
        self.close().map(|_| ())
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        self.entry(key.to_owned(), value)
    }
    fn end(self) -> Result<(), Refused> {
        self.close().map(|_| ())
    }
}

/// A map key serialized through serde_json's own key rules.
struct KeyOf<'k, T: ?Sized>(&'k T);

impl<T: Serialize + ?Sized> Serialize for KeyOf<'_, T> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<T: ?Sized> PartialEq for KeyOf<'_, T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T: ?Sized> Eq for KeyOf<'_, T> {}
impl<T: ?Sized> PartialOrd for KeyOf<'_, T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: ?Sized> Ord for KeyOf<'_, T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

/// An externally tagged variant: `{"variant": <inner>}`.
struct Variant<I>(I);

impl ser::SerializeTupleVariant for Variant<Seq<'_>> {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.0.element(value)
    }
    fn end(self) -> Result<(), Refused> {
        let Variant(seq) = self;
        seq.out.push(b']');
        seq.out.push(b'}');
        Ok(())
    }
}

impl ser::SerializeStructVariant for Variant<Object<'_>> {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        self.0.entry(key.to_owned(), value)
    }
    fn end(self) -> Result<(), Refused> {
        // The inner object, then the variant's brace.
        self.0.close()?.push(b'}');
        Ok(())
    }
}
