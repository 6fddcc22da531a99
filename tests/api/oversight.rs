//! County oversight over HTTP: the spot-check draw.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::cases::{act, case_of, claim, decision, publish, recommendable_home, visit_with};
use crate::helpers::{COUNTY, FENGKOU, spawn_app};
use crate::visits::answers;

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
