//! The case workflow over HTTP: application → visit → township queue and claims → decisions
//! → public notice with objections → county (or delegated township) confirmation.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{
    CAOSHI, COUNTY, FENGKOU, Resp, TestApp, fresh_id, household, member, spawn_app,
};
use crate::visits::{Home, answers, clean_photos, homes_of_coord01, visit};

pub async fn act(app: &TestApp, token: &str, case_id: &str, body: Value) -> Resp {
    app.post_json(&format!("/api/v1/cases/{case_id}/actions"), token, &body)
        .await
}

/// Opens, accepts and assigns a case for the household as the demo reviewer (峰口镇).
pub async fn due_for_visit(app: &TestApp, household_id: &str) -> String {
    due_for_visit_by(app, &app.token("reviewer").await, household_id).await
}

/// [`due_for_visit`] by the reviewer of the household's township.
pub async fn due_for_visit_by(app: &TestApp, reviewer: &str, household_id: &str) -> String {
    let opened = app
        .post_json(
            "/api/v1/cases",
            reviewer,
            &json!({ "household_id": household_id }),
        )
        .await;
    let id = opened.expect(201)["id"].as_str().unwrap().to_owned();
    act(app, reviewer, &id, json!({ "action": "accept" }))
        .await
        .expect(200);
    let assigned = act(app, reviewer, &id, json!({ "action": "assign" })).await;
    assert_eq!(assigned.expect(200)["state"], "visit_assigned");
    id
}

pub async fn case(app: &TestApp, token: &str, id: &str) -> Value {
    app.get(&format!("/api/v1/cases/{id}"), token)
        .await
        .expect(200)
        .clone()
}

/// Submits a clean visit (photos at the home) with the given answers; returns the view.
pub async fn visit_with(app: &TestApp, home: &Home, scene: u64, answers: Value) -> Value {
    visit_by(app, &app.token("coord01").await, home, scene, answers).await
}

/// [`visit_with`] by another visitor (a coordinator of another village, a county inspector).
pub async fn visit_by(
    app: &TestApp,
    visitor: &str,
    home: &Home,
    scene: u64,
    answers: Value,
) -> Value {
    let photos = clean_photos(app, visitor, home, scene).await;
    let mut body = visit(home, &photos);
    body["answers"] = answers;
    app.post_json("/api/v1/visits", visitor, &body)
        .await
        .expect(201)
        .clone()
}

/// A decision with the assessment seen and every flag acknowledged.
pub fn decision(case: &Value, action: &str) -> Value {
    json!({
        "action": action,
        "assessment_id": case["assessment_id"],
        "acknowledged_flags": case["flags"],
    })
}

pub async fn claim(app: &TestApp, token: &str, id: &str) -> Resp {
    app.post_json(&format!("/api/v1/cases/{id}/claim"), token, &json!({}))
        .await
}

pub async fn publish(app: &TestApp, token: &str, days_ago: i64) -> Value {
    publish_in(app, token, FENGKOU, days_ago).await
}

/// Publishes a notice of the township's recommended cases that started `days_ago`.
pub async fn publish_in(app: &TestApp, token: &str, township: &str, days_ago: i64) -> Value {
    let starts_on = (Utc::now() + Duration::hours(8) - Duration::days(days_ago)).date_naive();
    app.post_json(
        &format!("/api/v1/jurisdictions/{township}/notices"),
        token,
        &json!({ "starts_on": starts_on }),
    )
    .await
    .expect(201)
    .clone()
}

