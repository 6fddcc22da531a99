//! Small serde helpers for request bodies.

use serde::{Deserialize, Deserializer};

/// Tells "field absent" (outer `None`, via `#[serde(default)]`) from "field is null"
/// (`Some(None)`), so a PATCH can clear a value.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
