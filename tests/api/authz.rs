//! The authorization matrix: every operation of the served OpenAPI document × every role (and
//! no token) × a target inside and one outside the caller's jurisdiction.
//!
//! The rules the table encodes:
//! - No token: 401 on every protected operation; public operations never answer 401/403.
//! - A role the row does not list is refused: 403, or the row's `outside` status where the
//!   handler looks the target up inside the caller's subtree before it checks the role.
//! - A listed role on a target inside its jurisdiction gets through: anything but 401, 403,
//!   a 5xx or the row's refusal status (so a hidden-404 row cannot pass on a wrong path).
//!   Writes use bodies that fail after the check (a 409 or 422) or change nothing.
//! - A listed role on a target outside gets exactly the row's refusal: 403 where the code
//!   says "not yours", 404 where lookups run inside the caller's subtree so that another
//!   village's data looks absent, 422 where the outside node is named in the body.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    CAOSHI, COUNTY, FENGKOU, PASSWORD, Resp, TestApp, fresh_id, member, spawn_app_seeded,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Coordinator,
    Reviewer,
    County,
    Admin,
}
use Who::*;

const ROLES: [Who; 4] = [Coordinator, Reviewer, County, Admin];
const ANY: &[Who] = &ROLES;
const STAFF_ABOVE_VILLAGE: &[Who] = &[Reviewer, County, Admin];
const COUNTY_LEVEL: &[Who] = &[County, Admin];
const TOWNSHIP_AND_ADMIN: &[Who] = &[Reviewer, Admin];

impl Who {
    fn username(self) -> &'static str {
        match self {
            Coordinator => "coord01",
            Reviewer => "reviewer",
            County => "county",
            Admin => "admin",
        }
    }
}