#[tokio::test]
async fn a_case_goes_from_application_through_return_and_objection_to_approval() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let coord = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &coord).await;
    let home = &homes[0];
    let case_id = app
        .get("/api/v1/cases?state=visit_assigned", &reviewer)
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["household_id"] == home.id.as_str())
        .expect("the home's case")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The phone downloads its assignments once, then only checks for changes.
    let download = app.get("/api/v1/assignments", &coord).await;
    let body = download.expect(200).clone();
    let etag = download.header("etag").unwrap().to_owned();
    let assignment = body["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["case_id"] == case_id.as_str())
        .expect("assigned case");
    assert_eq!(assignment["household"]["id"], home.id.as_str());
    assert!(
        assignment["household"]["members"][0]["id_number_masked"]
            .as_str()
            .unwrap()
            .contains("********")
    );
    assert!(
        body["schemes"][0]["required_photo_kinds"]
            .as_array()
            .unwrap()
            .len()
            >= 3
    );
    assert!(body["villages"][0]["boundary"]["type"].is_string());
    let unchanged = app
        .send(
            app.request(reqwest::Method::GET, "/api/v1/assignments", &coord)
                .header("If-None-Match", &etag),
        )
        .await;
    assert_eq!(unchanged.status, 304);

    // Visit → the township queue.
    let first = visit_with(&app, home, 1000, answers()).await;
    assert_eq!(first["case_id"], case_id.as_str());
    let queue = app
        .get(&format!("/api/v1/jurisdictions/{FENGKOU}/queue"), &reviewer)
        .await;
    assert!(
        queue.expect(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == case_id.as_str() && c["state"] == "visited")
    );

    // Claim opens the review; a return names what to redo and reaches the phone.
    let claimed = claim(&app, &reviewer, &case_id).await.expect(200).clone();
    assert_eq!(claimed["state"], "township_review");
    let mut ret = decision(&claimed, "return");
    ret["reason"] = json!("厨房照片不清楚，请补拍");
    ret["redo"] = json!({ "items": ["housing_condition"], "photo_kinds": ["kitchen"] });
    let returned = act(&app, &reviewer, &case_id, ret).await;
    assert_eq!(returned.expect(200)["state"], "returned");
    let download = app
        .send(
            app.request(reqwest::Method::GET, "/api/v1/assignments", &coord)
                .header("If-None-Match", &etag),
        )
        .await;
    let body = download.expect(200);
    let redo = &body["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["case_id"] == case_id.as_str())
        .unwrap()["redo"];
    assert_eq!(redo["redo"]["photo_kinds"], json!(["kitchen"]));
    assert_eq!(redo["reason"], "厨房照片不清楚，请补拍");

    // The revisit supersedes the first visit; then recommend and put on notice.
    let second = visit_with(&app, home, 1100, answers()).await;
    assert_eq!(second["supersedes_id"], first["id"]);
    let claimed = claim(&app, &reviewer, &case_id).await.expect(200).clone();
    assert_eq!(claimed["visit_id"], second["id"]);
    act(&app, &reviewer, &case_id, decision(&claimed, "recommend"))
        .await
        .expect(200);
    let notice = publish(&app, &reviewer, 1).await;
    assert_eq!(notice["entries"].as_array().unwrap().len(), 1);

    // An objection during the notice blocks confirmation, then sends the case back.
    let county = app.token("county").await;
    let filed = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/objections"),
            &reviewer,
            &json!({ "objector_name": "王五", "objector_contact": "13800001111", "content": "该户有经营收入" }),
        )
        .await;
    let objection_id = filed.expect(201)["id"].as_str().unwrap().to_owned();
    act(&app, &county, &case_id, json!({ "action": "confirm" }))
        .await
        .expect_error(409, "illegal_transition");
    let resolved = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/objections/{objection_id}/resolution"),
            &reviewer,
            &json!({ "outcome": "reinvestigate", "note": "核实经营收入" }),
        )
        .await;
    assert_eq!(resolved.expect(200)["state"], "reinvestigation");

    // Reinvestigation visit → recommend → a notice already over → county confirms.
    visit_with(&app, home, 1200, answers()).await;
    let claimed = claim(&app, &reviewer, &case_id).await.expect(200).clone();
    act(&app, &reviewer, &case_id, decision(&claimed, "recommend"))
        .await
        .expect(200);
    publish(&app, &reviewer, 10).await;
    // Borderline: the village's democratic appraisal decides before the county confirms.
    assert_eq!(claimed["band"], "borderline");
    act(&app, &county, &case_id, json!({ "action": "confirm" }))
        .await
        .expect_error(409, "appraisal_required");
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    app.post_json(
        &format!("/api/v1/cases/{case_id}/appraisals"),
        &reviewer,
        &json!({ "held_on": today, "panel_size": 21, "present": 18, "votes_for": 15 }),
    )
    .await
    .expect(201);
    let approved = act(&app, &county, &case_id, json!({ "action": "confirm" })).await;
    let approved = approved.expect(200);
    assert_eq!(approved["state"], "approved");
    assert!(approved["review_class"].is_string());
    assert!(approved["next_recheck_on"].is_string());

    let detail = case(&app, &county, &case_id).await;
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "apply",
            "accept",
            "assign",
            "submit_visit",
            "start_review",
            "return",
            "submit_visit",
            "start_review",
            "recommend",
            "publish_notice",
            "reinvestigate",
            "submit_visit",
            "start_review",
            "recommend",
            "publish_notice",
            "end_notice",
            "confirm"
        ]
    );
    assert_eq!(detail["objections"][0]["status"], "reinvestigate");
    let letter = app
        .get(&format!("/api/v1/cases/{case_id}/letter"), &reviewer)
        .await;
    assert_eq!(letter.status, 200);
    assert!(
        letter.text.contains("决定自下月起给予最低生活保障"),
        "{}",
        letter.text
    );
}

