//! Audit rows: appended in the caller's transaction, verified in batches.

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::chain::{Break, EntryContent, GENESIS_HASH, check_link};
use super::{Actor, Event};
use crate::db::DbConn;
use crate::db::schema::{audit_head, audit_log};
use crate::error::ApiResult;

/// Takes the chain's lock (a row lock on PostgreSQL, the write lock on SQLite) until the
/// transaction ends, so two appends can never both extend the same head.
pub fn lock_head(conn: &mut DbConn) -> ApiResult<()> {
    diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq))
        .execute(conn)?;
    Ok(())
}

/// Now, at the precision both backends store (microseconds), so hashes survive a round trip.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Appends one entry. Must run inside the transaction that makes the change.
pub fn append(conn: &mut DbConn, actor: &Actor, event: Event<'_>) -> ApiResult<()> {
    // Locks the head and reads it in one statement.
    let (head_seq, head_hash): (i64, String) = diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq))
        .returning((audit_head::seq, audit_head::hash))
        .get_result(conn)?;
    let summary = event.summary.to_string();
    let content = EntryContent {
        seq: head_seq + 1,
        at: now(),
        actor_id: actor.user_id.as_deref(),
        actor_name: &actor.name,
        action: event.action,
        target_type: event.target_type,
        target_id: event.target_id,
        request_id: actor.request_id.as_deref(),
        summary: &summary,
        prev_hash: &head_hash,
    };
    let hash = content.hash();
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::seq.eq(content.seq),
            audit_log::at.eq(content.at),
            audit_log::actor_id.eq(content.actor_id),
            audit_log::actor_name.eq(content.actor_name),
            audit_log::action.eq(content.action),
            audit_log::target_type.eq(content.target_type),
            audit_log::target_id.eq(content.target_id),
            audit_log::request_id.eq(content.request_id),
            audit_log::summary.eq(content.summary),
            audit_log::prev_hash.eq(content.prev_hash),
            audit_log::hash.eq(&hash),
        ))
        .execute(conn)?;
    diesel::update(audit_head::table.find(1))
        .set((audit_head::seq.eq(content.seq), audit_head::hash.eq(&hash)))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Queryable)]
struct Row {
    seq: i64,
    at: NaiveDateTime,
    actor_id: Option<String>,
    actor_name: String,
    action: String,
    target_type: String,
    target_id: String,
    request_id: Option<String>,
    summary: String,
    prev_hash: String,
    hash: String,
}

impl Row {
    fn content(&self) -> EntryContent<'_> {
        EntryContent {
            seq: self.seq,
            at: self.at,
            actor_id: self.actor_id.as_deref(),
            actor_name: &self.actor_name,
            action: &self.action,
            target_type: &self.target_type,
            target_id: &self.target_id,
            request_id: self.request_id.as_deref(),
            summary: &self.summary,
            prev_hash: &self.prev_hash,
        }
    }
}

/// Result of walking the whole chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verification {
    pub intact: bool,
    pub entries_checked: i64,
    /// The first entry whose link is broken, if any.
    pub first_broken_seq: Option<i64>,
    /// `gap`, `wrong_previous`, `content_changed` or `head_mismatch`.
    pub reason: Option<String>,
}

const VERIFY_BATCH: i64 = 2_000;

/// Walks the chain from the start in batches (bounded memory) and reports the first broken link.
pub fn verify(conn: &mut DbConn) -> ApiResult<Verification> {
    let mut previous: (i64, String) = (0, GENESIS_HASH.to_owned());
    let mut checked = 0;
    loop {
        let batch: Vec<Row> = audit_log::table
            .filter(audit_log::seq.gt(previous.0))
            .order(audit_log::seq.asc())
            .limit(VERIFY_BATCH)
            .load(conn)?;
        for row in &batch {
            if let Err(broken) = check_link((previous.0, &previous.1), &row.content(), &row.hash) {
                let (seq, reason) = match broken {
                    Break::Gap { expected_seq } => (expected_seq, "gap"),
                    Break::WrongPrevious => (row.seq, "wrong_previous"),
                    Break::ContentChanged => (row.seq, "content_changed"),
                };
                return Ok(broken_at(checked, seq, reason));
            }
            checked += 1;
            previous = (row.seq, row.hash.clone());
        }
        if (batch.len() as i64) < VERIFY_BATCH {
            break;
        }
    }
    // Rows cut off the end show up as a head that points past the last row.
    let head: (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    if head != previous {
        return Ok(broken_at(checked, previous.0 + 1, "head_mismatch"));
    }
    Ok(Verification {
        intact: true,
        entries_checked: checked,
        first_broken_seq: None,
        reason: None,
    })
}

fn broken_at(checked: i64, seq: i64, reason: &str) -> Verification {
    Verification {
        intact: false,
        entries_checked: checked,
        first_broken_seq: Some(seq),
        reason: Some(reason.to_owned()),
    }
}
