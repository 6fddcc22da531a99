//! The decision letter to the applicant (决定通知书), in Chinese, for staff to print.

use chrono::NaiveDate;
use serde_json::Value;

use super::lifecycle::State;
use super::service::{self, RejectReason};
use super::store;
use super::workdays::china_date;
use crate::auth::Caller;
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use crate::jurisdictions;

pub enum Decision<'a> {
    Approved {
        class: &'a str,
        monthly_amount_fen: Option<i64>,
        next_recheck_on: Option<NaiveDate>,
    },
    Rejected {
        reason_code: Option<RejectReason>,
        reason: &'a str,
    },
}

pub struct Letter<'a> {
    pub head_name: &'a str,
    pub village_name: &'a str,
    pub authority: &'a str,
    pub decided_on: NaiveDate,
    pub decision: Decision<'a>,
}

fn date_zh(d: NaiveDate) -> String {
    d.format("%Y年%m月%d日").to_string()
}

pub fn render(letter: &Letter<'_>) -> String {
    let body = match &letter.decision {
        Decision::Approved {
            class,
            monthly_amount_fen,
            next_recheck_on,
        } => {
            let amount = monthly_amount_fen
                .map(|f| format!("{}.{:02} 元", f / 100, f % 100))
                .unwrap_or_else(|| "按核定标准".to_owned());
            let recheck = next_recheck_on
                .map(|d| format!("，下次复核时间为{}", date_zh(d)))
                .unwrap_or_default();
            format!(
                "经审核，您家庭符合最低生活保障条件，决定自下月起给予最低生活保障，每月保障金额 {amount}。\
                 您家庭的分类管理类别为 {class} 类{recheck}。\n\
                 家庭人口、收入和财产状况发生变化时，请及时向村（居）民委员会或乡镇人民政府（街道办事处）报告。"
            )
        }
        Decision::Rejected {
            reason_code,
            reason,
        } => {
            let category = reason_code.map(|c| c.label_zh()).unwrap_or("其他原因");
            format!(
                "经审核，您家庭的最低生活保障申请不予批准。\n理由：{category}。{reason}\n\
                 如对本决定有异议，可自收到本通知之日起六十日内依法申请行政复议，或六个月内依法提起行政诉讼。"
            )
        }
    };
    format!(
        "最低生活保障审批结果通知书\n\n{village} {name} 户：\n\n{body}\n\n{authority}\n{date}\n",
        village = letter.village_name,
        name = letter.head_name,
        authority = letter.authority,
        date = date_zh(letter.decided_on),
    )
}

/// The letter of a decided case the caller may see, from the step that closed it; 409
/// `no_decision` while the case is open.
pub fn for_case(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<String> {
    let row = service::find(conn, caller, id)?;
    let closing = store::events(conn, &row.id)?
        .into_iter()
        .rev()
        .find(|e| e.to_state == row.state)
        .filter(|_| service::state_of(&row).is_ok_and(State::is_closed))
        .ok_or_else(|| {
            ApiError::conflict(
                "no_decision",
                "The case has no decision yet",
                "该案件尚未作出决定",
            )
        })?;
    let details: Value = serde_json::from_str(&closing.details).map_err(ApiError::internal)?;
    let reason_code: Option<RejectReason> =
        serde_json::from_value(details["reason_code"].clone()).ok();
    let reason = details["reason"].as_str().unwrap_or_default();
    let line = store::household_lines(conn, std::slice::from_ref(&row.household_id))?
        .pop()
        .ok_or_else(|| ApiError::internal("case household missing"))?;
    let authority = jurisdictions::store::name_of(conn, &row.county_code)?
        .map(|county| format!("{county}民政局"))
        .unwrap_or_default();
    let decision = if row.state == State::Approved.as_str() {
        Decision::Approved {
            class: row.review_class.as_deref().unwrap_or("C"),
            monthly_amount_fen: row.monthly_amount_fen,
            next_recheck_on: row.next_recheck_on,
        }
    } else {
        Decision::Rejected {
            reason_code,
            reason,
        }
    };
    Ok(render(&Letter {
        head_name: &line.head_name,
        village_name: &line.village_name,
        authority: &authority,
        decided_on: china_date(closing.at.and_utc()),
        decision,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(decision: Decision<'_>) -> String {
        render(&Letter {
            head_name: "刘德兵",
            village_name: "新联村",
            authority: "洪湖市民政局",
            decided_on: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            decision,
        })
    }

    #[test]
    fn a_rejection_names_the_category_the_reason_and_the_right_to_appeal() {
        let text = letter(Decision::Rejected {
            reason_code: Some(RejectReason::IncomeAboveStandard),
            reason: "家庭人均月收入 980 元。",
        });
        assert!(text.contains("不予批准"));
        assert!(text.contains("家庭人均收入高于当地最低生活保障标准"));
        assert!(text.contains("980 元"));
        assert!(text.contains("行政复议"));
        assert!(text.contains("2026年11月23日"));
    }

    #[test]
    fn an_approval_states_amount_class_and_next_recheck() {
        let text = letter(Decision::Approved {
            class: "B",
            monthly_amount_fen: Some(52_050),
            next_recheck_on: NaiveDate::from_ymd_opt(2027, 5, 23),
        });
        assert!(text.contains("520.50 元"));
        assert!(text.contains("B 类"));
        assert!(text.contains("2027年05月23日"));
    }
}