/// The open case of a household, as the reviewer lists it.
pub async fn case_of(app: &TestApp, household_id: &str) -> String {
    case_of_by(app, &app.token("reviewer").await, household_id).await
}

/// [`case_of`] as listed by another caller.
pub async fn case_of_by(app: &TestApp, token: &str, household_id: &str) -> String {
    app.list_all("/api/v1/cases", "", 200, token)
        .await
        .into_iter()
        .find(|c| c["household_id"] == household_id && c["closed_at"].is_null())
        .expect("open case")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A new household in coord01's village whose only member cannot work and is severely
/// disabled, so the usual answers score in the recommend band (≥ 60).
async fn new_home(app: &TestApp, name: &str) -> Home {
    let reviewer = app.token("reviewer").await;
    new_home_of(app, &reviewer, &app.token("coord01").await, name).await
}

/// [`new_home`] in the village of the coordinator `coord`, added by its township's reviewer.
pub async fn new_home_of(app: &TestApp, reviewer: &str, coord: &str, name: &str) -> Home {
    let me = app.get("/api/v1/auth/me", coord).await.expect(200).clone();
    let village = me["jurisdiction_code"].as_str().unwrap().to_owned();
    let location = app.location_in(&village, reviewer).await;
    let mut head = member(name, &fresh_id(true), "head");
    head["labour_capacity"] = json!("none");
    head["disability_grade"] = json!(1);
    let mut body = household(&village, &location, vec![head]);
    body["responsible_worker_id"] = me["id"].clone();
    let created = app.post_json("/api/v1/households", reviewer, &body).await;
    Home {
        id: created.expect(201)["id"].as_str().unwrap().to_owned(),
        lat: location["lat"].as_f64().unwrap(),
        lon: location["lon"].as_f64().unwrap(),
    }
}

/// [`new_home`] with a visit due.
pub async fn recommendable_home(app: &TestApp, name: &str) -> Home {
    let home = new_home(app, name).await;
    due_for_visit(app, &home.id).await;
    home
}

/// An extra account (reviewers of other townships, a second reviewer).
pub async fn add_user(app: &TestApp, username: &str, role: &str, jurisdiction: &str) -> String {
    let admin = app.token("admin").await;
    app.post_json(
        "/api/v1/users",
        &admin,
        &json!({
            "username": username, "display_name": username, "role": role,
            "jurisdiction_code": jurisdiction, "password": crate::helpers::PASSWORD,
        }),
    )
    .await
    .expect(201);
    app.token(username).await
}

#[tokio::test]
async fn a_rejection_needs_a_reason_code_and_gives_the_applicant_a_letter() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let coord = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &coord).await;
    let case_id = case_of(&app, &homes[0].id).await;
    visit_with(&app, &homes[0], 2000, answers()).await;

    let unclaimed = decision(&case(&app, &reviewer, &case_id).await, "reject");
    act(&app, &reviewer, &case_id, unclaimed)
        .await
        .expect_error(409, "claim_required");
    let claimed = claim(&app, &reviewer, &case_id).await.expect(200).clone();
    let mut reject = decision(&claimed, "reject");
    reject["reason"] = json!("家庭人均月收入高于保障标准。");
    act(&app, &reviewer, &case_id, reject.clone())
        .await
        .expect_error(422, "reason_code_required");
    reject["reason_code"] = json!("income_above_standard");
    let mut stale = reject.clone();
    stale["assessment_id"] = json!("an-older-assessment");
    act(&app, &reviewer, &case_id, stale)
        .await
        .expect_error(409, "assessment_stale");
    app.get(&format!("/api/v1/cases/{case_id}/letter"), &reviewer)
        .await
        .expect_error(409, "no_decision");

    let rejected = act(&app, &reviewer, &case_id, reject).await;
    assert_eq!(rejected.expect(200)["state"], "rejected");
    let details = act(&app, &reviewer, &case_id, json!({ "action": "accept" }))
        .await
        .expect_error(409, "illegal_transition")
        .clone();
    assert_eq!(details["state"], "rejected");
    assert_eq!(details["allowed_actions"], json!([]));

    let letter = app
        .get(&format!("/api/v1/cases/{case_id}/letter"), &reviewer)
        .await;
    assert_eq!(letter.status, 200);
    assert!(letter.text.contains("不予批准"));
    assert!(letter.text.contains("家庭人均收入高于当地最低生活保障标准"));
    assert!(letter.text.contains("家庭人均月收入高于保障标准。"));
    // A closed case frees the household for a new application; while that one is open the
    // household cannot be closed.
    app.post_json(
        "/api/v1/cases",
        &reviewer,
        &json!({ "household_id": homes[0].id }),
    )
    .await
    .expect(201);
    app.delete(&format!("/api/v1/households/{}", homes[0].id), &reviewer)
        .await
        .expect_error(409, "case_open");
}

