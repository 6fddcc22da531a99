//! The case page: household and members (ID numbers masked unless revealed, which is
//! audited), the assessment with its explanation and income computation, every evidence
//! flag with its measured value, the photos, the history and the decision form.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};

use super::labels;
use super::layout::{self, Lang, PageError, PageResult, see_other};
use super::session::{Console, Form};
use crate::app::AppState;
use crate::audit;
use crate::auth::{Action as Permission, Caller};
use crate::cases::api::{self as cases_api, CaseDetail};
use crate::cases::lifecycle::Action;
use crate::cases::service::{self, ActionRequest, Redo};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use crate::households::api::HouseholdView;
use crate::households::id_number::IdNumber;
use crate::scoring::Assessment;
use crate::visits::api::VisitView;

struct CaseData {
    detail: CaseDetail,
    household: HouseholdView,
    visit: Option<VisitView>,
    assessment: Option<Assessment>,
}

fn load(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<CaseData> {
    caller.authorize_role(Permission::ReadHouseholds)?;
    let row = service::find(conn, caller, id)?;
    let detail = cases_api::detail(conn, caller, row)?;
    let household =
        crate::households::api::household_view(conn, &caller.scope, &detail.case.household_id)?;
    let visit = match &detail.case.visit_id {
        Some(visit_id) => crate::visits::store::find(conn, &caller.scope, visit_id)?
            .map(|row| serde_json::from_str(&row.response).map_err(ApiError::internal))
            .transpose()?,
        None => None,
    };
    let assessment = match &detail.case.assessment_id {
        Some(assessment_id) => {
            crate::scoring::store::find_assessment(conn, &caller.scope, assessment_id)?
                .map(|row| serde_json::from_str(&row.result).map_err(ApiError::internal))
                .transpose()?
        }
        None => None,
    };
    Ok(CaseData {
        detail,
        household,
        visit,
        assessment,
    })
}

/// Loads the case as the caller may see it and renders it, with the outcome of a failed form
/// post or the member whose ID number was revealed.
async fn render(
    state: &web::Data<AppState>,
    console: &Console,
    id: String,
    problem: Option<ApiError>,
    revealed: Option<String>,
) -> PageResult {
    cases_api::settle(state, &console.caller, &id).await?;
    let caller = console.caller.clone();
    let data = state.db.run(move |conn| load(conn, &caller, &id)).await?;
    let status = problem
        .as_ref()
        .map_or(actix_web::http::StatusCode::OK, |p| p.kind.status());
    let title = format!(
        "{} · {}",
        data.household.head_name,
        labels::state(console.lang, data.detail.case.state)
    );
    let body = html! {
        @if let Some(err) = &problem { (layout::problem(console.lang, err)) }
        div.cols {
            div { (household(console, &data, revealed.as_deref())) (assessment(console.lang, data.assessment.as_ref())) }
            div { (evidence(console, &data)) }
        }
        (decision(console, &data))
        (history(console.lang, &data.detail))
    };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(layout::page(console, "/console/queue", &title, body).into_string()))
}

