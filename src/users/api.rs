//! User administration (admins, inside their subtree); county officers and township
//! reviewers may list the staff of theirs.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::store::{self, NewUser, UserView};
use crate::app::AppState;
use crate::audit::{self, Actor, Event};
use crate::auth::{Action, Caller, Role, Scope, password};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::jurisdictions::{self, Kind};
use crate::pagination::{Page, PageParams};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Letters, digits, `_`, `.` and `-`; 3–64 characters; stored lower-case.
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The node the account is bound to: a village for coordinators, a township for
    /// reviewers, a county for county officers, any node for admins.
    pub jurisdiction_code: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub display_name: Option<String>,
    /// Disabling ends every session of the user at once.
    pub disabled: Option<bool>,
    /// A new password; ends every session of the user.
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub role: Option<Role>,
    pub jurisdiction: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn validated_username(username: &str) -> ApiResult<String> {
    let username = username.trim().to_lowercase();
    let ok = (3..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(username)
    } else {
        Err(ApiError::unprocessable(
            "username_invalid",
            "A username has 3 to 64 letters, digits, '_', '.' or '-'",
            "用户名应为 3 到 64 个字母、数字、下划线、点或连字符",
        ))
    }
}

fn validated_display_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "display_name_invalid",
            "A display name has 1 to 100 characters",
            "显示名称长度应为 1 到 100 个字符",
        ));
    }
    Ok(name.to_owned())
}

/// Which kind of node each role is bound to.
fn role_fits(role: Role, kind: Kind) -> bool {
    match role {
        Role::Coordinator => kind == Kind::Village,
        Role::TownshipReviewer => kind == Kind::Township,
        Role::CountyOfficer => kind == Kind::County,
        Role::Admin => true,
    }
}

/// Creates an account inside `scope`, hashing its password here: for the demo seeder and the
/// command line, where no request waits on the database's write lock meanwhile.
pub fn create_user(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    input: &CreateUser,
) -> ApiResult<UserView> {
    password::check_strength(&input.password)?;
    let hash = password::hash(&input.password)?;
    insert_user(conn, actor, scope, input, &hash)
}

/// Creates an account inside `scope` with its password already hashed (and checked for
/// strength).
fn insert_user(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    input: &CreateUser,
    password_hash: &str,
) -> ApiResult<UserView> {
    let username = validated_username(&input.username)?;
    let display_name = validated_display_name(&input.display_name)?;
    let node =
        jurisdictions::store::find(conn, scope, &input.jurisdiction_code)?.ok_or_else(|| {
            ApiError::unprocessable(
                "jurisdiction_not_found",
                "The jurisdiction does not exist in your jurisdiction",
                "该辖区不存在或不在您的辖区内",
            )
        })?;
    let kind = Kind::parse(&node.kind).unwrap_or(Kind::Village);
    if !role_fits(input.role, kind) {
        return Err(ApiError::unprocessable(
            "role_does_not_fit_jurisdiction",
            format!(
                "A {} cannot be bound to a {}",
                input.role.as_str(),
                kind.as_str()
            ),
            "该角色不能绑定到此级别的辖区",
        ));
    }
    if store::username_taken(conn, &username)? {
        return Err(ApiError::conflict(
            "username_taken",
            "This username is already in use",
            "该用户名已被使用",
        ));
    }
    let id = uuid::Uuid::now_v7().to_string();
    store::insert(
        conn,
        &NewUser {
            id: &id,
            username: &username,
            display_name: &display_name,
            role: input.role,
            jurisdiction_code: &node.code,
            password_hash,
            at: audit::store::now(),
        },
    )?;
    audit::store::append(
        conn,
        actor,
        Event {
            action: "user.create",
            target_type: "user",
            target_id: &id,
            summary: serde_json::json!({ "after": { "username": username, "role": input.role.as_str(), "jurisdiction": node.code } }),
        },
    )?;
    store::view(conn, &id)
}

fn not_found() -> ApiError {
    ApiError::not_found("User", "该用户")
}

