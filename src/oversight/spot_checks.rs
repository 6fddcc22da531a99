//! Stored spot-check draws (抽查) and what their checks conclude. A draw keeps its seed, rates
//! and frame; opening it puts one spot-check case per sampled approval on a county inspector's
//! phone. The inspector's visit goes through the same flow and checks as any visit; the county
//! then upholds the approval or overturns it, and an overturn sends a correction case back to
//! the township's queue.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::sampling::{self, Candidate, Params, Reason, Selected, Stratum};
use super::store::{self, DrawRow, SpotCheckRow};
use crate::audit::{self, Actor, Event};
use crate::auth::{Caller, Role};
use crate::cases::lifecycle::State;
use crate::cases::store::CaseRow;
use crate::cases::workdays::Calendar;
use crate::cases::{service as cases, store as case_store};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use crate::jurisdictions::store::Jurisdiction;

/// Why the county overturned an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverturnReason {
    ShouldNotReceive,
    AmountWrong,
    ShouldReceiveMore,
    EvidenceFabricated,
}

impl OverturnReason {
    pub fn as_str(self) -> &'static str {
        match self {
            OverturnReason::ShouldNotReceive => "should_not_receive",
            OverturnReason::AmountWrong => "amount_wrong",
            OverturnReason::ShouldReceiveMore => "should_receive_more",
            OverturnReason::EvidenceFabricated => "evidence_fabricated",
        }
    }

    fn parse(s: &str) -> Option<OverturnReason> {
        [
            OverturnReason::ShouldNotReceive,
            OverturnReason::AmountWrong,
            OverturnReason::ShouldReceiveMore,
            OverturnReason::EvidenceFabricated,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// A draw to store: the county, the period of approvals, the sampling inputs and who visits.
pub struct NewDraw {
    pub county: Jurisdiction,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub seed: u64,
    pub params: Params,
    pub inspector_ids: Vec<String>,
}

/// One sampled approval and where its check stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    /// The approved case being checked.
    pub checked_case_id: String,
    pub township: String,
    pub reason: Reason,
    /// The spot-check case; absent when the household already had an open case at the draw.
    pub spot_check_case_id: Option<String>,
    pub state: Option<State>,
    pub overturn_reason: Option<OverturnReason>,
    /// The township's new case after an overturn.
    pub correction_case_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DrawView {
    pub id: String,
    pub county_code: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub seed: u64,
    pub params: Params,
    pub frame_size: usize,
    pub strata: Vec<Stratum>,
    pub checks: Vec<CheckView>,
    pub drawn_by: String,
    #[serde(with = "crate::serde_util::utc")]
    pub drawn_at: NaiveDateTime,
    /// Re-running the sampler on the stored frame, seed and rates gives exactly the stored
    /// sample.
    pub reproduced: bool,
}

fn overlaps(existing: &DrawRow) -> ApiError {
    ApiError::conflict(
        "draw_overlaps",
        "The county already has a draw covering part of this period",
        "该区县在此期间已有抽查批次",
    )
    .with_details(json!({ "draw_id": existing.id, "first_day": existing.first_day, "last_day": existing.last_day }))
}

/// Inspectors must be live county officers whose county this is; by default the caller.
fn inspectors(conn: &mut DbConn, caller: &Caller, new: &NewDraw) -> ApiResult<Vec<String>> {
    if new.inspector_ids.is_empty() {
        if caller.role == Role::CountyOfficer {
            return Ok(vec![caller.user_id.clone()]);
        }
        return Err(ApiError::unprocessable(
            "inspectors_required",
            "Name the county officers who will make the spot-check visits",
            "请指定负责抽查入户的区县工作人员",
        ));
    }
    let mut valid = Vec::new();
    for id in &new.inspector_ids {
        let found = crate::users::store::find(conn, &crate::auth::Scope::everything(), id)?;
        match found {
            Some((user, path))
                if user.role == Role::CountyOfficer
                    && !user.disabled
                    && new.county.path.starts_with(&path) =>
            {
                if !valid.contains(&user.id) {
                    valid.push(user.id);
                }
            }
            _ => {
                return Err(ApiError::unprocessable(
                    "inspector_invalid",
                    "Each inspector must be an active county officer of this county",
                    "抽查人员须为本区县在职的区县工作人员",
                )
                .with_details(json!({ "inspector_id": id })));
            }
        }
    }
    Ok(valid)
}

/// Stores a draw and opens its spot checks, inspectors taking the sample in turn. A period
/// overlapping an earlier draw is refused, so each approval is in at most one frame.
pub fn create(
    conn: &mut DbConn,
    calendar: &Calendar,
    caller: &Caller,
    new: NewDraw,
) -> ApiResult<DrawView> {
    if let Some(existing) =
        store::overlapping_draw(conn, &new.county.code, new.first_day, new.last_day)?
    {
        return Err(overlaps(&existing));
    }
    let inspectors = inspectors(conn, caller, &new)?;
    let frame = store::approved_between(conn, &new.county.code, new.from, new.to)?;
    let draw = sampling::draw(&frame, &new.params, new.seed);
    let actor = caller.actor();
    let draw_id = uuid::Uuid::new_v4().to_string();
    let mut opened = Vec::new();
    let mut skipped = Vec::new();
    for (selected, inspector) in draw.selected.iter().zip(inspectors.iter().cycle()) {
        let (checked, _) = case_store::find(conn, &selected.case_id)?
            .ok_or_else(|| ApiError::internal("sampled case missing"))?;
        match cases::open_spot_check(conn, calendar, &actor, &checked, inspector)? {
            Some(spot) => opened.push((spot.id, selected)),
            None => skipped.push(selected.clone()),
        }
    }
    let row = DrawRow {
        id: draw_id.clone(),
        county_code: new.county.code.clone(),
        first_day: new.first_day,
        last_day: new.last_day,
        seed: new.seed as i64,
        rate_percent: new.params.rate_percent as i32,
        min_rate_percent: new.params.min_rate_percent as i32,
        frame: serde_json::to_string(&frame).map_err(ApiError::internal)?,
        skipped: serde_json::to_string(&skipped).map_err(ApiError::internal)?,
        drawn_by: caller.user_id.clone(),
        drawn_at: audit::store::now(),
    };
    store::insert_draw(conn, &row)?;
    for (case_id, selected) in &opened {
        let check = SpotCheckRow {
            case_id: case_id.clone(),
            draw_id: draw_id.clone(),
            checked_case_id: selected.case_id.clone(),
            sample_reason: selected.reason.as_str().to_owned(),
            overturn_reason: None,
            correction_case_id: None,
        };
        store::insert_spot_check(conn, &check).map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                ApiError::conflict(
                    "draw_overlaps",
                    "Another draw checked one of these approvals meanwhile; draw again",
                    "另一抽查批次同时抽中了相同案件，请重新抽取",
                )
            } else {
                e.into()
            }
        })?;
    }
    audit::store::append(
        conn,
        &actor,
        Event {
            action: "spot_check.draw",
            target_type: "spot_check_draw",
            target_id: &draw_id,
            summary: json!({
                "county": row.county_code, "first_day": row.first_day, "last_day": row.last_day,
                "seed": new.seed, "frame_size": frame.len(), "selected": draw.selected.len(),
                "skipped": skipped.len(),
            }),
        },
    )?;
    view(conn, row)
}

