//! Published scheme versions and stored assessments. Versions are inserted once and never
//! updated (only the `active` flag moves); assessments are inserted and never updated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Scheme;
use crate::auth::Scope;
use crate::db::schema::{assessments, households, jurisdictions, scheme_versions};
use crate::db::{DbConn, insert_rows};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scheme_versions)]
pub struct VersionRow {
    pub id: String,
    pub county_code: String,
    pub version: i32,
    pub name: String,
    pub source: String,
    pub content_hash: String,
    pub active: bool,
    pub published_at: NaiveDateTime,
    pub published_by: String,
}

pub fn versions(conn: &mut DbConn, county_code: &str) -> ApiResult<Vec<VersionRow>> {
    Ok(scheme_versions::table
        .filter(scheme_versions::county_code.eq(county_code))
        .order(scheme_versions::version.desc())
        .select(VersionRow::as_select())
        .load(conn)?)
}

pub fn version(
    conn: &mut DbConn,
    county_code: &str,
    version: i32,
) -> ApiResult<Option<VersionRow>> {
    Ok(scheme_versions::table
        .filter(scheme_versions::county_code.eq(county_code))
        .filter(scheme_versions::version.eq(version))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_id(conn: &mut DbConn, id: &str) -> ApiResult<VersionRow> {
    Ok(scheme_versions::table
        .find(id)
        .select(VersionRow::as_select())
        .first(conn)?)
}

pub fn active(conn: &mut DbConn, county_code: &str) -> ApiResult<Option<VersionRow>> {
    Ok(scheme_versions::table
        .filter(scheme_versions::county_code.eq(county_code))
        .filter(scheme_versions::active.eq(true))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_hash(conn: &mut DbConn, county_code: &str, hash: &str) -> ApiResult<Option<VersionRow>> {
    Ok(scheme_versions::table
        .filter(scheme_versions::county_code.eq(county_code))
        .filter(scheme_versions::content_hash.eq(hash))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn next_version(conn: &mut DbConn, county_code: &str) -> ApiResult<i32> {
    let max: Option<i32> = scheme_versions::table
        .filter(scheme_versions::county_code.eq(county_code))
        .select(diesel::dsl::max(scheme_versions::version))
        .first(conn)?;
    Ok(max.unwrap_or(0) + 1)
}

pub fn insert_version(conn: &mut DbConn, row: &VersionRow) -> ApiResult<()> {
    diesel::insert_into(scheme_versions::table)
        .values((
            scheme_versions::id.eq(&row.id),
            scheme_versions::county_code.eq(&row.county_code),
            scheme_versions::version.eq(row.version),
            scheme_versions::name.eq(&row.name),
            scheme_versions::source.eq(&row.source),
            scheme_versions::content_hash.eq(&row.content_hash),
            scheme_versions::active.eq(false),
            scheme_versions::published_at.eq(row.published_at),
            scheme_versions::published_by.eq(&row.published_by),
        ))
        .execute(conn)?;
    Ok(())
}

/// Makes one version the county's scheme in force (in the caller's transaction).
pub fn activate(conn: &mut DbConn, county_code: &str, id: &str) -> ApiResult<()> {
    diesel::update(scheme_versions::table)
        .filter(scheme_versions::county_code.eq(county_code))
        .filter(scheme_versions::active.eq(true))
        .set(scheme_versions::active.eq(false))
        .execute(conn)?;
    diesel::update(scheme_versions::table.find(id))
        .set(scheme_versions::active.eq(true))
        .execute(conn)?;
    Ok(())
}

/// Parsed schemes by version id. Versions never change, so an entry never goes stale.
#[derive(Default)]
pub struct SchemeCache {
    parsed: Mutex<HashMap<String, Arc<Scheme>>>,
}

impl SchemeCache {
    /// The parsed scheme of a stored version, checked against its recorded hash.
    pub fn get(&self, row: &VersionRow) -> ApiResult<Arc<Scheme>> {
        if let Some(found) = self.parsed.lock().map_err(ApiError::internal)?.get(&row.id) {
            return Ok(found.clone());
        }
        let scheme = Scheme::from_toml(&row.source).map_err(ApiError::internal)?;
        if scheme.content_hash() != row.content_hash {
            return Err(ApiError::internal(format!(
                "scheme version {} does not match its recorded hash",
                row.id
            )));
        }
        let scheme = Arc::new(scheme);
        self.parsed
            .lock()
            .map_err(ApiError::internal)?
            .insert(row.id.clone(), scheme.clone());
        Ok(scheme)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = assessments, treat_none_as_default_value = false)]
pub struct AssessmentRow {
    pub id: String,
    pub household_id: String,
    pub scheme_version_id: String,
    pub scheme_hash: String,
    pub inputs: String,
    pub result: String,
    pub outcome: String,
    pub score: i32,
    pub band: String,
    pub review_class: String,
    pub payment_fen: Option<i64>,
    pub county_visit: bool,
    pub supersedes_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

pub fn insert_assessment(conn: &mut DbConn, row: &AssessmentRow) -> ApiResult<()> {
    insert_assessments(conn, std::slice::from_ref(row))
}

/// Rows in one multi-row statement (a bulk load's).
pub fn insert_assessments(conn: &mut DbConn, rows: &[AssessmentRow]) -> ApiResult<()> {
    insert_rows!(conn, assessments::table, rows)?;
    Ok(())
}

/// A household's assessments, newest first. The household was already found in scope.
pub fn of_household(conn: &mut DbConn, household_id: &str) -> ApiResult<Vec<AssessmentRow>> {
    Ok(assessments::table
        .filter(assessments::household_id.eq(household_id))
        .order((assessments::created_at.desc(), assessments::id.desc()))
        .select(AssessmentRow::as_select())
        .load(conn)?)
}

pub fn latest(conn: &mut DbConn, household_id: &str) -> ApiResult<Option<AssessmentRow>> {
    Ok(assessments::table
        .filter(assessments::household_id.eq(household_id))
        .order((assessments::created_at.desc(), assessments::id.desc()))
        .select(AssessmentRow::as_select())
        .first(conn)
        .optional()?)
}

/// The proposed monthly payment of each of these assessments (for notices).
pub fn payments(conn: &mut DbConn, ids: &[String]) -> ApiResult<Vec<(String, Option<i64>)>> {
    Ok(assessments::table
        .filter(assessments::id.eq_any(ids))
        .select((assessments::id, assessments::payment_fen))
        .load(conn)?)
}

/// One assessment, if its household lies inside the scope.
pub fn find_assessment(
    conn: &mut DbConn,
    scope: &Scope,
    id: &str,
) -> ApiResult<Option<AssessmentRow>> {
    Ok(assessments::table
        .inner_join(households::table.inner_join(jurisdictions::table))
        .filter(assessments::id.eq(id))
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .select(AssessmentRow::as_select())
        .first(conn)
        .optional()?)
}