pub async fn case_page(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> PageResult {
    render(&state, &console, id.into_inner(), None, None).await
}

fn household(console: &Console, data: &CaseData, revealed: Option<&str>) -> Markup {
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    let h = &data.household;
    let case = &data.detail.case;
    html! {
        h2 { (t("家庭", "Household")) }
        p { (h.village_name) " · " (h.address) " · " (if h.urban { t("城市", "urban") } else { t("农村", "rural") }) }
        table {
            thead { tr { th { (t("姓名", "Name")) } th { (t("关系", "Relation")) } th { (t("身份证号", "ID number")) } th { (t("出生", "Born")) } th { (t("劳动能力", "Labour capacity")) } } }
            tbody {
                @for m in &h.members {
                    tr {
                        td { (m.name) }
                        td { (m.relation) }
                        td {
                            @if revealed == Some(m.id.as_str()) {
                                strong.revealed { (m.id_number) }
                            } @else {
                                (masked(&m.id_number)) " "
                                form.inline method="post" action={ "/console/cases/" (case.id) "/reveal" } {
                                    input type="hidden" name="csrf" value=(console.csrf);
                                    input type="hidden" name="member_id" value=(m.id);
                                    button.link title=(t("查看将被记入审计日志", "Revealing is audited")) { (t("显示", "Reveal")) }
                                }
                            }
                        }
                        td { (m.birth_date) }
                        td { (m.labour_capacity) }
                    }
                }
            }
        }
    }
}

fn masked(id_number: &str) -> String {
    IdNumber::parse(id_number).map_or_else(|_| "******************".into(), |id| id.masked())
}

fn assessment(lang: Lang, assessment: Option<&Assessment>) -> Markup {
    let t = |zh, en| lang.pick(zh, en);
    html! {
        h2 { (t("评估", "Assessment")) }
        @match assessment {
            None => p { (t("尚无评估。", "Not assessed yet.")) },
            Some(a) => {
                p { (t("得分", "Score")) " " strong { (a.score) } " · " (t("收入", "Income")) " "
                    (labels::yuan(a.income.per_person_monthly_fen)) " " (t("元/人/月，标准", "yuan per person per month, standard"))
                    " " (labels::yuan(a.income.standard_fen))
                    @if let Some(fen) = a.payment_fen { " · " (t("拟月补助", "proposed monthly payment")) " " (labels::yuan(fen)) }
                }
                p { (t("年收入", "Yearly income")) " " (labels::yuan(a.income.gross_fen)) " − "
                    (t("不计入", "excluded")) " " (labels::yuan(a.income.excluded_fen)) " − "
                    (t("扣除", "deductions")) " " (labels::yuan(a.income.gross_fen - a.income.excluded_fen - a.income.net_fen))
                    " = " (labels::yuan(a.income.net_fen)) " ÷ 12 ÷ " (a.income.members) }
                ul {
                    @for line in &a.explanation {
                        li { (match lang { Lang::Zh => &line.zh, Lang::En => &line.en }) }
                    }
                }
            }
        }
    }
}

fn evidence(console: &Console, data: &CaseData) -> Markup {
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    html! {
        h2 { (t("入户证据", "Visit evidence")) }
        @match &data.visit {
            None => p { (t("尚未入户。", "No visit yet.")) },
            Some(visit) => {
                @if visit.flags.is_empty() {
                    p { span.badge.ok { (t("无疑点", "no flags")) } }
                } @else {
                    ul {
                        @for flag in &visit.flags {
                            li { span.badge.flag { (labels::flag(lang, flag.kind.as_str())) } " " code { (flag.measured) } }
                        }
                    }
                }
                div.thumbs {
                    @for photo in &visit.photos {
                        figure {
                            a href={ "/console/visits/" (visit.id) "/photos/" (photo.digest) "/original" } target="_blank" {
                                img src={ "/console/visits/" (visit.id) "/photos/" (photo.digest) "/thumbnail" } alt=(labels::photo_kind(lang, &photo.kind));
                            }
                            figcaption { (labels::photo_kind(lang, &photo.kind)) }
                        }
                    }
                }
            }
        }
    }
}

fn decision(console: &Console, data: &CaseData) -> Markup {
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    let case = &data.detail.case;
    let decisions: Vec<Action> = case
        .allowed_actions
        .iter()
        .copied()
        .filter(|a| {
            matches!(
                a,
                Action::Recommend
                    | Action::Reject
                    | Action::Return
                    | Action::Confirm
                    | Action::Reinvestigate
            )
        })
        .collect();
    let claimable = case.allowed_actions.contains(&Action::StartReview)
        || (case.state == crate::cases::lifecycle::State::TownshipReview
            && case.claimed_by.as_deref() != Some(&console.caller.user_id));
    let flags = data.visit.as_ref().map_or(&[][..], |v| &v.flags[..]);
    html! {
        h2 { (t("审核决定", "Decision")) }
        @if claimable {
            form method="post" action={ "/console/cases/" (case.id) "/claim" } {
                input type="hidden" name="csrf" value=(console.csrf);
                button { (t("认领本案", "Claim this case")) }
            }
        }
        @if decisions.is_empty() {
            p { (t("当前没有您可以执行的决定。", "No decision is open to you now.")) }
        } @else {
            form method="post" action={ "/console/cases/" (case.id) "/actions" } {
                input type="hidden" name="csrf" value=(console.csrf);
                @if let Some(a) = &case.assessment_id { input type="hidden" name="assessment_id" value=(a); }
                @if !flags.is_empty() {
                    fieldset {
                        legend { (t("确认已查看每个疑点", "Acknowledge every flag")) }
                        @for flag in flags {
                            label { input type="checkbox" name="acknowledged_flags" value=(flag.kind.as_str()); " " (labels::flag(lang, flag.kind.as_str())) } br;
                        }
                    }
                }
                fieldset {
                    legend { (t("决定", "Decision")) }
                    @for action in &decisions {
                        label { input type="radio" name="action" value=(action.as_str()) required; " " (labels::action(lang, *action)) } " "
                    }
                }
                fieldset {
                    legend { (t("不予推荐的原因", "Reason for a rejection")) }
                    select name="reason_code" {
                        option value="" { "—" }
                        @for code in service::RejectReason::ALL {
                            option value=(code.as_str()) { (code.label_zh()) }
                        }
                    }
                }
                fieldset {
                    legend { (t("退回时需补查的照片", "Photos to retake on a return")) }
                    @for kind in ["house_exterior", "kitchen", "bedroom", "members_with_staff", "documents"] {
                        label { input type="checkbox" name="redo_photo" value=(kind); " " (labels::photo_kind(lang, kind)) } " "
                    }
                }
                label { (t("理由（给申请人或协理员）", "Reason (for the applicant or the coordinator)")) textarea name="reason" {} }
                button { (t("提交决定", "Submit the decision")) }
            }
        }
    }
}

fn history(lang: Lang, detail: &CaseDetail) -> Markup {
    let t = |zh, en| lang.pick(zh, en);
    html! {
        h2 { (t("办理记录", "History")) }
        table {
            thead { tr { th { (t("时间", "When")) } th { (t("操作", "Action")) } th { (t("办理人", "By")) } th { (t("状态", "State")) } } }
            tbody {
                @for e in &detail.history {
                    tr { td { (e.at.format("%Y-%m-%d %H:%M")) } td { (e.action) } td { (e.actor_name) } td { (e.to_state) } }
                }
            }
        }
    }
}

/// A code chosen in the form, read as the API reads it.
fn parse<T: serde::de::DeserializeOwned>(field: &str, value: String) -> ApiResult<T> {
    serde_json::from_value(serde_json::Value::String(value)).map_err(|_| {
        ApiError::unprocessable(
            "form_invalid",
            format!("Choose a valid {field}"),
            format!("请选择有效的{field}"),
        )
    })
}

/// The form's fields as the API's action request: the same validation applies to both.
fn action_request(form: &Form) -> ApiResult<ActionRequest> {
    let action = parse(
        "decision",
        form.text("action").ok_or_else(|| {
            ApiError::unprocessable("decision_required", "Choose a decision", "请选择审核决定")
        })?,
    )?;
    let photo_kinds = form
        .all("redo_photo")
        .into_iter()
        .map(|kind| parse("photo kind", kind))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(ActionRequest {
        action,
        reason_code: form
            .text("reason_code")
            .map(|code| parse("reason", code))
            .transpose()?,
        reason: form.text("reason"),
        redo: (action == Action::Return).then_some(Redo {
            items: Vec::new(),
            photo_kinds,
        }),
        assessment_id: form.text("assessment_id"),
        acknowledged_flags: form.all("acknowledged_flags"),
        coordinator_id: None,
        overturn_reason: None,
    })
}

pub async fn act(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = Form::parse(&body);
    console.check_csrf(&form)?;
    let id = id.into_inner();
    let outcome = match action_request(&form) {
        Ok(request) => cases_api::perform(&state, console.caller.clone(), id.clone(), request)
            .await
            .map(|_| ()),
        Err(err) => Err(err),
    };
    match outcome {
        Ok(()) => Ok(see_other(format!("/console/cases/{id}"))),
        // Client mistakes come back on the page with the form; anything else is an error page.
        Err(err) if err.kind.status().is_client_error() => {
            render(&state, &console, id, Some(err), None).await
        }
        Err(err) => Err(PageError::Api(err)),
    }
}

pub async fn claim(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    console.check_csrf(&Form::parse(&body))?;
    let id = id.into_inner();
    cases_api::claim_case(&state, console.caller.clone(), id.clone()).await?;
    Ok(see_other(format!("/console/cases/{id}")))
}

/// Shows one member's full ID number on this response only (never in a URL), audited first.
pub async fn reveal(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = Form::parse(&body);
    console.check_csrf(&form)?;
    let (id, member) = (id.into_inner(), form.text("member_id").unwrap_or_default());
    let (caller, case_id, member_id) = (console.caller.clone(), id.clone(), member.clone());
    state
        .db
        .write(move |conn| {
            let data = load(conn, &caller, &case_id)?;
            if !data.household.members.iter().any(|m| m.id == member_id) {
                return Err(ApiError::not_found("Member", "该成员"));
            }
            audit::store::append(
                conn,
                &caller.actor(),
                audit::Event {
                    action: "member.id_number_revealed",
                    target_type: "member",
                    target_id: &member_id,
                    summary: serde_json::json!({ "case_id": case_id, "via": "console" }),
                },
            )
        })
        .await?;
    render(&state, &console, id, None, Some(member)).await
}

/// A photo of a visit the caller may see, for the page's thumbnails and their full views.
pub async fn photo(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<(String, String, String)>,
) -> PageResult {
    let (visit, digest, size) = path.into_inner();
    let store = crate::visits::api::photo_store(&size)?;
    Ok(crate::visits::api::evidence_blob(&state, console.caller, visit, digest, store).await?)
}