#[tokio::test]
async fn a_delegated_township_confirms_clean_cases_but_borderline_ones_stay_with_the_county() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let county = app.token("county").await;
    let coord = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &coord).await;
    let recommendable = recommendable_home(&app, "赵大明").await;
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    let delegation = app
        .put_json(
            &format!("/api/v1/jurisdictions/{COUNTY}/confirmation-delegation"),
            &county,
            &json!({ "delegated": true, "effective_from": today }),
        )
        .await;
    assert_eq!(delegation.expect(200)["delegated_today"], true);

    let clean = case_of(&app, &recommendable.id).await;
    let borderline = case_of(&app, &homes[0].id).await;
    visit_with(&app, &recommendable, 3000, answers()).await;
    visit_with(&app, &homes[0], 3100, answers()).await;
    for id in [&clean, &borderline] {
        let claimed = claim(&app, &reviewer, id).await.expect(200).clone();
        act(&app, &reviewer, id, decision(&claimed, "recommend"))
            .await
            .expect(200);
    }
    assert_eq!(case(&app, &reviewer, &clean).await["band"], "recommend");
    assert_eq!(
        case(&app, &reviewer, &borderline).await["band"],
        "borderline"
    );
    publish(&app, &reviewer, 10).await;

    let confirmed = act(&app, &reviewer, &clean, json!({ "action": "confirm" })).await;
    assert_eq!(confirmed.expect(200)["state"], "approved");

    act(&app, &reviewer, &borderline, json!({ "action": "confirm" }))
        .await
        .expect_error(403, "forbidden");
    act(&app, &county, &borderline, json!({ "action": "confirm" }))
        .await
        .expect_error(409, "appraisal_required");
    let appraisals = format!("/api/v1/cases/{borderline}/appraisals");
    app.post_json(
        &appraisals,
        &reviewer,
        &json!({ "held_on": today, "panel_size": 14, "present": 14, "votes_for": 14 }),
    )
    .await
    .expect_error(422, "panel_too_small");
    app.post_json(
        &appraisals,
        &reviewer,
        &json!({ "held_on": today, "panel_size": 15, "present": 9, "votes_for": 9 }),
    )
    .await
    .expect_error(422, "quorum_not_met");
    let held = app
        .post_json(
            &appraisals,
            &reviewer,
            &json!({ "held_on": today, "panel_size": 15, "present": 12, "votes_for": 8 }),
        )
        .await;
    assert_eq!(held.expect(201)["passed"], true);
    let approved = act(&app, &county, &borderline, json!({ "action": "confirm" })).await;
    assert_eq!(approved.expect(200)["state"], "approved");
}

