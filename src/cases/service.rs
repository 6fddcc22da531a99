//! Case use cases. Every change goes through [`apply`]: the lifecycle table decides, the row
//! is written only if nobody moved the case meanwhile, and the history entry and the audit
//! entry are written in the same transaction.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::lifecycle::{self, Action, Kind, Performer, Refusal, State, TOWNSHIP_QUEUE, Transition};
use super::recheck::RecheckIntervals;
use super::store::{self, CaseRow, EventRow};
use super::workdays::{Calendar, china_date};
use crate::audit::{self, Actor, Event};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use crate::jurisdictions::{self, settings};
use crate::oversight::spot_checks::OverturnReason;
use crate::scoring::{self, PhotoKind, store::AssessmentRow, store::SchemeCache};

pub fn not_found() -> ApiError {
    ApiError::not_found("Case", "该案件")
}

/// Reads a case the caller may see (403 outside its jurisdiction, 404 if there is none).
pub fn find(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<CaseRow> {
    let (row, path) = store::find(conn, id)?.ok_or_else(not_found)?;
    caller.authorize(crate::auth::Action::ReadCases, &path)?;
    Ok(row)
}

pub fn state_of(row: &CaseRow) -> ApiResult<State> {
    State::parse(&row.state).ok_or_else(|| ApiError::internal(format!("state {}", row.state)))
}

pub fn kind_of(row: &CaseRow) -> ApiResult<Kind> {
    Kind::parse(&row.kind).ok_or_else(|| ApiError::internal(format!("kind {}", row.kind)))
}

/// Waiting in the township reviewers' queue.
fn in_township_queue(row: &CaseRow) -> ApiResult<bool> {
    Ok(lifecycle::queue(kind_of(row)?, state_of(row)?) == Some(TOWNSHIP_QUEUE))
}

/// The caller as the lifecycle table sees it: a township reviewer stands in for the county
/// only where the county delegated confirmation and the case does not need the county.
pub fn performer(conn: &mut DbConn, caller: &Caller, row: &CaseRow) -> ApiResult<Performer> {
    let delegated = caller.role == Role::TownshipReviewer
        && state_of(row)? == State::CountyReview
        && !row.is_borderline()
        && !row.county_visit
        && store::delegated(conn, &row.county_code, china_date(Utc::now()))?;
    Ok(Performer::Staff {
        role: caller.role,
        delegated,
    })
}

/// The table's answer as an API error: 409 naming the state and what the caller could do,
/// or 403.
pub fn check(
    row: &CaseRow,
    action: Action,
    performer: Performer,
) -> ApiResult<&'static Transition> {
    let state = state_of(row)?;
    lifecycle::step(kind_of(row)?, state, action, performer).map_err(|refusal| match refusal {
        Refusal::WrongRole => ApiError::forbidden(),
        Refusal::WrongState { allowed } => ApiError::conflict(
            "illegal_transition",
            format!(
                "A case in state '{}' cannot take '{}'",
                state.as_str(),
                action.as_str()
            ),
            format!(
                "案件当前状态为“{}”，不能执行“{}”",
                state.label_zh(),
                action.as_str()
            ),
        )
        .with_details(json!({ "state": state, "allowed_actions": allowed })),
    })
}

fn moved_underneath() -> ApiError {
    ApiError::conflict(
        "case_changed",
        "The case changed while you worked on it (or your claim lapsed); reload it",
        "案件已被他人更改（或您的认领已过期），请刷新后重试",
    )
}

/// One allowed transition as it will be recorded.
pub struct Step<'a> {
    pub transition: &'static Transition,
    /// What the history and the audit log show (reasons, what to redo, flags acknowledged).
    pub details: Value,
    /// Makes the write conditional on this user still holding the claim.
    pub claim_holder: Option<&'a str>,
}

/// Takes a transition the table allowed: new state, deadline, history, audit.
pub fn apply(
    conn: &mut DbConn,
    calendar: &Calendar,
    actor: &Actor,
    row: &CaseRow,
    step: Step<'_>,
    change: impl FnOnce(&mut CaseRow),
) -> ApiResult<CaseRow> {
    let Step {
        transition,
        details,
        claim_holder,
    } = step;
    let now = Utc::now();
    let at = audit::store::now();
    let mut next = row.clone();
    next.state = transition.to.as_str().to_owned();
    next.queue = lifecycle::queue(kind_of(row)?, transition.to).map(str::to_owned);
    if transition.action.restarts_clock() {
        next.entered_at = at;
        next.due_at = deadline(calendar, now, transition.to);
        // Any move ends a review lease; opening the review is the lease itself.
        next.claimed_by = None;
        next.claim_expires_at = None;
    }
    if transition.to.is_closed() {
        next.closed_at = Some(at);
    }
    next.version += 1;
    change(&mut next);
    if !store::update(
        conn,
        &next,
        row.version,
        claim_holder.map(|user| (user, at)),
    )? {
        return Err(moved_underneath());
    }
    record(
        conn,
        actor,
        &next,
        transition.action.as_str(),
        Some(&row.state),
        details,
    )?;
    Ok(next)
}

