//! Scheme publishing and assessments over HTTP.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::service;
use super::store::{self, AssessmentRow, VersionRow};
use crate::app::AppState;
use crate::auth::{Action, Caller};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::households;
use crate::jurisdictions;

#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeVersionView {
    pub county_code: String,
    pub version: i32,
    pub name: String,
    /// SHA-256 of the scheme's canonical form: the version's identity.
    pub content_hash: String,
    pub active: bool,
    #[serde(with = "crate::serde_util::utc")]
    pub published_at: chrono::NaiveDateTime,
    pub published_by: String,
}

impl From<&VersionRow> for SchemeVersionView {
    fn from(row: &VersionRow) -> Self {
        SchemeVersionView {
            county_code: row.county_code.clone(),
            version: row.version,
            name: row.name.clone(),
            content_hash: row.content_hash.clone(),
            active: row.active,
            published_at: row.published_at,
            published_by: row.published_by.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeDetail {
    #[serde(flatten)]
    pub version: SchemeVersionView,
    /// The scheme as published (TOML).
    pub source: String,
    /// The parsed scheme: checklist items, sections, rules, income test, bands.
    #[schema(value_type = Object)]
    pub scheme: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentView {
    pub id: String,
    pub household_id: String,
    pub scheme_version: i32,
    pub scheme_hash: String,
    pub outcome: String,
    pub score: i32,
    pub band: String,
    pub review_class: String,
    pub payment_fen: Option<i64>,
    pub county_visit: bool,
    /// The assessment this one replaced, if any; both stay readable.
    pub supersedes_id: Option<String>,
    #[serde(with = "crate::serde_util::utc")]
    pub created_at: chrono::NaiveDateTime,
    pub created_by: String,
    /// The household facts and answers it was computed from.
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    /// The full result: income computation, rule hits, sections, explanation lines (zh/en).
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
}

pub fn assessment_view(conn: &mut DbConn, row: AssessmentRow) -> ApiResult<AssessmentView> {
    let version = store::by_id(conn, &row.scheme_version_id)?;
    let parse = |text: &str| serde_json::from_str(text).map_err(ApiError::internal);
    Ok(AssessmentView {
        inputs: parse(&row.inputs)?,
        result: parse(&row.result)?,
        id: row.id,
        household_id: row.household_id,
        scheme_version: version.version,
        scheme_hash: row.scheme_hash,
        outcome: row.outcome,
        score: row.score,
        band: row.band,
        review_class: row.review_class,
        payment_fen: row.payment_fen,
        county_visit: row.county_visit,
        supersedes_id: row.supersedes_id,
        created_at: row.created_at,
        created_by: row.created_by,
    })
}

fn household_not_found() -> ApiError {
    ApiError::not_found("Household", "该家庭")
}

/// The scheme versions of a county, newest first.
#[utoipa::path(
    tag = "scoring",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code")),
    responses(
        (status = 200, body = Vec<SchemeVersionView>),
        (status = 404, description = "No such county for the caller", body = ErrorBody),
    )
)]
#[get("/api/v1/jurisdictions/{code}/schemes")]
pub async fn list_schemes(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadSchemes)?;
    let code = code.into_inner();
    let rows = state
        .db
        .run(move |conn| {
            let county = jurisdictions::api::county_for(conn, &caller, &code, Action::ReadSchemes)?;
            store::versions(conn, &county.code)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(SchemeVersionView::from).collect::<Vec<_>>()))
}

/// One scheme version with its source and parsed content.
#[utoipa::path(
    tag = "scoring",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code"), ("version" = i32, Path)),
    responses(
        (status = 200, body = SchemeDetail),
        (status = 404, description = "No such county or version", body = ErrorBody),
    )
)]
#[get("/api/v1/jurisdictions/{code}/schemes/{version}")]
pub async fn get_scheme(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, i32)>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadSchemes)?;
    let (code, version) = path.into_inner();
    let state2 = state.clone();
    let detail = state
        .db
        .run(move |conn| {
            let county = jurisdictions::api::county_for(conn, &caller, &code, Action::ReadSchemes)?;
            let (row, scheme) = service::scheme_for(conn, &state2.schemes, &county, Some(version))?;
            Ok(SchemeDetail {
                version: SchemeVersionView::from(&row),
                scheme: serde_json::to_value(&*scheme).map_err(ApiError::internal)?,
                source: row.source,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PublishQuery {
    /// Put the new version in force at once (default true).
    pub activate: Option<bool>,
}

/// Publish a scheme (TOML body) as the county's next version (county officer, admin).
///
/// Every problem in the file is listed in one 422. Publishing the same content again returns
/// the existing version (200) instead of a new one.
#[utoipa::path(
    tag = "scoring",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code"), PublishQuery),
    request_body(content = String, content_type = "application/toml"),
    responses(
        (status = 201, description = "Published", body = SchemeVersionView),
        (status = 200, description = "The same content was already published", body = SchemeVersionView),
        (status = 404, description = "No such county for the caller", body = ErrorBody),
    )
)]
#[post("/api/v1/jurisdictions/{code}/schemes")]
pub async fn publish_scheme(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<PublishQuery>,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::PublishSchemes)?;
    ApiError::require_content_type(&req, &["application/toml", "text/plain"])?;
    // A scheme is a small text file: the JSON body limit is ample.
    let body = crate::limits::read_body(body, state.settings.max_json_bytes).await?;
    let source = String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::bad_request(
            "body_not_utf8",
            "The scheme file must be UTF-8",
            "方案文件必须为 UTF-8 编码",
        )
    })?;
    let code = code.into_inner();
    let activate = query.activate.unwrap_or(true);
    let (row, created) = state
        .db
        .write(move |conn| {
            let county =
                jurisdictions::api::county_for(conn, &caller, &code, Action::PublishSchemes)?;
            service::publish(conn, &caller.actor(), &county, &source, activate)
        })
        .await?;
    let view = SchemeVersionView::from(&row);
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Published versions are immutable: replacing one is always refused (publish a new version).
#[utoipa::path(
    tag = "scoring",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code"), ("version" = i32, Path)),
    responses((status = 409, description = "Published versions cannot change", body = ErrorBody))
)]
#[put("/api/v1/jurisdictions/{code}/schemes/{version}")]
pub async fn replace_scheme(caller: Caller) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::PublishSchemes)?;
    Err(ApiError::conflict(
        "scheme_version_immutable",
        "A published scheme version never changes; publish a new version instead",
        "已发布的方案版本不可修改，请发布新版本",
    ))
}

