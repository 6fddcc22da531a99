//! The case page: household and members (ID numbers masked unless revealed, which is
//! audited), the assessment with its explanation and income computation, every evidence
//! flag with its measured value, the photos, the history and the decision form.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};

use super::labels;
use super::layout::{self, Lang, PageError, PageResult, see_other};
use super::map::{self, MapInput, MapPhoto};
use super::session::{Console, Form};
use crate::app::AppState;
use crate::audit;
use crate::auth::{Action as Permission, Caller, Role};
use crate::cases::api::{self as cases_api, CaseDetail};
use crate::cases::lifecycle::{Action, State};
use crate::cases::notice::{self, FileObjection, ResolveObjection};
use crate::cases::service::{self, ActionRequest, Redo};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use crate::households::api::HouseholdView;
use crate::households::id_number::IdNumber;
use crate::jurisdictions::{self, boundary::Boundary, settings};
use crate::scoring::Assessment;
use crate::users::store::UserView;
use crate::visits::api::VisitView;
use crate::visits::checks::Thresholds;

struct CaseData {
    detail: CaseDetail,
    household: HouseholdView,
    visit: Option<VisitView>,
    assessment: Option<Assessment>,
    village_boundary: Option<Boundary>,
    /// How far from the home a photo may be taken (the county's threshold).
    radius_m: f64,
    /// GPS positions of the visit's photos, by digest.
    photo_positions: Vec<(String, f64, f64)>,
    /// The village's coordinators, for an assignment.
    coordinators: Vec<UserView>,
}

fn load(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<CaseData> {
    caller.authorize_role(Permission::ReadHouseholds)?;
    let row = service::find(conn, caller, id)?;
    let thresholds: Thresholds = settings::load(conn, &row.county_code)?;
    let village_boundary = jurisdictions::store::find(conn, &caller.scope, &row.village_code)?
        .and_then(|village| village.boundary)
        .and_then(|text| serde_json::from_str(&text).ok())
        .and_then(|value| Boundary::from_geojson(&value).ok());
    let coordinators = crate::users::store::list(
        conn,
        &caller.scope,
        &crate::users::store::Filter {
            role: Some(Role::Coordinator),
            jurisdiction_code: Some(row.village_code.clone()),
        },
        None,
        50,
    )?;
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
    let digests: Vec<String> = visit
        .iter()
        .flat_map(|v: &VisitView| v.photos.iter().map(|p| p.digest.clone()))
        .collect();
    let photo_positions = crate::visits::store::photo_evidence(conn, &digests)?
        .into_iter()
        .filter_map(|p| Some((p.digest, p.gps_lat?, p.gps_lon?)))
        .collect();
    Ok(CaseData {
        detail,
        household,
        visit,
        assessment,
        village_boundary,
        radius_m: thresholds.far_from_household_m,
        photo_positions,
        coordinators,
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
        (objections(console, &data.detail))
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
                        td { (labels::relation(lang, &m.relation)) }
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
                        td { (labels::labour_capacity(lang, &m.labour_capacity)) }
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
                // Numbered as the thumbnails and the map are.
                @let photo_number = |digest: &str| visit.photos.iter().position(|p| p.digest == digest).map(|i| i + 1);
                @if visit.flags.is_empty() {
                    p { span.badge.ok { (t("无疑点", "no flags")) } }
                } @else {
                    ul {
                        @for flag in &visit.flags {
                            li { span.badge.flag { (labels::flag(lang, flag.kind.as_str())) } " " (labels::measured(lang, flag, photo_number)) }
                        }
                    }
                }
                div.thumbs {
                    @for (i, photo) in visit.photos.iter().enumerate() {
                        figure {
                            a href={ "/console/visits/" (visit.id) "/photos/" (photo.digest) "/original" } target="_blank" {
                                img src={ "/console/visits/" (visit.id) "/photos/" (photo.digest) "/thumbnail" } alt=(labels::photo_kind(lang, &photo.kind));
                            }
                            figcaption { (i + 1) ". " (labels::photo_kind(lang, &photo.kind)) }
                        }
                    }
                }
            }
        }
        (case_map(lang, data))
    }
}

