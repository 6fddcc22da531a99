//! CSV import of households, one row per member. Every bad row is reported with its line
//! number; by default nothing is imported when any row is bad. Re-running the same file
//! changes nothing: households are matched by (village_code, household_ref), members by ID.

use std::collections::BTreeMap;

use diesel::Connection;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, NewHousehold};
use super::store;
use super::{
    LabourCapacity, Location, MemberInput, Relation, Student, check_member_set, required_text,
    validated_phone,
};
use crate::audit::{self, Actor, Event};
use crate::auth::Scope;
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};

/// The columns, in any order; a header row is required.
pub const COLUMNS: [&str; 16] = [
    "household_ref",
    "village_code",
    "head_name",
    "address",
    "urban",
    "lat",
    "lon",
    "phone",
    "worker_username",
    "member_name",
    "id_number",
    "relation",
    "labour_capacity",
    "disability_grade",
    "chronic_illness",
    "student",
];

#[derive(Debug, Clone, Deserialize)]
struct CsvRow {
    household_ref: String,
    village_code: String,
    head_name: String,
    address: String,
    urban: String,
    lat: String,
    lon: String,
    phone: String,
    worker_username: String,
    member_name: String,
    id_number: String,
    relation: String,
    labour_capacity: String,
    disability_grade: String,
    chronic_illness: String,
    student: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub field: Option<String>,
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    pub rows_total: u64,
    pub rows_imported: u64,
    pub households_created: u64,
    pub households_updated: u64,
    pub households_unchanged: u64,
    pub members_created: u64,
    pub members_updated: u64,
    /// Households skipped because one of their rows was bad (only with skip_bad_rows).
    pub households_skipped: u64,
    pub errors: Vec<RowError>,
}

/// One household's rows, parsed.
struct HouseholdRows {
    lines: Vec<u64>,
    worker_username: Option<String>,
    household: NewHousehold,
}

fn row_error(line: u64, err: &ApiError) -> RowError {
    RowError {
        line,
        field: err
            .details
            .as_ref()
            .and_then(|d| d.get("field"))
            .and_then(|f| f.as_str())
            .map(str::to_owned),
        code: err.code.to_string(),
        message: err.message.clone(),
        message_zh: err.message_zh.clone(),
    }
}

fn bad(field: &str, en: &str, zh: &str) -> ApiError {
    super::field_error(field, "csv_value_invalid", en, zh)
}

fn parse_bool(field: &str, value: &str) -> ApiResult<bool> {
    match value.trim().to_lowercase().as_str() {
        "1" | "true" | "yes" | "是" => Ok(true),
        "0" | "false" | "no" | "否" | "" => Ok(false),
        _ => Err(bad(
            field,
            "Expected true/false, 1/0 or 是/否",
            "应为 true/false、1/0 或 是/否",
        )),
    }
}

fn parse_enum<T>(
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
    allowed: String,
) -> ApiResult<T> {
    parse(value.trim()).ok_or_else(|| {
        bad(
            field,
            &format!("Expected one of: {allowed}"),
            &format!("应为以下之一：{allowed}"),
        )
    })
}

