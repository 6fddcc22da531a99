//! Visit rows and the photo lookups the evidence checks need.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::api::VisitSignature;
use crate::auth::Scope;
use crate::db::schema::{
    households, jurisdictions, photos, signatures, visit_photos, visit_signatures, visits,
};
use crate::db::{DbConn, insert_rows};
use crate::error::ApiResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = visits)]
pub struct VisitRow {
    pub id: String,
    pub household_id: String,
    pub submitted_by: String,
    pub request_hash: String,
    pub request: String,
    pub response: String,
    pub started_at: NaiveDateTime,
    pub ended_at: NaiveDateTime,
    pub flags: String,
    pub max_severity: i32,
    pub scheme_version_id: String,
    pub assessment_id: String,
    pub supersedes_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub case_id: Option<String>,
}

/// By id, whoever may see it: only for the idempotency check, which reveals nothing but
/// "this id is taken" to a caller who sent the same id.
pub fn by_id(conn: &mut DbConn, id: &str) -> ApiResult<Option<VisitRow>> {
    Ok(visits::table
        .find(id)
        .select(VisitRow::as_select())
        .first(conn)
        .optional()?)
}

/// A visit whose household lies in the scope.
pub fn find(conn: &mut DbConn, scope: &Scope, id: &str) -> ApiResult<Option<VisitRow>> {
    Ok(visits::table
        .inner_join(households::table.inner_join(jurisdictions::table))
        .filter(visits::id.eq(id))
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .select(VisitRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn latest_of(conn: &mut DbConn, household_id: &str) -> ApiResult<Option<String>> {
    Ok(visits::table
        .filter(visits::household_id.eq(household_id))
        .order((visits::created_at.desc(), visits::id.desc()))
        .select(visits::id)
        .first(conn)
        .optional()?)
}

pub fn insert(
    conn: &mut DbConn,
    row: &VisitRow,
    photos: &[(String, String)],
    signatures: &[VisitSignature],
) -> ApiResult<()> {
    diesel::insert_into(visits::table)
        .values(row)
        .execute(conn)?;
    // One statement each for the signatures and the photos (none when empty): on PostgreSQL every
    // statement is a round trip inside the write transaction.
    let signatures: Vec<_> = signatures
        .iter()
        .map(|signature| {
            (
                visit_signatures::visit_id.eq(&row.id),
                visit_signatures::digest.eq(signature.digest.to_ascii_lowercase()),
                visit_signatures::signer.eq(signature.signer.as_str()),
                visit_signatures::name.eq(&signature.name),
            )
        })
        .collect();
    insert_rows!(conn, visit_signatures::table, &signatures)?;
    let photos: Vec<_> = photos
        .iter()
        .map(|(digest, kind)| {
            (
                visit_photos::visit_id.eq(&row.id),
                visit_photos::digest.eq(digest),
                visit_photos::kind.eq(kind),
                visit_photos::household_id.eq(&row.household_id),
            )
        })
        .collect();
    insert_rows!(conn, visit_photos::table, &photos)?;
    Ok(())
}

/// What the checks read of a stored photo.
#[derive(Debug, Clone, Queryable)]
pub struct PhotoEvidence {
    pub seq: i64,
    pub digest: String,
    pub gps_lat: Option<f64>,
    pub gps_lon: Option<f64>,
    pub taken_at: Option<NaiveDateTime>,
    pub taken_local: Option<NaiveDateTime>,
    pub dhash: i64,
    pub rotations: (Option<i64>, Option<i64>, Option<i64>),
}

pub fn photo_evidence(conn: &mut DbConn, digests: &[String]) -> ApiResult<Vec<PhotoEvidence>> {
    Ok(photos::table
        .filter(photos::digest.eq_any(digests))
        .select((
            photos::seq,
            photos::digest,
            photos::gps_lat,
            photos::gps_lon,
            photos::taken_at,
            photos::taken_local,
            photos::dhash,
            (photos::dhash_r90, photos::dhash_r180, photos::dhash_r270),
        ))
        .load(conn)?)
}

/// Uses of these photos (by digest or by row number) in other households' visits:
/// (photo seq, digest, household, visit).
pub fn uses_elsewhere(
    conn: &mut DbConn,
    household_id: &str,
    digests: &[String],
    seqs: &[i64],
) -> ApiResult<Vec<(i64, String, String, String)>> {
    Ok(visit_photos::table
        .inner_join(photos::table.on(photos::digest.eq(visit_photos::digest)))
        .filter(visit_photos::household_id.ne(household_id))
        .filter(
            visit_photos::digest
                .eq_any(digests)
                .or(photos::seq.eq_any(seqs)),
        )
        .select((
            photos::seq,
            photos::digest,
            visit_photos::household_id,
            visit_photos::visit_id,
        ))
        .load(conn)?)
}

/// The first `limit` photos stored after `seq`, for catching the in-memory look-alike index up.
pub fn hashes_after(conn: &mut DbConn, seq: i64, limit: i64) -> ApiResult<Vec<(i64, i64)>> {
    Ok(photos::table
        .filter(photos::seq.gt(seq))
        .order(photos::seq.asc())
        .limit(limit)
        .select((photos::seq, photos::dhash))
        .load(conn)?)
}

/// The photos of these numbers that are stored, for the look-alike index's late arrivals.
pub fn hashes_of(conn: &mut DbConn, seqs: &[i64]) -> ApiResult<Vec<(i64, i64)>> {
    Ok(photos::table
        .filter(photos::seq.eq_any(seqs))
        .select((photos::seq, photos::dhash))
        .load(conn)?)
}

/// The digests of a visit's photos with their kinds.
pub fn photos_of(conn: &mut DbConn, visit_id: &str) -> ApiResult<Vec<(String, String)>> {
    Ok(visit_photos::table
        .filter(visit_photos::visit_id.eq(visit_id))
        .select((visit_photos::digest, visit_photos::kind))
        .load(conn)?)
}

pub fn signatures_of(conn: &mut DbConn, visit_id: &str) -> ApiResult<Vec<String>> {
    Ok(visit_signatures::table
        .filter(visit_signatures::visit_id.eq(visit_id))
        .select(visit_signatures::digest)
        .load(conn)?)
}

/// Which of these signature digests are stored.
pub fn stored_signatures(conn: &mut DbConn, digests: &[String]) -> ApiResult<Vec<String>> {
    Ok(signatures::table
        .filter(signatures::digest.eq_any(digests))
        .select(signatures::digest)
        .load(conn)?)
}

pub fn set_household_location(
    conn: &mut DbConn,
    household_id: &str,
    lat: f64,
    lon: f64,
    at: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(households::table.find(household_id))
        .set((
            households::lat.eq(lat),
            households::lon.eq(lon),
            households::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}
