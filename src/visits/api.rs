//! Visit submission from the phone (one JSON request after the photos are uploaded) and
//! reading a visit with its flags and photos, scoped to the caller's jurisdiction.

use std::sync::Mutex;

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::checks::{self, Flag, Match, PhoneFix, PhotoFacts, Thresholds, VisitFacts};
use super::store::{self, VisitRow};
use crate::app::AppState;
use crate::audit::{self, Event};
use crate::auth::{Action, Caller};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::households;
use crate::jurisdictions::{self, boundary::Boundary};
use crate::photos::lookalike::LookalikeIndex;
use crate::scoring::{self, service as scoring_service};

/// The look-alike index of this node and the last photo row it holds; every search first
/// takes in the rows stored since (by any node), so no photo is ever missed.
#[derive(Default)]
pub struct Lookalikes {
    index: Mutex<(LookalikeIndex, i64)>,
}

impl Lookalikes {
    fn search(
        &self,
        conn: &mut DbConn,
        queries: &[u64],
        radius: u32,
    ) -> ApiResult<Vec<(i64, u32)>> {
        let mut guard = self.index.lock().map_err(ApiError::internal)?;
        let (index, loaded) = &mut *guard;
        for (seq, hash) in store::hashes_after(conn, *loaded)? {
            index.insert(seq, hash as u64);
            *loaded = seq;
        }
        Ok(index.search(queries, radius))
    }
}

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
    pub scheme_version: i32,
    pub flags: Vec<Flag>,
    pub assessment: AssessmentSummary,
    /// The earlier visit of this household that this one replaces (it stays readable).
    pub supersedes_id: Option<String>,
    pub photos: Vec<VisitPhoto>,
    /// Set when this visit gave the household its registered location.
    pub located_household: bool,
}

fn invalid(code: &'static str, en: &str, zh: &str) -> ApiError {
    ApiError::unprocessable(code, en.to_owned(), zh.to_owned())
}

