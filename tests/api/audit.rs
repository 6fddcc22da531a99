//! The audit hash chain: intact after ordinary writes, broken by any edit or deletion made
//! behind the application's back.

use dibao::db::schema::audit_log;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use serde_json::{Value, json};

use crate::helpers::{FENGKOU, TestApp, fresh_id, household, member, spawn_app};

/// A few writes through the API, by different users.
async fn some_writes(app: &TestApp) {
    let reviewer = app.token("reviewer").await;
    let village = app.villages_of(FENGKOU, &reviewer).await.remove(0);
    let location = app.location_in(&village, &reviewer).await;
    let created = app
        .post_json(
            "/api/v1/households",
            &reviewer,
            &household(
                &village,
                &location,
                vec![member("审计户", &fresh_id(true), "head")],
            ),
        )
        .await;
    let id = created.expect(201)["id"].as_str().expect("id").to_owned();
    app.patch_json(
        &format!("/api/v1/households/{id}"),
        &reviewer,
        &json!({ "address": "洪湖市峰口镇审计路2号" }),
    )
    .await
    .expect(200);
    let admin = app.token("admin").await;
    app.patch_json(
        &format!("/api/v1/jurisdictions/{village}"),
        &admin,
        &json!({ "name": "审计村" }),
    )
    .await
    .expect(200);
}

/// Verification as the county officer (whose token is taken beforehand: logging in appends).
async fn verify(app: &TestApp, county: &str) -> Value {
    app.get("/api/v1/audit/verify", county)
        .await
        .expect(200)
        .clone()
}

fn last_seq(app: &TestApp) -> i64 {
    audit_log::table
        .select(diesel::dsl::max(audit_log::seq))
        .first::<Option<i64>>(&mut *app.conn())
        .expect("max seq")
        .expect("the log is not empty")
}

fn entries(app: &TestApp) -> i64 {
    audit_log::table
        .count()
        .get_result(&mut *app.conn())
        .expect("count")
}

#[tokio::test]
async fn the_audit_chain_is_intact_after_writes_and_an_edited_row_breaks_it() {
    let app = spawn_app().await;
    some_writes(&app).await;
    let county = app.token("county").await;
    let result = verify(&app, &county).await;
    assert_eq!(result["intact"], true, "{result}");
    assert_eq!(result["first_broken_seq"], Value::Null);
    assert_eq!(result["reason"], Value::Null);
    let checked = result["entries_checked"].as_i64().expect("count");
    assert!(checked > 0);
    assert_eq!(checked, entries(&app), "every entry is checked");
    // The writes above are on the chain, with their actors.
    let actions: Vec<(String, String)> = audit_log::table
        .filter(audit_log::seq.gt(last_seq(&app) - 10))
        .select((audit_log::action, audit_log::actor_name))
        .load(&mut *app.conn())
        .expect("recent entries");
    assert!(
        actions.contains(&("household.update".to_owned(), "reviewer".to_owned())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("jurisdiction.update".to_owned(), "admin".to_owned())),
        "{actions:?}"
    );

    let tampered = 5;
    let changed = diesel::sql_query(format!(
        "UPDATE audit_log SET summary = '{{}}' WHERE seq = {tampered}"
    ))
    .execute(&mut *app.conn())
    .expect("tamper");
    assert_eq!(changed, 1);

    let result = verify(&app, &county).await;
    assert_eq!(result["intact"], false, "{result}");
    assert_eq!(result["first_broken_seq"], tampered);
    assert_eq!(result["reason"], "content_changed");
    assert_eq!(result["entries_checked"], tampered - 1);
}

#[tokio::test]
async fn deleting_the_newest_audit_row_is_detected() {
    let app = spawn_app().await;
    some_writes(&app).await;
    let county = app.token("county").await;
    let last = last_seq(&app);
    diesel::delete(audit_log::table.filter(audit_log::seq.eq(last)))
        .execute(&mut *app.conn())
        .expect("delete");

    let result = verify(&app, &county).await;
    assert_eq!(result["intact"], false, "{result}");
    assert_eq!(result["reason"], "head_mismatch");
    assert_eq!(result["first_broken_seq"], last);
}

#[tokio::test]
async fn deleting_a_row_inside_the_chain_is_reported_as_a_gap() {
    let app = spawn_app().await;
    some_writes(&app).await;
    let county = app.token("county").await;
    let removed = last_seq(&app) / 2;
    diesel::sql_query(format!("DELETE FROM audit_log WHERE seq = {removed}"))
        .execute(&mut *app.conn())
        .expect("delete");

    let result = verify(&app, &county).await;
    assert_eq!(result["intact"], false, "{result}");
    assert_eq!(result["reason"], "gap");
    assert_eq!(result["first_broken_seq"], removed);
}

#[tokio::test]
async fn only_county_officers_and_admins_verify_the_audit_chain() {
    let app = spawn_app().await;
    for user in ["coord01", "reviewer"] {
        let token = app.token(user).await;
        app.get("/api/v1/audit/verify", &token)
            .await
            .expect_error(403, "forbidden");
    }
    let admin = app.token("admin").await;
    let result = app.get("/api/v1/audit/verify", &admin).await;
    assert_eq!(result.expect(200)["intact"], true);
    app.get("/api/v1/audit/verify", "")
        .await
        .expect_error(401, "invalid_token");
}
