//! User rows, read through the caller's scope (a user is inside a scope when the node it is
//! bound to is).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Role, Scope};
use crate::db::DbConn;
use crate::db::schema::{jurisdictions, users};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub jurisdiction_code: String,
    pub jurisdiction_name: String,
    pub disabled: bool,
    #[serde(with = "crate::serde_util::utc")]
    pub created_at: NaiveDateTime,
}

type ViewRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    NaiveDateTime,
);

fn view_columns() -> (
    users::id,
    users::username,
    users::display_name,
    users::role,
    users::jurisdiction_code,
    jurisdictions::name,
    users::disabled,
    users::created_at,
) {
    (
        users::id,
        users::username,
        users::display_name,
        users::role,
        users::jurisdiction_code,
        jurisdictions::name,
        users::disabled,
        users::created_at,
    )
}

fn to_view(row: ViewRow) -> UserView {
    let (
        id,
        username,
        display_name,
        role,
        jurisdiction_code,
        jurisdiction_name,
        disabled,
        created_at,
    ) = row;
    UserView {
        id,
        username,
        display_name,
        role: Role::parse(&role).unwrap_or(Role::Coordinator),
        jurisdiction_code,
        jurisdiction_name,
        disabled,
        created_at,
    }
}

/// The caller's own account (no scope needed: it is theirs).
pub fn view(conn: &mut DbConn, user_id: &str) -> ApiResult<UserView> {
    users::table
        .inner_join(jurisdictions::table)
        .filter(users::id.eq(user_id))
        .select(view_columns())
        .first::<ViewRow>(conn)
        .optional()?
        .map(to_view)
        .ok_or_else(|| ApiError::not_found("User", "该用户"))
}

/// A live (not deleted) user inside the scope, with the path of its node.
pub fn find(
    conn: &mut DbConn,
    scope: &Scope,
    user_id: &str,
) -> ApiResult<Option<(UserView, String)>> {
    let row: Option<(ViewRow, String)> = users::table
        .inner_join(jurisdictions::table)
        .filter(users::id.eq(user_id))
        .filter(users::deleted_at.is_null())
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .select((view_columns(), jurisdictions::path))
        .first(conn)
        .optional()?;
    Ok(row.map(|(r, path)| (to_view(r), path)))
}

#[derive(Debug, Default)]
pub struct Filter {
    pub role: Option<Role>,
    pub jurisdiction_code: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &Filter,
    after: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<UserView>> {
    let mut query = users::table
        .inner_join(jurisdictions::table)
        .filter(users::deleted_at.is_null())
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .select(view_columns())
        .order(users::username.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role.as_str()));
    }
    if let Some(code) = &filter.jurisdiction_code {
        query = query.filter(users::jurisdiction_code.eq(code.clone()));
    }
    if let Some(after) = after {
        query = query.filter(users::username.gt(after.to_owned()));
    }
    Ok(query
        .load::<ViewRow>(conn)?
        .into_iter()
        .map(to_view)
        .collect())
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub jurisdiction_code: &'a str,
    pub password_hash: &'a str,
    pub at: NaiveDateTime,
}

/// Usernames are unique even among deleted accounts, so old audit entries stay unambiguous.
pub fn username_taken(conn: &mut DbConn, username: &str) -> ApiResult<bool> {
    Ok(users::table
        .filter(users::username.eq(username))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn insert(conn: &mut DbConn, user: &NewUser<'_>) -> ApiResult<()> {
    diesel::insert_into(users::table)
        .values((
            users::id.eq(user.id),
            users::username.eq(user.username),
            users::display_name.eq(user.display_name),
            users::role.eq(user.role.as_str()),
            users::jurisdiction_code.eq(user.jurisdiction_code),
            users::password_hash.eq(user.password_hash),
            users::disabled.eq(false),
            users::created_at.eq(user.at),
            users::updated_at.eq(user.at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_display_name(
    conn: &mut DbConn,
    user_id: &str,
    name: &str,
    at: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::display_name.eq(name), users::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

pub fn set_disabled(
    conn: &mut DbConn,
    user_id: &str,
    disabled: bool,
    at: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::disabled.eq(disabled), users::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

pub fn set_password_hash(
    conn: &mut DbConn,
    user_id: &str,
    hash: &str,
    at: NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

pub fn mark_deleted(conn: &mut DbConn, user_id: &str, at: NaiveDateTime) -> ApiResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::deleted_at.eq(at), users::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}
