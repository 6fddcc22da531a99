//! The spot-check frame: a county's cases approved in a period, with what makes them
//! mandatory to check.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::sampling::Candidate;
use crate::db::DbConn;
use crate::db::schema::{cases, objections};
use crate::error::ApiResult;

/// Cases of the county approved in `[from, to)` (UTC instants), as sampling candidates.
pub fn approved_between(
    conn: &mut DbConn,
    county_code: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> ApiResult<Vec<Candidate>> {
    let rows: Vec<(String, String, bool, Option<String>)> = cases::table
        .filter(cases::county_code.eq(county_code))
        .filter(cases::state.eq("approved"))
        .filter(cases::closed_at.ge(from))
        .filter(cases::closed_at.lt(to))
        .order(cases::id.asc())
        .select((
            cases::id,
            cases::township_code,
            cases::county_visit,
            cases::band,
        ))
        .load(conn)?;
    let ids: Vec<&String> = rows.iter().map(|(id, ..)| id).collect();
    let objected: Vec<String> = objections::table
        .filter(objections::case_id.eq_any(ids))
        .select(objections::case_id)
        .distinct()
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(case_id, township, county_visit, band)| Candidate {
            objection: objected.contains(&case_id),
            borderline: band.as_deref() == Some("borderline"),
            case_id,
            township,
            county_visit,
        })
        .collect())
}
