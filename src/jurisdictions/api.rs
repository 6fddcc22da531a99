//! Jurisdiction endpoints: everyone reads their subtree; admins create, rename, re-draw and
//! remove nodes inside theirs.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::boundary::Boundary;
use super::store::{self, Jurisdiction};
use super::{Kind, child_path, parse_code};
use crate::app::AppState;
use crate::audit::{self, Actor, Event};
use crate::auth::{Action, Caller};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::pagination::{Page, PageParams};

#[derive(Debug, Serialize, ToSchema)]
pub struct JurisdictionView {
    #[schema(example = "421083100201")]
    pub code: String,
    pub parent_code: Option<String>,
    pub kind: Kind,
    #[schema(example = "新河村")]
    pub name: String,
    /// GeoJSON geometry (Polygon or MultiPolygon, WGS84) when one is set.
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<serde_json::Value>,
    #[serde(with = "crate::serde_util::utc")]
    pub created_at: chrono::NaiveDateTime,
    #[serde(with = "crate::serde_util::utc")]
    pub updated_at: chrono::NaiveDateTime,
}

impl JurisdictionView {
    fn of(row: Jurisdiction) -> Self {
        Self {
            kind: Kind::parse(&row.kind).unwrap_or(Kind::Village),
            boundary: row
                .boundary
                .as_deref()
                .and_then(|b| serde_json::from_str(b).ok()),
            code: row.code,
            parent_code: row.parent_code,
            name: row.name,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJurisdiction {
    /// 12-digit statistical division code; fixed once created.
    pub code: String,
    pub parent_code: String,
    pub kind: Kind,
    pub name: String,
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<serde_json::Value>,
}

/// Fields to change; `boundary: null` removes the boundary, leaving it out keeps it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateJurisdiction {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<Option<serde_json::Value>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only direct children of this node.
    pub parent: Option<String>,
    pub kind: Option<Kind>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn validated_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "name_invalid",
            "A name must have 1 to 100 characters",
            "名称长度应为 1 到 100 个字符",
        )
        .with_details(serde_json::json!({ "field": "name" })));
    }
    Ok(name.to_owned())
}

fn validated_boundary(value: &serde_json::Value) -> ApiResult<String> {
    let boundary = Boundary::from_geojson(value).map_err(|e| {
        ApiError::unprocessable(e.code(), e.message_en(), e.message_zh())
            .with_details(serde_json::json!({ "field": "boundary" }))
    })?;
    Ok(boundary.to_geojson().to_string())
}

fn not_found() -> ApiError {
    ApiError::not_found("Jurisdiction", "该辖区")
}

/// List the jurisdictions in the caller's subtree.
#[utoipa::path(
    tag = "jurisdictions",
    security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of jurisdictions, by code", body = Page<JurisdictionView>))
)]
#[get("/api/v1/jurisdictions")]
pub async fn list_jurisdictions(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadJurisdictions)?;
    let query = query.into_inner();
    let page = PageParams {
        cursor: query.cursor,
        limit: query.limit,
    };
    let (limit, after) = (page.limit()?, page.after()?);
    let filter = store::Filter {
        parent_code: query.parent,
        kind: query.kind.map(|k| k.as_str().to_owned()),
        within_path: None,
    };
    let rows = state
        .db
        .run(move |conn| store::list(conn, &caller.scope, &filter, after.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok()
        .json(Page::from_rows(rows, limit, |r| r.code.clone()).map(JurisdictionView::of)))
}

/// One jurisdiction with its boundary.
#[utoipa::path(
    tag = "jurisdictions",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "12-digit code")),
    responses(
        (status = 200, body = JurisdictionView),
        (status = 404, description = "No such jurisdiction in the caller's subtree", body = ErrorBody),
    )
)]
#[get("/api/v1/jurisdictions/{code}")]
pub async fn get_jurisdiction(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadJurisdictions)?;
    let code = code.into_inner();
    let row = state
        .db
        .run(move |conn| store::find(conn, &caller.scope, &code))
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(JurisdictionView::of(row)))
}

