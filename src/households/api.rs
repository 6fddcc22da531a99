//! Household endpoints. Reads for every role inside its subtree; writes for township reviewers
//! and admins; CSV import for admins.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::service::{self, NewHousehold};
use super::store::{self, HouseholdRow, MemberRow};
use super::{Location, MemberInput, field_error, required_text, validated_phone};
use crate::app::AppState;
use crate::audit::{self, Event};
use crate::auth::{Action, Caller, Scope};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::pagination::{Page, PageParams};

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub id: String,
    pub name: String,
    /// Full number: only staff whose jurisdiction contains the household see this view.
    pub id_number: String,
    pub birth_date: NaiveDate,
    pub male: bool,
    pub relation: String,
    pub labour_capacity: String,
    pub disability_grade: Option<i32>,
    pub chronic_illness: bool,
    pub student: String,
}

impl From<MemberRow> for MemberView {
    fn from(m: MemberRow) -> Self {
        MemberView {
            id: m.id,
            name: m.name,
            id_number: m.id_number,
            birth_date: m.birth_date,
            male: m.male,
            relation: m.relation,
            labour_capacity: m.labour_capacity,
            disability_grade: m.disability_grade,
            chronic_illness: m.chronic_illness,
            student: m.student,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdView {
    pub id: String,
    pub village_code: String,
    pub village_name: String,
    pub reference: Option<String>,
    pub head_name: String,
    pub address: String,
    pub urban: bool,
    /// Registered location of the home.
    pub location: Option<Location>,
    pub phone: Option<String>,
    pub responsible_worker_id: Option<String>,
    pub active: bool,
    pub members: Vec<MemberView>,
    #[serde(with = "crate::serde_util::utc")]
    pub created_at: chrono::NaiveDateTime,
    #[serde(with = "crate::serde_util::utc")]
    pub updated_at: chrono::NaiveDateTime,
}

/// A row of the household list: no ID numbers, no phone.
#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdSummary {
    pub id: String,
    pub village_code: String,
    pub village_name: String,
    pub reference: Option<String>,
    pub head_name: String,
    pub urban: bool,
    pub has_location: bool,
    pub responsible_worker_id: Option<String>,
    pub active: bool,
    pub member_count: i64,
}

fn location_of(row: &HouseholdRow) -> Option<Location> {
    row.lat.zip(row.lon).map(|(lat, lon)| Location { lat, lon })
}

fn not_found() -> ApiError {
    ApiError::not_found("Household", "该家庭")
}

/// The full view of a household in scope.
pub fn household_view(conn: &mut DbConn, scope: &Scope, id: &str) -> ApiResult<HouseholdView> {
    let (row, village_name, _) = store::find(conn, scope, id)?.ok_or_else(not_found)?;
    let members = store::active_members(conn, &row.id)?;
    Ok(HouseholdView {
        location: location_of(&row),
        members: members.into_iter().map(MemberView::from).collect(),
        id: row.id,
        village_code: row.village_code,
        village_name,
        reference: row.reference,
        head_name: row.head_name,
        address: row.address,
        urban: row.urban,
        phone: row.phone,
        responsible_worker_id: row.responsible_worker_id,
        active: row.active,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Any jurisdiction code inside the caller's subtree: households in its subtree.
    pub jurisdiction: Option<String>,
    /// Responsible worker's user id.
    pub worker: Option<String>,
    pub urban: Option<bool>,
    /// Default: active households only.
    pub active: Option<bool>,
    /// Part of the head's name.
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// List households in the caller's subtree, filtered, by creation order.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of households", body = Page<HouseholdSummary>),
        (status = 403, description = "The jurisdiction filter is outside the caller's subtree", body = ErrorBody),
    )
)]
#[get("/api/v1/households")]
pub async fn list_households(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadHouseholds)?;
    let query = query.into_inner();
    let page = PageParams {
        cursor: query.cursor,
        limit: query.limit,
    };
    let (limit, after) = (page.limit()?, page.after()?);
    let rows = state
        .db
        .run(move |conn| {
            let within_path = match &query.jurisdiction {
                Some(code) => {
                    let node = crate::jurisdictions::store::find(conn, &caller.scope, code)?
                        .ok_or_else(ApiError::forbidden)?;
                    caller.authorize(Action::ReadHouseholds, &node.path)?;
                    Some(node.path)
                }
                None => None,
            };
            let filter = store::Filter {
                within_path,
                worker_id: query.worker,
                urban: query.urban,
                active: Some(query.active.unwrap_or(true)),
                head_name_contains: query.q.filter(|q| !q.trim().is_empty()),
            };
            store::list(conn, &caller.scope, &filter, after.as_deref(), limit)
        })
        .await?;
    let page = Page::from_rows(rows, limit, |(h, _, _)| h.id.clone()).map(
        |(h, village_name, member_count)| HouseholdSummary {
            has_location: h.lat.is_some(),
            id: h.id,
            village_code: h.village_code,
            village_name,
            reference: h.reference,
            head_name: h.head_name,
            urban: h.urban,
            responsible_worker_id: h.responsible_worker_id,
            active: h.active,
            member_count,
        },
    );
    Ok(HttpResponse::Ok().json(page))
}

/// One household with its active members.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = HouseholdView),
        (status = 404, description = "No such household in the caller's subtree", body = ErrorBody),
    )
)]
#[get("/api/v1/households/{id}")]
pub async fn get_household(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadHouseholds)?;
    let id = id.into_inner();
    let view = state
        .db
        .run(move |conn| household_view(conn, &caller.scope, &id))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHousehold {
    pub village_code: String,
    /// The county's own household number (户编号), unique within the village; imports use it
    /// to recognise a household on re-run.
    pub reference: Option<String>,
    pub head_name: String,
    pub address: String,
    pub urban: bool,
    pub location: Option<Location>,
    pub phone: Option<String>,
    pub responsible_worker_id: Option<String>,
    pub members: Vec<MemberInput>,
}