/// How a target outside the caller's jurisdiction is refused.
#[derive(Debug, Clone, Copy)]
enum Outside {
    /// No jurisdiction target (the caller's own session, a public endpoint, an id only its
    /// owner can see, or a made-up id); the reason says why, or which test covers the scope.
    NoTarget(&'static str),
    Status(u16),
    /// A listing or lookup answers 200 with nothing from outside (no outside id in the body).
    Filtered,
}
const FORBIDDEN: Outside = Outside::Status(403);
const HIDDEN: Outside = Outside::Status(404);
/// The outside node is named in the body and not found in the caller's subtree.
const HIDDEN_IN_BODY: Outside = Outside::Status(422);

/// The demo data one request is aimed at: all of it in one village (inside), or outside the
/// caller's jurisdiction.
#[derive(Debug, Clone)]
struct Target {
    village: String,
    township: String,
    county: String,
    /// A household with an open case in `applied`.
    household: String,
    head_id: String,
    /// The head as a member body: sending it back changes nothing.
    head: Value,
    case: String,
    /// An account bound inside this area.
    user: String,
    /// An assessment of `household`.
    assessment: String,
    /// A submitted visit (of another household of the village), one of its photos and its
    /// signature.
    visit: String,
    photo: String,
    signature: String,
    /// A public notice of a case in the township.
    notice: String,
}

/// What every request may refer to besides its target.
struct Fixture {
    admin_id: String,
    /// Someone active in another household, so adding them is a 409 after the checks.
    active_elsewhere: String,
    draw: String,
    thresholds: Value,
    recheck: Value,
}

#[derive(Default)]
struct Req {
    path: String,
    json: Option<Value>,
    raw: Option<(&'static str, Vec<u8>)>,
    headers: Vec<(&'static str, String)>,
    /// Log in afresh for this request (it ends the session).
    own_session: bool,
}

fn at(path: String) -> Req {
    Req {
        path,
        ..Req::default()
    }
}

fn with_json(path: String, body: Value) -> Req {
    Req {
        path,
        json: Some(body),
        ..Req::default()
    }
}

struct Row {
    method: &'static str,
    path: &'static str,
    /// `None`: public.
    may: Option<&'static [Who]>,
    outside: Outside,
    build: fn(&Fixture, &Target) -> Req,
}

const fn row(
    method: &'static str,
    path: &'static str,
    may: &'static [Who],
    outside: Outside,
    build: fn(&Fixture, &Target) -> Req,
) -> Row {
    Row {
        method,
        path,
        may: Some(may),
        outside,
        build,
    }
}

const fn public(
    method: &'static str,
    path: &'static str,
    build: fn(&Fixture, &Target) -> Req,
) -> Row {
    Row {
        method,
        path,
        may: None,
        outside: Outside::NoTarget("public"),
        build,
    }
}

/// Uploads are found only for their uploader: uploads::the_tus_protocol_is_discoverable_and_enforced.
const UPLOADER_ONLY: &str =
    "an upload belongs to its uploader (uploads::the_tus_protocol_is_discoverable_and_enforced)";
const MADE_UP: &str = "00000000-0000-7000-8000-000000000000";
const DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn answers() -> Value {
    crate::visits::answers()
}

fn visit_for(household: &str) -> Value {
    let now = chrono::Utc::now();
    json!({
        "visit_id": uuid::Uuid::new_v4(),
        "household_id": household,
        "scheme_version": 1,
        "started_at": (now - chrono::Duration::minutes(90)).to_rfc3339(),
        "ended_at": (now - chrono::Duration::minutes(30)).to_rfc3339(),
        "location_fix": { "lat": 29.9, "lon": 113.5, "accuracy_m": 6.0, "provider": "gps", "mock": false },
        "staff": [{ "user_id": "self" }, { "name": "王村主任", "role": "village_cadre" }],
        "answers": answers(),
        "photos": [],
    })
}

fn draw_period() -> Value {
    json!({ "from": "2001-01-01", "to": "2001-01-31", "seed": 7 })
}

/// One row per operation of the OpenAPI document.
fn table() -> Vec<Row> {
    vec![
        public("get", "/healthz", |_, _| at("/healthz".into())),
        public("get", "/readyz", |_, _| at("/readyz".into())),
        public("post", "/api/v1/auth/login", |_, _| {
            with_json(
                "/api/v1/auth/login".into(),
                json!({ "username": "nobody", "password": "x" }),
            )
        }),
        public("post", "/api/v1/auth/refresh", |_, _| {
            with_json(
                "/api/v1/auth/refresh".into(),
                json!({ "refresh_token": "never-issued" }),
            )
        }),
        public("options", "/api/v1/uploads", |_, _| {
            at("/api/v1/uploads".into())
        }),
        row(
            "post",
            "/api/v1/auth/logout",
            ANY,
            Outside::NoTarget("the caller's own session"),
            |_, _| Req {
                own_session: true,
                ..at("/api/v1/auth/logout".into())
            },
        ),
        row(
            "get",
            "/api/v1/auth/me",
            ANY,
            Outside::NoTarget("the caller's own account"),
            |_, _| at("/api/v1/auth/me".into()),
        ),
        // Users: reading from the township up, managing by admins only.
        row(
            "get",
            "/api/v1/users",
            STAFF_ABOVE_VILLAGE,
            Outside::Filtered,
            |_, t| {
                at(format!(
                    "/api/v1/users?jurisdiction={}&limit=200",
                    t.village
                ))
            },
        ),
        row("post", "/api/v1/users", &[Admin], HIDDEN_IN_BODY, |_, t| {
            // The name is taken (409) once the jurisdiction is found in the caller's subtree.
            with_json(
                "/api/v1/users".into(),
                json!({
                    "username": "coord01", "display_name": "重名", "role": "coordinator",
                    "jurisdiction_code": t.village, "password": PASSWORD,
                }),
            )
        }),
        row(
            "get",
            "/api/v1/users/{id}",
            STAFF_ABOVE_VILLAGE,
            HIDDEN,
            |_, t| at(format!("/api/v1/users/{}", t.user)),
        ),
        row("patch", "/api/v1/users/{id}", &[Admin], HIDDEN, |_, t| {
            with_json(format!("/api/v1/users/{}", t.user), json!({}))
        }),
        row("delete", "/api/v1/users/{id}", &[Admin], HIDDEN, |f, t| {
            // Inside: the admin's own account (409 cannot_delete_self); outside: someone there.
            let id = if t.county == COUNTY {
                &f.admin_id
            } else {
                &t.user
            };
            at(format!("/api/v1/users/{id}"))
        }),
        // Jurisdictions.
        row(
            "get",
            "/api/v1/jurisdictions",
            ANY,
            Outside::Filtered,
            |_, t| {
                at(format!(
                    "/api/v1/jurisdictions?parent={}&limit=200",
                    t.township
                ))
            },
        ),
        row(
            "post",
            "/api/v1/jurisdictions",
            &[Admin],
            HIDDEN_IN_BODY,
            |_, t| {
                // Inside: the code is taken (409); outside: the parent is not found (422).
                let code = if t.county == COUNTY {
                    t.village.clone()
                } else {
                    "421087100299".into()
                };
                with_json(
                    "/api/v1/jurisdictions".into(),
                    json!({
                        "code": code, "parent_code": t.township, "kind": "village", "name": "重码村",
                    }),
                )
            },
        ),
        row(
            "get",
            "/api/v1/jurisdictions/{code}",
            ANY,
            HIDDEN,
            |_, t| at(format!("/api/v1/jurisdictions/{}", t.village)),
        ),
        row(
            "patch",
            "/api/v1/jurisdictions/{code}",
            &[Admin],
            HIDDEN,
            |_, t| with_json(format!("/api/v1/jurisdictions/{}", t.village), json!({})),
        ),
        row(
            "delete",
            "/api/v1/jurisdictions/{code}",
            &[Admin],
            HIDDEN,
            |_, t| {
                // It holds households: 409.
                at(format!("/api/v1/jurisdictions/{}", t.village))
            },
        ),
        // County settings: read from below (inherited), changed by the county.
        row(
            "get",
            "/api/v1/jurisdictions/{code}/confirmation-delegation",
            ANY,
            HIDDEN,
            |_, t| {
                at(format!(
                    "/api/v1/jurisdictions/{}/confirmation-delegation",
                    t.county
                ))
            },
        ),
        row(
            "put",
            "/api/v1/jurisdictions/{code}/confirmation-delegation",
            COUNTY_LEVEL,
            HIDDEN,
            |_, t| {
                with_json(
                    format!("/api/v1/jurisdictions/{}/confirmation-delegation", t.county),
                    json!({ "delegated": false, "effective_from": "2099-01-01" }),
                )
            },
        ),
        row(
            "get",
            "/api/v1/jurisdictions/{code}/evidence-thresholds",
            ANY,
            HIDDEN,
            |_, t| {
                at(format!(
                    "/api/v1/jurisdictions/{}/evidence-thresholds",
                    t.county
                ))
            },
        ),
        row(
            "put",
            "/api/v1/jurisdictions/{code}/evidence-thresholds",
            COUNTY_LEVEL,
            HIDDEN,
            |f, t| {
                with_json(
                    format!("/api/v1/jurisdictions/{}/evidence-thresholds", t.county),
                    f.thresholds.clone(),
                )
            },
        ),
        row(
            "get",
            "/api/v1/jurisdictions/{code}/recheck-intervals",
            ANY,
            HIDDEN,
            |_, t| {
                at(format!(
                    "/api/v1/jurisdictions/{}/recheck-intervals",
                    t.county
                ))
            },
        ),
        row(
            "put",
            "/api/v1/jurisdictions/{code}/recheck-intervals",
            COUNTY_LEVEL,
            HIDDEN,
            |f, t| {
                with_json(
                    format!("/api/v1/jurisdictions/{}/recheck-intervals", t.county),
                    f.recheck.clone(),
                )
            },
        ),
        row(
            "get",
            "/api/v1/jurisdictions/{code}/schemes",
            ANY,
            HIDDEN,
            |_, t| at(format!("/api/v1/jurisdictions/{}/schemes", t.county)),
        ),
        row(
            "post",
            "/api/v1/jurisdictions/{code}/schemes",
            COUNTY_LEVEL,
            HIDDEN,
            |_, t| Req {
                // Not TOML: 422 once the county is found.
                raw: Some(("application/toml", b"this is [not toml".to_vec())),
                ..at(format!("/api/v1/jurisdictions/{}/schemes", t.county))
            },
        ),
        row(
            "get",
            "/api/v1/jurisdictions/{code}/schemes/{version}",
            ANY,
            HIDDEN,
            |_, t| at(format!("/api/v1/jurisdictions/{}/schemes/1", t.county)),
        ),
        row(
            "put",
            "/api/v1/jurisdictions/{code}/schemes/{version}",
            COUNTY_LEVEL,
            Outside::NoTarget(
                "published schemes never change: refused for everyone after the role check",
            ),
            |_, t| Req {
                raw: Some(("application/toml", b"x".to_vec())),
                ..at(format!("/api/v1/jurisdictions/{}/schemes/1", t.county))
            },
        ),
        row(
            "post",
            "/api/v1/jurisdictions/{code}/schemes/{version}/activate",
            COUNTY_LEVEL,
            HIDDEN,
            |_, t| {
                at(format!(
                    "/api/v1/jurisdictions/{}/schemes/1/activate",
                    t.county
                ))
            },
        ),
        // Township queue and notices.
        row(
            "get",
            "/api/v1/jurisdictions/{code}/queue",
            STAFF_ABOVE_VILLAGE,
            HIDDEN,
            |_, t| at(format!("/api/v1/jurisdictions/{}/queue", t.township)),
        ),
        row(
            "post",
            "/api/v1/jurisdictions/{code}/queue/recommend",
            &[Reviewer],
            HIDDEN,
            |_, t| {
                with_json(
                    format!("/api/v1/jurisdictions/{}/queue/recommend", t.township),
                    json!({ "case_ids": [t.case], "reason": "材料齐全" }),
                )
            },
        ),
        row(
            "post",
            "/api/v1/jurisdictions/{code}/notices",
            &[Reviewer],
            HIDDEN,
            |_, t| {
                with_json(
                    format!("/api/v1/jurisdictions/{}/notices", t.township),
                    json!({}),
                )
            },
        ),
        row(
            "get",
            "/api/v1/notices/{id}",
            ANY,
            // Inherited: a village reads its township's notices.
            Outside::Status(403),
            |_, t| at(format!("/api/v1/notices/{}", t.notice)),
        ),
        // Oversight.
        row(
            "post",
            "/api/v1/jurisdictions/{code}/spot-checks/preview",
            COUNTY_LEVEL,
            HIDDEN,
            |_, t| {
                with_json(
                    format!("/api/v1/jurisdictions/{}/spot-checks/preview", t.county),
                    draw_period(),
                )
            },
        ),
        row(
            "post",
            "/api/v1/jurisdictions/{code}/spot-checks",
            COUNTY_LEVEL,
            HIDDEN,
            |_, t| {
                with_json(
                    format!("/api/v1/jurisdictions/{}/spot-checks", t.county),
                    draw_period(),
                )
            },
        ),
        row(
            "get",
            "/api/v1/jurisdictions/{code}/spot-checks",
            COUNTY_LEVEL,
            HIDDEN,
            |_, t| at(format!("/api/v1/jurisdictions/{}/spot-checks", t.county)),
        ),
        row(
            "get",
            "/api/v1/jurisdictions/{code}/spot-checks/{id}",
            COUNTY_LEVEL,
            HIDDEN,
            |f, t| {
                at(format!(
                    "/api/v1/jurisdictions/{}/spot-checks/{}",
                    t.county, f.draw
                ))
            },
        ),
        row(
            "get",
            "/api/v1/jurisdictions/{code}/report",
            COUNTY_LEVEL,
            HIDDEN,
            |_, t| {
                at(format!(
                    "/api/v1/jurisdictions/{}/report?from=2001-01-01&to=2001-01-31",
                    t.county
                ))
            },
        ),
        row(
            "get",
            "/api/v1/jurisdictions/{code}/roll",
            STAFF_ABOVE_VILLAGE,
            HIDDEN,
            |_, t| at(format!("/api/v1/jurisdictions/{}/roll", t.village)),
        ),
        row(
            "get",
            "/api/v1/audit/verify",
            COUNTY_LEVEL,
            Outside::NoTarget("the whole audit chain"),
            |_, _| at("/api/v1/audit/verify".into()),
        ),
        // Households.
        row("get", "/api/v1/households", ANY, FORBIDDEN, |_, t| {
            at(format!("/api/v1/households?jurisdiction={}", t.village))
        }),
        row(
            "post",
            "/api/v1/households",
            TOWNSHIP_AND_ADMIN,
            HIDDEN_IN_BODY,
            |f, t| {
                // The head is active in another household: 409 once the village is authorized.
                with_json(
                    "/api/v1/households".into(),
                    json!({
                        "village_code": t.village, "head_name": "重复", "address": "洪湖市测试路1号",
                        "urban": false, "members": [member("重复", &f.active_elsewhere, "head")],
                    }),
                )
            },
        ),
        row(
            "post",
            "/api/v1/households/import",
            &[Admin],
            Outside::NoTarget(
                "each CSV row is resolved inside the caller's subtree (tests/api/import.rs)",
            ),
            |_, _| Req {
                raw: Some(("text/csv", b"not,a,household,file\n".to_vec())),
                ..at("/api/v1/households/import".into())
            },
        ),
        row("get", "/api/v1/households/{id}", ANY, HIDDEN, |_, t| {
            at(format!("/api/v1/households/{}", t.household))
        }),
        row(
            "patch",
            "/api/v1/households/{id}",
            TOWNSHIP_AND_ADMIN,
            HIDDEN,
            |_, t| with_json(format!("/api/v1/households/{}", t.household), json!({})),
        ),
        row(
            "delete",
            "/api/v1/households/{id}",
            TOWNSHIP_AND_ADMIN,
            HIDDEN,
            |_, t| {
                // It has an open case: 409.
                at(format!("/api/v1/households/{}", t.household))
            },
        ),
        row(
            "post",
            "/api/v1/households/{id}/members",
            TOWNSHIP_AND_ADMIN,
            HIDDEN,
            |f, t| {
                with_json(
                    format!("/api/v1/households/{}/members", t.household),
                    member("重复", &f.active_elsewhere, "other"),
                )
            },
        ),
        row(
            "patch",
            "/api/v1/households/{id}/members/{member_id}",
            TOWNSHIP_AND_ADMIN,
            HIDDEN,
            |_, t| {
                with_json(
                    format!("/api/v1/households/{}/members/{}", t.household, t.head_id),
                    t.head.clone(),
                )
            },
        ),
        row(
            "delete",
            "/api/v1/households/{id}/members/{member_id}",
            TOWNSHIP_AND_ADMIN,
            HIDDEN,
            |_, t| {
                // The head cannot be removed: 409.
                at(format!(
                    "/api/v1/households/{}/members/{}",
                    t.household, t.head_id
                ))
            },
        ),
        row(
            "post",
            "/api/v1/members/lookup",
            ANY,
            Outside::Filtered,
            |_, t| {
                with_json(
                    "/api/v1/members/lookup".into(),
                    json!({ "id_number": t.head["id_number"] }),
                )
            },
        ),
        // Assessments.
        row(
            "get",
            "/api/v1/households/{id}/assessments",
            ANY,
            HIDDEN,
            |_, t| at(format!("/api/v1/households/{}/assessments", t.household)),
        ),
        row(
            "post",
            "/api/v1/households/{id}/assessments",
            TOWNSHIP_AND_ADMIN,
            HIDDEN,
            |_, t| {
                with_json(
                    format!("/api/v1/households/{}/assessments", t.household),
                    json!({ "answers": answers() }),
                )
            },
        ),
        row(
            "post",
            "/api/v1/households/{id}/assessments/preview",
            ANY,
            HIDDEN,
            |_, t| {
                with_json(
                    format!("/api/v1/households/{}/assessments/preview", t.household),
                    json!({ "answers": answers() }),
                )
            },
        ),
        row("get", "/api/v1/assessments/{id}", ANY, HIDDEN, |_, t| {
            at(format!("/api/v1/assessments/{}", t.assessment))
        }),
        // Photos and visits.
        row(
            "post",
            "/api/v1/uploads",
            ANY,
            Outside::NoTarget(UPLOADER_ONLY),
            |_, _| Req {
                // No Upload-Length: 400 after the role check.
                headers: vec![("Tus-Resumable", "1.0.0".into())],
                ..at("/api/v1/uploads".into())
            },
        ),
        row(
            "head",
            "/api/v1/uploads/{id}",
            ANY,
            Outside::NoTarget(UPLOADER_ONLY),
            |_, _| Req {
                headers: vec![("Tus-Resumable", "1.0.0".into())],
                ..at(format!("/api/v1/uploads/{MADE_UP}"))
            },
        ),
        row(
            "patch",
            "/api/v1/uploads/{id}",
            ANY,
            Outside::NoTarget(UPLOADER_ONLY),
            |_, _| Req {
                headers: vec![
                    ("Tus-Resumable", "1.0.0".into()),
                    ("Upload-Offset", "0".into()),
                ],
                raw: Some(("application/offset+octet-stream", vec![0xff, 0xd8])),
                ..at(format!("/api/v1/uploads/{MADE_UP}"))
            },
        ),
        row(
            "head",
            "/api/v1/photos/{digest}",
            ANY,
            Outside::NoTarget(
                "answers only whether these bytes are stored, so a phone skips a re-send",
            ),
            |_, _| at(format!("/api/v1/photos/{DIGEST}")),
        ),
        row(
            "get",
            "/api/v1/assignments",
            &[Coordinator, County, Admin],
            Outside::NoTarget("the caller's own assignments"),
            |_, _| at("/api/v1/assignments".into()),
        ),
        row(
            "post",
            "/api/v1/visits",
            &[Coordinator, County, Admin],
            HIDDEN,
            |_, t| {
                // Its case is still at the window, so no visit is due: 409 after the checks.
                with_json("/api/v1/visits".into(), visit_for(&t.household))
            },
        ),
        row("get", "/api/v1/visits/{id}", ANY, HIDDEN, |_, t| {
            at(format!("/api/v1/visits/{}", t.visit))
        }),
        row(
            "get",
            "/api/v1/visits/{id}/photos/{digest}/{size}",
            ANY,
            HIDDEN,
            |_, t| {
                at(format!(
                    "/api/v1/visits/{}/photos/{}/thumbnail",
                    t.visit, t.photo
                ))
            },
        ),
        row(
            "get",
            "/api/v1/visits/{id}/signatures/{digest}",
            ANY,
            HIDDEN,
            |_, t| {
                at(format!(
                    "/api/v1/visits/{}/signatures/{}",
                    t.visit, t.signature
                ))
            },
        ),
        // Cases: who may take which step is the lifecycle table's call; these rows use an
        // `applied` case, where only the township acts.
        row("get", "/api/v1/cases", ANY, Outside::Filtered, |_, _| {
            at("/api/v1/cases?state=applied&limit=200".into())
        }),
        row(
            "post",
            "/api/v1/cases",
            TOWNSHIP_AND_ADMIN,
            HIDDEN,
            |_, t| {
                // Already has an open case: 409.
                with_json(
                    "/api/v1/cases".into(),
                    json!({ "household_id": t.household }),
                )
            },
        ),
        row("get", "/api/v1/cases/counts", ANY, HIDDEN, |_, t| {
            at(format!("/api/v1/cases/counts?jurisdiction={}", t.village))
        }),
        row("get", "/api/v1/cases/{id}", ANY, FORBIDDEN, |_, t| {
            at(format!("/api/v1/cases/{}", t.case))
        }),
        row(
            "post",
            "/api/v1/cases/{id}/actions",
            &[Reviewer],
            FORBIDDEN,
            |_, t| {
                // Rejecting needs a reason code: 422 after the role and scope checks.
                with_json(
                    format!("/api/v1/cases/{}/actions", t.case),
                    json!({ "action": "reject" }),
                )
            },
        ),
        row(
            "post",
            "/api/v1/cases/{id}/claim",
            &[Reviewer],
            FORBIDDEN,
            |_, t| {
                // Not in the queue yet: 409.
                at(format!("/api/v1/cases/{}/claim", t.case))
            },
        ),
        row(
            "delete",
            "/api/v1/cases/{id}/claim",
            ANY,
            FORBIDDEN,
            |_, t| {
                // Nobody holds a claim: 409.
                at(format!("/api/v1/cases/{}/claim", t.case))
            },
        ),
        row(
            "get",
            "/api/v1/cases/{id}/letter",
            ANY,
            FORBIDDEN,
            |_, t| {
                // No decision yet: 409.
                at(format!("/api/v1/cases/{}/letter", t.case))
            },
        ),
        row(
            "post",
            "/api/v1/cases/{id}/objections",
            &[Reviewer, County],
            FORBIDDEN,
            |_, t| {
                // Not on notice: 409.
                with_json(
                    format!("/api/v1/cases/{}/objections", t.case),
                    json!({ "objector_name": "村民", "content": "收入不实" }),
                )
            },
        ),
        row(
            "post",
            "/api/v1/cases/{id}/objections/{objection_id}/resolution",
            &[Reviewer],
            FORBIDDEN,
            |_, t| {
                // No such objection: 404 (a case refusal is 403, so this 404 is a pass).
                with_json(
                    format!("/api/v1/cases/{}/objections/{MADE_UP}/resolution", t.case),
                    json!({ "outcome": "unfounded", "note": "查无实据" }),
                )
            },
        ),
        row(
            "post",
            "/api/v1/cases/{id}/appraisals",
            &[Reviewer],
            FORBIDDEN,
            |_, t| {
                // Not due in `applied`: 409.
                with_json(
                    format!("/api/v1/cases/{}/appraisals", t.case),
                    json!({ "held_on": "2025-01-01", "panel_size": 15, "present": 12, "votes_for": 10 }),
                )
            },
        ),
    ]
}

/// The demo county plus a city-level admin, who builds a second county (松滋市) through the
/// API so that county officers and admins have something outside their jurisdiction.
async fn spawn() -> TestApp {
    spawn_app_seeded(|conn| {
        let logins = dibao::demo::seed(conn).expect("the demo county seeds");
        dibao::users::api::create_user(
            conn,
            &dibao::audit::Actor::system("test"),
            &dibao::auth::Scope::everything(),
            &dibao::users::api::CreateUser {
                username: "cityadmin".into(),
                display_name: "荆州市管理员".into(),
                role: dibao::auth::Role::Admin,
                jurisdiction_code: "421000000000".into(),
                password: PASSWORD.into(),
            },
        )
        .expect("the city admin is created");
        logins
    })
    .await
}

async fn target(app: &TestApp, token: &str, case: &Value, user: &str, county: &str) -> Target {
    let household = case["household_id"].as_str().expect("household").to_owned();
    let view = app
        .get(&format!("/api/v1/households/{household}"), token)
        .await
        .expect(200)
        .clone();
    let head = view["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["relation"] == "head")
        .expect("a head")
        .clone();
    let head_body = json!({
        "name": head["name"], "id_number": head["id_number"], "relation": "head",
        "labour_capacity": head["labour_capacity"], "disability_grade": head["disability_grade"],
        "chronic_illness": head["chronic_illness"], "student": head["student"],
    });
    Target {
        village: case["village_code"].as_str().expect("village").to_owned(),
        township: case["township_code"].as_str().expect("township").to_owned(),
        county: county.to_owned(),
        household,
        head_id: head["id"].as_str().expect("member id").to_owned(),
        head: head_body,
        case: case["id"].as_str().expect("case id").to_owned(),
        user: user.to_owned(),
        assessment: String::new(),
        visit: String::new(),
        photo: String::new(),
        signature: String::new(),
        notice: String::new(),
    }
}

/// The login of the coordinator whose id is `target.user`.
async fn coordinator_token(app: &TestApp, admin: &str, target: &Target) -> String {
    let user = app
        .get(&format!("/api/v1/users/{}", target.user), admin)
        .await;
    app.token(user.expect(200)["username"].as_str().expect("username"))
        .await
}

/// A township reviewer account, logged in.
async fn new_reviewer(app: &TestApp, admin: &str, username: &str, township: &str) -> String {
    created(
        app.post_json(
            "/api/v1/users",
            admin,
            &json!({
                "username": username, "display_name": "审核员", "role": "township_reviewer",
                "jurisdiction_code": township, "password": PASSWORD,
            }),
        )
        .await,
    );
    app.token(username).await
}

/// Registers one more household in the target's village (with its coordinator responsible),
/// has its reviewer send it for a visit and its coordinator submit one with clean photos and a
/// signature; returns the visit's case. The head cannot work and is severely disabled, so the
/// case may be recommended.
async fn visit_in(
    app: &TestApp,
    admin: &str,
    reviewer: &str,
    coordinator: &str,
    target: &mut Target,
    scene: u64,
) -> String {
    let mut head = member("走访户", &fresh_id(true), "head");
    head["labour_capacity"] = json!("none");
    head["disability_grade"] = json!(1);
    let household = created(
        app.post_json(
            "/api/v1/households",
            admin,
            &json!({
                "village_code": target.village, "head_name": "走访户", "address": "走访路1号",
                "urban": false, "responsible_worker_id": target.user,
                "members": [head],
            }),
        )
        .await,
    );
    let home = crate::visits::Home {
        id: household["id"].as_str().expect("id").to_owned(),
        lat: 29.9,
        lon: 113.5,
    };
    let case = crate::cases::due_for_visit_by(app, reviewer, &home.id).await;
    let photos = crate::visits::clean_photos(app, coordinator, &home, scene).await;
    let png = crate::visits::signature_png(scene as u32);
    let signature = dibao::photos::sha256_hex(&png);
    let upload = crate::uploads::create_as(app, coordinator, &signature, png.len(), "signature")
        .await
        .header("Location")
        .expect("an upload")
        .to_owned();
    crate::uploads::patch(app, coordinator, &upload, 0, &png, None)
        .await
        .expect(204);
    let mut body = crate::visits::visit(&home, &photos);
    body["signatures"] = json!([{ "digest": signature, "signer": "applicant", "name": "走访户" }]);
    let submitted = app.post_json("/api/v1/visits", coordinator, &body).await;
    target.visit = created(submitted)["id"]
        .as_str()
        .expect("visit id")
        .to_owned();
    target.photo = photos[0].0.clone();
    target.signature = signature;
    case
}

/// The reviewer recommends the visited case and publishes a notice of it in its township.
async fn put_on_notice(app: &TestApp, reviewer: &str, case: &str, township: &str) -> String {
    let claimed = crate::cases::claim(app, reviewer, case)
        .await
        .expect(200)
        .clone();
    crate::cases::act(
        app,
        reviewer,
        case,
        crate::cases::decision(&claimed, "recommend"),
    )
    .await
    .expect(200);
    crate::cases::publish_in(app, reviewer, township, 0).await["id"]
        .as_str()
        .expect("notice id")
        .to_owned()
}

/// Records an office assessment of the target's household (as someone who may).
async fn assess(app: &TestApp, token: &str, target: &mut Target) {
    let recorded = app
        .post_json(
            &format!("/api/v1/households/{}/assessments", target.household),
            token,
            &json!({ "answers": answers() }),
        )
        .await;
    target.assessment = created(recorded)["id"]
        .as_str()
        .expect("assessment id")
        .to_owned();
}

fn created(resp: Resp) -> Value {
    resp.expect(201).clone()
}

/// A county of its own (one township, one village, a household with an applied case and a
/// coordinator, the default scheme and an assessment), built by the city admin.
async fn second_county(app: &TestApp) -> Target {
    let city = app.token("cityadmin").await;
    for (code, parent, kind, name) in [
        ("421087000000", "421000000000", "county", "松滋市"),
        ("421087100000", "421087000000", "township", "新江口街道"),
        ("421087100201", "421087100000", "village", "南海村"),
    ] {
        created(
            app.post_json(
                "/api/v1/jurisdictions",
                &city,
                &json!({ "code": code, "parent_code": parent, "kind": kind, "name": name }),
            )
            .await,
        );
    }
    let household = created(
        app.post_json(
            "/api/v1/households",
            &city,
            &json!({
                "village_code": "421087100201", "head_name": "周大山", "address": "松滋市南海村1号",
                "urban": false, "members": [member("周大山", &fresh_id(true), "head")],
            }),
        )
        .await,
    );
    let case = created(
        app.post_json(
            "/api/v1/cases",
            &city,
            &json!({ "household_id": household["id"] }),
        )
        .await,
    );
    let user = created(
        app.post_json(
            "/api/v1/users",
            &city,
            &json!({
                "username": "songzi01", "display_name": "南海村协理员", "role": "coordinator",
                "jurisdiction_code": "421087100201", "password": PASSWORD,
            }),
        )
        .await,
    );
    let scheme = app
        .post_raw(
            "/api/v1/jurisdictions/421087000000/schemes",
            &city,
            Some("application/toml"),
            include_str!("../../schemes/default.toml").replace(
                "county_code = \"421083000000\"",
                "county_code = \"421087000000\"",
            ),
        )
        .await;
    created(scheme);
    let mut target = target(
        app,
        &city,
        &case,
        user["id"].as_str().expect("id"),
        "421087000000",
    )
    .await;
    assess(app, &city, &mut target).await;
    target
}

fn allowed(who: Option<Who>, row: &Row) -> bool {
    match (row.may, who) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(may), Some(who)) => may.contains(&who),
    }
}

/// The verdict on one response; `None` when it is as the table expects.
fn judge(
    row: &Row,
    who: Option<Who>,
    inside: bool,
    resp: &Resp,
    outside: &Target,
) -> Option<String> {
    let status = resp.status;
    if status >= 500 {
        return Some(format!("answered {status}"));
    }
    let refusal = match row.outside {
        Outside::Status(s) => Some(s),
        _ => None,
    };
    let ok = match (row.may, who) {
        // Public: never asks for a bearer token (a login may still refuse its credentials).
        (None, _) => status != 403 && resp.code() != "invalid_token",
        (Some(_), None) => status == 401,
        (Some(_), Some(_)) if !allowed(who, row) => {
            // A coordinator's subtree holds no township or county, so a lookup-first
            // handler refuses it with the row's refusal even for "its" township.
            status == 403 || refusal == Some(status)
        }
        _ if inside => status != 401 && status != 403 && Some(status) != refusal,
        _ => match row.outside {
            Outside::NoTarget(_) => status != 401 && status != 403,
            Outside::Status(s) => status == s,
            Outside::Filtered => {
                status == 200
                    && [
                        &outside.household,
                        &outside.case,
                        &outside.user,
                        &outside.village,
                        &outside.township,
                    ]
                    .iter()
                    .all(|id| !resp.text.contains(id.as_str()))
            }
        },
    };
    let note = match row.outside {
        Outside::NoTarget(why) => format!(" (no outside target: {why})"),
        _ => String::new(),
    };
    (!ok).then(|| format!("answered {status} {}{note}", resp.code()))
}

#[tokio::test]
async fn every_operation_allows_exactly_its_roles_inside_their_jurisdiction() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let mut outside_county = second_county(&app).await;

