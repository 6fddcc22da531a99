//! County oversight over HTTP: spot-check draws and visits, re-checks, the report.

use chrono::{Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::cases::{
    act, add_user, case_of, case_of_by, claim, decision, due_for_visit_by, new_home_of, publish,
    publish_in, recommendable_home, visit_by, visit_with,
};
use crate::helpers::{CAOSHI, COUNTY, FENGKOU, TestApp, spawn_app};
use crate::visits::{Home, answers};

const THIRD_TOWNSHIP: &str = "421083107000";

fn china_today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// One household of the coordinator's village taken from application to county approval.
pub async fn approved_home(
    app: &TestApp,
    reviewer: &str,
    coord: &str,
    township: &str,
    name: &str,
    scene: u64,
) -> (Home, String) {
    let county = app.token("county").await;
    let home = new_home_of(app, reviewer, coord, name).await;
    let case_id = due_for_visit_by(app, reviewer, &home.id).await;
    visit_by(app, coord, &home, scene, answers()).await;
    let claimed = claim(app, reviewer, &case_id).await.expect(200).clone();
    act(app, reviewer, &case_id, decision(&claimed, "recommend"))
        .await
        .expect(200);
    publish_in(app, reviewer, township, 10).await;
    act(app, &county, &case_id, json!({ "action": "confirm" }))
        .await
        .expect(200);
    (home, case_id)
}

fn ids_in(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

/// The report line of a township or coordinator.
fn line<'a>(report: &'a Value, list: &str, key: &str, value: &str) -> &'a Value {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l[key] == value)
        .unwrap_or_else(|| panic!("{list} has {value}: {report}"))
}

