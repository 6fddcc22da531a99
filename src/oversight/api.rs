//! Spot-check draws for county officers. This slice previews a draw: the frame, the strata and
//! the sample, reproducible from the returned seed. Storing a draw and opening the spot-check
//! visits follow.

use actix_web::{HttpResponse, post, web};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sampling::{self, Params, Selected, Stratum};
use super::store;
use crate::app::AppState;
use crate::auth::{Action, Caller};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::jurisdictions::api::county_for;

/// JavaScript reads numbers as doubles: seeds stay below 2^53 so they survive a round trip.
const MAX_SEED: u64 = (1 << 53) - 1;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawRequest {
    /// First and last China date (inclusive) of the approvals to sample.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Re-run an earlier draw with its seed; a new random seed when absent.
    pub seed: Option<u64>,
    /// Share of each township's approvals to check at random (default 30).
    pub rate_percent: Option<u32>,
    /// Floor per township (default 20).
    pub min_rate_percent: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DrawPreview {
    pub county_code: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub seed: u64,
    pub params: Params,
    /// Approved cases in the period: the frame the sample is drawn from.
    pub frame_size: usize,
    pub strata: Vec<Stratum>,
    pub selected: Vec<Selected>,
}

/// Previews the county's spot-check draw for a period, creating nothing. The same seed,
/// period and rates give the same sample.
#[utoipa::path(
    tag = "oversight",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code")),
    request_body = DrawRequest,
    responses(
        (status = 200, body = DrawPreview),
        (status = 403, body = ErrorBody),
        (status = 422, description = "Bad period, rates or seed", body = ErrorBody),
    )
)]
#[post("/api/v1/jurisdictions/{code}/spot-checks/preview")]
pub async fn preview_draw(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: web::Json<DrawRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.into_inner();
    let defaults = Params::default();
    let params = Params {
        rate_percent: request.rate_percent.unwrap_or(defaults.rate_percent),
        min_rate_percent: request
            .min_rate_percent
            .unwrap_or(defaults.min_rate_percent),
    };
    let mut problems = params.problems();
    if request.to < request.from || request.to - request.from > Duration::days(366) {
        problems.push("to");
    }
    if request.seed.is_some_and(|s| s > MAX_SEED) {
        problems.push("seed");
    }
    if !problems.is_empty() {
        return Err(ApiError::unprocessable(
            "draw_request_invalid",
            "The period (at most a year), rates (1–100) or seed (below 2^53) are out of range",
            "抽查期间（不超过一年）、比例（1–100）或随机种子（小于 2^53）超出范围",
        )
        .with_details(serde_json::json!({ "fields": problems })));
    }
    let seed = request
        .seed
        .unwrap_or_else(|| rand::random::<u64>() & MAX_SEED);
    // China dates → UTC instants: a China day starts at 16:00 UTC the day before.
    let start = |day: NaiveDate| day.and_time(chrono::NaiveTime::MIN) - Duration::hours(8);
    let (from, to) = (start(request.from), start(request.to + Duration::days(1)));
    let preview = state
        .db
        .run(move |conn| {
            let county = county_for(conn, &caller, &code, Action::DrawSpotChecks)?;
            let frame = store::approved_between(conn, &county.code, from, to)?;
            let draw = sampling::draw(&frame, &params, seed);
            Ok(DrawPreview {
                county_code: county.code,
                from: request.from,
                to: request.to,
                seed,
                params,
                frame_size: frame.len(),
                strata: draw.strata,
                selected: draw.selected,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(preview))
}