/// One entry in the case's history and the same in the audit log.
fn record(
    conn: &mut DbConn,
    actor: &Actor,
    row: &CaseRow,
    action: &str,
    from_state: Option<&str>,
    details: Value,
) -> ApiResult<()> {
    store::add_event(
        conn,
        &EventRow {
            id: uuid::Uuid::new_v4().to_string(),
            case_id: row.id.clone(),
            at: audit::store::now(),
            action: action.to_owned(),
            from_state: from_state.map(str::to_owned),
            to_state: row.state.clone(),
            actor_id: actor.user_id.clone(),
            actor_name: actor.name.clone(),
            details: details.to_string(),
        },
    )?;
    audit::store::append(
        conn,
        actor,
        Event {
            action: &format!("case.{action}"),
            target_type: "case",
            target_id: &row.id,
            summary: json!({ "from": from_state, "to": row.state, "details": details }),
        },
    )
}

/// When the step that starts in `state` at `now` is due, if it has a deadline of its own.
pub fn deadline(calendar: &Calendar, now: DateTime<Utc>, state: State) -> Option<NaiveDateTime> {
    state
        .sla_workdays()
        .map(|days| calendar.deadline(now, days).naive_utc())
}

fn case_open(existing: Option<&CaseRow>) -> ApiError {
    let error = ApiError::conflict(
        "case_open",
        "The household already has an open case",
        "该家庭已有一个未办结的案件",
    );
    match existing {
        Some(case) => error.with_details(json!({ "case_id": case.id, "state": case.state })),
        None => error,
    }
}

/// Opens a case (an application taken at the township window) in `applied`.
pub fn open(
    conn: &mut DbConn,
    calendar: &Calendar,
    caller: &Caller,
    household_id: &str,
) -> ApiResult<CaseRow> {
    let (household, _, path) = crate::households::store::find(conn, &caller.scope, household_id)?
        .ok_or_else(|| ApiError::not_found("Household", "该家庭"))?;
    caller.authorize(crate::auth::Action::OpenCases, &path)?;
    if !household.active {
        return Err(ApiError::conflict(
            "household_inactive",
            "The household is closed; reopen it before applying",
            "该家庭已注销，请先恢复后再申请",
        ));
    }
    if let Some(open) = store::open_of_household(conn, &household.id)? {
        return Err(case_open(Some(&open)));
    }
    let village = jurisdictions::store::find(conn, &caller.scope, &household.village_code)?
        .ok_or_else(|| ApiError::not_found("Village", "该村"))?;
    let township = village
        .parent_code
        .clone()
        .ok_or_else(|| ApiError::internal("village without a township"))?;
    let county = jurisdictions::store::county_of(conn, &path)?
        .ok_or_else(|| ApiError::not_found("County", "该区县"))?;
    create(
        conn,
        calendar,
        &caller.actor(),
        NewCase {
            household_id: &household.id,
            kind: Kind::Application,
            state: State::Applied,
            county_code: county.code,
            township_code: township,
            village_code: household.village_code.clone(),
            coordinator_id: household.responsible_worker_id.clone(),
            opened_by: Some(caller.user_id.clone()),
            event: "apply",
            evidence: None,
        },
    )
}

/// Where a new case starts and whose it is.
pub struct NewCase<'a> {
    pub household_id: &'a str,
    pub kind: Kind,
    pub state: State,
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    pub coordinator_id: Option<String>,
    pub opened_by: Option<String>,
    /// The first history entry's action: `apply`, `schedule_recheck`, `open_spot_check`,
    /// `open_correction`.
    pub event: &'a str,
    /// A case whose visit and assessment the new case starts from (a correction decides on
    /// the county's spot-check visit).
    pub evidence: Option<&'a CaseRow>,
}

