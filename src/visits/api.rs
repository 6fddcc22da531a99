//! Visit submission from the phone (one JSON request after the photos are uploaded) and
//! reading a visit with its flags and photos, scoped to the caller's jurisdiction.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::checks::{Flag, Thresholds};
use super::{service, store};
use crate::app::AppState;
use crate::auth::{Action, Caller};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::jurisdictions::settings;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffMember {
    /// An account of this service…
    pub user_id: Option<String>,
    /// …or a village cadre without one: name and role.
    pub name: Option<String>,
    pub role: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitPhoto {
    /// Lower-case hex SHA-256 of an uploaded photo.
    pub digest: String,
    /// The kind the scheme asks for: house_exterior, kitchen, bedroom, members_with_staff, documents.
    pub kind: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Signer {
    Applicant,
    Staff,
}

impl Signer {
    pub fn as_str(self) -> &'static str {
        match self {
            Signer::Applicant => "applicant",
            Signer::Staff => "staff",
        }
    }
}

/// A signature drawn on the phone, uploaded like a photo (`kind signature`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitSignature {
    /// Lower-case hex SHA-256 of the uploaded PNG.
    pub digest: String,
    pub signer: Signer,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationFix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    /// gps, network, fused …
    pub provider: String,
    /// The OS said the location is simulated.
    pub mock: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitVisit {
    /// Generated on the phone: the idempotency key.
    pub visit_id: uuid::Uuid,
    pub household_id: String,
    /// The county's scheme version the phone's checklist came from.
    pub scheme_version: i32,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub location_fix: LocationFix,
    pub staff: Vec<StaffMember>,
    #[schema(value_type = Object)]
    pub answers: Value,
    pub photos: Vec<VisitPhoto>,
    /// The applicant's and the staff's signatures (may be empty for phones that do not
    /// collect them yet).
    #[serde(default)]
    pub signatures: Vec<VisitSignature>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssessmentSummary {
    pub id: String,
    pub outcome: String,
    pub score: i32,
    pub band: String,
    pub county_visit: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VisitView {
    pub id: String,
    pub household_id: String,
    /// The case the visit belongs to; it moves into the township's review queue.
    pub case_id: String,
    pub scheme_version: i32,
    pub flags: Vec<Flag>,
    pub assessment: AssessmentSummary,
    /// The earlier visit of this household that this one replaces (it stays readable).
    pub supersedes_id: Option<String>,
    pub photos: Vec<VisitPhoto>,
    #[serde(default)]
    pub signatures: Vec<VisitSignature>,
    /// Set when this visit gave the household its registered location.
    pub located_household: bool,
}

fn invalid(code: &'static str, en: &str, zh: &str) -> ApiError {
    ApiError::unprocessable(code, en.to_owned(), zh.to_owned())
}

impl SubmitVisit {
    /// What the body alone can prove wrong, before the database is asked anything.
    pub fn check(&self) -> ApiResult<()> {
        if self.ended_at < self.started_at {
            return Err(invalid(
                "visit_times_invalid",
                "The visit ends before it starts",
                "走访结束时间早于开始时间",
            ));
        }
        crate::households::Location::new(self.location_fix.lat, self.location_fix.lon)?;
        if !self.location_fix.accuracy_m.is_finite() || self.location_fix.accuracy_m < 0.0 {
            return Err(invalid(
                "location_fix_invalid",
                "The fix accuracy must be a non-negative number",
                "定位精度必须为非负数",
            ));
        }
        Ok(())
    }

    /// The request as stored, and the SHA-256 of its text that tells a re-send of the same
    /// visit from different content under the same id.
    pub fn canonical(&self) -> ApiResult<(Value, String)> {
        let canonical = serde_json::to_value(self).map_err(ApiError::internal)?;
        let hash = hex::encode(Sha256::digest(canonical.to_string().as_bytes()));
        Ok((canonical, hash))
    }
}

/// Submit a visit. Re-sending the same visit (same id, same content) returns the same answer;
/// the same id with different content is 409. A photo that is not uploaded yet makes the whole
/// visit 409 with the missing digests, and nothing is stored. The visit is checked for evidence
/// flags and assessed at once.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    request_body = SubmitVisit,
    responses(
        (status = 201, description = "Stored, checked and assessed", body = VisitView),
        (status = 200, description = "The same visit was already stored: the same answer", body = VisitView),
        (status = 404, description = "No such household in the caller's subtree", body = ErrorBody),
        (status = 409, description = "Photos missing, or the visit id was used for different content", body = ErrorBody),
    )
)]
#[post("/api/v1/visits")]
pub async fn submit_visit(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<SubmitVisit>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::SubmitVisits)?;
    let request = body.into_inner();
    request.check()?;
    let (canonical, request_hash) = request.canonical()?;
    let state2 = state.clone();
    let (created, view) = state
        .db
        .write(move |conn| {
            if let Some(existing) = store::by_id(conn, &request.visit_id.to_string())? {
                return service::replay(&caller, existing, &request_hash);
            }
            service::submit(conn, &state2, &caller, &request, canonical, request_hash)
                .map(|view| (true, view))
        })
        .await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// A visit with its flags, assessment summary and photos.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = VisitView),
        (status = 404, description = "No such visit in the caller's subtree", body = ErrorBody),
    )
)]
#[get("/api/v1/visits/{id}")]
pub async fn get_visit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadHouseholds)?;
    let id = id.into_inner();
    let row = state
        .db
        .run(move |conn| store::find(conn, &caller.scope, &id))
        .await?
        .ok_or_else(|| ApiError::not_found("Visit", "该走访"))?;
    let view: VisitView = serde_json::from_str(&row.response).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(view))
}