#[tokio::test]
async fn every_state_refuses_the_actions_its_table_does_not_allow() {
    use dibao::auth::Role;
    use dibao::cases::lifecycle::{Action, Kind, Performer, Refusal, State, step};

    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let coord = app.token("coord01").await;
    let tokens = [
        (Role::Coordinator, coord.clone()),
        (Role::TownshipReviewer, reviewer.clone()),
        (Role::CountyOfficer, app.token("county").await),
        (Role::Admin, app.token("admin").await),
    ];
    let direct = [
        Action::Accept,
        Action::Assign,
        Action::Recommend,
        Action::Reject,
        Action::Return,
        Action::Reinvestigate,
        Action::Confirm,
        Action::Agree,
        Action::Overturn,
    ];
    let homes = homes_of_coord01(&app, &coord).await;
    let home = &homes[0];
    let mut seen = Vec::new();
    // Probes every direct action by every role; the ones the table allows are left alone.
    let probe = |case_id: String| {
        let app = &app;
        let tokens = &tokens;
        async move {
            let state: State =
                serde_json::from_value(case(app, &tokens[1].1, &case_id).await["state"].clone())
                    .unwrap();
            for action in direct {
                for (role, token) in tokens {
                    let performer = Performer::Staff {
                        role: *role,
                        delegated: false,
                    };
                    let expected = match step(Kind::Application, state, action, performer) {
                        Ok(_) => continue,
                        Err(Refusal::WrongRole) => (403, "forbidden"),
                        Err(Refusal::WrongState { .. }) => (409, "illegal_transition"),
                    };
                    let resp = act(app, token, &case_id, json!({ "action": action })).await;
                    assert_eq!(
                        (resp.status, resp.code()),
                        expected,
                        "{role:?} {action:?} in {state:?}: {} {}",
                        resp.text,
                        case(app, &tokens[1].1, &case_id).await
                    );
                }
            }
            state
        }
    };

    let reviewer_ref = &reviewer;
    let opened = app
        .post_json(
            "/api/v1/cases",
            reviewer_ref,
            &json!({ "household_id": home.id }),
        )
        .await;
    // homes_of_coord01 already opened one: the household has an open case.
    opened.expect_error(409, "case_open");
    let case_id = case_of(&app, &home.id).await;
    seen.push(probe(case_id.clone()).await); // visit_assigned
    visit_with(&app, home, 4000, answers()).await;
    seen.push(probe(case_id.clone()).await); // visited
    let claimed = claim(&app, &reviewer, &case_id).await.expect(200).clone();
    seen.push(probe(case_id.clone()).await); // township_review
    let mut ret = decision(&claimed, "return");
    ret["reason"] = json!("补拍");
    ret["redo"] = json!({ "photo_kinds": ["kitchen"] });
    act(&app, &reviewer, &case_id, ret).await.expect(200);
    seen.push(probe(case_id.clone()).await); // returned
    visit_with(&app, home, 4100, answers()).await;
    let claimed = claim(&app, &reviewer, &case_id).await.expect(200).clone();
    act(&app, &reviewer, &case_id, decision(&claimed, "recommend"))
        .await
        .expect(200);
    seen.push(probe(case_id.clone()).await); // recommended
    publish(&app, &reviewer, 1).await;
    seen.push(probe(case_id.clone()).await); // public_notice
    act(
        &app,
        &reviewer,
        &case_id,
        json!({ "action": "reinvestigate", "reason": "群众反映" }),
    )
    .await
    .expect(200);
    seen.push(probe(case_id.clone()).await); // reinvestigation
    visit_with(&app, home, 4200, answers()).await;
    let claimed = claim(&app, &reviewer, &case_id).await.expect(200).clone();
    act(&app, &reviewer, &case_id, decision(&claimed, "recommend"))
        .await
        .expect(200);
    publish(&app, &reviewer, 10).await;
    // The first action on a case whose notice is over moves it to county review.
    act(&app, &coord, &case_id, json!({ "action": "accept" }))
        .await
        .expect_error(409, "illegal_transition");
    seen.push(probe(case_id.clone()).await); // county_review
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    app.post_json(
        &format!("/api/v1/cases/{case_id}/appraisals"),
        &reviewer,
        &json!({ "held_on": today, "panel_size": 15, "present": 15, "votes_for": 15 }),
    )
    .await
    .expect(201);
    let county = &tokens[2].1;
    act(&app, county, &case_id, json!({ "action": "confirm" }))
        .await
        .expect(200);
    seen.push(probe(case_id.clone()).await); // approved

    // A fresh application, at the window.
    let fresh = app
        .post_json(
            "/api/v1/cases",
            &reviewer,
            &json!({ "household_id": homes[1].id }),
        )
        .await;
    assert_eq!(fresh.status, 409, "homes_of_coord01 opened it");
    let other_home = new_home(&app, "周四").await;
    let applied = app
        .post_json(
            "/api/v1/cases",
            &reviewer,
            &json!({ "household_id": other_home.id }),
        )
        .await;
    let applied_id = applied.expect(201)["id"].as_str().unwrap().to_owned();
    seen.push(probe(applied_id.clone()).await); // applied
    act(&app, &reviewer, &applied_id, json!({ "action": "accept" }))
        .await
        .expect(200);
    seen.push(probe(applied_id.clone()).await); // accepted
    act(
        &app,
        &reviewer,
        &applied_id,
        json!({ "action": "reject", "reason_code": "not_resident", "reason": "户籍不在本村" }),
    )
    .await
    .expect_error(409, "illegal_transition");

    seen.sort_by_key(|s| s.as_str());
    seen.dedup();
    // Every state of an application's cycle (a spot check's closing states are
    // oversight's own test).
    let mut all: Vec<State> = State::ALL
        .into_iter()
        .filter(|s| ![State::Rejected, State::Upheld, State::Overturned].contains(s))
        .collect();
    all.sort_by_key(|s| s.as_str());
    assert_eq!(seen, all);
}