/// Inserts a case (the household's one open case) with its first history entry.
fn create(
    conn: &mut DbConn,
    calendar: &Calendar,
    actor: &Actor,
    new: NewCase<'_>,
) -> ApiResult<CaseRow> {
    let at = audit::store::now();
    let mut row = CaseRow {
        id: uuid::Uuid::new_v4().to_string(),
        household_id: new.household_id.to_owned(),
        kind: new.kind.as_str().to_owned(),
        state: new.state.as_str().to_owned(),
        queue: lifecycle::queue(new.kind, new.state).map(str::to_owned),
        county_code: new.county_code,
        township_code: new.township_code,
        village_code: new.village_code,
        coordinator_id: new.coordinator_id,
        visit_id: None,
        assessment_id: None,
        max_severity: 0,
        flag_kinds: String::new(),
        band: None,
        queue_priority: 0,
        county_visit: false,
        entered_at: at,
        due_at: deadline(calendar, Utc::now(), new.state),
        claimed_by: None,
        claim_expires_at: None,
        redo: None,
        notice_id: None,
        review_class: None,
        monthly_amount_fen: None,
        next_recheck_on: None,
        opened_at: at,
        opened_by: new.opened_by,
        closed_at: None,
        version: 1,
    };
    if let Some(from) = new.evidence {
        row.visit_id = from.visit_id.clone();
        row.assessment_id = from.assessment_id.clone();
        row.max_severity = from.max_severity;
        row.flag_kinds = from.flag_kinds.clone();
        row.band = from.band.clone();
        row.queue_priority = from.queue_priority;
        row.county_visit = from.county_visit;
    }
    store::insert(conn, &row).map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            case_open(None)
        } else {
            e.into()
        }
    })?;
    record(
        conn,
        actor,
        &row,
        new.event,
        None,
        json!({ "household_id": row.household_id, "kind": row.kind }),
    )?;
    Ok(row)
}

/// Opens the re-check of an approved case whose date has come: a new cycle, straight to the
/// coordinator's phone. Nothing happens when the approval is no longer the household's latest
/// case (a re-check or new application came since), so running it again changes nothing.
pub fn open_recheck(
    conn: &mut DbConn,
    calendar: &Calendar,
    approved: &CaseRow,
) -> ApiResult<Option<CaseRow>> {
    let latest = store::latest_cycle_of_household(conn, &approved.household_id)?;
    if latest.as_ref().map(|c| &c.id) != Some(&approved.id) {
        return Ok(None);
    }
    create(
        conn,
        calendar,
        &Actor::system("schedule"),
        NewCase {
            household_id: &approved.household_id,
            kind: Kind::Recheck,
            state: State::VisitAssigned,
            county_code: approved.county_code.clone(),
            township_code: approved.township_code.clone(),
            village_code: approved.village_code.clone(),
            coordinator_id: approved.coordinator_id.clone(),
            opened_by: None,
            event: "schedule_recheck",
            evidence: None,
        },
    )
    .map(Some)
}

/// Opens the county's spot check of an approved case, on the inspector's phone. `None` when
/// the household already has an open case (a re-check or new application came first): the
/// draw records it as skipped rather than failing.
pub fn open_spot_check(
    conn: &mut DbConn,
    calendar: &Calendar,
    actor: &Actor,
    checked: &CaseRow,
    inspector_id: &str,
) -> ApiResult<Option<CaseRow>> {
    if store::open_of_household(conn, &checked.household_id)?.is_some() {
        return Ok(None);
    }
    create(
        conn,
        calendar,
        actor,
        NewCase {
            household_id: &checked.household_id,
            kind: Kind::SpotCheck,
            state: State::VisitAssigned,
            county_code: checked.county_code.clone(),
            township_code: checked.township_code.clone(),
            village_code: checked.village_code.clone(),
            coordinator_id: Some(inspector_id.to_owned()),
            opened_by: actor.user_id.clone(),
            event: "open_spot_check",
            evidence: None,
        },
    )
    .map(Some)
}

/// After a spot check overturned an approval, the township decides again: a correction case
/// in its queue, on the county's visit, for the village coordinator of the checked case.
pub fn open_correction(
    conn: &mut DbConn,
    calendar: &Calendar,
    actor: &Actor,
    spot_check: &CaseRow,
    checked: &CaseRow,
) -> ApiResult<CaseRow> {
    create(
        conn,
        calendar,
        actor,
        NewCase {
            household_id: &checked.household_id,
            kind: Kind::Correction,
            state: State::Visited,
            county_code: checked.county_code.clone(),
            township_code: checked.township_code.clone(),
            village_code: checked.village_code.clone(),
            coordinator_id: checked.coordinator_id.clone(),
            opened_by: actor.user_id.clone(),
            event: "open_correction",
            evidence: Some(spot_check),
        },
    )
}

