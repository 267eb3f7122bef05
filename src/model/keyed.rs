//! Maps whose values carry their own keys are written as lists: JSON has no object keys but
//! strings, and the list reads better anyway.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that knows its key in the map that holds it.
pub trait Keyed {
    type Key: Ord;
    fn key(&self) -> Self::Key;
}

pub fn serialize<S, V>(map: &BTreeMap<V::Key, V>, serializer: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    V: Keyed + Serialize,
{
    serializer.collect_seq(map.values())
}

pub fn deserialize<'de, D, V>(deserializer: D) -> Result<BTreeMap<V::Key, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Keyed + Deserialize<'de>,
{
    let list = Vec::<V>::deserialize(deserializer)?;
    Ok(list.into_iter().map(|v| (v.key(), v)).collect())
}
