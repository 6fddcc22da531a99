//! Every role sees and touches only its own subtree of the jurisdiction tree.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::helpers::{CAOSHI, COUNTY, FENGKOU, fresh_id, household, member, spawn_app};

fn codes(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| i[field].as_str().expect("a code").to_owned())
        .collect()
}

fn distinct_ids(items: &[Value]) -> usize {
    items
        .iter()
        .map(|h| h["id"].as_str().expect("id"))
        .collect::<BTreeSet<_>>()
        .len()
}

#[tokio::test]
async fn a_coordinator_lists_only_its_own_villages_households_page_by_page() {
    let app = spawn_app().await;
    let coord = app.login("coord01").await;
    let village = coord.user["jurisdiction_code"]
        .as_str()
        .expect("village")
        .to_owned();

    let first = app.get("/api/v1/households?limit=7", &coord.access).await;
    let first = first.expect(200);
    assert_eq!(first["items"].as_array().expect("items").len(), 7);
    assert!(first["next_cursor"].is_string(), "more pages follow");

    let all = app
        .list_all("/api/v1/households", "", 7, &coord.access)
        .await;
    assert_eq!(all.len(), 20);
    assert_eq!(distinct_ids(&all), 20, "no household on two pages");
    for item in &all {
        assert_eq!(item["village_code"], village.as_str(), "{item}");
        assert!(item.get("members").is_none(), "lists carry no members");
    }
    // The pages together are the whole list in one go.
    let whole = app.get("/api/v1/households?limit=200", &coord.access).await;
    let whole = whole.expect(200)["items"]
        .as_array()
        .expect("items")
        .clone();
    assert_eq!(codes(&whole, "id"), codes(&all, "id"));
}

#[tokio::test]
async fn a_coordinator_gets_404_for_a_household_of_another_village() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let coord = app.login("coord01").await;
    let own = coord.user["jurisdiction_code"].as_str().expect("village");
    let other_village = app
        .villages_of(FENGKOU, &admin)
        .await
        .into_iter()
        .find(|v| v != own)
        .expect("a second village");
    let other = app.a_household_of(&other_village, &admin).await;
    let id = other["id"].as_str().expect("id");

    let resp = app
        .get(&format!("/api/v1/households/{id}"), &coord.access)
        .await;
    resp.expect_error(404, "not_found");
    let body = resp.json.as_object().expect("an object");
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["code", "message", "message_zh"], "{}", resp.text);
    let head_name = other["head_name"].as_str().expect("head");
    for secret in [head_name, other["address"].as_str().expect("address")] {
        assert!(!resp.text.contains(secret), "leaks {secret}: {}", resp.text);
    }
    let first_id = other["members"][0]["id_number"]
        .as_str()
        .expect("id number");
    assert!(!resp.text.contains(first_id));

    // Coordinators cannot write households at all.
    app.delete(&format!("/api/v1/households/{id}"), &coord.access)
        .await
        .expect_error(403, "forbidden");
    // The reviewer, whose township holds it, sees it.
    let reviewer = app.token("reviewer").await;
    app.get(&format!("/api/v1/households/{id}"), &reviewer)
        .await
        .expect(200);
}

#[tokio::test]
async fn a_coordinator_filtering_by_another_village_is_forbidden() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let coord = app.login("coord01").await;
    let own = coord.user["jurisdiction_code"]
        .as_str()
        .expect("village")
        .to_owned();
    let others: Vec<String> = app
        .list_all("/api/v1/jurisdictions", "kind=village", 200, &admin)
        .await
        .iter()
        .map(|j| j["code"].as_str().expect("code").to_owned())
        .filter(|c| *c != own)
        .collect();
    assert_eq!(others.len(), 9);
    for other in others.iter().take(3).chain(others.last()) {
        app.get(
            &format!("/api/v1/households?jurisdiction={other}"),
            &coord.access,
        )
        .await
        .expect_error(403, "forbidden");
    }
    // Its township and the county are above it: forbidden as well.
    for above in [FENGKOU, COUNTY] {
        app.get(
            &format!("/api/v1/households?jurisdiction={above}"),
            &coord.access,
        )
        .await
        .expect_error(403, "forbidden");
    }
    let own_list = app
        .list_all(
            "/api/v1/households",
            &format!("jurisdiction={own}"),
            50,
            &coord.access,
        )
        .await;
    assert_eq!(own_list.len(), 20);
}

#[tokio::test]
async fn a_township_reviewer_sees_exactly_the_80_households_of_its_township() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let villages = app.villages_of(FENGKOU, &reviewer).await;
    assert_eq!(villages.len(), 4);

    let all = app.list_all("/api/v1/households", "", 30, &reviewer).await;
    assert_eq!(all.len(), 80);
    assert_eq!(distinct_ids(&all), 80);
    let mut per_village: BTreeMap<String, usize> = BTreeMap::new();
    for code in codes(&all, "village_code") {
        *per_village.entry(code).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = villages.iter().map(|v| (v.clone(), 20)).collect();
    assert_eq!(per_village, expected);

    // Another township's filter is refused.
    app.get(
        &format!("/api/v1/households?jurisdiction={CAOSHI}"),
        &reviewer,
    )
    .await
    .expect_error(403, "forbidden");
}