/// The village, the home with its allowed radius and the numbered photo positions.
fn case_map(lang: Lang, data: &CaseData) -> Markup {
    let t = |zh, en| lang.pick(zh, en);
    let photos = data
        .visit
        .iter()
        .flat_map(|v| v.photos.iter().enumerate())
        .filter_map(|(i, photo)| {
            let (_, lat, lon) = data
                .photo_positions
                .iter()
                .find(|(digest, _, _)| *digest == photo.digest)?;
            Some(MapPhoto {
                number: i + 1,
                label: format!("{}. {}", i + 1, labels::photo_kind(lang, &photo.kind)),
                lat: *lat,
                lon: *lon,
            })
        })
        .collect();
    let input = MapInput {
        boundary: data.village_boundary.as_ref(),
        home: data.household.location.as_ref().map(|l| (l.lat, l.lon)),
        radius_m: data.radius_m,
        photos,
    };
    let title = t(
        "村界、住址与拍摄位置",
        "Village boundary, home and photo positions",
    );
    html! {
        h2 { (title) }
        @match map::svg(&input, title) {
            Some(svg) => {
                (svg)
                p.legend {
                    span.key.home {} " " (t("登记住址", "registered home")) " · "
                    span.key.radius {} " " (t("允许范围", "allowed distance")) " " (format!("{:.0}", data.radius_m)) " m · "
                    span.key.photo {} " " (t("照片拍摄位置（编号同上）", "where each photo was taken (numbered as above)"))
                }
            }
            None => p { (t("没有可显示的位置。", "No position to show.")) },
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
                Action::Accept
                    | Action::Assign
                    | Action::Recommend
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
        @if case.state.is_closed() {
            p { a href={ "/console/cases/" (case.id) "/letter" } target="_blank" { (t("打印决定书", "Print the decision letter")) } }
        }
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
                @if decisions.contains(&Action::Assign) {
                    fieldset {
                        legend { (t("入户的协理员", "Coordinator who visits")) }
                        select name="coordinator_id" {
                            option value="" { (t("家庭的责任人", "the household's responsible worker")) }
                            @for user in &data.coordinators {
                                option value=(user.id) { (user.display_name) " (" (user.username) ")" }
                            }
                        }
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

/// The case's notice, the objections filed during it, and the forms to file or resolve one.
fn objections(console: &Console, detail: &CaseDetail) -> Markup {
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    let case = &detail.case;
    let on_notice = case.state == State::PublicNotice;
    let resolver = console.caller.role == Role::TownshipReviewer;
    html! {
        @if case.notice_id.is_some() || !detail.objections.is_empty() {
            h2 { (t("公示与异议", "Public notice and objections")) }
            @if let Some(notice) = &case.notice_id {
                p { a href={ "/console/notices/" (notice) } { (t("查看公示", "Open the notice")) } }
            }
            @if !detail.objections.is_empty() {
                table {
                    thead { tr { th { (t("提出时间", "Filed")) } th { (t("异议人", "Objector")) } th { (t("联系方式", "Contact")) } th { (t("内容", "Content")) } th { (t("处理", "Outcome")) } } }
                    tbody {
                        @for o in &detail.objections {
                            tr {
                                td { (labels::china_minute(o.filed_at)) }
                                td { (o.objector_name) }
                                td { (o.objector_contact.as_deref().unwrap_or("")) }
                                td { (o.content) }
                                td {
                                    @if o.status != "open" {
                                        (labels::objection_outcome(lang, &o.status)) @if let Some(r) = &o.resolution { "：" (r) }
                                    } @else if resolver {
                                        form method="post" action={ "/console/cases/" (case.id) "/objections/" (o.id) } {
                                            input type="hidden" name="csrf" value=(console.csrf);
                                            select name="outcome" required {
                                                @for outcome in ["unfounded", "reinvestigate", "appraisal"] {
                                                    option value=(outcome) { (labels::objection_outcome(lang, outcome)) }
                                                }
                                            }
                                            textarea name="note" required placeholder=(t("调查情况", "What the investigation found")) {}
                                            button { (t("处理异议", "Resolve")) }
                                        }
                                    } @else {
                                        (labels::objection_outcome(lang, "open"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if on_notice {
                form method="post" action={ "/console/cases/" (case.id) "/objections" } {
                    input type="hidden" name="csrf" value=(console.csrf);
                    fieldset {
                        legend { (t("登记异议（代村民录入）", "Record an objection (on a villager's behalf)")) }
                        label { (t("异议人", "Objector")) " " input name="objector_name" required maxlength="50"; } " "
                        label { (t("联系方式（不公开）", "Contact (never published)")) " " input name="objector_contact" maxlength="100"; }
                        label { (t("异议内容", "Content")) textarea name="content" required maxlength="2000" {} }
                        button { (t("登记", "Record")) }
                    }
                }
            }
        }
    }
}

fn history(lang: Lang, detail: &CaseDetail) -> Markup {
    let t = |zh, en| lang.pick(zh, en);
    html! {
        h2 { (t("办理记录", "History")) }
        table {
            thead { tr { th { (t("时间（北京时间）", "When (Beijing time)")) } th { (t("操作", "Action")) } th { (t("办理人", "By")) } th { (t("状态", "State")) } } }
            tbody {
                @for e in &detail.history {
                    tr {
                        td { (labels::china_minute(e.at)) }
                        td { (labels::event(lang, &e.action)) }
                        td { (e.actor_name) }
                        td { (State::parse(&e.to_state).map_or(e.to_state.as_str(), |s| labels::state(lang, s))) }
                    }
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
        coordinator_id: form.text("coordinator_id"),
        overturn_reason: None,
    })
}

pub async fn act(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = console.form(&body)?;
    let id = id.into_inner();
    let outcome = match action_request(&form) {
        Ok(request) => cases_api::perform(&state, console.caller.clone(), id.clone(), request)
            .await
            .map(|_| ()),
        Err(err) => Err(err),
    };
    back_to_case(&state, &console, id, outcome).await
}

/// After a form post: back to the case page, or the page again with the core's refusal.
async fn back_to_case(
    state: &web::Data<AppState>,
    console: &Console,
    id: String,
    outcome: ApiResult<()>,
) -> PageResult {
    match outcome {
        Ok(()) => Ok(see_other(format!("/console/cases/{id}"))),
        // Client mistakes come back on the page with the form; anything else is an error page.
        Err(err) if err.kind.status().is_client_error() => {
            render(state, console, id, Some(err), None).await
        }
        Err(err) => Err(PageError::Api(err)),
    }
}

pub async fn file_objection(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let form = console.form(&body)?;
    let request = FileObjection {
        objector_name: form.text("objector_name").unwrap_or_default(),
        objector_contact: form.text("objector_contact"),
        content: form.text("content").unwrap_or_default(),
    };
    let (caller, id) = (console.caller.clone(), id.into_inner());
    let case_id = id.clone();
    let outcome = state
        .db
        .write(move |conn| notice::file_objection(conn, &caller, &case_id, &request).map(|_| ()))
        .await;
    back_to_case(&state, &console, id, outcome).await
}

pub async fn resolve_objection(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> PageResult {
    let form = console.form(&body)?;
    let (id, objection_id) = path.into_inner();
    let outcome = match parse("outcome", form.text("outcome").unwrap_or_default()) {
        Ok(outcome) => {
            let request = ResolveObjection {
                outcome,
                note: form.text("note").unwrap_or_default(),
            };
            let (app, caller, case_id) = (state.clone(), console.caller.clone(), id.clone());
            state
                .db
                .write(move |conn| {
                    notice::resolve_objection(
                        conn,
                        &app.calendar,
                        &caller,
                        &case_id,
                        &objection_id,
                        &request,
                    )
                    .map(|_| ())
                })
                .await
        }
        Err(err) => Err(err),
    };
    back_to_case(&state, &console, id, outcome).await
}

pub async fn claim(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    console.form(&body)?;
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
    let form = console.form(&body)?;
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

/// The decision letter of a closed case, as a page to print (the API's letter text).
pub async fn letter(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> PageResult {
    let caller = console.caller;
    let text = state
        .db
        .run(move |conn| crate::cases::letter::for_case(conn, &caller, &id))
        .await?;
    Ok(layout::html_response(layout::bare(
        console.lang,
        console.lang.pick("决定书", "Decision letter"),
        html! { main { pre.letter { (text) } } },
    )))
}
