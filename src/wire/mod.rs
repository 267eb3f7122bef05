//! The documents ipvsc writes for tools and for its own later runs, as explicit types: the
//! model, the plan and the kernel layer have no serde of their own, so changing them cannot
//! change a document by accident. Each document carries `format_version`, and a golden test
//! pins each version (tests/formats, src/apply/testdata, src/wire/state.rs).
//!
//! | document | written by | version |
//! | --- | --- | --- |
//! | the journal (`/var/lib/ipvsc/journal.json`) | `apply` before its first change | [`JOURNAL_VERSION`] (1 and 2 are read too) |
//! | drains and overrides (`state.json`) | `apply`, `drain`, `disable`, `weight`, `enable` | [`STATE_VERSION`] |
//! | `save --format json` | `save` | [`SAVE_VERSION`] |
//! | `plan --format json` | `plan` | [`PLAN_VERSION`] |
//! | `list --format json` | `list` | [`LIST_VERSION`] |
//! | `list --connections --format json` | `list -c` | [`CONNECTIONS_VERSION`] |
//! | `overrides --format json` | `overrides` | [`STATE_VERSION`] (its records are the state's) |
//! | `check --format json` | `check` | [`DIAGNOSTICS_VERSION`] |
//!
//! The JSON list of kernel operations that the test-only `ops` command reads is [`OpDoc`], the
//! same shape as a plan's `ops`.

mod list;
mod op;
mod plan;
mod state;
mod table;

pub use list::{ConnectionDoc, ListingDoc, ServerListing, ServiceListing, StatsDoc};
pub use op::{ops_from_json, ops_to_json, OpDoc};
pub use plan::{ChangeDoc, DrainingDoc, FieldDoc, PlanDoc};
pub use state::{state_from_json, state_to_json, DrainDoc, OverrideDoc, StateDoc};
pub use table::{
    DaemonDoc, ServerDoc, ServerKeyDoc, ServiceDoc, ServiceKeyDoc, SysctlValueDoc, TableDoc,
    TimeoutsDoc,
};

/// The journal's format. Version 1 (before drains) had no `format_version` and is read as it is;
/// version 3 added `services` (a journal of part of the table); 1 and 2 hold the whole table.
pub const JOURNAL_VERSION: u32 = 3;
/// The drain and override state.
pub const STATE_VERSION: u32 = 1;
/// `save --format json`.
pub const SAVE_VERSION: u32 = 1;
/// `plan --format json`.
pub const PLAN_VERSION: u32 = 1;
/// `list --format json`.
pub const LIST_VERSION: u32 = 1;
/// `list --connections --format json`.
pub const CONNECTIONS_VERSION: u32 = 1;
/// `check --format json`.
pub const DIAGNOSTICS_VERSION: u32 = 1;

/// Why a document does not describe a valid table, state or operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

fn invalid(why: impl Into<String>) -> Invalid {
    Invalid(why.into())
}

/// A JSON object whose keys keep the order they are given in (sysctls and daemons are written
/// in the model's order, not alphabetically).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V: serde::Serialize> serde::Serialize for Ordered<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for Ordered<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Ordered<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, V>()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}