#[tokio::test]
async fn a_reviewer_of_another_township_cannot_see_or_act_on_the_case() {
    let app = spawn_app().await;
    let coord = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &coord).await;
    let case_id = case_of(&app, &homes[0].id).await;
    visit_with(&app, &homes[0], 5000, answers()).await;
    let stranger = add_user(&app, "caoshi-reviewer", "township_reviewer", CAOSHI).await;
    app.get(&format!("/api/v1/cases/{case_id}"), &stranger)
        .await
        .expect_error(403, "forbidden");
    claim(&app, &stranger, &case_id)
        .await
        .expect_error(403, "forbidden");
    act(&app, &stranger, &case_id, json!({ "action": "recommend" }))
        .await
        .expect_error(403, "forbidden");
    app.get(&format!("/api/v1/jurisdictions/{FENGKOU}/queue"), &stranger)
        .await
        .expect_error(404, "not_found");
    let own_queue = app
        .get(&format!("/api/v1/jurisdictions/{CAOSHI}/queue"), &stranger)
        .await;
    assert_eq!(own_queue.expect(200)["items"], json!([]));
    let listed = app.list_all("/api/v1/cases", "", 200, &stranger).await;
    assert!(listed.is_empty());
}

#[tokio::test]
async fn of_many_simultaneous_claims_exactly_one_wins_and_an_expired_lease_returns_the_case() {
    let app = spawn_app().await;
    let coord = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &coord).await;
    let case_id = case_of(&app, &homes[0].id).await;
    visit_with(&app, &homes[0], 6000, answers()).await;
    let mut reviewers = vec![app.token("reviewer").await];
    for i in 0..5 {
        reviewers.push(add_user(&app, &format!("fengkou-{i}"), "township_reviewer", FENGKOU).await);
    }
    let claims = futures_util::future::join_all(
        reviewers
            .iter()
            .flat_map(|token| [token, token])
            .map(|token| claim(&app, token, &case_id)),
    )
    .await;
    let winners: Vec<&Resp> = claims.iter().filter(|r| r.status == 200).collect();
    assert!(!winners.is_empty());
    let holder = winners[0].json["claimed_by"].clone();
    // Only the holder's own repeated claim (a renewal) may also succeed.
    assert!(winners.iter().all(|w| w.json["claimed_by"] == holder));
    assert!(winners.len() <= 2);
    for lost in claims.iter().filter(|r| r.status != 200) {
        lost.expect_error(409, "case_claimed");
    }
    let holder_token = reviewers
        .iter()
        .zip(claims.chunks(2))
        .find(|(_, pair)| pair.iter().any(|r| r.status == 200))
        .unwrap()
        .0;
    let others: Vec<&String> = reviewers.iter().filter(|t| *t != holder_token).collect();
    // Not offered to the others while held.
    let queue = app
        .get(&format!("/api/v1/jurisdictions/{FENGKOU}/queue"), others[0])
        .await;
    assert!(
        !queue.expect(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == case_id.as_str())
    );

    // The lease runs out: the case is back in the queue and another reviewer takes it.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE cases SET claim_expires_at = '2020-01-01 00:00:00' WHERE id = '{case_id}'"
        )),
        &mut *app.conn(),
    )
    .unwrap();
    let taken = claim(&app, others[0], &case_id).await;
    assert_ne!(taken.expect(200)["claimed_by"], holder);
    let stale = decision(&case(&app, holder_token, &case_id).await, "recommend");
    act(&app, holder_token, &case_id, stale)
        .await
        .expect_error(409, "claim_required");
}