/// Opens every re-check due by `today`, one transaction each; idempotent (run by the
/// `schedule` command and the service's periodic tick).
pub fn schedule_rechecks(
    db: &crate::db::Db,
    calendar: &Calendar,
    today: NaiveDate,
) -> ApiResult<usize> {
    let mut conn = db.get()?;
    let mut opened = 0;
    for approved in store::approvals_in_force(&mut conn, &Scope::everything(), Some(today))? {
        let created =
            crate::db::write_transaction(&mut conn, |conn| open_recheck(conn, calendar, &approved));
        match created {
            Ok(created) => opened += usize::from(created.is_some()),
            // Another node opened it (or an application came) in the meantime.
            Err(err) if err.code == "case_open" => {}
            Err(err) => return Err(err),
        }
    }
    Ok(opened)
}

/// A re-assessment (`rescore`) that replaces the assessment an open case is decided on moves
/// the case onto it; a reviewer still holding the old one then gets `assessment_stale`.
pub fn reassessed(
    conn: &mut DbConn,
    actor: &Actor,
    household_id: &str,
    replaced: &str,
    by: &AssessmentRow,
) -> ApiResult<()> {
    let Some(row) = store::open_of_household(conn, household_id)? else {
        return Ok(());
    };
    if row.assessment_id.as_deref() != Some(replaced) {
        return Ok(());
    }
    let mut next = row.clone();
    next.assessment_id = Some(by.id.clone());
    next.band = Some(by.band.clone());
    next.county_visit = by.county_visit;
    next.queue_priority = store::queue_priority(next.max_severity, next.band.as_deref());
    next.version += 1;
    if !store::update(conn, &next, row.version, None)? {
        return Err(moved_underneath());
    }
    record(
        conn,
        actor,
        &next,
        "reassess",
        Some(&row.state),
        json!({ "replaced": replaced, "assessment_id": by.id, "band": by.band }),
    )
}

/// The household's open case, which must be waiting for a visit.
pub fn visit_due(conn: &mut DbConn, household_id: &str) -> ApiResult<CaseRow> {
    let row = store::open_of_household(conn, household_id)?.ok_or_else(|| {
        ApiError::conflict(
            "no_visit_due",
            "The household has no open case waiting for a visit",
            "该家庭没有待入户调查的案件",
        )
    })?;
    if !state_of(&row)?.awaits_visit() {
        return Err(ApiError::conflict(
            "no_visit_due",
            format!(
                "The household's case is in state '{}', not waiting for a visit",
                row.state
            ),
            format!(
                "该家庭的案件当前为“{}”，不在待入户状态",
                state_of(&row)?.label_zh()
            ),
        )
        .with_details(json!({ "case_id": row.id, "state": row.state })));
    }
    Ok(row)
}

/// What a submitted visit found, copied onto the case for the queue.
pub struct VisitOutcome<'a> {
    pub visit_id: &'a str,
    pub assessment_id: &'a str,
    pub band: &'a str,
    pub county_visit: bool,
    pub max_severity: i32,
    pub flag_kinds: Vec<String>,
}

/// Moves the case into the township queue after a visit.
pub fn visit_submitted(
    conn: &mut DbConn,
    calendar: &Calendar,
    caller: &Caller,
    row: &CaseRow,
    outcome: VisitOutcome<'_>,
) -> ApiResult<CaseRow> {
    let transition = check(row, Action::SubmitVisit, performer(conn, caller, row)?)?;
    apply(
        conn,
        calendar,
        &caller.actor(),
        row,
        Step {
            transition,
            details: json!({ "visit_id": outcome.visit_id, "assessment_id": outcome.assessment_id, "flags": outcome.flag_kinds }),
            claim_holder: None,
        },
        |next| {
            next.visit_id = Some(outcome.visit_id.to_owned());
            next.assessment_id = Some(outcome.assessment_id.to_owned());
            next.band = Some(outcome.band.to_owned());
            next.county_visit = outcome.county_visit;
            next.max_severity = outcome.max_severity;
            next.queue_priority = store::queue_priority(outcome.max_severity, Some(outcome.band));
            next.flag_kinds = store::flag_column(&outcome.flag_kinds);
            next.redo = None;
        },
    )
}