impl CreateHousehold {
    fn validate(self) -> ApiResult<NewHousehold> {
        Ok(NewHousehold {
            reference: self
                .reference
                .as_deref()
                .map(|r| required_text("reference", r, 64))
                .transpose()?,
            head_name: required_text("head_name", &self.head_name, 50)?,
            address: required_text("address", &self.address, 200)?,
            location: self
                .location
                .map(|l| Location::new(l.lat, l.lon))
                .transpose()?,
            phone: self.phone.as_deref().map(validated_phone).transpose()?,
            members: self
                .members
                .iter()
                .map(MemberInput::validate)
                .collect::<ApiResult<_>>()?,
            village_code: self.village_code,
            urban: self.urban,
            responsible_worker_id: self.responsible_worker_id,
        })
    }
}

/// Register a household with its members (township reviewer, admin).
///
/// Refused with 409 when a member's ID number is active in another household anywhere in the
/// system; the error names that household's place only as far as the caller may see.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    request_body = CreateHousehold,
    responses(
        (status = 201, body = HouseholdView),
        (status = 409, description = "A member is active in another household, or the reference is taken", body = ErrorBody),
    )
)]
#[post("/api/v1/households")]
pub async fn create_household(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateHousehold>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::WriteHouseholds)?;
    let input = body.into_inner().validate()?;
    let view = state
        .db
        .write(move |conn| {
            let village = service::resolve_village(conn, &caller.scope, &input.village_code)?;
            caller.authorize(Action::WriteHouseholds, &village.path)?;
            let id = service::create_household(conn, &caller.actor(), &caller.scope, input)?;
            household_view(conn, &caller.scope, &id)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Fields to change; `location: null` or `phone: null` clears them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHousehold {
    pub head_name: Option<String>,
    pub address: Option<String>,
    pub urban: Option<bool>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub location: Option<Option<Location>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub responsible_worker_id: Option<Option<String>>,
}

/// Find a household for a write: in scope (else 404), and the caller may write there (else 403).
fn household_for_write(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> ApiResult<(HouseholdRow, String)> {
    let (row, _, path) = store::find(conn, &caller.scope, id)?.ok_or_else(not_found)?;
    caller.authorize(Action::WriteHouseholds, &path)?;
    if !row.active {
        return Err(ApiError::conflict(
            "household_closed",
            "This household is closed",
            "该家庭档案已注销",
        ));
    }
    Ok((row, path))
}

/// Change a household's details (township reviewer, admin).
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = UpdateHousehold,
    responses(
        (status = 200, body = HouseholdView),
        (status = 404, description = "No such household in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The household is closed", body = ErrorBody),
    )
)]
#[patch("/api/v1/households/{id}")]
pub async fn update_household(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<UpdateHousehold>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::WriteHouseholds)?;
    let body = body.into_inner();
    let head_name = body
        .head_name
        .as_deref()
        .map(|v| required_text("head_name", v, 50))
        .transpose()?;
    let address = body
        .address
        .as_deref()
        .map(|v| required_text("address", v, 200))
        .transpose()?;
    let location = body
        .location
        .map(|l| l.map(|l| Location::new(l.lat, l.lon)).transpose())
        .transpose()?;
    let phone = body
        .phone
        .map(|p| p.as_deref().map(validated_phone).transpose())
        .transpose()?;
    let id = id.into_inner();
    let view = state
        .db
        .write(move |conn| {
            let (before, _) = household_for_write(conn, &caller, &id)?;
            let village = service::resolve_village(conn, &caller.scope, &before.village_code)?;
            if let Some(Some(l)) = location {
                service::check_location(&village, l)?;
            }
            let worker = match body.responsible_worker_id {
                Some(Some(w)) => Some(service::resolve_worker(conn, &caller.scope, &w, &village)?),
                Some(None) => None,
                None => before.responsible_worker_id.clone(),
            };
            let (lat, lon) = match location {
                Some(l) => (l.map(|l| l.lat), l.map(|l| l.lon)),
                None => (before.lat, before.lon),
            };
            let after = HouseholdRow {
                head_name: head_name.unwrap_or_else(|| before.head_name.clone()),
                address: address.unwrap_or_else(|| before.address.clone()),
                urban: body.urban.unwrap_or(before.urban),
                lat,
                lon,
                phone: phone.unwrap_or_else(|| before.phone.clone()),
                responsible_worker_id: worker,
                updated_at: audit::store::now(),
                ..before.clone()
            };
            store::update_household(conn, &after)?;
            let members = store::active_members(conn, &id)?.len();
            audit::store::append(
                conn,
                &caller.actor(),
                Event {
                    action: "household.update",
                    target_type: "household",
                    target_id: &id,
                    summary: serde_json::json!({
                        "before": service::household_summary(&before, members),
                        "after": service::household_summary(&after, members),
                    }),
                },
            )?;
            household_view(conn, &caller.scope, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Close a household (moved away, merged, died out): it and its members become inactive,
/// so its members may be registered elsewhere (township reviewer, admin).
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Closed"),
        (status = 404, description = "No such household in the caller's subtree", body = ErrorBody),
        (status = 409, description = "Already closed, or it has an open case", body = ErrorBody),
    )
)]
#[delete("/api/v1/households/{id}")]
pub async fn close_household(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::WriteHouseholds)?;
    let id = id.into_inner();
    state
        .db
        .write(move |conn| {
            let (before, _) = household_for_write(conn, &caller, &id)?;
            // An open case must be decided (or rejected) first: it would be orphaned.
            if let Some(case) = crate::cases::store::open_of_household(conn, &id)? {
                return Err(ApiError::conflict(
                    "case_open",
                    "The household has an open case; decide or reject it before closing",
                    "该家庭有未办结的案件，请先办结后再注销",
                )
                .with_details(serde_json::json!({ "case_id": case.id, "state": case.state })));
            }
            let at = audit::store::now();
            store::update_household(
                conn,
                &HouseholdRow {
                    active: false,
                    updated_at: at,
                    ..before.clone()
                },
            )?;
            store::deactivate_members_of(conn, &id, at)?;
            audit::store::append(
                conn,
                &caller.actor(),
                Event {
                    action: "household.close",
                    target_type: "household",
                    target_id: &id,
                    summary: serde_json::json!({ "before": { "active": true }, "after": { "active": false } }),
                },
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add a member (township reviewer, admin); 409 when the person is active in another household.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = MemberInput,
    responses(
        (status = 201, body = HouseholdView),
        (status = 404, description = "No such household in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The person is active in another household", body = ErrorBody),
    )
)]
#[post("/api/v1/households/{id}/members")]
pub async fn add_member(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<MemberInput>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::WriteHouseholds)?;
    let member = body.into_inner().validate()?;
    let id = id.into_inner();
    let view = state
        .db
        .write(move |conn| {
            household_for_write(conn, &caller, &id)?;
            service::add_member(conn, &caller.actor(), &caller.scope, &id, &member)?;
            household_view(conn, &caller.scope, &id)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Correct a member's details; the ID number cannot change (township reviewer, admin).
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(("id" = String, Path), ("member_id" = String, Path)),
    request_body = MemberInput,
    responses(
        (status = 200, body = HouseholdView),
        (status = 404, description = "No such household or member in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The household is closed, or the ID number is active in another household", body = ErrorBody),
        (status = 422, description = "Invalid fields, or a different ID number", body = ErrorBody),
    )
)]
#[patch("/api/v1/households/{id}/members/{member_id}")]
pub async fn update_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<MemberInput>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::WriteHouseholds)?;
    let member = body.into_inner().validate()?;
    let (id, member_id) = path.into_inner();
    let view = state
        .db
        .write(move |conn| {
            household_for_write(conn, &caller, &id)?;
            let current = store::active_members(conn, &id)?;
            let before = current
                .iter()
                .find(|m| m.id == member_id)
                .ok_or_else(|| ApiError::not_found("Member", "该成员"))?;
            if before.id_number != member.id_number.as_str() {
                return Err(field_error(
                    "id_number",
                    "id_number_immutable",
                    "A member's ID number cannot change; remove the member and add the other person",
                    "成员身份证号不可修改；如为他人，请移除后重新添加",
                ));
            }
            let other_head = current.iter().any(|m| m.id != member_id && m.relation == "head");
            if (member.relation == super::Relation::Head) == other_head {
                return Err(field_error(
                    "relation",
                    "household_head_count",
                    "A household has exactly one head",
                    "一户必须有且只有一名户主",
                ));
            }
            store::update_member(conn, &member_id, &member, audit::store::now())?;
            audit::store::append(
                conn,
                &caller.actor(),
                Event {
                    action: "member.update",
                    target_type: "household",
                    target_id: &id,
                    summary: serde_json::json!({ "member_id": member_id, "after": service::member_summary(&member) }),
                },
            )?;
            household_view(conn, &caller.scope, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Remove a member who left the household (township reviewer, admin). The head cannot be
/// removed; close the household or make another member head first.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(("id" = String, Path), ("member_id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such household or member in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The head cannot be removed", body = ErrorBody),
    )
)]
#[delete("/api/v1/households/{id}/members/{member_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::WriteHouseholds)?;
    let (id, member_id) = path.into_inner();
    state
        .db
        .write(move |conn| {
            household_for_write(conn, &caller, &id)?;
            let member = store::active_members(conn, &id)?
                .into_iter()
                .find(|m| m.id == member_id)
                .ok_or_else(|| ApiError::not_found("Member", "该成员"))?;
            if member.relation == "head" {
                return Err(ApiError::conflict(
                    "cannot_remove_head",
                    "The head of household cannot be removed",
                    "不能移除户主",
                ));
            }
            store::deactivate_member(conn, &member_id, audit::store::now())?;
            audit::store::append(
                conn,
                &caller.actor(),
                Event {
                    action: "member.remove",
                    target_type: "household",
                    target_id: &id,
                    summary: serde_json::json!({ "member_id": member_id, "before": { "name": member.name, "active": true } }),
                },
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    pub id_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LookupResult {
    /// Whether the person is an active member of a household inside the caller's subtree.
    pub found: bool,
    pub household_id: Option<String>,
}

/// Find the household a person (ID number) is active in, within the caller's subtree.
/// POST so the ID number never appears in a URL or an access log.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    request_body = LookupRequest,
    responses((status = 200, body = LookupResult))
)]
#[post("/api/v1/members/lookup")]
pub async fn lookup_member(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<LookupRequest>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadHouseholds)?;
    let id_number = super::parse_id_number(&body.id_number)?;
    let household_id = state
        .db
        .run(move |conn| {
            Ok(store::active_holder(conn, id_number.as_str())?
                .filter(|(_, path)| caller.scope.contains(path))
                .map(|(id, _)| id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(LookupResult {
        found: household_id.is_some(),
        household_id,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Import the good households and report the bad rows, instead of importing nothing.
    #[serde(default)]
    pub skip_bad_rows: bool,
}

/// Import households from CSV, one row per member (admin). Columns: household_ref,
/// village_code, head_name, address, urban, lat, lon, phone, worker_username, member_name,
/// id_number, relation, labour_capacity, disability_grade, chronic_illness, student.
/// Safe to re-run: unchanged households are left alone.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "Imported (possibly skipping bad rows)", body = super::import::ImportReport),
        (status = 422, description = "Bad rows; nothing imported. `details` holds the report", body = ErrorBody),
    )
)]
#[post("/api/v1/households/import")]
pub async fn import_households(
    state: web::Data<AppState>,
    caller: Caller,
    req: actix_web::HttpRequest,
    query: web::Query<ImportQuery>,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ImportHouseholds)?;
    ApiError::require_content_type(&req, &["text/csv"])?;
    // Read only once the caller may import, and never more than the CSV limit.
    let body = crate::limits::read_body(body, state.settings.max_csv_bytes).await?;
    let skip = query.skip_bad_rows;
    let report = state
        .db
        .run(move |conn| {
            super::import::run(conn, &caller.actor(), &caller.scope, &body, skip, &|_| {})
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
