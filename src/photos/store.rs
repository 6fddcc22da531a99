//! Photo and upload rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{photos, signatures, uploads};
use crate::error::ApiResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = uploads)]
pub struct UploadRow {
    pub id: String,
    pub digest: String,
    pub length: i64,
    pub received: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub completed_at: Option<NaiveDateTime>,
    /// `photo` or `signature` (see `uploads::PHOTO`, `uploads::SIGNATURE`).
    pub kind: String,
}

/// A stored photo's metadata (the bytes are in object storage under its digest).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = photos)]
pub struct NewPhoto {
    pub digest: String,
    pub size_bytes: i64,
    pub width: i32,
    pub height: i32,
    pub gps_lat: Option<f64>,
    pub gps_lon: Option<f64>,
    pub gps_alt: Option<f64>,
    pub gps_problem: Option<String>,
    pub taken_at: Option<NaiveDateTime>,
    pub taken_local: Option<NaiveDateTime>,
    pub orientation: i32,
    pub make: Option<String>,
    pub model: Option<String>,
    /// The 64 hash bits stored as a signed integer (both backends have BIGINT, not u64).
    pub dhash: i64,
    pub uploaded_by: String,
    pub created_at: NaiveDateTime,
    pub dhash_r90: Option<i64>,
    pub dhash_r180: Option<i64>,
    pub dhash_r270: Option<i64>,
}

pub fn photo_exists(conn: &mut DbConn, digest: &str) -> ApiResult<bool> {
    Ok(photos::table
        .filter(photos::digest.eq(digest))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// A drawn signature's metadata (the PNG is in object storage under its digest).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = signatures)]
pub struct NewSignature {
    pub digest: String,
    pub size_bytes: i64,
    pub width: i32,
    pub height: i32,
    pub uploaded_by: String,
    pub created_at: NaiveDateTime,
}

/// Whether an upload of this kind (photo or signature) is already stored under the digest.
pub fn stored(conn: &mut DbConn, kind: &str, digest: &str) -> ApiResult<bool> {
    if kind == super::uploads::SIGNATURE {
        Ok(signatures::table
            .filter(signatures::digest.eq(digest))
            .count()
            .get_result::<i64>(conn)?
            > 0)
    } else {
        photo_exists(conn, digest)
    }
}

/// Like [`insert_photo`]: the first of two concurrent uploads of one signature wins.
pub fn insert_signature(conn: &mut DbConn, row: &NewSignature) -> ApiResult<()> {
    match diesel::insert_into(signatures::table)
        .values(row)
        .execute(conn)
    {
        Err(e) if crate::db::is_unique_violation(&e) => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Inserts a photo unless the digest is already stored (two uploads of one photo may finish
/// together): the unique digest decides, and either way the photo is there afterwards.
pub fn insert_photo(conn: &mut DbConn, photo: &NewPhoto) -> ApiResult<()> {
    if photo_exists(conn, &photo.digest)? {
        return Ok(());
    }
    match diesel::insert_into(photos::table)
        .values(photo)
        .execute(conn)
    {
        Err(e) if crate::db::is_unique_violation(&e) => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

pub fn find_upload(conn: &mut DbConn, id: &str, user_id: &str) -> ApiResult<Option<UploadRow>> {
    Ok(uploads::table
        .find(id)
        .filter(uploads::created_by.eq(user_id))
        .select(UploadRow::as_select())
        .first(conn)
        .optional()?)
}

/// An unfinished upload of the same photo by the same user: a retried creation resumes it.
pub fn open_upload_for(
    conn: &mut DbConn,
    kind: &str,
    digest: &str,
    user_id: &str,
) -> ApiResult<Option<UploadRow>> {
    Ok(uploads::table
        .filter(uploads::kind.eq(kind))
        .filter(uploads::digest.eq(digest))
        .filter(uploads::created_by.eq(user_id))
        .filter(uploads::completed_at.is_null())
        .select(UploadRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_upload(conn: &mut DbConn, row: &UploadRow) -> ApiResult<()> {
    diesel::insert_into(uploads::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn set_received(
    conn: &mut DbConn,
    id: &str,
    received: i64,
    at: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(uploads::table.find(id))
        .set((uploads::received.eq(received), uploads::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

pub fn complete_upload(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> ApiResult<()> {
    diesel::update(uploads::table.find(id))
        .set((
            uploads::received.eq(uploads::length),
            uploads::completed_at.eq(at),
            uploads::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_upload(conn: &mut DbConn, id: &str) -> ApiResult<()> {
    diesel::delete(uploads::table.find(id)).execute(conn)?;
    Ok(())
}

/// Whether `id` is an upload still waiting for bytes.
pub fn upload_unfinished(conn: &mut DbConn, id: &str) -> ApiResult<bool> {
    Ok(uploads::table
        .find(id)
        .filter(uploads::completed_at.is_null())
        .select(uploads::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Unfinished uploads untouched since `before`, for the cleanup sweep.
pub fn stale_uploads(conn: &mut DbConn, before: NaiveDateTime) -> ApiResult<Vec<String>> {
    Ok(uploads::table
        .filter(uploads::completed_at.is_null())
        .filter(uploads::updated_at.lt(before))
        .select(uploads::id)
        .load(conn)?)
}