/// Moves a case whose notice period is over into county review, unless an objection is
/// still open. Idempotent: a case that already moved is left alone.
pub fn end_notice_if_over(
    conn: &mut DbConn,
    calendar: &Calendar,
    row: &CaseRow,
) -> ApiResult<Option<CaseRow>> {
    if state_of(row)? != State::PublicNotice {
        return Ok(None);
    }
    let today = china_date(Utc::now());
    let over = match &row.notice_id {
        Some(id) => store::find_notice(conn, id)?.is_some_and(|(notice, _)| notice.ends_on < today),
        None => false,
    };
    let objection_open = store::objections_of(conn, &row.id)?
        .iter()
        .any(|o| o.status == "open");
    if !over || objection_open {
        return Ok(None);
    }
    let transition = check(row, Action::EndNotice, Performer::System)?;
    apply(
        conn,
        calendar,
        &Actor::system("notice"),
        row,
        Step {
            transition,
            details: json!({ "notice_id": row.notice_id }),
            claim_holder: None,
        },
        |_| {},
    )
    .map(Some)
}

/// Before a case is shown or acted on: a notice period that is over ends now, in its own
/// transaction, so the move stands whatever the request then does.
pub fn settle(conn: &mut DbConn, calendar: &Calendar, caller: &Caller, id: &str) -> ApiResult<()> {
    let row = find(conn, caller, id)?;
    end_notice_if_over(conn, calendar, &row).map(drop)
}

/// Ends every notice period that is over; run by the background tick.
pub fn end_notices(conn: &mut DbConn, calendar: &Calendar) -> ApiResult<usize> {
    let mut moved = 0;
    for row in store::notice_over(conn, china_date(Utc::now()))? {
        if end_notice_if_over(conn, calendar, &row)?.is_some() {
            moved += 1;
        }
    }
    Ok(moved)
}

/// Why a case is refused at the window or after review; the letter to the applicant names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    IncomeAboveStandard,
    AssetsAboveLimit,
    RefusedInvestigation,
    FalseInformation,
    NotResident,
    DuplicateAssistance,
    Other,
}

impl RejectReason {
    pub const ALL: [RejectReason; 7] = [
        RejectReason::IncomeAboveStandard,
        RejectReason::AssetsAboveLimit,
        RejectReason::RefusedInvestigation,
        RejectReason::FalseInformation,
        RejectReason::NotResident,
        RejectReason::DuplicateAssistance,
        RejectReason::Other,
    ];

    /// The name serde gives the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::IncomeAboveStandard => "income_above_standard",
            RejectReason::AssetsAboveLimit => "assets_above_limit",
            RejectReason::RefusedInvestigation => "refused_investigation",
            RejectReason::FalseInformation => "false_information",
            RejectReason::NotResident => "not_resident",
            RejectReason::DuplicateAssistance => "duplicate_assistance",
            RejectReason::Other => "other",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RejectReason::IncomeAboveStandard => "家庭人均收入高于当地最低生活保障标准",
            RejectReason::AssetsAboveLimit => "家庭财产状况超过规定条件",
            RejectReason::RefusedInvestigation => "无正当理由拒绝配合入户调查或经济状况核对",
            RejectReason::FalseInformation => "提供虚假材料或隐瞒家庭收入、财产",
            RejectReason::NotResident => "不符合户籍或居住条件",
            RejectReason::DuplicateAssistance => "已在其他地方享受同类救助",
            RejectReason::Other => "其他原因",
        }
    }
}

/// What to do again on the next visit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redo {
    /// Checklist item keys to answer again.
    #[serde(default)]
    pub items: Vec<String>,
    /// Photo kinds to take again.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub photo_kinds: Vec<PhotoKind>,
}

/// One action on a case. Which fields are needed depends on the action (see the lifecycle
/// table): reasons for reject/return/reinvestigate, `redo` for a return, and for review
/// decisions the assessment seen and every flag acknowledged.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub action: Action,
    pub reason_code: Option<RejectReason>,
    /// Free text for the applicant (reject) or the coordinator (return, reinvestigate).
    pub reason: Option<String>,
    pub redo: Option<Redo>,
    /// The assessment the reviewer saw; refused if a newer one exists.
    pub assessment_id: Option<String>,
    /// Kinds of every evidence flag of the visit, acknowledged as seen.
    #[serde(default)]
    pub acknowledged_flags: Vec<String>,
    /// For `assign`: the coordinator who visits (default: the household's named worker).
    pub coordinator_id: Option<String>,
    /// For `overturn` (a spot check): what the township got wrong.
    pub overturn_reason: Option<OverturnReason>,
}

const MAX_REASON_CHARS: usize = 2000;