#[tokio::test]
async fn a_county_officer_sees_all_200_households() {
    let app = spawn_app().await;
    let county = app.token("county").await;
    let all = app.list_all("/api/v1/households", "", 50, &county).await;
    assert_eq!(all.len(), 200);
    assert_eq!(distinct_ids(&all), 200);
    let villages: BTreeSet<String> = codes(&all, "village_code").into_iter().collect();
    assert_eq!(villages.len(), 10);

    let caoshi = app
        .list_all(
            "/api/v1/households",
            &format!("jurisdiction={CAOSHI}"),
            50,
            &county,
        )
        .await;
    assert_eq!(caoshi.len(), 60, "曹市镇 has 3 villages of 20");
}

#[tokio::test]
async fn a_reviewer_cannot_create_a_household_in_another_townships_village() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let reviewer = app.token("reviewer").await;
    let village = app.villages_of(CAOSHI, &admin).await.remove(0);
    let location = app.location_in(&village, &admin).await;
    let body = household(
        &village,
        &location,
        vec![member("外乡人", &fresh_id(true), "head")],
    );
    // Outside the reviewer's subtree the village does not exist for them.
    let details = app
        .post_json("/api/v1/households", &reviewer, &body)
        .await
        .expect_error(422, "village_not_found")
        .clone();
    assert_eq!(details["field"], "village_code");

    let count = app
        .list_all(
            "/api/v1/households",
            &format!("jurisdiction={village}"),
            50,
            &admin,
        )
        .await
        .len();
    assert_eq!(count, 20, "nothing was created");
    // The same body from the admin is fine.
    app.post_json("/api/v1/households", &admin, &body)
        .await
        .expect(201);
}

#[tokio::test]
async fn coordinators_and_county_officers_cannot_create_households() {
    let app = spawn_app().await;
    let coord = app.login("coord01").await;
    let village = coord.user["jurisdiction_code"]
        .as_str()
        .expect("village")
        .to_owned();
    let location = app.location_in(&village, &coord.access).await;
    let body = household(
        &village,
        &location,
        vec![member("新户主", &fresh_id(true), "head")],
    );
    app.post_json("/api/v1/households", &coord.access, &body)
        .await
        .expect_error(403, "forbidden");
    let county = app.token("county").await;
    app.post_json("/api/v1/households", &county, &body)
        .await
        .expect_error(403, "forbidden");
    let listed = app
        .list_all("/api/v1/households", "", 50, &coord.access)
        .await;
    assert_eq!(listed.len(), 20, "nothing was created");
}

#[tokio::test]
async fn jurisdiction_listing_is_limited_to_the_callers_subtree() {
    let app = spawn_app().await;

    let coord = app.login("coord01").await;
    let own = coord.user["jurisdiction_code"].as_str().expect("village");
    let seen = app
        .list_all("/api/v1/jurisdictions", "", 50, &coord.access)
        .await;
    assert_eq!(codes(&seen, "code"), [own]);

    let reviewer = app.token("reviewer").await;
    let seen = app
        .list_all("/api/v1/jurisdictions", "", 2, &reviewer)
        .await;
    assert_eq!(seen.len(), 5, "峰口镇 and its 4 villages");
    for j in &seen {
        let code = j["code"].as_str().expect("code");
        assert!(
            code == FENGKOU || j["parent_code"] == FENGKOU,
            "outside the township: {j}"
        );
    }
    app.get(&format!("/api/v1/jurisdictions/{CAOSHI}"), &reviewer)
        .await
        .expect_error(404, "not_found");
    app.get(&format!("/api/v1/jurisdictions/{COUNTY}"), &reviewer)
        .await
        .expect_error(404, "not_found");
    app.get(&format!("/api/v1/jurisdictions/{FENGKOU}"), &reviewer)
        .await
        .expect(200);

    let county = app.token("county").await;
    let seen = app.list_all("/api/v1/jurisdictions", "", 50, &county).await;
    let kinds: Vec<&str> = seen
        .iter()
        .map(|j| j["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(seen.len(), 14, "the county, 3 townships, 10 villages");
    assert_eq!(kinds.iter().filter(|k| **k == "county").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "township").count(), 3);
    assert!(
        !seen
            .iter()
            .any(|j| j["kind"] == "province" || j["kind"] == "city"),
        "nothing above the county"
    );
}

#[tokio::test]
async fn user_listings_are_limited_to_the_callers_subtree() {
    let app = spawn_app().await;
    let reviewer = app.token("reviewer").await;
    let users = app.list_all("/api/v1/users", "", 3, &reviewer).await;
    let names: BTreeSet<String> = codes(&users, "username").into_iter().collect();
    let expected: BTreeSet<String> = ["reviewer", "coord01", "coord02", "coord03", "coord04"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(names, expected);

    let county = app.token("county").await;
    let users = app.list_all("/api/v1/users", "", 50, &county).await;
    assert_eq!(users.len(), 13);

    // Coordinators may not list staff at all.
    let coord = app.token("coord01").await;
    app.get("/api/v1/users", &coord)
        .await
        .expect_error(403, "forbidden");
}
