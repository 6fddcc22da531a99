//! The phone's download before going offline: every case in the caller's villages waiting
//! for a visit (new, returned with what to redo, reinvestigations), with the household, its
//! members, location, the village polygon and the checklist of the scheme in force. One
//! request; an unchanged download answers 304 to `If-None-Match`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{Datelike, NaiveDateTime};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Action, Caller, Role};
use crate::cases::lifecycle::State;
use crate::cases::{service as cases_service, store as cases_store};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::households::id_number::IdNumber;
use crate::households::{Location, store as households_store};
use crate::jurisdictions;
use crate::scoring::service as scoring_service;

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignedMember {
    pub name: String,
    pub relation: String,
    /// Masked: the phone keeps no full ID numbers offline.
    pub id_number_masked: String,
    pub male: bool,
    pub birth_year: i32,
    pub labour_capacity: String,
    pub disability_grade: Option<i32>,
    pub chronic_illness: bool,
    pub student: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignedHousehold {
    pub id: String,
    pub head_name: String,
    pub address: String,
    pub urban: bool,
    /// Registered location; absent until a visit's photos confirm one.
    pub location: Option<Location>,
    pub members: Vec<AssignedMember>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Assignment {
    pub case_id: String,
    pub kind: String,
    pub state: State,
    #[serde(with = "crate::serde_util::utc_opt")]
    pub due_at: Option<NaiveDateTime>,
    /// For returned or reinvestigated cases: the items and photo kinds to redo and why.
    #[schema(value_type = Option<Object>)]
    pub redo: Option<Value>,
    pub village_code: String,
    /// The version (of the county's scheme list below) to fill in.
    pub scheme_version: i32,
    pub household: AssignedHousehold,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignedScheme {
    pub county_code: String,
    pub version: i32,
    pub content_hash: String,
    /// Sections and items, in the order the phone shows them.
    #[schema(value_type = Object)]
    pub checklist: Value,
    pub required_photo_kinds: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignedVillage {
    pub code: String,
    pub name: String,
    /// GeoJSON boundary, for the phone's own outside-the-village warning.
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Assignments {
    pub assignments: Vec<Assignment>,
    pub schemes: Vec<AssignedScheme>,
    pub villages: Vec<AssignedVillage>,
}

fn build(conn: &mut DbConn, state: &AppState, caller: &Caller) -> ApiResult<Assignments> {
    let visitor = if caller.role == Role::CountyOfficer {
        cases_store::Visitor::Inspector(&caller.user_id)
    } else {
        cases_store::Visitor::Village
    };
    let rows = cases_store::awaiting_visit(conn, &caller.scope, visitor)?;
    let mut out = Assignments {
        assignments: Vec::new(),
        schemes: Vec::new(),
        villages: Vec::new(),
    };
    for row in rows {
        let (household, _, path) = households_store::find(conn, &caller.scope, &row.household_id)?
            .ok_or_else(|| ApiError::internal("case household missing"))?;
        let county = jurisdictions::store::county_of(conn, &path)?
            .ok_or_else(|| ApiError::internal("village without county"))?;
        let (version, scheme) = scoring_service::scheme_for(conn, &state.schemes, &county, None)?;
        if !out
            .schemes
            .iter()
            .any(|s| s.county_code == county.code && s.version == version.version)
        {
            out.schemes.push(AssignedScheme {
                county_code: county.code.clone(),
                version: version.version,
                content_hash: version.content_hash.clone(),
                checklist: serde_json::json!({ "sections": scheme.sections, "items": scheme.items }),
                required_photo_kinds: super::service::scheme_required_kinds(&scheme),
            });
        }
        if !out.villages.iter().any(|v| v.code == row.village_code) {
            let village = jurisdictions::store::find(conn, &caller.scope, &row.village_code)?
                .ok_or_else(|| ApiError::internal("case village missing"))?;
            out.villages.push(AssignedVillage {
                boundary: village
                    .boundary
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(ApiError::internal)?,
                code: village.code,
                name: village.name,
            });
        }
        let members = households_store::active_members(conn, &household.id)?
            .into_iter()
            .map(|m| AssignedMember {
                id_number_masked: IdNumber::parse(&m.id_number)
                    .map(|id| id.masked())
                    .unwrap_or_default(),
                birth_year: m.birth_date.year(),
                name: m.name,
                relation: m.relation,
                male: m.male,
                labour_capacity: m.labour_capacity,
                disability_grade: m.disability_grade,
                chronic_illness: m.chronic_illness,
                student: m.student,
            })
            .collect();
        out.assignments.push(Assignment {
            state: cases_service::state_of(&row)?,
            redo: row.redo_json()?,
            case_id: row.id,
            kind: row.kind,
            due_at: row.due_at,
            village_code: row.village_code,
            scheme_version: version.version,
            household: AssignedHousehold {
                location: household
                    .lat
                    .zip(household.lon)
                    .map(|(lat, lon)| Location { lat, lon }),
                id: household.id,
                head_name: household.head_name,
                address: household.address,
                urban: household.urban,
                members,
            },
        });
    }
    Ok(out)
}

/// What to visit, for download before going offline. Send the last `ETag` as
/// `If-None-Match`: an unchanged download is a 304 with no body.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    params(("If-None-Match" = Option<String>, Header, description = "ETag of the copy the phone holds")),
    responses(
        (status = 200, body = Assignments, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag"),
        (status = 403, body = ErrorBody),
    )
)]
#[get("/api/v1/assignments")]
pub async fn assignments(
    state: web::Data<AppState>,
    caller: Caller,
    request: HttpRequest,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::SubmitVisits)?;
    let app = state.clone();
    let body = state.db.run(move |conn| build(conn, &app, &caller)).await?;
    let bytes = serde_json::to_vec(&body).map_err(ApiError::internal)?;
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    let unchanged = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"));
    Ok(if unchanged {
        response.finish()
    } else {
        response.content_type("application/json").body(bytes)
    })
}
