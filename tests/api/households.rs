//! Registering households and members, and the one-person-one-household rule.

use serde_json::{Value, json};

use crate::helpers::{
    CAOSHI, FENGKOU, TestApp, fresh_id, household, member, spawn_app, valid_id, with_wrong_check,
};

/// The reviewer's token, the first village of 峰口镇 and a location inside it.
async fn reviewer_and_village(app: &TestApp) -> (String, String, Value) {
    let reviewer = app.token("reviewer").await;
    let village = app.villages_of(FENGKOU, &reviewer).await.remove(0);
    let location = app.location_in(&village, &reviewer).await;
    (reviewer, village, location)
}

/// Creates a household and returns its view.
async fn create(app: &TestApp, token: &str, body: &Value) -> Value {
    app.post_json("/api/v1/households", token, body)
        .await
        .expect(201)
        .clone()
}

fn id_of(view: &Value) -> String {
    view["id"].as_str().expect("household id").to_owned()
}

#[tokio::test]
async fn a_reviewer_registers_a_household_with_two_members() {
    let app = spawn_app().await;
    let (reviewer, village, location) = reviewer_and_village(&app).await;
    let head_id = valid_id("42108319750314005");
    let spouse_id = valid_id("42108319781102006");
    let body = household(
        &village,
        &location,
        vec![
            member("王建国", &head_id, "head"),
            member("李秀英", &spouse_id, "spouse"),
        ],
    );
    let created = create(&app, &reviewer, &body).await;
    let id = id_of(&created);

    let got = app
        .get(&format!("/api/v1/households/{id}"), &reviewer)
        .await;
    let got = got.expect(200);
    assert_eq!(got["village_code"], village.as_str());
    assert_eq!(got["head_name"], "王建国");
    assert_eq!(got["active"], true);
    assert_eq!(got["location"], location);
    assert_eq!(got["phone"], "13800001111");
    let members = got["members"].as_array().expect("members");
    assert_eq!(members.len(), 2);
    let head = members
        .iter()
        .find(|m| m["relation"] == "head")
        .expect("head");
    let spouse = members
        .iter()
        .find(|m| m["relation"] == "spouse")
        .expect("spouse");
    assert_eq!(head["id_number"], head_id.as_str(), "the full number");
    assert_eq!(head["birth_date"], "1975-03-14");
    assert_eq!(head["male"], true);
    assert_eq!(spouse["id_number"], spouse_id.as_str());
    assert_eq!(spouse["birth_date"], "1978-11-02");
    assert_eq!(spouse["male"], false);
    assert_eq!(head["name"], "王建国");
    assert_eq!(spouse["labour_capacity"], "full");
    assert_eq!(spouse["student"], "none", "the default");
    assert_eq!(spouse["chronic_illness"], false, "the default");

    let listed = app
        .list_all("/api/v1/households", "q=王建国", 50, &reviewer)
        .await;
    assert!(
        listed
            .iter()
            .any(|h| h["id"] == id.as_str() && h["member_count"] == 2),
        "{listed:?}"
    );
    let all = app.list_all("/api/v1/households", "", 200, &reviewer).await;
    assert_eq!(all.len(), 81);
}

#[tokio::test]
async fn a_wrong_check_character_is_refused_with_a_bilingual_message() {
    let app = spawn_app().await;
    let (reviewer, village, location) = reviewer_and_village(&app).await;
    let bad = with_wrong_check(&fresh_id(true));
    let body = household(&village, &location, vec![member("张三", &bad, "head")]);
    let resp = app.post_json("/api/v1/households", &reviewer, &body).await;
    let details = resp.expect_error(422, "id_number_checksum");
    assert_eq!(details["field"], "id_number");
    assert!(!resp.json["message"].as_str().unwrap_or_default().is_empty());
    assert!(
        resp.json["message_zh"]
            .as_str()
            .unwrap_or_default()
            .contains("校验")
    );

    let short = &fresh_id(true)[..17];
    let body = household(&village, &location, vec![member("张三", short, "head")]);
    app.post_json("/api/v1/households", &reviewer, &body)
        .await
        .expect_error(422, "id_number_length");

    let all = app.list_all("/api/v1/households", "", 200, &reviewer).await;
    assert_eq!(all.len(), 80, "nothing was created");
}

