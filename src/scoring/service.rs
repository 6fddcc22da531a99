//! Scoring in the service: publishing scheme versions, finding the scheme in force for a
//! household, mapping stored households to the engine's facts, and recording assessments.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use serde_json::json;

use super::store::{self, AssessmentRow, SchemeCache, VersionRow};
use super::{
    Assessment, HouseholdFacts, LabourCapacity, MemberFacts, Scheme, Student, assess, validate,
    validate_answers,
};
use crate::audit::{self, Actor, Event};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use crate::households::store::{HouseholdRow, MemberRow};
use crate::jurisdictions::store::Jurisdiction;

/// Today in China (UTC+8): ages and dates in this domain are local.
pub fn today_in_china() -> NaiveDate {
    crate::cases::workdays::china_date(chrono::Utc::now())
}

fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    let years =
        on.year() - birth.year() - i32::from((on.month(), on.day()) < (birth.month(), birth.day()));
    years.max(0) as u32
}

/// The engine's view of a registered household on a given day.
pub fn household_facts(
    household: &HouseholdRow,
    members: &[MemberRow],
    on: NaiveDate,
) -> HouseholdFacts {
    HouseholdFacts {
        urban: household.urban,
        members: members
            .iter()
            .map(|m| MemberFacts {
                age: age_on(m.birth_date, on),
                labour_capacity: match m.labour_capacity.as_str() {
                    "none" => LabourCapacity::None,
                    "partial" => LabourCapacity::Partial,
                    _ => LabourCapacity::Full,
                },
                disability_grade: m.disability_grade.and_then(|g| u8::try_from(g).ok()),
                chronic_illness: m.chronic_illness,
                student: match m.student.as_str() {
                    "primary" => Student::Primary,
                    "junior" => Student::Junior,
                    "senior" => Student::Senior,
                    "university" => Student::University,
                    _ => Student::None,
                },
            })
            .collect(),
    }
}

/// The scheme a county uses: a given version, or the one in force.
pub fn scheme_for(
    conn: &mut DbConn,
    cache: &SchemeCache,
    county: &Jurisdiction,
    version: Option<i32>,
) -> ApiResult<(VersionRow, Arc<Scheme>)> {
    let row = match version {
        Some(v) => store::version(conn, &county.code, v)?.ok_or_else(|| {
            ApiError::not_found(&format!("Scheme version {v}"), &format!("方案第 {v} 版"))
        })?,
        None => store::active(conn, &county.code)?.ok_or_else(|| {
            ApiError::conflict(
                "no_active_scheme",
                format!("{} has no scoring scheme in force", county.name),
                format!("{}尚无生效的评分方案", county.name),
            )
        })?,
    };
    let scheme = cache.get(&row)?;
    Ok((row, scheme))
}

/// Checks the answers against the scheme and assesses; 422 lists every answer problem.
pub fn evaluate(
    scheme: &Scheme,
    facts: &HouseholdFacts,
    answers: &serde_json::Value,
) -> ApiResult<Assessment> {
    let typed = validate_answers(scheme, answers).map_err(|problems| {
        ApiError::unprocessable(
            "answers_invalid",
            format!(
                "{} answer(s) do not fit the scheme's checklist",
                problems.len()
            ),
            format!("有 {} 项回答不符合评分方案的检查表", problems.len()),
        )
        .with_details(json!({ "problems": problems }))
    })?;
    Ok(assess(scheme, facts, &typed))
}

/// Stores an assessment; the household's previous one (if any) is superseded, not changed.
pub fn record(
    conn: &mut DbConn,
    actor: &Actor,
    household_id: &str,
    version: &VersionRow,
    facts: &HouseholdFacts,
    answers: &serde_json::Value,
    assessment: &Assessment,
) -> ApiResult<AssessmentRow> {
    let previous = store::latest(conn, household_id)?;
    let row = assessment_row(
        AssessmentOf {
            household_id,
            version,
            facts,
            answers,
            supersedes: previous.map(|p| p.id),
        },
        assessment,
        actor,
        audit::store::now(),
    )?;
    store::insert_assessment(conn, &row)?;
    audit::store::append(
        conn,
        actor,
        Event {
            action: "assessment.record",
            target_type: "household",
            target_id: household_id,
            summary: json!({
                "assessment_id": row.id, "scheme_version": version.version, "scheme_hash": version.content_hash,
                "outcome": row.outcome, "score": row.score, "supersedes": row.supersedes_id,
            }),
        },
    )?;
    Ok(row)
}

/// What an assessment was made of: whose, under which scheme, from which inputs.
pub struct AssessmentOf<'a> {
    pub household_id: &'a str,
    pub version: &'a VersionRow,
    pub facts: &'a HouseholdFacts,
    pub answers: &'a serde_json::Value,
    /// The household's previous assessment.
    pub supersedes: Option<String>,
}

/// The stored form of an assessment: its inputs and whole result, as [`record`] keeps them.
pub fn assessment_row(
    of: AssessmentOf<'_>,
    assessment: &Assessment,
    actor: &Actor,
    at: chrono::NaiveDateTime,
) -> ApiResult<AssessmentRow> {
    let text = |value: serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    Ok(AssessmentRow {
        id: uuid::Uuid::now_v7().to_string(),
        household_id: of.household_id.to_owned(),
        scheme_version_id: of.version.id.clone(),
        scheme_hash: of.version.content_hash.clone(),
        inputs: json!({ "household": of.facts, "answers": of.answers }).to_string(),
        result: serde_json::to_string(assessment).map_err(ApiError::internal)?,
        outcome: text(json!(assessment.outcome)),
        score: assessment.score,
        band: text(json!(assessment.band)),
        review_class: text(json!(assessment.class)),
        payment_fen: assessment.payment_fen,
        county_visit: assessment.county_visit,
        supersedes_id: of.supersedes,
        created_at: at,
        created_by: actor.name.clone(),
    })
}

