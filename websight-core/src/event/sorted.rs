//! JSON values written with every object's keys in byte order — the order of a
//! `serde_json::Map` without its `preserve_order` feature — so an output's bytes do not depend
//! on which features a build unifies (the connectors' `bson` turns that one on, and the same
//! input then wrote its free-form properties in arrival order).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

/// `value`, its objects' keys sorted at every depth.
pub(crate) struct Sorted<'a>(pub(crate) &'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => SortedMap(map).serialize(s),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            scalar => scalar.serialize(s),
        }
    }
}

/// A map, its keys sorted at every depth.
pub(crate) struct SortedMap<'a>(pub(crate) &'a Map<String, Value>);

impl Serialize for SortedMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&String, &Value)> = self.0.iter().collect();
        // Already in order without `preserve_order`: a pass over sorted input.
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut map = s.serialize_map(Some(entries.len()))?;
        for (key, value) in entries {
            map.serialize_entry(key, &Sorted(value))?;
        }
        map.end()
    }
}

/// `#[serde(serialize_with)]` for a map field.
pub(crate) fn serialize_map<S: Serializer>(
    map: &Map<String, Value>,
    s: S,
) -> Result<S::Ok, S::Error> {
    SortedMap(map).serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_out_in_byte_order_at_every_depth_whatever_the_insertion_order() {
        let mut inner = Map::new();
        inner.insert("z".into(), Value::from(1));
        inner.insert("a".into(), Value::from(2));
        let mut outer = Map::new();
        outer.insert("é".into(), Value::from("x"));
        outer.insert("b".into(), Value::Array(vec![Value::Object(inner.clone())]));
        outer.insert("B".into(), Value::Object(inner));
        let text = serde_json::to_string(&SortedMap(&outer)).unwrap();
        assert_eq!(text, r#"{"B":{"a":2,"z":1},"b":[{"a":2,"z":1}],"é":"x"}"#);
    }
}
