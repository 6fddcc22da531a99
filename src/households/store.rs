//! Household and member rows. Reads take the caller's [`Scope`]; the one system-wide read,
//! [`active_holder`], exists for the one-person-one-household rule and returns only where.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::Member;
use crate::auth::Scope;
use crate::db::schema::{households, jurisdictions, members};
use crate::db::{DbConn, insert_rows};
use crate::error::ApiResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = households, treat_none_as_default_value = false)]
pub struct HouseholdRow {
    pub id: String,
    pub village_code: String,
    pub reference: Option<String>,
    pub head_name: String,
    pub address: String,
    pub urban: bool,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub phone: Option<String>,
    pub responsible_worker_id: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = members, treat_none_as_default_value = false)]
pub struct MemberRow {
    pub id: String,
    pub household_id: String,
    pub name: String,
    pub id_number: String,
    pub relation: String,
    pub birth_date: NaiveDate,
    pub male: bool,
    pub labour_capacity: String,
    pub disability_grade: Option<i32>,
    pub chronic_illness: bool,
    pub student: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A household in the scope, with its village's name and path.
pub fn find(
    conn: &mut DbConn,
    scope: &Scope,
    id: &str,
) -> ApiResult<Option<(HouseholdRow, String, String)>> {
    Ok(households::table
        .inner_join(jurisdictions::table)
        .filter(households::id.eq(id))
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .select((
            HouseholdRow::as_select(),
            jurisdictions::name,
            jurisdictions::path,
        ))
        .first(conn)
        .optional()?)
}

/// By its import reference within one village (which the caller has already resolved in scope).
pub fn find_by_reference(
    conn: &mut DbConn,
    village_code: &str,
    reference: &str,
) -> ApiResult<Option<HouseholdRow>> {
    Ok(households::table
        .filter(households::village_code.eq(village_code))
        .filter(households::reference.eq(reference))
        .select(HouseholdRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn active_members(conn: &mut DbConn, household_id: &str) -> ApiResult<Vec<MemberRow>> {
    Ok(members::table
        .filter(members::household_id.eq(household_id))
        .filter(members::active.eq(true))
        .order(members::created_at.asc())
        .select(MemberRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Default)]
pub struct Filter {
    /// Subtree of this node (already checked to lie inside the scope).
    pub within_path: Option<String>,
    pub worker_id: Option<String>,
    pub urban: Option<bool>,
    pub active: Option<bool>,
    pub head_name_contains: Option<String>,
}

/// (household, village name, active member count)
pub type ListRow = (HouseholdRow, String, i64);

pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &Filter,
    after: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<ListRow>> {
    let member_count = members::table
        .filter(members::household_id.eq(households::id))
        .filter(members::active.eq(true))
        .count()
        .single_value()
        .assume_not_null();
    let mut query = households::table
        .inner_join(jurisdictions::table)
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .select((HouseholdRow::as_select(), jurisdictions::name, member_count))
        .order(households::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(path) = &filter.within_path {
        query = query.filter(jurisdictions::path.like(format!("{path}%")));
    }
    if let Some(worker) = &filter.worker_id {
        query = query.filter(households::responsible_worker_id.eq(worker.clone()));
    }
    if let Some(urban) = filter.urban {
        query = query.filter(households::urban.eq(urban));
    }
    if let Some(active) = filter.active {
        query = query.filter(households::active.eq(active));
    }
    if let Some(text) = &filter.head_name_contains {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query = query.filter(
            households::head_name
                .like(format!("%{escaped}%"))
                .escape('\\'),
        );
    }
    if let Some(after) = after {
        query = query.filter(households::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Where an ID number is active, system-wide: (household id, village path), if anywhere.
pub fn active_holder(conn: &mut DbConn, id_number: &str) -> ApiResult<Option<(String, String)>> {
    Ok(members::table
        .inner_join(households::table.inner_join(jurisdictions::table))
        .filter(members::id_number.eq(id_number))
        .filter(members::active.eq(true))
        .select((households::id, jurisdictions::path))
        .first(conn)
        .optional()?)
}

pub fn insert_household(conn: &mut DbConn, row: &HouseholdRow) -> ApiResult<()> {
    insert_households(conn, std::slice::from_ref(row))
}

/// Rows in one multi-row statement (a bulk load's; a caller keeps under the backend's limit
/// on bound parameters, 32766 on SQLite).
pub fn insert_households(conn: &mut DbConn, rows: &[HouseholdRow]) -> ApiResult<()> {
    insert_rows!(conn, households::table, rows)?;
    Ok(())
}

pub fn update_household(conn: &mut DbConn, row: &HouseholdRow) -> ApiResult<()> {
    diesel::update(households::table.find(&row.id))
        .set((
            households::head_name.eq(&row.head_name),
            households::address.eq(&row.address),
            households::urban.eq(row.urban),
            households::lat.eq(row.lat),
            households::lon.eq(row.lon),
            households::phone.eq(&row.phone),
            households::responsible_worker_id.eq(&row.responsible_worker_id),
            households::active.eq(row.active),
            households::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The row of a new active member; birth date and sex come from the ID number.
pub fn member_row(id: &str, household_id: &str, member: &Member, at: NaiveDateTime) -> MemberRow {
    MemberRow {
        id: id.to_owned(),
        household_id: household_id.to_owned(),
        name: member.name.clone(),
        id_number: member.id_number.as_str().to_owned(),
        relation: member.relation.as_str().to_owned(),
        birth_date: member.id_number.birth_date(),
        male: member.id_number.is_male(),
        labour_capacity: member.labour_capacity.as_str().to_owned(),
        disability_grade: member.disability_grade.map(i32::from),
        chronic_illness: member.chronic_illness,
        student: member.student.as_str().to_owned(),
        active: true,
        created_at: at,
        updated_at: at,
    }
}

/// Returns the raw diesel error so a lost race on the one-active-household index can be told apart.
pub fn insert_member(
    conn: &mut DbConn,
    id: &str,
    household_id: &str,
    member: &Member,
    at: NaiveDateTime,
) -> QueryResult<()> {
    insert_members(conn, &[member_row(id, household_id, member, at)])
}

/// Rows in one multi-row statement, like [`insert_households`].
pub fn insert_members(conn: &mut DbConn, rows: &[MemberRow]) -> QueryResult<()> {
    insert_rows!(conn, members::table, rows).map(drop)
}

/// Updates everything but the ID number (a different person is a different member).
pub fn update_member(
    conn: &mut DbConn,
    id: &str,
    member: &Member,
    at: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(members::table.find(id))
        .set((
            members::name.eq(&member.name),
            members::relation.eq(member.relation.as_str()),
            members::labour_capacity.eq(member.labour_capacity.as_str()),
            members::disability_grade.eq(member.disability_grade.map(i32::from)),
            members::chronic_illness.eq(member.chronic_illness),
            members::student.eq(member.student.as_str()),
            members::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn deactivate_member(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> ApiResult<()> {
    diesel::update(members::table.find(id))
        .set((members::active.eq(false), members::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

pub fn deactivate_members_of(
    conn: &mut DbConn,
    household_id: &str,
    at: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(members::table.filter(members::household_id.eq(household_id)))
        .filter(members::active.eq(true))
        .set((members::active.eq(false), members::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}
