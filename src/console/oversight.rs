//! County oversight in the console: spot-check draws (preview, store, read back) and the
//! county's report with its charts of overturn rates and deadline breaches by township.

use std::collections::HashMap;

use actix_web::web;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::labels;
use super::layout::{self, PageResult, html_response, see_other};
use super::session::{Console, Form};
use crate::app::AppState;
use crate::auth::{Action as Permission, Caller};
use crate::cases::workdays::{china_date, china_time};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use crate::jurisdictions::{self, Kind};
use crate::oversight::api::{self as oversight_api, DrawPreview, DrawRequest};
use crate::oversight::report::{Line, Report};
use crate::oversight::sampling::{Reason, Stratum};
use crate::oversight::snapshots::{self, Snapshot};

#[derive(Debug, Default, Deserialize)]
pub struct PeriodParams {
    from: Option<String>,
    to: Option<String>,
    rate_percent: Option<String>,
}

fn invalid(field: &str) -> ApiError {
    ApiError::unprocessable(
        "form_invalid",
        format!("'{field}' is not valid: dates as YYYY-MM-DD, rates as whole numbers"),
        format!("“{field}”无效：日期格式为 YYYY-MM-DD，比例为整数"),
    )
}

fn date(field: &str, value: Option<&str>, default: NaiveDate) -> ApiResult<NaiveDate> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => v.parse().map_err(|_| invalid(field)),
        None => Ok(default),
    }
}

/// The last calendar month (China time) unless the form says otherwise.
fn period(from: Option<&str>, to: Option<&str>) -> ApiResult<(NaiveDate, NaiveDate)> {
    let first_of_this_month = china_date(Utc::now()).with_day(1).expect("day 1 exists");
    let last_month = (first_of_this_month - Duration::days(1))
        .with_day(1)
        .expect("day 1 exists");
    Ok((
        date("from", from, last_month)?,
        date("to", to, first_of_this_month - Duration::days(1))?,
    ))
}

fn number<T: std::str::FromStr>(field: &str, value: Option<&str>) -> ApiResult<Option<T>> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().map_err(|_| invalid(field)))
        .transpose()
}

/// A draw request from a form; `seed` is set when storing the draw a preview showed.
fn draw_request(
    from: Option<&str>,
    to: Option<&str>,
    rate: Option<&str>,
    seed: Option<&str>,
) -> ApiResult<DrawRequest> {
    let (from, to) = period(from, to)?;
    Ok(DrawRequest {
        from,
        to,
        seed: number("seed", seed)?,
        rate_percent: number("rate_percent", rate)?,
        min_rate_percent: None,
        inspector_ids: Vec::new(),
    })
}

fn reason(console: &Console, reason: Reason) -> &'static str {
    let (zh, en) = match reason {
        Reason::Random => ("随机抽取", "random"),
        Reason::CountyVisit => ("县级入户", "county visit"),
        Reason::Objection => ("有投诉或异议", "objection"),
        Reason::Borderline => ("临界评分", "borderline"),
    };
    console.lang.pick(zh, en)
}

/// Township codes to names, for the draws (which record codes).
type Names = HashMap<String, String>;

fn township_names(conn: &mut DbConn, caller: &Caller) -> ApiResult<Names> {
    let filter = jurisdictions::store::Filter {
        parent_code: Some(caller.jurisdiction_code.clone()),
        kind: Some(Kind::Township.as_str().to_owned()),
        within_path: None,
    };
    Ok(
        jurisdictions::store::list(conn, &caller.scope, &filter, None, 500)?
            .into_iter()
            .map(|j| (j.code, j.name))
            .collect(),
    )
}

fn name<'a>(names: &'a Names, code: &'a str) -> &'a str {
    names.get(code).map_or(code, String::as_str)
}

