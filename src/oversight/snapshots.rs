//! The county report as last computed, kept per (county, period): recomputing it reads every
//! case's history in the county (about 3 s at a million households), too slow for a page. The
//! console shows a kept report younger than `DIBAO_REPORT_MAX_AGE` with the time it was
//! computed, and a background refresher recomputes the periods officers read most (last month
//! and this month to date) before they age out, so those pages never wait. Any other period
//! is computed on its first view and kept. The API's report is always computed on request.
//!
//! The table is a cache shared by every node: a node that finds a fresh row computes nothing,
//! and losing rows loses nothing.

use chrono::{DateTime, Datelike, Duration, NaiveDate, SubsecRound, Utc};

use super::api::{report_of, report_period};
use super::report::Report;
use super::store;
use crate::app::AppState;
use crate::auth::{Action, Caller};
use crate::cases::workdays::china_date;
use crate::error::ApiResult;
use crate::jurisdictions::api::county_for;

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub report: Report,
    /// When the facts it counts were read.
    pub computed_at: DateTime<Utc>,
}

/// The caller's county report for the days `first_day` to `last_day`: the kept one if it is
/// younger than `max_age`, else computed now and kept. `max_age` zero recomputes.
pub async fn recent_report(
    state: &AppState,
    caller: Caller,
    code: String,
    first_day: NaiveDate,
    last_day: NaiveDate,
    max_age: Duration,
) -> ApiResult<Snapshot> {
    let (county, kept) = state
        .db
        .run(move |conn| {
            report_period(first_day, last_day)?;
            let county = county_for(conn, &caller, &code, Action::ReadReports)?;
            let kept = store::snapshot(conn, &county.code, first_day, last_day)?;
            Ok((county.code, kept))
        })
        .await?;
    match kept {
        Some(kept) if Utc::now() - kept.computed_at < max_age => Ok(kept),
        _ => recompute(state, county, first_day, last_day).await,
    }
}

/// Computes the county's report for the days now, outside the write lock, and keeps it.
async fn recompute(
    state: &AppState,
    county_code: String,
    first_day: NaiveDate,
    last_day: NaiveDate,
) -> ApiResult<Snapshot> {
    let calendar = state.calendar.clone();
    let code = county_code.clone();
    let snapshot = state
        .db
        .run(move |conn| {
            let period = report_period(first_day, last_day)?;
            Ok(Snapshot {
                report: report_of(conn, &calendar, &code, &period)?,
                // PostgreSQL keeps microseconds: the instant shown now is the one kept.
                computed_at: period.as_of.trunc_subsecs(6),
            })
        })
        .await?;
    let kept = snapshot.clone();
    state
        .db
        .write(move |conn| store::keep_snapshot(conn, &county_code, &kept))
        .await?;
    Ok(snapshot)
}

/// The periods the refresher keeps warm on `today` (a China date): last month, which the
/// console opens on, and this month to date.
pub fn standing_periods(today: NaiveDate) -> [(NaiveDate, NaiveDate); 2] {
    let this_month = today.with_day(1).expect("day 1 exists");
    let last_month = (this_month - Duration::days(1))
        .with_day(1)
        .expect("day 1 exists");
    [
        (last_month, this_month - Duration::days(1)),
        (this_month, today),
    ]
}

/// Recomputes every county's standing periods whose kept report is older than `older_than`
/// (or missing); returns how many it recomputed. One county failing (logged) stops no other.
pub async fn refresh_standing(state: &AppState, older_than: Duration) -> ApiResult<usize> {
    let periods = standing_periods(china_date(Utc::now()));
    let kept = state
        .db
        .run(move |conn| {
            let mut kept = Vec::new();
            for county in store::county_codes(conn)? {
                for (first, last) in periods {
                    let computed = store::snapshot_computed_at(conn, &county, first, last)?;
                    kept.push((county.clone(), first, last, computed));
                }
            }
            Ok(kept)
        })
        .await?;
    let mut recomputed = 0;
    for (county, first, last, computed) in kept {
        if computed.is_some_and(|at| Utc::now() - at < older_than) {
            continue;
        }
        match recompute(state, county.clone(), first, last).await {
            Ok(_) => recomputed += 1,
            Err(err) => {
                tracing::warn!(county = %county, %first, %last, error = %err.message, "county report not recomputed");
            }
        }
    }
    Ok(recomputed)
}