/// A stored draw as the county sees it, re-run to show it reproduces.
pub fn view(conn: &mut DbConn, row: DrawRow) -> ApiResult<DrawView> {
    let frame: Vec<Candidate> = serde_json::from_str(&row.frame).map_err(ApiError::internal)?;
    let skipped: Vec<Selected> = serde_json::from_str(&row.skipped).map_err(ApiError::internal)?;
    let params = Params {
        rate_percent: row.rate_percent as u32,
        min_rate_percent: row.min_rate_percent as u32,
    };
    let seed = row.seed as u64;
    let rerun = sampling::draw(&frame, &params, seed);
    let stored = store::checks_of_draw(conn, &row.id)?;
    let mut checks: Vec<CheckView> = skipped
        .into_iter()
        .map(|s| CheckView {
            checked_case_id: s.case_id,
            township: s.township,
            reason: s.reason,
            spot_check_case_id: None,
            state: None,
            overturn_reason: None,
            correction_case_id: None,
        })
        .collect();
    for (check, state) in stored {
        let township = frame
            .iter()
            .find(|c| c.case_id == check.checked_case_id)
            .map(|c| c.township.clone())
            .unwrap_or_default();
        checks.push(CheckView {
            reason: Reason::parse(&check.sample_reason)
                .ok_or_else(|| ApiError::internal("stored sample reason"))?,
            township,
            checked_case_id: check.checked_case_id,
            spot_check_case_id: Some(check.case_id),
            state: State::parse(&state),
            overturn_reason: check
                .overturn_reason
                .as_deref()
                .and_then(OverturnReason::parse),
            correction_case_id: check.correction_case_id,
        });
    }
    checks
        .sort_by(|a, b| (&a.township, &a.checked_case_id).cmp(&(&b.township, &b.checked_case_id)));
    let reproduced = rerun.selected.len() == checks.len()
        && rerun.selected.iter().zip(&checks).all(|(s, c)| {
            s.case_id == c.checked_case_id && s.township == c.township && s.reason == c.reason
        });
    Ok(DrawView {
        id: row.id,
        county_code: row.county_code,
        first_day: row.first_day,
        last_day: row.last_day,
        seed,
        params,
        frame_size: frame.len(),
        strata: rerun.strata,
        checks,
        drawn_by: row.drawn_by,
        drawn_at: row.drawn_at,
        reproduced,
    })
}

/// An overturned spot check: records why and opens the township's correction case.
pub fn overturned(
    conn: &mut DbConn,
    calendar: &Calendar,
    actor: &Actor,
    spot_check: &CaseRow,
    reason: OverturnReason,
) -> ApiResult<CaseRow> {
    let check = store::spot_check_of_case(conn, &spot_check.id)?
        .ok_or_else(|| ApiError::internal("spot-check case without its draw"))?;
    let (checked, _) = case_store::find(conn, &check.checked_case_id)?
        .ok_or_else(|| ApiError::internal("checked case missing"))?;
    let correction = cases::open_correction(conn, calendar, actor, spot_check, &checked)?;
    store::record_overturn(conn, &spot_check.id, reason.as_str(), &correction.id)?;
    Ok(correction)
}
