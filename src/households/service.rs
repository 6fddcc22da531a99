//! Household writes shared by the API and the CSV import: resolve and check references
//! inside the caller's scope, enforce one person → one active household, write, audit.

use chrono::NaiveDateTime;

use super::id_number::IdNumber;
use super::store::{self, HouseholdRow};
use super::{Location, Member, check_member_set, field_error};
use crate::audit::{self, Actor, Event};
use crate::auth::{Role, Scope};
use crate::db::{DbConn, is_unique_violation};
use crate::error::{ApiError, ApiResult};
use crate::jurisdictions::boundary::Boundary;
use crate::jurisdictions::store::Jurisdiction;
use crate::jurisdictions::{self, Kind, common_ancestor};
use crate::privacy::mask_phone;

/// A village inside the scope, or a 422 naming the field.
pub fn resolve_village(conn: &mut DbConn, scope: &Scope, code: &str) -> ApiResult<Jurisdiction> {
    jurisdictions::store::find(conn, scope, code)?
        .filter(|j| j.kind == Kind::Village.as_str())
        .ok_or_else(|| {
            field_error(
                "village_code",
                "village_not_found",
                format!("No village {code} in your jurisdiction"),
                format!("您的辖区内没有编码为 {code} 的村/社区"),
            )
        })
}

/// A registered location must lie inside the village boundary, when the village has one.
pub fn check_location(village: &Jurisdiction, location: Location) -> ApiResult<()> {
    let Some(geojson) = village.boundary.as_deref() else {
        return Ok(());
    };
    let inside = serde_json::from_str(geojson)
        .ok()
        .and_then(|value| Boundary::from_geojson(&value).ok())
        .is_none_or(|boundary| boundary.contains(location.lat, location.lon));
    if inside {
        Ok(())
    } else {
        Err(field_error(
            "location",
            "location_outside_village",
            format!("The location is outside the boundary of {}", village.name),
            format!("该位置不在{}的边界范围内", village.name),
        ))
    }
}

/// The responsible worker: a live coordinator or township reviewer whose node covers the village.
pub fn resolve_worker(
    conn: &mut DbConn,
    scope: &Scope,
    worker_id: &str,
    village: &Jurisdiction,
) -> ApiResult<String> {
    let fits = crate::users::store::find(conn, scope, worker_id)?.filter(|(user, path)| {
        matches!(user.role, Role::Coordinator | Role::TownshipReviewer)
            && !user.disabled
            && village.path.starts_with(path.as_str())
    });
    match fits {
        Some((user, _)) => Ok(user.id),
        None => Err(field_error(
            "responsible_worker_id",
            "worker_not_eligible",
            "The responsible worker must be an active coordinator or reviewer covering this village",
            "责任人必须是负责该村的在岗协理员或审核人员",
        )),
    }
}

/// One person, one active household. The 409 says where the other household is only as far
/// as the caller may see: the village when it is inside their jurisdiction, otherwise the
/// nearest node they share (their own county, say), otherwise nothing.
pub fn ensure_not_active_elsewhere(
    conn: &mut DbConn,
    scope: &Scope,
    id_number: &IdNumber,
    own_household: Option<&str>,
) -> ApiResult<()> {
    let Some((household_id, village_path)) = store::active_holder(conn, id_number.as_str())? else {
        return Ok(());
    };
    if Some(household_id.as_str()) == own_household {
        return Ok(());
    }
    Err(duplicate_conflict(
        conn,
        scope,
        id_number,
        &household_id,
        &village_path,
    )?)
}

fn duplicate_conflict(
    conn: &mut DbConn,
    scope: &Scope,
    id_number: &IdNumber,
    household_id: &str,
    village_path: &str,
) -> ApiResult<ApiError> {
    let masked = id_number.masked();
    let (details, where_en, where_zh) = if scope.contains(village_path) {
        let village_code = jurisdictions::path_codes(village_path)
            .last()
            .unwrap_or_default();
        let name = jurisdictions::store::name_of(conn, village_code)?.unwrap_or_default();
        (
            serde_json::json!({ "id_number": masked, "household_id": household_id, "village_code": village_code, "village_name": name }),
            format!("in household {household_id} of {name}"),
            format!("{name}的另一户（{household_id}）"),
        )
    } else if let Some(shared) = common_ancestor(scope.root_path(), village_path) {
        let name = jurisdictions::store::name_of(conn, shared)?.unwrap_or_default();
        (
            serde_json::json!({ "id_number": masked, "within_code": shared, "within_name": name }),
            format!("in a household elsewhere in {name}, outside your jurisdiction"),
            format!("{name}范围内您辖区以外的另一户"),
        )
    } else {
        (
            serde_json::json!({ "id_number": masked }),
            "in a household in another region".to_owned(),
            "其他地区的另一户".to_owned(),
        )
    };
    Ok(ApiError::conflict(
        "id_number_active_elsewhere",
        format!("The person {masked} is already an active member {where_en}; one person can belong to only one household"),
        format!("身份证号 {masked} 已是{where_zh}的在册成员，同一人只能属于一户（避免重复救助）"),
    )
    .with_details(details))
}

