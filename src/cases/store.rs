//! Case rows, their history, notices, objections, appraisals and confirmation delegation.
//! Reads of cases take the caller's [`Scope`] (through the village's path).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{count_star, sql};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Text, Timestamp};

use super::lifecycle::{Kind, TOWNSHIP_QUEUE};
use crate::auth::Scope;
use crate::db::schema::{
    appraisals, case_events, cases, confirmation_delegations, households, jurisdictions, members,
    notices, objections,
};
use crate::db::{DbConn, insert_rows};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = cases, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct CaseRow {
    pub id: String,
    pub household_id: String,
    pub kind: String,
    pub state: String,
    pub queue: Option<String>,
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    pub coordinator_id: Option<String>,
    pub visit_id: Option<String>,
    pub assessment_id: Option<String>,
    pub max_severity: i32,
    pub flag_kinds: String,
    pub band: Option<String>,
    pub queue_priority: i32,
    pub county_visit: bool,
    pub entered_at: NaiveDateTime,
    pub due_at: Option<NaiveDateTime>,
    pub claimed_by: Option<String>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub redo: Option<String>,
    pub notice_id: Option<String>,
    pub review_class: Option<String>,
    pub monthly_amount_fen: Option<i64>,
    pub next_recheck_on: Option<NaiveDate>,
    pub opened_at: NaiveDateTime,
    pub opened_by: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub version: i32,
}

