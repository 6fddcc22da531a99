//! Scheme publishing and assessments: the demo county's default scheme, previews that store
//! nothing, recorded assessments that supersede without editing, immutable versions.

use serde_json::{Value, json};

use crate::helpers::{COUNTY, TestApp, spawn_app};

/// Answers for every required item of the default scheme: a poor household, no assets.
fn answers(wage_income_fen: i64, housing: &str) -> Value {
    let mut answers = json!({
        "financial_assets": 0, "cars_not_needed": 0, "vehicle_highest_value": 0, "homes": 1,
        "commercial_property": false, "business_with_employees": false,
        "refused_investigation": false, "relative_official": false,
        "agricultural_income": 0, "business_income": 0, "property_income": 0,
        "transfer_income": 0, "pension_income": 0, "awards_scholarships": 0,
        "public_assistance": 0, "basic_pension_subsidy": 0, "medical_costs": 0,
        "education_costs": 0, "rent_costs": 0, "housing_condition": housing,
        "food_insufficient": true, "clothing_inadequate": false,
        "large_livestock": 0, "non_essential_appliances": 0, "livelihood_vehicles": 0,
    });
    answers["wage_income"] = json!(wage_income_fen);
    answers
}

async fn household_of_coord01(app: &TestApp, token: &str) -> String {
    let villages = app.villages_of(crate::helpers::FENGKOU, token).await;
    app.a_household_of(&villages[0], token).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

pub fn default_scheme_with_standard(urban: i64, rural: i64) -> String {
    dibao::scoring::DEFAULT_SCHEME.replace(
        "standard_fen = { urban = 75_000, rural = 58_000 }",
        &format!("standard_fen = {{ urban = {urban}, rural = {rural} }}"),
    )
}

#[tokio::test]
async fn the_demo_county_has_the_default_scheme_in_force_and_every_role_can_read_it() {
    let app = spawn_app().await;
    let coordinator = app.token("coord01").await;
    let list = app
        .get(
            &format!("/api/v1/jurisdictions/{COUNTY}/schemes"),
            &coordinator,
        )
        .await;
    let versions = list.expect(200).as_array().expect("array").clone();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["active"], true);
    let detail = app
        .get(
            &format!("/api/v1/jurisdictions/{COUNTY}/schemes/1"),
            &coordinator,
        )
        .await;
    let detail = detail.expect(200);
    assert_eq!(
        detail["source"].as_str(),
        Some(dibao::scoring::DEFAULT_SCHEME)
    );
    assert!(
        detail["scheme"]["items"]
            .as_array()
            .is_some_and(|items| items.len() > 20)
    );
}

#[tokio::test]
async fn a_preview_scores_and_explains_but_stores_nothing() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let household = household_of_coord01(&app, &reviewer).await;
    let preview = app
        .post_json(
            &format!("/api/v1/households/{household}/assessments/preview"),
            &reviewer,
            &json!({ "answers": answers(0, "dangerous_c") }),
        )
        .await;
    let body = preview.expect(200);
    assert_eq!(body["scheme_version"], 1);
    let lines = body["result"]["explanation"]
        .as_array()
        .expect("explanation lines");
    assert!(
        lines
            .iter()
            .any(|l| l["zh"].as_str().is_some_and(|zh| zh.contains("危房(C级)"))),
        "{lines:?}"
    );
    // No income at all: the income test passes and a payment is estimated.
    assert_eq!(body["result"]["income"]["status"], "eligible");
    assert!(
        body["result"]["payment_fen"]
            .as_i64()
            .is_some_and(|fen| fen > 0)
    );
    let stored = app
        .get(
            &format!("/api/v1/households/{household}/assessments"),
            &reviewer,
        )
        .await;
    assert_eq!(stored.expect(200).as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn answers_that_do_not_fit_the_checklist_are_listed_one_by_one() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let household = household_of_coord01(&app, &reviewer).await;
    let mut bad = answers(0, "palace");
    bad["no_such_item"] = json!(1);
    bad["homes"] = json!("two");
    let resp = app
        .post_json(
            &format!("/api/v1/households/{household}/assessments/preview"),
            &reviewer,
            &json!({ "answers": bad }),
        )
        .await;
    let body = resp.expect_error(422, "answers_invalid");
    let problems = body["problems"].as_array().expect("problems");
    let codes: Vec<&str> = problems.iter().filter_map(|p| p["code"].as_str()).collect();
    for code in ["unknown_item", "wrong_type", "unknown_option"] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
}

