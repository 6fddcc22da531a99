//! The pure part of the hash chain.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an entry's hash covers, in a fixed order.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryContent<'a> {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<&'a str>,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub request_id: Option<&'a str>,
    pub summary: &'a str,
    pub prev_hash: &'a str,
}

impl EntryContent<'_> {
    /// SHA-256 over a JSON array of the fields: unambiguous, no separator tricks.
    pub fn hash(&self) -> String {
        let canonical = serde_json::json!([
            self.seq,
            self.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            self.actor_id,
            self.actor_name,
            self.action,
            self.target_type,
            self.target_id,
            self.request_id,
            self.summary,
            self.prev_hash,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// Why a link is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// A sequence number is missing (a row was deleted) or repeated.
    Gap { expected_seq: i64 },
    /// The entry does not point at the hash of the one before it.
    WrongPrevious,
    /// The stored hash does not match the content (the row was edited).
    ContentChanged,
}

/// Checks one entry against the previous entry's (seq, hash).
pub fn check_link(
    previous: (i64, &str),
    entry: &EntryContent<'_>,
    stored_hash: &str,
) -> Result<(), Break> {
    if entry.seq != previous.0 + 1 {
        return Err(Break::Gap {
            expected_seq: previous.0 + 1,
        });
    }
    if entry.prev_hash != previous.1 {
        return Err(Break::WrongPrevious);
    }
    if entry.hash() != stored_hash {
        return Err(Break::ContentChanged);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, prev_hash: &str) -> EntryContent<'_> {
        EntryContent {
            seq,
            at: chrono::DateTime::from_timestamp(1_700_000_000, 123_456_000)
                .unwrap()
                .naive_utc(),
            actor_id: Some("u1"),
            actor_name: "admin",
            action: "household.create",
            target_type: "household",
            target_id: "h1",
            request_id: None,
            summary: "{}",
            prev_hash,
        }
    }

    #[test]
    fn a_valid_link_passes_and_each_kind_of_tampering_is_named() {
        let first = entry(1, GENESIS_HASH);
        let first_hash = first.hash();
        assert_eq!(check_link((0, GENESIS_HASH), &first, &first_hash), Ok(()));

        let mut edited = first.clone();
        edited.summary = "{\"changed\":true}";
        assert_eq!(
            check_link((0, GENESIS_HASH), &edited, &first_hash),
            Err(Break::ContentChanged)
        );

        let second = entry(2, &first_hash);
        let second_hash = second.hash();
        assert_eq!(check_link((1, &first_hash), &second, &second_hash), Ok(()));
        assert_eq!(
            check_link((0, GENESIS_HASH), &second, &second_hash),
            Err(Break::Gap { expected_seq: 1 })
        );
        assert_eq!(
            check_link((1, GENESIS_HASH), &second, &second_hash),
            Err(Break::WrongPrevious)
        );
    }

    #[test]
    fn the_hash_depends_on_every_field() {
        let base = entry(1, GENESIS_HASH);
        let mut other = base.clone();
        other.actor_id = None;
        assert_ne!(base.hash(), other.hash());
        let mut other = base.clone();
        other.request_id = Some("r");
        assert_ne!(base.hash(), other.hash());
    }
}
