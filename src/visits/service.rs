//! Visit submission as a use case: idempotency, photo presence, look-alike search, the pure
//! evidence checks, assessment and storage, in one transaction the handler runs.

use std::collections::BTreeSet;
use std::sync::Mutex;

use chrono::Utc;
use serde_json::{Value, json};

use super::api::{AssessmentSummary, StaffMember, SubmitVisit, VisitView};
use super::checks::{self, Match, PhoneFix, PhotoFacts, Thresholds, VisitFacts};
use super::store::{self, VisitRow};
use crate::app::AppState;
use crate::audit::{self, Event};
use crate::auth::{Action, Caller};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use crate::jurisdictions::{self, boundary::Boundary, settings};
use crate::photos::lookalike::LookalikeIndex;
use crate::scoring::{self, service as scoring_service};
use crate::{cases, households};

/// Stored look-alikes weighed per photo, the closest first. A featureless photo (a dark frame)
/// can look like tens of thousands, and each one goes into a single query, which databases
/// bound (PostgreSQL takes at most 65,535 parameters).
const LOOKALIKES_WEIGHED: usize = 256;

/// The look-alike index of this node; every search first takes in the photos stored since
/// (by any node).
#[derive(Default)]
pub struct Lookalikes {
    index: Mutex<Indexed>,
}

#[derive(Default)]
struct Indexed {
    index: LookalikeIndex,
    /// The highest photo number taken in.
    loaded: i64,
    /// Numbers below `loaded`, within [`RECHECKED`] of it, that no photo has come with yet.
    /// On PostgreSQL numbers are handed out at insert and rows appear at commit, so a photo can
    /// appear after a higher-numbered one was read; without asking for these again it would be
    /// missed on this node until a restart. Most are numbers a rolled-back insert used.
    missing: BTreeSet<i64>,
}

/// Photo hashes read at a time when the index catches up, so that loading millions at a start
/// holds no more than a page in memory besides the index.
const CATCH_UP_PAGE: i64 = 100_000;

/// How far below the highest photo number a late photo is still looked for. Photos are stored
/// in short transactions: 1,000 numbers is 20 s at 50 photos/s.
const RECHECKED: i64 = 1_000;

impl Lookalikes {
    /// Takes in every stored photo, before the node serves: the first visit would otherwise
    /// read them all inside its transaction (1 s at a million photos), holding SQLite's write
    /// lock and every other submission's turn. Returns how many the index holds.
    pub fn load(&self, conn: &mut DbConn) -> ApiResult<usize> {
        let mut indexed = self.index.lock().map_err(ApiError::internal)?;
        indexed.catch_up(conn)?;
        Ok(indexed.index.len())
    }

    /// For each photo's queries (its hash in each rotation), the closest stored photos within
    /// `radius` bits, after one catch-up read for all of them.
    fn search(
        &self,
        conn: &mut DbConn,
        photos: &[Vec<u64>],
        radius: u32,
    ) -> ApiResult<Vec<Vec<(i64, u32)>>> {
        let mut indexed = self.index.lock().map_err(ApiError::internal)?;
        indexed.catch_up(conn)?;
        Ok(photos
            .iter()
            .map(|queries| {
                indexed
                    .index
                    .search_closest(queries, radius, LOOKALIKES_WEIGHED)
            })
            .collect())
    }
}

impl Indexed {
    /// Takes in the photos stored since (by any node), the late ones first, then a page at a
    /// time.
    fn catch_up(&mut self, conn: &mut DbConn) -> ApiResult<()> {
        if !self.missing.is_empty() {
            let numbers: Vec<i64> = self.missing.iter().copied().collect();
            for (seq, hash) in store::hashes_of(conn, &numbers)? {
                self.missing.remove(&seq);
                self.index.insert(seq, hash as u64);
            }
        }
        loop {
            let page = store::hashes_after(conn, self.loaded, CATCH_UP_PAGE)?;
            for &(seq, hash) in &page {
                let skipped = (self.loaded + 1).max(seq - RECHECKED)..seq;
                self.missing.extend(skipped);
                self.index.insert(seq, hash as u64);
                self.loaded = seq;
            }
            self.missing = self.missing.split_off(&(self.loaded - RECHECKED));
            if (page.len() as i64) < CATCH_UP_PAGE {
                return Ok(());
            }
        }
    }
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

pub fn replay(
    caller: &Caller,
    existing: VisitRow,
    request_hash: &str,
) -> ApiResult<(bool, VisitView)> {
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

pub fn submit(
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
    let case = cases::service::visit_due(conn, &household.id)?;
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
    let signatures: Vec<String> = request
        .signatures
        .iter()
        .map(|s| s.digest.to_ascii_lowercase())
        .collect();
    let stored_signatures = store::stored_signatures(conn, &signatures)?;
    let missing_signatures: Vec<&String> = signatures
        .iter()
        .filter(|d| !stored_signatures.contains(d))
        .collect();
    if !missing.is_empty() || !missing_signatures.is_empty() {
        let count = missing.len() + missing_signatures.len();
        return Err(ApiError::conflict(
            "photos_missing",
            format!("{count} photo(s) or signature(s) are not uploaded yet; upload them and submit again"),
            format!("有 {count} 张照片或签名尚未上传，请上传后重新提交"),
        )
        .with_details(json!({ "missing": missing, "missing_signatures": missing_signatures })));
    }

    // Reuse of the same bytes, and look-alikes, among other households' visits.
    let limits: Thresholds = settings::load(conn, &county.code)?;
    let queries: Vec<Vec<u64>> = evidence
        .iter()
        .map(|photo| {
            let (r90, r180, r270) = photo.rotations;
            [Some(photo.dhash), r90, r180, r270]
                .into_iter()
                .flatten()
                .map(|h| h as u64)
                .collect()
        })
        .collect();
    let found = state
        .lookalikes
        .search(conn, &queries, limits.similar_max_bits)?;
    let similar_seqs: Vec<(String, i64, u32)> = evidence
        .iter()
        .zip(found)
        .flat_map(|(photo, found)| {
            found
                .into_iter()
                .filter(|(seq, _)| *seq != photo.seq)
                .map(|(seq, bits)| (photo.digest.clone(), seq, bits))
        })
        .collect();
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
        case_id: case.id.clone(),
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
        signatures: request.signatures.clone(),
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
        case_id: Some(case.id.clone()),
    };
    let kinds: Vec<(String, String)> = digests
        .iter()
        .cloned()
        .zip(request.photos.iter().map(|p| p.kind.clone()))
        .collect();
    store::insert(conn, &row, &kinds, &request.signatures)?;
    cases::service::visit_submitted(
        conn,
        &state.calendar,
        caller,
        &case,
        cases::service::VisitOutcome {
            visit_id: &row.id,
            assessment_id: &row.assessment_id,
            band: &view.assessment.band,
            county_visit: view.assessment.county_visit,
            max_severity: row.max_severity,
            flag_kinds: flag_kinds(&flags),
        },
    )?;
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

/// Each kind of flag once, in the order raised.
fn flag_kinds(flags: &[checks::Flag]) -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    for flag in flags {
        let kind = serde_json::to_value(flag.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

/// Photo kinds the scheme's items ask for as evidence.
pub fn scheme_required_kinds(scheme: &scoring::Scheme) -> Vec<String> {
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