#[tokio::test]
async fn a_new_assessment_supersedes_the_old_one_and_both_stay_readable() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let household = household_of_coord01(&app, &reviewer).await;
    let path = format!("/api/v1/households/{household}/assessments");
    let first = app
        .post_json(
            &path,
            &reviewer,
            &json!({ "answers": answers(0, "dangerous_c") }),
        )
        .await;
    let first = first.expect(201).clone();
    assert!(first["supersedes_id"].is_null());
    // A year's wages far above the standard: the income test now fails.
    let second = app
        .post_json(
            &path,
            &reviewer,
            &json!({ "answers": answers(100_000_000, "good") }),
        )
        .await;
    let second = second.expect(201).clone();
    assert_eq!(second["supersedes_id"], first["id"]);
    assert_eq!(second["outcome"], "income_not_eligible");

    let list = app.get(&path, &reviewer).await;
    let ids: Vec<&str> = list
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            second["id"].as_str().unwrap(),
            first["id"].as_str().unwrap()
        ]
    );
    let again = app
        .get(
            &format!("/api/v1/assessments/{}", first["id"].as_str().unwrap()),
            &reviewer,
        )
        .await;
    assert_eq!(again.expect(200)["result"], first["result"]);

    // Coordinators cannot record assessments; another township's reviewer cannot see them.
    let coordinator = app.token("coord01").await;
    app.post_json(
        &path,
        &coordinator,
        &json!({ "answers": answers(0, "good") }),
    )
    .await
    .expect_error(403, "forbidden");
    let outsider = app.token("coord05").await;
    let resp = app
        .get(
            &format!("/api/v1/assessments/{}", first["id"].as_str().unwrap()),
            &outsider,
        )
        .await;
    resp.expect_error(404, "not_found");
}