fn optional(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

fn parse_row(row: &CsvRow) -> ApiResult<(NewHousehold, Option<String>)> {
    let urban = match row.urban.trim() {
        "urban" | "城镇" | "1" | "true" => true,
        "rural" | "农村" | "0" | "false" => false,
        _ => {
            return Err(bad(
                "urban",
                "Expected urban or rural",
                "应为 urban（城镇）或 rural（农村）",
            ));
        }
    };
    let location = match (optional(&row.lat), optional(&row.lon)) {
        (None, None) => None,
        (Some(lat), Some(lon)) => {
            let (lat, lon) = lat
                .parse::<f64>()
                .ok()
                .zip(lon.parse::<f64>().ok())
                .ok_or_else(|| {
                    bad(
                        "lat",
                        "lat and lon must be decimal numbers",
                        "经纬度应为十进制数字",
                    )
                })?;
            Some(Location::new(lat, lon)?)
        }
        _ => {
            return Err(bad(
                "lat",
                "Give both lat and lon, or neither",
                "经纬度须同时填写或同时留空",
            ));
        }
    };
    let member = MemberInput {
        name: row.member_name.clone(),
        id_number: row.id_number.clone(),
        relation: parse_enum(
            "relation",
            &row.relation,
            Relation::parse,
            Relation::allowed(),
        )?,
        labour_capacity: parse_enum(
            "labour_capacity",
            &row.labour_capacity,
            LabourCapacity::parse,
            LabourCapacity::allowed(),
        )?,
        disability_grade: optional(&row.disability_grade)
            .map(|g| {
                g.parse::<u8>().map_err(|_| {
                    bad(
                        "disability_grade",
                        "Expected a grade 1-4",
                        "残疾等级应为 1 到 4",
                    )
                })
            })
            .transpose()?,
        chronic_illness: parse_bool("chronic_illness", &row.chronic_illness)?,
        student: match optional(&row.student) {
            None => Student::None,
            Some(s) => parse_enum("student", s, Student::parse, Student::allowed())?,
        },
    }
    .validate()?;
    Ok((
        NewHousehold {
            village_code: crate::jurisdictions::parse_code(row.village_code.trim())?.to_owned(),
            reference: Some(required_text("household_ref", &row.household_ref, 64)?),
            head_name: required_text("head_name", &row.head_name, 50)?,
            address: required_text("address", &row.address, 200)?,
            urban,
            location,
            phone: optional(&row.phone).map(validated_phone).transpose()?,
            responsible_worker_id: None,
            members: vec![member],
        },
        optional(&row.worker_username).map(str::to_lowercase),
    ))
}

/// Household-level fields must agree across a household's rows.
fn same_household(
    a: &NewHousehold,
    a_worker: &Option<String>,
    b: &NewHousehold,
    b_worker: &Option<String>,
) -> bool {
    a.head_name == b.head_name
        && a.address == b.address
        && a.urban == b.urban
        && a.location == b.location
        && a.phone == b.phone
        && a_worker == b_worker
}

/// 1-based line number where a record starts. The reader reports the offset where it began
/// looking, which is before any blank lines it skipped.
fn line_at(text: &[u8], byte: u64) -> u64 {
    let mut start = (byte as usize).min(text.len());
    while start < text.len() && matches!(text[start], b'\n' | b'\r') {
        start += 1;
    }
    1 + text[..start].iter().filter(|&&b| b == b'\n').count() as u64
}

/// A household's identity in the file.
type Key = (String, String);

fn key_of(village_code: &str, reference: &str) -> Key {
    (village_code.trim().to_owned(), reference.trim().to_owned())
}

/// Parses the whole file: households grouped by (village, reference), the keys of households
/// that have at least one bad row, and every row error (with the row's line in the file).
fn parse_file(csv_text: &[u8], report: &mut ImportReport) -> (Vec<HouseholdRows>, Vec<Key>) {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(csv_text);
    let mut groups: BTreeMap<Key, HouseholdRows> = BTreeMap::new();
    let mut bad_keys: Vec<Key> = Vec::new();
    let mut seen_ids: BTreeMap<String, u64> = BTreeMap::new();
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(_) => {
            let err = bad(
                "header",
                "The file has no readable header row",
                "文件缺少可读取的表头行",
            );
            report.errors.push(row_error(1, &err));
            return (Vec::new(), bad_keys);
        }
    };
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !headers.iter().any(|h| h == *c))
        .collect();
    if !missing.is_empty() {
        let err = bad(
            "header",
            &format!("Missing columns: {}", missing.join(", ")),
            &format!("缺少列：{}", missing.join(", ")),
        );
        report.errors.push(row_error(1, &err));
        return (Vec::new(), bad_keys);
    }
    for record in reader.records() {
        report.rows_total += 1;
        // The line where the record starts, counted from its byte offset: the csv crate's own
        // line count skips blank lines.
        let position = match &record {
            Ok(r) => r.position(),
            Err(e) => e.position(),
        };
        let line = position.map_or(report.rows_total + 1, |p| line_at(csv_text, p.byte()));
        let unreadable = |e: &dyn std::fmt::Display| {
            bad(
                "row",
                &format!("Unreadable row: {e}"),
                "该行无法读取（列数或编码错误）",
            )
        };
        let raw = match record.map_err(|e| unreadable(&e)).and_then(|r| {
            r.deserialize::<CsvRow>(Some(&headers))
                .map_err(|e| unreadable(&e))
        }) {
            Ok(raw) => raw,
            Err(err) => {
                report.errors.push(row_error(line, &err));
                continue;
            }
        };
        let key = key_of(&raw.village_code, &raw.household_ref);
        let mut refuse = |err: ApiError, key: Key| {
            report.errors.push(row_error(line, &err));
            bad_keys.push(key);
        };
        let (household, worker) = match parse_row(&raw) {
            Ok(p) => p,
            Err(err) => {
                refuse(err, key);
                continue;
            }
        };
        let id = household.members[0].id_number.as_str().to_owned();
        if let Some(first) = seen_ids.insert(id, line) {
            refuse(
                super::field_error(
                    "id_number",
                    "id_number_repeated",
                    format!("This ID number already appears on line {first}"),
                    format!("该身份证号已在第 {first} 行出现"),
                ),
                key,
            );
            continue;
        }
        match groups.get_mut(&key) {
            None => {
                let rows = HouseholdRows {
                    lines: vec![line],
                    worker_username: worker,
                    household,
                };
                groups.insert(key, rows);
            }
            Some(group)
                if same_household(
                    &group.household,
                    &group.worker_username,
                    &household,
                    &worker,
                ) =>
            {
                group.lines.push(line);
                group.household.members.extend(household.members);
            }
            Some(group) => {
                let first = group.lines[0];
                refuse(
                    bad(
                        "household_ref",
                        &format!("Household fields differ from line {first} of the same household"),
                        &format!("与同户第 {first} 行的家庭信息不一致"),
                    ),
                    key,
                );
            }
        }
    }
    let groups = groups
        .into_iter()
        .filter(|(key, _)| !bad_keys.contains(key))
        .map(|(_, rows)| rows)
        .collect();
    bad_keys.sort();
    bad_keys.dedup();
    (groups, bad_keys)
}