#[tokio::test]
async fn the_queue_puts_overdue_then_flagged_cases_first_and_pages_without_repeats() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let coord = app.token("coord01").await;
    let clean = recommendable_home(&app, "钱一").await;
    let late = recommendable_home(&app, "孙二").await;
    let flagged = recommendable_home(&app, "李三").await;
    visit_with(&app, &clean, 7000, answers()).await;
    visit_with(&app, &late, 7100, answers()).await;
    // The flagged visit: one visitor only.
    let photos = clean_photos(&app, &coord, &flagged, 7200).await;
    let mut body = visit(&flagged, &photos);
    body["staff"] = json!([{ "user_id": "me" }]);
    app.post_json("/api/v1/visits", &coord, &body)
        .await
        .expect(201);
    let [clean_case, late_case, flagged_case] = [
        case_of(&app, &clean.id).await,
        case_of(&app, &late.id).await,
        case_of(&app, &flagged.id).await,
    ];
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE cases SET due_at = '2020-01-01 00:00:00' WHERE id = '{late_case}'"
        )),
        &mut *app.conn(),
    )
    .unwrap();

    let path = format!("/api/v1/jurisdictions/{FENGKOU}/queue");
    let order: Vec<String> = app
        .list_all(&path, "", 1, &reviewer)
        .await
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        order,
        [late_case.clone(), flagged_case.clone(), clean_case.clone()]
    );
    let first = app.get(&format!("{path}?limit=1"), &reviewer).await;
    assert_eq!(first.expect(200)["items"][0]["overdue"], true);

    let only_flagged = app
        .get(&format!("{path}?flag=single_staff"), &reviewer)
        .await;
    let only_flagged = only_flagged.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(only_flagged.len(), 1);
    assert_eq!(only_flagged[0]["id"], flagged_case.as_str());
    let on_time = app.list_all(&path, "overdue=false", 50, &reviewer).await;
    assert_eq!(on_time.len(), 2);

    let counts = app.get("/api/v1/cases/counts", &reviewer).await;
    let visited = counts
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["state"] == "visited")
        .unwrap()
        .clone();
    assert_eq!(
        (visited["count"].as_i64(), visited["overdue"].as_i64()),
        (Some(3), Some(1))
    );

    // A flagged case is neither bulk-recommended nor decided without acknowledging its flag.
    let bulk = app
        .post_json(
            &format!("{path}/recommend"),
            &reviewer,
            &json!({ "case_ids": [clean_case, flagged_case], "reason": "材料齐全" }),
        )
        .await;
    let refused = bulk.expect_error(422, "bulk_refused")["refused"].clone();
    assert_eq!(refused.as_array().unwrap().len(), 1);
    assert_eq!(refused[0]["code"], "has_flags");
    assert_eq!(case(&app, &reviewer, &clean_case).await["state"], "visited");
    let claimed = claim(&app, &reviewer, &flagged_case)
        .await
        .expect(200)
        .clone();
    let mut unacknowledged = decision(&claimed, "recommend");
    unacknowledged["acknowledged_flags"] = json!([]);
    let missing = act(&app, &reviewer, &flagged_case, unacknowledged)
        .await
        .expect_error(422, "flags_unacknowledged")
        .clone();
    assert!(
        missing["missing"]
            .as_array()
            .unwrap()
            .contains(&json!("single_staff"))
    );
    act(
        &app,
        &reviewer,
        &flagged_case,
        decision(&claimed, "recommend"),
    )
    .await
    .expect(200);
    let bulk = app
        .post_json(
            &format!("{path}/recommend"),
            &reviewer,
            &json!({ "case_ids": [clean_case, late_case], "reason": "材料齐全" }),
        )
        .await;
    assert_eq!(bulk.expect(200)["recommended"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_public_notice_shows_masked_names_and_no_ids_addresses_or_phones() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let coord = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &coord).await;
    let mut secrets = Vec::new();
    let mut heads = Vec::new();
    for (i, home) in homes.iter().enumerate() {
        let id = case_of(&app, &home.id).await;
        visit_with(&app, home, 8000 + 100 * i as u64, answers()).await;
        let claimed = claim(&app, &reviewer, &id).await.expect(200).clone();
        act(&app, &reviewer, &id, decision(&claimed, "recommend"))
            .await
            .expect(200);
        let detail = app
            .get(&format!("/api/v1/households/{}", home.id), &reviewer)
            .await
            .expect(200)
            .clone();
        secrets.push(detail["address"].as_str().unwrap().to_owned());
        if let Some(phone) = detail["phone"].as_str() {
            secrets.push(phone.to_owned());
        }
        for member in detail["members"].as_array().unwrap() {
            secrets.push(member["id_number"].as_str().unwrap().to_owned());
        }
        heads.push(detail["head_name"].as_str().unwrap().to_owned());
    }
    let notice = publish(&app, &reviewer, 0).await;
    let id = notice["id"].as_str().unwrap();
    let json_text = app
        .get(&format!("/api/v1/notices/{id}"), &reviewer)
        .await
        .text;
    let csv = app
        .get(&format!("/api/v1/notices/{id}?format=csv"), &reviewer)
        .await;
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let html = app
        .get(&format!("/api/v1/notices/{id}?format=html"), &coord)
        .await;
    assert!(
        html.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    for text in [&json_text, &csv.text, &html.text] {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} leaked into {text}"
            );
        }
        for head in &heads {
            assert!(!text.contains(head.as_str()), "full name {head} in {text}");
            assert!(text.contains(&dibao::privacy::mask_name(head)));
        }
    }
    let stranger = add_user(&app, "caoshi-reviewer", "township_reviewer", CAOSHI).await;
    app.get(&format!("/api/v1/notices/{id}"), &stranger)
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn rescoring_moves_an_open_case_onto_the_new_assessment_and_stales_the_old_decision() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let coord = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &coord).await;
    let case_id = case_of(&app, &homes[0].id).await;
    visit_with(&app, &homes[0], 9000, answers()).await;
    let claimed = claim(&app, &reviewer, &case_id).await.expect(200).clone();

    app.post_raw(
        &format!("/api/v1/jurisdictions/{COUNTY}/schemes"),
        &app.token("county").await,
        Some("application/toml"),
        crate::scoring::default_scheme_with_standard(80_000, 62_000),
    )
    .await
    .expect(201);
    let county = {
        let mut conn = app.conn();
        dibao::jurisdictions::store::find(&mut conn, &dibao::auth::Scope::everything(), COUNTY)
            .unwrap()
            .unwrap()
    };
    dibao::scoring::service::rescore(
        &app.db,
        &dibao::scoring::store::SchemeCache::default(),
        &dibao::audit::Actor::system("rescore"),
        &county,
        2,
        &|_| {},
    )
    .expect("rescore runs");

    let moved = case(&app, &reviewer, &case_id).await;
    assert_ne!(moved["assessment_id"], claimed["assessment_id"]);
    assert_eq!(
        moved["history"].as_array().unwrap().last().unwrap()["action"],
        "reassess"
    );
    act(&app, &reviewer, &case_id, decision(&claimed, "recommend"))
        .await
        .expect_error(409, "assessment_stale");
    act(&app, &reviewer, &case_id, decision(&moved, "recommend"))
        .await
        .expect(200);
}
