//! Case handlers: applications, the township queue and claims, decisions, public notice,
//! objections, appraisals, confirmation delegation and the decision letter.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::letter;
use super::lifecycle::{self, Action as CaseAction, Kind as CaseKind, Performer, State};
use super::notice::{
    self, FileObjection, NoticeView, PublishNotice, RecordAppraisal, ResolveObjection,
};
use super::recheck::RecheckIntervals;
use super::service::{self, ActionRequest};
use super::store::{self, CaseRow, QueueFilter, QueueKey};
use super::workdays::china_date;
use crate::app::AppState;
use crate::audit;
use crate::auth::{Action, Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::jurisdictions::{self, Kind, settings};
use crate::pagination::{Page, PageParams};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    pub household_id: String,
    pub head_name: String,
    pub village_code: String,
    pub village_name: String,
    pub township_code: String,
    /// application, recheck or spot_check.
    pub kind: CaseKind,
    pub state: State,
    pub coordinator_id: Option<String>,
    /// The latest visit and its assessment.
    pub visit_id: Option<String>,
    pub assessment_id: Option<String>,
    /// recommend / borderline / not_recommended.
    pub band: Option<String>,
    pub county_visit: bool,
    /// Kinds of the latest visit's evidence flags.
    pub flags: Vec<String>,
    pub max_severity: i32,
    /// When the current step started, and when it is due (working days, China time).
    #[serde(with = "crate::serde_util::utc")]
    pub entered_at: NaiveDateTime,
    #[serde(with = "crate::serde_util::utc_opt")]
    pub due_at: Option<NaiveDateTime>,
    /// Computed now from `due_at`, never stored.
    pub overdue: bool,
    pub claimed_by: Option<String>,
    #[serde(with = "crate::serde_util::utc_opt")]
    pub claim_expires_at: Option<NaiveDateTime>,
    /// What the reviewer asked to redo, with the reason (returned or reinvestigated cases).
    #[schema(value_type = Option<Object>)]
    pub redo: Option<Value>,
    pub notice_id: Option<String>,
    pub review_class: Option<String>,
    pub monthly_amount_fen: Option<i64>,
    pub next_recheck_on: Option<NaiveDate>,
    #[serde(with = "crate::serde_util::utc")]
    pub opened_at: NaiveDateTime,
    #[serde(with = "crate::serde_util::utc_opt")]
    pub closed_at: Option<NaiveDateTime>,
    /// What the caller may do next.
    pub allowed_actions: Vec<CaseAction>,
}

/// Case rows as views, with their households' head and village loaded in one query.
fn views(
    conn: &mut DbConn,
    performer: impl Fn(&mut DbConn, &CaseRow) -> ApiResult<Performer>,
    rows: Vec<CaseRow>,
) -> ApiResult<Vec<CaseView>> {
    let ids: Vec<String> = rows.iter().map(|r| r.household_id.clone()).collect();
    let lines = store::household_lines(conn, &ids)?;
    let now = audit::store::now();
    rows.into_iter()
        .map(|row| {
            let line = lines
                .iter()
                .find(|l| l.household_id == row.household_id)
                .ok_or_else(|| ApiError::internal("case household missing"))?;
            let state = service::state_of(&row)?;
            let kind = service::kind_of(&row)?;
            let allowed_actions = lifecycle::allowed(kind, state, performer(conn, &row)?);
            Ok(CaseView {
                head_name: line.head_name.clone(),
                village_name: line.village_name.clone(),
                flags: row.flags(),
                overdue: !state.is_closed() && row.due_at.is_some_and(|due| due < now),
                redo: row.redo_json()?,
                id: row.id,
                household_id: row.household_id,
                village_code: row.village_code,
                township_code: row.township_code,
                kind,
                state,
                coordinator_id: row.coordinator_id,
                visit_id: row.visit_id,
                assessment_id: row.assessment_id,
                band: row.band,
                county_visit: row.county_visit,
                max_severity: row.max_severity,
                entered_at: row.entered_at,
                due_at: row.due_at,
                claimed_by: row.claimed_by,
                claim_expires_at: row.claim_expires_at,
                notice_id: row.notice_id,
                review_class: row.review_class,
                monthly_amount_fen: row.monthly_amount_fen,
                next_recheck_on: row.next_recheck_on,
                opened_at: row.opened_at,
                closed_at: row.closed_at,
                allowed_actions,
            })
        })
        .collect()
}

