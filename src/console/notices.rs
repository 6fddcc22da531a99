//! Public notice (公示): the recommended cases waiting for one, publishing, the notices of
//! the caller's area, and each notice as a page and as the printable sheet for the village
//! boards.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use maud::html;

use super::labels;
use super::layout::{self, PageResult, html_response, see_other};
use super::session::Console;
use crate::app::AppState;
use crate::auth::Role;
use crate::cases::api::{self as cases_api, CaseView};
use crate::cases::lifecycle::State;
use crate::cases::notice::{self, PublishNotice};
use crate::cases::store::{self, ListFilter, NoticeRow};
use crate::error::{ApiError, ApiResult};

/// A notice with its township's name.
type PublishedNotice = (NoticeRow, String);

/// The notices list, with the cases waiting for the next one and the form that publishes it.
pub async fn notices(state: web::Data<AppState>, console: Console) -> PageResult {
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    let caller = console.caller.clone();
    let (waiting, published) = state
        .db
        .run(
            move |conn| -> ApiResult<(Vec<CaseView>, Vec<PublishedNotice>)> {
                let filter = ListFilter {
                    state: Some(State::Recommended.as_str()),
                    kind: None,
                    overdue_at: None,
                };
                let waiting =
                    cases_api::case_list(conn, &caller, &caller.scope, &filter, None, 200)?.items;
                Ok((waiting, store::notices_in(conn, &caller.scope, 50)?))
            },
        )
        .await?;
    let publisher = console.caller.role == Role::TownshipReviewer;
    let body = html! {
        h2 { (t("待公示的推荐案件", "Recommended cases waiting for notice")) }
        @if waiting.is_empty() {
            p { (t("没有待公示的案件。", "No case is waiting for a notice.")) }
        } @else {
            table {
                thead { tr { th { (t("户主", "Head of household")) } th { (t("村", "Village")) } th { (t("拟月补助（元）", "Proposed monthly payment (yuan)")) } } }
                tbody {
                    @for case in &waiting {
                        tr {
                            td { a href={ "/console/cases/" (case.id) } { (case.head_name) } }
                            td { (case.village_name) }
                            td { @if let Some(fen) = case.monthly_amount_fen { (labels::yuan(fen)) } }
                        }
                    }
                }
            }
            @if publisher {
                form method="post" action="/console/notices" {
                    input type="hidden" name="csrf" value=(console.csrf);
                    fieldset {
                        legend { (t("发布公示（本乡镇全部推荐案件）", "Publish a notice (every recommended case of the township)")) }
                        label { (t("张贴日期", "Posted on")) " " input type="date" name="starts_on"; } " "
                        label { (t("公示天数", "Days")) " " input type="number" name="days" min="1" max="60" placeholder=(state.settings.notice_days); } " "
                        button { (t("发布公示", "Publish the notice")) }
                    }
                }
            }
        }
        h2 { (t("已发布的公示", "Published notices")) }
        @if published.is_empty() {
            p { (t("还没有公示。", "No notice yet.")) }
        } @else {
            table {
                thead { tr { th { (t("乡镇", "Township")) } th { (t("公示期", "Period")) } th { (t("发布时间", "Published")) } } }
                tbody {
                    @for (n, township) in &published {
                        tr {
                            td { a href={ "/console/notices/" (n.id) } { (township) } }
                            td { (n.starts_on) " – " (n.ends_on) }
                            td { (labels::china_minute(n.published_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(layout::page(
        &console,
        "/console/notices",
        t("公示", "Public notices"),
        body,
    )))
}

fn date_field(value: Option<String>) -> ApiResult<Option<NaiveDate>> {
    value
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::unprocessable(
                    "form_invalid",
                    "Give the posting date as YYYY-MM-DD",
                    "张贴日期格式应为 YYYY-MM-DD",
                )
            })
        })
        .transpose()
}

fn days_field(value: Option<String>) -> ApiResult<Option<u32>> {
    value
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::unprocessable(
                    "form_invalid",
                    "Give the notice period as a number of days",
                    "公示天数应为整数",
                )
            })
        })
        .transpose()
}

/// Publishes the township's recommended cases on one notice, as the API does.
pub async fn publish(state: web::Data<AppState>, console: Console, body: web::Bytes) -> PageResult {
    let form = console.form(&body)?;
    let request = PublishNotice {
        starts_on: date_field(form.text("starts_on"))?,
        days: days_field(form.text("days"))?,
    };
    let (app, caller) = (state.clone(), console.caller.clone());
    let township = caller.jurisdiction_code.clone();
    let published = state
        .db
        .write(move |conn| {
            notice::publish(
                conn,
                &app.calendar,
                &caller,
                &township,
                &request,
                app.settings.notice_days,
            )
        })
        .await?;
    Ok(see_other(format!("/console/notices/{}", published.id)))
}

/// One notice: what the boards show, and for staff the cases behind it.
pub async fn notice_page(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> PageResult {
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    let caller = console.caller.clone();
    let (view, cases) = state
        .db
        .run(move |conn| {
            let view = notice::view(conn, &caller, &id)?;
            let rows = store::notice_cases(conn, &view.id)?;
            Ok((view, cases_api::list_views(conn, &caller, rows)?))
        })
        .await?;
    let title = format!(
        "{} · {}",
        view.township_name,
        t("最低生活保障对象公示", "minimum living allowance notice")
    );
    let body = html! {
        p { (t("公示期：", "Notice period: ")) (view.starts_on) " – " (view.ends_on) }
        p.noprint { a href={ "/console/notices/" (view.id) "/print" } target="_blank" { (t("打印张贴版", "Printable sheet for the boards")) } }
        table {
            thead { tr { th { (t("姓名", "Name")) } th { (t("村（社区）", "Village")) } th { (t("家庭人口", "Household size")) } th { (t("拟保障金额（元/月）", "Proposed amount (yuan/month)")) } } }
            tbody {
                @for e in &view.entries {
                    tr {
                        td { (e.name) } td { (e.village) } td { (e.household_size) }
                        td { @if let Some(fen) = e.monthly_amount_fen { (labels::yuan(fen)) } }
                    }
                }
            }
        }
        div.noprint {
            h2 { (t("公示中的案件", "Cases on this notice")) }
            table {
                thead { tr { th { (t("户主", "Head of household")) } th { (t("村", "Village")) } th { (t("状态", "State")) } } }
                tbody {
                    @for case in &cases {
                        tr {
                            td { a href={ "/console/cases/" (case.id) } { (case.head_name) } }
                            td { (case.village_name) }
                            td { (labels::state(lang, case.state)) }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(layout::page(
        &console,
        "/console/notices",
        &title,
        body,
    )))
}

/// The sheet for the village boards: masked names only, nothing of the console around it.
pub async fn print(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> PageResult {
    let caller = console.caller;
    let view = state
        .db
        .run(move |conn| notice::view(conn, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(notice::to_html(&view)))
}