/// Put an earlier or later version in force (county officer, admin).
#[utoipa::path(
    tag = "scoring",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code"), ("version" = i32, Path)),
    responses(
        (status = 200, body = SchemeVersionView),
        (status = 404, description = "No such county or version", body = ErrorBody),
    )
)]
#[post("/api/v1/jurisdictions/{code}/schemes/{version}/activate")]
pub async fn activate_scheme(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, i32)>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::PublishSchemes)?;
    let (code, version) = path.into_inner();
    let row = state
        .db
        .write(move |conn| {
            let county =
                jurisdictions::api::county_for(conn, &caller, &code, Action::PublishSchemes)?;
            let row = store::version(conn, &county.code, version)?
                .ok_or_else(|| ApiError::not_found("Scheme version", "该方案版本"))?;
            store::activate(conn, &county.code, &row.id)?;
            crate::audit::store::append(
                conn,
                &caller.actor(),
                crate::audit::Event {
                    action: "scheme.activate",
                    target_type: "jurisdiction",
                    target_id: &county.code,
                    summary: serde_json::json!({ "version": version }),
                },
            )?;
            store::by_id(conn, &row.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(SchemeVersionView::from(&row)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessRequest {
    /// Checklist answers by item key (see the scheme's items for types and ranges).
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    /// A specific version of the county's scheme; default the one in force.
    pub scheme_version: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    pub scheme_version: i32,
    pub scheme_hash: String,
    /// The full result, as a stored assessment would hold it.
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
}

/// An assessment computed for a household in scope, with what it was computed from.
struct Computed {
    household_path: String,
    version: VersionRow,
    facts: super::HouseholdFacts,
    assessment: super::Assessment,
}

/// Computes an assessment for a household in scope; shared by preview and record.
fn assess_household(
    conn: &mut DbConn,
    state: &AppState,
    caller: &Caller,
    household_id: &str,
    request: &AssessRequest,
) -> ApiResult<Computed> {
    let (household, _, path) = households::store::find(conn, &caller.scope, household_id)?
        .ok_or_else(household_not_found)?;
    let county = jurisdictions::store::county_of(conn, &path)?
        .ok_or_else(jurisdictions::api::county_not_found)?;
    let (version, scheme) =
        service::scheme_for(conn, &state.schemes, &county, request.scheme_version)?;
    let members = households::store::active_members(conn, &household.id)?;
    let facts = service::household_facts(&household, &members, service::today_in_china());
    let assessment = service::evaluate(&scheme, &facts, &request.answers)?;
    Ok(Computed {
        household_path: path,
        version,
        facts,
        assessment,
    })
}

/// Score a household for given answers without storing anything ("what if"; the phone's
/// score before submitting).
#[utoipa::path(
    tag = "scoring",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Household id")),
    request_body = AssessRequest,
    responses(
        (status = 200, body = PreviewView),
        (status = 404, description = "No such household in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The county has no scheme in force", body = ErrorBody),
    )
)]
#[post("/api/v1/households/{id}/assessments/preview")]
pub async fn preview_assessment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<AssessRequest>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadHouseholds)?;
    let (id, request) = (id.into_inner(), body.into_inner());
    let state2 = state.clone();
    let computed = state
        .db
        .run(move |conn| assess_household(conn, &state2, &caller, &id, &request))
        .await?;
    Ok(HttpResponse::Ok().json(PreviewView {
        scheme_version: computed.version.version,
        scheme_hash: computed.version.content_hash,
        result: serde_json::to_value(computed.assessment).map_err(ApiError::internal)?,
    }))
}

