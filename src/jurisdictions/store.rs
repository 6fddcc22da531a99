//! Jurisdiction rows. Every read takes the caller's [`Scope`]: nothing outside it is returned.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::Scope;
use crate::db::DbConn;
use crate::db::schema::{households, jurisdictions, users};
use crate::error::ApiResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jurisdictions)]
pub struct Jurisdiction {
    pub code: String,
    pub parent_code: Option<String>,
    pub kind: String,
    pub name: String,
    pub path: String,
    pub boundary: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, scope: &Scope, code: &str) -> ApiResult<Option<Jurisdiction>> {
    Ok(jurisdictions::table
        .find(code)
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .select(Jurisdiction::as_select())
        .first(conn)
        .optional()?)
}

#[derive(Debug, Default)]
pub struct Filter {
    pub parent_code: Option<String>,
    pub kind: Option<String>,
    /// Limit to the subtree of this node (itself included).
    pub within_path: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &Filter,
    after: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<Jurisdiction>> {
    let mut query = jurisdictions::table
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .select(Jurisdiction::as_select())
        .order(jurisdictions::code.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(parent) = &filter.parent_code {
        query = query.filter(jurisdictions::parent_code.eq(parent.clone()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(jurisdictions::kind.eq(kind.clone()));
    }
    if let Some(path) = &filter.within_path {
        query = query.filter(jurisdictions::path.like(format!("{path}%")));
    }
    if let Some(after) = after {
        query = query.filter(jurisdictions::code.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Whether anything still hangs off a node (children, households, users): then it cannot go.
pub fn has_dependents(conn: &mut DbConn, code: &str) -> ApiResult<bool> {
    let children: i64 = jurisdictions::table
        .filter(jurisdictions::parent_code.eq(code))
        .count()
        .get_result(conn)?;
    let homes: i64 = households::table
        .filter(households::village_code.eq(code))
        .count()
        .get_result(conn)?;
    let staff: i64 = users::table
        .filter(users::jurisdiction_code.eq(code))
        .count()
        .get_result(conn)?;
    Ok(children + homes + staff > 0)
}

/// Whether a code is taken anywhere (codes are global, whoever may see them).
pub fn code_exists(conn: &mut DbConn, code: &str) -> ApiResult<bool> {
    Ok(jurisdictions::table
        .find(code)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn insert(conn: &mut DbConn, row: &Jurisdiction) -> ApiResult<()> {
    diesel::insert_into(jurisdictions::table)
        .values((
            jurisdictions::code.eq(&row.code),
            jurisdictions::parent_code.eq(&row.parent_code),
            jurisdictions::kind.eq(&row.kind),
            jurisdictions::name.eq(&row.name),
            jurisdictions::path.eq(&row.path),
            jurisdictions::boundary.eq(&row.boundary),
            jurisdictions::created_at.eq(row.created_at),
            jurisdictions::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConn, row: &Jurisdiction) -> ApiResult<()> {
    diesel::update(jurisdictions::table.find(&row.code))
        .set((
            jurisdictions::name.eq(&row.name),
            jurisdictions::boundary.eq(&row.boundary),
            jurisdictions::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConn, code: &str) -> ApiResult<()> {
    diesel::delete(jurisdictions::table.find(code)).execute(conn)?;
    Ok(())
}

/// Name of one node, for messages that may name an ancestor the caller can see.
pub fn name_of(conn: &mut DbConn, code: &str) -> ApiResult<Option<String>> {
    Ok(jurisdictions::table
        .find(code)
        .select(jurisdictions::name)
        .first(conn)
        .optional()?)
}

/// The county a node lies in (itself, if it is one): the ancestor of kind county on its path.
/// Ancestors of a node the caller may see are never secret: they are the caller's own county.
pub fn county_of(conn: &mut DbConn, path: &str) -> ApiResult<Option<Jurisdiction>> {
    let codes: Vec<&str> = super::path_codes(path).collect();
    Ok(jurisdictions::table
        .filter(jurisdictions::code.eq_any(codes))
        .filter(jurisdictions::kind.eq(super::Kind::County.as_str()))
        .select(Jurisdiction::as_select())
        .first(conn)
        .optional()?)
}
