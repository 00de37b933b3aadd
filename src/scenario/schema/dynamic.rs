//! Tables whose keys come from lbsim's own lists rather than from a Rust struct: a
//! distribution table (its keys are the distributions' parameters, [`ServiceKeys`]) and a
//! fault (the keys of the fault types). Read with serde exactly like a derived struct with
//! `deny_unknown_fields`: an unknown key, a value of the wrong type, a key given twice and
//! a missing required key are errors at that key, in document order.

use std::fmt;
use std::marker::PhantomData;
use std::sync::LazyLock;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::{FieldKind, ValueKind};
use crate::duration::Duration;
use crate::scenario::faults::FAULT_TYPES;
use crate::workload::service::{self, ParamKind};

/// A key of a dynamic table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    /// Its name.
    pub name: &'static str,
    /// Another name accepted for it.
    pub alias: Option<&'static str>,
    /// Its value's type: a number of some kind, or (`None`) text.
    pub kind: Option<ValueKind>,
}

/// A value read for a key of a dynamic table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// Text.
    Text(String),
    /// A whole number ≥ 0.
    Integer(u32),
    /// A number.
    Float(f64),
    /// A duration.
    Duration(Duration),
}

/// The keys of one kind of dynamic table.
pub(crate) trait Keys {
    /// Its keys, in the order error messages list them.
    fn keys() -> &'static [Key];
    /// Every name a key may be written as (names, each followed by its alias), for the
    /// "allowed here" list of an unknown key.
    fn names() -> &'static [&'static str];
    /// Keys that must be given.
    const REQUIRED: &'static [&'static str] = &[];
    /// Text keys that also take a whole number (a number of pods or a percentage).
    fn or_integer() -> &'static [&'static str] {
        &[]
    }
}

/// The names and aliases of `keys`, in order (for [`Keys::names`]).
pub(crate) fn names_of(keys: &[Key]) -> Vec<&'static str> {
    keys.iter().flat_map(|k| std::iter::once(k.name).chain(k.alias)).collect()
}

/// A table read against the keys `K`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table<K> {
    values: Vec<(&'static str, Value)>,
    keys: PhantomData<K>,
}

impl<K> Table<K> {
    /// The value given for the key `name` (by its name, not an alias).
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Whether the key `name` is given.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A text key.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// An integer key.
    pub(crate) fn integer(&self, name: &str) -> Option<u32> {
        match self.get(name)? {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// A number or duration key, as a number (durations in seconds).
    pub(crate) fn number(&self, name: &str) -> Option<f64> {
        match self.get(name)? {
            Value::Float(x) => Some(*x),
            Value::Duration(d) => Some(d.secs()),
            Value::Integer(i) => Some(f64::from(*i)),
            Value::Text(_) => None,
        }
    }
}

impl<K> FieldKind for Table<K> {
    const KIND: Option<ValueKind> = None;
}

impl<'de, K: Keys> Deserialize<'de> for Table<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("Table", K::names(), TableVisitor::<K>(PhantomData))
    }
}

struct TableVisitor<K>(PhantomData<K>);

impl<'de, K: Keys> Visitor<'de> for TableVisitor<K> {
    type Value = Table<K>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Table<K>, A::Error> {
        let mut values: Vec<(&'static str, Value)> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed::<K>(PhantomData))? {
            if values.iter().any(|(n, _)| *n == key.name) {
                return Err(de::Error::duplicate_field(key.name));
            }
            let value = match key.kind {
                None if K::or_integer().contains(&key.name) => map.next_value_seed(TextOrInteger)?,
                None => Value::Text(map.next_value()?),
                Some(ValueKind::Integer) => Value::Integer(map.next_value()?),
                Some(ValueKind::Float) => Value::Float(map.next_value()?),
                Some(ValueKind::Duration) => Value::Duration(map.next_value()?),
                Some(ValueKind::Choice(_)) => Value::Text(map.next_value()?),
            };
            values.push((key.name, value));
        }
        if let Some(missing) = K::REQUIRED.iter().find(|r| !values.iter().any(|(n, _)| n == *r)) {
            return Err(de::Error::missing_field(missing));
        }
        Ok(Table { values, keys: PhantomData })
    }
}

/// Reads a text or a whole number ≥ 0 (`max_surge = 1` or `max_surge = "25%"`).
struct TextOrInteger;

impl<'de> DeserializeSeed<'de> for TextOrInteger {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for TextOrInteger {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number of pods or a percentage such as \"25%\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Text(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        u32::try_from(v).map(Value::Integer).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        u32::try_from(v).map(Value::Integer).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }
}

/// Reads a key, as a derived struct reads its field names.
struct KeySeed<K>(PhantomData<K>);

impl<'de, K: Keys> DeserializeSeed<'de> for KeySeed<K> {
    type Value = &'static Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static Key, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<K: Keys> Visitor<'_> for KeySeed<K> {
    type Value = &'static Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<&'static Key, E> {
        K::keys().iter().find(|k| k.name == v || k.alias == Some(v)).ok_or_else(|| E::unknown_field(v, K::names()))
    }
}

/// The keys of a distribution table (`[service]`, a group's `service`, a think time):
/// `distribution` and every parameter of [`service::PARAMS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServiceKeys;

static SERVICE_KEYS: LazyLock<Vec<Key>> = LazyLock::new(|| {
    let params = service::PARAMS.iter().map(|p| Key {
        name: p.name,
        alias: p.alias,
        kind: Some(match p.kind {
            ParamKind::Duration => ValueKind::Duration,
            ParamKind::Number => ValueKind::Float,
        }),
    });
    std::iter::once(Key { name: "distribution", alias: None, kind: None }).chain(params).collect()
});
static SERVICE_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| names_of(&SERVICE_KEYS));

impl Keys for ServiceKeys {
    fn keys() -> &'static [Key] {
        &SERVICE_KEYS
    }

    fn names() -> &'static [&'static str] {
        &SERVICE_NAMES
    }

    const REQUIRED: &'static [&'static str] = &["distribution"];
}

/// The keys of a `[[faults]]` table: its target (`server`, or `group` with `count`) and the
/// start, end and parameters of every kind of fault of [`FAULT_TYPES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FaultKeys;

static FAULT_KEYS: LazyLock<Vec<Key>> = LazyLock::new(|| {
    let key = |name, kind| Key { name, alias: None, kind };
    let mut keys = vec![key("server", None), key("group", None), key("count", Some(ValueKind::Integer))];
    for t in FAULT_TYPES {
        keys.push(key(t.start, Some(ValueKind::Duration)));
        keys.extend(t.end.map(|e| key(e, Some(ValueKind::Duration))));
        keys.extend(t.params.iter().map(|p| key(p, Some(ValueKind::Float))));
        keys.extend(t.sizes.iter().map(|p| key(p, None)));
    }
    keys
});
static FAULT_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| names_of(&FAULT_KEYS));
static FAULT_SIZES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| FAULT_TYPES.iter().flat_map(|t| t.sizes.iter().copied()).collect());

impl Keys for FaultKeys {
    fn keys() -> &'static [Key] {
        &FAULT_KEYS
    }

    fn names() -> &'static [&'static str] {
        &FAULT_NAMES
    }

    fn or_integer() -> &'static [&'static str] {
        &FAULT_SIZES
    }
}
