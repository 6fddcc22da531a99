//! Public notice (公示) of a township's recommended cases, objections filed during it and
//! democratic appraisals (民主评议). The public entries carry the masked head's name, village,
//! household size and proposed amount: never an ID number, address or phone.

use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::lifecycle::{Action, State};
use super::service::{self, Step};
use super::store::{self, AppraisalRow, CaseRow, NoticeRow, ObjectionRow};
use super::workdays::{Calendar, china_date};
use crate::audit::{self, Event};
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use crate::jurisdictions::{self, Kind};
use crate::privacy::mask_name;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishNotice {
    /// The day the notice went up on the village boards (China date); default today. At
    /// most 30 days back, so a notice posted before it was entered can be recorded.
    pub starts_on: Option<NaiveDate>,
    /// Notice period in days (default from DIBAO_NOTICE_DAYS, at least that).
    pub days: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticeEntry {
    /// Head of household, masked (刘*兵).
    pub name: String,
    pub village: String,
    pub household_size: i64,
    /// Proposed monthly allowance in fen.
    pub monthly_amount_fen: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticeView {
    pub id: String,
    pub township_code: String,
    pub township_name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub entries: Vec<NoticeEntry>,
}

/// Puts every recommended case of the township on one notice.
pub fn publish(
    conn: &mut DbConn,
    calendar: &Calendar,
    caller: &Caller,
    township_code: &str,
    request: &PublishNotice,
    default_days: u32,
) -> ApiResult<NoticeRow> {
    let township = jurisdictions::store::find(conn, &caller.scope, township_code)?
        .filter(|j| j.kind == Kind::Township.as_str())
        .ok_or_else(|| ApiError::not_found("Township", "该乡镇"))?;
    if caller.role != Role::TownshipReviewer {
        return Err(ApiError::forbidden());
    }
    let today = china_date(Utc::now());
    let starts_on = request.starts_on.unwrap_or(today);
    let days = request.days.unwrap_or(default_days);
    if starts_on < today - Duration::days(30) || starts_on > today + Duration::days(7) {
        return Err(ApiError::unprocessable(
            "notice_start_out_of_range",
            "The notice must start between 30 days ago and 7 days ahead",
            "公示开始日期须在 30 天前至 7 天后之间",
        ));
    }
    if days < default_days || days > 60 {
        return Err(ApiError::unprocessable(
            "notice_days_out_of_range",
            format!("A notice lasts {default_days}–60 days"),
            format!("公示期为 {default_days}–60 天"),
        ));
    }
    let cases = store::recommended_in(conn, &township.code)?;
    if cases.is_empty() {
        return Err(ApiError::conflict(
            "nothing_to_publish",
            "The township has no recommended case to put on notice",
            "该乡镇没有待公示的推荐案件",
        ));
    }
    let notice = NoticeRow {
        id: uuid::Uuid::new_v4().to_string(),
        township_code: township.code.clone(),
        starts_on,
        ends_on: starts_on + Duration::days(i64::from(days) - 1),
        published_by: caller.user_id.clone(),
        published_at: audit::store::now(),
    };
    store::insert_notice(conn, &notice)?;
    for row in &cases {
        let transition = service::check(
            row,
            Action::PublishNotice,
            service::performer(conn, caller, row)?,
        )?;
        service::apply(
            conn,
            calendar,
            &caller.actor(),
            row,
            Step {
                transition,
                details: json!({ "notice_id": notice.id, "starts_on": starts_on, "ends_on": notice.ends_on }),
                claim_holder: None,
            },
            |next| next.notice_id = Some(notice.id.clone()),
        )?;
    }
    Ok(notice)
}

/// A notice the caller may read: its township is inside the caller's jurisdiction or the
/// caller works in one of the township's villages.
pub fn view(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<NoticeView> {
    let (notice, path) =
        store::find_notice(conn, id)?.ok_or_else(|| ApiError::not_found("Notice", "该公示"))?;
    caller.authorize_inherited(crate::auth::Action::ReadCases, &path)?;
    let cases = store::notice_cases(conn, &notice.id)?;
    let ids: Vec<String> = cases.iter().map(|c| c.household_id.clone()).collect();
    let lines = store::household_lines(conn, &ids)?;
    let assessments: Vec<String> = cases
        .iter()
        .filter_map(|c| c.assessment_id.clone())
        .collect();
    let amounts = crate::scoring::store::payments(conn, &assessments)?;
    let mut entries = Vec::new();
    for case in &cases {
        let line = lines
            .iter()
            .find(|l| l.household_id == case.household_id)
            .ok_or_else(|| ApiError::internal("notice household missing"))?;
        let amount = case
            .assessment_id
            .as_ref()
            .and_then(|id| amounts.iter().find(|(a, _)| a == id))
            .and_then(|(_, fen)| *fen);
        entries.push(NoticeEntry {
            name: mask_name(&line.head_name),
            village: line.village_name.clone(),
            household_size: line.members,
            monthly_amount_fen: amount,
        });
    }
    Ok(NoticeView {
        township_name: jurisdictions::store::name_of(conn, &notice.township_code)?
            .unwrap_or_default(),
        id: notice.id,
        township_code: notice.township_code,
        starts_on: notice.starts_on,
        ends_on: notice.ends_on,
        entries,
    })
}

fn yuan(fen: Option<i64>) -> String {
    fen.map(|f| format!("{}.{:02}", f / 100, f % 100))
        .unwrap_or_default()
}

pub fn to_csv(notice: &NoticeView) -> ApiResult<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| ApiError::internal(e);
    writer
        .write_record(["姓名", "村（社区）", "家庭人口", "拟保障金额（元/月）"])
        .map_err(io)?;
    for entry in &notice.entries {
        writer
            .write_record([
                entry.name.as_str(),
                entry.village.as_str(),
                &entry.household_size.to_string(),
                &yuan(entry.monthly_amount_fen),
            ])
            .map_err(io)?;
    }
    writer.into_inner().map_err(ApiError::internal)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A printable page for the village boards.
pub fn to_html(notice: &NoticeView) -> String {
    let rows: String = notice
        .entries
        .iter()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&e.name),
                escape(&e.village),
                e.household_size,
                yuan(e.monthly_amount_fen)
            )
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{township}最低生活保障公示</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #333;padding:4px 8px}}@media print{{body{{margin:0}}}}</style>
</head><body>
<h1>{township}最低生活保障对象公示</h1>
<p>公示期：{starts} 至 {ends}。如有异议，请在公示期内向乡镇人民政府（街道办事处）反映。</p>
<table><thead><tr><th>姓名</th><th>村（社区）</th><th>家庭人口</th><th>拟保障金额（元/月）</th></tr></thead>
<tbody>
{rows}</tbody></table>
</body></html>
"#,
        township = escape(&notice.township_name),
        starts = notice.starts_on,
        ends = notice.ends_on,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileObjection {
    /// Who objects (a villager; staff enter it on their behalf).
    pub objector_name: String,
    /// How to reach them: kept private, never in notices or logs.
    pub objector_contact: Option<String>,
    pub content: String,
}

fn text_between(value: &str, field: &'static str, max: usize) -> ApiResult<String> {
    let text = value.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(ApiError::unprocessable(
            "text_length",
            format!("'{field}' must have 1–{max} characters"),
            format!("“{field}”须为 1–{max} 个字符"),
        ));
    }
    Ok(text.to_owned())
}

pub fn file_objection(
    conn: &mut DbConn,
    caller: &Caller,
    case_id: &str,
    request: &FileObjection,
) -> ApiResult<ObjectionRow> {
    let row = service::find(conn, caller, case_id)?;
    if !matches!(caller.role, Role::TownshipReviewer | Role::CountyOfficer) {
        return Err(ApiError::forbidden());
    }
    if service::state_of(&row)? != State::PublicNotice {
        return Err(ApiError::conflict(
            "not_on_notice",
            "Objections are filed while the case is on public notice",
            "异议须在公示期内提出",
        )
        .with_details(json!({ "state": row.state })));
    }
    let objection = ObjectionRow {
        id: uuid::Uuid::new_v4().to_string(),
        case_id: row.id.clone(),
        objector_name: text_between(&request.objector_name, "objector_name", 50)?,
        objector_contact: request
            .objector_contact
            .as_deref()
            .map(|c| text_between(c, "objector_contact", 100))
            .transpose()?,
        content: text_between(&request.content, "content", 2000)?,
        status: "open".into(),
        resolution: None,
        filed_by: caller.user_id.clone(),
        filed_at: audit::store::now(),
        resolved_by: None,
        resolved_at: None,
    };
    store::insert_objection(conn, &objection)?;
    audit::store::append(
        conn,
        &caller.actor(),
        Event {
            action: "case.objection",
            target_type: "case",
            target_id: &row.id,
            summary: json!({ "objection_id": objection.id }),
        },
    )?;
    Ok(objection)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionOutcome {
    /// Investigated and not substantiated: the notice runs on.
    Unfounded,
    /// Substantiated: the case goes back for a new visit.
    Reinvestigate,
    /// Needs the village's democratic appraisal before confirmation.
    Appraisal,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveObjection {
    pub outcome: ObjectionOutcome,
    pub note: String,
}

pub fn resolve_objection(
    conn: &mut DbConn,
    calendar: &Calendar,
    caller: &Caller,
    case_id: &str,
    objection_id: &str,
    request: &ResolveObjection,
) -> ApiResult<CaseRow> {
    let row = service::find(conn, caller, case_id)?;
    if caller.role != Role::TownshipReviewer {
        return Err(ApiError::forbidden());
    }
    let note = text_between(&request.note, "note", 2000)?;
    if !store::objections_of(conn, &row.id)?
        .iter()
        .any(|o| o.id == objection_id)
    {
        return Err(ApiError::not_found("Objection", "该异议"));
    }
    let status = match request.outcome {
        ObjectionOutcome::Unfounded => "unfounded",
        ObjectionOutcome::Reinvestigate => "reinvestigate",
        ObjectionOutcome::Appraisal => "appraisal",
    };
    // Check the transition first so a refused reinvestigation leaves the objection open.
    let reinvestigation = match request.outcome {
        ObjectionOutcome::Reinvestigate => Some(service::check(
            &row,
            Action::Reinvestigate,
            service::performer(conn, caller, &row)?,
        )?),
        _ => None,
    };
    let at = audit::store::now();
    if !store::resolve_objection(conn, objection_id, status, &note, &caller.user_id, at)? {
        return Err(ApiError::conflict(
            "objection_resolved",
            "The objection was already resolved",
            "该异议已处理",
        ));
    }
    audit::store::append(
        conn,
        &caller.actor(),
        Event {
            action: "case.objection_resolved",
            target_type: "case",
            target_id: &row.id,
            summary: json!({ "objection_id": objection_id, "outcome": status }),
        },
    )?;
    match reinvestigation {
        Some(transition) => service::apply(
            conn,
            calendar,
            &caller.actor(),
            &row,
            Step {
                transition,
                details: json!({ "objection_id": objection_id, "reason": note }),
                claim_holder: None,
            },
            |next| {
                next.redo =
                    Some(json!({ "reason": note, "objection_id": objection_id }).to_string());
            },
        ),
        None => Ok(row),
    }
}

/// Smallest panel, and the two-thirds rules (DOMAIN "Case lifecycle").
pub const MIN_PANEL: i32 = 15;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordAppraisal {
    pub held_on: NaiveDate,
    pub panel_size: i32,
    pub present: i32,
    pub votes_for: i32,
}

/// Whether an appraisal is valid (panel, quorum) and, if so, whether it passed.
pub fn appraisal_result(panel: i32, present: i32, votes_for: i32) -> Result<bool, &'static str> {
    if panel < MIN_PANEL {
        Err("panel_too_small")
    } else if present < 0 || present > panel || votes_for < 0 || votes_for > present {
        Err("appraisal_counts_invalid")
    } else if present * 3 < panel * 2 {
        Err("quorum_not_met")
    } else {
        Ok(votes_for * 3 >= present * 2)
    }
}

pub fn record_appraisal(
    conn: &mut DbConn,
    caller: &Caller,
    case_id: &str,
    request: &RecordAppraisal,
) -> ApiResult<AppraisalRow> {
    let row = service::find(conn, caller, case_id)?;
    if caller.role != Role::TownshipReviewer {
        return Err(ApiError::forbidden());
    }
    let state = service::state_of(&row)?;
    if !matches!(
        state,
        State::Recommended | State::PublicNotice | State::CountyReview
    ) {
        return Err(ApiError::conflict(
            "appraisal_not_due",
            "An appraisal is recorded for a recommended case before confirmation",
            "民主评议须在推荐之后、审批之前进行",
        )
        .with_details(json!({ "state": state })));
    }
    if request.held_on > china_date(Utc::now()) {
        return Err(ApiError::unprocessable(
            "appraisal_in_future",
            "The appraisal cannot be dated in the future",
            "评议日期不能晚于今天",
        ));
    }
    let passed = appraisal_result(request.panel_size, request.present, request.votes_for)
        .map_err(|code| {
            ApiError::unprocessable(
                code,
                format!(
                    "An appraisal needs at least {MIN_PANEL} panel members, two thirds of them present, and counts that add up"
                ),
                format!("民主评议须有不少于 {MIN_PANEL} 名评议员、三分之二以上到会，且票数合理"),
            )
        })?;
    let appraisal = AppraisalRow {
        id: uuid::Uuid::new_v4().to_string(),
        case_id: row.id.clone(),
        held_on: request.held_on,
        panel_size: request.panel_size,
        present: request.present,
        votes_for: request.votes_for,
        passed,
        recorded_by: caller.user_id.clone(),
        recorded_at: audit::store::now(),
    };
    store::insert_appraisal(conn, &appraisal)?;
    audit::store::append(
        conn,
        &caller.actor(),
        Event {
            action: "case.appraisal",
            target_type: "case",
            target_id: &row.id,
            summary: json!({ "passed": passed, "present": request.present, "votes_for": request.votes_for }),
        },
    )?;
    Ok(appraisal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appraisal_needs_fifteen_members_two_thirds_present_and_two_thirds_of_them() {
        assert_eq!(appraisal_result(14, 14, 14), Err("panel_too_small"));
        assert_eq!(appraisal_result(15, 9, 9), Err("quorum_not_met"));
        assert_eq!(appraisal_result(15, 10, 7), Ok(true));
        assert_eq!(appraisal_result(15, 10, 6), Ok(false));
        assert_eq!(appraisal_result(15, 16, 1), Err("appraisal_counts_invalid"));
        assert_eq!(
            appraisal_result(15, 12, 13),
            Err("appraisal_counts_invalid")
        );
    }

    #[test]
    fn the_printable_notice_escapes_names_and_shows_yuan() {
        let notice = NoticeView {
            id: "n".into(),
            township_code: "421083105000".into(),
            township_name: "峰口镇".into(),
            starts_on: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            ends_on: NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
            entries: vec![NoticeEntry {
                name: "刘*<b>".into(),
                village: "新村".into(),
                household_size: 3,
                monthly_amount_fen: Some(123_405),
            }],
        };
        let html = to_html(&notice);
        assert!(html.contains("刘*&lt;b&gt;") && html.contains("1234.05"));
        let csv = String::from_utf8(to_csv(&notice).unwrap()).unwrap();
        assert!(csv.contains("刘*<b>,新村,3,1234.05"));
    }
}