/// Create a node under a parent in the caller's subtree (admin).
#[utoipa::path(
    tag = "jurisdictions",
    security(("bearer" = [])),
    request_body = CreateJurisdiction,
    responses(
        (status = 201, body = JurisdictionView),
        (status = 409, description = "The code is taken", body = ErrorBody),
    )
)]
#[post("/api/v1/jurisdictions")]
pub async fn create_jurisdiction(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateJurisdiction>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ManageJurisdictions)?;
    let body = body.into_inner();
    let code = parse_code(&body.code)?.to_owned();
    let name = validated_name(&body.name)?;
    let boundary = body.boundary.as_ref().map(validated_boundary).transpose()?;
    let row = state
        .db
        .write(move |conn| {
            let parent = store::find(conn, &caller.scope, &body.parent_code)?.ok_or_else(|| {
                ApiError::unprocessable(
                    "parent_not_found",
                    "The parent jurisdiction does not exist in your jurisdiction",
                    "上级辖区不存在或不在您的辖区内",
                )
            })?;
            caller.authorize(Action::ManageJurisdictions, &parent.path)?;
            insert_node(
                conn,
                &caller.actor(),
                Some(&parent),
                code,
                body.kind,
                name,
                boundary,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(JurisdictionView::of(row)))
}

/// Creates a node under `parent`, or a root node when `parent` is `None` (operator commands
/// only), and audits it. Shared by the API, the demo loader and `bootstrap`.
pub fn insert_node(
    conn: &mut DbConn,
    actor: &Actor,
    parent: Option<&Jurisdiction>,
    code: String,
    kind: Kind,
    name: String,
    boundary: Option<String>,
) -> ApiResult<Jurisdiction> {
    if let Some(parent) = parent {
        let parent_kind = Kind::parse(&parent.kind).unwrap_or(Kind::Village);
        if !parent_kind.may_contain(kind) {
            return Err(ApiError::unprocessable(
                "kind_not_allowed_here",
                format!(
                    "A {} cannot be placed under a {}",
                    kind.as_str(),
                    parent_kind.as_str()
                ),
                "该级别的辖区不能放在此上级辖区之下",
            ));
        }
    }
    if store::code_exists(conn, &code)? {
        return Err(ApiError::conflict(
            "jurisdiction_code_taken",
            format!("The code {code} is already in use"),
            format!("区划代码 {code} 已被使用"),
        ));
    }
    let now = audit::store::now();
    let row = Jurisdiction {
        path: child_path(parent.map_or("/", |p| p.path.as_str()), &code),
        code,
        parent_code: parent.map(|p| p.code.clone()),
        kind: kind.as_str().to_owned(),
        name,
        boundary,
        created_at: now,
        updated_at: now,
    };
    store::insert(conn, &row)?;
    audit::store::append(
        conn,
        actor,
        Event {
            action: "jurisdiction.create",
            target_type: "jurisdiction",
            target_id: &row.code,
            summary: serde_json::json!({ "after": {
                "name": row.name, "kind": row.kind, "parent": row.parent_code, "boundary": row.boundary.is_some()
            } }),
        },
    )?;
    Ok(row)
}

/// Rename a node or change its boundary (admin).
#[utoipa::path(
    tag = "jurisdictions",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "12-digit code")),
    request_body = UpdateJurisdiction,
    responses(
        (status = 200, body = JurisdictionView),
        (status = 404, description = "No such jurisdiction in the caller's subtree", body = ErrorBody),
    )
)]
#[patch("/api/v1/jurisdictions/{code}")]
pub async fn update_jurisdiction(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: web::Json<UpdateJurisdiction>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ManageJurisdictions)?;
    let body = body.into_inner();
    let name = body.name.as_deref().map(validated_name).transpose()?;
    let boundary = body
        .boundary
        .map(|b| b.as_ref().map(validated_boundary).transpose())
        .transpose()?;
    let code = code.into_inner();
    let row = state
        .db
        .write(move |conn| {
            let before = store::find(conn, &caller.scope, &code)?.ok_or_else(not_found)?;
            caller.authorize(Action::ManageJurisdictions, &before.path)?;
            let after = Jurisdiction {
                name: name.unwrap_or_else(|| before.name.clone()),
                boundary: boundary.unwrap_or_else(|| before.boundary.clone()),
                updated_at: audit::store::now(),
                ..before.clone()
            };
            store::update(conn, &after)?;
            audit::store::append(
                conn,
                &caller.actor(),
                Event {
                    action: "jurisdiction.update",
                    target_type: "jurisdiction",
                    target_id: &after.code,
                    summary: serde_json::json!({
                        "before": { "name": before.name, "boundary_hash": before.boundary.as_deref().map(short_hash) },
                        "after": { "name": after.name, "boundary_hash": after.boundary.as_deref().map(short_hash) },
                    }),
                },
            )?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(JurisdictionView::of(row)))
}

/// Boundaries are large; the audit summary records which one, not all of it.
fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// Remove a node that has no children, households or users (admin).
#[utoipa::path(
    tag = "jurisdictions",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "12-digit code")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such jurisdiction in the caller's subtree", body = ErrorBody),
        (status = 409, description = "Still has children, households or users", body = ErrorBody),
    )
)]
#[delete("/api/v1/jurisdictions/{code}")]
pub async fn delete_jurisdiction(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ManageJurisdictions)?;
    let code = code.into_inner();
    state
        .db
        .write(move |conn| {
            let row = store::find(conn, &caller.scope, &code)?.ok_or_else(not_found)?;
            caller.authorize(Action::ManageJurisdictions, &row.path)?;
            // An admin cannot remove the node their own account hangs on.
            if row.code == caller.jurisdiction_code || store::has_dependents(conn, &row.code)? {
                return Err(ApiError::conflict(
                    "jurisdiction_in_use",
                    "This jurisdiction still has sub-jurisdictions, households or users",
                    "该辖区下仍有下级辖区、家庭或用户，无法删除",
                ));
            }
            store::delete(conn, &row.code)?;
            audit::store::append(
                conn,
                &caller.actor(),
                Event {
                    action: "jurisdiction.delete",
                    target_type: "jurisdiction",
                    target_id: &row.code,
                    summary: serde_json::json!({ "before": { "name": row.name, "kind": row.kind } }),
                },
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn county_not_found() -> ApiError {
    ApiError::not_found("County", "该区县")
}

/// A county the caller works in or above, for county settings and schemes. Reading them is
/// also allowed from below (a village reads its county's scheme); changing them is not.
pub fn county_for(
    conn: &mut DbConn,
    caller: &Caller,
    code: &str,
    action: Action,
) -> ApiResult<Jurisdiction> {
    let county = match store::find(conn, &caller.scope, code)? {
        Some(node) => node,
        None => store::county_of(conn, caller.scope.root_path())?
            .filter(|c| c.code == code)
            .ok_or_else(county_not_found)?,
    };
    if county.kind != Kind::County.as_str() {
        return Err(county_not_found());
    }
    if matches!(action, Action::ReadSchemes | Action::ReadCases) {
        caller.authorize_inherited(action, &county.path)?;
    } else {
        caller.authorize(action, &county.path)?;
    }
    Ok(county)
}
