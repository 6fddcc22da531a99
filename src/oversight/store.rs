//! Oversight storage: the spot-check frame (a county's cases approved in a period, with what
//! makes them mandatory to check), stored draws and the spot checks they opened, and the facts
//! the county's report counts.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::report::{Approval, CaseHistory, Facts, Owner, SpotCheckResult, VisitFlags};
use super::roll;
use super::sampling::Candidate;
use super::snapshots::Snapshot;
use crate::auth::Scope;
use crate::cases::lifecycle::{Kind, State};
use crate::cases::store as case_store;
use crate::cases::workdays::china_date;
use crate::db::DbConn;
use crate::db::schema::{
    case_events, cases, households, jurisdictions, members, objections, report_snapshots,
    spot_check_draws, spot_checks, users, visits,
};
use crate::error::{ApiError, ApiResult};

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

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = spot_check_draws)]
pub struct DrawRow {
    pub id: String,
    pub county_code: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub seed: i64,
    pub rate_percent: i32,
    pub min_rate_percent: i32,
    pub frame: String,
    pub skipped: String,
    pub drawn_by: String,
    pub drawn_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = spot_checks)]
pub struct SpotCheckRow {
    pub case_id: String,
    pub draw_id: String,
    pub checked_case_id: String,
    pub sample_reason: String,
    pub overturn_reason: Option<String>,
    pub correction_case_id: Option<String>,
}

