//! The township queue: counts per state, filters, overdue badges, claim from the list and
//! bulk recommendation of clean cases.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::labels;
use super::layout::{self, PageResult, html_response, see_other};
use super::session::Console;
use crate::app::AppState;
use crate::auth::{Caller, Role, Scope};
use crate::cases::api::{self as cases_api, BulkRecommend, CaseView, QueueQuery};
use crate::cases::lifecycle::State;
use crate::cases::workdays::china_date;
use crate::error::{ApiError, ApiResult};
use crate::jurisdictions::{self, Kind};

/// Reviewers start at their queue, county staff at the confirmations.
pub async fn home(console: Console) -> HttpResponse {
    match console.caller.role {
        Role::CountyOfficer => see_other("/console/county"),
        _ => see_other("/console/queue"),
    }
}

#[derive(Debug, Deserialize)]
pub struct QueueParams {
    /// The township (county staff choose one; a reviewer's is their own).
    township: Option<String>,
    village: Option<String>,
    flag: Option<String>,
    band: Option<String>,
    overdue: Option<String>,
    cursor: Option<String>,
    /// How many cases the last bulk recommendation moved (a number, so a link cannot put
    /// text of its own on the page).
    recommended: Option<usize>,
}

/// A reviewer's own township, or the one county staff picked (checked against their scope).
fn township_of(caller: &Caller, asked: Option<String>) -> Option<String> {
    match caller.role {
        Role::TownshipReviewer => Some(caller.jurisdiction_code.clone()),
        _ => asked.filter(|code| !code.is_empty()),
    }
}

struct QueueData {
    township: jurisdictions::store::Jurisdiction,
    townships: Vec<jurisdictions::store::Jurisdiction>,
    villages: Vec<jurisdictions::store::Jurisdiction>,
    counts: Vec<(String, i64, i64)>,
    page: crate::pagination::Page<CaseView>,
}

fn load(
    conn: &mut crate::db::DbConn,
    caller: &Caller,
    code: &str,
    query: QueueQuery,
) -> ApiResult<QueueData> {
    let page = cases_api::queue_page(conn, caller, code, query)?;
    let township = jurisdictions::store::find(conn, &caller.scope, code)?
        .ok_or_else(|| ApiError::not_found("Township", "该乡镇"))?;
    let children = |conn: &mut crate::db::DbConn, parent: &str, kind: Kind| {
        let filter = jurisdictions::store::Filter {
            parent_code: Some(parent.to_owned()),
            kind: Some(kind.as_str().to_owned()),
            within_path: None,
        };
        jurisdictions::store::list(conn, &caller.scope, &filter, None, 200)
    };
    let villages = children(conn, code, Kind::Village)?;
    let townships = match &township.parent_code {
        Some(county) if caller.role != Role::TownshipReviewer => {
            children(conn, county, Kind::Township)?
        }
        _ => Vec::new(),
    };
    let counts = crate::cases::store::counts(
        conn,
        &Scope::of_path(&township.path),
        crate::audit::store::now(),
    )?;
    Ok(QueueData {
        township,
        townships,
        villages,
        counts,
        page,
    })
}

pub async fn queue(
    state: web::Data<AppState>,
    console: Console,
    params: web::Query<QueueParams>,
) -> PageResult {
    let params = params.into_inner();
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    let Some(code) = township_of(&console.caller, params.township.clone()) else {
        return Err(ApiError::unprocessable(
            "township_required",
            "Choose a township",
            "请选择乡镇",
        )
        .into());
    };
    let query = QueueQuery {
        village: params.village.clone().filter(|v| !v.is_empty()),
        flag: params.flag.clone().filter(|v| !v.is_empty()),
        band: params.band.clone().filter(|v| !v.is_empty()),
        overdue: params.overdue.as_deref().map(|v| v == "true"),
        cursor: params.cursor.clone(),
        limit: Some(50),
    };
    let caller = console.caller.clone();
    let data = state
        .db
        .run(move |conn| load(conn, &caller, &code, query))
        .await?;
    let title = format!("{} · {}", data.township.name, t("审核队列", "review queue"));
    let body = html! {
        @if let Some(n) = params.recommended { p.done { (t("已推荐案件数：", "Cases recommended: ")) (n) } }
        @if !data.townships.is_empty() {
            form.filters method="get" {
                label { (t("乡镇", "Township")) " "
                    select name="township" {
                        @for j in &data.townships {
                            option value=(j.code) selected[j.code == data.township.code] { (j.name) }
                        }
                    }
                }
                button { (t("切换", "Switch")) }
            }
        }
        div.counts {
            @for (name, count, late) in &data.counts {
                @if let Some(s) = State::parse(name) {
                    a href={ "/console/cases?state=" (name) "&township=" (data.township.code) } { (labels::state(lang, s)) " " strong { (count) }
                        @if *late > 0 { " " span.badge.late { (t("超期", "overdue")) " " (late) } }
                    }
                }
            }
        }
        (filters(&console, &data, &params))
        (table(&console, &data))
        @if let Some(next) = &data.page.next_cursor {
            p { a href={ "/console/queue?township=" (data.township.code) "&cursor=" (layout::encode(next)) } { (t("下一页", "Next page")) } }
        }
    };
    Ok(html_response(layout::page(
        &console,
        "/console/queue",
        &title,
        body,
    )))
}

