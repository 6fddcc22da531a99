//! County oversight endpoints: spot-check draws (preview, store, read back), the county's
//! report and the approved roll.

use actix_web::{HttpResponse, get, post, web};
use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::report::{self, Period, Report};
use super::roll::{self, Detail, Line as RollLine};
use super::sampling::{self, Params, Selected, Stratum};
use super::spot_checks::{self, DrawView, NewDraw};
use super::store;
use crate::app::AppState;
use crate::audit;
use crate::auth::{Action, Caller, Role, Scope};
use crate::cases::workdays::{Calendar, china_date, china_day_start};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::jurisdictions::{self, api::county_for};

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
    /// For a stored draw: the county officers who make the visits, taking the sample in
    /// turn (default: the caller). A preview ignores them.
    #[serde(default)]
    pub inspector_ids: Vec<String>,
}

/// A draw request checked: rates, period as UTC instants, and the seed to use.
struct Checked {
    params: Params,
    seed: u64,
    from: NaiveDateTime,
    to: NaiveDateTime,
}

impl DrawRequest {
    fn check(&self) -> ApiResult<Checked> {
        let defaults = Params::default();
        let params = Params {
            rate_percent: self.rate_percent.unwrap_or(defaults.rate_percent),
            min_rate_percent: self.min_rate_percent.unwrap_or(defaults.min_rate_percent),
        };
        let mut problems = params.problems();
        if self.to < self.from || self.to - self.from > Duration::days(366) {
            problems.push("to");
        }
        if self.seed.is_some_and(|s| s > MAX_SEED) {
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
        Ok(Checked {
            params,
            seed: self
                .seed
                .unwrap_or_else(|| rand::random::<u64>() & MAX_SEED),
            from: china_day_start(self.from).naive_utc(),
            to: china_day_start(self.to + Duration::days(1)).naive_utc(),
        })
    }
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
    let preview = state
        .db
        .run(move |conn| preview(conn, &caller, &code, &body))
        .await?;
    Ok(HttpResponse::Ok().json(preview))
}

/// The draw a request would make, creating nothing (the API's and the console's preview).
pub fn preview(
    conn: &mut DbConn,
    caller: &Caller,
    code: &str,
    request: &DrawRequest,
) -> ApiResult<DrawPreview> {
    let Checked {
        params,
        seed,
        from,
        to,
    } = request.check()?;
    let county = county_for(conn, caller, code, Action::DrawSpotChecks)?;
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
}

/// Stores the county's spot-check draw for a period and opens a spot-check visit per sampled
/// approval on the inspectors' phones. Periods of one county's draws never overlap.
#[utoipa::path(
    tag = "oversight",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code")),
    request_body = DrawRequest,
    responses(
        (status = 201, body = DrawView),
        (status = 403, body = ErrorBody),
        (status = 409, description = "A draw already covers part of the period", body = ErrorBody),
        (status = 422, description = "Bad period, rates, seed or inspectors", body = ErrorBody),
    )
)]
#[post("/api/v1/jurisdictions/{code}/spot-checks")]
pub async fn create_draw(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: web::Json<DrawRequest>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let view = state
        .db
        .write(move |conn| store_draw(conn, &app.calendar, &caller, &code, body.into_inner()))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Stores a draw and opens its spot-check visits (the API's and the console's).
pub fn store_draw(
    conn: &mut DbConn,
    calendar: &Calendar,
    caller: &Caller,
    code: &str,
    request: DrawRequest,
) -> ApiResult<DrawView> {
    let Checked {
        params,
        seed,
        from,
        to,
    } = request.check()?;
    let county = county_for(conn, caller, code, Action::DrawSpotChecks)?;
    let new = NewDraw {
        county,
        first_day: request.from,
        last_day: request.to,
        from,
        to,
        seed,
        params,
        inspector_ids: request.inspector_ids,
    };
    spot_checks::create(conn, calendar, caller, new)
}

/// One stored draw: its seed, rates, strata and checks, re-run to show it reproduces.
#[utoipa::path(
    tag = "oversight",
    security(("bearer" = [])),
    params(
        ("code" = String, Path, description = "County code"),
        ("id" = String, Path, description = "Draw id"),
    ),
    responses(
        (status = 200, body = DrawView),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[get("/api/v1/jurisdictions/{code}/spot-checks/{id}")]
pub async fn get_draw(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (code, id) = path.into_inner();
    let view = state
        .db
        .run(move |conn| find_draw(conn, &caller, &code, &id))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// One stored draw of the county, re-run.
pub fn find_draw(conn: &mut DbConn, caller: &Caller, code: &str, id: &str) -> ApiResult<DrawView> {
    let county = county_for(conn, caller, code, Action::DrawSpotChecks)?;
    let row = store::find_draw(conn, id)?
        .filter(|row| row.county_code == county.code)
        .ok_or_else(|| ApiError::not_found("Spot-check draw", "该抽查批次"))?;
    spot_checks::view(conn, row)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DrawSummary {
    pub id: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub seed: u64,
    pub drawn_by: String,
    #[serde(with = "crate::serde_util::utc")]
    pub drawn_at: NaiveDateTime,
}

/// The county's stored draws, latest period first.
#[utoipa::path(
    tag = "oversight",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code")),
    responses(
        (status = 200, body = Vec<DrawSummary>),
        (status = 403, body = ErrorBody),
    )
)]
#[get("/api/v1/jurisdictions/{code}/spot-checks")]
pub async fn list_draws(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let draws = state
        .db
        .run(move |conn| draws(conn, &caller, &code))
        .await?;
    Ok(HttpResponse::Ok().json(draws))
}

/// The county's stored draws, latest period first.
pub fn draws(conn: &mut DbConn, caller: &Caller, code: &str) -> ApiResult<Vec<DrawSummary>> {
    let county = county_for(conn, caller, code, Action::DrawSpotChecks)?;
    Ok(store::draws_of(conn, &county.code)?
        .into_iter()
        .map(|row| DrawSummary {
            id: row.id,
            first_day: row.first_day,
            last_day: row.last_day,
            seed: row.seed as u64,
            drawn_by: row.drawn_by,
            drawn_at: row.drawn_at,
        })
        .collect())
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First and last China date (inclusive) of the period, e.g. a calendar month.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `json` (default) or `csv` for a spreadsheet.
    pub format: Option<ReportFormat>,
}

/// The county's accuracy and timeliness report for a period, per township and per
/// coordinator: cases processed, working days per step (median, p90) and SLA breaches,
/// spot-check overturns, evidence-flag shares and borderline approvals.
#[utoipa::path(
    tag = "oversight",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code"), ReportQuery),
    responses(
        (status = 200, description = "The report as JSON or CSV", content(
            (Report = "application/json"),
            (String = "text/csv"),
        )),
        (status = 403, body = ErrorBody),
        (status = 422, description = "Bad period", body = ErrorBody),
    )
)]
#[get("/api/v1/jurisdictions/{code}/report")]
pub async fn get_report(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    query: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let (from, to) = (query.from, query.to);
    let app = state.clone();
    let report = state
        .db
        .run(move |conn| county_report(conn, &app.calendar, &caller, &code, from, to))
        .await?;
    Ok(match query.format.unwrap_or(ReportFormat::Json) {
        ReportFormat::Json => HttpResponse::Ok().json(report),
        ReportFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(report::to_csv(&report)),
    })
}