/// Record an assessment of a household (township reviewer, admin); it supersedes the previous
/// one, which stays readable.
#[utoipa::path(
    tag = "scoring",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Household id")),
    request_body = AssessRequest,
    responses(
        (status = 201, body = AssessmentView),
        (status = 404, description = "No such household in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The county has no scheme in force", body = ErrorBody),
    )
)]
#[post("/api/v1/households/{id}/assessments")]
pub async fn record_assessment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<AssessRequest>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::RecordAssessments)?;
    let (id, request) = (id.into_inner(), body.into_inner());
    let state2 = state.clone();
    let view = state
        .db
        .write(move |conn| {
            let c = assess_household(conn, &state2, &caller, &id, &request)?;
            caller.authorize(Action::RecordAssessments, &c.household_path)?;
            let row = service::record(
                conn,
                &caller.actor(),
                &id,
                &c.version,
                &c.facts,
                &request.answers,
                &c.assessment,
            )?;
            assessment_view(conn, row)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// A household's assessments, newest first.
#[utoipa::path(
    tag = "scoring",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Household id")),
    responses(
        (status = 200, body = Vec<AssessmentView>),
        (status = 404, description = "No such household in the caller's subtree", body = ErrorBody),
    )
)]
#[get("/api/v1/households/{id}/assessments")]
pub async fn list_assessments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadHouseholds)?;
    let id = id.into_inner();
    let views = state
        .db
        .run(move |conn| {
            households::store::find(conn, &caller.scope, &id)?.ok_or_else(household_not_found)?;
            store::of_household(conn, &id)?
                .into_iter()
                .map(|row| assessment_view(conn, row))
                .collect::<ApiResult<Vec<_>>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(views))
}

/// One stored assessment with its inputs and full result.
#[utoipa::path(
    tag = "scoring",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Assessment id")),
    responses(
        (status = 200, body = AssessmentView),
        (status = 404, description = "No such assessment in the caller's subtree", body = ErrorBody),
    )
)]
#[get("/api/v1/assessments/{id}")]
pub async fn get_assessment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadHouseholds)?;
    let id = id.into_inner();
    let view = state
        .db
        .run(move |conn| {
            let row = store::find_assessment(conn, &caller.scope, &id)?
                .ok_or_else(|| ApiError::not_found("Assessment", "该评估"))?;
            assessment_view(conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