#[tokio::test]
async fn an_invalid_scheme_is_refused_with_every_problem_and_nothing_is_published() {
    let app = spawn_app().await;
    let officer = app.token("county").await;
    let path = format!("/api/v1/jurisdictions/{COUNTY}/schemes");
    let broken = dibao::scoring::DEFAULT_SCHEME
        .replace("label_zh = \"住房状况\"", "label_zh = \"\"")
        .replace(
            "of = { item_per_member_of_standard = \"financial_assets\" }",
            "of = { item_per_member_of_standard = \"no_such_item\" }",
        );
    let resp = app
        .post_raw(&path, &officer, Some("application/toml"), broken)
        .await;
    let body = resp.expect_error(422, "scheme_invalid");
    assert!(
        body["problems"].as_array().is_some_and(|p| p.len() >= 2),
        "{body}"
    );
    let resp = app
        .post_raw(&path, &officer, Some("application/toml"), "not = [valid")
        .await;
    resp.expect_error(422, "scheme_unparseable");
    let list = app.get(&path, &officer).await;
    assert_eq!(list.expect(200).as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn published_versions_are_immutable_and_old_assessments_still_explain_themselves() {
    let app = spawn_app().await;
    let officer = app.token("county").await;
    let reviewer = app.token("reviewer").await;
    let household = household_of_coord01(&app, &reviewer).await;
    let under_v1 = app
        .post_json(
            &format!("/api/v1/households/{household}/assessments"),
            &reviewer,
            &json!({ "answers": answers(0, "poor") }),
        )
        .await;
    let under_v1 = under_v1.expect(201).clone();

    let path = format!("/api/v1/jurisdictions/{COUNTY}/schemes");
    let v2_source = default_scheme_with_standard(80_000, 62_000);
    let v2 = app
        .post_raw(&path, &officer, Some("application/toml"), v2_source.clone())
        .await;
    assert_eq!(v2.expect(201)["version"], 2);
    // Publishing the same content again is a safe retry, not a third version.
    let retry = app
        .post_raw(&path, &officer, Some("application/toml"), v2_source)
        .await;
    assert_eq!(retry.expect(200)["version"], 2);
    // Reviewers cannot publish; nobody can change a published version.
    let resp = app
        .post_raw(&path, &reviewer, Some("application/toml"), "x")
        .await;
    resp.expect_error(403, "forbidden");
    let resp = app
        .send(
            app.request(reqwest::Method::PUT, &format!("{path}/1"), &officer)
                .header("content-type", "application/toml")
                .body("id = \"x\""),
        )
        .await;
    resp.expect_error(409, "scheme_version_immutable");

    let versions = app.get(&path, &officer).await;
    let versions = versions.expect(200).as_array().unwrap().clone();
    assert_eq!(
        (
            versions[0]["version"].as_i64(),
            versions[0]["active"].as_bool()
        ),
        (Some(2), Some(true))
    );
    assert_eq!(
        (
            versions[1]["version"].as_i64(),
            versions[1]["active"].as_bool()
        ),
        (Some(1), Some(false))
    );

    let old = app
        .get(
            &format!("/api/v1/assessments/{}", under_v1["id"].as_str().unwrap()),
            &reviewer,
        )
        .await;
    let old = old.expect(200);
    assert_eq!(old["scheme_version"], 1);
    assert_eq!(
        old["result"]["income"]["standard_fen"],
        under_v1["result"]["income"]["standard_fen"]
    );
    assert!(
        old["result"]["explanation"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
    );

    // New assessments use v2's standard.
    let preview = app
        .post_json(
            &format!("/api/v1/households/{household}/assessments/preview"),
            &reviewer,
            &json!({ "answers": answers(0, "poor") }),
        )
        .await;
    let preview = preview.expect(200);
    assert_eq!(preview["scheme_version"], 2);
    assert_ne!(
        preview["result"]["income"]["standard_fen"],
        old["result"]["income"]["standard_fen"]
    );
}

/// Wages giving a per-person monthly income of exactly `per_person` fen (10% job-cost
/// deduction, 12 months): W × 0.9 / 12 / members = per_person.
fn wages_for(per_person: i64, members: i64) -> i64 {
    assert_eq!(per_person % 3, 0);
    per_person * members * 40 / 3
}

#[tokio::test]
async fn rescore_moves_a_county_to_a_new_version_reports_changes_and_resumes() {
    let app = spawn_app().await;
    let officer = app.token("county").await;
    let reviewer = app.token("reviewer").await;
    let villages = app.villages_of(crate::helpers::FENGKOU, &reviewer).await;
    let poor = app.a_household_of(&villages[0], &reviewer).await;
    let near = app.a_household_of(&villages[1], &reviewer).await;
    let near_detail = app
        .get(
            &format!("/api/v1/households/{}", near["id"].as_str().unwrap()),
            &reviewer,
        )
        .await;
    let near_detail = near_detail.expect(200).clone();
    let members = near_detail["members"].as_array().unwrap().len() as i64;
    // Between v1's and v2's standard: near poverty under v1, eligible under v2.
    let per_person = if near_detail["urban"] == true {
        77_001
    } else {
        60_000
    };
    for (household, wages) in [(&poor, 0), (&near, wages_for(per_person, members))] {
        let path = format!(
            "/api/v1/households/{}/assessments",
            household["id"].as_str().unwrap()
        );
        app.post_json(
            &path,
            &reviewer,
            &json!({ "answers": answers(wages, "poor") }),
        )
        .await
        .expect(201);
    }
    let path = format!("/api/v1/jurisdictions/{COUNTY}/schemes");
    app.post_raw(
        &path,
        &officer,
        Some("application/toml"),
        default_scheme_with_standard(80_000, 62_000),
    )
    .await
    .expect(201);

    let county = {
        let mut conn = app.conn();
        dibao::jurisdictions::store::find(&mut conn, &dibao::auth::Scope::everything(), COUNTY)
            .unwrap()
            .unwrap()
    };
    let run = || {
        dibao::scoring::service::rescore(
            &app.db,
            &dibao::scoring::store::SchemeCache::default(),
            &dibao::audit::Actor::system("rescore"),
            &county,
            2,
            &|_| {},
        )
        .expect("rescore runs")
    };
    let first = run();
    assert_eq!(first.households_seen, 200);
    assert_eq!(
        (first.rescored, first.outcome_changed, first.already_current),
        (2, 1, 0)
    );
    let second = run();
    assert_eq!((second.rescored, second.already_current), (0, 2));

    let list = app
        .get(
            &format!(
                "/api/v1/households/{}/assessments",
                near["id"].as_str().unwrap()
            ),
            &reviewer,
        )
        .await;
    let list = list.expect(200).as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (
            list[0]["scheme_version"].as_i64(),
            list[1]["scheme_version"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(list[0]["supersedes_id"], list[1]["id"]);
    assert_eq!(list[1]["outcome"], "income_not_eligible");
    assert_ne!(list[0]["outcome"], "income_not_eligible");
}