fn required_reason(request: &ActionRequest) -> ApiResult<String> {
    let text = request.reason.as_deref().map(str::trim).unwrap_or_default();
    if text.is_empty() || text.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::unprocessable(
            "reason_required",
            format!("This action needs a reason of 1–{MAX_REASON_CHARS} characters"),
            format!("此操作需要填写 1–{MAX_REASON_CHARS} 字的理由"),
        ));
    }
    if request.action == Action::Reject && request.reason_code.is_none() {
        return Err(ApiError::unprocessable(
            "reason_code_required",
            "A rejection needs a reason code",
            "不予批准需要选择理由类别",
        ));
    }
    if request.action == Action::Overturn && request.overturn_reason.is_none() {
        return Err(ApiError::unprocessable(
            "overturn_reason_required",
            "An overturn needs an overturn reason",
            "纠正抽查结论需要选择纠正原因",
        ));
    }
    Ok(text.to_owned())
}

fn required_redo(
    conn: &mut DbConn,
    schemes: &SchemeCache,
    row: &CaseRow,
    request: &ActionRequest,
) -> ApiResult<Redo> {
    let redo = request.redo.clone().unwrap_or_default();
    if redo.items.is_empty() && redo.photo_kinds.is_empty() {
        return Err(ApiError::unprocessable(
            "redo_required",
            "A return must name the checklist items or photo kinds to redo",
            "退回补查需要指明重新填写的项目或重新拍摄的照片类别",
        ));
    }
    let assessment = current_assessment(conn, row)?;
    let scheme = schemes.get(&scoring::store::by_id(conn, &assessment.scheme_version_id)?)?;
    let unknown: Vec<&String> = redo
        .items
        .iter()
        .filter(|key| !scheme.items.iter().any(|item| &item.key == *key))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::unprocessable(
            "redo_unknown_items",
            "Some items to redo are not in the scheme's checklist",
            "部分需重新填写的项目不在评分方案的清单中",
        )
        .with_details(json!({ "unknown": unknown })));
    }
    Ok(redo)
}

fn current_assessment(conn: &mut DbConn, row: &CaseRow) -> ApiResult<AssessmentRow> {
    let id = row
        .assessment_id
        .as_deref()
        .ok_or_else(|| ApiError::internal("reviewed case without an assessment"))?;
    scoring::store::find_assessment(conn, &Scope::everything(), id)?
        .ok_or_else(|| ApiError::internal("case assessment missing"))
}

/// A review decision: the caller holds the claim, saw the current assessment and
/// acknowledged every flag.
fn check_decision(row: &CaseRow, caller: &Caller, request: &ActionRequest) -> ApiResult<()> {
    if !row.holds_claim(&caller.user_id, audit::store::now()) {
        return Err(ApiError::conflict(
            "claim_required",
            "Claim the case before deciding on it",
            "请先认领该案件再作决定",
        ));
    }
    if request.assessment_id != row.assessment_id {
        return Err(ApiError::conflict(
            "assessment_stale",
            "The case has a newer assessment than the one you saw; review it again",
            "该案件已有更新的评估结果，请重新审阅",
        )
        .with_details(json!({ "current_assessment_id": row.assessment_id })));
    }
    let missing: Vec<String> = row
        .flags()
        .into_iter()
        .filter(|flag| !request.acknowledged_flags.contains(flag))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::unprocessable(
            "flags_unacknowledged",
            "Every evidence flag must be acknowledged before deciding",
            "作出决定前须逐项确认所有证据提示",
        )
        .with_details(json!({ "missing": missing })));
    }
    Ok(())
}

/// Confirmation needs no open objection, and a passed democratic appraisal where the case is
/// borderline or an objection asked for one.
fn check_confirmable(conn: &mut DbConn, row: &CaseRow) -> ApiResult<()> {
    let objections = store::objections_of(conn, &row.id)?;
    if objections.iter().any(|o| o.status == "open") {
        return Err(ApiError::conflict(
            "objection_open",
            "An objection to this case is still open",
            "该案件仍有未处理的异议",
        ));
    }
    let needs_appraisal = row.is_borderline() || objections.iter().any(|o| o.status == "appraisal");
    let passed = store::appraisals_of(conn, &row.id)?
        .last()
        .is_some_and(|a| a.passed);
    if needs_appraisal && !passed {
        return Err(ApiError::conflict(
            "appraisal_required",
            "This case needs a passed democratic appraisal before confirmation",
            "该案件须经民主评议通过后方可审批",
        ));
    }
    Ok(())
}