pub fn insert_draw(conn: &mut DbConn, row: &DrawRow) -> ApiResult<()> {
    diesel::insert_into(spot_check_draws::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Raw diesel result, so an approval already checked (the unique index) can be told apart.
pub fn insert_spot_check(conn: &mut DbConn, row: &SpotCheckRow) -> QueryResult<()> {
    diesel::insert_into(spot_checks::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// A stored draw of the county whose period shares a day with `[first, last]`.
pub fn overlapping_draw(
    conn: &mut DbConn,
    county_code: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> ApiResult<Option<DrawRow>> {
    Ok(spot_check_draws::table
        .filter(spot_check_draws::county_code.eq(county_code))
        .filter(spot_check_draws::first_day.le(last))
        .filter(spot_check_draws::last_day.ge(first))
        .select(DrawRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_draw(conn: &mut DbConn, id: &str) -> ApiResult<Option<DrawRow>> {
    Ok(spot_check_draws::table
        .find(id)
        .select(DrawRow::as_select())
        .first(conn)
        .optional()?)
}

/// The county's draws, latest period first.
pub fn draws_of(conn: &mut DbConn, county_code: &str) -> ApiResult<Vec<DrawRow>> {
    Ok(spot_check_draws::table
        .filter(spot_check_draws::county_code.eq(county_code))
        .order((
            spot_check_draws::first_day.desc(),
            spot_check_draws::id.asc(),
        ))
        .select(DrawRow::as_select())
        .load(conn)?)
}

/// A draw's spot checks with the state of each spot-check case.
pub fn checks_of_draw(conn: &mut DbConn, draw_id: &str) -> ApiResult<Vec<(SpotCheckRow, String)>> {
    Ok(spot_checks::table
        .inner_join(cases::table.on(cases::id.eq(spot_checks::case_id)))
        .filter(spot_checks::draw_id.eq(draw_id))
        .order(spot_checks::checked_case_id.asc())
        .select((SpotCheckRow::as_select(), cases::state))
        .load(conn)?)
}

pub fn spot_check_of_case(conn: &mut DbConn, case_id: &str) -> ApiResult<Option<SpotCheckRow>> {
    Ok(spot_checks::table
        .find(case_id)
        .select(SpotCheckRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn record_overturn(
    conn: &mut DbConn,
    case_id: &str,
    reason: &str,
    correction_case_id: &str,
) -> ApiResult<()> {
    diesel::update(spot_checks::table.find(case_id))
        .set((
            spot_checks::overturn_reason.eq(reason),
            spot_checks::correction_case_id.eq(correction_case_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Names of the townships and coordinators the report's facts name.
struct Owners {
    townships: HashMap<String, String>,
    users: HashMap<String, String>,
}

impl Owners {
    fn load(conn: &mut DbConn, county_code: &str) -> ApiResult<Owners> {
        let townships = jurisdictions::table
            .filter(jurisdictions::parent_code.eq(county_code))
            .select((jurisdictions::code, jurisdictions::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        let county_path: String = jurisdictions::table
            .find(county_code)
            .select(jurisdictions::path)
            .first(conn)?;
        let users = users::table
            .inner_join(jurisdictions::table)
            .filter(jurisdictions::path.like(format!("{county_path}%")))
            .select((users::id, users::display_name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        Ok(Owners { townships, users })
    }

    fn of(&self, township: &str, coordinator: Option<&String>) -> Owner {
        Owner {
            township_code: township.to_owned(),
            township_name: self.townships.get(township).cloned().unwrap_or_default(),
            coordinator_id: coordinator.cloned(),
            coordinator_name: coordinator.and_then(|id| self.users.get(id).cloned()),
        }
    }
}

/// What the county's report for `[from, to)` counts: the histories of cycle cases alive in the
/// period, finished spot checks (against the checked case's township and coordinator), the
/// village coordinators' visits and the approvals.
/// Cases whose events one query reads.
const EVENT_QUERY_CASES: usize = 10_000;

pub fn report_facts(
    conn: &mut DbConn,
    county_code: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> ApiResult<Facts> {
    let owners = Owners::load(conn, county_code)?;
    let spot_check = Kind::SpotCheck.as_str();
    let alive: Vec<(String, String, Option<String>)> = cases::table
        .filter(cases::county_code.eq(county_code))
        .filter(cases::kind.ne(spot_check))
        .filter(cases::opened_at.lt(to))
        .filter(cases::closed_at.is_null().or(cases::closed_at.ge(from)))
        .select((cases::id, cases::township_code, cases::coordinator_id))
        .load(conn)?;
    let ids: Vec<&String> = alive.iter().map(|(id, ..)| id).collect();
    let mut events: HashMap<String, Vec<(DateTime<Utc>, State)>> = HashMap::new();
    // In slices: a county's open cases run to 100,000 at province scale, past the bound
    // parameters one statement may carry (32,766 on SQLite, 65,535 on PostgreSQL).
    for slice in ids.chunks(EVENT_QUERY_CASES) {
        for (case_id, at, state) in case_events::table
            .filter(case_events::case_id.eq_any(slice))
            .filter(case_events::at.lt(to))
            .order((case_events::case_id, case_events::at, case_events::id))
            .select((case_events::case_id, case_events::at, case_events::to_state))
            .load::<(String, NaiveDateTime, String)>(conn)?
        {
            if let Some(state) = State::parse(&state) {
                events
                    .entry(case_id)
                    .or_default()
                    .push((at.and_utc(), state));
            }
        }
    }
    let histories = alive
        .iter()
        .map(|(id, township, coordinator)| CaseHistory {
            owner: owners.of(township, coordinator.as_ref()),
            entries: events.remove(id).unwrap_or_default(),
        })
        .collect();

    let approvals = cases::table
        .filter(cases::county_code.eq(county_code))
        .filter(cases::state.eq(State::Approved.as_str()))
        .filter(cases::closed_at.ge(from))
        .filter(cases::closed_at.lt(to))
        .select((cases::township_code, cases::coordinator_id, cases::band))
        .load::<(String, Option<String>, Option<String>)>(conn)?
        .into_iter()
        .map(|(township, coordinator, band)| Approval {
            owner: owners.of(&township, coordinator.as_ref()),
            borderline: band.as_deref() == Some("borderline"),
        })
        .collect();

    let checked = diesel::alias!(cases as checked);
    let spot_checks = spot_checks::table
        .inner_join(cases::table.on(cases::id.eq(spot_checks::case_id)))
        .inner_join(checked.on(checked.field(cases::id).eq(spot_checks::checked_case_id)))
        .filter(cases::county_code.eq(county_code))
        .filter(cases::state.eq_any([State::Upheld.as_str(), State::Overturned.as_str()]))
        .filter(cases::closed_at.ge(from))
        .filter(cases::closed_at.lt(to))
        .select((
            cases::state,
            spot_checks::overturn_reason,
            checked.field(cases::township_code),
            checked.field(cases::coordinator_id),
        ))
        .load::<(String, Option<String>, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(state, reason, township, coordinator)| SpotCheckResult {
            owner: owners.of(&township, coordinator.as_ref()),
            overturned: state == State::Overturned.as_str(),
            reason,
        })
        .collect();

    let visits = visits::table
        .inner_join(cases::table.on(visits::case_id.eq(cases::id.nullable())))
        .filter(cases::county_code.eq(county_code))
        .filter(cases::kind.ne(spot_check))
        .filter(visits::created_at.ge(from))
        .filter(visits::created_at.lt(to))
        .select((cases::township_code, cases::coordinator_id, visits::flags))
        .load::<(String, Option<String>, String)>(conn)?
        .into_iter()
        .map(|(township, coordinator, flags)| {
            let flags: Vec<serde_json::Value> = serde_json::from_str(&flags).unwrap_or_default();
            VisitFlags {
                owner: owners.of(&township, coordinator.as_ref()),
                flags: flags
                    .iter()
                    .filter_map(|f| f["kind"].as_str().map(str::to_owned))
                    .collect(),
            }
        })
        .collect();
    Ok(Facts {
        histories,
        spot_checks,
        visits,
        approvals,
    })
}

/// The approved roll under a jurisdiction: every household whose approval is in force, with
/// its head, size and terms, ordered by township, village and head's name.
pub fn approved_roll(conn: &mut DbConn, scope: &Scope) -> ApiResult<Vec<roll::Line>> {
    let approvals = case_store::approvals_in_force(conn, scope, None)?;
    let household_ids: Vec<&String> = approvals.iter().map(|c| &c.household_id).collect();
    let homes: HashMap<String, (String, bool, Option<String>)> = households::table
        .filter(households::id.eq_any(&household_ids))
        .filter(households::active.eq(true))
        .select((
            households::id,
            (
                households::head_name,
                households::urban,
                households::responsible_worker_id,
            ),
        ))
        .load(conn)?
        .into_iter()
        .collect();
    let mut people: HashMap<String, (u32, String)> = HashMap::new();
    for (household_id, relation, id_number) in members::table
        .filter(members::household_id.eq_any(&household_ids))
        .filter(members::active.eq(true))
        .select((members::household_id, members::relation, members::id_number))
        .load::<(String, String, String)>(conn)?
    {
        let entry = people.entry(household_id).or_default();
        entry.0 += 1;
        if relation == "head" {
            entry.1 = id_number;
        }
    }
    let codes: Vec<&String> = approvals
        .iter()
        .flat_map(|c| [&c.village_code, &c.township_code])
        .collect();
    let places: HashMap<String, String> = jurisdictions::table
        .filter(jurisdictions::code.eq_any(&codes))
        .select((jurisdictions::code, jurisdictions::name))
        .load(conn)?
        .into_iter()
        .collect();
    let workers: Vec<&String> = homes.values().filter_map(|(_, _, w)| w.as_ref()).collect();
    let worker_names: HashMap<String, String> = users::table
        .filter(users::id.eq_any(&workers))
        .select((users::id, users::display_name))
        .load(conn)?
        .into_iter()
        .collect();
    let name_of = |code: &String| places.get(code).cloned().unwrap_or_default();
    let mut lines: Vec<roll::Line> = approvals
        .into_iter()
        .filter_map(|case| {
            let (head_name, urban, worker) = homes.get(&case.household_id)?.clone();
            let (members, head_id_number) =
                people.get(&case.household_id).cloned().unwrap_or_default();
            Some(roll::Line {
                township_name: name_of(&case.township_code),
                village_name: name_of(&case.village_code),
                head_name,
                head_id_number,
                members,
                urban,
                review_class: case.review_class.unwrap_or_default(),
                monthly_amount_fen: case.monthly_amount_fen,
                approved_on: china_date(case.closed_at.unwrap_or(case.opened_at).and_utc()),
                next_recheck_on: case.next_recheck_on,
                responsible_worker: worker.and_then(|w| worker_names.get(&w).cloned()),
                case_id: case.id,
            })
        })
        .collect();
    lines.sort_by(|a, b| {
        (&a.township_name, &a.village_name, &a.head_name).cmp(&(
            &b.township_name,
            &b.village_name,
            &b.head_name,
        ))
    });
    Ok(lines)
}

/// The kept report of the county for the days, if any. A row this version cannot read (kept by
/// an older one) counts as missing: the caller computes it again.
pub fn snapshot(
    conn: &mut DbConn,
    county_code: &str,
    first_day: NaiveDate,
    last_day: NaiveDate,
) -> ApiResult<Option<Snapshot>> {
    let row: Option<(NaiveDateTime, String)> = report_snapshots::table
        .find((county_code, first_day, last_day))
        .select((report_snapshots::computed_at, report_snapshots::report))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(computed_at, json)| {
        Some(Snapshot {
            report: serde_json::from_str(&json).ok()?,
            computed_at: computed_at.and_utc(),
        })
    }))
}

/// When the county's report for the days was last computed, if it is kept.
pub fn snapshot_computed_at(
    conn: &mut DbConn,
    county_code: &str,
    first_day: NaiveDate,
    last_day: NaiveDate,
) -> ApiResult<Option<DateTime<Utc>>> {
    Ok(report_snapshots::table
        .find((county_code, first_day, last_day))
        .select(report_snapshots::computed_at)
        .first::<NaiveDateTime>(conn)
        .optional()?
        .map(|at| at.and_utc()))
}

/// Keeps the report in place of the one kept for its county and days, unless that one counts
/// later facts (two nodes computed it at once).
pub fn keep_snapshot(conn: &mut DbConn, county_code: &str, snapshot: &Snapshot) -> ApiResult<()> {
    let key = (
        county_code,
        snapshot.report.first_day,
        snapshot.report.last_day,
    );
    let computed_at = snapshot.computed_at.naive_utc();
    let newer = report_snapshots::table
        .find(key)
        .filter(report_snapshots::computed_at.ge(computed_at))
        .count()
        .get_result::<i64>(conn)?;
    if newer > 0 {
        return Ok(());
    }
    diesel::delete(report_snapshots::table.find(key)).execute(conn)?;
    diesel::insert_into(report_snapshots::table)
        .values((
            report_snapshots::county_code.eq(county_code),
            report_snapshots::first_day.eq(snapshot.report.first_day),
            report_snapshots::last_day.eq(snapshot.report.last_day),
            report_snapshots::computed_at.eq(computed_at),
            report_snapshots::report.eq(serde_json::to_string(&snapshot.report)
                .map_err(|_| ApiError::internal("report not serializable"))?),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every county's code.
pub fn county_codes(conn: &mut DbConn) -> ApiResult<Vec<String>> {
    Ok(jurisdictions::table
        .filter(jurisdictions::kind.eq(crate::jurisdictions::Kind::County.as_str()))
        .select(jurisdictions::code)
        .load(conn)?)
}