#[tokio::test]
async fn a_household_needs_exactly_one_head() {
    let app = spawn_app().await;
    let (reviewer, village, location) = reviewer_and_village(&app).await;
    let body = household(
        &village,
        &location,
        vec![member("子女", &fresh_id(true), "child")],
    );
    app.post_json("/api/v1/households", &reviewer, &body)
        .await
        .expect_error(422, "household_head_count");
    let twice = fresh_id(false);
    let body = household(
        &village,
        &location,
        vec![
            member("户主", &fresh_id(true), "head"),
            member("甲", &twice, "child"),
            member("乙", &twice, "child"),
        ],
    );
    app.post_json("/api/v1/households", &reviewer, &body)
        .await
        .expect_error(422, "id_number_repeated");
}

#[tokio::test]
async fn a_person_active_in_a_household_in_scope_cannot_be_registered_again() {
    let app = spawn_app().await;
    let (reviewer, village, location) = reviewer_and_village(&app).await;
    let existing = app.a_household_of(&village, &reviewer).await;
    let taken = existing["members"][0]["id_number"]
        .as_str()
        .expect("id number")
        .to_owned();
    let body = household(
        &village,
        &location,
        vec![
            member("新户主", &fresh_id(true), "head"),
            member("重复者", &taken, "spouse"),
        ],
    );
    let resp = app.post_json("/api/v1/households", &reviewer, &body).await;
    let details = resp.expect_error(409, "id_number_active_elsewhere");
    assert_eq!(details["household_id"], existing["id"]);
    assert_eq!(details["village_code"], village.as_str());
    assert_eq!(details["village_name"], existing["village_name"]);
    // The number is masked in the answer.
    assert!(!resp.text.contains(&taken), "{}", resp.text);
    assert!(
        details["id_number"]
            .as_str()
            .is_some_and(|m| m.contains('*'))
    );

    let all = app.list_all("/api/v1/households", "", 200, &reviewer).await;
    assert_eq!(all.len(), 80, "nothing was created");
}

#[tokio::test]
async fn a_conflict_outside_the_callers_jurisdiction_names_only_the_shared_ancestor() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let (reviewer, village, location) = reviewer_and_village(&app).await;
    let caoshi_village = app.villages_of(CAOSHI, &admin).await.remove(0);
    let elsewhere = app.a_household_of(&caoshi_village, &admin).await;
    let taken = elsewhere["members"][0]["id_number"]
        .as_str()
        .expect("id number")
        .to_owned();

    let body = household(&village, &location, vec![member("某人", &taken, "head")]);
    let resp = app.post_json("/api/v1/households", &reviewer, &body).await;
    let details = resp.expect_error(409, "id_number_active_elsewhere").clone();
    assert_eq!(details["within_name"], "洪湖市");
    assert_eq!(details["within_code"], "421083000000");
    for hidden in ["household_id", "village_code", "village_name"] {
        assert!(details.get(hidden).is_none(), "{hidden} leaked: {details}");
    }
    let other_id = elsewhere["id"].as_str().expect("id");
    let other_village_name = elsewhere["village_name"].as_str().expect("name");
    for leak in [
        other_id,
        other_village_name,
        caoshi_village.as_str(),
        &taken,
    ] {
        assert!(!resp.text.contains(leak), "{leak} leaked: {}", resp.text);
    }

    // The admin, whose county holds both, is told exactly where.
    let resp = app.post_json("/api/v1/households", &admin, &body).await;
    let details = resp.expect_error(409, "id_number_active_elsewhere");
    assert_eq!(details["household_id"], other_id);
    assert_eq!(details["village_code"], caoshi_village.as_str());
}