/// The coordinator who will visit: named, or the household's responsible worker; a live
/// coordinator whose village (or township) contains the case's village.
fn coordinator_for(
    conn: &mut DbConn,
    caller: &Caller,
    row: &CaseRow,
    named: Option<&str>,
) -> ApiResult<String> {
    let not_eligible = || {
        ApiError::unprocessable(
            "coordinator_invalid",
            "Name a coordinator of the household's village (it has no responsible worker)",
            "请指定该村的协理员（该家庭未指定责任人）",
        )
    };
    let id = named
        .or(row.coordinator_id.as_deref())
        .ok_or_else(not_eligible)?;
    let village = jurisdictions::store::find(conn, &caller.scope, &row.village_code)?
        .ok_or_else(not_found)?;
    let (user, user_path) =
        crate::users::store::find(conn, &caller.scope, id)?.ok_or_else(not_eligible)?;
    if user.role != Role::Coordinator || user.disabled || !village.path.starts_with(&user_path) {
        return Err(not_eligible());
    }
    Ok(user.id)
}

/// One action from the actions endpoint.
pub fn act(
    conn: &mut DbConn,
    calendar: &Calendar,
    schemes: &SchemeCache,
    caller: &Caller,
    id: &str,
    request: &ActionRequest,
) -> ApiResult<CaseRow> {
    if matches!(
        request.action,
        Action::SubmitVisit | Action::StartReview | Action::PublishNotice | Action::EndNotice
    ) {
        return Err(ApiError::unprocessable(
            "action_not_direct",
            "This step happens through its own request (visit submission, claim, notice)",
            "此步骤须通过相应的请求完成（提交走访、认领、发布公示）",
        ));
    }
    let row = find(conn, caller, id)?;
    let transition = check(&row, request.action, performer(conn, caller, &row)?)?;
    let needs = transition.needs;
    if needs.decision {
        check_decision(&row, caller, request)?;
    }
    let reason = needs.reason.then(|| required_reason(request)).transpose()?;
    let redo = needs
        .redo
        .then(|| required_redo(conn, schemes, &row, request))
        .transpose()?;
    let mut details = json!({
        "reason_code": request.reason_code.filter(|_| request.action == Action::Reject),
        "overturn_reason": request.overturn_reason.filter(|_| request.action == Action::Overturn),
        "reason": reason,
        "redo": redo,
    });
    if needs.decision {
        details["assessment_id"] = json!(row.assessment_id);
        details["acknowledged_flags"] = json!(row.flags());
    }
    let mut coordinator = None;
    let mut terms = None;
    match request.action {
        Action::Assign => {
            let id = coordinator_for(conn, caller, &row, request.coordinator_id.as_deref())?;
            details["coordinator_id"] = json!(id);
            coordinator = Some(id);
        }
        Action::Confirm => {
            check_confirmable(conn, &row)?;
            let assessment = current_assessment(conn, &row)?;
            details["assessment_id"] = json!(assessment.id);
            let intervals: RecheckIntervals = settings::load(conn, &row.county_code)?;
            let recheck = intervals.next_after(&assessment.review_class, china_date(Utc::now()));
            terms = Some((
                assessment.review_class.clone(),
                recheck,
                assessment.payment_fen,
            ));
        }
        _ => {}
    }
    let redo_column = redo
        .as_ref()
        .map(|redo| json!({ "redo": redo, "reason": reason }).to_string());
    let next = apply(
        conn,
        calendar,
        &caller.actor(),
        &row,
        Step {
            transition,
            details,
            claim_holder: needs.decision.then_some(caller.user_id.as_str()),
        },
        |next| {
            if let Some(id) = coordinator {
                next.coordinator_id = Some(id);
            }
            if redo_column.is_some() {
                next.redo = redo_column;
            }
            if let Some((class, recheck, amount)) = terms {
                next.review_class = Some(class);
                next.next_recheck_on = recheck;
                next.monthly_amount_fen = amount;
            }
        },
    )?;
    if let Some(reason) = request
        .overturn_reason
        .filter(|_| request.action == Action::Overturn)
    {
        crate::oversight::spot_checks::overturned(conn, calendar, &caller.actor(), &next, reason)?;
    }
    Ok(next)
}