/// Create a staff account (admin).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUser,
    responses(
        (status = 201, body = UserView),
        (status = 409, description = "Username taken", body = ErrorBody),
    )
)]
#[post("/api/v1/users")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateUser>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ManageUsers)?;
    let body = body.into_inner();
    password::check_strength(&body.password)?;
    let hash = password::hash_bounded(body.password.clone()).await?;
    let user = state
        .db
        .write(move |conn| insert_user(conn, &caller.actor(), &caller.scope, &body, &hash))
        .await?;
    Ok(HttpResponse::Created().json(user))
}

/// List staff accounts in the caller's subtree.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of users, by username", body = Page<UserView>))
)]
#[get("/api/v1/users")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadUsers)?;
    let query = query.into_inner();
    let page = PageParams {
        cursor: query.cursor,
        limit: query.limit,
    };
    let (limit, after) = (page.limit()?, page.after()?);
    let filter = store::Filter {
        role: query.role,
        jurisdiction_code: query.jurisdiction,
    };
    let rows = state
        .db
        .run(move |conn| store::list(conn, &caller.scope, &filter, after.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |u| u.username.clone())))
}

/// One staff account.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = UserView),
        (status = 404, description = "No such user in the caller's subtree", body = ErrorBody),
    )
)]
#[get("/api/v1/users/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadUsers)?;
    let id = id.into_inner();
    let (user, _) = state
        .db
        .run(move |conn| store::find(conn, &caller.scope, &id))
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(user))
}

/// Rename, disable/enable or reset the password of an account (admin).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = UpdateUser,
    responses(
        (status = 200, body = UserView),
        (status = 404, description = "No such user in the caller's subtree", body = ErrorBody),
    )
)]
#[patch("/api/v1/users/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<UpdateUser>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ManageUsers)?;
    let body = body.into_inner();
    if let Some(p) = &body.password {
        password::check_strength(p)?;
    }
    let new_hash = match body.password.clone() {
        Some(p) => Some(password::hash_bounded(p).await?),
        None => None,
    };
    let id = id.into_inner();
    let user = state
        .db
        .write(move |conn| {
            let (before, path) = store::find(conn, &caller.scope, &id)?.ok_or_else(not_found)?;
            caller.authorize(Action::ManageUsers, &path)?;
            let at = audit::store::now();
            if let Some(name) = body.display_name.as_deref() {
                let name = validated_display_name(name)?;
                store::set_display_name(conn, &id, &name, at)?;
            }
            if let Some(disabled) = body.disabled {
                store::set_disabled(conn, &id, disabled, at)?;
                if disabled {
                    crate::auth::store::revoke_user_sessions(conn, &id, "disabled")?;
                }
            }
            if let Some(hash) = &new_hash {
                store::set_password_hash(conn, &id, hash, at)?;
                crate::auth::store::revoke_user_sessions(conn, &id, "password_changed")?;
            }
            let after = store::view(conn, &id)?;
            audit::store::append(
                conn,
                &caller.actor(),
                Event {
                    action: "user.update",
                    target_type: "user",
                    target_id: &id,
                    summary: serde_json::json!({
                        "before": { "display_name": before.display_name, "disabled": before.disabled },
                        "after": { "display_name": after.display_name, "disabled": after.disabled },
                        "password_changed": new_hash.is_some(),
                    }),
                },
            )?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Delete an account (admin). The row stays for the audit trail; the account stops working.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such user in the caller's subtree", body = ErrorBody),
        (status = 409, description = "Admins cannot delete themselves", body = ErrorBody),
    )
)]
#[delete("/api/v1/users/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ManageUsers)?;
    let id = id.into_inner();
    state
        .db
        .write(move |conn| {
            let (user, path) = store::find(conn, &caller.scope, &id)?.ok_or_else(not_found)?;
            caller.authorize(Action::ManageUsers, &path)?;
            if user.id == caller.user_id {
                return Err(ApiError::conflict(
                    "cannot_delete_self",
                    "You cannot delete your own account",
                    "不能删除自己的账号",
                ));
            }
            store::mark_deleted(conn, &id, audit::store::now())?;
            crate::auth::store::revoke_user_sessions(conn, &id, "deleted")?;
            audit::store::append(
                conn,
                &caller.actor(),
                Event {
                    action: "user.delete",
                    target_type: "user",
                    target_id: &id,
                    summary: serde_json::json!({ "before": { "username": user.username, "role": user.role.as_str() } }),
                },
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