#[tokio::test]
async fn members_come_and_go_and_closing_a_household_frees_its_people() {
    let app = spawn_app().await;
    let (reviewer, village, location) = reviewer_and_village(&app).await;
    let head_id = fresh_id(true);
    let child_id = fresh_id(false);
    let first = create(
        &app,
        &reviewer,
        &household(
            &village,
            &location,
            vec![member("刘德兵", &head_id, "head")],
        ),
    )
    .await;
    let first_id = id_of(&first);

    // Add a child.
    let added = app
        .post_json(
            &format!("/api/v1/households/{first_id}/members"),
            &reviewer,
            &member("刘小红", &child_id, "child"),
        )
        .await;
    let added = added.expect(201).clone();
    let members = added["members"].as_array().expect("members");
    assert_eq!(members.len(), 2);
    let child_member_id = members
        .iter()
        .find(|m| m["id_number"] == child_id.as_str())
        .and_then(|m| m["id"].as_str())
        .expect("the child")
        .to_owned();
    let head_member_id = members
        .iter()
        .find(|m| m["relation"] == "head")
        .and_then(|m| m["id"].as_str())
        .expect("the head")
        .to_owned();

    // While the child is a member, nobody can register her elsewhere.
    let elsewhere = household(
        &village,
        &location,
        vec![member("刘小红", &child_id, "head")],
    );
    let refused = app
        .post_json("/api/v1/households", &reviewer, &elsewhere)
        .await;
    let details = refused.expect_error(409, "id_number_active_elsewhere");
    assert_eq!(details["household_id"], first_id.as_str());

    // The head cannot be removed; the child can.
    app.delete(
        &format!("/api/v1/households/{first_id}/members/{head_member_id}"),
        &reviewer,
    )
    .await
    .expect_error(409, "cannot_remove_head");
    app.delete(
        &format!("/api/v1/households/{first_id}/members/{child_member_id}"),
        &reviewer,
    )
    .await
    .expect(204);
    let after = app
        .get(&format!("/api/v1/households/{first_id}"), &reviewer)
        .await;
    assert_eq!(
        after.expect(200)["members"]
            .as_array()
            .expect("members")
            .len(),
        1
    );
    app.delete(
        &format!("/api/v1/households/{first_id}/members/{child_member_id}"),
        &reviewer,
    )
    .await
    .expect_error(404, "not_found");

    // Removed, the child may now head her own household.
    create(&app, &reviewer, &elsewhere).await;

    // Close the first household: its head becomes free too.
    app.delete(&format!("/api/v1/households/{first_id}"), &reviewer)
        .await
        .expect(204);
    let closed = app
        .get(&format!("/api/v1/households/{first_id}"), &reviewer)
        .await;
    let closed = closed.expect(200);
    assert_eq!(closed["active"], false);
    assert_eq!(closed["members"], json!([]));
    app.delete(&format!("/api/v1/households/{first_id}"), &reviewer)
        .await
        .expect_error(409, "household_closed");
    app.post_json(
        &format!("/api/v1/households/{first_id}/members"),
        &reviewer,
        &member("迟到者", &fresh_id(true), "child"),
    )
    .await
    .expect_error(409, "household_closed");

    let moved = create(
        &app,
        &reviewer,
        &household(
            &village,
            &location,
            vec![member("刘德兵", &head_id, "head")],
        ),
    )
    .await;
    assert_eq!(moved["members"][0]["id_number"], head_id.as_str());

    // Closed households drop out of the default list and show with active=false.
    let active = app.list_all("/api/v1/households", "", 200, &reviewer).await;
    assert!(!active.iter().any(|h| h["id"] == first_id.as_str()));
    let inactive = app
        .list_all("/api/v1/households", "active=false", 200, &reviewer)
        .await;
    assert_eq!(codes_of(&inactive), [first_id]);
}