#[tokio::test]
async fn a_month_of_approvals_is_drawn_checked_overturned_corrected_and_reported() {
    let app = spawn_app().await;
    let county = app.token("county").await;
    let fengkou = app.token("reviewer").await;
    let caoshi = add_user(&app, "caoshi_reviewer", "township_reviewer", CAOSHI).await;
    let third = add_user(&app, "third_reviewer", "township_reviewer", THIRD_TOWNSHIP).await;
    let coord01 = app.token("coord01").await;
    let coord05 = app.token("coord05").await;
    let coord08 = app.token("coord08").await;
    let mut approvals = Vec::new();
    for (i, (reviewer, coord, township, name)) in [
        (&fengkou, &coord01, FENGKOU, "冯甲"),
        (&fengkou, &coord01, FENGKOU, "冯乙"),
        (&caoshi, &coord05, CAOSHI, "曹丙"),
        (&third, &coord08, THIRD_TOWNSHIP, "狄丁"),
    ]
    .into_iter()
    .enumerate()
    {
        let scene = 12_000 + 100 * i as u64;
        approvals.push(approved_home(&app, reviewer, coord, township, name, scene).await);
    }

    // Every approval of the month drawn (100%), reproducibly.
    let today = china_today();
    let draws = format!("/api/v1/jurisdictions/{COUNTY}/spot-checks");
    let request =
        json!({ "from": today - Duration::days(30), "to": today, "seed": 7, "rate_percent": 100 });
    let preview = app
        .post_json(&format!("{draws}/preview"), &county, &request)
        .await
        .expect(200)
        .clone();
    let draw = app
        .post_json(&draws, &county, &request)
        .await
        .expect(201)
        .clone();
    assert_eq!(draw["frame_size"], 4);
    assert_eq!(draw["reproduced"], true);
    assert_eq!(draw["strata"], preview["strata"]);
    let checks = draw["checks"].as_array().unwrap().clone();
    let checked = ids_in(&checks, "checked_case_id");
    let mut approved_ids: Vec<String> = approvals.iter().map(|(_, id)| id.clone()).collect();
    approved_ids.sort();
    let mut sorted = checked.clone();
    sorted.sort();
    assert_eq!(sorted, approved_ids);
    assert!(checks.iter().all(|c| c["state"] == "visit_assigned"));
    let read_back = app
        .get(
            &format!("{draws}/{}", draw["id"].as_str().unwrap()),
            &county,
        )
        .await;
    assert_eq!(read_back.expect(200), &draw);
    // A second draw over the same days is refused; the first stands.
    app.post_json(&draws, &county, &request)
        .await
        .expect_error(409, "draw_overlaps");
    app.post_json(&draws, &fengkou, &request)
        .await
        .expect_error(403, "forbidden");

    // The spot checks are on the county inspector's phone, not on the village coordinator's.
    let on_phone = app
        .get("/api/v1/assignments", &county)
        .await
        .expect(200)
        .clone();
    let assigned = on_phone["assignments"].as_array().unwrap();
    assert_eq!(assigned.len(), 4);
    assert!(assigned.iter().all(|a| a["kind"] == "spot_check"));
    let coordinators_phone = app
        .get("/api/v1/assignments", &coord01)
        .await
        .expect(200)
        .clone();
    assert!(
        !coordinators_phone["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "spot_check")
    );
    let (fengkou_home, _) = &approvals[0];
    let photos = crate::visits::clean_photos(&app, &coord01, fengkou_home, 12_900).await;
    app.post_json(
        "/api/v1/visits",
        &coord01,
        &crate::visits::visit(fengkou_home, &photos),
    )
    .await
    .expect_error(403, "forbidden");

    // The county visits every sampled home through the same phone flow.
    for (i, (home, _)) in approvals.iter().enumerate() {
        visit_by(&app, &county, home, 13_000 + 100 * i as u64, answers()).await;
    }
    let spot_of = |i: usize| {
        checks
            .iter()
            .find(|c| c["checked_case_id"] == approvals[i].1.as_str())
            .unwrap()["spot_check_case_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Visited spot checks wait for the county, never in a township queue.
    let fengkou_queue = app
        .get(&format!("/api/v1/jurisdictions/{FENGKOU}/queue"), &fengkou)
        .await
        .expect(200)
        .clone();
    assert!(fengkou_queue["items"].as_array().unwrap().is_empty());
    claim(&app, &fengkou, &spot_of(0))
        .await
        .expect_error(409, "not_in_queue");

    for i in [0, 1, 3] {
        let agreed = act(&app, &county, &spot_of(i), json!({ "action": "agree" })).await;
        assert_eq!(agreed.expect(200)["state"], "upheld");
    }
    let caoshi_spot = spot_of(2);
    act(
        &app,
        &county,
        &caoshi_spot,
        json!({ "action": "overturn", "reason": "外出务工收入未申报" }),
    )
    .await
    .expect_error(422, "overturn_reason_required");
    let overturned = act(
        &app,
        &county,
        &caoshi_spot,
        json!({ "action": "overturn", "overturn_reason": "should_not_receive", "reason": "外出务工收入未申报" }),
    )
    .await;
    assert_eq!(overturned.expect(200)["state"], "overturned");

    // The correction waits in 曹市镇's queue, on the county's visit, for its coordinator.
    let caoshi_queue = app
        .get(&format!("/api/v1/jurisdictions/{CAOSHI}/queue"), &caoshi)
        .await
        .expect(200)
        .clone();
    let queued = caoshi_queue["items"].as_array().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["kind"], "correction");
    assert_eq!(queued[0]["household_id"], approvals[2].0.id.as_str());
    let correction_id = case_of_by(&app, &caoshi, &approvals[2].0.id).await;
    assert_eq!(queued[0]["id"], correction_id.as_str());
    let stored = app
        .get(
            &format!("{draws}/{}", draw["id"].as_str().unwrap()),
            &county,
        )
        .await
        .expect(200)
        .clone();
    let caoshi_check = stored["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["spot_check_case_id"] == caoshi_spot.as_str())
        .unwrap()
        .clone();
    assert_eq!(caoshi_check["overturn_reason"], "should_not_receive");
    assert_eq!(caoshi_check["correction_case_id"], correction_id.as_str());
    assert!(
        app.get(&format!("/api/v1/jurisdictions/{FENGKOU}/queue"), &fengkou)
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let correction = claim(&app, &caoshi, &correction_id)
        .await
        .expect(200)
        .clone();
    let rejected = act(
        &app,
        &caoshi,
        &correction_id,
        json!({ "action": "reject", "reason_code": "income_above_standard", "reason": "抽查发现务工收入",
                "assessment_id": correction["assessment_id"], "acknowledged_flags": correction["flags"] }),
    )
    .await;
    assert_eq!(rejected.expect(200)["state"], "rejected");

    // The report puts the overturn on 曹市镇 and its coordinator, nowhere else.
    let report_path = format!(
        "/api/v1/jurisdictions/{COUNTY}/report?from={}&to={today}",
        today - Duration::days(30)
    );
    let report = app.get(&report_path, &county).await.expect(200).clone();
    assert_eq!(report["total"]["spot_checks"], 4);
    assert_eq!(report["total"]["overturned"], 1);
    let caoshi_line = line(&report, "townships", "township_code", CAOSHI);
    assert_eq!(caoshi_line["spot_checks"], 1);
    assert_eq!(caoshi_line["overturned"], 1);
    assert_eq!(caoshi_line["overturn_rate"], 1.0);
    assert_eq!(caoshi_line["overturn_reasons"]["should_not_receive"], 1);
    let fengkou_line = line(&report, "townships", "township_code", FENGKOU);
    assert_eq!(fengkou_line["spot_checks"], 2);
    assert_eq!(fengkou_line["overturned"], 0);
    assert_eq!(fengkou_line["approvals"], 2);
    let coord05_id = app.get("/api/v1/auth/me", &coord05).await.expect(200)["id"].clone();
    let coord05_line = line(
        &report,
        "coordinators",
        "coordinator_id",
        coord05_id.as_str().unwrap(),
    );
    assert_eq!(coord05_line["township_code"], CAOSHI);
    assert_eq!(coord05_line["overturned"], 1);
    let coord01_id = app.get("/api/v1/auth/me", &coord01).await.expect(200)["id"].clone();
    let coord01_line = line(
        &report,
        "coordinators",
        "coordinator_id",
        coord01_id.as_str().unwrap(),
    );
    assert_eq!(coord01_line["overturned"], 0);
    assert_eq!(coord01_line["spot_checks"], 2);
    // The correction's rejection was processed in 曹市镇 this month.
    assert!(caoshi_line["processed"].as_u64().unwrap() >= 2);
    let csv = app.get(&format!("{report_path}&format=csv"), &county).await;
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.text.contains(CAOSHI) && csv.text.contains("overturn_rate"));
    app.get(&report_path, &fengkou)
        .await
        .expect_error(403, "forbidden");

    // The roll: the corrected household is off it; full IDs for the county, masked below.
    let roll = app
        .get(&format!("/api/v1/jurisdictions/{COUNTY}/roll"), &county)
        .await
        .expect(200)
        .clone();
    let roll = roll.as_array().unwrap();
    assert_eq!(roll.len(), 3, "{roll:?}");
    assert!(roll.iter().all(|l| l["case_id"] != approvals[2].1.as_str()));
    assert!(roll.iter().any(|l| l["head_name"] == "冯甲"));
    assert!(
        roll.iter()
            .all(|l| !l["head_id_number"].as_str().unwrap().contains('*'))
    );
    let township_roll = app
        .get(&format!("/api/v1/jurisdictions/{FENGKOU}/roll"), &fengkou)
        .await
        .expect(200)
        .clone();
    let township_roll = township_roll.as_array().unwrap();
    assert_eq!(township_roll.len(), 2);
    assert!(
        township_roll
            .iter()
            .all(|l| l["head_name"].as_str().unwrap().contains('*')
                && l["head_id_number"].as_str().unwrap().contains("********"))
    );
    let xlsx = app
        .get(
            &format!("/api/v1/jurisdictions/{COUNTY}/roll?format=xlsx&masked=true"),
            &county,
        )
        .await;
    assert_eq!(xlsx.status, 200);
    assert!(
        xlsx.header("content-type")
            .unwrap()
            .contains("spreadsheetml")
    );
    let csv = app
        .get(
            &format!("/api/v1/jurisdictions/{COUNTY}/roll?format=csv&masked=true"),
            &county,
        )
        .await;
    assert!(csv.text.contains("冯*") && !csv.text.contains("冯甲"));
    assert!(xlsx.text.starts_with("PK"));
    app.get(&format!("/api/v1/jurisdictions/{COUNTY}/roll"), &fengkou)
        .await
        .expect_error(404, "not_found");
    app.get(&format!("/api/v1/jurisdictions/{FENGKOU}/roll"), &coord01)
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn a_spot_check_preview_samples_recent_approvals_reproducibly_by_seed() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let county = app.token("county").await;
    let mut approved = Vec::new();
    for (i, name) in ["郑一", "王二", "冯三"].into_iter().enumerate() {
        let home = recommendable_home(&app, name).await;
        let case_id = case_of(&app, &home.id).await;
        visit_with(&app, &home, 9500 + 100 * i as u64, answers()).await;
        let claimed = claim(&app, &reviewer, &case_id).await.expect(200).clone();
        act(&app, &reviewer, &case_id, decision(&claimed, "recommend"))
            .await
            .expect(200);
        approved.push(case_id);
    }
    publish(&app, &reviewer, 10).await;
    for case_id in &approved {
        act(&app, &county, case_id, json!({ "action": "confirm" }))
            .await
            .expect(200);
    }
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    let path = format!("/api/v1/jurisdictions/{COUNTY}/spot-checks/preview");
    let body = json!({ "from": today - Duration::days(30), "to": today, "seed": 20261123 });
    let first = app
        .post_json(&path, &county, &body)
        .await
        .expect(200)
        .clone();
    assert_eq!(first["frame_size"], 3);
    assert_eq!(first["strata"][0]["township"], FENGKOU);
    // 30% of 3 rounds up to one case, drawn at random.
    let selected = first["selected"].as_array().unwrap();
    assert_eq!(selected.len(), 1);
    assert_eq!(selected[0]["reason"], "random");
    assert!(approved.contains(&selected[0]["case_id"].as_str().unwrap().to_owned()));
    let again = app.post_json(&path, &county, &body).await;
    assert_eq!(again.expect(200), &first);
    // Every approval when the rate is 100%; none from a period without approvals.
    let mut all = body.clone();
    all["rate_percent"] = json!(100);
    let all = app.post_json(&path, &county, &all).await;
    assert_eq!(all.expect(200)["selected"].as_array().unwrap().len(), 3);
    let mut before = body.clone();
    before["from"] = json!(today - Duration::days(90));
    before["to"] = json!(today - Duration::days(60));
    assert_eq!(
        app.post_json(&path, &county, &before).await.expect(200)["frame_size"],
        0
    );

    app.post_json(&path, &reviewer, &body)
        .await
        .expect_error(403, "forbidden");
    let mut backwards = body.clone();
    backwards["to"] = json!(today - Duration::days(31));
    app.post_json(&path, &county, &backwards)
        .await
        .expect_error(422, "draw_request_invalid");
}

#[tokio::test]
async fn a_due_re_check_is_opened_once_and_reaches_the_coordinators_phone() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let county = app.token("county").await;
    let coord = app.token("coord01").await;
    let mut approved = Vec::new();
    for (i, name) in ["褚一", "卫二"].into_iter().enumerate() {
        let home = recommendable_home(&app, name).await;
        let case_id = case_of(&app, &home.id).await;
        visit_with(&app, &home, 9700 + 100 * i as u64, answers()).await;
        let claimed = claim(&app, &reviewer, &case_id).await.expect(200).clone();
        act(&app, &reviewer, &case_id, decision(&claimed, "recommend"))
            .await
            .expect(200);
        approved.push((home.id, case_id));
    }
    publish(&app, &reviewer, 10).await;
    for (_, case_id) in &approved {
        let done = act(&app, &county, case_id, json!({ "action": "confirm" })).await;
        // Class A (nobody able to work): re-checked in a year.
        assert_eq!(done.expect(200)["review_class"], "A");
    }
    // The first household's re-check date has come; the second's has not.
    let (due_home, due_case) = &approved[0];
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE cases SET next_recheck_on = '2026-01-05' WHERE id = '{due_case}'"
        )),
        &mut *app.conn(),
    )
    .unwrap();
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    let calendar = dibao::cases::workdays::Calendar::china_default();
    let run = || dibao::cases::service::schedule_rechecks(&app.db, &calendar, today).unwrap();
    assert_eq!(run(), 1);
    assert_eq!(run(), 0, "running it again opens nothing");

    let assignments = app.get("/api/v1/assignments", &coord).await;
    let recheck = assignments.expect(200)["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["household"]["id"] == due_home.as_str())
        .expect("the re-check on the phone")
        .clone();
    assert_eq!(recheck["kind"], "recheck");
    assert_eq!(recheck["state"], "visit_assigned");
    let case = app
        .get(
            &format!("/api/v1/cases/{}", recheck["case_id"].as_str().unwrap()),
            &reviewer,
        )
        .await;
    assert_eq!(case.expect(200)["history"][0]["action"], "schedule_recheck");
    // Listed among the re-checks; overdue once its deadline has passed.
    let rechecks = app
        .list_all("/api/v1/cases", "kind=recheck", 50, &reviewer)
        .await;
    assert_eq!(rechecks.len(), 1);
    let overdue = "kind=recheck&overdue=true";
    assert!(
        app.list_all("/api/v1/cases", overdue, 50, &reviewer)
            .await
            .is_empty()
    );
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE cases SET due_at = '2026-01-20 00:00:00' WHERE id = '{}'",
            recheck["case_id"].as_str().unwrap()
        )),
        &mut *app.conn(),
    )
    .unwrap();
    assert_eq!(
        app.list_all("/api/v1/cases", overdue, 50, &reviewer)
            .await
            .len(),
        1
    );
    assert!(
        !app.get("/api/v1/assignments", &coord).await.expect(200)["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["household"]["id"] == approved[1].0.as_str())
    );
}