/// Parses and fully validates a scheme file for a county; 422 lists every problem.
pub fn parse_for_county(source: &str, county: &Jurisdiction) -> ApiResult<Scheme> {
    let scheme = Scheme::from_toml(source).map_err(|e| {
        ApiError::unprocessable(
            "scheme_unparseable",
            format!("The scheme file is not valid TOML for a scheme: {e}"),
            format!("方案文件格式错误：{e}"),
        )
    })?;
    validate(&scheme).map_err(|problems| {
        ApiError::unprocessable(
            "scheme_invalid",
            format!("The scheme has {} problem(s)", problems.len()),
            format!("方案有 {} 处问题", problems.len()),
        )
        .with_details(json!({ "problems": problems }))
    })?;
    if scheme.county_code != county.code {
        return Err(ApiError::unprocessable(
            "scheme_county_mismatch",
            format!(
                "The scheme names county {}, not {}",
                scheme.county_code, county.code
            ),
            format!(
                "方案所属区县 {} 与 {} 不一致",
                scheme.county_code, county.code
            ),
        ));
    }
    Ok(scheme)
}

/// Publishes a new immutable version (or returns the existing one with the same content, so a
/// retried publish is safe). Returns the version and whether it was created.
pub fn publish(
    conn: &mut DbConn,
    actor: &Actor,
    county: &Jurisdiction,
    source: &str,
    make_active: bool,
) -> ApiResult<(VersionRow, bool)> {
    let scheme = parse_for_county(source, county)?;
    let hash = scheme.content_hash();
    if let Some(existing) = store::by_hash(conn, &county.code, &hash)? {
        return Ok((existing, false));
    }
    let row = VersionRow {
        id: uuid::Uuid::now_v7().to_string(),
        county_code: county.code.clone(),
        version: store::next_version(conn, &county.code)?,
        name: scheme.name_zh.clone(),
        source: source.to_owned(),
        content_hash: hash,
        active: make_active,
        published_at: audit::store::now(),
        published_by: actor.name.clone(),
    };
    store::insert_version(conn, &row)?;
    if make_active {
        store::activate(conn, &county.code, &row.id)?;
    }
    audit::store::append(
        conn,
        actor,
        Event {
            action: "scheme.publish",
            target_type: "jurisdiction",
            target_id: &county.code,
            summary: json!({ "version": row.version, "hash": row.content_hash, "active": make_active }),
        },
    )?;
    Ok((row, true))
}

/// What `rescore` did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RescoreReport {
    pub households_seen: u64,
    pub already_current: u64,
    pub rescored: u64,
    pub outcome_changed: u64,
    /// Their recorded answers no longer fit the chosen version's checklist: they need a visit.
    pub answers_no_longer_valid: u64,
}

/// Re-assesses every household of a county whose latest assessment is not under `version`,
/// one transaction per household, so an interrupted run resumes where it stopped. An open
/// case decided on the replaced assessment moves onto the new one.
pub fn rescore(
    db: &crate::db::Db,
    cache: &SchemeCache,
    actor: &Actor,
    county: &Jurisdiction,
    version: i32,
    progress: &dyn Fn(u64),
) -> ApiResult<RescoreReport> {
    let scope = crate::auth::Scope::of_path(&county.path);
    let mut conn = db.get()?;
    let (target, scheme) = scheme_for(&mut conn, cache, county, Some(version))?;
    let mut report = RescoreReport::default();
    let mut after: Option<String> = None;
    loop {
        let filter = crate::households::store::Filter::default();
        let page =
            crate::households::store::list(&mut conn, &scope, &filter, after.as_deref(), 200)?;
        let Some((last, _, _)) = page.last() else {
            break;
        };
        after = Some(last.id.clone());
        for (household, _, _) in &page {
            report.households_seen += 1;
            progress(1);
            crate::db::write_transaction(&mut conn, |conn| {
                let Some(latest) = store::latest(conn, &household.id)? else {
                    return Ok(());
                };
                if latest.scheme_version_id == target.id {
                    report.already_current += 1;
                    return Ok(());
                }
                let inputs: serde_json::Value =
                    serde_json::from_str(&latest.inputs).map_err(ApiError::internal)?;
                let members = crate::households::store::active_members(conn, &household.id)?;
                let facts = household_facts(household, &members, today_in_china());
                match evaluate(&scheme, &facts, &inputs["answers"]) {
                    Ok(assessment) => {
                        let row = record(
                            conn,
                            actor,
                            &household.id,
                            &target,
                            &facts,
                            &inputs["answers"],
                            &assessment,
                        )?;
                        crate::cases::service::reassessed(
                            conn,
                            actor,
                            &household.id,
                            &latest.id,
                            &row,
                        )?;
                        report.rescored += 1;
                        report.outcome_changed += u64::from(row.outcome != latest.outcome);
                    }
                    Err(err) if err.code == "answers_invalid" => {
                        report.answers_no_longer_valid += 1
                    }
                    Err(err) => return Err(err),
                }
                Ok(())
            })?;
        }
    }
    Ok(report)
}