fn codes_of(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn adding_an_existing_member_again_is_reported_as_member_exists() {
    let app = spawn_app().await;
    let (reviewer, village, location) = reviewer_and_village(&app).await;
    let head_id = fresh_id(true);
    let view = create(
        &app,
        &reviewer,
        &household(
            &village,
            &location,
            vec![member("刘德兵", &head_id, "head")],
        ),
    )
    .await;
    let id = id_of(&view);
    let resp = app
        .post_json(
            &format!("/api/v1/households/{id}/members"),
            &reviewer,
            &member("刘德兵", &head_id, "spouse"),
        )
        .await;
    resp.expect_error(409, "member_exists");
}

#[tokio::test]
async fn a_location_outside_the_village_is_refused() {
    let app = spawn_app().await;
    let (reviewer, village, _) = reviewer_and_village(&app).await;
    let villages = app.villages_of(FENGKOU, &reviewer).await;
    let neighbour = villages.iter().find(|v| **v != village).expect("another");
    let outside = app.location_in(neighbour, &reviewer).await;
    let body = household(
        &village,
        &outside,
        vec![member("张三", &fresh_id(true), "head")],
    );
    let details = app
        .post_json("/api/v1/households", &reviewer, &body)
        .await
        .expect_error(422, "location_outside_village")
        .clone();
    assert_eq!(details["field"], "location");

    let off_earth = household(
        &village,
        &json!({ "lat": 95.0, "lon": 113.4 }),
        vec![member("张三", &fresh_id(true), "head")],
    );
    app.post_json("/api/v1/households", &reviewer, &off_earth)
        .await
        .expect_error(422, "location_invalid");

    // Moving an existing household outside its village is refused as well.
    let existing = app.a_household_of(&village, &reviewer).await;
    let id = id_of(&existing);
    app.patch_json(
        &format!("/api/v1/households/{id}"),
        &reviewer,
        &json!({ "location": outside }),
    )
    .await
    .expect_error(422, "location_outside_village");
    let unchanged = app
        .get(&format!("/api/v1/households/{id}"), &reviewer)
        .await;
    assert_eq!(unchanged.expect(200)["location"], existing["location"]);
}

#[tokio::test]
async fn a_household_can_be_updated_inside_its_village() {
    let app = spawn_app().await;
    let (reviewer, village, _) = reviewer_and_village(&app).await;
    let existing = app.a_household_of(&village, &reviewer).await;
    let id = id_of(&existing);
    let updated = app
        .patch_json(
            &format!("/api/v1/households/{id}"),
            &reviewer,
            &json!({ "address": "洪湖市峰口镇新地址8号", "phone": null }),
        )
        .await;
    let updated = updated.expect(200);
    assert_eq!(updated["address"], "洪湖市峰口镇新地址8号");
    assert_eq!(updated["phone"], Value::Null);
    assert_eq!(updated["head_name"], existing["head_name"]);
    assert_eq!(updated["location"], existing["location"]);
}

#[tokio::test]
async fn member_lookup_finds_households_in_scope_only() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let (reviewer, village, _) = reviewer_and_village(&app).await;
    let own = app.a_household_of(&village, &reviewer).await;
    let own_person = own["members"][0]["id_number"].as_str().expect("id");
    let caoshi_village = app.villages_of(CAOSHI, &admin).await.remove(0);
    let far = app.a_household_of(&caoshi_village, &admin).await;
    let far_person = far["members"][0]["id_number"].as_str().expect("id");

    let found = app
        .post_json(
            "/api/v1/members/lookup",
            &reviewer,
            &json!({ "id_number": own_person }),
        )
        .await;
    let found = found.expect(200);
    assert_eq!(found["found"], true);
    assert_eq!(found["household_id"], own["id"]);

    let hidden = app
        .post_json(
            "/api/v1/members/lookup",
            &reviewer,
            &json!({ "id_number": far_person }),
        )
        .await;
    let hidden = hidden.expect(200);
    assert_eq!(hidden["found"], false);
    assert_eq!(hidden["household_id"], Value::Null);

    // The admin's county holds it.
    let seen = app
        .post_json(
            "/api/v1/members/lookup",
            &admin,
            &json!({ "id_number": far_person }),
        )
        .await;
    assert_eq!(seen.expect(200)["household_id"], far["id"]);

    let nobody = app
        .post_json(
            "/api/v1/members/lookup",
            &admin,
            &json!({ "id_number": fresh_id(true) }),
        )
        .await;
    assert_eq!(nobody.expect(200)["found"], false);

    app.post_json(
        "/api/v1/members/lookup",
        &reviewer,
        &json!({ "id_number": with_wrong_check(own_person) }),
    )
    .await
    .expect_error(422, "id_number_checksum");
}