/// A photo of a visit (`original` or `thumbnail`), visible only through a visit the caller may see.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    params(("id" = String, Path), ("digest" = String, Path), ("size" = String, Path, description = "original or thumbnail")),
    responses(
        (status = 200, description = "JPEG", content_type = "image/jpeg"),
        (status = 404, description = "No such photo in a visit the caller may see", body = ErrorBody),
    )
)]
#[get("/api/v1/visits/{id}/photos/{digest}/{size}")]
pub async fn visit_photo(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, digest, size) = path.into_inner();
    evidence_blob(&state, caller, id, digest, photo_store(&size)?).await
}

/// Where a photo of a size (`original`, `thumbnail`) is kept.
pub fn photo_store(size: &str) -> ApiResult<&'static str> {
    match size {
        "original" => Ok("photos"),
        "thumbnail" => Ok("thumbs"),
        _ => Err(ApiError::not_found("Photo size", "该照片规格")),
    }
}

/// A signature of a visit (PNG), visible only through a visit the caller may see.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    params(("id" = String, Path), ("digest" = String, Path)),
    responses(
        (status = 200, description = "PNG", content_type = "image/png"),
        (status = 404, description = "No such signature in a visit the caller may see", body = ErrorBody),
    )
)]
#[get("/api/v1/visits/{id}/signatures/{digest}")]
pub async fn visit_signature(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, digest) = path.into_inner();
    evidence_blob(&state, caller, id, digest, "signatures").await
}

/// A stored blob of a visit the caller may see (`photos`, `thumbs` or `signatures`).
pub async fn evidence_blob(
    state: &web::Data<AppState>,
    caller: Caller,
    visit_id: String,
    digest: String,
    kind: &'static str,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadHouseholds)?;
    let wanted = digest.clone();
    let found = state
        .db
        .run(move |conn| {
            let Some(visit) = store::find(conn, &caller.scope, &visit_id)? else {
                return Ok(false);
            };
            let digests = if kind == "signatures" {
                store::signatures_of(conn, &visit.id)?
            } else {
                store::photos_of(conn, &visit.id)?
                    .into_iter()
                    .map(|(d, _)| d)
                    .collect()
            };
            Ok(digests.contains(&wanted))
        })
        .await?;
    if !found {
        return Err(ApiError::not_found("Photo", "该照片"));
    }
    let bytes = state.photos.blobs.get(kind, &digest).await?;
    let content_type = if kind == "signatures" {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "private, max-age=86400, immutable"))
        .body(bytes))
}

/// The evidence-check thresholds in force in a county (the DOMAIN.md defaults until the
/// county sets its own).
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code")),
    responses((status = 200, body = Thresholds), (status = 404, body = ErrorBody))
)]
#[get("/api/v1/jurisdictions/{code}/evidence-thresholds")]
pub async fn get_thresholds(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    settings::read::<Thresholds>(&state, caller, code.into_inner()).await
}

/// Sets a county's evidence-check thresholds; visits submitted from then on are checked
/// against them.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code")),
    request_body = Thresholds,
    responses(
        (status = 200, body = Thresholds),
        (status = 403, body = ErrorBody),
        (status = 422, description = "A value out of range, named in details", body = ErrorBody),
    )
)]
#[put("/api/v1/jurisdictions/{code}/evidence-thresholds")]
pub async fn set_thresholds(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: web::Json<Thresholds>,
) -> ApiResult<HttpResponse> {
    settings::replace(&state, caller, code.into_inner(), body.into_inner()).await
}