/// What happened to one household.
enum Outcome {
    Created(u64),
    Updated {
        members_created: u64,
        members_updated: u64,
    },
    Unchanged,
}

/// Writes one household (all checks first, so a refused household writes nothing).
fn apply_household(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    group: HouseholdRows,
) -> ApiResult<Outcome> {
    check_member_set(&group.household.members).or_else(|err| {
        // A re-import may list only some members; the head rule then applies to the merged set.
        if err.code == "household_head_count"
            && group
                .household
                .members
                .iter()
                .all(|m| m.relation != Relation::Head)
        {
            Ok(())
        } else {
            Err(err)
        }
    })?;
    let village = service::resolve_village(conn, scope, &group.household.village_code)?;
    let worker_id = match &group.worker_username {
        Some(username) => {
            let user = crate::auth::store::find_login_user(conn, username)?.ok_or_else(|| {
                super::field_error(
                    "worker_username",
                    "worker_not_eligible",
                    "No such worker",
                    "责任人账号不存在",
                )
            })?;
            Some(service::resolve_worker(conn, scope, &user.id, &village)?)
        }
        None => None,
    };
    let household = NewHousehold {
        responsible_worker_id: worker_id,
        ..group.household
    };
    let reference = household.reference.clone().unwrap_or_default();
    let Some(existing) = store::find_by_reference(conn, &village.code, &reference)? else {
        let members = household.members.len() as u64;
        service::create_household(conn, actor, scope, household)?;
        return Ok(Outcome::Created(members));
    };
    if let Some(location) = household.location {
        service::check_location(&village, location)?;
    }
    let current = store::active_members(conn, &existing.id)?;
    for member in &household.members {
        service::ensure_not_active_elsewhere(conn, scope, &member.id_number, Some(&existing.id))?;
    }
    let updated_row = store::HouseholdRow {
        head_name: household.head_name.clone(),
        address: household.address.clone(),
        urban: household.urban,
        lat: household.location.map(|l| l.lat),
        lon: household.location.map(|l| l.lon),
        phone: household.phone.clone(),
        responsible_worker_id: household.responsible_worker_id.clone(),
        active: true,
        ..existing.clone()
    };
    let household_changed = updated_row.head_name != existing.head_name
        || updated_row.address != existing.address
        || updated_row.urban != existing.urban
        || updated_row.lat != existing.lat
        || updated_row.lon != existing.lon
        || updated_row.phone != existing.phone
        || updated_row.responsible_worker_id != existing.responsible_worker_id
        || !existing.active;
    let at = audit::store::now();
    let (mut created, mut updated) = (0, 0);
    for member in &household.members {
        match current
            .iter()
            .find(|m| m.id_number == member.id_number.as_str())
        {
            None => {
                service::add_member(conn, actor, scope, &existing.id, member)?;
                created += 1;
            }
            Some(row) => {
                let same = row.name == member.name
                    && row.relation == member.relation.as_str()
                    && row.labour_capacity == member.labour_capacity.as_str()
                    && row.disability_grade == member.disability_grade.map(i32::from)
                    && row.chronic_illness == member.chronic_illness
                    && row.student == member.student.as_str();
                if !same {
                    store::update_member(conn, &row.id, member, at)?;
                    updated += 1;
                }
            }
        }
    }
    if !household_changed && created == 0 && updated == 0 {
        return Ok(Outcome::Unchanged);
    }
    store::update_household(
        conn,
        &store::HouseholdRow {
            updated_at: at,
            ..updated_row.clone()
        },
    )?;
    audit::store::append(
        conn,
        actor,
        Event {
            action: "household.import_update",
            target_type: "household",
            target_id: &existing.id,
            summary: serde_json::json!({
                "before": service::household_summary(&existing, current.len()),
                "after": service::household_summary(&updated_row, current.len() + created as usize),
                "members_updated": updated,
            }),
        },
    )?;
    Ok(Outcome::Updated {
        members_created: created,
        members_updated: updated,
    })
}