    // Inside: 新河村, where coord01 works, under the reviewer's 峰口镇 and the county.
    let applied = app
        .list_all("/api/v1/cases", "state=applied", 200, &admin.access)
        .await;
    let in_village = |pred: &dyn Fn(&Value) -> bool| {
        applied
            .iter()
            .find(|c| pred(c))
            .cloned()
            .expect("an applied case there")
    };
    let xinhe = in_village(&|c| c["village_code"] == "421083105201");
    let neighbour =
        in_village(&|c| c["township_code"] == FENGKOU && c["village_code"] != "421083105201");
    let users = |code: String| {
        let app = &app;
        let token = admin.access.clone();
        async move {
            let page = app
                .get(
                    &format!("/api/v1/users?jurisdiction={code}&role=coordinator&limit=1"),
                    &token,
                )
                .await;
            page.expect(200)["items"][0]["id"]
                .as_str()
                .expect("a coordinator")
                .to_owned()
        }
    };
    let mut inside = target(
        &app,
        &admin.access,
        &xinhe,
        &users("421083105201".into()).await,
        COUNTY,
    )
    .await;
    let mut for_coordinator = target(
        &app,
        &admin.access,
        &neighbour,
        &users(
            neighbour["village_code"]
                .as_str()
                .expect("village")
                .to_owned(),
        )
        .await,
        &outside_county.county,
    )
    .await;
    for_coordinator.township = CAOSHI.into();
    // 曹市镇 has no demo case yet; the admin opens one.
    let caoshi_home = app
        .get(
            &format!("/api/v1/households?jurisdiction={CAOSHI}&limit=1"),
            &admin.access,
        )
        .await
        .expect(200)["items"][0]["id"]
        .clone();
    let caoshi_case = created(
        app.post_json(
            "/api/v1/cases",
            &admin.access,
            &json!({ "household_id": caoshi_home }),
        )
        .await,
    );
    let mut for_reviewer = target(
        &app,
        &admin.access,
        &caoshi_case,
        &users(
            caoshi_case["village_code"]
                .as_str()
                .expect("village")
                .to_owned(),
        )
        .await,
        &outside_county.county,
    )
    .await;
    for target in [&mut inside, &mut for_coordinator, &mut for_reviewer] {
        assess(&app, &admin.access, target).await;
    }
    // A real visit in each target village, so visit reads are checked by real id.
    let reviewer = app.token("reviewer").await;
    let caoshi_reviewer = new_reviewer(&app, &admin.access, "caoshi-reviewer", CAOSHI).await;
    // A notice in 峰口镇 and one in 曹市镇; the coordinator's target village is in 峰口镇, so
    // its outside notice is 曹市镇's.
    for (target, reviewer, scene, on_notice) in [
        (&mut inside, &reviewer, 100, true),
        (&mut for_coordinator, &reviewer, 200, false),
        (&mut for_reviewer, &caoshi_reviewer, 300, true),
    ] {
        let coordinator = coordinator_token(&app, &admin.access, target).await;
        let case = visit_in(&app, &admin.access, reviewer, &coordinator, target, scene).await;
        if on_notice {
            target.notice = put_on_notice(&app, reviewer, &case, &target.township).await;
        }
    }
    for_coordinator.notice = for_reviewer.notice.clone();
    let city = app.token("cityadmin").await;
    let songzi_reviewer = new_reviewer(&app, &city, "songzi-reviewer", "421087100000").await;
    let songzi01 = coordinator_token(&app, &city, &outside_county).await;
    let case = visit_in(
        &app,
        &city,
        &songzi_reviewer,
        &songzi01,
        &mut outside_county,
        400,
    )
    .await;
    outside_county.notice =
        put_on_notice(&app, &songzi_reviewer, &case, &outside_county.township).await;
    let other_home = applied
        .iter()
        .find(|c| c["village_code"] == "421083105201" && c["household_id"] != xinhe["household_id"])
        .map(|c| c["household_id"].as_str().expect("id").to_owned());
    let active_elsewhere = match other_home {
        Some(id) => app
            .get(&format!("/api/v1/households/{id}"), &admin.access)
            .await
            .json["members"][0]["id_number"]
            .clone(),
        None => for_reviewer.head["id_number"].clone(),
    };
    let county = app.token("county").await;
    let draw = created(
        app.post_json(
            &format!("/api/v1/jurisdictions/{COUNTY}/spot-checks"),
            &county,
            &draw_period(),
        )
        .await,
    );
    let fixture = Fixture {
        admin_id: admin.user["id"].as_str().expect("admin id").to_owned(),
        active_elsewhere: active_elsewhere.as_str().expect("an ID number").to_owned(),
        draw: draw["id"].as_str().expect("draw id").to_owned(),
        thresholds: app
            .get(
                &format!("/api/v1/jurisdictions/{COUNTY}/evidence-thresholds"),
                &county,
            )
            .await
            .expect(200)
            .clone(),
        recheck: app
            .get(
                &format!("/api/v1/jurisdictions/{COUNTY}/recheck-intervals"),
                &county,
            )
            .await
            .expect(200)
            .clone(),
    };
    let outside_of = |who: Who| match who {
        Coordinator => &for_coordinator,
        Reviewer => &for_reviewer,
        County | Admin => &outside_county,
    };