fn filters(console: &Console, data: &QueueData, params: &QueueParams) -> Markup {
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    let chosen = |v: &Option<String>, x: &str| v.as_deref() == Some(x);
    html! {
        form.filters method="get" action="/console/queue" {
            input type="hidden" name="township" value=(data.township.code);
            label { (t("村", "Village")) " "
                select name="village" {
                    option value="" { (t("全部", "all")) }
                    @for v in &data.villages {
                        option value=(v.code) selected[chosen(&params.village, &v.code)] { (v.name) }
                    }
                }
            }
            label { (t("疑点", "Flag")) " "
                select name="flag" {
                    option value="" { (t("全部", "all")) }
                    @for kind in crate::visits::checks::FlagKind::ALL {
                        option value=(kind.as_str()) selected[chosen(&params.flag, kind.as_str())] { (labels::flag(lang, kind.as_str())) }
                    }
                }
            }
            label { (t("评分档", "Band")) " "
                select name="band" {
                    option value="" { (t("全部", "all")) }
                    @for band in ["recommend", "borderline", "not_recommended"] {
                        option value=(band) selected[chosen(&params.band, band)] { (labels::band(lang, band)) }
                    }
                }
            }
            label { input type="checkbox" name="overdue" value="true" checked[chosen(&params.overdue, "true")]; " " (t("只看超期", "overdue only")) }
            button { (t("筛选", "Filter")) }
        }
    }
}

/// Clean cases may be recommended in bulk: no flags, the recommend band, no county visit.
fn clean(case: &CaseView) -> bool {
    case.flags.is_empty() && case.band.as_deref() == Some("recommend") && !case.county_visit
}