fn strata(console: &Console, names: &Names, strata: &[Stratum]) -> Markup {
    let t = |zh, en| console.lang.pick(zh, en);
    html! {
        table {
            thead { tr { th { (t("乡镇", "Township")) } th { (t("批准数", "Approvals")) } th { (t("必查", "Mandatory")) } th { (t("随机", "Random")) } } }
            tbody {
                @for s in strata {
                    tr { td { (name(names, &s.township)) } td { (s.approvals) } td { (s.mandatory) } td { (s.random) } }
                }
            }
        }
    }
}

/// The county's draws, the draw form and, when asked, a preview of the draw it would make.
pub async fn spot_checks(
    state: web::Data<AppState>,
    console: Console,
    params: web::Query<PeriodParams>,
) -> PageResult {
    let t = |zh, en| console.lang.pick(zh, en);
    console.caller.authorize_role(Permission::DrawSpotChecks)?;
    let asked = params.from.is_some();
    let request = draw_request(
        params.from.as_deref(),
        params.to.as_deref(),
        params.rate_percent.as_deref(),
        None,
    )?;
    let (caller, code) = (
        console.caller.clone(),
        console.caller.jurisdiction_code.clone(),
    );
    let (form_request, draws, preview, names) = state
        .db
        .run(move |conn| {
            let draws = oversight_api::draws(conn, &caller, &code)?;
            let preview: Option<DrawPreview> = asked
                .then(|| oversight_api::preview(conn, &caller, &code, &request))
                .transpose()?;
            Ok((request, draws, preview, township_names(conn, &caller)?))
        })
        .await?;
    let body = html! {
        form.filters method="get" action="/console/spot-checks" {
            label { (t("批准日期自", "Approved from")) " " input type="date" name="from" value=(form_request.from); }
            label { (t("至", "to")) " " input type="date" name="to" value=(form_request.to); }
            label { (t("随机比例 %", "Random share %")) " " input type="number" name="rate_percent" min="1" max="100" value=[form_request.rate_percent]; }
            button { (t("预览抽查", "Preview the draw")) }
        }
        @if let Some(p) = &preview {
            h2 { (t("预览", "Preview")) }
            p { (t("抽样框（期间内批准的案件）：", "Frame (cases approved in the period): ")) strong { (p.frame_size) }
                " · " (t("抽中：", "Drawn: ")) strong { (p.selected.len()) }
                " · " (t("随机种子", "seed")) " " code { (p.seed) } }
            (strata(&console, &names, &p.strata))
            form method="post" action="/console/spot-checks" {
                input type="hidden" name="csrf" value=(console.csrf);
                input type="hidden" name="from" value=(p.from);
                input type="hidden" name="to" value=(p.to);
                input type="hidden" name="rate_percent" value=(p.params.rate_percent);
                input type="hidden" name="seed" value=(p.seed);
                button { (t("确定抽查并派发入户任务", "Store the draw and send the visits to the inspectors")) }
            }
        }
        h2 { (t("已确定的抽查", "Stored draws")) }
        @if draws.is_empty() {
            p { (t("还没有抽查。", "No draw yet.")) }
        } @else {
            table {
                thead { tr { th { (t("期间", "Period")) } th { (t("随机种子", "Seed")) } th { (t("抽取时间", "Drawn")) } } }
                tbody {
                    @for d in &draws {
                        tr {
                            td { a href={ "/console/spot-checks/" (d.id) } { (d.first_day) " – " (d.last_day) } }
                            td { code { (d.seed) } }
                            td { (labels::china_minute(d.drawn_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(layout::page(
        &console,
        "/console/spot-checks",
        t("抽查", "Spot checks"),
        body,
    )))
}

/// Stores the draw that was previewed: the same seed, so the same sample (a new seed only
/// when the form has none).
pub async fn store(state: web::Data<AppState>, console: Console, body: web::Bytes) -> PageResult {
    let form: Form = console.form(&body)?;
    console.caller.authorize_role(Permission::DrawSpotChecks)?;
    let request = draw_request(
        form.get("from"),
        form.get("to"),
        form.get("rate_percent"),
        form.get("seed"),
    )?;
    let (app, caller) = (state.clone(), console.caller.clone());
    let code = caller.jurisdiction_code.clone();
    let view = state
        .db
        .write(move |conn| oversight_api::store_draw(conn, &app.calendar, &caller, &code, request))
        .await?;
    Ok(see_other(format!("/console/spot-checks/{}", view.id)))
}

pub async fn draw(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> PageResult {
    let t = |zh, en| console.lang.pick(zh, en);
    console.caller.authorize_role(Permission::DrawSpotChecks)?;
    let (caller, code) = (
        console.caller.clone(),
        console.caller.jurisdiction_code.clone(),
    );
    let (view, names) = state
        .db
        .run(move |conn| {
            let view = oversight_api::find_draw(conn, &caller, &code, &id)?;
            Ok((view, township_names(conn, &caller)?))
        })
        .await?;
    let title = format!(
        "{} {} – {}",
        t("抽查", "Spot check"),
        view.first_day,
        view.last_day
    );
    let body = html! {
        p { (t("抽样框：", "Frame: ")) (view.frame_size) " · " (t("随机种子", "seed")) " " code { (view.seed) }
            " · " @if view.reproduced { span.badge.ok { (t("重新抽取结果一致", "re-run gives the same sample")) } }
            @else { span.badge.late { (t("重新抽取结果不一致", "re-run differs")) } } }
        (strata(&console, &names, &view.strata))
        h2 { (t("抽中的案件", "Cases drawn")) }
        table {
            thead { tr { th { (t("乡镇", "Township")) } th { (t("原因", "Why")) } th { (t("抽查进度", "Spot check")) } th { (t("纠正", "Correction")) } } }
            tbody {
                @for c in &view.checks {
                    tr {
                        td { (name(&names, &c.township)) }
                        td { (reason(&console, c.reason)) }
                        td { @match (&c.spot_check_case_id, c.state) {
                            (Some(id), Some(s)) => a href={ "/console/cases/" (id) } { (super::labels::state(console.lang, s)) },
                            _ => "—",
                        } }
                        td { @if let Some(id) = &c.correction_case_id { a href={ "/console/cases/" (id) } { (t("纠正案件", "correction case")) } } }
                    }
                }
            }
        }
    };
    Ok(html_response(layout::page(
        &console,
        "/console/spot-checks",
        &title,
        body,
    )))
}

/// A horizontal bar per township, for a share between 0 and 1 (a township with nothing to
/// count shows "—").
fn bar_chart(
    title: &str,
    lines: &[&Line],
    share: impl Fn(&Line) -> Option<(f64, String)>,
) -> Markup {
    const LABEL: f64 = 120.0;
    const BAR: f64 = 300.0;
    const ROW: f64 = 26.0;
    let height = ROW * lines.len() as f64 + 10.0;
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" role="img" width=(LABEL + BAR + 110.0) height=(height) {
                title { (title) }
                @for (i, line) in lines.iter().enumerate() {
                    @let y = i as f64 * ROW + 5.0;
                    text x="0" y=(y + 16.0) font-size="13" { (line.township_name.as_deref().unwrap_or("")) }
                    rect x=(LABEL) y=(y) width=(BAR) height="18" fill="#edf2f7" {}
                    @match share(line) {
                        Some((value, text)) => {
                            rect x=(LABEL) y=(y) width=(format!("{:.1}", BAR * value.clamp(0.0, 1.0))) height="18" fill="#9b1c1c" {}
                            text x=(LABEL + BAR + 6.0) y=(y + 14.0) font-size="12" { (text) }
                        }
                        None => { text x=(LABEL + BAR + 6.0) y=(y + 14.0) font-size="12" { "—" } }
                    }
                }
            }
        }
    }
}

fn percent(numerator: u64, denominator: u64) -> Option<(f64, String)> {
    (denominator > 0).then(|| {
        let share = numerator as f64 / denominator as f64;
        (
            share,
            format!("{:.0}% ({numerator}/{denominator})", share * 100.0),
        )
    })
}

fn charts(console: &Console, report: &Report) -> Markup {
    let t = |zh, en| console.lang.pick(zh, en);
    let lines: Vec<&Line> = report.townships.iter().collect();
    html! {
        div.cols {
            (bar_chart(t("抽查纠正率（按乡镇）", "Spot-check overturn rate by township"), &lines,
                |l| percent(l.overturned, l.spot_checks)))
            (bar_chart(t("超期办理占比（按乡镇）", "Cases past a deadline by township"), &lines,
                |l| percent(l.sla_breaches, l.processed)))
        }
    }
}

/// The county's report for a period: charts, then the figures per township, as kept at most
/// `DIBAO_REPORT_MAX_AGE` ago (`oversight::snapshots`), with the time it counts up to.
pub async fn report(
    state: web::Data<AppState>,
    console: Console,
    params: web::Query<PeriodParams>,
) -> PageResult {
    let max_age = Duration::seconds(state.settings.report_max_age as i64);
    report_page(
        &state,
        console,
        params.from.as_deref(),
        params.to.as_deref(),
        max_age,
    )
    .await
}

/// Recomputes the report now (an officer who just acted wants it counted) and shows it.
pub async fn recompute_report(
    state: web::Data<AppState>,
    console: Console,
    body: web::Bytes,
) -> PageResult {
    let form: Form = console.form(&body)?;
    report_page(
        &state,
        console,
        form.get("from"),
        form.get("to"),
        Duration::zero(),
    )
    .await
}

async fn report_page(
    state: &AppState,
    console: Console,
    from: Option<&str>,
    to: Option<&str>,
    max_age: Duration,
) -> PageResult {
    let t = |zh, en| console.lang.pick(zh, en);
    console.caller.authorize_role(Permission::ReadReports)?;
    let (from, to) = period(from, to)?;
    let caller = console.caller.clone();
    let code = caller.jurisdiction_code.clone();
    let Snapshot {
        report,
        computed_at,
    } = snapshots::recent_report(state, caller, code, from, to, max_age).await?;
    let body = html! {
        form.filters method="get" action="/console/report" {
            label { (t("自", "From")) " " input type="date" name="from" value=(from); }
            label { (t("至", "to")) " " input type="date" name="to" value=(to); }
            button { (t("统计", "Show")) }
        }
        form.filters method="post" action="/console/report" {
            input type="hidden" name="csrf" value=(console.csrf);
            input type="hidden" name="from" value=(from);
            input type="hidden" name="to" value=(to);
            span.muted {
                (t("数据截至", "Figures as of")) " "
                time datetime=(computed_at.to_rfc3339()) {
                    (china_time(computed_at).format("%Y-%m-%d %H:%M")) " " (t("（北京时间）", "(Beijing time)"))
                }
            }
            button { (t("重新计算", "Recompute now")) }
        }
        (charts(&console, &report))
        table {
            thead { tr {
                th { (t("乡镇", "Township")) } th { (t("办理", "Processed")) } th { (t("超期", "Past deadline")) }
                th { (t("抽查", "Spot checks")) } th { (t("纠正", "Overturned")) } th { (t("入户", "Visits")) }
                th { (t("批准", "Approvals")) } th { (t("临界批准", "Borderline approvals")) }
            } }
            tbody {
                @for l in report.townships.iter().chain(std::iter::once(&report.total)) {
                    tr {
                        td { (l.township_name.as_deref().unwrap_or(t("全县", "County"))) }
                        td { (l.processed) } td { (l.sla_breaches) } td { (l.spot_checks) } td { (l.overturned) }
                        td { (l.visits) } td { (l.approvals) } td { (l.borderline) }
                    }
                }
            }
        }
    };
    Ok(html_response(layout::page(
        &console,
        "/console/report",
        t("县级报表", "County report"),
        body,
    )))
}