/// The county's report for the days `first_day` to `last_day`, computed now (the API's; the
/// console reads it through [`super::snapshots`]).
pub fn county_report(
    conn: &mut DbConn,
    calendar: &Calendar,
    caller: &Caller,
    code: &str,
    first_day: NaiveDate,
    last_day: NaiveDate,
) -> ApiResult<Report> {
    let period = report_period(first_day, last_day)?;
    let county = county_for(conn, caller, code, Action::ReadReports)?;
    report_of(conn, calendar, &county.code, &period)
}

/// The China days `first_day` to `last_day` as a report period read now.
pub fn report_period(first_day: NaiveDate, last_day: NaiveDate) -> ApiResult<Period> {
    if last_day < first_day || last_day - first_day > Duration::days(366) {
        return Err(ApiError::unprocessable(
            "period_invalid",
            "The period must run forwards and span at most a year",
            "统计期间须起止有序且不超过一年",
        ));
    }
    Ok(Period {
        from: china_day_start(first_day),
        to: china_day_start(last_day + Duration::days(1)),
        first_day,
        last_day,
        as_of: Utc::now(),
    })
}

/// The report of the county with `county_code` for the period; the caller is authorized.
pub fn report_of(
    conn: &mut DbConn,
    calendar: &Calendar,
    county_code: &str,
    period: &Period,
) -> ApiResult<Report> {
    let facts = store::report_facts(
        conn,
        county_code,
        period.from.naive_utc(),
        period.to.naive_utc(),
    )?;
    Ok(report::build(&facts, period, calendar))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RollFormat {
    Json,
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RollQuery {
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<RollFormat>,
    /// Mask names and ID numbers even for a county officer (for sharing the file).
    #[serde(default)]
    pub masked: bool,
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The approved roll (花名册) of a county, township or village: every household whose approval
/// is in force. County officers and admins get full names and ID numbers (the export is
/// audited); township reviewers, and anyone asking `masked=true`, get them masked.
#[utoipa::path(
    tag = "oversight",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County, township or village code"), RollQuery),
    responses(
        (status = 200, description = "The roll as JSON, CSV or XLSX", content(
            (Vec<RollLine> = "application/json"),
            (String = "text/csv"),
            (String = XLSX),
        )),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[get("/api/v1/jurisdictions/{code}/roll")]
pub async fn get_roll(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    query: web::Query<RollQuery>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ExportRoll)?;
    let format = query.format.unwrap_or(RollFormat::Json);
    let full = matches!(caller.role, Role::CountyOfficer | Role::Admin) && !query.masked;
    let detail = if full { Detail::Full } else { Detail::Masked };
    let (title, lines) = state
        .db
        .write(move |conn| {
            let node = jurisdictions::store::find(conn, &caller.scope, &code)?
                .ok_or_else(|| ApiError::not_found("Jurisdiction", "该行政区划"))?;
            caller.authorize(Action::ExportRoll, &node.path)?;
            let lines = store::approved_roll(conn, &Scope::of_path(&node.path))?;
            if full {
                audit::store::append(
                    conn,
                    &caller.actor(),
                    audit::Event {
                        action: "roll.export_full",
                        target_type: "jurisdiction",
                        target_id: &node.code,
                        summary: serde_json::json!({ "households": lines.len() }),
                    },
                )?;
            }
            let title = format!("{} 低保花名册 {}", node.name, china_date(Utc::now()));
            Ok((title, lines))
        })
        .await?;
    Ok(match format {
        RollFormat::Json => HttpResponse::Ok().json(
            lines
                .iter()
                .map(|line| roll::with_detail(line, detail))
                .collect::<Vec<_>>(),
        ),
        RollFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(attachment("roll.csv"))
            .body(roll::to_csv(&lines, detail)),
        RollFormat::Xlsx => HttpResponse::Ok()
            .content_type(XLSX)
            .insert_header(attachment("roll.xlsx"))
            .body(roll::to_xlsx(&title, &lines, detail).map_err(ApiError::internal)?),
    })
}

fn attachment(name: &str) -> (actix_web::http::header::HeaderName, String) {
    (
        actix_web::http::header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{name}\""),
    )
}