/// Distinct people on the visit: accounts by id, others by name.
fn distinct_staff(staff: &[StaffMember]) -> usize {
    let mut keys: Vec<String> = staff
        .iter()
        .filter_map(|s| {
            s.user_id
                .clone()
                .or_else(|| s.name.as_ref().map(|n| format!("name:{}", n.trim())))
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys.len()
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
    if request.ended_at < request.started_at {
        return Err(invalid(
            "visit_times_invalid",
            "The visit ends before it starts",
            "走访结束时间早于开始时间",
        ));
    }
    crate::households::Location::new(request.location_fix.lat, request.location_fix.lon)?;
    if !request.location_fix.accuracy_m.is_finite() || request.location_fix.accuracy_m < 0.0 {
        return Err(invalid(
            "location_fix_invalid",
            "The fix accuracy must be a non-negative number",
            "定位精度必须为非负数",
        ));
    }
    let canonical = serde_json::to_value(&request).map_err(ApiError::internal)?;
    let request_hash = hex::encode(Sha256::digest(canonical.to_string().as_bytes()));
    let state2 = state.clone();
    let (created, view) = state
        .db
        .write(move |conn| {
            if let Some(existing) = store::by_id(conn, &request.visit_id.to_string())? {
                return replay(&caller, existing, &request_hash);
            }
            submit(conn, &state2, &caller, &request, canonical, request_hash)
                .map(|view| (true, view))
        })
        .await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

fn replay(caller: &Caller, existing: VisitRow, request_hash: &str) -> ApiResult<(bool, VisitView)> {
    if existing.request_hash != request_hash || existing.submitted_by != caller.user_id {
        return Err(ApiError::conflict(
            "visit_id_conflict",
            "A different visit was already submitted with this visit id",
            "该走访编号已被另一份不同内容的走访使用",
        ));
    }
    let view = serde_json::from_str(&existing.response).map_err(ApiError::internal)?;
    Ok((false, view))
}

fn submit(
    conn: &mut DbConn,
    state: &AppState,
    caller: &Caller,
    request: &SubmitVisit,
    canonical: Value,
    request_hash: String,
) -> ApiResult<VisitView> {
    let (household, _, path) = households::store::find(conn, &caller.scope, &request.household_id)?
        .ok_or_else(|| ApiError::not_found("Household", "该家庭"))?;
    caller.authorize(Action::SubmitVisits, &path)?;
    let county = jurisdictions::store::county_of(conn, &path)?
        .ok_or_else(|| ApiError::not_found("County", "该区县"))?;
    let (version, scheme) =
        scoring_service::scheme_for(conn, &state.schemes, &county, Some(request.scheme_version))?;
    let members = households::store::active_members(conn, &household.id)?;
    let facts =
        scoring_service::household_facts(&household, &members, scoring_service::today_in_china());
    let assessment = scoring_service::evaluate(&scheme, &facts, &request.answers)?;

    let digests: Vec<String> = request
        .photos
        .iter()
        .map(|p| p.digest.to_ascii_lowercase())
        .collect();
    let evidence = store::photo_evidence(conn, &digests)?;
    let missing: Vec<&String> = digests
        .iter()
        .filter(|d| !evidence.iter().any(|e| &e.digest == *d))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::conflict(
            "photos_missing",
            format!(
                "{} photo(s) are not uploaded yet; upload them and submit again",
                missing.len()
            ),
            format!("有 {} 张照片尚未上传，请上传后重新提交", missing.len()),
        )
        .with_details(json!({ "missing": missing })));
    }

    // Reuse of the same bytes, and look-alikes, among other households' visits.
    let limits = Thresholds::default();
    let mut similar_seqs: Vec<(String, i64, u32)> = Vec::new();
    for photo in &evidence {
        let (r90, r180, r270) = photo.rotations;
        let queries: Vec<u64> = [Some(photo.dhash), r90, r180, r270]
            .into_iter()
            .flatten()
            .map(|h| h as u64)
            .collect();
        for (seq, bits) in state
            .lookalikes
            .search(conn, &queries, limits.similar_max_bits)?
        {
            if seq != photo.seq {
                similar_seqs.push((photo.digest.clone(), seq, bits));
            }
        }
    }
    let seqs: Vec<i64> = similar_seqs.iter().map(|(_, seq, _)| *seq).collect();
    let uses = store::uses_elsewhere(conn, &household.id, &digests, &seqs)?;
    let mut duplicates = Vec::new();
    let mut similar = Vec::new();
    for (seq, other_digest, other_household, other_visit) in uses {
        if digests.contains(&other_digest) {
            duplicates.push(Match {
                photo: other_digest.clone(),
                other_household,
                other_visit,
                other_photo: other_digest,
                bits: 0,
            });
        } else {
            for (digest, _, bits) in similar_seqs.iter().filter(|(_, s, _)| *s == seq) {
                similar.push(Match {
                    photo: digest.clone(),
                    other_household: other_household.clone(),
                    other_visit: other_visit.clone(),
                    other_photo: other_digest.clone(),
                    bits: *bits,
                });
            }
        }
    }

    let photo_facts: Vec<PhotoFacts> = evidence
        .iter()
        .map(|e| PhotoFacts {
            digest: e.digest.clone(),
            kind: request
                .photos
                .iter()
                .find(|p| p.digest.eq_ignore_ascii_case(&e.digest))
                .map(|p| p.kind.clone())
                .unwrap_or_default(),
            gps: e.gps_lat.zip(e.gps_lon),
            taken_at: e.taken_at.map(|t| t.and_utc()),
            taken_local: e.taken_local,
        })
        .collect();
    let village = jurisdictions::store::find(conn, &caller.scope, &household.village_code)?
        .and_then(|v| v.boundary)
        .and_then(|b| serde_json::from_str(&b).ok())
        .and_then(|v: Value| Boundary::from_geojson(&v).ok());
    let required: Vec<String> = scheme_required_kinds(&scheme);
    let fix = &request.location_fix;
    let flags = checks::check(
        &VisitFacts {
            household_location: household.lat.zip(household.lon),
            village: village.as_ref(),
            started_at: request.started_at,
            ended_at: request.ended_at,
            submitted_at: Utc::now(),
            fix: PhoneFix {
                lat: fix.lat,
                lon: fix.lon,
                accuracy_m: fix.accuracy_m,
                mock: fix.mock,
            },
            distinct_staff: distinct_staff(&request.staff),
            photos: &photo_facts,
            required_kinds: &required,
            duplicates: &duplicates,
            similar: &similar,
        },
        &limits,
    );

    let actor = caller.actor();
    let assessment_row = scoring_service::record(
        conn,
        &actor,
        &household.id,
        &version,
        &facts,
        &request.answers,
        &assessment,
    )?;
    // A household without a registered location takes the phone's fix when no location flag
    // casts doubt on it and at least one photo has GPS.
    let location_doubted = flags.iter().any(|f| {
        matches!(
            f.kind,
            checks::FlagKind::SuspectLocation | checks::FlagKind::OutsideVillage
        )
    });
    let locate =
        household.lat.is_none() && !location_doubted && photo_facts.iter().any(|p| p.gps.is_some());
    let at = audit::store::now();
    if locate {
        store::set_household_location(conn, &household.id, fix.lat, fix.lon, at)?;
    }
    let supersedes_id = store::latest_of(conn, &household.id)?;
    let view = VisitView {
        id: request.visit_id.to_string(),
        household_id: household.id.clone(),
        scheme_version: version.version,
        flags: flags.clone(),
        assessment: AssessmentSummary {
            id: assessment_row.id.clone(),
            outcome: assessment_row.outcome.clone(),
            score: assessment_row.score,
            band: assessment_row.band.clone(),
            county_visit: assessment_row.county_visit,
        },
        supersedes_id: supersedes_id.clone(),
        photos: request.photos.clone(),
        located_household: locate,
    };
    let row = VisitRow {
        id: view.id.clone(),
        household_id: household.id.clone(),
        submitted_by: caller.user_id.clone(),
        request_hash,
        request: canonical.to_string(),
        response: serde_json::to_string(&view).map_err(ApiError::internal)?,
        started_at: request.started_at.naive_utc(),
        ended_at: request.ended_at.naive_utc(),
        flags: serde_json::to_string(&flags).map_err(ApiError::internal)?,
        max_severity: flags
            .iter()
            .map(|f| i32::from(f.kind.severity()))
            .max()
            .unwrap_or(0),
        scheme_version_id: version.id.clone(),
        assessment_id: assessment_row.id,
        supersedes_id,
        created_at: at,
    };
    let kinds: Vec<(String, String)> = digests
        .iter()
        .cloned()
        .zip(request.photos.iter().map(|p| p.kind.clone()))
        .collect();
    store::insert(conn, &row, &kinds)?;
    audit::store::append(
        conn,
        &actor,
        Event {
            action: "visit.submit",
            target_type: "household",
            target_id: &household.id,
            summary: json!({ "visit_id": row.id, "flags": flags.iter().map(|f| f.kind).collect::<Vec<_>>(), "located_household": locate }),
        },
    )?;
    Ok(view)
}

/// Photo kinds the scheme's items ask for as evidence.
fn scheme_required_kinds(scheme: &scoring::Scheme) -> Vec<String> {
    let mut kinds: Vec<String> = scheme
        .items
        .iter()
        .filter(|item| item.required)
        .flat_map(|item| item.photos.iter())
        .map(|kind| {
            serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
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
    caller.authorize_role(Action::ReadHouseholds)?;
    let (id, digest, size) = path.into_inner();
    let kind = match size.as_str() {
        "original" => "photos",
        "thumbnail" => "thumbs",
        _ => return Err(ApiError::not_found("Photo size", "该照片规格")),
    };
    let found = state
        .db
        .run(move |conn| {
            let Some(visit) = store::find(conn, &caller.scope, &id)? else {
                return Ok(None);
            };
            Ok(store::photos_of(conn, &visit.id)?
                .into_iter()
                .find(|(d, _)| *d == digest)
                .map(|(d, _)| d))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("Photo", "该照片"))?;
    let bytes = state.photos.blobs.get(kind, &found).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        .insert_header(("Cache-Control", "private, max-age=86400, immutable"))
        .body(bytes))
}