fn table(console: &Console, data: &QueueData) -> Markup {
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    let mine = |case: &CaseView| case.claimed_by.as_deref() == Some(&console.caller.user_id);
    html! {
        @if data.page.items.is_empty() {
            p { (t("队列中没有待审核的案件。", "Nothing is waiting in the queue.")) }
        } @else {
            table {
                thead { tr {
                    th { (t("批量", "Bulk")) }
                    th { (t("户主", "Head of household")) } th { (t("村", "Village")) }
                    th { (t("状态", "State")) } th { (t("评分档", "Band")) }
                    th { (t("疑点", "Flags")) } th { (t("期限", "Due")) } th {}
                } }
                tbody {
                    @for case in &data.page.items {
                        tr {
                            td { @if clean(case) { input type="checkbox" form="bulk" name="case_id" value=(case.id) aria-label=(case.head_name); } }
                            td { a href={ "/console/cases/" (case.id) } { (case.head_name) } }
                            td { (case.village_name) }
                            td { (labels::state(lang, case.state)) }
                            td { @if let Some(b) = &case.band { (labels::band(lang, b)) } }
                            td {
                                @for f in &case.flags { span.badge.flag { (labels::flag(lang, f)) } }
                                @if case.county_visit { span.badge { (t("需县级入户", "county visit")) } }
                            }
                            td {
                                @if let Some(due) = case.due_at { (labels::china_minute(due)) }
                                @if case.overdue { " " span.badge.late { (t("超期", "overdue")) } }
                            }
                            td {
                                @if mine(case) {
                                    a href={ "/console/cases/" (case.id) } { (t("继续审核", "Continue")) }
                                } @else {
                                    form.inline method="post" action={ "/console/cases/" (case.id) "/claim" } {
                                        input type="hidden" name="csrf" value=(console.csrf);
                                        button { (t("认领", "Claim")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form #bulk method="post" action="/console/queue/recommend" {
                input type="hidden" name="csrf" value=(console.csrf);
                input type="hidden" name="township" value=(data.township.code);
                label { (t("批量推荐理由", "Reason for the bulk recommendation")) " "
                    input name="reason" value=(t("入户核查无疑点，评分建议纳入", "Visit clean, score recommends")); }
                " " button { (t("推荐所选无疑点案件", "Recommend the selected clean cases")) }
            }
        }
    }
}

/// All the chosen clean cases are recommended, or none (the core refuses the whole batch).
pub async fn bulk_recommend(
    state: web::Data<AppState>,
    console: Console,
    body: web::Bytes,
) -> PageResult {
    let form = console.form(&body)?;
    let code = township_of(&console.caller, form.text("township")).unwrap_or_default();
    let request = BulkRecommend {
        case_ids: form.all("case_id"),
        reason: form.text("reason").unwrap_or_default(),
    };
    let (app, caller, township) = (state.clone(), console.caller.clone(), code.clone());
    let done = state
        .db
        .write(move |conn| {
            cases_api::recommend_clean(conn, &app.calendar, &caller, &township, &request)
        })
        .await?;
    Ok(see_other(format!(
        "/console/queue?township={code}&recommended={}",
        done.len()
    )))
}

/// The county's cases waiting for confirmation. Notices that are over move into county review
/// first, as the ticker would move them.
pub async fn county(state: web::Data<AppState>, console: Console) -> PageResult {
    let app = state.clone();
    state
        .db
        .write(move |conn| crate::cases::service::end_notices(conn, &app.calendar))
        .await?;
    let title = console
        .lang
        .pick("等待县级确认", "Waiting for county confirmation");
    in_state(
        &state,
        &console,
        State::CountyReview,
        None,
        "/console/county",
        title,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct StateParams {
    state: String,
    /// A township inside the caller's area (the queue's counts link with theirs).
    township: Option<String>,
}

/// Every case of the caller's area in one state (the counts on the queue link here), such as
/// the applications waiting at the township window.
pub async fn by_state(
    state: web::Data<AppState>,
    console: Console,
    params: web::Query<StateParams>,
) -> PageResult {
    let wanted = State::parse(&params.state).ok_or_else(|| {
        ApiError::unprocessable("state_invalid", "No such case state", "没有这种案件状态")
    })?;
    let title = labels::state(console.lang, wanted);
    let township = params.township.clone().filter(|code| !code.is_empty());
    in_state(&state, &console, wanted, township, "/console/queue", title).await
}

/// The newest 200 cases in `wanted` of the caller's area, or of one of its townships (the
/// API's list order).
async fn in_state(
    state: &web::Data<AppState>,
    console: &Console,
    wanted: State,
    township: Option<String>,
    current: &str,
    title: &str,
) -> PageResult {
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    let caller = console.caller.clone();
    let listed = state
        .db
        .run(move |conn| {
            let filter = crate::cases::store::ListFilter {
                state: Some(wanted.as_str()),
                kind: None,
                overdue_at: None,
            };
            let scope = match township {
                // Looked up inside the caller's area: another county's township is not found.
                Some(code) => jurisdictions::store::find(conn, &caller.scope, &code)?
                    .map(|node| Scope::of_path(&node.path))
                    .ok_or_else(|| ApiError::not_found("Township", "该乡镇"))?,
                None => caller.scope.clone(),
            };
            cases_api::case_list(conn, &caller, &scope, &filter, None, 200)
        })
        .await?;
    let body = html! {
        @if listed.items.is_empty() {
            p { (t("没有这种状态的案件。", "No case is in this state.")) }
        } @else {
            table {
                thead { tr {
                    th { (t("户主", "Head of household")) } th { (t("村", "Village")) }
                    th { (t("评分档", "Band")) } th { (t("疑点", "Flags")) } th { (t("期限", "Due")) }
                } }
                tbody {
                    @for case in &listed.items {
                        tr {
                            td { a href={ "/console/cases/" (case.id) } { (case.head_name) } }
                            td { (case.village_name) }
                            td { @if let Some(b) = &case.band { (labels::band(lang, b)) } }
                            td { @for f in &case.flags { span.badge.flag { (labels::flag(lang, f)) } } }
                            td {
                                @if let Some(due) = case.due_at { (china_date(due.and_utc())) }
                                @if case.overdue { " " span.badge.late { (t("超期", "overdue")) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(layout::page(console, current, title, body)))
}