/// A concurrent insert of the same person lost the race on the unique index.
fn map_duplicate_race(err: diesel::result::Error) -> ApiError {
    if is_unique_violation(&err) {
        ApiError::conflict(
            "id_number_active_elsewhere",
            "This person was just registered in another household",
            "此人刚刚已被登记到另一户",
        )
    } else {
        err.into()
    }
}

/// A validated household to create.
pub struct NewHousehold {
    pub village_code: String,
    pub reference: Option<String>,
    pub head_name: String,
    pub address: String,
    pub urban: bool,
    pub location: Option<Location>,
    pub phone: Option<String>,
    pub responsible_worker_id: Option<String>,
    pub members: Vec<Member>,
}

/// Creates a household with its members; returns its id.
pub fn create_household(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    input: NewHousehold,
) -> ApiResult<String> {
    check_member_set(&input.members)?;
    let village = resolve_village(conn, scope, &input.village_code)?;
    if let Some(location) = input.location {
        check_location(&village, location)?;
    }
    let worker = input
        .responsible_worker_id
        .as_deref()
        .map(|w| resolve_worker(conn, scope, w, &village))
        .transpose()?;
    if let Some(reference) = &input.reference
        && store::find_by_reference(conn, &village.code, reference)?.is_some()
    {
        return Err(field_error(
            "reference",
            "household_reference_taken",
            "This village already has a household with that reference",
            "本村已有相同户编号的家庭",
        )
        .with_kind_conflict());
    }
    for member in &input.members {
        ensure_not_active_elsewhere(conn, scope, &member.id_number, None)?;
    }
    let at = audit::store::now();
    let row = HouseholdRow {
        id: uuid::Uuid::now_v7().to_string(),
        village_code: village.code,
        reference: input.reference,
        head_name: input.head_name,
        address: input.address,
        urban: input.urban,
        lat: input.location.map(|l| l.lat),
        lon: input.location.map(|l| l.lon),
        phone: input.phone,
        responsible_worker_id: worker,
        active: true,
        created_at: at,
        updated_at: at,
    };
    store::insert_household(conn, &row)?;
    for member in &input.members {
        insert_member(conn, &row.id, member, at)?;
    }
    audit::store::append(
        conn,
        actor,
        Event {
            action: "household.create",
            target_type: "household",
            target_id: &row.id,
            summary: serde_json::json!({ "after": household_summary(&row, input.members.len()) }),
        },
    )?;
    Ok(row.id)
}

fn insert_member(
    conn: &mut DbConn,
    household_id: &str,
    member: &Member,
    at: NaiveDateTime,
) -> ApiResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    store::insert_member(conn, &id, household_id, member, at).map_err(map_duplicate_race)?;
    Ok(id)
}

/// Adds one member to an existing household (the household already resolved in scope).
pub fn add_member(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    household_id: &str,
    member: &Member,
) -> ApiResult<String> {
    let current = store::active_members(conn, household_id)?;
    if current
        .iter()
        .any(|m| m.id_number == member.id_number.as_str())
    {
        return Err(field_error(
            "id_number",
            "member_exists",
            "This person is already a member of this household",
            "此人已是本户成员",
        )
        .with_kind_conflict());
    }
    ensure_not_active_elsewhere(conn, scope, &member.id_number, Some(household_id))?;
    if member.relation == super::Relation::Head && current.iter().any(|m| m.relation == "head") {
        return Err(field_error(
            "relation",
            "household_head_count",
            "This household already has a head",
            "本户已有户主",
        ));
    }
    let id = insert_member(conn, household_id, member, audit::store::now())?;
    audit::store::append(
        conn,
        actor,
        Event {
            action: "member.add",
            target_type: "household",
            target_id: household_id,
            summary: serde_json::json!({ "after": member_summary(member) }),
        },
    )?;
    Ok(id)
}

/// What the audit log keeps of a member: no full ID number.
pub fn member_summary(member: &Member) -> serde_json::Value {
    serde_json::json!({
        "name": member.name,
        "id_number": member.id_number.masked(),
        "relation": member.relation.as_str(),
        "labour_capacity": member.labour_capacity.as_str(),
        "disability_grade": member.disability_grade,
        "chronic_illness": member.chronic_illness,
        "student": member.student.as_str(),
    })
}

/// What the audit log keeps of a household: no full phone number.
pub fn household_summary(row: &HouseholdRow, members: usize) -> serde_json::Value {
    serde_json::json!({
        "village_code": row.village_code,
        "reference": row.reference,
        "head_name": row.head_name,
        "address": row.address,
        "urban": row.urban,
        "location": row.lat.zip(row.lon),
        "phone": row.phone.as_deref().map(mask_phone),
        "responsible_worker_id": row.responsible_worker_id,
        "active": row.active,
        "members": members,
    })
}
