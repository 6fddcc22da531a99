//! Loads the demo county into an empty database through the same code paths as the API.

pub mod data;
pub mod scale;

use crate::audit::Actor;
use crate::auth::{Caller, Role, Scope};
use crate::cases::{
    self, lifecycle::Action as CaseAction, service::ActionRequest, workdays::Calendar,
};
use crate::db::{Db, DbConn, write_transaction};
use crate::error::ApiResult;
use crate::households::service::{self, NewHousehold};
use crate::households::{LabourCapacity, MemberInput, Relation, Student};
use crate::jurisdictions::api::insert_node;
use crate::jurisdictions::{self, Kind};
use crate::scoring::store::SchemeCache;
use crate::users::api::{CreateUser, create_user};

/// The demo's one password; printed on start, never used outside the demo.
pub const DEMO_PASSWORD: &str = "dibao-demo-2026";
const SEED: u64 = 421083;

/// A demo account to print.
#[derive(Debug, Clone)]
pub struct Login {
    pub username: String,
    pub role: Role,
    pub jurisdiction: String,
}

/// Seeds the demo when the database has no jurisdictions yet; returns the logins it made.
pub fn seed_if_empty(db: &Db) -> anyhow::Result<Option<Vec<Login>>> {
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    if !database_is_empty(&mut conn)? {
        return Ok(None);
    }
    seed(&mut conn)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("demo seeding failed: {e}"))
}

/// No jurisdictions yet: the only database a county is loaded into.
fn database_is_empty(conn: &mut DbConn) -> anyhow::Result<bool> {
    Ok(
        jurisdictions::store::list(conn, &Scope::everything(), &Default::default(), None, 1)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_empty(),
    )
}

/// Seeds the demo county in one transaction.
pub fn seed(conn: &mut DbConn) -> ApiResult<Vec<Login>> {
    write_transaction(conn, |conn| {
        let county = data::demo_county(SEED);
        let actor = Actor::system("demo");
        let everything = Scope::everything();
        for j in &county.jurisdictions {
            insert_jurisdiction(conn, &actor, j)?;
        }
        let county_code = "421083000000";
        let first_township = county
            .jurisdictions
            .iter()
            .find(|j| j.kind == "township")
            .map(|j| j.code.clone())
            .unwrap_or_default();
        let villages: Vec<_> = county
            .jurisdictions
            .iter()
            .filter(|j| j.kind == "village")
            .collect();
        let mut logins = Vec::new();
        let mut add_user = |conn: &mut DbConn,
                            username: String,
                            name: &str,
                            role: Role,
                            code: &str|
         -> ApiResult<String> {
            let (id, login) = demo_user(conn, &actor, username, name, role, code)?;
            logins.push(login);
            Ok(id)
        };
        add_user(conn, "admin".into(), "系统管理员", Role::Admin, county_code)?;
        add_user(
            conn,
            "county".into(),
            "洪湖市民政局 王科长",
            Role::CountyOfficer,
            county_code,
        )?;
        let reviewer = add_user(
            conn,
            "reviewer".into(),
            "峰口镇民政办 李审核",
            Role::TownshipReviewer,
            &first_township,
        )?;
        let mut workers = std::collections::HashMap::new();
        for (i, village) in villages.iter().enumerate() {
            let id = add_user(
                conn,
                format!("coord{:02}", i + 1),
                &format!("{}协理员", village.name),
                Role::Coordinator,
                &village.code,
            )?;
            workers.insert(village.code.clone(), id);
        }
        // The DOMAIN.md default scheme is the demo county's scheme in force.
        let county_row = jurisdictions::store::find(conn, &everything, county_code)?
            .ok_or_else(|| crate::error::ApiError::internal("demo county missing"))?;
        crate::scoring::service::publish(
            conn,
            &actor,
            &county_row,
            crate::scoring::DEFAULT_SCHEME,
            true,
        )?;
        let mut created: Vec<(String, String)> = Vec::new();
        for h in county.households {
            let members = h
                .members
                .iter()
                .map(|m| member_input(m).validate())
                .collect::<ApiResult<Vec<_>>>()?;
            let village = h.village_code.clone();
            let id = service::create_household(
                conn,
                &actor,
                &everything,
                NewHousehold {
                    responsible_worker_id: workers.get(&h.village_code).cloned(),
                    village_code: h.village_code,
                    reference: Some(h.reference),
                    head_name: h.head_name,
                    address: h.address,
                    urban: h.urban,
                    location: Some(crate::households::Location {
                        lat: h.lat,
                        lon: h.lon,
                    }),
                    phone: Some(h.phone),
                    members,
                },
            )?;
            created.push((village, id));
        }
        open_demo_cases(conn, &reviewer, &first_township, &created)?;
        // Print one coordinator; the others follow the same pattern (coord01 … coord10).
        logins.truncate(4);
        Ok(logins)
    })
}