#[tokio::test]
async fn a_county_sets_its_re_check_intervals_and_new_approvals_are_due_by_them() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let county = app.token("county").await;
    let coord = app.token("coord01").await;
    let path = format!("/api/v1/jurisdictions/{COUNTY}/recheck-intervals");
    let defaults = app.get(&path, &coord).await.expect(200).clone();
    assert_eq!(
        defaults,
        json!({ "a_months": 12, "b_months": 6, "c_months": 3 })
    );

    let faster = json!({ "a_months": 6, "b_months": 3, "c_months": 1 });
    app.put_json(&path, &reviewer, &faster)
        .await
        .expect_error(403, "forbidden");
    let inverted = json!({ "a_months": 6, "b_months": 12, "c_months": 0 });
    let details = app
        .put_json(&path, &county, &inverted)
        .await
        .expect_error(422, "recheck_intervals_invalid")
        .clone();
    assert_eq!(details["fields"], json!(["b_months", "c_months"]));
    app.put_json(&path, &county, &json!({ "a_months": 6 }))
        .await
        .expect_error(422, "invalid_body");
    assert_eq!(app.get(&path, &coord).await.expect(200), &defaults);
    app.put_json(&path, &county, &faster).await.expect(200);
    assert_eq!(app.get(&path, &coord).await.expect(200), &faster);

    // A class-A household (nobody able to work) approved today is due in six months now.
    let (_, case_id) = approved_home(&app, &reviewer, &coord, FENGKOU, "蒋一", 9900).await;
    let approved = app
        .get(&format!("/api/v1/cases/{case_id}"), &reviewer)
        .await;
    let approved = approved.expect(200);
    assert_eq!(approved["review_class"], "A");
    let due = china_today()
        .checked_add_months(chrono::Months::new(6))
        .unwrap();
    assert_eq!(approved["next_recheck_on"], json!(due));
    use dibao::db::schema::audit_log;
    use diesel::prelude::*;
    let audited: i64 = audit_log::table
        .filter(audit_log::action.eq("county.recheck_intervals"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(
        audited, 1,
        "the refused changes leave no trace; the accepted one does"
    );
}