    // Every operation served has exactly one row, and every row an operation.
    let spec = app
        .get("/api-docs/openapi.json", "")
        .await
        .expect(200)
        .clone();
    let served: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|m| {
                    [
                        "get", "put", "post", "delete", "options", "head", "patch", "trace",
                    ]
                    .contains(&m.as_str())
                })
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let rows = table();
    let listed: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(listed.len(), rows.len(), "an operation has two rows");
    let unlisted: Vec<_> = served.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&served).collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "operations without a row in the matrix: {unlisted:?}; rows without an operation: {stale:?}"
    );

    let mut tokens = Vec::new();
    for who in ROLES {
        tokens.push((who, app.token(who.username()).await));
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in &rows {
        let callers = std::iter::once(None).chain(ROLES.iter().copied().map(Some));
        for who in callers {
            for inside_target in [false, true] {
                let target = match (who, inside_target) {
                    (Some(who), false) => outside_of(who),
                    _ => &inside,
                };
                if !inside_target && (who.is_none() || matches!(row.outside, Outside::NoTarget(_)))
                {
                    continue;
                }
                let req = (row.build)(&fixture, target);
                let token = match who {
                    None => String::new(),
                    Some(who) if req.own_session => app.token(who.username()).await,
                    Some(who) => tokens
                        .iter()
                        .find(|(w, _)| *w == who)
                        .expect("token")
                        .1
                        .clone(),
                };
                let method =
                    Method::from_bytes(row.method.to_uppercase().as_bytes()).expect("method");
                let mut request = app.request(method, &req.path, &token);
                for (name, value) in &req.headers {
                    request = request.header(*name, value);
                }
                if let Some(body) = &req.json {
                    request = request.json(body);
                }
                if let Some((content_type, bytes)) = &req.raw {
                    request = request
                        .header(reqwest::header::CONTENT_TYPE, *content_type)
                        .body(bytes.clone());
                }
                let resp = app.send(request).await;
                checked += 1;
                if let Some(problem) = judge(
                    row,
                    who,
                    inside_target,
                    &resp,
                    outside_of(who.unwrap_or(Admin)),
                ) {
                    failures.push(format!(
                        "{} {} as {} ({}): {problem}",
                        row.method.to_uppercase(),
                        req.path,
                        who.map_or("no token", Who::username),
                        if inside_target { "inside" } else { "outside" },
                    ));
                }
            }
        }
    }
    assert!(
        checked > 5 * rows.len(),
        "the matrix ran ({checked} requests)"
    );
    assert!(
        failures.is_empty(),
        "{} authorization mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