/// Runs a whole import in one transaction. Without `skip_bad_rows`, any bad row rolls
/// everything back and the report comes back as a 422 `import_rejected`.
pub fn run(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    csv_text: &[u8],
    skip_bad_rows: bool,
    progress: &dyn Fn(u64),
) -> ApiResult<ImportReport> {
    let mut report = ImportReport::default();
    let (groups, bad_households) = parse_file(csv_text, &mut report);
    // A household with any bad row is not imported at all: half a family would be wrong.
    report.households_skipped = bad_households.len() as u64;
    let outcome = crate::db::write_transaction(conn, |conn| {
        for group in groups {
            let lines = group.lines.clone();
            progress(lines.len() as u64);
            // A savepoint per household: a refused one leaves nothing behind.
            match conn.transaction(|conn| apply_household(conn, actor, scope, group)) {
                Ok(Outcome::Created(members)) => {
                    report.households_created += 1;
                    report.members_created += members;
                }
                Ok(Outcome::Updated {
                    members_created,
                    members_updated,
                }) => {
                    report.households_updated += 1;
                    report.members_created += members_created;
                    report.members_updated += members_updated;
                }
                Ok(Outcome::Unchanged) => report.households_unchanged += 1,
                Err(err)
                    if err.kind == crate::error::ErrorKind::Internal
                        || err.kind == crate::error::ErrorKind::Unavailable =>
                {
                    return Err(err);
                }
                Err(err) => {
                    report.households_skipped += 1;
                    report
                        .errors
                        .extend(lines.iter().map(|&l| row_error(l, &err)));
                    continue;
                }
            }
            report.rows_imported += lines.len() as u64;
        }
        report.errors.sort_by_key(|e| e.line);
        if !report.errors.is_empty() && !skip_bad_rows {
            return Err(rejected(&report));
        }
        audit::store::append(
            conn,
            actor,
            Event {
                action: "households.import",
                target_type: "import",
                target_id: "csv",
                summary: serde_json::json!({
                    "rows_total": report.rows_total,
                    "rows_imported": report.rows_imported,
                    "households_created": report.households_created,
                    "households_updated": report.households_updated,
                    "errors": report.errors.len(),
                }),
            },
        )?;
        Ok(())
    });
    outcome.map(|()| report)
}

fn rejected(report: &ImportReport) -> ApiError {
    let mut shown = report.clone();
    shown.rows_imported = 0;
    shown.households_created = 0;
    shown.households_updated = 0;
    shown.members_created = 0;
    shown.members_updated = 0;
    ApiError::unprocessable(
        "import_rejected",
        format!(
            "{} bad row(s); nothing was imported. Fix them or import with skip_bad_rows",
            report.errors.len()
        ),
        format!(
            "有 {} 行数据有误，未导入任何数据。请修正后重试，或选择跳过错误行",
            report.errors.len()
        ),
    )
    .with_details(serde_json::to_value(shown).unwrap_or_default())
}