/// One case as the caller sees it, with the exact actions it may take.
fn view_for(conn: &mut DbConn, caller: &Caller, row: CaseRow) -> ApiResult<CaseView> {
    let mut list = views(
        conn,
        |conn, row| service::performer(conn, caller, row),
        vec![row],
    )?;
    list.pop().ok_or_else(|| ApiError::internal("no view"))
}

/// Lists show what the caller's role could do, without per-row delegation lookups.
/// Rows the caller was already allowed to read, as list entries (no per-case action check).
pub fn list_views(
    conn: &mut DbConn,
    caller: &Caller,
    rows: Vec<CaseRow>,
) -> ApiResult<Vec<CaseView>> {
    views(conn, plain_performer(caller), rows)
}

fn plain_performer(caller: &Caller) -> impl Fn(&mut DbConn, &CaseRow) -> ApiResult<Performer> {
    let role = caller.role;
    move |_, _| {
        Ok(Performer::Staff {
            role,
            delegated: false,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    pub household_id: String,
}

/// Opens a case for a household: an application taken at the township window.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    request_body = OpenCase,
    responses(
        (status = 201, body = CaseView),
        (status = 404, description = "No such household for the caller", body = ErrorBody),
        (status = 409, description = "The household already has an open case", body = ErrorBody),
    )
)]
#[post("/api/v1/cases")]
pub async fn open_case(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<OpenCase>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::OpenCases)?;
    let app = state.clone();
    let view = state
        .db
        .write(move |conn| {
            let row = service::open(conn, &app.calendar, &caller, &body.household_id)?;
            view_for(conn, &caller, row)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseListQuery {
    /// Only cases in this state.
    pub state: Option<State>,
    /// Only this kind (e.g. `recheck`).
    pub kind: Option<CaseKind>,
    /// Only open cases past their deadline (e.g. `kind=recheck&overdue=true`: overdue re-checks).
    pub overdue: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn page_params(cursor: &Option<String>, limit: Option<i64>) -> PageParams {
    PageParams {
        cursor: cursor.clone(),
        limit,
    }
}

fn bad_cursor() -> ApiError {
    ApiError::bad_request("cursor_invalid", "The cursor is not valid", "分页游标无效")
}

/// Cases in the caller's jurisdiction, newest first.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CaseListQuery),
    responses((status = 200, body = Page<CaseView>))
)]
#[get("/api/v1/cases")]
pub async fn list_cases(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<CaseListQuery>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadCases)?;
    let params = page_params(&query.cursor, query.limit);
    let limit = params.limit()?;
    let after = params
        .after()?
        .map(|key| {
            let (at, id) = key.split_once('|').ok_or_else(bad_cursor)?;
            let at = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|_| bad_cursor())?;
            Ok::<_, ApiError>((at, id.to_owned()))
        })
        .transpose()?;
    let filter = store::ListFilter {
        state: query.state.map(State::as_str),
        kind: query.kind.map(CaseKind::as_str),
        overdue_at: query
            .overdue
            .filter(|overdue| *overdue)
            .map(|_| audit::store::now()),
    };
    let page = state
        .db
        .run(move |conn| case_list(conn, &caller, &caller.scope, &filter, after, limit))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One page of the cases in `scope` (the caller's, or a subtree of it), newest first (the
/// API's and the console's).
pub fn case_list(
    conn: &mut DbConn,
    caller: &Caller,
    scope: &Scope,
    filter: &store::ListFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> ApiResult<Page<CaseView>> {
    caller.authorize_role(Action::ReadCases)?;
    if !caller.scope.contains(scope.root_path()) {
        return Err(ApiError::forbidden());
    }
    let rows = store::list(conn, scope, filter, after, limit + 1)?;
    let views = list_views(conn, caller, rows)?;
    Ok(Page::from_rows(views, limit, |v| {
        format!("{}|{}", v.opened_at.format("%Y-%m-%dT%H:%M:%S%.f"), v.id)
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CountsQuery {
    /// A node inside the caller's jurisdiction (default: the caller's own).
    pub jurisdiction: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StateCount {
    pub state: State,
    pub count: i64,
    pub overdue: i64,
}

/// Cases per state, and how many are overdue, for a dashboard.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CountsQuery),
    responses((status = 200, body = Vec<StateCount>))
)]
#[get("/api/v1/cases/counts")]
pub async fn case_counts(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<CountsQuery>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadCases)?;
    let code = query.into_inner().jurisdiction;
    let counts = state
        .db
        .run(move |conn| {
            let scope = match code {
                Some(code) => {
                    let node = jurisdictions::store::find(conn, &caller.scope, &code)?
                        .ok_or_else(|| ApiError::not_found("Jurisdiction", "该行政区划"))?;
                    crate::auth::Scope::of_path(&node.path)
                }
                None => caller.scope.clone(),
            };
            let counts = store::counts(conn, &scope, audit::store::now())?;
            Ok(State::ALL
                .into_iter()
                .map(|s| {
                    let (count, overdue) = counts
                        .iter()
                        .find(|(name, _, _)| name == s.as_str())
                        .map_or((0, 0), |(_, n, late)| (*n, *late));
                    StateCount {
                        state: s,
                        count,
                        overdue,
                    }
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(counts))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    #[serde(with = "crate::serde_util::utc")]
    pub at: NaiveDateTime,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionView {
    pub id: String,
    pub objector_name: String,
    /// Only for township and county staff; never public.
    pub objector_contact: Option<String>,
    pub content: String,
    /// open, unfounded, reinvestigate or appraisal.
    pub status: String,
    pub resolution: Option<String>,
    #[serde(with = "crate::serde_util::utc")]
    pub filed_at: NaiveDateTime,
    #[serde(with = "crate::serde_util::utc_opt")]
    pub resolved_at: Option<NaiveDateTime>,
}

impl ObjectionView {
    fn of(row: store::ObjectionRow, caller: &Caller) -> ObjectionView {
        let staff = matches!(caller.role, Role::TownshipReviewer | Role::CountyOfficer);
        ObjectionView {
            id: row.id,
            objector_name: row.objector_name,
            objector_contact: row.objector_contact.filter(|_| staff),
            content: row.content,
            status: row.status,
            resolution: row.resolution,
            filed_at: row.filed_at,
            resolved_at: row.resolved_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppraisalView {
    pub id: String,
    pub held_on: NaiveDate,
    pub panel_size: i32,
    pub present: i32,
    pub votes_for: i32,
    pub passed: bool,
    #[serde(with = "crate::serde_util::utc")]
    pub recorded_at: NaiveDateTime,
}

impl From<store::AppraisalRow> for AppraisalView {
    fn from(row: store::AppraisalRow) -> Self {
        AppraisalView {
            id: row.id,
            held_on: row.held_on,
            panel_size: row.panel_size,
            present: row.present,
            votes_for: row.votes_for,
            passed: row.passed,
            recorded_at: row.recorded_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseView,
    pub history: Vec<EventView>,
    pub objections: Vec<ObjectionView>,
    pub appraisals: Vec<AppraisalView>,
}

pub fn detail(conn: &mut DbConn, caller: &Caller, row: CaseRow) -> ApiResult<CaseDetail> {
    let history = store::events(conn, &row.id)?
        .into_iter()
        .map(|e| {
            Ok(EventView {
                details: serde_json::from_str(&e.details).map_err(ApiError::internal)?,
                at: e.at,
                action: e.action,
                from_state: e.from_state,
                to_state: e.to_state,
                actor_id: e.actor_id,
                actor_name: e.actor_name,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let objections = store::objections_of(conn, &row.id)?
        .into_iter()
        .map(|o| ObjectionView::of(o, caller))
        .collect();
    let appraisals = store::appraisals_of(conn, &row.id)?
        .into_iter()
        .map(AppraisalView::from)
        .collect();
    Ok(CaseDetail {
        case: view_for(conn, caller, row)?,
        history,
        objections,
        appraisals,
    })
}

/// Ends a notice period that is over before the case is shown or acted on. Only a case on
/// notice needs the write transaction; every other read stays a read.
pub async fn settle(state: &web::Data<AppState>, caller: &Caller, id: &str) -> ApiResult<()> {
    let (who, case) = (caller.clone(), id.to_owned());
    let on_notice = state
        .db
        .run(
            move |conn| Ok(service::find(conn, &who, &case)?.state == State::PublicNotice.as_str()),
        )
        .await?;
    if !on_notice {
        return Ok(());
    }
    let (app, caller, id) = (state.clone(), caller.clone(), id.to_owned());
    state
        .db
        .write(move |conn| service::settle(conn, &app.calendar, &caller, &id))
        .await
}

/// A case with its history, objections and appraisals.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = CaseDetail),
        (status = 403, description = "Outside the caller's jurisdiction", body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[get("/api/v1/cases/{id}")]
pub async fn get_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    settle(&state, &caller, &id).await?;
    let detail = state
        .db
        .run(move |conn| {
            let row = service::find(conn, &caller, &id)?;
            detail(conn, &caller, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// One step of the lifecycle: accept, assign, recommend, reject, return, reinvestigate,
/// confirm. A step the case's state does not allow is a 409 naming the state and the
/// actions allowed; a step the caller's role may not take is a 403.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = ActionRequest,
    responses(
        (status = 200, body = CaseView),
        (status = 403, body = ErrorBody),
        (status = 409, description = "Illegal in this state, claim not held, stale assessment, open objection", body = ErrorBody),
        (status = 422, description = "Missing reason, redo or flag acknowledgement", body = ErrorBody),
    )
)]
#[post("/api/v1/cases/{id}/actions")]
pub async fn act(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<ActionRequest>,
) -> ApiResult<HttpResponse> {
    let view = perform(&state, caller, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// One lifecycle step, for the API and the console alike.
pub async fn perform(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
    request: ActionRequest,
) -> ApiResult<CaseView> {
    settle(state, &caller, &id).await?;
    let app = state.clone();
    state
        .db
        .write(move |conn| {
            let row = service::act(conn, &app.calendar, &app.schemes, &caller, &id, &request)?;
            view_for(conn, &caller, row)
        })
        .await
}

/// Claims (or renews) the review lease on a case in the township queue. Of two concurrent
/// claims exactly one wins; the other gets 409 `case_claimed`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = CaseView),
        (status = 403, body = ErrorBody),
        (status = 409, description = "Claimed by another reviewer, or not in the queue", body = ErrorBody),
    )
)]
#[post("/api/v1/cases/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let view = claim_case(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Claims or renews the review lease, for the API and the console alike.
pub async fn claim_case(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
) -> ApiResult<CaseView> {
    let app = state.clone();
    state
        .db
        .write(move |conn| {
            let lease = chrono::Duration::minutes(app.settings.claim_minutes);
            let row = service::claim(conn, &app.calendar, &caller, &id, lease)?;
            view_for(conn, &caller, row)
        })
        .await
}

/// Gives a claimed case back to the queue.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Released"),
        (status = 409, description = "The caller holds no claim", body = ErrorBody),
    )
)]
#[delete("/api/v1/cases/{id}/claim")]
pub async fn release(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    state
        .db
        .write(move |conn| service::release(conn, &caller, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A township the caller works in (or above).
fn township_in_scope(conn: &mut DbConn, caller: &Caller, code: &str) -> ApiResult<()> {
    jurisdictions::store::find(conn, &caller.scope, code)?
        .filter(|j| j.kind == Kind::Township.as_str())
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("Township", "该乡镇"))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Only this village.
    pub village: Option<String>,
    /// Only cases with this evidence flag (e.g. far_from_household).
    pub flag: Option<String>,
    /// Only this band: recommend, borderline, not_recommended.
    pub band: Option<String>,
    /// Only overdue (true) or on-time (false) cases.
    pub overdue: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn encode_key(as_of: NaiveDateTime, view: &CaseView) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        as_of.format("%Y-%m-%dT%H:%M:%S%.f"),
        u8::from(view.overdue),
        store::queue_priority(view.max_severity, view.band.as_deref()),
        view.entered_at.format("%Y-%m-%dT%H:%M:%S%.f"),
        view.id
    )
}

fn decode_key(key: &str) -> Option<(NaiveDateTime, QueueKey)> {
    let parts: Vec<&str> = key.splitn(5, '|').collect();
    let [as_of, overdue, priority, entered, id] = parts.as_slice() else {
        return None;
    };
    let time = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok();
    Some((
        time(as_of)?,
        QueueKey {
            overdue: *overdue == "1",
            priority: priority.parse().ok()?,
            entered_at: time(entered)?,
            id: (*id).to_owned(),
        },
    ))
}

/// The township's review queue: overdue first, then flag severity, then borderline, then
/// the longest waiting. Cases another reviewer holds are not offered. The cursor keeps the
/// first page's clock, so a case falling overdue while paging is not shown twice.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Township code"), QueueQuery),
    responses(
        (status = 200, body = Page<CaseView>),
        (status = 404, description = "No such township for the caller", body = ErrorBody),
    )
)]
#[get("/api/v1/jurisdictions/{code}/queue")]
pub async fn queue(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    query: web::Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .db
        .run(move |conn| queue_page(conn, &caller, &code, query.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One page of a township's queue as the caller sees it (the API's and the console's).
pub fn queue_page(
    conn: &mut DbConn,
    caller: &Caller,
    code: &str,
    query: QueueQuery,
) -> ApiResult<Page<CaseView>> {
    caller.authorize_role(Action::ReadCases)?;
    let params = page_params(&query.cursor, query.limit);
    let limit = params.limit()?;
    let after = params
        .after()?
        .map(|key| decode_key(&key).ok_or_else(bad_cursor))
        .transpose()?;
    township_in_scope(conn, caller, code)?;
    let as_of = after
        .as_ref()
        .map_or_else(audit::store::now, |(as_of, _)| *as_of);
    let filter = QueueFilter {
        village: query.village,
        flag: query.flag,
        band: query.band,
        overdue: query.overdue,
    };
    let rows = store::queue(
        conn,
        code,
        &filter,
        &caller.user_id,
        as_of,
        after.as_ref().map(|(_, key)| key),
        limit + 1,
    )?;
    let mut views = views(conn, plain_performer(caller), rows)?;
    // Overdue as of the page's clock, like the order.
    for view in &mut views {
        view.overdue = view.due_at.is_some_and(|due| due < as_of);
    }
    Ok(Page::from_rows(views, limit, |v| encode_key(as_of, v)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRecommend {
    pub case_ids: Vec<String>,
    /// One reason for all of them.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub recommended: Vec<CaseView>,
}

/// Recommends clean cases (no flags, recommend band, no county visit) in one request: all,
/// or none with a reason per refused case (422 `bulk_refused`).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Township code")),
    request_body = BulkRecommend,
    responses(
        (status = 200, body = BulkResult),
        (status = 422, description = "Some case may not be bulk-recommended; nothing changed", body = ErrorBody),
    )
)]
#[post("/api/v1/jurisdictions/{code}/queue/recommend")]
pub async fn bulk_recommend(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: web::Json<BulkRecommend>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let recommended = state
        .db
        .write(move |conn| recommend_clean(conn, &app.calendar, &caller, &code, &body))
        .await?;
    Ok(HttpResponse::Ok().json(BulkResult { recommended }))
}

/// Bulk recommendation of clean cases, for the API and the console alike.
pub fn recommend_clean(
    conn: &mut DbConn,
    calendar: &super::workdays::Calendar,
    caller: &Caller,
    code: &str,
    body: &BulkRecommend,
) -> ApiResult<Vec<CaseView>> {
    caller.authorize_role(Action::ReadCases)?;
    // A role that can never recommend is refused as a whole (403), not case by case (422).
    if !lifecycle::role_may_ever(CaseAction::Recommend, caller.role) {
        return Err(ApiError::forbidden());
    }
    if body.case_ids.is_empty() || body.case_ids.len() > 200 || body.reason.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "bulk_request_invalid",
            "Name 1–200 cases and give a reason",
            "请指定 1–200 个案件并填写理由",
        ));
    }
    township_in_scope(conn, caller, code)?;
    let rows = service::bulk_recommend(
        conn,
        calendar,
        caller,
        code,
        &body.case_ids,
        body.reason.trim(),
    )?;
    views(conn, plain_performer(caller), rows)
}

/// Puts every recommended case of the township on public notice (公示).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Township code")),
    request_body = PublishNotice,
    responses(
        (status = 201, body = NoticeView),
        (status = 409, description = "Nothing to publish", body = ErrorBody),
    )
)]
#[post("/api/v1/jurisdictions/{code}/notices")]
pub async fn publish_notice(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: web::Json<PublishNotice>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let view = state
        .db
        .write(move |conn| {
            let notice = notice::publish(
                conn,
                &app.calendar,
                &caller,
                &code,
                &body,
                app.settings.notice_days,
            )?;
            notice::view(conn, &caller, &notice.id)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NoticeFormat {
    Json,
    Csv,
    Html,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NoticeQuery {
    /// json (default), csv, or html (printable).
    pub format: Option<NoticeFormat>,
}

/// A public notice: masked names, village, household size and proposed amount; never ID
/// numbers, addresses or phones.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), NoticeQuery),
    responses(
        (status = 200, description = "The notice as JSON, CSV or printable HTML", content(
            (NoticeView = "application/json"),
            (String = "text/csv"),
            (String = "text/html"),
        )),
        (status = 404, body = ErrorBody),
    )
)]
#[get("/api/v1/notices/{id}")]
pub async fn get_notice(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> ApiResult<HttpResponse> {
    let view = state
        .db
        .run(move |conn| notice::view(conn, &caller, &id))
        .await?;
    Ok(match query.format.unwrap_or(NoticeFormat::Json) {
        NoticeFormat::Json => HttpResponse::Ok().json(view),
        NoticeFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(notice::to_csv(&view)?),
        NoticeFormat::Html => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(notice::to_html(&view)),
    })
}

/// Records an objection (异议) during the notice, on behalf of a villager.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = FileObjection,
    responses(
        (status = 201, body = ObjectionView),
        (status = 409, description = "The case is not on notice", body = ErrorBody),
    )
)]
#[post("/api/v1/cases/{id}/objections")]
pub async fn file_objection(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<FileObjection>,
) -> ApiResult<HttpResponse> {
    let view = state
        .db
        .write(move |conn| {
            let row = notice::file_objection(conn, &caller, &id, &body)?;
            Ok(ObjectionView::of(row, &caller))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Resolves an objection: unfounded, reinvestigate (a new visit) or democratic appraisal.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("objection_id" = String, Path)),
    request_body = ResolveObjection,
    responses(
        (status = 200, body = CaseView),
        (status = 409, description = "Already resolved, or the case cannot be reinvestigated now", body = ErrorBody),
    )
)]
#[post("/api/v1/cases/{id}/objections/{objection_id}/resolution")]
pub async fn resolve_objection(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<ResolveObjection>,
) -> ApiResult<HttpResponse> {
    let (id, objection_id) = path.into_inner();
    let app = state.clone();
    let view = state
        .db
        .write(move |conn| {
            let row =
                notice::resolve_objection(conn, &app.calendar, &caller, &id, &objection_id, &body)?;
            view_for(conn, &caller, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Records a democratic appraisal (民主评议): at least 15 panel members, two thirds present;
/// it passes with two thirds of those present.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = RecordAppraisal,
    responses(
        (status = 201, body = AppraisalView),
        (status = 409, description = "The case is not in a state that takes an appraisal (appraisal_not_due)", body = ErrorBody),
        (status = 422, description = "Panel too small, no quorum, counts impossible", body = ErrorBody),
    )
)]
#[post("/api/v1/cases/{id}/appraisals")]
pub async fn record_appraisal(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<RecordAppraisal>,
) -> ApiResult<HttpResponse> {
    let view = state
        .db
        .write(move |conn| notice::record_appraisal(conn, &caller, &id, &body))
        .await?;
    Ok(HttpResponse::Created().json(AppraisalView::from(view)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    /// Townships confirm (except borderline and county-visit cases).
    pub delegated: bool,
    /// From this China date on.
    pub effective_from: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationStatus {
    pub county_code: String,
    /// Whether townships confirm today.
    pub delegated_today: bool,
}

/// Whether the county's townships confirm cases today.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code")),
    responses((status = 200, body = DelegationStatus), (status = 404, body = ErrorBody))
)]
#[get("/api/v1/jurisdictions/{code}/confirmation-delegation")]
pub async fn get_delegation(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::ReadCases)?;
    let status = state
        .db
        .run(move |conn| {
            jurisdictions::api::county_for(conn, &caller, &code, Action::ReadCases)?;
            Ok(DelegationStatus {
                delegated_today: store::delegated(conn, &code, china_date(Utc::now()))?,
                county_code: code.into_inner(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// Delegates confirmation to the county's townships (or takes it back) from a date on.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code")),
    request_body = Delegation,
    responses(
        (status = 200, body = DelegationStatus),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[put("/api/v1/jurisdictions/{code}/confirmation-delegation")]
pub async fn set_delegation(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: web::Json<Delegation>,
) -> ApiResult<HttpResponse> {
    let status = state
        .db
        .write(move |conn| {
            jurisdictions::api::county_for(conn, &caller, &code, Action::ConfigureCounty)?;
            let at = audit::store::now();
            store::set_delegation(conn, &code, body.effective_from, body.delegated, &caller.user_id, at)?;
            audit::store::append(
                conn,
                &caller.actor(),
                audit::Event {
                    action: "county.confirmation_delegation",
                    target_type: "jurisdiction",
                    target_id: &code,
                    summary: serde_json::json!({ "delegated": body.delegated, "effective_from": body.effective_from }),
                },
            )?;
            Ok(DelegationStatus {
                delegated_today: store::delegated(conn, &code, china_date(Utc::now()))?,
                county_code: code.into_inner(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// The decision letter to the applicant (Chinese, plain text for printing); 409 while the
/// case is undecided.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The letter", content_type = "text/plain", body = String),
        (status = 409, description = "No decision yet", body = ErrorBody),
    )
)]
#[get("/api/v1/cases/{id}/letter")]
pub async fn decision_letter(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let text = state
        .db
        .run(move |conn| letter::for_case(conn, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(text))
}

/// How often the county re-checks approved households by class (the DOMAIN.md defaults until
/// the county sets its own).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code")),
    responses((status = 200, body = RecheckIntervals), (status = 404, body = ErrorBody))
)]
#[get("/api/v1/jurisdictions/{code}/recheck-intervals")]
pub async fn get_recheck_intervals(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    settings::read::<RecheckIntervals>(&state, caller, code.into_inner()).await
}

/// Sets the county's re-check intervals. Approvals confirmed from then on are due by them;
/// earlier ones keep the date their decision letter gave.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "County code")),
    request_body = RecheckIntervals,
    responses(
        (status = 200, body = RecheckIntervals),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "A value out of range or out of order, named in details", body = ErrorBody),
    )
)]
#[put("/api/v1/jurisdictions/{code}/recheck-intervals")]
pub async fn set_recheck_intervals(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: web::Json<RecheckIntervals>,
) -> ApiResult<HttpResponse> {
    settings::replace(&state, caller, code.into_inner(), body.into_inner()).await
}