/// Takes or renews the review lease. Of concurrent claims exactly one wins; the first
/// claim of a visited case opens its review.
pub fn claim(
    conn: &mut DbConn,
    calendar: &Calendar,
    caller: &Caller,
    id: &str,
    lease: chrono::Duration,
) -> ApiResult<CaseRow> {
    let row = find(conn, caller, id)?;
    if caller.role != Role::TownshipReviewer {
        return Err(ApiError::forbidden());
    }
    let state = state_of(&row)?;
    if !in_township_queue(&row)? {
        return Err(ApiError::conflict(
            "not_in_queue",
            format!(
                "A case in state '{}' is not in the review queue",
                state.as_str()
            ),
            format!("案件当前为“{}”，不在审核队列中", state.label_zh()),
        )
        .with_details(json!({ "state": state })));
    }
    let now = audit::store::now();
    if !store::claim(conn, &row.id, &caller.user_id, now, now + lease)? {
        let holder = find(conn, caller, id)?;
        return Err(ApiError::conflict(
            "case_claimed",
            "Another reviewer is working on this case",
            "其他审核人员正在处理该案件",
        )
        .with_details(
            json!({ "claimed_by": holder.claimed_by, "claim_expires_at": holder.claim_expires_at }),
        ));
    }
    audit::store::append(
        conn,
        &caller.actor(),
        Event {
            action: "case.claim",
            target_type: "case",
            target_id: &row.id,
            summary: json!({ "until": now + lease }),
        },
    )?;
    // Read again under the claim's lock: a concurrent renewal by the same reviewer may have
    // opened the review since the first read.
    let claimed = find(conn, caller, id)?;
    if state_of(&claimed)? != State::Visited {
        return Ok(claimed);
    }
    let transition = check(
        &claimed,
        Action::StartReview,
        performer(conn, caller, &claimed)?,
    )?;
    apply(
        conn,
        calendar,
        &caller.actor(),
        &claimed,
        Step {
            transition,
            details: json!({}),
            claim_holder: Some(&caller.user_id),
        },
        |_| {},
    )
}

pub fn release(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<()> {
    let row = find(conn, caller, id)?;
    if !store::release(conn, &row.id, &caller.user_id)? {
        return Err(ApiError::conflict(
            "claim_not_held",
            "You do not hold a claim on this case",
            "您未认领该案件",
        ));
    }
    audit::store::append(
        conn,
        &caller.actor(),
        Event {
            action: "case.release",
            target_type: "case",
            target_id: &row.id,
            summary: json!({}),
        },
    )
}

/// A case the bulk approval may take: in the queue, clean, not borderline, recommended by
/// the points, not needing the county, not claimed by someone else.
fn bulk_refusal(
    row: &CaseRow,
    caller: &Caller,
    township: &str,
    now: NaiveDateTime,
) -> Option<(&'static str, &'static str)> {
    if row.township_code != township {
        Some(("other_township", "belongs to another township"))
    } else if !in_township_queue(row).unwrap_or(false) {
        Some(("not_in_queue", "not in the review queue"))
    } else if !row.flags().is_empty() {
        Some(("has_flags", "has evidence flags"))
    } else if row.band.as_deref() != Some("recommend") {
        Some(("not_clean_band", "is not in the recommend band"))
    } else if row.county_visit {
        Some(("county_visit", "needs a county visit"))
    } else if row.claim_expires_at.is_some_and(|until| until > now)
        && row.claimed_by.as_deref() != Some(caller.user_id.as_str())
    {
        Some(("case_claimed", "is claimed by another reviewer"))
    } else {
        None
    }
}

/// Recommends clean cases in one request: all of them, or none with the reason for each
/// refused one.
pub fn bulk_recommend(
    conn: &mut DbConn,
    calendar: &Calendar,
    caller: &Caller,
    township: &str,
    case_ids: &[String],
    reason: &str,
) -> ApiResult<Vec<CaseRow>> {
    let now = audit::store::now();
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for id in case_ids {
        let row = match find(conn, caller, id) {
            Ok(row) => row,
            Err(e) => {
                refused.push(json!({ "case_id": id, "code": e.code, "message": e.message }));
                continue;
            }
        };
        let allowed = check(&row, Action::Recommend, performer(conn, caller, &row)?);
        match (allowed, bulk_refusal(&row, caller, township, now)) {
            (Err(e), _) => {
                refused.push(json!({ "case_id": id, "code": e.code, "message": e.message }))
            }
            (Ok(_), Some((code, message))) => refused.push(
                json!({ "case_id": id, "code": code, "message": format!("The case {message}") }),
            ),
            (Ok(transition), None) => rows.push((row, transition)),
        }
    }
    if !refused.is_empty() {
        return Err(ApiError::unprocessable(
            "bulk_refused",
            "Some cases cannot be recommended in bulk; nothing was changed",
            "部分案件不能批量推荐，本次未作任何更改",
        )
        .with_details(json!({ "refused": refused })));
    }
    rows.into_iter()
        .map(|(row, transition)| {
            apply(
                conn,
                calendar,
                &caller.actor(),
                &row,
                Step {
                    transition,
                    details: json!({ "bulk": true, "reason": reason, "assessment_id": row.assessment_id, "acknowledged_flags": [] }),
                    claim_holder: None,
                },
                |_| {},
            )
        })
        .collect()
}