/// In each village of the reviewer's township, the three newest households have applied:
/// two are accepted and waiting for the coordinator's visit, one waits at the window. The
/// cases go through the same service as the API, as the demo reviewer.
fn open_demo_cases(
    conn: &mut DbConn,
    reviewer_id: &str,
    township: &str,
    households: &[(String, String)],
) -> ApiResult<()> {
    let node = jurisdictions::store::find(conn, &Scope::everything(), township)?
        .ok_or_else(|| crate::error::ApiError::internal("demo township missing"))?;
    let reviewer = Caller {
        user_id: reviewer_id.to_owned(),
        username: "reviewer".into(),
        role: Role::TownshipReviewer,
        jurisdiction_code: node.code.clone(),
        session_id: "demo".into(),
        scope: Scope::of_path(&node.path),
        request_id: None,
    };
    let calendar = Calendar::china_default();
    let schemes = SchemeCache::default();
    let villages: Vec<String> = jurisdictions::store::list(
        conn,
        &reviewer.scope,
        &jurisdictions::store::Filter {
            kind: Some(Kind::Village.as_str().into()),
            ..Default::default()
        },
        None,
        100,
    )?
    .into_iter()
    .map(|v| v.code)
    .collect();
    for village in villages {
        let newest = households
            .iter()
            .filter(|(v, _)| *v == village)
            .rev()
            .take(3);
        for (i, (_, household)) in newest.enumerate() {
            let case = cases::service::open(conn, &calendar, &reviewer, household)?;
            let steps: &[CaseAction] = if i < 2 {
                &[CaseAction::Accept, CaseAction::Assign]
            } else {
                &[]
            };
            for action in steps {
                let request = ActionRequest {
                    action: *action,
                    reason_code: None,
                    reason: None,
                    redo: None,
                    assessment_id: None,
                    acknowledged_flags: Vec::new(),
                    coordinator_id: None,
                    overturn_reason: None,
                };
                cases::service::act(conn, &calendar, &schemes, &reviewer, &case.id, &request)?;
            }
        }
    }
    Ok(())
}

/// A demo member as the API would receive it.
fn member_input(m: &data::DemoMember) -> MemberInput {
    MemberInput {
        name: m.name.clone(),
        id_number: m.id_number.clone(),
        relation: Relation::parse(m.relation).unwrap_or(Relation::Other),
        labour_capacity: LabourCapacity::parse(m.labour_capacity).unwrap_or(LabourCapacity::Full),
        disability_grade: m.disability_grade,
        chronic_illness: m.chronic_illness,
        student: Student::parse(m.student).unwrap_or(Student::None),
    }
}

/// Creates an account with the demo password; returns its id and the line to print.
fn demo_user(
    conn: &mut DbConn,
    actor: &Actor,
    username: String,
    display_name: &str,
    role: Role,
    code: &str,
) -> ApiResult<(String, Login)> {
    let user = create_user(
        conn,
        actor,
        &Scope::everything(),
        &CreateUser {
            username: username.clone(),
            display_name: display_name.to_owned(),
            role,
            jurisdiction_code: code.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
        },
    )?;
    let login = Login {
        username,
        role,
        jurisdiction: user.jurisdiction_name,
    };
    Ok((user.id, login))
}

fn insert_jurisdiction(
    conn: &mut DbConn,
    actor: &Actor,
    j: &data::DemoJurisdiction,
) -> ApiResult<()> {
    let parent = match &j.parent_code {
        Some(code) => jurisdictions::store::find(conn, &Scope::everything(), code)?,
        None => None,
    };
    let kind = Kind::parse(j.kind).unwrap_or(Kind::Village);
    let boundary = j.boundary.as_ref().map(|b| b.to_string());
    insert_node(
        conn,
        actor,
        parent.as_ref(),
        j.code.clone(),
        kind,
        j.name.clone(),
        boundary,
    )?;
    Ok(())
}