impl CaseRow {
    /// The evidence flags of the latest visit, by kind.
    pub fn flags(&self) -> Vec<String> {
        self.flag_kinds
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// What a return or reinvestigation asked to redo, and why.
    pub fn redo_json(&self) -> ApiResult<Option<serde_json::Value>> {
        self.redo
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(ApiError::internal)
    }

    pub fn is_borderline(&self) -> bool {
        self.band.as_deref() == Some("borderline")
    }

    pub fn holds_claim(&self, user_id: &str, now: NaiveDateTime) -> bool {
        self.claimed_by.as_deref() == Some(user_id)
            && self.claim_expires_at.is_some_and(|until| until > now)
    }
}

/// Flag kinds as stored: comma-framed so a filter can match one kind exactly.
pub fn flag_column(kinds: &[String]) -> String {
    if kinds.is_empty() {
        String::new()
    } else {
        format!(",{},", kinds.join(","))
    }
}

/// Spot checks stand beside a household's cycle: they neither replace an approval nor count
/// as the household's latest case.
const SPOT_CHECK: &str = Kind::SpotCheck.as_str();

/// The household's most recently opened cycle case.
pub fn latest_cycle_of_household(
    conn: &mut DbConn,
    household_id: &str,
) -> ApiResult<Option<CaseRow>> {
    Ok(cases::table
        .filter(cases::household_id.eq(household_id))
        .filter(cases::kind.ne(SPOT_CHECK))
        .order((cases::opened_at.desc(), cases::id.desc()))
        .select(CaseRow::as_select())
        .first(conn)
        .optional()?)
}

/// Approvals in force under a scope: approved cases still their household's latest cycle
/// case, optionally only those whose re-check date has come by `recheck_by`. Once a re-check
/// is opened the approval drops out, so the scheduler's set stays small however often it runs.
pub fn approvals_in_force(
    conn: &mut DbConn,
    scope: &Scope,
    recheck_by: Option<NaiveDate>,
) -> ApiResult<Vec<CaseRow>> {
    let later = diesel::alias!(cases as later);
    let superseded = later
        .filter(later.field(cases::household_id).eq(cases::household_id))
        .filter(later.field(cases::kind).ne(SPOT_CHECK))
        .filter(later.field(cases::opened_at).gt(cases::opened_at));
    let mut query = cases::table
        .inner_join(jurisdictions::table.on(jurisdictions::code.eq(cases::village_code)))
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .filter(cases::state.eq("approved"))
        .filter(diesel::dsl::not(diesel::dsl::exists(superseded)))
        .into_boxed();
    if let Some(day) = recheck_by {
        query = query.filter(cases::next_recheck_on.le(day));
    }
    Ok(query
        .order((cases::next_recheck_on.asc(), cases::id.asc()))
        .select(CaseRow::as_select())
        .load(conn)?)
}

/// Raw diesel result, so a second open case (the unique index) can be told apart.
pub fn insert(conn: &mut DbConn, row: &CaseRow) -> QueryResult<()> {
    insert_many(conn, std::slice::from_ref(row))
}

/// Rows in one multi-row statement (a bulk load's).
pub fn insert_many(conn: &mut DbConn, rows: &[CaseRow]) -> QueryResult<()> {
    insert_rows!(conn, cases::table, rows).map(drop)
}

/// A case with its village's path, for the caller's scope check.
pub fn find(conn: &mut DbConn, id: &str) -> ApiResult<Option<(CaseRow, String)>> {
    Ok(cases::table
        .inner_join(jurisdictions::table.on(jurisdictions::code.eq(cases::village_code)))
        .filter(cases::id.eq(id))
        .select((CaseRow::as_select(), jurisdictions::path))
        .first(conn)
        .optional()?)
}

pub fn open_of_household(conn: &mut DbConn, household_id: &str) -> ApiResult<Option<CaseRow>> {
    Ok(cases::table
        .filter(cases::household_id.eq(household_id))
        .filter(cases::closed_at.is_null())
        .select(CaseRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes the new row if nobody changed the case since `expected_version` (and, for review
/// decisions, the claim is still the caller's). False when the case moved underneath.
pub fn update(
    conn: &mut DbConn,
    row: &CaseRow,
    expected_version: i32,
    claim_of: Option<(&str, NaiveDateTime)>,
) -> ApiResult<bool> {
    let this = cases::table
        .filter(cases::id.eq(&row.id))
        .filter(cases::version.eq(expected_version));
    let changed = match claim_of {
        Some((user, now)) => diesel::update(
            this.filter(cases::claimed_by.eq(user))
                .filter(cases::claim_expires_at.gt(now)),
        )
        .set(row)
        .execute(conn)?,
        None => diesel::update(this).set(row).execute(conn)?,
    };
    Ok(changed == 1)
}

/// Takes or renews the lease in one conditional statement, so of two concurrent claims
/// exactly one changes the row.
pub fn claim(
    conn: &mut DbConn,
    id: &str,
    user_id: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> ApiResult<bool> {
    let changed = diesel::update(cases::table)
        .filter(cases::id.eq(id))
        .filter(
            cases::claimed_by
                .is_null()
                .or(cases::claim_expires_at.le(now))
                .or(cases::claimed_by.eq(user_id)),
        )
        .set((
            cases::claimed_by.eq(user_id),
            cases::claim_expires_at.eq(until),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn release(conn: &mut DbConn, id: &str, user_id: &str) -> ApiResult<bool> {
    let changed = diesel::update(cases::table)
        .filter(cases::id.eq(id))
        .filter(cases::claimed_by.eq(user_id))
        .set((
            cases::claimed_by.eq(None::<String>),
            cases::claim_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = case_events, treat_none_as_default_value = false)]
pub struct EventRow {
    pub id: String,
    pub case_id: String,
    pub at: NaiveDateTime,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub details: String,
}

pub fn add_event(conn: &mut DbConn, row: &EventRow) -> ApiResult<()> {
    add_events(conn, std::slice::from_ref(row))
}

/// Rows in one multi-row statement (a bulk load's).
pub fn add_events(conn: &mut DbConn, rows: &[EventRow]) -> ApiResult<()> {
    insert_rows!(conn, case_events::table, rows)?;
    Ok(())
}

pub fn events(conn: &mut DbConn, case_id: &str) -> ApiResult<Vec<EventRow>> {
    Ok(case_events::table
        .filter(case_events::case_id.eq(case_id))
        .order((case_events::at.asc(), case_events::id.asc()))
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Where a case stands in its queue's order (lowest first): the more severe its flags, the
/// sooner; borderline before clear-cut.
pub fn queue_priority(max_severity: i32, band: Option<&str>) -> i32 {
    -(max_severity * 2 + i32::from(band == Some("borderline")))
}

/// Position of a queue row: (overdue, priority, entered, id), compared in queue order.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueKey {
    pub overdue: bool,
    pub priority: i32,
    pub entered_at: NaiveDateTime,
    pub id: String,
}

#[derive(Debug, Default)]
pub struct QueueFilter {
    pub village: Option<String>,
    pub flag: Option<String>,
    pub band: Option<String>,
    pub overdue: Option<bool>,
}

/// One page of a township's queue: overdue first, then severity and borderline (the rank),
/// then the longest waiting. Cases claimed by someone else are not offered.
pub fn queue(
    conn: &mut DbConn,
    township: &str,
    filter: &QueueFilter,
    viewer: &str,
    now: NaiveDateTime,
    after: Option<&QueueKey>,
    limit: i64,
) -> ApiResult<Vec<CaseRow>> {
    let mut rows = Vec::new();
    // The two segments, overdue first, each read in index order.
    for overdue in [true, false] {
        // A cursor in the on-time segment has already passed every overdue row.
        if filter.overdue.is_some_and(|wanted| wanted != overdue)
            || after.is_some_and(|key| !key.overdue && overdue)
        {
            continue;
        }
        let mut query = cases::table
            .filter(cases::township_code.eq(township))
            .filter(cases::queue.eq(TOWNSHIP_QUEUE))
            .filter(
                cases::claimed_by
                    .is_null()
                    .or(cases::claim_expires_at.le(now))
                    .or(cases::claimed_by.eq(viewer)),
            )
            .into_boxed();
        query = if overdue {
            query.filter(cases::due_at.lt(now))
        } else {
            query.filter(cases::due_at.is_null().or(cases::due_at.ge(now)))
        };
        if let Some(village) = &filter.village {
            query = query.filter(cases::village_code.eq(village));
        }
        if let Some(flag) = &filter.flag {
            query = query.filter(cases::flag_kinds.like(format!("%,{flag},%")));
        }
        if let Some(band) = &filter.band {
            query = query.filter(cases::band.eq(band));
        }
        if let Some(key) = after.filter(|key| key.overdue == overdue) {
            // A row-value comparison, which both backends turn into an index range.
            query = query.filter(
                sql::<Bool>("(queue_priority, entered_at, id) > (")
                    .bind::<Integer, _>(key.priority)
                    .sql(", ")
                    .bind::<Timestamp, _>(key.entered_at)
                    .sql(", ")
                    .bind::<Text, _>(key.id.clone())
                    .sql(")"),
            );
        }
        let page: Vec<CaseRow> = query
            .order((
                cases::queue_priority.asc(),
                cases::entered_at.asc(),
                cases::id.asc(),
            ))
            .limit(limit - rows.len() as i64)
            .select(CaseRow::as_select())
            .load(conn)?;
        rows.extend(page);
        if rows.len() as i64 >= limit {
            break;
        }
    }
    Ok(rows)
}

/// What a case list is narrowed to.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub state: Option<&'static str>,
    /// application, recheck or spot_check.
    pub kind: Option<&'static str>,
    /// Open and past its deadline as of this instant.
    pub overdue_at: Option<NaiveDateTime>,
}

/// Cases in the scope, newest first (keyset on opened_at, id).
/// The code a township's (or village's) cases carry themselves. Filtering on it as well as on
/// the path lets the planner read the township's indexes: the path test alone walked every
/// case and skipped other townships' (the case list's p99 was 89 ms, the state counts 590 ms
/// at a million households on SQLite). The path test stays, so the scope is still the one
/// authority.
enum Narrowing {
    Township(String),
    Village(String),
    None,
}

fn narrowing(conn: &mut DbConn, scope: &Scope) -> ApiResult<Narrowing> {
    let root: Option<(String, String)> = jurisdictions::table
        .filter(jurisdictions::path.eq(scope.root_path()))
        .select((jurisdictions::code, jurisdictions::kind))
        .first(conn)
        .optional()?;
    Ok(match root {
        Some((code, kind)) if kind == "township" => Narrowing::Township(code),
        Some((code, kind)) if kind == "village" => Narrowing::Village(code),
        _ => Narrowing::None,
    })
}

/// The cases inside `scope`, as a boxed query to refine.
macro_rules! scoped_cases {
    ($conn:expr, $scope:expr) => {{
        let query = cases::table
            .inner_join(jurisdictions::table.on(jurisdictions::code.eq(cases::village_code)))
            .filter(jurisdictions::path.like($scope.like_pattern()))
            .into_boxed();
        match narrowing($conn, $scope)? {
            Narrowing::Township(code) => query.filter(cases::township_code.eq(code)),
            Narrowing::Village(code) => query.filter(cases::village_code.eq(code)),
            Narrowing::None => query,
        }
    }};
}

pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &ListFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> ApiResult<Vec<CaseRow>> {
    let mut query = scoped_cases!(conn, scope);
    if let Some(state) = filter.state {
        query = query.filter(cases::state.eq(state));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(cases::kind.eq(kind));
    }
    if let Some(now) = filter.overdue_at {
        query = query
            .filter(cases::closed_at.is_null())
            .filter(cases::due_at.lt(now));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            cases::opened_at
                .lt(at)
                .or(cases::opened_at.eq(at).and(cases::id.lt(id))),
        );
    }
    Ok(query
        .order((cases::opened_at.desc(), cases::id.desc()))
        .limit(limit)
        .select(CaseRow::as_select())
        .load(conn)?)
}

/// Cases per state in the scope, and how many of them are overdue.
pub fn counts(
    conn: &mut DbConn,
    scope: &Scope,
    now: NaiveDateTime,
) -> ApiResult<Vec<(String, i64, i64)>> {
    // Grouping a boxed query defeats diesel's type checks, so each narrowing is spelled out.
    macro_rules! by_state {
        ($query:expr) => {{
            let all: Vec<(String, i64)> = $query
                .group_by(cases::state)
                .select((cases::state, count_star()))
                .load(conn)?;
            let overdue: Vec<(String, i64)> = $query
                .filter(cases::due_at.lt(now))
                .filter(cases::closed_at.is_null())
                .group_by(cases::state)
                .select((cases::state, count_star()))
                .load(conn)?;
            (all, overdue)
        }};
    }
    let in_scope = || {
        cases::table
            .inner_join(jurisdictions::table.on(jurisdictions::code.eq(cases::village_code)))
            .filter(jurisdictions::path.like(scope.like_pattern()))
    };
    let (all, overdue) = match narrowing(conn, scope)? {
        Narrowing::Township(code) => by_state!(in_scope().filter(cases::township_code.eq(&code))),
        Narrowing::Village(code) => by_state!(in_scope().filter(cases::village_code.eq(&code))),
        Narrowing::None => by_state!(in_scope()),
    };
    Ok(all
        .into_iter()
        .map(|(state, n)| {
            let late = overdue
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n);
            (state, n, late)
        })
        .collect())
}

/// Whose visits a phone downloads: a village's cycle cases, or the spot checks assigned to
/// one county inspector (never the village's own coordinator).
pub enum Visitor<'a> {
    Village,
    Inspector(&'a str),
}

/// Open cases in the scope awaiting a visit from this visitor.
pub fn awaiting_visit(
    conn: &mut DbConn,
    scope: &Scope,
    visitor: Visitor<'_>,
) -> ApiResult<Vec<CaseRow>> {
    let mut query = cases::table
        .inner_join(jurisdictions::table.on(jurisdictions::code.eq(cases::village_code)))
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .filter(cases::state.eq_any(["visit_assigned", "returned", "reinvestigation"]))
        .into_boxed();
    query = match visitor {
        Visitor::Village => query.filter(cases::kind.ne(SPOT_CHECK)),
        Visitor::Inspector(user_id) => query
            .filter(cases::kind.eq(SPOT_CHECK))
            .filter(cases::coordinator_id.eq(user_id)),
    };
    Ok(query
        .order((cases::village_code.asc(), cases::id.asc()))
        .select(CaseRow::as_select())
        .load(conn)?)
}

pub fn recommended_in(conn: &mut DbConn, township: &str) -> ApiResult<Vec<CaseRow>> {
    Ok(cases::table
        .filter(cases::township_code.eq(township))
        .filter(cases::state.eq("recommended"))
        .order(cases::id.asc())
        .select(CaseRow::as_select())
        .load(conn)?)
}

/// Cases on notice whose notice period is over (ends_on before `today`).
pub fn notice_over(conn: &mut DbConn, today: NaiveDate) -> ApiResult<Vec<CaseRow>> {
    Ok(cases::table
        .inner_join(notices::table)
        .filter(cases::state.eq("public_notice"))
        .filter(notices::ends_on.lt(today))
        .select(CaseRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notices)]
pub struct NoticeRow {
    pub id: String,
    pub township_code: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub published_by: String,
    pub published_at: NaiveDateTime,
}

pub fn insert_notice(conn: &mut DbConn, row: &NoticeRow) -> ApiResult<()> {
    diesel::insert_into(notices::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A notice with its township's path, for the caller's scope check.
pub fn find_notice(conn: &mut DbConn, id: &str) -> ApiResult<Option<(NoticeRow, String)>> {
    Ok(notices::table
        .inner_join(jurisdictions::table.on(jurisdictions::code.eq(notices::township_code)))
        .filter(notices::id.eq(id))
        .select((NoticeRow::as_select(), jurisdictions::path))
        .first(conn)
        .optional()?)
}

/// The newest notices of the townships inside `scope`, with each township's name.
pub fn notices_in(
    conn: &mut DbConn,
    scope: &Scope,
    limit: i64,
) -> ApiResult<Vec<(NoticeRow, String)>> {
    Ok(notices::table
        .inner_join(jurisdictions::table.on(jurisdictions::code.eq(notices::township_code)))
        .filter(jurisdictions::path.like(scope.like_pattern()))
        .order((notices::published_at.desc(), notices::id.desc()))
        .limit(limit)
        .select((NoticeRow::as_select(), jurisdictions::name))
        .load(conn)?)
}

pub fn notice_cases(conn: &mut DbConn, notice_id: &str) -> ApiResult<Vec<CaseRow>> {
    Ok(cases::table
        .filter(cases::notice_id.eq(notice_id))
        .order((cases::village_code.asc(), cases::id.asc()))
        .select(CaseRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = objections)]
pub struct ObjectionRow {
    pub id: String,
    pub case_id: String,
    pub objector_name: String,
    pub objector_contact: Option<String>,
    pub content: String,
    pub status: String,
    pub resolution: Option<String>,
    pub filed_by: String,
    pub filed_at: NaiveDateTime,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
}

pub fn insert_objection(conn: &mut DbConn, row: &ObjectionRow) -> ApiResult<()> {
    diesel::insert_into(objections::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn objections_of(conn: &mut DbConn, case_id: &str) -> ApiResult<Vec<ObjectionRow>> {
    Ok(objections::table
        .filter(objections::case_id.eq(case_id))
        .order((objections::filed_at.asc(), objections::id.asc()))
        .select(ObjectionRow::as_select())
        .load(conn)?)
}

/// Resolves an open objection; false if it was not open (already resolved).
pub fn resolve_objection(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    resolution: &str,
    by: &str,
    at: NaiveDateTime,
) -> ApiResult<bool> {
    let changed = diesel::update(objections::table)
        .filter(objections::id.eq(id))
        .filter(objections::status.eq("open"))
        .set((
            objections::status.eq(status),
            objections::resolution.eq(resolution),
            objections::resolved_by.eq(by),
            objections::resolved_at.eq(at),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = appraisals)]
pub struct AppraisalRow {
    pub id: String,
    pub case_id: String,
    pub held_on: NaiveDate,
    pub panel_size: i32,
    pub present: i32,
    pub votes_for: i32,
    pub passed: bool,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

pub fn insert_appraisal(conn: &mut DbConn, row: &AppraisalRow) -> ApiResult<()> {
    diesel::insert_into(appraisals::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn appraisals_of(conn: &mut DbConn, case_id: &str) -> ApiResult<Vec<AppraisalRow>> {
    Ok(appraisals::table
        .filter(appraisals::case_id.eq(case_id))
        .order((appraisals::recorded_at.asc(), appraisals::id.asc()))
        .select(AppraisalRow::as_select())
        .load(conn)?)
}

/// Whether the county's townships confirm on `day`: the latest setting in force.
pub fn delegated(conn: &mut DbConn, county: &str, day: NaiveDate) -> ApiResult<bool> {
    Ok(confirmation_delegations::table
        .filter(confirmation_delegations::county_code.eq(county))
        .filter(confirmation_delegations::effective_from.le(day))
        .order(confirmation_delegations::effective_from.desc())
        .select(confirmation_delegations::delegated)
        .first(conn)
        .optional()?
        .unwrap_or(false))
}

pub fn set_delegation(
    conn: &mut DbConn,
    county: &str,
    from: NaiveDate,
    delegated: bool,
    by: &str,
    at: NaiveDateTime,
) -> ApiResult<()> {
    diesel::delete(confirmation_delegations::table)
        .filter(confirmation_delegations::county_code.eq(county))
        .filter(confirmation_delegations::effective_from.eq(from))
        .execute(conn)?;
    diesel::insert_into(confirmation_delegations::table)
        .values((
            confirmation_delegations::county_code.eq(county),
            confirmation_delegations::effective_from.eq(from),
            confirmation_delegations::delegated.eq(delegated),
            confirmation_delegations::set_by.eq(by),
            confirmation_delegations::set_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// What case lists show of each household: head, village name, active members.
#[derive(Debug, Clone, Queryable)]
pub struct HouseholdLine {
    pub household_id: String,
    pub head_name: String,
    pub village_name: String,
    pub members: i64,
}

pub fn household_lines(
    conn: &mut DbConn,
    household_ids: &[String],
) -> ApiResult<Vec<HouseholdLine>> {
    let member_count = members::table
        .filter(members::household_id.eq(households::id))
        .filter(members::active.eq(true))
        .count()
        .single_value()
        .assume_not_null();
    Ok(households::table
        .inner_join(jurisdictions::table)
        .filter(households::id.eq_any(household_ids))
        .select((
            households::id,
            households::head_name,
            jurisdictions::name,
            member_count,
        ))
        .load(conn)?)
}
